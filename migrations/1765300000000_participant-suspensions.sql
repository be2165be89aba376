-- Up Migration
-- A participant an operator suspended (src/ops/console): the open site does not read its
-- TO.GATEWAY until an operator resumes it. Kept here rather than in a site's memory, so that it
-- holds whichever site is open: a site applies these rows before it reads any queue on opening,
-- and the open site applies changes made on either site's console within a poll. One row a
-- suspended participant; resuming deletes it (the audit log keeps who did both, and when).
CREATE TABLE participant_suspensions (
  participant_id text        PRIMARY KEY,
  suspended_by   text        NOT NULL,
  suspended_at   timestamptz NOT NULL DEFAULT now(),
  -- The site whose console it was done on.
  site           text        NOT NULL
);

GRANT SELECT, INSERT, DELETE ON participant_suspensions TO ledger_runtime;
