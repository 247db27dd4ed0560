package sqlstore

import (
	"context"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// UserSessions implements storage.Reader.
func (r reader) UserSessions(ctx context.Context, userID snowflake.ID) ([]storage.Session, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1 ORDER BY last_used DESC, id DESC`, int64(userID))
	if err != nil {
		return nil, r.wrap("user sessions", err)
	}
	defer rows.Close()
	var out []storage.Session
	for rows.Next() {
		var (
			s                          storage.Session
			sid, uid, created, lastUse int64
		)
		if err := rows.Scan(&sid, &uid, &created, &lastUse, &s.Client, &s.Address); err != nil {
			return nil, r.wrap("user sessions", err)
		}
		s.ID, s.UserID = snowflake.ID(sid), snowflake.ID(uid)
		s.CreatedAt, s.LastUsed = fromMS(created), fromMS(lastUse)
		out = append(out, s)
	}
	return out, r.wrap("user sessions", rows.Err())
}

// RecoveryCodesLeft implements storage.Reader.
func (r reader) RecoveryCodesLeft(ctx context.Context, userID snowflake.ID) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1`, int64(userID)).Scan(&n)
	return n, r.wrap("recovery codes left", err)
}

// TouchSession implements storage.Tx.
func (t *tx) TouchSession(ctx context.Context, id snowflake.ID, at time.Time, address string) error {
	res, err := t.q.ExecContext(ctx, `UPDATE sessions SET last_used = $2, address = $3 WHERE id = $1`, int64(id), ms(at), address)
	if err != nil {
		return t.wrap("touch session", err)
	}
	return t.wrap("touch session", mustAffect(res))
}

// CreateLinkCode implements storage.Tx.
func (t *tx) CreateLinkCode(ctx context.Context, hash string, userID snowflake.ID, now, expires time.Time) error {
	// The expired ones go first: codes live minutes, and each new one
	// clears those before it, so the table holds only live codes.
	if _, err := t.q.ExecContext(ctx, `DELETE FROM link_codes WHERE expires_at <= $1`, ms(now)); err != nil {
		return t.wrap("create link code", err)
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO link_codes (code_hash, user_id, expires_at) VALUES ($1, $2, $3)`,
		hash, int64(userID), ms(expires))
	return t.wrap("create link code", err)
}

// TakeLinkCode implements storage.Tx.
func (t *tx) TakeLinkCode(ctx context.Context, hash string, now time.Time) (snowflake.ID, error) {
	var uid, expires int64
	err := t.q.QueryRowContext(ctx, `DELETE FROM link_codes WHERE code_hash = $1 RETURNING user_id, expires_at`, hash).Scan(&uid, &expires)
	if err != nil {
		return 0, t.wrap("take link code", err)
	}
	if !fromMS(expires).After(now) {
		return 0, storage.ErrNotFound
	}
	return snowflake.ID(uid), nil
}

// DeleteLinkCodes implements storage.Tx.
func (t *tx) DeleteLinkCodes(ctx context.Context, userID snowflake.ID) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM link_codes WHERE user_id = $1`, int64(userID))
	return t.wrap("delete link codes", err)
}

// SetRecoveryCodes implements storage.Tx.
func (t *tx) SetRecoveryCodes(ctx context.Context, userID snowflake.ID, hashes []string) error {
	if _, err := t.q.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, int64(userID)); err != nil {
		return t.wrap("set recovery codes", err)
	}
	for _, h := range hashes {
		if _, err := t.q.ExecContext(ctx, `INSERT INTO recovery_codes (code_hash, user_id) VALUES ($1, $2)`, h, int64(userID)); err != nil {
			return t.wrap("set recovery codes", err)
		}
	}
	return nil
}

// TakeRecoveryCode implements storage.Tx.
func (t *tx) TakeRecoveryCode(ctx context.Context, userID snowflake.ID, hash string) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM recovery_codes WHERE code_hash = $1 AND user_id = $2`, hash, int64(userID))
	if err != nil {
		return t.wrap("take recovery code", err)
	}
	return t.wrap("take recovery code", mustAffect(res))
}
