-- Devices and recovery (issue 13): where each session was last used from,
-- for the user's list of their signed-in devices; one-time codes with which
-- a signed-in device signs a new one in; and recovery codes, which get a
-- person back into an account whose password is lost. Codes are kept only
-- as their SHA-256: they are random and long enough that the hash alone
-- gives nothing away.
ALTER TABLE sessions ADD COLUMN address TEXT NOT NULL DEFAULT '';

CREATE TABLE link_codes (
	code_hash  TEXT    PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	expires_at INTEGER NOT NULL
);
CREATE INDEX link_codes_expiry ON link_codes (expires_at);

CREATE TABLE recovery_codes (
	code_hash TEXT    PRIMARY KEY,
	user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
