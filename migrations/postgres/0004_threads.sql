-- Threads: a thread is a channel row (type 10, 11 or 12) whose parent_id is
-- the text or announcement channel it lives in and whose owner_id is who
-- started it, so that messages, overwrites and invites work in it unchanged.
-- What a thread has beyond a channel is in the columns below, and its
-- members in thread_members.
--
-- As before, times are Unix milliseconds and a time of "never" is NULL.

-- Every channel gets the columns; they keep their defaults outside threads.
-- auto_archive is minutes of inactivity before archiving; archived_at is
-- when archived last changed. Constant defaults, so adding the columns does
-- not rewrite the table.
ALTER TABLE channels
	ADD COLUMN archived     BOOLEAN NOT NULL DEFAULT FALSE,
	ADD COLUMN locked       BOOLEAN NOT NULL DEFAULT FALSE,
	ADD COLUMN invitable    BOOLEAN NOT NULL DEFAULT FALSE,
	ADD COLUMN auto_archive INTEGER NOT NULL DEFAULT 0,
	ADD COLUMN archived_at  BIGINT;

-- A guild's active threads, sent with every GUILD_CREATE. Partial, so that
-- the many ordinary channels are not in it; the queries name the thread
-- types as literals, as here, so that the planner can prove the index
-- applies.
CREATE INDEX channels_active_threads ON channels (guild_id, archived) WHERE type IN (10, 11, 12);
-- A channel's archived threads, newest archive first. Not partial, because
-- it is also how DeleteChannel finds a channel's threads (parent_id has no
-- foreign key, so nothing cascades along it).
CREATE INDEX channels_parent ON channels (parent_id, archived_at, id);

-- user_id has no foreign key, as in channel_recipients: a thread may be
-- mirrored from another homeserver before its remote members. flags are
-- Discord's thread member flags (notification settings).
CREATE TABLE thread_members (
	channel_id BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	user_id    BIGINT  NOT NULL,
	joined_at  BIGINT  NOT NULL,
	flags      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (channel_id, user_id)
);
-- The threads a user has joined.
CREATE INDEX thread_members_user ON thread_members (user_id, channel_id);
