import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { PROJECT_ROOT } from '../../src/ledger/database.js';

/** `schemas/events/payment-event.v1.json`, compiled once with ajv (draft 2020-12, formats checked). */
export function paymentEventValidator() {
  const schema = JSON.parse(
    readFileSync(path.join(PROJECT_ROOT, 'schemas', 'events', 'payment-event.v1.json'), 'utf8'),
  ) as object;
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  return ajv.compile(schema);
}
