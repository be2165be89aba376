import { Refusal, attribute, requiredText, type XmlNode } from './xml.js';

/** Field 6 is n 14: the largest amount the scheme can carry, in pence. */
const MAX_DIGITS = 14;

/** Integer pence as an ISO amount with two decimals: 1250 -> "12.50". String arithmetic only. */
export function formatPence(pence: number): string {
  if (!Number.isSafeInteger(pence) || pence <= 0 || String(pence).length > MAX_DIGITS) {
    throw new RangeError(`amount must be a whole number of pence, above zero and at most ${MAX_DIGITS} digits`);
  }
  const digits = String(pence).padStart(3, '0');
  return `${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** The GBP amount at `path` in pence: above zero, at most 2 decimals and 14 digits of pence. */
export function readPence(node: XmlNode, path: string): number {
  if (attribute(node, path, 'Ccy') !== 'GBP') throw new Refusal(`${path}/@Ccy must be GBP`);
  // xs:decimal collapses whitespace and allows a sign, so the schema lets " +12.50 " through.
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(requiredText(node, path, 'amount').trim());
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) throw new Refusal(`${path} is not a decimal amount`);
  const [, sign, units = '', fraction = ''] = m;
  if (fraction.length > 2) throw new Refusal(`${path} has more than 2 decimals`);
  const pence = (units + fraction.padEnd(2, '0')).replace(/^0+/, '');
  if (pence === '' || sign === '-') throw new Refusal(`${path} must be above zero`);
  if (pence.length > MAX_DIGITS) throw new Refusal(`${path} exceeds ${MAX_DIGITS} digits of pence`);
  return Number(pence);
}
