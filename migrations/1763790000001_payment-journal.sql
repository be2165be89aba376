-- Up Migration
-- Every state change of every payment, in commit order. `cause` names the message that caused it
-- (MTI, field 11, connection, participant message id) and never carries account numbers or names.
CREATE TABLE payment_journal (
  id         bigserial   PRIMARY KEY,
  fpid       text        NOT NULL,
  from_state text,
  to_state   text        NOT NULL,
  event      text        NOT NULL,
  at         timestamptz NOT NULL,
  site       text        NOT NULL,
  epoch      bigint      NOT NULL,
  cause      jsonb
);

CREATE INDEX payment_journal_fpid ON payment_journal (fpid, id);

-- Append-only. Roles cannot express this for the superuser the gateway may connect as, so a
-- trigger refuses changes unless the retention job has set ledger.retention in its own transaction.
CREATE FUNCTION payment_journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('ledger.retention', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'payment_journal is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER payment_journal_no_update_delete
  BEFORE UPDATE OR DELETE ON payment_journal
  FOR EACH ROW EXECUTE FUNCTION payment_journal_append_only();

CREATE TRIGGER payment_journal_no_truncate
  BEFORE TRUNCATE ON payment_journal
  FOR EACH STATEMENT EXECUTE FUNCTION payment_journal_append_only();
