import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A simulator running as its own process, as tests, benchmarks and the demo use it. */
export interface RunningSimulator<Report> {
  /** The JSON line it printed once listening. */
  ready: Record<string, unknown>;
  process: ChildProcess;
  /** SIGTERM, then the JSON report it prints on exit. */
  stop(): Promise<Report>;
  /** SIGKILL, for crash tests. */
  kill(): void;
  /** Every line it printed on stdout, and on stderr when launched with `captureStderr`. */
  output: readonly string[];
}

export interface LaunchOptions {
  /** Keep stderr's lines in `output` instead of passing them to this process's stderr (log scans). */
  captureStderr?: boolean;
}

const COMPILED = import.meta.url.endsWith('.js');
const ROOT = fileURLToPath(new URL(COMPILED ? '../..' : '..', import.meta.url));

/** Detached, a child would outlive a parent that exits without stopping it. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `simulators/<name>/main.ts` as its own process; see `launchScript`. */
export function launchSimulator<Report = Record<string, unknown>>(
  name: 'scheme' | 'participant',
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: LaunchOptions = {},
): Promise<RunningSimulator<Report>> {
  return launchScript<Report>(`simulators/${name}/main`, args, env, options);
}

/**
 * Starts a script of the project (path from the root, without extension) in a process group of
 * its own and waits for its `{"ready":true,...}` line on stdout. Every later stdout line is kept; the last JSON line before
 * exit is the report. From source it runs through tsx; from a build (dist/) it runs the built file.
 */
export function launchScript<Report = Record<string, unknown>>(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: LaunchOptions = {},
): Promise<RunningSimulator<Report>> {
  const name = script;
  // SIMULATOR_NODE_ARGS passes flags such as --cpu-prof that NODE_OPTIONS refuses.
  const nodeArgs = (env.SIMULATOR_NODE_ARGS ?? process.env.SIMULATOR_NODE_ARGS ?? '')
    .split(' ')
    .filter((a) => a !== '');
  const main = COMPILED
    ? [fileURLToPath(new URL(`../${script}.js`, import.meta.url))]
    : ['--import', 'tsx', `${script}.ts`];
  const child = spawn(process.execPath, [...nodeArgs, ...main, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', options.captureStderr === true ? 'pipe' : 'inherit'],
    // Its own process group: a terminal's Ctrl-C reaches only the parent, which stops its children in order.
    detached: true,
  });
  running.add(child);
  const lines: string[] = [];
  const output: string[] = [];
  if (options.captureStderr === true) createInterface({ input: child.stderr! }).on('line', (l) => output.push(l));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    let ready = false;
    rl.on('line', (line) => {
      lines.push(line);
      output.push(line);
      if (ready || !line.startsWith('{"ready":true')) return;
      ready = true;
      resolve({
        ready: JSON.parse(line) as Record<string, unknown>,
        process: child,
        kill: () => child.kill('SIGKILL'),
        output,
        stop: async () => {
          child.kill('SIGTERM');
          const code = await exited;
          if (code !== 0) throw new Error(`${name} simulator exited with ${code}`);
          const report = lines.filter((l) => l.startsWith('{') && !l.startsWith('{"ready"')).pop();
          if (report === undefined) throw new Error(`${name} simulator printed no report`);
          return JSON.parse(report) as Report;
        },
      });
    });
    void exited.then((code) => {
      if (!ready) reject(new Error(`${name} simulator exited with ${code} before it was ready`));
    });
  });
}
