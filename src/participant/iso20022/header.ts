import { MESSAGES } from './kinds.js';
import { Refusal, elements, optionalText, type XmlNode } from './xml.js';

/** What every status report and reversal on the link refers back to: a pacs.008. */
export const ORIGINAL_MESSAGE_NAME = MESSAGES['pacs.008'].version;

/** Caller-given ids go into Max35Text elements; refuse, rather than write, what the schema would refuse. */
export function max35(value: string, element: string): string {
  if (value.length < 1 || value.length > 35) throw new RangeError(`${element} must be 1 to 35 characters`);
  return value;
}

export function groupHeader(msgId: string, createdAt: number): { MsgId: string; CreDtTm: string } {
  return { MsgId: max35(msgId, 'GrpHdr/MsgId'), CreDtTm: new Date(createdAt).toISOString() };
}

/*
 * Elements the XSD requires of pacs.008 and pacs.007 that the link's table leaves open:
 * - NbOfTxs 1: one transaction per message (participant-mq.md section 3).
 * - SttlmInf/SttlmMtd CLRG: settled through the scheme's clearing, not across agents' accounts.
 * - SttlmInf/ClrSys/Prtry FPS: names the clearing system; a proprietary code, so no claim is
 *   made about the external code list.
 */
export function settledGroupHeader(msgId: string, createdAt: number): object {
  return { ...groupHeader(msgId, createdAt), NbOfTxs: '1', SttlmInf: { SttlmMtd: 'CLRG', ClrSys: { Prtry: 'FPS' } } };
}

/** The link carries one transaction per message; a group header that counts them must agree. */
export function checkOneTransaction(message: XmlNode, element: string): void {
  const n = elements(message, element).length;
  if (n !== 1) throw new Refusal(`${element} occurs ${n} times; the link carries exactly one transaction per message`);
  const declared = optionalText(message, 'GrpHdr/NbOfTxs');
  if (declared !== undefined && declared !== '1') throw new Refusal('GrpHdr/NbOfTxs must be 1');
}
