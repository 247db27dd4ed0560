-- Applications: a bot account and what its owner says of it. Its ID is its
-- bot user's, as on Discord.
CREATE TABLE applications (
	id          INTEGER PRIMARY KEY REFERENCES users (id),
	owner_id    INTEGER NOT NULL REFERENCES users (id),
	name        TEXT    NOT NULL,
	description TEXT    NOT NULL DEFAULT '',
	-- Discord's application flags; the privileged intents the bot may ask
	-- for are among them.
	flags       INTEGER NOT NULL DEFAULT 0,
	bot_public  INTEGER NOT NULL DEFAULT 1,
	created_at  INTEGER NOT NULL
);
CREATE INDEX applications_owner ON applications (owner_id, id);
