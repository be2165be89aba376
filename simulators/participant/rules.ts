import { ActionCode } from '../../src/scheme/profile.js';
import type { BankSettings } from './options.js';

/** What the simulated bank answers to an inbound payment, and when. */
export interface InboundDecision {
  status: 'ACSC' | 'RJCT';
  /** The reject action code; absent for ACSC. */
  reason?: ActionCode;
  /** How long after the offer was read the pacs.002 is put. */
  delayMs: number;
  /** Answered deliberately after the stand-in deadline (`--late-ms`). */
  late: boolean;
  /** The beneficiary sort code is not one the participant owns. */
  misrouted: boolean;
}

type Rules = Pick<BankSettings, 'latency' | 'lateShare' | 'lateMs' | 'rejectShare'>;

/**
 * README "Decision rules"; the first rule that matches decides. Exactly three draws per payment,
 * whichever rule matches, so that one `--seed` gives one sequence of decisions.
 */
export function decideInbound(rules: Rules, ownsBeneficiary: boolean, random: () => number): InboundDecision {
  const share = random();
  const latency = rules.latency.minMs + Math.floor(random() * (rules.latency.maxMs - rules.latency.minMs + 1));
  const reason = random() < 0.5 ? ActionCode.accountClosed : ActionCode.invalidAccount;
  if (!ownsBeneficiary)
    return { status: 'RJCT', reason: ActionCode.invalidAccount, delayMs: latency, late: false, misrouted: true };
  if (share < rules.lateShare) return { status: 'ACSC', delayMs: rules.lateMs, late: true, misrouted: false };
  if (share < rules.lateShare + rules.rejectShare)
    return { status: 'RJCT', reason, delayMs: latency, late: false, misrouted: false };
  return { status: 'ACSC', delayMs: latency, late: false, misrouted: false };
}
