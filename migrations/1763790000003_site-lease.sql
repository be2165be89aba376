-- Up Migration
-- Fencing lease: the site holding `open-site` writes under its epoch; a write carrying an older
-- epoch is refused, so a deposed site cannot change payments after failover.
CREATE TABLE site_lease (
  name       text        PRIMARY KEY,
  holder     text        NOT NULL,
  epoch      bigint      NOT NULL CHECK (epoch >= 0),
  expires_at timestamptz NOT NULL
);
