package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// DeviceReader reads what is known of a user's signed-in devices.
type DeviceReader interface {
	// UserSessions lists a user's sessions, the most recently used first.
	UserSessions(ctx context.Context, userID snowflake.ID) ([]Session, error)
	// RecoveryCodesLeft counts a user's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, userID snowflake.ID) (int, error)
}

// DeviceWriter keeps sessions' use, link codes and recovery codes. Codes
// are handed in and looked up as their hashes; the codes themselves are
// never stored.
type DeviceWriter interface {
	// TouchSession records when, and from which address, a session was
	// last used; ErrNotFound when it does not exist.
	TouchSession(ctx context.Context, id snowflake.ID, at time.Time, address string) error
	// CreateLinkCode records a one-time code that signs a new device in
	// to userID until expires, and forgets the codes expired at now.
	CreateLinkCode(ctx context.Context, hash string, userID snowflake.ID, now, expires time.Time) error
	// TakeLinkCode uses up a link code that has not expired at now and
	// returns its user; ErrNotFound for a code unknown, used or expired.
	TakeLinkCode(ctx context.Context, hash string, now time.Time) (snowflake.ID, error)
	// DeleteLinkCodes forgets every link code of a user.
	DeleteLinkCodes(ctx context.Context, userID snowflake.ID) error
	// SetRecoveryCodes replaces a user's recovery codes.
	SetRecoveryCodes(ctx context.Context, userID snowflake.ID, hashes []string) error
	// TakeRecoveryCode uses up one of a user's recovery codes; ErrNotFound
	// when the user has no such code.
	TakeRecoveryCode(ctx context.Context, userID snowflake.ID, hash string) error
}
