-- Up Migration
-- The bound on payment events waiting for their relay (the relay off, or the broker away for long):
-- beyond the newest `keep`, or written before `cutoff`, unsent rows of these topics are deleted,
-- oldest first. Rows a relay holds locked (a batch being sent) are skipped: they are about to be
-- published, or are dropped at the next run. It runs as the schema's owner: the runtime role has
-- no DELETE on the outbox. Participant notices are never passed here: they are owed to a bank.
CREATE FUNCTION outbox_drop_unsent(topics text[], keep bigint, cutoff timestamptz)
RETURNS TABLE (dropped_topic text, dropped bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  -- The newest unsent row past the `keep` newest ones (through outbox_unpublished), if any.
  last_beyond bigint;
BEGIN
  SELECT o.id INTO last_beyond FROM outbox o
   WHERE o.published_at IS NULL AND o.topic = ANY(topics)
   ORDER BY o.id DESC OFFSET keep LIMIT 1;
  RETURN QUERY
  WITH d AS (
    DELETE FROM outbox o WHERE o.id IN (
      SELECT x.id FROM outbox x
       WHERE x.published_at IS NULL AND x.topic = ANY(topics)
         AND (x.id <= last_beyond OR x.created_at < cutoff)
       FOR UPDATE SKIP LOCKED)
    RETURNING o.topic)
  SELECT d.topic, count(*) FROM d GROUP BY d.topic;
END
$$;

REVOKE EXECUTE ON FUNCTION outbox_drop_unsent(text[], bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION outbox_drop_unsent(text[], bigint, timestamptz) TO ledger_runtime;
