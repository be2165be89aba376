-- Up Migration
-- A batch may carry the cross-site signals (src/ledger/site-signals.ts) sent while it waited: a
-- NOTIFY inside the batch's own transaction is delivered when the batch commits and costs no
-- statement, no round trip and no transaction of its own. A batch that fails takes its signals
-- with it, as a lost signal always could be (the desks' polling covers it).
CREATE FUNCTION ledger_commit_notifying(batch json, lease_name text, channel text, notices text[])
RETURNS TABLE (i bigint, fenced boolean, current_state text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
  PERFORM pg_notify(channel, n) FROM unnest(notices) AS n;
  RETURN QUERY SELECT c.i, c.fenced, c.current_state FROM ledger_commit(batch, lease_name) AS c;
END
$$;
