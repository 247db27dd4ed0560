-- Interactions: a person's use of an application (a command, a component,
-- autocomplete, a modal submit) while the application may answer it. The
-- row is the one place that decides whether an answer is the first, in
-- time, or late, so that several processes on one database agree.
CREATE TABLE interactions (
	id             INTEGER PRIMARY KEY,
	application_id INTEGER NOT NULL REFERENCES applications (id),
	-- SHA-256 of the token, hex: the token itself is not kept.
	token_hash     TEXT    NOT NULL,
	type           INTEGER NOT NULL,
	user_id        INTEGER NOT NULL REFERENCES users (id),
	guild_id       INTEGER NOT NULL DEFAULT 0,
	channel_id     INTEGER NOT NULL,
	-- the message whose component was used (type 3), else 0
	message_id     INTEGER NOT NULL DEFAULT 0,
	-- 0 waiting for the application, 1 answered, 2 failed (no answer)
	state          INTEGER NOT NULL DEFAULT 0,
	response_type  INTEGER NOT NULL DEFAULT 0,
	-- the response message, once there is one
	original_id    INTEGER NOT NULL DEFAULT 0,
	-- what the domain keeps of it (nonce, session, the modal it opened)
	data           TEXT    NOT NULL,
	created_at     INTEGER NOT NULL
);
CREATE INDEX interactions_created ON interactions (created_at);

-- Ephemeral messages of interactions: seen only by the person who
-- invoked, so never in a channel's history; kept while the interaction's
-- token lives, for its edits.
CREATE TABLE interaction_messages (
	id             INTEGER PRIMARY KEY,
	interaction_id INTEGER NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
	data           TEXT    NOT NULL
);
CREATE INDEX interaction_messages_interaction ON interaction_messages (interaction_id);

-- What a message of an application carries beyond a person's message:
-- its components, and the interaction it answers.
CREATE TABLE message_components (
	message_id  INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
	components  TEXT    NOT NULL,
	interaction TEXT
);
