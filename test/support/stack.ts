import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PROJECT_ROOT } from '../../src/ledger/database.js';
import { launchScript, launchSimulator, type RunningSimulator } from '../../simulators/launch.js';
import type { BankReport } from '../../simulators/participant/bank.js';
import { controlClient, MAC_KEY, type Control, type SchemeSim } from './scheme-sim.js';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A participant id no other run uses, so that queues left on the broker never mix runs. */
export function runParticipantId(): string {
  return String(400000 + (randomBytes(3).readUIntBE(0, 3) % 500000));
}

export interface Bank {
  process: RunningSimulator<BankReport>;
  control: Control;
  report(): Promise<BankReport>;
}

export async function startBank(args: string[]): Promise<Bank> {
  const running = await launchSimulator<BankReport>(
    'participant',
    ['--mq', AMQP_URL, '--control', '127.0.0.1:0', ...args],
    { LOG_LEVEL: 'warn' },
  );
  const control = controlClient(String(running.ready.control));
  return { process: running, control, report: () => control<BankReport>('GET', '/report') };
}

export interface GatewaySettings {
  site: string;
  participant: { id: string; sortCodes: string[] };
  /** An operator's server; without it the gateway starts its embedded cluster as `embedded` says. */
  databaseUrl?: string;
  embedded?: { dataDir: string; port?: number };
  /** Scheme addresses in front of the simulator's own (a recording proxy). */
  dcs?: { dc1: string; dc2: string };
  /** The broker the gateway uses; AMQP_URL unless given (a proxy in front of it, say). */
  mqUrl?: string;
  timing?: Record<string, number>;
  /** Scheme link settings over the defaults below, e.g. `drainTimeoutMs`. */
  scheme?: Record<string, unknown>;
}

/** Writes a gateway config for this run and returns its path. */
export async function gatewayConfig(sim: SchemeSim, s: GatewaySettings): Promise<string> {
  const dir = path.join(PROJECT_ROOT, 'var', 'test-runs', `${s.site}-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'gateway.json');
  const config = {
    site: s.site,
    scheme: {
      dc1: [s.dcs?.dc1 ?? sim.dc1],
      dc2: [s.dcs?.dc2 ?? sim.dc2],
      macKey: MAC_KEY,
      backoff: { initialMs: 100, maxMs: 1000 },
      ...s.scheme,
    },
    participants: [{ id: s.participant.id, name: 'Test Bank', sortCodes: s.participant.sortCodes }],
    mq: { kind: 'amqp', url: s.mqUrl ?? AMQP_URL },
    database: s.databaseUrl === undefined ? (s.embedded ?? {}) : { url: s.databaseUrl },
    ...(s.timing === undefined ? {} : { timing: s.timing }),
  };
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

/** The gateway daemon as its own process. */
export function startGateway(
  configFile: string,
  env: NodeJS.ProcessEnv = {},
): Promise<RunningSimulator<Record<string, unknown>>> {
  return launchScript('src/daemon/main', ['--config', configFile], { LOG_LEVEL: 'warn', ...env });
}

export async function eventually<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
