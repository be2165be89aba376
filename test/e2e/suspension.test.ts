/**
 * R10 at the gateway: while the scheme is suspended nothing is submitted; a held instruction goes
 * once the scheme is active again, and one that would miss T_out is rejected 9091. The gateway
 * runs in this process (in-process MQ shared with the bank simulator), the scheme simulator as a process.
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/base/clock.js';
import { parseGatewayConfig } from '../../src/daemon/config.js';
import { Gateway } from '../../src/daemon/gateway.js';
import { silentLogger } from '../../src/base/log.js';
import { InProcessTransport } from '../../src/participant/mq/in-process.js';
import { ParticipantBanks } from '../../simulators/participant/bank.js';
import { bankSettingsSchema } from '../../simulators/participant/options.js';
import { seededRandom } from '../../simulators/participant/random.js';
import { startTestDatabase } from '../support/ledger.js';
import { MAC_KEY, startSchemeSim } from '../support/scheme-sim.js';
import { eventually } from '../support/stack.js';
import { stopAfterAll } from '../support/cleanup.js';

const cleanup = stopAfterAll();

describe('suspension (R10)', () => {
  it('holds outbound payments while suspended, submits them when active, rejects 9091 those that would miss T_out', async () => {
    const db = await startTestDatabase();
    cleanup.push(() => db.stop());
    const sim = await startSchemeSim();
    cleanup.push(() => sim.stop());
    const transport = new InProcessTransport(silentLogger);
    const config = parseGatewayConfig({
      site: 'suspension',
      scheme: { dc1: [sim.dc1], dc2: [sim.dc2], macKey: MAC_KEY, connectionsPerDc: 1 },
      participants: [{ id: '200001', name: 'Bank', sortCodes: ['200000'] }],
      timing: { tOutMs: 3000, retryMs: 100 },
      database: { url: db.url },
      http: { port: 0 },
    });
    const gateway = await Gateway.start(config, { clock: systemClock, log: silentLogger, transport });
    cleanup.push(() => gateway.stop());
    const banks = new ParticipantBanks(
      bankSettingsSchema.parse({ participants: ['200001:200000'], badAccountShare: 0, drainMs: 0 }),
      {
        transport,
        clock: systemClock,
        log: silentLogger,
        random: seededRandom(3),
      },
    );
    await banks.start();
    cleanup.push(() => banks.stop());
    await eventually(
      async () => gateway.status(),
      (s) => s.connections.every((c) => c.state === 'ready'),
      10_000,
      'ready',
    );

    await sim.control('POST', '/suspend');
    await eventually(
      async () => gateway.status(),
      (s) => s.suspended,
      5000,
      'the gateway to hear 971 SUSPENDED',
    );
    banks.sendOutbound(1);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await sim.report()).outbound.received).toBe(0);
    expect(banks.report().reports_received).toBe(0);

    await sim.control('POST', '/resume');
    const first = await eventually(
      async () => banks.report(),
      (r) => r.reports_received === 1,
      5000,
      'the held payment reported',
    );
    expect(first.reports_accepted).toBe(1);
    expect((await sim.report()).outbound).toMatchObject({ received: 1, accepted: 1, refused_suspended: 0 });

    await sim.control('POST', '/suspend');
    await eventually(
      async () => gateway.status(),
      (s) => s.suspended,
      5000,
      'suspended again',
    );
    banks.sendOutbound(1);
    const second = await eventually(
      async () => banks.report(),
      (r) => r.reports_received === 2,
      8000,
      'the second payment rejected',
    );
    expect(second.by_reason).toEqual({ '9091': 1 });
    expect((await sim.report()).outbound.received).toBe(1);
    const states = await db.pool.query<{ state: string; outcome: string }>(
      "SELECT state, outcome FROM payments WHERE direction = 'outbound' ORDER BY created_at",
    );
    expect(states.rows).toEqual([
      { state: 'reported', outcome: '0000' },
      { state: 'reported', outcome: '9091' },
    ]);
  }, 60_000);
});
