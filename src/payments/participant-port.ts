import type { PaymentAttributes } from '../domain/payment.js';
import type { ActionCode } from '../domain/codes.js';

/** What the payment desks need to know of a participant (its full configuration is the participant link's). */
export interface Participant {
  /** Its FPS institution id, 6 digits. */
  readonly id: string;
  /** Sort codes it owns: inbound payments to them go to it; its outbound must come from them. */
  readonly sortCodes: readonly string[];
  /** Its own cap on one payment, under the scheme's limit. */
  readonly maxAmountPence?: number | undefined;
}

/** Who owns a sort code: where an inbound payment goes. */
export interface ParticipantOwners {
  owner(sortCode: string): Participant | undefined;
}

/**
 * A participant's outbound instruction: the scheme fields of its pacs.008, money in integer pence.
 * The date sent and the sending institution are not in it: the gateway adds them (participant-mq.md
 * section 3). `settlementDate` is only present on the gateway's own inbound messages.
 */
export type Instruction = Omit<PaymentAttributes, 'dateSent' | 'institution' | 'settlementCycle'> & {
  /** GrpHdr/MsgId, echoed as OrgnlMsgId in the pacs.002 that answers it. */
  msgId: string;
  /** PmtId/ClrSysRef (inbound only): the payment's FPID, restored to its 42 characters. */
  fpid?: string;
  /** InstgAgt's MmbId (inbound only): field 98, the sending institution's 6 digits. */
  instructingAgent?: string;
};

/** A participant's answer to an offered payment (its pacs.002). */
export interface Decision {
  accept: boolean;
  /** The reject reason, an action code; ignored on accept. */
  code: ActionCode;
}

/**
 * What became of a participant's decision: taken (its effect recorded), or refused, changing
 * nothing. `answer` is what the participant is told; `reason` what operators are (the audit).
 */
export type DecisionOutcome = { taken: true } | { taken: false; answer: string; reason: string; fpid?: string };

/**
 * `failed`: the ledger refused to record it (fenced); it stays on the queue. A ledger or broker
 * that cannot be reached is not an outcome: `instruct` rejects with a TransientFault.
 */
export type Instructed = 'recorded' | 'duplicate' | 'rejected' | 'failed';

/** An inbound payment as told to its participant. */
export interface Told {
  participant: string;
  fpid: string;
  payment: PaymentAttributes;
  /** The offer's MQ message id (random, kept with the payment): what notices about it correlate to. */
  offerMessageId: string;
}

/** An inbound payment as offered to its participant (pacs.008 on FROM.GATEWAY). */
export interface Offer extends Told {
  /** R6: the stand-in deadline; the MQ message expires then. */
  expiresAt: number;
  /** The offer's span in the payment's trace: sent as the message's `traceparent` property. */
  traceparent?: string;
}

/** The pacs.002 that answers a participant's instruction (its outbound payment). */
export interface Report {
  participant: string;
  fpid: string;
  instruction: { msgId: string; mqMessageId: string; trn: string; endToEndRef?: string };
  code: ActionCode;
  /** The report's span in the payment's trace: sent as the message's `traceparent` property. */
  traceparent?: string;
}

/**
 * What the payment lifecycle asks of the participant link. Each resolves once the message is
 * on the participant's queue (persistent put), and rejects if it could not be put.
 */
export interface ParticipantPort {
  /** Rejects with `Unofferable` when the payment's pacs.008 cannot be built or is not valid. */
  offer(o: Offer): Promise<void>;
  /** R6: pacs.002 RJCT 0912 after a stand-in. */
  standIn(t: Told): Promise<void>;
  /** R6: pacs.002 RJCT 0912 answering a decision (MQ message id `decision`) that came after the stand-in. */
  answerLate(t: Told & { decision: string }): Promise<void>;
  /** R3: pacs.007 for a payment the scheme reversed. */
  reversal(t: Told): Promise<void>;
  report(r: Report): Promise<void>;
}

/** A payment whose pacs.008 cannot be built or validated: no participant can ever be offered it. */
export class Unofferable extends Error {}
