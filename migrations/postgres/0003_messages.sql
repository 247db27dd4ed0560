-- Messages and DM channels: messages with their attachments, reactions and
-- earlier revisions, full-text search over message content, and the
-- channel columns DMs need (recipients, owner, icon, the 1:1 pair key) plus
-- each channel's last message.
--
-- As in 0002, times are Unix milliseconds and "none" IDs and "never" times
-- are NULL.

-- A DM channel belongs to no guild: guild_id is NULL for it.
-- last_message_id is kept by message creation, with no foreign key so that
-- deleting the message does not have to touch the channel. owner_id and
-- icon are a group DM's. dm_key is "<smaller user ID>:<larger user ID>" for
-- a 1:1 DM and NULL otherwise; its unique index allows one DM channel per
-- pair of users.
ALTER TABLE channels
	ALTER COLUMN guild_id DROP NOT NULL,
	ADD COLUMN last_message_id BIGINT,
	ADD COLUMN owner_id        BIGINT,
	ADD COLUMN icon            TEXT NOT NULL DEFAULT '',
	ADD COLUMN dm_key          TEXT;
CREATE UNIQUE INDEX channels_dm_key ON channels (dm_key) WHERE dm_key IS NOT NULL;

-- The members of a DM channel. user_id has no foreign key, as bans do not:
-- a DM may be mirrored before its remote users.
CREATE TABLE channel_recipients (
	channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	user_id    BIGINT NOT NULL,
	PRIMARY KEY (channel_id, user_id)
);
-- A user's DM list.
CREATE INDEX channel_recipients_user ON channel_recipients (user_id, channel_id);

-- mentions and mention_roles are JSON arrays of IDs (numbers), '[]' for
-- none; embeds is the JSON as sent, kept as text byte for byte, NULL for
-- none. content_tsv is the full-text index of the content: the 'simple'
-- configuration folds case and matches whole words without stemming, as
-- SQLite's unicode61 tokenizer does.
CREATE TABLE messages (
	id                   BIGINT   PRIMARY KEY,
	channel_id           BIGINT   NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	-- NULL in DM channels.
	guild_id             BIGINT,
	author_id            BIGINT   NOT NULL,
	type                 INTEGER  NOT NULL DEFAULT 0,
	content              TEXT     NOT NULL DEFAULT '',
	nonce                TEXT,
	tts                  BOOLEAN  NOT NULL DEFAULT FALSE,
	mention_everyone     BOOLEAN  NOT NULL DEFAULT FALSE,
	mentions             TEXT     NOT NULL DEFAULT '[]',
	mention_roles        TEXT     NOT NULL DEFAULT '[]',
	embeds               TEXT,
	pinned               BOOLEAN  NOT NULL DEFAULT FALSE,
	pinned_at            BIGINT,
	edited_at            BIGINT,
	reference_id         BIGINT,
	reference_channel_id BIGINT,
	flags                INTEGER  NOT NULL DEFAULT 0,
	created_at           BIGINT   NOT NULL,
	origin               TEXT,
	origin_id            TEXT,
	content_tsv          tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED
);
-- History paging.
CREATE INDEX messages_channel ON messages (channel_id, id);
-- An author's last message in a channel (slowmode).
CREATE INDEX messages_author ON messages (channel_id, author_id, id);
-- Nonce lookups run on every send, and most find nothing: without the nonce
-- in an index that would scan all the author's messages in the channel.
CREATE INDEX messages_nonce ON messages (channel_id, author_id, nonce) WHERE nonce IS NOT NULL;
CREATE INDEX messages_pinned ON messages (channel_id, pinned_at, id) WHERE pinned;
CREATE UNIQUE INDEX messages_origin ON messages (origin, origin_id) WHERE origin IS NOT NULL;
CREATE INDEX messages_search ON messages USING GIN (content_tsv);

CREATE TABLE attachments (
	id           BIGINT  PRIMARY KEY,
	message_id   BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	channel_id   BIGINT  NOT NULL,
	filename     TEXT    NOT NULL,
	description  TEXT    NOT NULL DEFAULT '',
	content_type TEXT    NOT NULL DEFAULT '',
	size         BIGINT  NOT NULL DEFAULT 0,
	hash         TEXT    NOT NULL,
	width        INTEGER NOT NULL DEFAULT 0,
	height       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attachments_message ON attachments (message_id, id);

-- emoji is the unicode emoji or "name:id". It is compared bytewise (COLLATE
-- "C"), as SQLite does, so that reactions first used in the same
-- millisecond list in the same order on both databases.
CREATE TABLE reactions (
	message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	user_id    BIGINT NOT NULL,
	emoji      TEXT   COLLATE "C" NOT NULL,
	channel_id BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (message_id, user_id, emoji)
);
-- Who reacted with an emoji, paged by user.
CREATE INDEX reactions_emoji ON reactions (message_id, emoji, user_id);

-- No foreign key to messages: the revisions of a deleted message are kept.
-- embeds and attachments are JSON, NULL for none.
CREATE TABLE message_revisions (
	id          BIGINT  PRIMARY KEY,
	message_id  BIGINT  NOT NULL,
	channel_id  BIGINT  NOT NULL,
	guild_id    BIGINT,
	author_id   BIGINT  NOT NULL,
	editor_id   BIGINT  NOT NULL,
	deleted     BOOLEAN NOT NULL DEFAULT FALSE,
	content     TEXT    NOT NULL DEFAULT '',
	embeds      TEXT,
	attachments TEXT,
	at          BIGINT  NOT NULL
);
CREATE INDEX message_revisions_message ON message_revisions (message_id, id);
