/**
 * Paced traffic both ways through the simulators' own pacers: each phase sets the scheme's rate of
 * inbound payments and the bank's rate of outbound instructions once (their `POST /rate`), and
 * what was offered is read back from their reports. The driver then costs next to nothing on the
 * cores it measures, where asking for every 10 ms burst over HTTP took a tenth of the machine.
 */
import type { Bank } from '../test/support/stack.js';
import type { SchemeSim } from '../test/support/scheme-sim.js';

export interface DirectionRates {
  /** Payments a second the scheme sends the gateway. */
  inbound: number;
  /** Instructions a second the bank puts to the gateway. */
  outbound: number;
}

export const NO_TRAFFIC: DirectionRates = { inbound: 0, outbound: 0 };

/**
 * From now on the simulators pace `rates`. The scheme sends none while no session is signed on to
 * receive (or it is suspended): those are not offered, and not counted.
 */
export async function setRates(sim: SchemeSim, bank: Bank, rates: DirectionRates): Promise<void> {
  await Promise.all([
    sim.control('POST', '/rate', { perSecond: rates.inbound }),
    bank.control('POST', '/rate', { perSecond: rates.outbound }),
  ]);
}

/** Drives `rates` for `seconds`; the next phase's rates, or NO_TRAFFIC, replace them. */
export async function drive(sim: SchemeSim, bank: Bank, rates: DirectionRates, seconds: number): Promise<void> {
  await setRates(sim, bank, rates);
  await new Promise((r) => setTimeout(r, seconds * 1000));
}
