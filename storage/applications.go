package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// ApplicationReader reads applications.
type ApplicationReader interface {
	// Application returns an application, or ErrNotFound.
	Application(ctx context.Context, id snowflake.ID) (Application, error)
	// UserApplications lists the applications a user owns, by ID.
	UserApplications(ctx context.Context, ownerID snowflake.ID) ([]Application, error)
}

// ApplicationWriter writes applications.
type ApplicationWriter interface {
	// CreateApplication inserts an application; its bot user must exist.
	CreateApplication(ctx context.Context, a Application) error
	// UpdateApplication writes an application's mutable fields (name,
	// description, flags, bot_public, interactions URL); ErrNotFound when
	// it does not exist.
	UpdateApplication(ctx context.Context, a Application) error
}

// Application is a bot account and what its owner says of it. ID is the
// bot user's ID.
type Application struct {
	ID          snowflake.ID
	OwnerID     snowflake.ID
	Name        string
	Description string
	Flags       int64
	// BotPublic lets anyone with MANAGE_GUILD add the bot, not only its
	// owner.
	BotPublic bool
	CreatedAt time.Time
	// InteractionsURL is where the application takes interactions over
	// HTTP; "" for its gateway.
	InteractionsURL string
}

// CommandReader reads application commands and their guild permissions.
type CommandReader interface {
	// ApplicationCommands lists an application's commands of one scope
	// (guildID 0: its global ones), by ID.
	ApplicationCommands(ctx context.Context, appID, guildID snowflake.ID) ([]ApplicationCommand, error)
	// ApplicationCommand returns one command of an application, or
	// ErrNotFound.
	ApplicationCommand(ctx context.Context, appID, id snowflake.ID) (ApplicationCommand, error)
	// GuildCommandIndex lists the commands usable in a guild: its own
	// guild commands and the global commands of the applications whose
	// bot is a member, by application then ID.
	GuildCommandIndex(ctx context.Context, guildID snowflake.ID) ([]ApplicationCommand, error)
	// CommandPermissions lists an application's permission overrides in a
	// guild, by command ID.
	CommandPermissions(ctx context.Context, appID, guildID snowflake.ID) ([]CommandPermissions, error)
}

// CommandWriter writes application commands.
type CommandWriter interface {
	// CreateApplicationCommand inserts a command; ErrConflict when its
	// scope has a command of that type and name.
	CreateApplicationCommand(ctx context.Context, c ApplicationCommand) error
	// UpdateApplicationCommand writes a command's name, version and data;
	// ErrNotFound when the application has no such command, ErrConflict
	// when the new name is taken.
	UpdateApplicationCommand(ctx context.Context, c ApplicationCommand) error
	// DeleteApplicationCommand removes a command and its permission
	// overrides; ErrNotFound when the application has no such command.
	DeleteApplicationCommand(ctx context.Context, appID, id snowflake.ID) error
	// SetCommandPermissions replaces the overrides of one command (or of
	// the whole application, CommandID = ApplicationID) in a guild; an
	// empty Permissions removes them.
	SetCommandPermissions(ctx context.Context, p CommandPermissions) error
}

// ApplicationCommand is a slash or context-menu command. GuildID is 0 for
// a global command. Data is the rest of the command as JSON (its
// description, options, localizations and defaults), as the domain
// validated it.
type ApplicationCommand struct {
	ID            snowflake.ID
	ApplicationID snowflake.ID
	GuildID       snowflake.ID
	Type          int
	Name          string
	Version       snowflake.ID
	Data          []byte
}

// CommandPermissions are a guild's overrides of who may use a command:
// Permissions is the JSON list of Discord's {id, type, permission}.
type CommandPermissions struct {
	ApplicationID snowflake.ID
	GuildID       snowflake.ID
	CommandID     snowflake.ID
	Permissions   []byte
}
