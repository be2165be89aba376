-- Up Migration
-- The W3C trace context of each payment (docs/architecture.md, Tracing): the traceparent of the
-- trace begun when the payment was first recorded, so that whichever site or run takes it up
-- carries on the same trace. Written on create only; NULL while tracing is off.
ALTER TABLE payments ADD COLUMN traceparent text;
ALTER TYPE ledger_transition ADD ATTRIBUTE traceparent text;

-- As in 1765000000100_fenced-transitions.sql, with traceparent written by the create.
CREATE OR REPLACE FUNCTION ledger_commit(batch json, lease_name text)
RETURNS TABLE (i bigint, fenced boolean, current_state text)
LANGUAGE plpgsql
-- Every join here is a batch against payments by primary key. plpgsql caches its plans, and a plan
-- made while payments was small (a hash join over a scan of the table) would be kept as the table
-- grows, making every batch cost the whole table; these leave only index lookups.
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
#variable_conflict use_column
DECLARE
  items ledger_transition[] := ARRAY(SELECT json_populate_recordset(NULL::ledger_transition, batch));
  -- Rows this transaction created or moved carry its xid: exactly the transitions that applied.
  me xid := pg_current_xact_id()::xid;
  lease_epoch bigint;
BEGIN
  -- FOR SHARE holds off a takeover that bumps the epoch until this batch has committed.
  SELECT l.epoch INTO lease_epoch FROM site_lease l WHERE l.name = lease_name FOR SHARE;

  INSERT INTO payments (fpid, direction, state, payment_type, amount_pence, trn, date_sent, institution,
    originator_sort_code, originator_account, originator_name, beneficiary_sort_code, beneficiary_account,
    beneficiary_name, end_to_end_ref, reference, remittance, settlement_date, settlement_cycle, return_reason,
    returned_fpid, participant_id, participant_msg_id, arrival_connection, traceparent, site, outcome, context, stand_in_at, deadline_at,
    created_at, updated_at)
  SELECT t.fpid, t.direction, t.to_state, t.payment_type, t.amount_pence, t.trn, t.date_sent, t.institution,
    t.originator_sort_code, t.originator_account, t.originator_name, t.beneficiary_sort_code, t.beneficiary_account,
    t.beneficiary_name, t.end_to_end_ref, t.reference, t.remittance, t.settlement_date, t.settlement_cycle, t.return_reason,
    t.returned_fpid, t.participant_id, t.participant_msg_id, t.arrival_connection, t.traceparent, t.site, t.outcome, t.context,
    CASE WHEN t.stand_in_set THEN ms_to_timestamptz(t.stand_in_ms) END,
    CASE WHEN t.deadline_set THEN ms_to_timestamptz(t.deadline_ms) END,
    ms_to_timestamptz(t.at_ms), ms_to_timestamptz(t.at_ms)
  FROM unnest(items) t
  WHERE t.from_state IS NULL AND ledger_fence_holds(lease_epoch, t.fenced, t.epoch)
  ORDER BY t.fpid
  ON CONFLICT DO NOTHING;

  UPDATE payments p SET
    state = a.to_state,
    site = a.site,
    outcome = COALESCE(a.outcome, p.outcome),
    context = COALESCE(a.context, p.context),
    stand_in_at = CASE WHEN a.stand_in_set THEN ms_to_timestamptz(a.stand_in_ms) ELSE p.stand_in_at END,
    deadline_at = CASE WHEN a.deadline_set THEN ms_to_timestamptz(a.deadline_ms) ELSE p.deadline_at END,
    arrival_connection = COALESCE(a.arrival_connection, p.arrival_connection),
    participant_msg_id = COALESCE(a.participant_msg_id, p.participant_msg_id),
    updated_at = ms_to_timestamptz(a.at_ms),
    version = p.version + 1
  FROM unnest(items) a
  WHERE a.from_state IS NOT NULL AND ledger_fence_holds(lease_epoch, a.fenced, a.epoch)
    AND p.fpid = a.fpid AND p.state = a.from_state;

  INSERT INTO payment_journal (fpid, from_state, to_state, event, at, site, epoch, fenced, cause)
  SELECT a.fpid, a.from_state, a.to_state, a.event, ms_to_timestamptz(a.at_ms), a.site, a.epoch, COALESCE(a.fenced, true), a.cause
  FROM unnest(items) WITH ORDINALITY a JOIN payments p ON p.fpid = a.fpid AND p.xmin = me
  ORDER BY a.ordinality;

  INSERT INTO outbox (topic, key, payload, created_at)
  SELECT o.topic, o.key, o.payload, ms_to_timestamptz(a.at_ms)
  FROM unnest(items) WITH ORDINALITY a
  JOIN payments p ON p.fpid = a.fpid AND p.xmin = me
  CROSS JOIN LATERAL ROWS FROM (jsonb_to_recordset(a.outbox) AS (topic text, key text, payload jsonb)) WITH ORDINALITY AS o(topic, key, payload, n)
  WHERE a.outbox IS NOT NULL
  ORDER BY a.ordinality, o.n;

  RETURN QUERY
  SELECT a.ordinality, NOT ledger_fence_holds(lease_epoch, a.fenced, a.epoch), p.state
  FROM unnest(items) WITH ORDINALITY a LEFT JOIN payments p ON p.fpid = a.fpid
  WHERE p.xmin IS DISTINCT FROM me;
END
$$;
