-- Guilds and what hangs off them: channels and their permission overwrites,
-- roles, members and their roles, bans, invites, custom emoji, audit log.
-- Times are Unix milliseconds; IDs are snowflakes. An ID of "none" (a
-- channel without a category, a guild without a system channel) is NULL, as
-- is a time of "never" (no timeout, no expiry).
--
-- Everything in a guild references it with ON DELETE CASCADE, directly or
-- through a channel or member, so that deleting the guild row deletes the
-- guild. parent_id and system_channel_id have no foreign key: a guild is
-- created before its system channel, and federation may mirror a channel
-- before its category.

CREATE TABLE guilds (
	id                 INTEGER PRIMARY KEY,
	name               TEXT    NOT NULL,
	-- name_lower is the name lowered in Go, because SQLite's LOWER folds
	-- only ASCII: discovery search then ignores case the same way on both
	-- databases.
	name_lower         TEXT    NOT NULL,
	icon               TEXT    NOT NULL DEFAULT '',
	description        TEXT    NOT NULL DEFAULT '',
	owner_id           INTEGER NOT NULL,
	system_channel_id  INTEGER,
	verification_level INTEGER NOT NULL DEFAULT 0,
	public             INTEGER NOT NULL DEFAULT 0,
	created_at         INTEGER NOT NULL,
	origin             TEXT,
	origin_id          TEXT
);
CREATE UNIQUE INDEX guilds_origin ON guilds (origin, origin_id) WHERE origin IS NOT NULL;
-- Discovery pages through public guilds by ID.
CREATE INDEX guilds_public ON guilds (public, id);

CREATE TABLE channels (
	id                  INTEGER PRIMARY KEY,
	guild_id            INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	type                INTEGER NOT NULL,
	name                TEXT    NOT NULL,
	topic               TEXT    NOT NULL DEFAULT '',
	position            INTEGER NOT NULL DEFAULT 0,
	parent_id           INTEGER,
	nsfw                INTEGER NOT NULL DEFAULT 0,
	rate_limit_per_user INTEGER NOT NULL DEFAULT 0,
	bitrate             INTEGER NOT NULL DEFAULT 0,
	user_limit          INTEGER NOT NULL DEFAULT 0,
	created_at          INTEGER NOT NULL,
	origin              TEXT,
	origin_id           TEXT
);
CREATE INDEX channels_guild ON channels (guild_id);
CREATE UNIQUE INDEX channels_origin ON channels (origin, origin_id) WHERE origin IS NOT NULL;

CREATE TABLE channel_overwrites (
	channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	target_id  INTEGER NOT NULL,
	type       INTEGER NOT NULL,
	allow      INTEGER NOT NULL DEFAULT 0,
	deny       INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (channel_id, target_id)
) WITHOUT ROWID;
-- Deleting a role deletes the overwrites that target it.
CREATE INDEX channel_overwrites_target ON channel_overwrites (target_id);

CREATE TABLE roles (
	id            INTEGER PRIMARY KEY,
	guild_id      INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	name          TEXT    NOT NULL,
	color         INTEGER NOT NULL DEFAULT 0,
	hoist         INTEGER NOT NULL DEFAULT 0,
	icon          TEXT    NOT NULL DEFAULT '',
	unicode_emoji TEXT    NOT NULL DEFAULT '',
	position      INTEGER NOT NULL DEFAULT 0,
	permissions   INTEGER NOT NULL DEFAULT 0,
	managed       INTEGER NOT NULL DEFAULT 0,
	mentionable   INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL
);
-- Unique so that member_roles can require a member's roles to be of the
-- member's guild; it is also the index that lists a guild's roles.
CREATE UNIQUE INDEX roles_guild ON roles (guild_id, id);

CREATE TABLE members (
	guild_id                     INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	user_id                      INTEGER NOT NULL REFERENCES users (id),
	nick                         TEXT    NOT NULL DEFAULT '',
	joined_at                    INTEGER NOT NULL,
	communication_disabled_until INTEGER,
	deaf                         INTEGER NOT NULL DEFAULT 0,
	mute                         INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;
-- A user's guild list.
CREATE INDEX members_user ON members (user_id);

-- Removing the member or deleting the role takes the row with it.
CREATE TABLE member_roles (
	guild_id INTEGER NOT NULL,
	user_id  INTEGER NOT NULL,
	role_id  INTEGER NOT NULL,
	PRIMARY KEY (guild_id, user_id, role_id),
	FOREIGN KEY (guild_id, user_id) REFERENCES members (guild_id, user_id) ON DELETE CASCADE,
	FOREIGN KEY (guild_id, role_id) REFERENCES roles (guild_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
-- Deleting a role finds its holders.
CREATE INDEX member_roles_role ON member_roles (guild_id, role_id);

-- A ban names a user ID without a foreign key: one may ban someone this
-- homeserver has never seen.
CREATE TABLE bans (
	guild_id   INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	user_id    INTEGER NOT NULL,
	reason     TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;

CREATE TABLE invites (
	code       TEXT    PRIMARY KEY,
	guild_id   INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	inviter_id INTEGER,
	max_uses   INTEGER NOT NULL DEFAULT 0,
	uses       INTEGER NOT NULL DEFAULT 0,
	max_age    INTEGER NOT NULL DEFAULT 0,
	temporary  INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	expires_at INTEGER
) WITHOUT ROWID;
CREATE INDEX invites_guild ON invites (guild_id, created_at);
CREATE INDEX invites_channel ON invites (channel_id, created_at);

CREATE TABLE emojis (
	id         INTEGER PRIMARY KEY,
	guild_id   INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	user_id    INTEGER NOT NULL,
	name       TEXT    NOT NULL,
	animated   INTEGER NOT NULL DEFAULT 0,
	hash       TEXT    NOT NULL,
	available  INTEGER NOT NULL DEFAULT 1,
	created_at INTEGER NOT NULL
);
CREATE INDEX emojis_guild ON emojis (guild_id);

-- changes and options are JSON kept as text, byte for byte; NULL when the
-- entry has none.
CREATE TABLE audit_log (
	id          INTEGER PRIMARY KEY,
	guild_id    INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	user_id     INTEGER NOT NULL,
	action_type INTEGER NOT NULL,
	target_id   INTEGER,
	changes     TEXT,
	options     TEXT,
	reason      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_guild ON audit_log (guild_id, id);
