-- Up Migration
-- ledger_commit's statements read the batch through unnest(items). In a custom plan the array is a
-- constant whose length the planner knows (a batch of 2 rows), in the generic plan it is a parameter
-- (10 rows assumed), so the generic plan always looks dearer and plpgsql planned all five statements
-- afresh on every call: most of the function's CPU at the small batches of a steady load. Every plan
-- here is index lookups by primary key whatever the batch size (the SET clauses of
-- 1765200000000_payment-traceparent.sql), so the one generic plan is kept.
ALTER FUNCTION ledger_commit(json, text) SET plan_cache_mode = force_generic_plan;
