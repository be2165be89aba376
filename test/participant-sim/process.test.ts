import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePacs002, parsePacs008, validateXml } from '../../src/participant/iso20022/index.js';
import { ActionCode } from '../../src/scheme/profile.js';
import type { BankReport } from '../../simulators/participant/bank.js';
import { launchSimulator } from '../../simulators/launch.js';
import {
  AMQP_URL,
  FakeGateway,
  deleteQueues,
  inboundPayment,
  randomParticipant,
  waitFor,
} from '../support/bank-gateway.js';

const used: string[] = [];
/** The simulator's pino logs go to the test's stderr; LOG_LEVEL=debug shows them. */
const QUIET = { LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' };
afterAll(() => deleteQueues(used));

/** The bank simulator on RabbitMQ for `participants`, each its own sort code, with `args` after. */
function launchBank(participants: string[], args: string[]) {
  const named = participants.flatMap((id) => ['--participant', `${id}:${id}`]);
  return launchSimulator<BankReport>('participant', ['--mq', AMQP_URL, ...named, ...args], QUIET);
}

async function control(
  address: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://${address}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('participant simulator: the process', () => {
  it('prints a ready line, decides offers, sends instructions on request and prints one report on SIGTERM', async () => {
    const id = randomParticipant();
    const other = randomParticipant();
    used.push(id, other);
    const sim = await launchBank(
      [id, other],
      [
        '--latency-ms',
        '10-20',
        '--late-share',
        '0',
        '--reject-share',
        '0',
        '--drain-ms',
        '300',
        '--control',
        '127.0.0.1:0',
        '--seed',
        '5',
      ],
    );
    const gw = await FakeGateway.start(id);
    let stopped = false;
    try {
      expect(sim.ready).toMatchObject({
        ready: true,
        participants: [id, other],
        mq: 'amqp',
        control: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        seed: 5,
      });
      expect(sim.ready.queues).toMatchObject({
        [id]: { toGateway: `FPS.${id}.TO.GATEWAY`, fromGateway: `FPS.${id}.FROM.GATEWAY` },
      });
      const address = sim.ready.control as string;

      // Inbound: an offer is decided, its second offer is a duplicate.
      const payment = inboundPayment(id);
      const offer = await gw.offer(payment);
      const decision = await gw.next('the decision', (m) => m.correlationId === offer.messageId);
      expect(validateXml('pacs.002', decision.body)).toEqual({ ok: true });
      expect(parsePacs002(decision.body)).toMatchObject({
        ok: true,
        status: { status: 'ACSC', originalTrn: payment.trn, originalMsgId: offer.msgId },
      });
      await gw.offer(payment, { messageId: offer.messageId, msgId: offer.msgId });
      await gw.reversal(offer, payment);
      await gw.putRaw('garbage');

      // Outbound on request: two instructions from this participant; one answered, one not.
      expect(await control(address, 'POST', '/outbound', { count: 2, participant: '000000' })).toMatchObject({
        status: 404,
      });
      expect(await control(address, 'POST', '/outbound', { count: 0 })).toMatchObject({ status: 400 });
      const sent = await control(address, 'POST', '/outbound', { count: 2, participant: id });
      expect(sent).toMatchObject({ status: 200, json: { sent: 2 } });
      await waitFor('two instructions', () => gw.received.filter((m) => m.correlationId === null).length === 2);
      const instructions = gw.received.filter((m) => m.correlationId === null);
      for (const m of instructions) expect(validateXml('pacs.008', m.body)).toEqual({ ok: true });
      const first = parsePacs008(instructions[0]!.body);
      expect(first).toMatchObject({ ok: true, instruction: { originatorSortCode: id, beneficiarySortCode: '300000' } });
      await gw.report(instructions[0]!, ActionCode.accepted);

      expect(await control(address, 'POST', '/rate', { perSecond: 'fast' })).toMatchObject({ status: 400 });
      expect(await control(address, 'POST', '/rate', { perSecond: 0 })).toMatchObject({
        status: 200,
        json: { perSecond: 0 },
      });
      expect(await control(address, 'POST', '/pause-decisions')).toMatchObject({
        status: 200,
        json: { changed: true, paused: true },
      });
      expect(await control(address, 'POST', '/resume-decisions')).toMatchObject({
        status: 200,
        json: { changed: true, paused: false },
      });
      const live = async () => (await control(address, 'GET', '/report')).json as unknown as BankReport;
      const end = Date.now() + 5_000;
      while (Date.now() < end) {
        const r = await live();
        if (r.reports_received === 1 && r.reversed === 1 && r.invalid_messages === 1 && r.duplicates_seen === 1) break;
        await new Promise((r) => setTimeout(r, 50));
      }

      stopped = true;
      const report = await sim.stop();
      const second = parsePacs008(instructions[1]!.body);
      expect(report).toMatchObject({
        participants: [id, other],
        instructions_sent: 2,
        reports_received: 1,
        reports_accepted: 1,
        reports_rejected: 0,
        missing_reports: 1,
        missing: [second.ok ? second.instruction.trn : 'unreadable'],
        duplicate_reports: 0,
        inbound_offered: 1,
        inbound_decided: 1,
        inbound_accepted: 1,
        duplicates_seen: 1,
        reversed: 1,
        invalid_messages: 1,
        unexpected_messages: 0,
        by_reason: {},
      });
    } finally {
      if (!stopped) sim.kill();
      await gw.close();
    }
  });

  it('stops by itself after --duration and refuses bad options with status 2', async () => {
    const id = randomParticipant();
    used.push(id);
    const sim = await launchBank([id], ['--outbound-rate', '20', '--duration', '0.5', '--drain-ms', '200']);
    let out = '';
    sim.process.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => sim.process.once('exit', resolve));
    expect(code).toBe(0);
    const report = JSON.parse(out.trim().split('\n').pop()!) as BankReport;
    expect(report.instructions_sent).toBeGreaterThanOrEqual(5);
    expect(report.missing_reports).toBe(report.instructions_sent);
    expect(report.missing.length).toBe(Math.min(20, report.instructions_sent));

    const bad = spawn(
      process.execPath,
      ['--import', 'tsx', 'simulators/participant/main.ts', '--participant', '12:3', '--late-share', '2'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    bad.stderr.on('data', (c: Buffer) => (err += c.toString()));
    expect(await new Promise((resolve) => bad.once('exit', resolve))).toBe(2);
    expect(err).toMatch(/--participant: must be ID:SORTCODE/);
    expect(err).toMatch(/--late-share/);
  });
});
