import { createHash } from 'node:crypto';

/**
 * Message ids derived from what a message is about, so that a message put again after a crash
 * carries the same ids and the participant can recognise it as the same message.
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

/** The MQ message id of the pacs.008 that offers an inbound payment: the key its decision comes back under. */
export const offerMessageId = (fpid: string): string => mqIdFor('offer', fpid);
