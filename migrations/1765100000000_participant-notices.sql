-- Up Migration
-- Participant notices (stand-in, late-decision answer, reversal) are written to the outbox with the
-- step that calls for them, by whichever site takes it, and the open site delivers them. It looks
-- for them often, so they have an index of their own: only the undelivered, only this topic.
CREATE INDEX outbox_participant_notices ON outbox (id) WHERE published_at IS NULL AND topic = 'participant.notices';

