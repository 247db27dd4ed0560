package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// UserSettings implements storage.Reader.
func (r reader) UserSettings(ctx context.Context, userID snowflake.ID) (storage.UserSettingsRow, error) {
	row := storage.UserSettingsRow{UserID: userID}
	var expires sql.NullInt64
	err := r.q.QueryRowContext(ctx, `SELECT settings, custom_status_expires_at FROM user_settings WHERE user_id = $1`,
		int64(userID)).Scan(&row.Settings, &expires)
	if err != nil {
		return storage.UserSettingsRow{}, r.wrap("user settings", err)
	}
	if expires.Valid {
		row.CustomStatusExpiresAt = fromMS(expires.Int64)
	}
	return row, nil
}

// ExpiredCustomStatuses implements storage.Reader.
func (r reader) ExpiredCustomStatuses(ctx context.Context, t time.Time, limit int) ([]snowflake.ID, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT user_id FROM user_settings
		WHERE custom_status_expires_at IS NOT NULL AND custom_status_expires_at <= $1
		ORDER BY custom_status_expires_at, user_id LIMIT $2`, ms(t), limit)
	if err != nil {
		return nil, r.wrap("expired custom statuses", err)
	}
	defer rows.Close()
	var out []snowflake.ID
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, r.wrap("expired custom statuses", err)
		}
		out = append(out, snowflake.ID(id))
	}
	return out, r.wrap("expired custom statuses", rows.Err())
}

// SetUserSettings implements storage.Tx.
func (t *tx) SetUserSettings(ctx context.Context, row storage.UserSettingsRow) error {
	var expires sql.NullInt64
	if !row.CustomStatusExpiresAt.IsZero() {
		expires = sql.NullInt64{Int64: ms(row.CustomStatusExpiresAt), Valid: true}
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO user_settings (user_id, settings, custom_status_expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET settings = excluded.settings,
			custom_status_expires_at = excluded.custom_status_expires_at`,
		int64(row.UserID), row.Settings, expires)
	return t.wrap("set user settings", err)
}
