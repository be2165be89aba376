import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { ActionCode, FunctionCode } from '../../src/scheme/profile.js';
import { withContent } from '../support/bodies.js';
import { eventually, KEY, KEY_HEX, payment, RawClient } from '../support/scheme-client.js';

/**
 * Starts the simulator as `npx tsx simulators/scheme/main.ts`; collects its stdout lines and
 * stderr. `direct` runs the local tsx binary instead, because npx does not pass SIGTERM on.
 */
function simulator(
  args: string[],
  direct = false,
): { child: ChildProcess; lines: string[]; stderr: () => string; exited: Promise<number | null> } {
  const [cmd, pre] = direct ? ['node_modules/.bin/tsx', []] : ['npx', ['tsx']];
  const child = spawn(cmd, [...pre, 'simulators/scheme/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, stderr: () => err, exited };
}

async function control(
  address: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`http://${address}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('scheme simulator: the process', () => {
  it('prints a ready line, obeys the control endpoint and prints one report line on SIGTERM', async () => {
    const sim = simulator(
      [
        '--dc1',
        '127.0.0.1:0',
        '--dc2',
        '127.0.0.1:0',
        '--mac-key',
        KEY_HEX,
        '--t-in',
        '500',
        '--control',
        '127.0.0.1:0',
        '--duration',
        '60',
      ],
      true,
    );
    try {
      const readyLine = await eventually(() => sim.lines[0], 'the ready line', 15_000);
      const ready = JSON.parse(readyLine) as { ready: boolean; dc1: string; dc2: string; control: string };
      expect(ready).toMatchObject({
        ready: true,
        dc1: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        dc2: expect.stringMatching(/:\d+$/),
      });

      const c = await RawClient.connect(ready.dc1);
      await c.network(FunctionCode.signOnSubmit, FunctionCode.signOnReceive);
      expect((await c.pay(payment())).fields.get(26)).toBe(ActionCode.accepted);

      const sent = await control(ready.control, 'POST', '/inbound', { count: 1, session: 'DC1#1' });
      expect(sent).toMatchObject({ status: 200, json: { sent: 1 } });
      (await c.next('9200')).reply.reply(ActionCode.accepted);
      expect((await control(ready.control, 'GET', '/sessions')).json).toMatchObject([
        { id: 'DC1#1', submit: true, receive: true },
      ]);
      expect(await control(ready.control, 'POST', '/rate', { perSecond: -1 })).toMatchObject({ status: 400 });
      expect(await control(ready.control, 'POST', '/rate', { perSecond: 0 })).toMatchObject({
        status: 200,
        json: { perSecond: 0 },
      });
      expect(await control(ready.control, 'POST', '/mute', {})).toMatchObject({ status: 400 });
      expect(await control(ready.control, 'POST', '/drop', { session: 'DC9#9' })).toMatchObject({ status: 409 });
      expect(await control(ready.control, 'POST', '/suspend')).toMatchObject({ status: 200, json: { changed: true } });
      expect((await c.next('9824')).message.fields.get(120)).toBe('SUSPENDED');
      await eventually(async () => (await control(ready.control, 'GET', '/report')).json, 'a report');
      c.close();

      sim.child.kill('SIGTERM');
      expect(await sim.exited).toBe(0);
      expect(sim.lines).toHaveLength(2);
      const report = JSON.parse(sim.lines[1]!) as Record<string, unknown>;
      expect(report).toMatchObject({
        inbound: { sent: 1, answered_in_time: 1, accepted: 1 },
        outbound: { received: 1, accepted: 1, duplicates: 0 },
        wrong_connection_responses: 0,
        mac_errors: 0,
        connections: { 'DC1#1': { dc: 'DC1', inbound_sent: 1, outbound_received: 1 } },
      });
      expect(sim.stderr()).not.toContain('87654321'); // no account number in the logs
    } finally {
      // SIGTERM, not SIGKILL: tsx passes it on; killing tsx outright would orphan the simulator.
      if (sim.child.exitCode === null) sim.child.kill('SIGTERM');
    }
  });

  it('answers a 9200 with wrong content 9020 at once, echoing its field 11 and 31, over TCP (R11)', async () => {
    const sim = simulator(
      ['--dc1', '127.0.0.1:0', '--mac-key', KEY_HEX, '--control', '127.0.0.1:0', '--duration', '60'],
      true,
    );
    try {
      const ready = JSON.parse(await eventually(() => sim.lines[0], 'the ready line', 15_000)) as {
        dc1: string;
        control: string;
      };
      const c = await RawClient.connect(ready.dc1);
      await c.network(FunctionCode.signOnSubmit);
      // Wrong content with a valid MAC: amount not digits, amount zero, a lower-case TRN.
      const cases: Array<[number, string, string]> = [
        [6, '0000000000ABCD', '006'],
        [6, '00000000000000', '006'],
        [31, 'test00000000000001', '031'],
      ];
      for (const [i, [field, text]] of cases.entries()) {
        const fields = payment()
          .set(7, '1122093015')
          .set(11, String(701 + i).padStart(6, '0'));
        c.wire.writeRaw(withContent({ mti: '9200', fields }, field, text, KEY));
        const answer = await eventually(
          () => c.strays.find((m) => m.fields.get(11) === fields.get(11)),
          `the answer to ${field}=${text}`,
        );
        expect(answer.mti).toBe('9210');
        expect(answer.fields.get(26)).toBe(ActionCode.formatError);
        expect(answer.fields.get(44)).toMatch(new RegExp(`^${cases[i]![2]} `));
        if (field !== 31) expect(answer.fields.get(31)).toBe(fields.get(31));
        expect(answer.fields.get(98)).toBe(fields.get(98));
      }
      const report = (await control(ready.control, 'GET', '/report')).json as {
        format_errors: number;
        outbound: { received: number; accepted: number };
      };
      expect(report).toMatchObject({ format_errors: 3, outbound: { received: 0, accepted: 0 } });
      c.close();
    } finally {
      if (sim.child.exitCode === null) sim.child.kill('SIGTERM');
    }
  });

  it('stops by itself after --duration and refuses a bad option with a clear message', async () => {
    const timed = simulator(['--dc1', '127.0.0.1:0', '--mac-key', KEY_HEX, '--duration', '1']);
    const bad = simulator(['--dc1', '127.0.0.1:0', '--mac-key', 'zz', '--t-in', 'soon']);
    expect(await timed.exited).toBe(0);
    expect(timed.lines.map((l) => Object.keys(JSON.parse(l) as object)[0])).toEqual(['ready', 'inbound']);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain('--mac-key: must be 16 to 64 bytes given as hex');
    expect(bad.stderr()).toContain('--t-in');
    expect(bad.lines).toEqual([]);
  });
});
