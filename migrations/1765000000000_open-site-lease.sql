-- Up Migration
-- The open-site lease as a lock between two sites (src/failover/lease.ts). Every time is the
-- database's own clock (now()), never a site's. The lease row says how its holder came to hold it;
-- lease_changes keeps every change of holder, for the operator and the auditor.
ALTER TABLE site_lease
  ADD COLUMN acquired_at     timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN renewed_at      timestamptz NOT NULL DEFAULT now(),
  -- Set when the holder let go; the lease is then expired and anyone may acquire it.
  ADD COLUMN released_at     timestamptz,
  ADD COLUMN release_reason  text CHECK (release_reason IN ('manual', 'stop')),
  -- Who held the lease before this holder's acquire, and why it changed hands (see lease_changes).
  ADD COLUMN previous_holder text,
  ADD COLUMN acquire_reason  text NOT NULL DEFAULT 'start'
    CHECK (acquire_reason IN ('start', 'expiry', 'manual', 'stop', 'resume')),
  ADD CONSTRAINT site_lease_released_why CHECK ((released_at IS NULL) = (release_reason IS NULL));

-- One row per acquire (new_holder set, the epoch bumped) and per release (new_holder NULL, the
-- epoch kept). Reasons: 'start' (no lease existed), 'expiry' (the holder stopped renewing),
-- 'manual' (an operator moved the open site), 'stop' (the holder stopped), 'resume' (the holder
-- acquired its own live lease again, after a restart or a failed renew).
CREATE TABLE lease_changes (
  id         bigserial   PRIMARY KEY,
  role       text        NOT NULL,
  old_holder text,
  new_holder text,
  old_epoch  bigint,
  new_epoch  bigint      NOT NULL,
  at         timestamptz NOT NULL,
  reason     text        NOT NULL CHECK (reason IN ('start', 'expiry', 'manual', 'stop', 'resume')),
  CHECK (old_holder IS NOT NULL OR new_holder IS NOT NULL)
);

CREATE INDEX lease_changes_role ON lease_changes (role, id);

-- The runtime records changes and reads them; the history is not its to change or remove.
GRANT SELECT, INSERT ON lease_changes TO ledger_runtime;
GRANT USAGE ON SEQUENCE lease_changes_id_seq TO ledger_runtime;
