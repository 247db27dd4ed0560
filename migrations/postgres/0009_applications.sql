-- Applications: a bot account and what its owner says of it. Its ID is its
-- bot user's, as on Discord.
CREATE TABLE applications (
	id          BIGINT PRIMARY KEY REFERENCES users (id),
	owner_id    BIGINT NOT NULL REFERENCES users (id),
	name        TEXT    NOT NULL,
	description TEXT    NOT NULL DEFAULT '',
	-- Discord's application flags; the privileged intents the bot may ask
	-- for are among them.
	flags       BIGINT NOT NULL DEFAULT 0,
	bot_public  BOOLEAN NOT NULL DEFAULT TRUE,
	created_at  BIGINT NOT NULL
);
CREATE INDEX applications_owner ON applications (owner_id, id);
