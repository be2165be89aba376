/**
 * The demo's gateway sites: in this process (sharing its in-process MQ broker) or, with a real
 * broker, each in its own process, as in production. The demo's commands act on them.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { systemClock } from '../src/base/clock.js';
import type { Logger } from '../src/base/log.js';
import { parseGatewayConfig } from '../src/daemon/config.js';
import { Gateway } from '../src/daemon/gateway.js';
import { PROJECT_ROOT } from '../src/ledger/database.js';
import type { MqTransport } from '../src/participant/mq/index.js';
import { launchScript, type RunningSimulator } from '../simulators/launch.js';

export interface DemoSite {
  readonly name: string;
  /** What the status line says of it besides open or closed. */
  describe(): string;
  /** An orderly stop: the drain (R8), then the lease released if held. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash: only a site in its own process has one. */
  readonly kill: (() => void) | undefined;
  /** Where it serves /metrics, /healthz and /readyz. */
  readonly http: string | undefined;
}

/** What every site of the demo is configured with but its name. */
export interface SiteSettings {
  scheme: { dc1: string; dc2: string; macKey: string };
  participant: { id: string; name: string; sortCodes: string[] };
  mq: { kind: 'in-process' } | { kind: 'amqp'; url: string };
  database: { url: string; migrationUrl: string };
  /** The ops console's config (demo: four eyes off, the demo's operators). */
  console: Record<string, unknown>;
  /** Each site's HTTP port (/metrics, /healthz, /readyz); a free one for a site not named. */
  httpPorts: Record<string, number>;
}

function config(name: string, s: SiteSettings) {
  return {
    site: name,
    scheme: { dc1: [s.scheme.dc1], dc2: [s.scheme.dc2], macKey: s.scheme.macKey },
    participants: [s.participant],
    mq: s.mq,
    database: s.database,
    http: { port: s.httpPorts[name] ?? 0 },
    console: s.console,
  };
}

/** A site in this process, on the demo's own in-process broker when `transport` is given. */
export async function siteHere(name: string, s: SiteSettings, log: Logger, transport?: MqTransport): Promise<DemoSite> {
  const gateway = await Gateway.start(parseGatewayConfig(config(name, s)), {
    clock: systemClock,
    log,
    ...(transport === undefined ? {} : { transport }),
  });
  return {
    name,
    describe: () => {
      const st = gateway.status();
      const ready = st.connections.filter((c) => c.state === 'ready').length;
      return `${ready}/${st.connections.length} ready, in flight ${st.inFlight.inbound} in ${st.inFlight.outbound} out`;
    },
    stop: () => gateway.stop(),
    kill: undefined,
    http: gateway.httpUrl,
  };
}

/** A site as its own gateway process (the daemon, `src/daemon/main`), its config under var/demo. */
export async function siteProcess(name: string, s: SiteSettings): Promise<DemoSite> {
  const dir = path.join(PROJECT_ROOT, 'var', 'demo');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  // It holds the ledger's passwords.
  await writeFile(file, JSON.stringify(config(name, s), null, 2), { mode: 0o600 });
  await chmod(file, 0o600);
  const running: RunningSimulator<Record<string, unknown>> = await launchScript('src/daemon/main', ['--config', file], {
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  return {
    name,
    describe: () => `pid ${running.process.pid ?? '?'}`,
    stop: async () => void (await running.stop()),
    kill: () => running.kill(),
    http: typeof running.ready.http === 'string' ? running.ready.http : undefined,
  };
}

/** The open-site lease as the ledger holds it now, or undefined while no site holds it. */
export async function openSiteNow(pool: pg.Pool): Promise<{ holder: string; epoch: number } | undefined> {
  const r = await pool.query<{ holder: string; epoch: string }>(
    "SELECT holder, epoch FROM site_lease WHERE name = 'open-site' AND released_at IS NULL AND expires_at > now()",
  );
  const row = r.rows[0];
  return row === undefined ? undefined : { holder: row.holder, epoch: Number(row.epoch) };
}
