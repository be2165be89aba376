import { PAYMENT_ATTRIBUTES } from '../domain/payment.js';
import { SIGNAL_CHANNEL } from './site-signals.js';
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
  // Only `false` travels: an absent key is a fenced write.
  ['fenced', (t) => (t.fenced === false ? false : undefined)],
  ['cause', (t) => t.cause],
  ['outcome', (t) => t.patch?.outcome],
  ['stand_in_set', (t) => isSet(t.patch?.standInAt)],
  ['stand_in_ms', (t) => t.patch?.standInAt],
  ['deadline_set', (t) => isSet(t.patch?.deadlineAt)],
  ['deadline_ms', (t) => t.patch?.deadlineAt],
  ['arrival_connection', (t) => t.patch?.arrivalConnection ?? t.payment?.arrivalConnection],
  ['participant_msg_id', (t) => t.patch?.participantMsgId ?? t.payment?.participantMsgId],
  ['direction', (t) => t.payment?.direction],
  ['participant_id', (t) => t.payment?.participantId],
  ['traceparent', (t) => t.payment?.traceparent],
  // The payment's attributes, each under its column's name (the payment table).
  ...PAYMENT_ATTRIBUTES.map((a): Field => [a.column, (t) => t.payment?.[a.name]]),
  ['outbox', (t) => (t.outbox?.length ? t.outbox : undefined)],
  ['context', (t) => t.patch?.context],
];

const TEXT = 'SELECT i, fenced, current_state FROM ledger_commit($1::json, $2)';
/** The same, sending cross-site signals as the batch commits (migrations/*_ledger-commit-notifying.sql). */
const NOTIFYING_TEXT = 'SELECT i, fenced, current_state FROM ledger_commit_notifying($1::json, $2, $3, $4::text[])';

export interface RefusedRow {
  /** 1-based position in the batch. */
  i: string;
  fenced: boolean;
  current_state: string | null;
}

/** A named query, so each pooled connection prepares it once. */
export function commitQuery(
  batch: readonly Transition[],
  leaseName: string,
  /** Signal payloads (site-signals.ts) to NOTIFY on the signal channel as the batch commits. */
  signals: readonly string[] = [],
): { name: string; text: string; values: unknown[] } {
  const records = JSON.stringify(batch.map((t) => Object.fromEntries(FIELDS.map(([key, value]) => [key, value(t)]))));
  return signals.length === 0
    ? { name: 'ledger-commit', text: TEXT, values: [records, leaseName] }
    : { name: 'ledger-commit-notifying', text: NOTIFYING_TEXT, values: [records, leaseName, SIGNAL_CHANNEL, signals] };
}

export function commitResults(batch: readonly Transition[], refused: readonly RefusedRow[]): CommitResult[] {
  const results: CommitResult[] = batch.map((t) => ({ fpid: t.fpid, ok: true }));
  for (const row of refused) {
    const index = Number(row.i) - 1;
    const t = batch[index];
    if (!t) throw new Error(`commit statement refused item ${row.i} of a batch of ${batch.length}`);
    const reason = row.fenced ? 'fenced' : t.from === null ? 'duplicate' : 'conflict';
    results[index] =
      row.current_state === null
        ? { fpid: t.fpid, ok: false, reason }
        : { fpid: t.fpid, ok: false, reason, currentState: row.current_state };
  }
  return results;
}
