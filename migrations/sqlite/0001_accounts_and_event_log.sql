-- Accounts, sessions and the per-guild event log.
-- Times are Unix milliseconds; IDs are snowflakes.

CREATE TABLE users (
	id             INTEGER PRIMARY KEY,
	username       TEXT    NOT NULL,
	username_lower TEXT    NOT NULL,
	global_name    TEXT    NOT NULL DEFAULT '',
	avatar         TEXT    NOT NULL DEFAULT '',
	bio            TEXT    NOT NULL DEFAULT '',
	accent_color   INTEGER,
	bot            INTEGER NOT NULL DEFAULT 0,
	password_hash  TEXT    NOT NULL DEFAULT '',
	flags          INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL,
	origin         TEXT,
	origin_id      TEXT
);
-- Local names are unique ignoring case; remote users keep their own names
-- and are unique by where they come from.
CREATE UNIQUE INDEX users_local_username ON users (username_lower) WHERE origin IS NULL;
CREATE UNIQUE INDEX users_origin ON users (origin, origin_id) WHERE origin IS NOT NULL;

CREATE TABLE sessions (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	last_used  INTEGER NOT NULL,
	client     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- log_heads holds the last sequence number of each log; bumping it in the
-- appending transaction is what keeps sequence numbers gapless.
CREATE TABLE log_heads (
	log_id INTEGER PRIMARY KEY,
	seq    INTEGER NOT NULL
);

CREATE TABLE events (
	log_id     INTEGER NOT NULL,
	seq        INTEGER NOT NULL,
	type       TEXT    NOT NULL,
	payload    TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (log_id, seq)
) WITHOUT ROWID;
