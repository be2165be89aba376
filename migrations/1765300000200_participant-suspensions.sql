-- Up Migration
-- A participant an operator suspended (src/ops/console): the open site does not read its
-- TO.GATEWAY until an operator resumes it. Kept here rather than in a site's memory, so that it
-- holds whichever site is open: a site applies these rows before it reads any queue on opening,
-- and the open site applies changes made on either site's console at once (signalled) or within a
-- poll. One row a suspension, in force while `resumed_at` is NULL (at most one such a
-- participant); resuming fills it in, so the runtime never deletes.
CREATE TABLE participant_suspensions (
  id             bigserial   PRIMARY KEY,
  participant_id text        NOT NULL,
  suspended_by   text        NOT NULL,
  suspended_at   timestamptz NOT NULL DEFAULT now(),
  -- The site whose console it was done on.
  site           text        NOT NULL,
  resumed_by     text,
  resumed_at     timestamptz,
  CHECK ((resumed_at IS NULL) = (resumed_by IS NULL))
);

CREATE UNIQUE INDEX participant_suspensions_in_force ON participant_suspensions (participant_id)
  WHERE resumed_at IS NULL;

GRANT SELECT, INSERT, UPDATE ON participant_suspensions TO ledger_runtime;
GRANT USAGE ON SEQUENCE participant_suspensions_id_seq TO ledger_runtime;
