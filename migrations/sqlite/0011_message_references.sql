-- Replies and pin notices by the message they name: a backfilled message
-- that a live reply named before it arrived takes a new local ID, and its
-- references follow it (RemapFederatedMessage). Partial: most messages
-- name none.
CREATE INDEX messages_reference ON messages (reference_id) WHERE reference_id IS NOT NULL;
