-- Webhooks: a channel's incoming webhooks, and the columns a message needs
-- to show who posted through one.
--
-- A webhook's ID is also that of a user row (bot, username
-- "webhook-<id>", never signed in to) that authors its messages, so that
-- history, search and federation treat them as any other message; the name
-- and avatar shown are the message's own (author_name, author_avatar).
CREATE TABLE webhooks (
	id          INTEGER PRIMARY KEY REFERENCES users (id),
	guild_id    INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	-- Deleting the channel deletes its webhooks, and with them their tokens.
	channel_id  INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	creator_id  INTEGER NOT NULL,
	name        TEXT    NOT NULL,
	avatar      TEXT    NOT NULL DEFAULT '',
	-- Kept as is: Discord shows a webhook's token to those who may manage
	-- it, so it must be readable; it is compared in constant time.
	token       TEXT    NOT NULL,
	created_at  INTEGER NOT NULL
);
CREATE INDEX webhooks_channel ON webhooks (channel_id, id);
CREATE INDEX webhooks_guild ON webhooks (guild_id, id);

-- The avatars a webhook has used (its own and per-message ones), so that
-- /avatars/{webhook}/{hash} serves them and the blob sweep keeps them.
CREATE TABLE webhook_avatars (
	webhook_id INTEGER NOT NULL,
	hash       TEXT    NOT NULL,
	PRIMARY KEY (webhook_id, hash)
);

ALTER TABLE messages ADD COLUMN webhook_id INTEGER;
ALTER TABLE messages ADD COLUMN author_name TEXT;
ALTER TABLE messages ADD COLUMN author_avatar TEXT;
