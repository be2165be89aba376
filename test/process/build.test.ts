/**
 * Production runs the build: `npm run build` compiles to dist/, and `npm run gateway`,
 * `npm run sim:scheme` and `npm run sim:participant` run the compiled JavaScript under plain node,
 * not tsx (which compiles at run time and keeps the compiler in memory).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/ledger/database.js';
import { deleteQueues } from '../support/bank-gateway.js';
import { stopAfterAll } from '../support/cleanup.js';
import { startTestDatabase } from '../support/ledger.js';
import { MAC_KEY } from '../support/scheme-sim.js';
import {
  AMQP_URL,
  answeredInTime,
  driveTraffic,
  everyPaymentSettled,
  gatewayConfig,
  runParticipantId,
  signedOn,
  SORT_CODE,
  startSimulators,
} from '../support/stack.js';

const run = promisify(execFile);
const cleanup = stopAfterAll();
const queuesOf: string[] = [];
afterAll(() => deleteQueues(queuesOf));

interface NpmRun {
  npm: ChildProcess;
  /** Every stdout line, the ready line first (`--silent`: npm prints none of its own). */
  lines: string[];
  exited: Promise<number | null>;
}

/** `npm run --silent <script> -- <args>`, as an operator starts it, once it printed its ready line. */
async function npmRun(script: string, args: string[]): Promise<NpmRun> {
  const npm = spawn('npm', ['run', '--silent', script, '--', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: npm.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('{"ready":true')) resolve();
    });
    void exited.then((code) => reject(new Error(`npm run ${script} exited with ${code} before it was ready`)));
  });
  return { npm, lines, exited };
}

/** The command line of the process npm started (run-built.sh execs node in the shell's place). */
async function commandOfChild(npm: ChildProcess): Promise<string[]> {
  const children = (await readFile(`/proc/${npm.pid}/task/${npm.pid}/children`, 'utf8')).trim().split(' ');
  expect(children).toHaveLength(1);
  return (await readFile(`/proc/${children[0]}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '');
}

beforeAll(async () => {
  await run('npm', ['run', 'build'], { cwd: PROJECT_ROOT });
}, 180_000);

describe('production runs the build', () => {
  it('compiles to dist/ with the ISO 20022 schemas beside the compiled code', () => {
    for (const file of ['src/daemon/main.js', 'simulators/scheme/main.js', 'simulators/participant/main.js'])
      expect(existsSync(path.join(PROJECT_ROOT, 'dist', file)), file).toBe(true);
    expect(existsSync(path.join(PROJECT_ROOT, 'dist', 'src', 'participant', 'schemas'))).toBe(true);
  });

  it('npm run gateway runs dist/src/daemon/main.js under node, no tsx: signs on, answers traffic both ways, drains on SIGTERM', async () => {
    const db = await startTestDatabase();
    cleanup.push(() => db.stop());
    const { participant, sim, bank } = await startSimulators(cleanup, {}, { latencyMs: '10-100', lateShare: 0 });
    const config = await gatewayConfig(sim, {
      site: 'built',
      databaseUrl: db.url,
      participant: { id: participant, sortCodes: [SORT_CODE] },
    });
    const gateway = await npmRun('gateway', ['--config', config]);
    cleanup.push(async () => void gateway.npm.kill('SIGKILL'));

    const command = await commandOfChild(gateway.npm);
    expect(command.slice(1)).toEqual(['dist/src/daemon/main.js', '--config', config]);
    expect(command.join(' ')).not.toMatch(/tsx/);

    await signedOn(sim, 30_000);
    await driveTraffic(sim, bank, 2, { inbound: 5, outbound: 5 });
    await everyPaymentSettled(sim, bank, 30_000);
    expect((await sim.report()).inbound).toMatchObject(answeredInTime(10));
    expect(await bank.report()).toMatchObject({ instructions_sent: 10, reports_received: 10 });

    gateway.npm.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
    for (const v of await sim.sessions()) expect(v.sign_offs, v.id).toEqual(['892', '882']);
  }, 120_000);

  it('npm run sim:scheme and sim:participant run their builds: a ready line, then a report at --duration, exit 0', async () => {
    const participant = runParticipantId();
    queuesOf.push(participant);
    const runs = [
      ['sim:scheme', ['--dc1', '127.0.0.1:0', '--dc2', '127.0.0.1:0', '--mac-key', MAC_KEY, '--duration', '1']],
      ['sim:participant', ['--participant', `${participant}:${SORT_CODE}`, '--mq', AMQP_URL, '--duration', '1']],
    ] as const;
    for (const [script, args] of runs) {
      const sim = await npmRun(script, [...args]);
      const command = await commandOfChild(sim.npm);
      expect(command[1], script).toBe(`dist/simulators/${script.slice('sim:'.length)}/main.js`);
      expect(await sim.exited, script).toBe(0);
      const report = JSON.parse(sim.lines.at(-1)!) as Record<string, unknown>;
      expect(report, script).not.toHaveProperty('ready');
    }
  }, 60_000);
});
