-- Read states and the index of mentions they are counted from (issue 13).
--
-- A read state is a user's place in a channel: the last message they
-- acknowledged. Mention counts are not stored: they are counted when asked
-- (READY, an ack) from the mentions of the messages after that place, so
-- that a deleted message stops counting by being gone (the rows below go
-- with it), a send writes nothing for people it does not mention, and the
-- user's settings and permissions of the moment decide what counts.

CREATE TABLE read_states (
	user_id         INTEGER NOT NULL,
	channel_id      INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	-- Only moves forward.
	last_message_id INTEGER NOT NULL,
	-- Counts the acks of this channel, as Discord's version does.
	version         INTEGER NOT NULL,
	PRIMARY KEY (user_id, channel_id)
) WITHOUT ROWID;

-- The users a message mentions (its mentions column, which includes the
-- author of a replied message that the reply pings), written with the
-- message.
CREATE TABLE message_mentions (
	user_id    INTEGER NOT NULL,
	message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	channel_id INTEGER NOT NULL,
	PRIMARY KEY (user_id, message_id)
) WITHOUT ROWID;
CREATE INDEX message_mentions_message ON message_mentions (message_id);

-- The roles a message mentions (its mention_roles column).
CREATE TABLE message_role_mentions (
	role_id    INTEGER NOT NULL,
	message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	channel_id INTEGER NOT NULL,
	PRIMARY KEY (role_id, message_id)
) WITHOUT ROWID;
CREATE INDEX message_role_mentions_message ON message_role_mentions (message_id);

-- The guild messages that mention @everyone or @here, by guild.
CREATE INDEX messages_everyone ON messages (guild_id, id) WHERE mention_everyone;

-- Messages sent before read states existed count as read: the index above
-- was not kept for them, and nobody would want every old ping at once.
-- since is a snowflake of the migration's time, 0 on a database that held
-- no message yet.
CREATE TABLE read_state_epoch (
	since INTEGER NOT NULL
);
INSERT INTO read_state_epoch (since)
	SELECT CASE WHEN EXISTS (SELECT 1 FROM messages) THEN (CAST(strftime('%s', 'now') AS INTEGER) * 1000 - 1420070400000) * 4194304 ELSE 0 END;
