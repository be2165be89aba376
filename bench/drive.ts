/**
 * Paced traffic both ways through the simulators' control endpoints: the scheme sends inbound
 * payments, the bank puts outbound instructions, each at its own rate, topped up every tick from
 * the time elapsed so that a slow tick is made good by the next rather than lost.
 */
import type { Bank } from '../test/support/stack.js';
import type { SchemeSim } from '../test/support/scheme-sim.js';

export interface DirectionRates {
  /** Payments a second the scheme sends the gateway. */
  inbound: number;
  /** Instructions a second the bank puts to the gateway. */
  outbound: number;
}

/** How often the rate is topped up: bursts of rate/100 payments, and 100 control calls a second per simulator. */
const TICK_MS = 10;
/** The most one control call asks for: after a stall the backlog is sent over several ticks, not at once. */
const MAX_PER_CALL = 2_000;

/** What was offered so far: payments the simulators say they sent. */
export interface Offered {
  inbound: number;
  outbound: number;
}

/**
 * Drives `rates` for `seconds`, counting into `offered` as the simulators answer. The scheme sends
 * none while no session is signed on to receive (or it is suspended): those count as not offered.
 */
export async function drive(
  sim: SchemeSim,
  bank: Bank,
  rates: DirectionRates,
  seconds: number,
  offered: Offered,
): Promise<void> {
  const start = performance.now();
  const end = start + seconds * 1000;
  const asked = { inbound: 0, outbound: 0 };
  for (let now = start; now < end; now = performance.now()) {
    const due = (rate: number, sent: number) =>
      Math.min(MAX_PER_CALL, Math.floor((rate * (now - start)) / 1000) - sent);
    const inbound = due(rates.inbound, asked.inbound);
    const outbound = due(rates.outbound, asked.outbound);
    asked.inbound += Math.max(0, inbound);
    asked.outbound += Math.max(0, outbound);
    await Promise.all([
      inbound > 0
        ? sim.control<{ sent: number }>('POST', '/inbound', { count: inbound }).then((r) => (offered.inbound += r.sent))
        : undefined,
      outbound > 0
        ? bank
            .control<{ sent: number }>('POST', '/outbound', { count: outbound })
            .then((r) => (offered.outbound += r.sent))
        : undefined,
    ]);
    const next = start + Math.ceil((performance.now() - start + 1) / TICK_MS) * TICK_MS;
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(next, end) - performance.now())));
  }
}
