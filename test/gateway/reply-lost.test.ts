/**
 * R4 against the gateway: the connections carrying an inbound payment all die before its reply;
 * the scheme (the simulator, its own process) repeats it as a 9201 once the gateway has signed on
 * to receive again within T_in, and the gateway answers the repeat with the participant's decision.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPacs002, parsePacs008 } from '../../src/participant/iso20022/index.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import { gatewayHere, type GatewayHere } from '../support/gateway-here.js';
import { startSchemeSim, type SchemeSim } from '../support/scheme-sim.js';
import { eventually } from '../support/stack.js';
import { until } from '../support/tcp.js';

const Q = participantQueues('200001');
let sim: SchemeSim;
let here: GatewayHere;
let offers: IncomingMessage[];

beforeAll(async () => {
  sim = await startSchemeSim(['--t-in', '6000', '--sort-codes', '200000']);
  here = await gatewayHere({
    site: 'reply-lost-test',
    scheme: { dc1: [sim.dc1], dc2: [sim.dc2], connectionsPerDc: 1, backoff: { initialMs: 1000, maxMs: 2000 } },
    timing: { tInMs: 6000, standInMarginMs: 1000 },
    participant: { id: '200001', sortCodes: ['200000'] },
  });
  offers = here.fromGateway;
}, 60_000);

afterAll(async () => {
  await here.stop();
  await sim.stop();
});

describe('gateway inbound: reply lost (R4)', () => {
  it('answers the 9201 the scheme sends after the gateway signs on again, once, with the decision', async () => {
    const { fpids } = await sim.control<{ fpids: string[] }>('POST', '/inbound', { count: 1 });
    await until(() => offers.length === 1, 5000, 'the offer');
    // Every connection dies before the decision, the carrier last: none is up to carry a repeat at
    // once (the gateway waits at least 500 ms before reconnecting).
    const carriers = (await sim.report()).connections;
    const open = (await sim.sessions())
      .filter((v) => v.open)
      .sort((a, b) => carriers[a.id]!.inbound_sent - carriers[b.id]!.inbound_sent);
    for (const s of open) await sim.control('POST', '/drop', { session: s.id });
    await until(
      () => here.gateway.status().connections.every((c) => c.state === 'ready' && c.reconnects === 1),
      5000,
      'signed on again',
    );
    await eventually(
      () => sim.report(),
      (r) => r.inbound.repeats_sent === 1,
      3000,
      'the 9201',
    );
    const parsed = parsePacs008(offers[0]!.body);
    if (!parsed.ok) throw new Error(parsed.reason);
    const body = buildPacs002({
      msgId: 'D-R4-1',
      createdAt: Date.now(),
      originalTrn: parsed.instruction.trn,
      status: 'ACSC',
    });
    await here.transport.put({
      queue: Q.toGateway,
      body,
      messageId: newMessageId(),
      correlationId: offers[0]!.messageId,
    });
    const report = await eventually(
      () => sim.report(),
      (r) => r.inbound.answered_in_time === 1,
      5000,
      'the repeat answered',
    );
    expect(report.inbound).toMatchObject({ sent: 1, repeats_sent: 1, accepted: 1, unanswered: 0, late: 0 });
    expect(report.wrong_connection_responses + report.unmatched_responses).toBe(0);
    const row = await here.db.pool.query<{ state: string; outcome: string }>(
      'SELECT state, outcome FROM payments WHERE fpid = $1',
      [fpids[0]],
    );
    expect(row.rows[0]).toEqual({ state: 'reply-lost', outcome: '0000' });
    expect(offers).toHaveLength(1);
  });
});
