-- Up Migration
-- The runtime role is granted each function it calls by name, as ledger_commit is
-- (1764600000300_runtime-role.sql), rather than relying on PUBLIC's default EXECUTE.
GRANT EXECUTE ON FUNCTION ledger_commit_notifying(json, text, text, text[]) TO ledger_runtime;
