-- Messages and DM channels: messages with their attachments, reactions and
-- earlier revisions, full-text search over message content, and the
-- channel columns DMs need (recipients, owner, icon, the 1:1 pair key) plus
-- each channel's last message.
--
-- As in 0002, times are Unix milliseconds and "none" IDs and "never" times
-- are NULL.

-- A DM channel belongs to no guild, so channels.guild_id must allow NULL.
-- SQLite cannot drop a NOT NULL constraint in place, and the usual 12-step
-- rebuild wants PRAGMA foreign_keys=OFF, which is a no-op inside the
-- transaction every migration runs in. With foreign keys on, dropping the old
-- table deletes its rows first and cascades that to channel_overwrites and
-- invites, so those are copied aside and put back once the new table has
-- taken the name (their REFERENCES channels clauses name the table, not the
-- old one, so they point at the new table as soon as it is renamed).
CREATE TABLE channels_new (
	id                  INTEGER PRIMARY KEY,
	-- NULL for a DM channel.
	guild_id            INTEGER REFERENCES guilds (id) ON DELETE CASCADE,
	type                INTEGER NOT NULL,
	name                TEXT    NOT NULL,
	topic               TEXT    NOT NULL DEFAULT '',
	position            INTEGER NOT NULL DEFAULT 0,
	parent_id           INTEGER,
	nsfw                INTEGER NOT NULL DEFAULT 0,
	rate_limit_per_user INTEGER NOT NULL DEFAULT 0,
	bitrate             INTEGER NOT NULL DEFAULT 0,
	user_limit          INTEGER NOT NULL DEFAULT 0,
	-- Kept by message creation; no foreign key, so that deleting the
	-- message does not have to touch the channel.
	last_message_id     INTEGER,
	-- A group DM's owner and icon hash.
	owner_id            INTEGER,
	icon                TEXT    NOT NULL DEFAULT '',
	-- "<smaller user ID>:<larger user ID>" for a 1:1 DM, NULL otherwise:
	-- its unique index allows one DM channel per pair of users.
	dm_key              TEXT,
	created_at          INTEGER NOT NULL,
	origin              TEXT,
	origin_id           TEXT
);
INSERT INTO channels_new (id, guild_id, type, name, topic, position, parent_id, nsfw, rate_limit_per_user,
		bitrate, user_limit, created_at, origin, origin_id)
	SELECT id, guild_id, type, name, topic, position, parent_id, nsfw, rate_limit_per_user,
		bitrate, user_limit, created_at, origin, origin_id
	FROM channels;
CREATE TEMP TABLE saved_channel_overwrites AS SELECT * FROM channel_overwrites;
CREATE TEMP TABLE saved_invites AS SELECT * FROM invites;
DROP TABLE channels;
ALTER TABLE channels_new RENAME TO channels;
INSERT INTO channel_overwrites SELECT * FROM temp.saved_channel_overwrites;
INSERT INTO invites SELECT * FROM temp.saved_invites;
DROP TABLE temp.saved_channel_overwrites;
DROP TABLE temp.saved_invites;
-- The old table's indexes went with it.
CREATE INDEX channels_guild ON channels (guild_id);
CREATE UNIQUE INDEX channels_origin ON channels (origin, origin_id) WHERE origin IS NOT NULL;
CREATE UNIQUE INDEX channels_dm_key ON channels (dm_key) WHERE dm_key IS NOT NULL;

-- The members of a DM channel. user_id has no foreign key, as bans do not:
-- a DM may be mirrored before its remote users.
CREATE TABLE channel_recipients (
	channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	user_id    INTEGER NOT NULL,
	PRIMARY KEY (channel_id, user_id)
) WITHOUT ROWID;
-- A user's DM list.
CREATE INDEX channel_recipients_user ON channel_recipients (user_id, channel_id);

-- id is the INTEGER PRIMARY KEY and so the rowid, which the full-text index
-- below keys on. mentions and mention_roles are JSON arrays of IDs (numbers),
-- '[]' for none; embeds is the JSON as sent, NULL for none.
CREATE TABLE messages (
	id                   INTEGER PRIMARY KEY,
	channel_id           INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	-- NULL in DM channels.
	guild_id             INTEGER,
	author_id            INTEGER NOT NULL,
	type                 INTEGER NOT NULL DEFAULT 0,
	content              TEXT    NOT NULL DEFAULT '',
	nonce                TEXT,
	tts                  INTEGER NOT NULL DEFAULT 0,
	mention_everyone     INTEGER NOT NULL DEFAULT 0,
	mentions             TEXT    NOT NULL DEFAULT '[]',
	mention_roles        TEXT    NOT NULL DEFAULT '[]',
	embeds               TEXT,
	pinned               INTEGER NOT NULL DEFAULT 0,
	pinned_at            INTEGER,
	edited_at            INTEGER,
	reference_id         INTEGER,
	reference_channel_id INTEGER,
	flags                INTEGER NOT NULL DEFAULT 0,
	created_at           INTEGER NOT NULL,
	origin               TEXT,
	origin_id            TEXT
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

CREATE TABLE attachments (
	id           INTEGER PRIMARY KEY,
	message_id   INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	channel_id   INTEGER NOT NULL,
	filename     TEXT    NOT NULL,
	description  TEXT    NOT NULL DEFAULT '',
	content_type TEXT    NOT NULL DEFAULT '',
	size         INTEGER NOT NULL DEFAULT 0,
	hash         TEXT    NOT NULL,
	width        INTEGER NOT NULL DEFAULT 0,
	height       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attachments_message ON attachments (message_id, id);

-- emoji is the unicode emoji or "name:id".
CREATE TABLE reactions (
	message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	user_id    INTEGER NOT NULL,
	emoji      TEXT    NOT NULL,
	channel_id INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (message_id, user_id, emoji)
) WITHOUT ROWID;
-- Who reacted with an emoji, paged by user.
CREATE INDEX reactions_emoji ON reactions (message_id, emoji, user_id);

-- No foreign key to messages: the revisions of a deleted message are kept.
-- embeds and attachments are JSON, NULL for none.
CREATE TABLE message_revisions (
	id          INTEGER PRIMARY KEY,
	message_id  INTEGER NOT NULL,
	channel_id  INTEGER NOT NULL,
	guild_id    INTEGER,
	author_id   INTEGER NOT NULL,
	editor_id   INTEGER NOT NULL,
	deleted     INTEGER NOT NULL DEFAULT 0,
	content     TEXT    NOT NULL DEFAULT '',
	embeds      TEXT,
	attachments TEXT,
	at          INTEGER NOT NULL
);
CREATE INDEX message_revisions_message ON message_revisions (message_id, id);

-- Full-text search over message content: an external-content FTS5 table,
-- so the text is stored once, in messages, kept in step by the triggers.
-- unicode61 folds case and matches whole words without stemming, as the
-- 'simple' configuration does on PostgreSQL; remove_diacritics 0 keeps
-- "café" and "cafe" apart there too, so both databases find the same.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
	content,
	content = 'messages',
	content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
	INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
-- Also fires for rows removed by ON DELETE CASCADE (a deleted channel or
-- guild), which would otherwise leave stale index entries behind.
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
-- Pins and flag changes leave the text, and so the index, as it was.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages WHEN old.content <> new.content BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
	INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
