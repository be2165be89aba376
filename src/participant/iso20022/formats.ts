import { FIELDS } from '../../scheme/profile.js';
import { Refusal, optionalText, requiredText, type XmlNode } from './xml.js';

/*
 * The scheme's field formats (scheme-link.md section 3) applied to the ISO elements that carry
 * them, so that whatever the gateway accepts also encodes as a valid 9200. ISO text elements are
 * at least one character long, so variable fields need one character too.
 */
const TRN = { pattern: /^[A-Z0-9]{18}$/, rule: '18 characters A-Z 0-9' };

function formatOf(field: number): { pattern: RegExp; rule: string } {
  if (field === 31) return TRN;
  const f = FIELDS.get(field)?.format;
  if (f?.kind === 'fixed' && f.charset === 'n')
    return { pattern: new RegExp(`^[0-9]{${f.length}}$`), rule: `${f.length} digits` };
  if (f !== undefined && f.kind !== 'fixed' && f.charset === 'ans') {
    return { pattern: new RegExp(`^[\\x20-\\x7E]{1,${f.max}}$`), rule: `1 to ${f.max} printable ASCII characters` };
  }
  throw new Error(`field ${field} has no ISO 20022 format here`);
}

const FORMATS = new Map([31, 35, 42, 43, 62, 95, 116, 118, 120, 121, 126].map((n) => [n, formatOf(n)]));

/** Checks an element's text against scheme field `field`; the refusal names both, never the value. */
export function schemeField(field: number, value: string, path: string): string {
  const { pattern, rule } = FORMATS.get(field)!;
  if (!pattern.test(value)) throw new Refusal(`${path} (field ${field}, ${FIELDS.get(field)!.name}) must be ${rule}`);
  return value;
}

export function optionalField(node: XmlNode, path: string, field: number): string | undefined {
  const value = optionalText(node, path);
  return value === undefined ? undefined : schemeField(field, value, path);
}

export function requiredField(node: XmlNode, path: string, field: number): string {
  return schemeField(field, requiredText(node, path, `field ${field}, ${FIELDS.get(field)!.name}`), path);
}
