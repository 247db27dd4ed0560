-- Profiles and settings (issue 13). A user's banner (the hash of the
-- image, as avatar) and pronouns; their badges are bits of users.flags
-- (public_flags). user_settings holds Discord's legacy user settings
-- document as the user last set it; custom_status_expires_at repeats the
-- custom status's end (unix ms) so that a sweep finds the ones to clear.
ALTER TABLE users ADD COLUMN banner TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN pronouns TEXT NOT NULL DEFAULT '';

CREATE TABLE user_settings (
	user_id                  INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	settings                 TEXT    NOT NULL,
	custom_status_expires_at INTEGER
);
CREATE INDEX user_settings_expiry ON user_settings (custom_status_expires_at)
	WHERE custom_status_expires_at IS NOT NULL;
