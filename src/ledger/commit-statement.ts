import type { CommitResult, Transition } from './transition.js';

/**
 * The whole batch as ONE call of `ledger_commit` (migrations/*_ledger-commit.sql): the
 * transitions travel as one JSON array of records, cheaper to build and send than a parameter per
 * column. One statement means one round trip and, in autocommit, one WAL flush for the batch.
 * A refused transition never fails the others; only the refused come back.
 */

type Field = readonly [key: string, value: (t: Transition) => unknown];

/** True or absent: an absent key reads as NULL, which the SQL treats as false. */
const isSet = (v: number | null | undefined): true | undefined => (v === undefined ? undefined : true);

/**
 * The `ledger_transition` record, key by key. Absent values stay `undefined`, so JSON.stringify
 * leaves their keys out and a state change carries a handful of keys rather than every column.
 */
const FIELDS: readonly Field[] = [
  ['fpid', (t) => t.fpid],
  ['from_state', (t) => t.from],
  ['to_state', (t) => t.to],
  ['event', (t) => t.event],
  ['at_ms', (t) => t.at],
  ['site', (t) => t.site],
  ['epoch', (t) => t.epoch],
  ['cause', (t) => t.cause],
  ['outcome', (t) => t.patch?.outcome],
  ['stand_in_set', (t) => isSet(t.patch?.standInAt)],
  ['stand_in_ms', (t) => t.patch?.standInAt],
  ['deadline_set', (t) => isSet(t.patch?.deadlineAt)],
  ['deadline_ms', (t) => t.patch?.deadlineAt],
  ['arrival_connection', (t) => t.patch?.arrivalConnection ?? t.payment?.arrivalConnection],
  ['participant_msg_id', (t) => t.patch?.participantMsgId ?? t.payment?.participantMsgId],
  ['direction', (t) => t.payment?.direction],
  ['payment_type', (t) => t.payment?.paymentType],
  ['amount_pence', (t) => t.payment?.amountPence],
  ['trn', (t) => t.payment?.trn],
  ['date_sent', (t) => t.payment?.dateSent],
  ['institution', (t) => t.payment?.institution],
  ['originator_sort_code', (t) => t.payment?.originatorSortCode],
  ['originator_account', (t) => t.payment?.originatorAccount],
  ['originator_name', (t) => t.payment?.originatorName],
  ['beneficiary_sort_code', (t) => t.payment?.beneficiarySortCode],
  ['beneficiary_account', (t) => t.payment?.beneficiaryAccount],
  ['beneficiary_name', (t) => t.payment?.beneficiaryName],
  ['end_to_end_ref', (t) => t.payment?.endToEndRef],
  ['reference', (t) => t.payment?.reference],
  ['remittance', (t) => t.payment?.remittance],
  ['settlement_date', (t) => t.payment?.settlementDate],
  ['settlement_cycle', (t) => t.payment?.settlementCycle],
  ['return_reason', (t) => t.payment?.returnReason],
  ['returned_fpid', (t) => t.payment?.returnedFpid],
  ['participant_id', (t) => t.payment?.participantId],
  ['outbox', (t) => (t.outbox?.length ? t.outbox : undefined)],
  ['context', (t) => t.patch?.context],
];

const TEXT = 'SELECT i, fenced, current_state FROM ledger_commit($1::json, $2)';

export interface RefusedRow {
  /** 1-based position in the batch. */
  i: string;
  fenced: boolean;
  current_state: string | null;
}

/** A named query, so each pooled connection prepares it once. */
export function commitQuery(batch: readonly Transition[], leaseName: string): { name: string; text: string; values: unknown[] } {
  const records = batch.map((t) => Object.fromEntries(FIELDS.map(([key, value]) => [key, value(t)])));
  return { name: 'ledger-commit', text: TEXT, values: [JSON.stringify(records), leaseName] };
}

export function commitResults(batch: readonly Transition[], refused: readonly RefusedRow[]): CommitResult[] {
  const results: CommitResult[] = batch.map((t) => ({ fpid: t.fpid, ok: true }));
  for (const row of refused) {
    const index = Number(row.i) - 1;
    const t = batch[index];
    if (!t) throw new Error(`commit statement refused item ${row.i} of a batch of ${batch.length}`);
    const reason = row.fenced ? 'fenced' : t.from === null ? 'duplicate' : 'conflict';
    results[index] = row.current_state === null ? { fpid: t.fpid, ok: false, reason } : { fpid: t.fpid, ok: false, reason, currentState: row.current_state };
  }
  return results;
}
