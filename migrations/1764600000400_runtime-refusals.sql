-- Up Migration
-- The runtime role records refused participant messages and reads them; like the journal, the
-- audit is not its to change or remove. Retention removes rows past the duplicate window through
-- this function, run as the schema's owner.
GRANT SELECT, INSERT ON refused_participant_messages TO ledger_runtime;
GRANT USAGE ON SEQUENCE refused_participant_messages_id_seq TO ledger_runtime;

CREATE FUNCTION refusals_purge(cutoff timestamptz)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  WITH d AS (DELETE FROM refused_participant_messages WHERE refused_at < cutoff RETURNING 1)
  SELECT count(*) FROM d;
$$;

REVOKE EXECUTE ON FUNCTION refusals_purge(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION refusals_purge(timestamptz) TO ledger_runtime;
