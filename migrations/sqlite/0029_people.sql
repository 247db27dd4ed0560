-- Federation notices (issue 13): signed notices to one peer that are not
-- part of any guild log and must still arrive: that a user of this server
-- was deleted (spec/federation.md §18), that one of its users ended a
-- friendship or request with a peer's user (§17). A row is written in the
-- transaction that makes the change, by the running server or by the
-- operator's command line, and the running server's notice sender, which
-- polls the table, sends it, retrying with backoff (next_at) until the
-- peer answers; it is deleted once answered.
CREATE TABLE federation_notices (
	id         INTEGER PRIMARY KEY,
	peer       TEXT    NOT NULL,
	kind       TEXT    NOT NULL CHECK (kind IN ('user_deleted', 'relationship')),
	-- The notice's JSON body, as sent.
	body       TEXT    NOT NULL,
	-- This server's user the notice is about (the deleted user, the one
	-- who ended a relationship) and, for a relationship, the peer's user.
	user_id    INTEGER NOT NULL,
	other_id   INTEGER NOT NULL DEFAULT 0,
	attempts   INTEGER NOT NULL DEFAULT 0,
	-- Unix milliseconds.
	next_at    INTEGER NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX federation_notices_due ON federation_notices (next_at);

-- Friend nicknames (Discord's relationship nickname): the name a user
-- gives another in their own list; '' for none.
ALTER TABLE relationships ADD COLUMN nickname TEXT NOT NULL DEFAULT '';

-- @here (issue 13): a message that mentions @here (and not @everyone)
-- counts as a mention only for those present when it was sent, as on
-- Discord. The gateway, which knows who is present, writes a row for each
-- of this server's users it hands the message to live.
CREATE TABLE message_here_mentions (
	user_id    INTEGER NOT NULL,
	message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	PRIMARY KEY (user_id, message_id)
) WITHOUT ROWID;
CREATE INDEX message_here_mentions_message ON message_here_mentions (message_id);
