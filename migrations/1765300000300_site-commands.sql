-- Up Migration
-- What one site's console asks of another site (src/ops/console/site-commands.ts): drain or
-- undrain that site's scheme connections, which only the site holding them can do. The asking
-- console writes the row (and the audit row it names) and signals the target; the target applies
-- it and records the result. State moves pending -> applied | failed; a row still pending at its
-- expiry is not applied (it reads `expired`): a site that comes back an hour later must not drain
-- a connection on an operator's word of an hour ago.
CREATE TABLE site_commands (
  id           bigserial   PRIMARY KEY,
  target_site  text        NOT NULL,
  command      text        NOT NULL CHECK (command IN ('drain', 'undrain')),
  -- {"connection": "DC1-1"} or {"dc": "DC1"}
  arguments    jsonb       NOT NULL,
  requested_by text        NOT NULL,
  -- The site whose console it was asked on, and that console's audit row of the request.
  requested_on text        NOT NULL,
  audit_id     bigint      NOT NULL REFERENCES audit_log (id),
  requested_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  state        text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'applied', 'failed')),
  applied_at   timestamptz,
  result       text,
  CHECK ((state = 'pending') = (applied_at IS NULL))
);

-- What a site looks for on each signal and poll: its own pending commands, oldest first.
CREATE INDEX site_commands_pending ON site_commands (target_site, id) WHERE state = 'pending';

GRANT SELECT, INSERT, UPDATE ON site_commands TO ledger_runtime;
GRANT USAGE ON SEQUENCE site_commands_id_seq TO ledger_runtime;
