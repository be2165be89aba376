import { launchSimulator, type LaunchOptions, type RunningSimulator } from '../../simulators/launch.js';
import type { Report, SessionView } from '../../simulators/scheme/report.js';

export const MAC_KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

/** The scheme simulator as a separate process on ephemeral loopback ports, with its control endpoint. */
export interface SchemeSim {
  dc1: string;
  dc2: string;
  process: RunningSimulator<Report>;
  control: Control;
  sessions(): Promise<SessionView[]>;
  report(): Promise<Report>;
  stop(): Promise<Report>;
}

export type Control = <T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown) => Promise<T>;

/** JSON calls to a simulator's control endpoint; a non-2xx answer is an error saying why. */
export function controlClient(address: string): Control {
  return async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const r = await fetch(`http://${address}${path}`, init);
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
}

/** `env` over LOG_LEVEL=warn; `options.captureStderr` keeps its logs in `process.output` (log scans). */
export async function startSchemeSim(
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  options: LaunchOptions = {},
): Promise<SchemeSim> {
  const running = await launchSimulator<Report>(
    'scheme',
    ['--dc1', '127.0.0.1:0', '--dc2', '127.0.0.1:0', '--control', '127.0.0.1:0', '--mac-key', MAC_KEY, ...args],
    { LOG_LEVEL: 'warn', ...env },
    options,
  );
  const control = controlClient(String(running.ready.control));
  return {
    dc1: String(running.ready.dc1),
    dc2: String(running.ready.dc2),
    process: running,
    control,
    sessions: () => control<SessionView[]>('GET', '/sessions'),
    report: () => control<Report>('GET', '/report'),
    stop: () => running.stop(),
  };
}
