-- Application commands: slash commands and context-menu commands an
-- application registers, globally (guild_id 0) or for one guild. The
-- fields the server looks up by are columns; the rest of the command as
-- Discord shapes it (description, options, localizations, permissions
-- defaults) is kept as the JSON the application sent, after validation.
CREATE TABLE application_commands (
	id             INTEGER PRIMARY KEY,
	application_id INTEGER NOT NULL REFERENCES applications (id),
	-- 0 for a global command; not a foreign key, so that a guild's
	-- deletion leaves nothing to cascade and a stale row finds no guild.
	guild_id       INTEGER NOT NULL DEFAULT 0,
	type           INTEGER NOT NULL,
	name           TEXT    NOT NULL,
	version        INTEGER NOT NULL,
	data           TEXT    NOT NULL
);
-- Discord's rule: one command of a type and name per scope.
CREATE UNIQUE INDEX application_commands_name ON application_commands (application_id, guild_id, type, name);
CREATE INDEX application_commands_guild ON application_commands (guild_id, application_id);

-- A guild's overrides of who may use an application's commands: per
-- command, or for the whole application (command_id = application_id),
-- as Discord's guild application command permissions.
CREATE TABLE application_command_permissions (
	application_id INTEGER NOT NULL REFERENCES applications (id),
	guild_id       INTEGER NOT NULL,
	command_id     INTEGER NOT NULL,
	-- the JSON list of {id, type, permission}
	permissions    TEXT    NOT NULL,
	PRIMARY KEY (guild_id, application_id, command_id)
);

-- Where an application takes its interactions over HTTP instead of its
-- gateway ('' for none), as Discord's interactions endpoint URL.
ALTER TABLE applications ADD COLUMN interactions_endpoint_url TEXT NOT NULL DEFAULT '';
