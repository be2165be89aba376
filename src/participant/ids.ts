import { createHash } from 'node:crypto';

/**
 * Message ids derived from what a message is about, so that a message put again after a crash
 * carries the same ids and the participant can recognise it as the same message. An offer's own
 * MQ message id is the exception: it is random (kept with the payment), because a decision is
 * matched by it and must not be computable from the public FPID; the ids derived from it (its
 * GrpHdr/MsgId) are as unguessable.
 */
function digest(purpose: string, key: string): string {
  return createHash('sha256').update(`${purpose}\u0000${key}`).digest('hex');
}

/** An MQ MsgId (24 bytes, 48 hex chars) for `purpose` of `key`. */
export function mqIdFor(purpose: string, key: string): string {
  return digest(purpose, key).slice(0, 48);
}

/** An ISO 20022 GrpHdr/MsgId (Max35Text) for `purpose` of `key`. */
export function isoIdFor(purpose: string, key: string): string {
  return `GW${digest(purpose, key).slice(0, 32).toUpperCase()}`;
}
