import type { Cause, Direction, JournalEntry, Payment } from './transition.js';

/** Rows as node-postgres returns them: BIGINT as string, timestamptz as Date, NULL as null. */
export interface PaymentRow {
  fpid: string;
  direction: Direction;
  state: string;
  payment_type: string;
  amount_pence: string;
  trn: string;
  date_sent: string;
  institution: string;
  originator_sort_code: string;
  originator_account: string;
  originator_name: string | null;
  beneficiary_sort_code: string;
  beneficiary_account: string;
  beneficiary_name: string | null;
  end_to_end_ref: string | null;
  reference: string | null;
  remittance: string | null;
  settlement_date: string | null;
  settlement_cycle: string | null;
  return_reason: string | null;
  returned_fpid: string | null;
  participant_id: string | null;
  participant_msg_id: string | null;
  arrival_connection: string | null;
  site: string;
  outcome: string | null;
  context: Record<string, unknown> | null;
  stand_in_at: Date | null;
  deadline_at: Date | null;
  created_at: Date;
  updated_at: Date;
  version: number;
}

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

export function toPayment(r: PaymentRow): Payment {
  return defined({
    fpid: r.fpid,
    direction: r.direction,
    state: r.state,
    paymentType: r.payment_type,
    amountPence: Number(r.amount_pence),
    trn: r.trn,
    dateSent: r.date_sent,
    institution: r.institution,
    originatorSortCode: r.originator_sort_code,
    originatorAccount: r.originator_account,
    originatorName: opt(r.originator_name),
    beneficiarySortCode: r.beneficiary_sort_code,
    beneficiaryAccount: r.beneficiary_account,
    beneficiaryName: opt(r.beneficiary_name),
    endToEndRef: opt(r.end_to_end_ref),
    reference: opt(r.reference),
    remittance: opt(r.remittance),
    settlementDate: opt(r.settlement_date),
    settlementCycle: opt(r.settlement_cycle),
    returnReason: opt(r.return_reason),
    returnedFpid: opt(r.returned_fpid),
    participantId: opt(r.participant_id),
    participantMsgId: opt(r.participant_msg_id),
    arrivalConnection: opt(r.arrival_connection),
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
