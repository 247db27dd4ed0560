-- A user's DM policy (issue 13): with friends_only set, only friends may
-- open or send in a one-to-one DM with them (Hearth's "dm_friends_only"
-- of PATCH /users/@me/settings). A user without a row has the default:
-- anyone may.
CREATE TABLE dm_settings (
	user_id      INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	friends_only INTEGER NOT NULL DEFAULT 0
);
