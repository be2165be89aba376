-- Up Migration
-- One row per payment, keyed by FPID. Money is integer pence; times come from the gateway's clock.
CREATE TABLE payments (
  fpid                 text        PRIMARY KEY CHECK (char_length(fpid) = 42),
  direction            text        NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  state                text        NOT NULL,
  payment_type         text        NOT NULL,
  amount_pence         bigint      NOT NULL CHECK (amount_pence >= 0),
  trn                  text        NOT NULL,
  date_sent            text        NOT NULL,
  institution          text        NOT NULL,
  originator_sort_code text        NOT NULL,
  originator_account   text        NOT NULL,
  originator_name      text,
  beneficiary_sort_code text       NOT NULL,
  beneficiary_account  text        NOT NULL,
  beneficiary_name     text,
  end_to_end_ref       text,
  reference            text,
  remittance           text,
  settlement_date      text,
  settlement_cycle     text,
  return_reason        text,
  returned_fpid        text,
  participant_id       text,
  participant_msg_id   text,
  arrival_connection   text,
  site                 text        NOT NULL,
  outcome              text,
  -- The lifecycle's own state beyond `state` (timers, repeats), replaced whole by a transition.
  context              jsonb,
  stand_in_at          timestamptz,
  deadline_at          timestamptz,
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL,
  version              integer     NOT NULL DEFAULT 1
) WITH (fillfactor = 50); -- room on the page keeps state updates HOT (no indexed column changes)

-- Idempotency on the participant's TRN: a resent outbound instruction must not become a second payment.
CREATE UNIQUE INDEX payments_outbound_participant_trn ON payments (participant_id, trn) WHERE direction = 'outbound';

-- Answers to an offer name the offer's message id. Set once, so it rarely costs a HOT update.
CREATE INDEX payments_participant_msg_id ON payments (participant_msg_id) WHERE participant_msg_id IS NOT NULL;

-- Retention scans by age; created_at never changes, so this index does not cost HOT updates.
CREATE INDEX payments_created_at ON payments (created_at);
