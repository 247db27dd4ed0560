package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// The states of a closed account (ClosedAccount.State).
const (
	// AccountDeleted: its owner deleted it.
	AccountDeleted = "deleted"
	// AccountDeactivated: the operator closed it.
	AccountDeactivated = "deactivated"
	// AccountDisabled: its owner disabled it; signing in opens it again.
	AccountDisabled = "disabled"
)

// ClosedAccount records that an account was closed, how and when.
type ClosedAccount struct {
	UserID   snowflake.ID
	State    string
	ClosedAt time.Time
}

// AccountReader reads closed accounts.
type AccountReader interface {
	// ClosedAccount is the closing of an account; ErrNotFound when the
	// account is open.
	ClosedAccount(ctx context.Context, userID snowflake.ID) (ClosedAccount, error)
	// ClosedSince lists the accounts closed at or after since, oldest
	// first, at most limit.
	ClosedSince(ctx context.Context, since time.Time, limit int) ([]ClosedAccount, error)
	// KnownServers lists, by name, the other servers whose users this
	// homeserver has seen: those that may know its own users.
	KnownServers(ctx context.Context) ([]string, error)
	// UserMessages lists, oldest first, the messages an author sent
	// anywhere (guilds, threads, DMs) with an ID above after, at most
	// limit, with their attachments.
	UserMessages(ctx context.Context, authorID, after snowflake.ID, limit int) ([]Message, error)
}

// AccountWriter closes and reopens accounts.
type AccountWriter interface {
	// CloseAccount records a closing, replacing any earlier one.
	CloseAccount(ctx context.Context, c ClosedAccount) error
	// ReopenAccount forgets a closing; ErrNotFound when there is none.
	ReopenAccount(ctx context.Context, userID snowflake.ID) error
}
