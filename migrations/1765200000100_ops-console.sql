-- Up Migration
-- The ops console (src/ops/console): what operators did, what each site says of itself, and the
-- proposals that wait for a second operator (four eyes).

-- Every console action and login, with its result: who, what, when (the database's clock), from
-- which address, on which site. Append-only: the runtime may add and read rows, never change them.
CREATE TABLE audit_log (
  id       bigserial   PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  site     text        NOT NULL,
  operator text,
  address  text,
  action   text        NOT NULL,
  target   text,
  result   text        NOT NULL CHECK (result IN ('ok', 'refused', 'failed')),
  detail   text
);

CREATE INDEX audit_log_at ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

GRANT SELECT, INSERT ON audit_log TO ledger_runtime;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO ledger_runtime;

-- Each site writes what it sees of itself about once a second (its scheme connections, open or
-- closed, the bridge, suspended participants), so that either site's console shows both.
CREATE TABLE site_status (
  site       text        PRIMARY KEY,
  at         timestamptz NOT NULL,
  status     jsonb       NOT NULL
);

GRANT SELECT, INSERT, UPDATE ON site_status TO ledger_runtime;

-- Four eyes: an action one operator proposes and a different operator approves before it expires;
-- either may cancel. State moves proposed -> approved (then done or failed) | cancelled | expired.
CREATE TABLE console_proposals (
  id          bigserial   PRIMARY KEY,
  action      text        NOT NULL CHECK (action IN ('move', 'drain-dc')),
  target      text        NOT NULL,
  proposed_by text        NOT NULL,
  proposed_at timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  state       text        NOT NULL DEFAULT 'proposed'
    CHECK (state IN ('proposed', 'approved', 'cancelled', 'done', 'failed')),
  decided_by  text,
  decided_at  timestamptz,
  result      text,
  CHECK (state = 'proposed' OR decided_by IS NOT NULL),
  CHECK (state NOT IN ('approved', 'done', 'failed') OR decided_by <> proposed_by)
);

CREATE INDEX console_proposals_open ON console_proposals (id) WHERE state = 'proposed';

GRANT SELECT, INSERT, UPDATE ON console_proposals TO ledger_runtime;
GRANT USAGE ON SEQUENCE console_proposals_id_seq TO ledger_runtime;

-- The console's traffic charts count the last 15 minutes of the journal by time; the journal is
-- append-only and its `at` only grows, so this index costs one entry a row.
CREATE INDEX payment_journal_at ON payment_journal (at);
