-- Up Migration
-- The role the gateway's runtime pool connects as: it records payments and reads them, and
-- cannot change or remove the journal, nor the schema. The embedded cluster gives it a login and
-- its own password; on an operator's server the operator grants it to the gateway's login role.
DO $$
BEGIN
  CREATE ROLE ledger_runtime NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END
$$;

GRANT SELECT, INSERT, UPDATE ON payments TO ledger_runtime;
GRANT SELECT, INSERT ON payment_journal TO ledger_runtime;
GRANT SELECT, INSERT, UPDATE (published_at) ON outbox TO ledger_runtime;
-- ledger_commit reads the lease FOR SHARE, which needs UPDATE.
GRANT SELECT, INSERT, UPDATE ON site_lease TO ledger_runtime;
GRANT USAGE ON SEQUENCE payment_journal_id_seq, outbox_id_seq TO ledger_runtime;
GRANT EXECUTE ON FUNCTION ledger_commit(json, text) TO ledger_runtime;

-- Retention is the only delete: it runs as the schema's owner, within the bounds set here
-- (finished payments first seen before the cutoff, their journal, outbox rows published before it).
CREATE FUNCTION ledger_purge(cutoff timestamptz, final_states text[])
RETURNS TABLE (purged_payments bigint, purged_journal bigint, purged_outbox bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  gone text[];
BEGIN
  -- The journal's append-only trigger admits deletes only from a transaction that says it is this job.
  PERFORM set_config('ledger.retention', 'on', true);
  WITH d AS (DELETE FROM payments p WHERE p.created_at < cutoff AND p.state = ANY(final_states) RETURNING p.fpid)
  SELECT coalesce(array_agg(d.fpid), '{}') INTO gone FROM d;
  purged_payments := cardinality(gone);
  DELETE FROM payment_journal j WHERE j.fpid = ANY(gone);
  GET DIAGNOSTICS purged_journal = ROW_COUNT;
  DELETE FROM outbox o WHERE o.published_at < cutoff;
  GET DIAGNOSTICS purged_outbox = ROW_COUNT;
  PERFORM set_config('ledger.retention', 'off', true);
  RETURN NEXT;
END
$$;

REVOKE EXECUTE ON FUNCTION ledger_purge(timestamptz, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_purge(timestamptz, text[]) TO ledger_runtime;
