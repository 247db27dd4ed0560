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
	id                 BIGINT  PRIMARY KEY,
	name               TEXT    NOT NULL,
	-- name_lower is the name lowered in Go, as on SQLite (whose LOWER folds
	-- only ASCII), so that discovery search ignores case the same way on
	-- both databases.
	name_lower         TEXT    NOT NULL,
	icon               TEXT    NOT NULL DEFAULT '',
	description        TEXT    NOT NULL DEFAULT '',
	owner_id           BIGINT  NOT NULL,
	system_channel_id  BIGINT,
	verification_level INTEGER NOT NULL DEFAULT 0,
	public             BOOLEAN NOT NULL DEFAULT FALSE,
	created_at         BIGINT  NOT NULL,
	origin             TEXT,
	origin_id          TEXT
);
CREATE UNIQUE INDEX guilds_origin ON guilds (origin, origin_id) WHERE origin IS NOT NULL;
-- Discovery pages through public guilds by ID.
CREATE INDEX guilds_public ON guilds (public, id);

CREATE TABLE channels (
	id                  BIGINT  PRIMARY KEY,
	guild_id            BIGINT  NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	type                INTEGER NOT NULL,
	name                TEXT    NOT NULL,
	topic               TEXT    NOT NULL DEFAULT '',
	position            INTEGER NOT NULL DEFAULT 0,
	parent_id           BIGINT,
	nsfw                BOOLEAN NOT NULL DEFAULT FALSE,
	rate_limit_per_user INTEGER NOT NULL DEFAULT 0,
	bitrate             INTEGER NOT NULL DEFAULT 0,
	user_limit          INTEGER NOT NULL DEFAULT 0,
	created_at          BIGINT  NOT NULL,
	origin              TEXT,
	origin_id           TEXT
);
CREATE INDEX channels_guild ON channels (guild_id);
CREATE UNIQUE INDEX channels_origin ON channels (origin, origin_id) WHERE origin IS NOT NULL;

CREATE TABLE channel_overwrites (
	channel_id BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	target_id  BIGINT  NOT NULL,
	type       INTEGER NOT NULL,
	allow      BIGINT  NOT NULL DEFAULT 0,
	deny       BIGINT  NOT NULL DEFAULT 0,
	PRIMARY KEY (channel_id, target_id)
);
-- Deleting a role deletes the overwrites that target it.
CREATE INDEX channel_overwrites_target ON channel_overwrites (target_id);

CREATE TABLE roles (
	id            BIGINT  PRIMARY KEY,
	guild_id      BIGINT  NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	name          TEXT    NOT NULL,
	color         INTEGER NOT NULL DEFAULT 0,
	hoist         BOOLEAN NOT NULL DEFAULT FALSE,
	icon          TEXT    NOT NULL DEFAULT '',
	unicode_emoji TEXT    NOT NULL DEFAULT '',
	position      INTEGER NOT NULL DEFAULT 0,
	permissions   BIGINT  NOT NULL DEFAULT 0,
	managed       BOOLEAN NOT NULL DEFAULT FALSE,
	mentionable   BOOLEAN NOT NULL DEFAULT FALSE,
	created_at    BIGINT  NOT NULL
);
-- Unique so that member_roles can require a member's roles to be of the
-- member's guild; it is also the index that lists a guild's roles.
CREATE UNIQUE INDEX roles_guild ON roles (guild_id, id);

CREATE TABLE members (
	guild_id                     BIGINT  NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	user_id                      BIGINT  NOT NULL REFERENCES users (id),
	nick                         TEXT    NOT NULL DEFAULT '',
	joined_at                    BIGINT  NOT NULL,
	communication_disabled_until BIGINT,
	deaf                         BOOLEAN NOT NULL DEFAULT FALSE,
	mute                         BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (guild_id, user_id)
);
-- A user's guild list.
CREATE INDEX members_user ON members (user_id);

-- Removing the member or deleting the role takes the row with it.
CREATE TABLE member_roles (
	guild_id BIGINT  NOT NULL,
	user_id  BIGINT  NOT NULL,
	role_id  BIGINT  NOT NULL,
	PRIMARY KEY (guild_id, user_id, role_id),
	FOREIGN KEY (guild_id, user_id) REFERENCES members (guild_id, user_id) ON DELETE CASCADE,
	FOREIGN KEY (guild_id, role_id) REFERENCES roles (guild_id, id) ON DELETE CASCADE
);
-- Deleting a role finds its holders.
CREATE INDEX member_roles_role ON member_roles (guild_id, role_id);

-- A ban names a user ID without a foreign key: one may ban someone this
-- homeserver has never seen.
CREATE TABLE bans (
	guild_id   BIGINT  NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	user_id    BIGINT  NOT NULL,
	reason     TEXT    NOT NULL DEFAULT '',
	created_at BIGINT  NOT NULL,
	PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE invites (
	code       TEXT    PRIMARY KEY,
	guild_id   BIGINT  NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	channel_id BIGINT  NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	inviter_id BIGINT,
	max_uses   INTEGER NOT NULL DEFAULT 0,
	uses       INTEGER NOT NULL DEFAULT 0,
	max_age    INTEGER NOT NULL DEFAULT 0,
	temporary  BOOLEAN NOT NULL DEFAULT FALSE,
	created_at BIGINT  NOT NULL,
	expires_at BIGINT
);
CREATE INDEX invites_guild ON invites (guild_id, created_at);
CREATE INDEX invites_channel ON invites (channel_id, created_at);

CREATE TABLE emojis (
	id         BIGINT  PRIMARY KEY,
	guild_id   BIGINT  NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	user_id    BIGINT  NOT NULL,
	name       TEXT    NOT NULL,
	animated   BOOLEAN NOT NULL DEFAULT FALSE,
	hash       TEXT    NOT NULL,
	available  BOOLEAN NOT NULL DEFAULT TRUE,
	created_at BIGINT  NOT NULL
);
CREATE INDEX emojis_guild ON emojis (guild_id);

-- changes and options are JSON kept as text, byte for byte (JSONB would
-- reorder keys and drop whitespace); NULL when the entry has none.
CREATE TABLE audit_log (
	id          BIGINT  PRIMARY KEY,
	guild_id    BIGINT  NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
	user_id     BIGINT  NOT NULL,
	action_type INTEGER NOT NULL,
	target_id   BIGINT,
	changes     TEXT,
	options     TEXT,
	reason      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_guild ON audit_log (guild_id, id);
