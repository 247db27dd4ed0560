-- A user's notification settings for a guild (issue 13), Discord's user
-- guild settings. A user without a row has Discord's defaults. Times are
-- Unix milliseconds, NULL for none.
CREATE TABLE user_guild_settings (
	user_id               BIGINT   NOT NULL,
	guild_id              BIGINT   NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	muted                 BOOLEAN  NOT NULL DEFAULT FALSE,
	-- When a timed mute ends; NULL for a mute until unmuted.
	mute_end_time         BIGINT,
	-- 0 all messages, 1 only mentions, 2 nothing.
	message_notifications INTEGER  NOT NULL,
	suppress_everyone     BOOLEAN  NOT NULL DEFAULT FALSE,
	suppress_roles        BOOLEAN  NOT NULL DEFAULT FALSE,
	-- JSON array of {"channel_id","muted","mute_end_time","message_notifications"}.
	channel_overrides     TEXT     NOT NULL DEFAULT '[]',
	-- Counts the changes, as Discord's version does.
	version               BIGINT   NOT NULL,
	PRIMARY KEY (user_id, guild_id)
);
