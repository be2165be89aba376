import {
  attributesFrom,
  type AttributeKind,
  type OptionalAttribute,
  type RequiredAttribute,
} from '../domain/payment.js';
import type { Cause, Direction, JournalEntry, Payment, StoredValues } from './transition.js';

/** How node-postgres returns each kind of payment attribute: BIGINT as string, the rest as text. */
interface ColumnValues {
  text: string;
  pence: string;
  paymentType: string;
  fpid: string;
}

/** The payment table's columns (src/domain/payment.ts); NULL as null. */
type AttributeColumns = { [A in RequiredAttribute as A['column']]: ColumnValues[A['kind']] } & {
  [A in OptionalAttribute as A['column']]: ColumnValues[A['kind']] | null;
};

/** Rows as node-postgres returns them: BIGINT as string, timestamptz as Date, NULL as null. */
export type PaymentRow = AttributeColumns & {
  fpid: string;
  direction: Direction;
  state: string;
  participant_id: string | null;
  participant_msg_id: string | null;
  arrival_connection: string | null;
  traceparent: string | null;
  site: string;
  outcome: string | null;
  context: Record<string, unknown> | null;
  stand_in_at: Date | null;
  deadline_at: Date | null;
  created_at: Date;
  updated_at: Date;
  version: number;
};

export interface JournalRow {
  id: string;
  fpid: string;
  from_state: string | null;
  to_state: string;
  event: string;
  at: Date;
  site: string;
  epoch: string;
  cause: Cause | null;
}

/** Drops absent optional fields instead of carrying `undefined` keys, so rows compare cleanly. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const opt = <V>(v: V | null): V | undefined => (v === null ? undefined : v);
const ms = (d: Date | null): number | undefined => (d === null ? undefined : d.getTime());

/** A column's text as the attribute's stored value: only money is not text. */
const STORED: { readonly [K in AttributeKind]: (text: string) => StoredValues[K] } = {
  text: (text) => text,
  pence: Number,
  paymentType: (text) => text,
  fpid: (text) => text,
};

function storedValue<K extends AttributeKind>(kind: K, text: string): StoredValues[K] {
  return STORED[kind](text);
}

export function toPayment(r: PaymentRow): Payment {
  const attributes = attributesFrom<StoredValues>((a) => {
    const text = r[a.column];
    return text === null ? undefined : storedValue(a.kind, text);
  });
  return defined({
    ...attributes,
    fpid: r.fpid,
    direction: r.direction,
    state: r.state,
    participantId: opt(r.participant_id),
    participantMsgId: opt(r.participant_msg_id),
    arrivalConnection: opt(r.arrival_connection),
    traceparent: opt(r.traceparent),
    site: r.site,
    outcome: opt(r.outcome),
    context: opt(r.context),
    standInAt: ms(r.stand_in_at),
    deadlineAt: ms(r.deadline_at),
    createdAt: r.created_at.getTime(),
    updatedAt: r.updated_at.getTime(),
    version: r.version,
  });
}

export function toJournalEntry(r: JournalRow): JournalEntry {
  return defined({
    id: Number(r.id),
    fpid: r.fpid,
    from: r.from_state,
    to: r.to_state,
    event: r.event,
    at: r.at.getTime(),
    site: r.site,
    epoch: Number(r.epoch),
    cause: opt(r.cause),
  });
}
