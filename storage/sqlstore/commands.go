package sqlstore

import (
	"context"

	"hearth/snowflake"
	"hearth/storage"
)

const commandColumns = `id, application_id, guild_id, type, name, version, data`

func scanCommand(row scanner) (storage.ApplicationCommand, error) {
	var c storage.ApplicationCommand
	var id, app, guild, version int64
	var data string
	err := row.Scan(&id, &app, &guild, &c.Type, &c.Name, &version, &data)
	c.ID, c.ApplicationID, c.GuildID, c.Version, c.Data = snowflake.ID(id), snowflake.ID(app), snowflake.ID(guild), snowflake.ID(version), []byte(data)
	return c, err
}

// ApplicationCommands implements storage.Reader.
func (r reader) ApplicationCommands(ctx context.Context, appID, guildID snowflake.ID) ([]storage.ApplicationCommand, error) {
	return queryAll(ctx, r, "application commands", scanCommand,
		`SELECT `+commandColumns+` FROM application_commands WHERE application_id = $1 AND guild_id = $2 ORDER BY id`,
		int64(appID), int64(guildID))
}

// ApplicationCommand implements storage.Reader.
func (r reader) ApplicationCommand(ctx context.Context, appID, id snowflake.ID) (storage.ApplicationCommand, error) {
	c, err := scanCommand(r.q.QueryRowContext(ctx, `SELECT `+commandColumns+` FROM application_commands
		WHERE id = $1 AND application_id = $2`, int64(id), int64(appID)))
	return c, r.wrap("application command", err)
}

// GuildCommandIndex implements storage.Reader.
func (r reader) GuildCommandIndex(ctx context.Context, guildID snowflake.ID) ([]storage.ApplicationCommand, error) {
	return queryAll(ctx, r, "guild command index", scanCommand,
		`SELECT `+commandColumns+` FROM application_commands c
		WHERE c.application_id IN (SELECT m.user_id FROM members m WHERE m.guild_id = $1)
		AND (c.guild_id = $1 OR c.guild_id = 0)
		ORDER BY c.application_id, c.id`, int64(guildID))
}

// CommandPermissions implements storage.Reader.
func (r reader) CommandPermissions(ctx context.Context, appID, guildID snowflake.ID) ([]storage.CommandPermissions, error) {
	return queryAll(ctx, r, "command permissions", func(row scanner) (storage.CommandPermissions, error) {
		var p storage.CommandPermissions
		var app, guild, cmd int64
		var perms string
		err := row.Scan(&app, &guild, &cmd, &perms)
		p.ApplicationID, p.GuildID, p.CommandID, p.Permissions = snowflake.ID(app), snowflake.ID(guild), snowflake.ID(cmd), []byte(perms)
		return p, err
	}, `SELECT application_id, guild_id, command_id, permissions FROM application_command_permissions
		WHERE application_id = $1 AND guild_id = $2 ORDER BY command_id`, int64(appID), int64(guildID))
}

// CreateApplicationCommand implements storage.Tx.
func (t *tx) CreateApplicationCommand(ctx context.Context, c storage.ApplicationCommand) error {
	return t.exec(ctx, "create application command", `INSERT INTO application_commands (`+commandColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		int64(c.ID), int64(c.ApplicationID), int64(c.GuildID), c.Type, c.Name, int64(c.Version), string(c.Data))
}

// UpdateApplicationCommand implements storage.Tx.
func (t *tx) UpdateApplicationCommand(ctx context.Context, c storage.ApplicationCommand) error {
	return t.execOne(ctx, "update application command", `UPDATE application_commands SET name = $3, version = $4, data = $5
		WHERE id = $1 AND application_id = $2`, int64(c.ID), int64(c.ApplicationID), c.Name, int64(c.Version), string(c.Data))
}

// DeleteApplicationCommand implements storage.Tx.
func (t *tx) DeleteApplicationCommand(ctx context.Context, appID, id snowflake.ID) error {
	if err := t.exec(ctx, "delete command permissions", `DELETE FROM application_command_permissions
		WHERE application_id = $1 AND command_id = $2`, int64(appID), int64(id)); err != nil {
		return err
	}
	return t.execOne(ctx, "delete application command", `DELETE FROM application_commands
		WHERE id = $1 AND application_id = $2`, int64(id), int64(appID))
}

// SetCommandPermissions implements storage.Tx.
func (t *tx) SetCommandPermissions(ctx context.Context, p storage.CommandPermissions) error {
	if err := t.exec(ctx, "clear command permissions", `DELETE FROM application_command_permissions
		WHERE guild_id = $1 AND application_id = $2 AND command_id = $3`,
		int64(p.GuildID), int64(p.ApplicationID), int64(p.CommandID)); err != nil {
		return err
	}
	if len(p.Permissions) == 0 {
		return nil
	}
	return t.exec(ctx, "set command permissions", `INSERT INTO application_command_permissions
		(application_id, guild_id, command_id, permissions) VALUES ($1, $2, $3, $4)`,
		int64(p.ApplicationID), int64(p.GuildID), int64(p.CommandID), string(p.Permissions))
}
