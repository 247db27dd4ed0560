package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// UserSettingsRow is a user's stored settings document (Discord's legacy
// user_settings JSON, as the domain validated it) and when its custom
// status ends, if it does.
type UserSettingsRow struct {
	UserID   snowflake.ID
	Settings string
	// CustomStatusExpiresAt is zero when the custom status does not end
	// (or there is none).
	CustomStatusExpiresAt time.Time
}

// ProfileReader reads user settings.
type ProfileReader interface {
	// UserSettings returns a user's settings row, or ErrNotFound for a
	// user who never set any.
	UserSettings(ctx context.Context, userID snowflake.ID) (UserSettingsRow, error)
	// ExpiredCustomStatuses lists up to limit users whose custom status
	// ended at or before t.
	ExpiredCustomStatuses(ctx context.Context, t time.Time, limit int) ([]snowflake.ID, error)
}

// ProfileWriter writes user settings.
type ProfileWriter interface {
	// SetUserSettings writes a user's settings row, replacing it.
	SetUserSettings(ctx context.Context, row UserSettingsRow) error
}
