/**
 * `npm start` as a person runs it: in a terminal (a pseudo-terminal made by script(1)), stopped
 * with Ctrl-C typed into it, and run again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/base/log.js';
import { openDatabase, PROJECT_ROOT } from '../../src/ledger/database.js';
import { AMQP_URL } from '../support/stack.js';

interface Demo {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** `npm start <args>` on a pseudo-terminal; what is written to `child.stdin` is typed into it. */
function startDemo(args = '', env: NodeJS.ProcessEnv = {}): Demo {
  // `exec`: npm is the terminal's foreground process, as under an interactive shell. Without it a
  // non-interactive sh (dash, when SHELL is unset as in CI) waits in the foreground group and dies
  // of the Ctrl-C itself, so script(1) reports 130 whatever the demo does.
  const child = spawn('script', ['-qefc', `exec npm start${args === '' ? '' : ` -- ${args}`}`, '/dev/null'], {
    cwd: PROJECT_ROOT,
    // The demo's own embedded ledger and in-process broker, whatever the suite runs on.
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'AMQP_URL')),
      DATABASE_URL: '',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Waits for `pattern` in what the demo printed after the first `since` characters. */
async function waitFor(demo: Demo, pattern: RegExp, timeoutMs: number, since = 0): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pattern.test(demo.output().slice(since))) {
    if (Date.now() > end || demo.child.exitCode !== null)
      throw new Error(`demo never printed ${pattern}:\n${demo.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

type Reports = { scheme: { inbound: { sent: number } }; bank: Record<string, unknown> };

function finalReports(output: string): Reports {
  const line = output.split(/\r?\n/).find((l) => l.startsWith('{"scheme":'));
  if (line === undefined) throw new Error(`no reports in:\n${output}`);
  return JSON.parse(line) as Reports;
}

/** Both sites up and signed on, the first one open. */
const BOTH_READY = /^site-a OPEN \(epoch \d+\) 4\/4 ready.* \| site-b closed 4\/4 ready/m;

/** Types a command into the demo and waits for `answer` in what it prints from then on. */
async function type(demo: Demo, command: string, answer: RegExp, timeoutMs: number): Promise<void> {
  const since = demo.output().length;
  demo.child.stdin!.write(`${command}\n`);
  await waitFor(demo, answer, timeoutMs, since);
}

/** Types `command` every second until the demo answers with `answer` (at most 20 s). */
async function eventuallyTyped(demo: Demo, command: string, answer: RegExp): Promise<void> {
  const since = demo.output().length;
  const end = Date.now() + 20_000;
  while (!answer.test(demo.output().slice(since))) {
    if (Date.now() > end) throw new Error(`demo never printed ${answer}:\n${demo.output().slice(since)}`);
    demo.child.stdin!.write(`${command}\n`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Runs the demo for a few seconds (`meanwhile` types into it), stopped by Ctrl-C typed into its terminal. */
async function runUntilCtrlC(
  args = '',
  meanwhile: (demo: Demo) => Promise<void> = async () => {},
  env: NodeJS.ProcessEnv = {},
  ready = BOTH_READY,
): Promise<{ code: number | null; output: string }> {
  const demo = startDemo(args, env);
  try {
    await waitFor(demo, ready, 90_000);
    await meanwhile(demo);
    demo.child.stdin!.write('\x03');
    return { code: await demo.exited, output: demo.output() };
  } finally {
    if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
  }
}

const STACK_TRACE = /TypeError|Error:|^\s+at /m;

async function ledgerInbound(): Promise<number> {
  const db = await openDatabase(
    { name: 'demo', dataDir: path.join(PROJECT_ROOT, 'var', 'pg', 'demo'), url: '' },
    silentLogger,
  );
  const client = new pg.Client(db.migrationUrl);
  await client.connect();
  try {
    return (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM payments WHERE direction = 'inbound'"))
      .rows[0]!.n;
  } finally {
    await client.end();
    await db.stop();
  }
}

describe('npm start in a terminal', () => {
  it('moves the open site when an operator stops it and starts it again, and back with move, then stops in order on Ctrl-C: both simulators report, no stack trace, exit 0', async () => {
    const { code, output } = await runUntilCtrlC('', async (demo) => {
      // The ops console: its URL and the demo operator's login printed, four eyes off.
      const printed = /site-a (http:\/\/[^\s,]+)\/console,[^\n]*\n\s*log in as demo \/ (\S+) /.exec(demo.output());
      expect(printed).not.toBeNull();
      // The login form's CSRF token first, with the signed cookie that holds its secret.
      const form = await fetch(`${printed![1]}/console/api/login`);
      const { csrfToken } = (await form.json()) as { csrfToken: string };
      const login = await fetch(`${printed![1]}/console/api/login`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          cookie: form.headers
            .getSetCookie()
            .map((c) => c.split(';')[0])
            .join('; '),
          'x-csrf-token': csrfToken,
        },
        body: JSON.stringify({ name: 'demo', secret: printed![2] }),
      });
      expect(await login.json()).toMatchObject({ operator: 'demo', role: 'operator', fourEyes: false });
      await type(demo, 'stop site-a', /^site-a stopped$/m, 60_000);
      await type(demo, 'status', /^site-a stopped \| site-b OPEN \(epoch \d+\) 4\/4 ready/m, 20_000);
      await type(demo, 'start site-a', /^site-a closed 4\/4 ready.* \| site-b OPEN/m, 60_000);
      // The open role back to site-a, as an operator moves it.
      await type(demo, 'move', /^asked site-b \(epoch \d+\) to hand the open site over/m, 10_000);
      await eventuallyTyped(demo, 'status', /^site-a OPEN \(epoch \d+\) 4\/4 ready.* \| site-b closed 4\/4 ready/m);
    });
    expect(output).not.toMatch(STACK_TRACE);
    expect(output).toContain('stopping: the scheme suspends new traffic');
    const reports = finalReports(output);
    expect(reports.scheme.inbound.sent).toBeGreaterThan(0);
    // Every inbound payment answered in time on its arrival connection, through the move.
    expect(reports.scheme).toMatchObject({ wrong_connection_responses: 0, inbound: { reversed: 0, unanswered: 0 } });
    expect(reports.bank).toHaveProperty('participants');
    expect(code).toBe(0);
  }, 150_000);

  it('runs each site as its own process on RabbitMQ, and opens the other site when the open one is killed (P3)', async () => {
    const { code, output } = await runUntilCtrlC(
      '',
      async (demo) => {
        await type(demo, 'kill site-a', /^site-a killed \(SIGKILL\)/m, 10_000);
        await eventuallyTyped(demo, 'status', /^site-a stopped \| site-b OPEN \(epoch \d+\)/m);
      },
      { AMQP_URL },
      /^site-a OPEN \(epoch \d+\) pid \d+ \| site-b closed pid \d+/m,
    );
    expect(output).toContain('each its own process');
    expect(output).not.toMatch(STACK_TRACE);
    expect(finalReports(output).scheme.inbound.sent).toBeGreaterThan(0);
    expect(code).toBe(0);
  }, 150_000);

  it('starts the next run on an empty ledger, quietly, unless told --keep-ledger', async () => {
    await runUntilCtrlC();
    const second = await runUntilCtrlC();
    expect(second.code).toBe(0);
    expect(second.output).not.toContain('unexpected message from the gateway');
    // The ledger holds this run's payments only.
    const sent = finalReports(second.output).scheme.inbound.sent;
    expect(await ledgerInbound()).toBe(sent);

    const kept = await runUntilCtrlC('--keep-ledger');
    expect(kept.code).toBe(0);
    expect(await ledgerInbound()).toBe(sent + finalReports(kept.output).scheme.inbound.sent);
  }, 300_000);
});
