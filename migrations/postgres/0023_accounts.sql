-- Closed accounts (issue 13): an account deleted by its owner, deactivated
-- by the operator, or disabled by its owner. A deleted or deactivated
-- account's row stays (its messages keep their author) but is anonymised
-- as Discord shows a deleted user, and its name is freed; the row here
-- records why, and tells a running server (which polls it by closed_at)
-- to close the account's gateway connections when another process closed
-- it. A disabled account keeps its profile and is opened again by signing
-- in (Discord's behaviour).
CREATE TABLE closed_accounts (
	user_id   BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	state     TEXT    NOT NULL CHECK (state IN ('deleted', 'deactivated', 'disabled')),
	closed_at BIGINT NOT NULL
);
CREATE INDEX closed_accounts_at ON closed_accounts (closed_at);

-- Registration tokens: with --registration invite, an account is made only
-- with one. Only the SHA-256 of a token is kept; it is shown once, when
-- made. uses_allowed 0 means any number of uses; expires_at 0 means never.
CREATE TABLE registration_tokens (
	id           BIGINT PRIMARY KEY,
	token_hash   TEXT    NOT NULL UNIQUE,
	uses_allowed BIGINT NOT NULL,
	uses         BIGINT NOT NULL DEFAULT 0,
	expires_at   BIGINT NOT NULL,
	created_at   BIGINT NOT NULL,
	-- 0: the operator, at the command line.
	created_by   BIGINT NOT NULL
);

-- Guilds the operator deleted from the command line. A running server
-- polls this by deleted_at to hand the guild's GUILD_DELETE to its gateway
-- and wake delivery to the guild's peers, since the command line's own
-- process has neither.
CREATE TABLE operator_guild_deletions (
	guild_id   BIGINT PRIMARY KEY,
	deleted_at BIGINT NOT NULL
);
CREATE INDEX operator_guild_deletions_at ON operator_guild_deletions (deleted_at);

-- Reports of a message or a user, by a user of this server. A message's
-- report is listed to the moderators of its guild here (guild_id; 0 for
-- a DM) and to the instance administrators; a user's to the
-- administrators. content keeps the message as it was reported.
CREATE TABLE reports (
	id             BIGINT PRIMARY KEY,
	kind           TEXT    NOT NULL CHECK (kind IN ('message', 'user')),
	reporter_id    BIGINT NOT NULL,
	guild_id       BIGINT NOT NULL,
	channel_id     BIGINT NOT NULL,
	message_id     BIGINT NOT NULL,
	target_user_id BIGINT NOT NULL,
	reason         TEXT    NOT NULL,
	content        TEXT    NOT NULL,
	created_at     BIGINT NOT NULL,
	-- 0 while open.
	resolved_at    BIGINT NOT NULL DEFAULT 0,
	resolved_by    BIGINT NOT NULL DEFAULT 0,
	resolution     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX reports_guild ON reports (guild_id, id);

-- Email (--smtp-url): an account's confirmed address, and the single-use
-- links mailed to confirm an address or reset a forgotten password (only
-- their SHA-256 is kept).
CREATE TABLE user_emails (
	user_id     BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	email       TEXT    NOT NULL,
	email_lower TEXT    NOT NULL UNIQUE,
	verified_at BIGINT NOT NULL
);
CREATE TABLE email_tokens (
	token_hash TEXT    PRIMARY KEY,
	user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose    TEXT    NOT NULL CHECK (purpose IN ('confirm', 'reset')),
	email      TEXT    NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT NOT NULL DEFAULT 0
);
