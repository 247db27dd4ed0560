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
	// description, flags, bot_public); ErrNotFound when it does not exist.
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
}
