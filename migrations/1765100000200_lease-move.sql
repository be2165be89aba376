-- Up Migration
-- A manual move of the open site (src/failover/lease.ts, requestMove): an operator (the command
-- `npm run failover:move`, later the console) marks the live lease; its holder sees the mark on its
-- next renew, stops bridging, releases the lease with reason 'manual' and holds off for a lease
-- period, so that the other site acquires it. Every acquire clears the mark: it asks the tenure
-- that was live when it was made to end, never a later one.
ALTER TABLE site_lease
  ADD COLUMN move_requested_at timestamptz,
  ADD COLUMN move_requested_by text,
  ADD CONSTRAINT site_lease_move_who CHECK ((move_requested_at IS NULL) = (move_requested_by IS NULL));

-- Who asked for a manual move, on the holder's release row (reason 'manual'): the operator the
-- audit needs beside the sites. NULL for every other change.
ALTER TABLE lease_changes ADD COLUMN requested_by text;
