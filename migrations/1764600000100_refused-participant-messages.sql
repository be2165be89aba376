-- Up Migration
-- Participant messages the gateway refused (participant-mq.md section 2): what came, from whose
-- queue and why, for audit. Identifiers and reasons only: a reason names elements and rules, never
-- a value, so no account number or name is stored here. Retention removes rows older than the
-- duplicate window.
CREATE TABLE refused_participant_messages (
  id              bigserial   PRIMARY KEY,
  participant_id  text        NOT NULL,
  mq_message_id   text        NOT NULL,
  correlation_id  text,
  kind            text        NOT NULL,
  reason          text        NOT NULL,
  -- The payment the message tried to act on, when one was found (a decision from the wrong queue).
  fpid            text,
  refused_at      timestamptz NOT NULL
);

CREATE INDEX refused_participant_messages_refused_at ON refused_participant_messages (refused_at);
