import type { SchemePayment } from '../scheme/messages.js';
import type { ActionCode } from '../scheme/profile.js';

/** An inbound payment as told to its participant. */
export interface Told {
  participant: string;
  fpid: string;
  payment: SchemePayment;
  /** The offer's MQ message id (random, kept with the payment): what notices about it correlate to. */
  offerMessageId: string;
}

/** An inbound payment as offered to its participant (pacs.008 on FROM.GATEWAY). */
export interface Offer extends Told {
  /** R6: the stand-in deadline; the MQ message expires then. */
  expiresAt: number;
}

/** The pacs.002 that answers a participant's instruction (its outbound payment). */
export interface Report {
  participant: string;
  fpid: string;
  instruction: { msgId: string; mqMessageId: string; trn: string; endToEndRef?: string };
  code: ActionCode;
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
