-- Files of interactions that belong to no message of a channel: a
-- command's attachment options (uploaded by the person with the
-- interaction) and the files of ephemeral answers. They are served at
-- /attachments/{channel}/{id}/{filename} like a message's, and go with
-- their interaction when its token's life ends.
CREATE TABLE interaction_files (
	id             BIGINT  PRIMARY KEY,
	interaction_id BIGINT  NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
	channel_id     BIGINT  NOT NULL,
	filename       TEXT    NOT NULL,
	description    TEXT    NOT NULL DEFAULT '',
	content_type   TEXT    NOT NULL DEFAULT '',
	size           BIGINT  NOT NULL DEFAULT 0,
	hash           TEXT    NOT NULL,
	width          INTEGER NOT NULL DEFAULT 0,
	height         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX interaction_files_interaction ON interaction_files (interaction_id);

-- The application whose interactions a webhook serves (application-owned
-- webhooks, Discord's type 3); 0 for an incoming webhook made by a person.
ALTER TABLE webhooks ADD COLUMN application_id BIGINT NOT NULL DEFAULT 0;
