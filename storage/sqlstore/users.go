package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"hearth/snowflake"
	"hearth/storage"
)

const userColumns = `id, username, global_name, avatar, bio, accent_color, bot, password_hash, flags, created_at, origin, origin_id, banner, pronouns`

func scanUser(row interface{ Scan(...any) error }) (storage.User, error) {
	var (
		u              storage.User
		id, created    int64
		accent         sql.NullInt64
		origin, origID sql.NullString
	)
	err := row.Scan(&id, &u.Username, &u.GlobalName, &u.Avatar, &u.Bio, &accent, &u.Bot,
		&u.PasswordHash, &u.Flags, &created, &origin, &origID, &u.Banner, &u.Pronouns)
	if err != nil {
		return storage.User{}, err
	}
	u.ID = snowflake.ID(id)
	u.CreatedAt = fromMS(created)
	if accent.Valid {
		v := int(accent.Int64)
		u.AccentColor = &v
	}
	u.Origin, u.OriginID = origin.String, origID.String
	return u, nil
}

func accentArg(v *int) sql.NullInt64 {
	if v == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*v), Valid: true}
}

// UserByID implements storage.Reader.
func (r reader) UserByID(ctx context.Context, id snowflake.ID) (storage.User, error) {
	u, err := scanUser(r.q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, int64(id)))
	return u, r.wrap("user by id", err)
}

// UserByUsername implements storage.Reader.
func (r reader) UserByUsername(ctx context.Context, username string) (storage.User, error) {
	u, err := scanUser(r.q.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE username_lower = $1 AND origin IS NULL`, strings.ToLower(username)))
	return u, r.wrap("user by username", err)
}

// CreateUser implements storage.Tx.
func (t *tx) CreateUser(ctx context.Context, u storage.User) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO users (`+userColumns+`, username_lower)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		int64(u.ID), u.Username, u.GlobalName, u.Avatar, u.Bio, accentArg(u.AccentColor), u.Bot,
		u.PasswordHash, u.Flags, ms(u.CreatedAt), nullString(u.Origin), nullString(u.OriginID),
		u.Banner, u.Pronouns, strings.ToLower(u.Username))
	return t.wrap("create user", err)
}

// UpdateUser implements storage.Tx.
func (t *tx) UpdateUser(ctx context.Context, u storage.User) error {
	res, err := t.q.ExecContext(ctx, `UPDATE users SET username = $2, username_lower = $3, global_name = $4,
		avatar = $5, bio = $6, accent_color = $7, password_hash = $8, flags = $9, banner = $10, pronouns = $11
		WHERE id = $1`,
		int64(u.ID), u.Username, strings.ToLower(u.Username), u.GlobalName, u.Avatar, u.Bio,
		accentArg(u.AccentColor), u.PasswordHash, u.Flags, u.Banner, u.Pronouns)
	if err != nil {
		return t.wrap("update user", err)
	}
	return t.wrap("update user", mustAffect(res))
}

// mustAffect turns an UPDATE or DELETE that matched nothing into
// sql.ErrNoRows, which wrap reports as storage.ErrNotFound.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}

const sessionColumns = `id, user_id, created_at, last_used, client, address`

// SessionByID implements storage.Reader.
func (r reader) SessionByID(ctx context.Context, id snowflake.ID) (storage.Session, error) {
	var (
		s                          storage.Session
		sid, uid, created, lastUse int64
	)
	err := r.q.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, int64(id)).
		Scan(&sid, &uid, &created, &lastUse, &s.Client, &s.Address)
	if err != nil {
		return storage.Session{}, r.wrap("session by id", err)
	}
	s.ID, s.UserID = snowflake.ID(sid), snowflake.ID(uid)
	s.CreatedAt, s.LastUsed = fromMS(created), fromMS(lastUse)
	return s, nil
}

// CreateSession implements storage.Tx.
func (t *tx) CreateSession(ctx context.Context, s storage.Session) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		int64(s.ID), int64(s.UserID), ms(s.CreatedAt), ms(s.LastUsed), s.Client, s.Address)
	return t.wrap("create session", err)
}

// DeleteSession implements storage.Tx.
func (t *tx) DeleteSession(ctx context.Context, id snowflake.ID) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, int64(id))
	if err != nil {
		return t.wrap("delete session", err)
	}
	return t.wrap("delete session", mustAffect(res))
}

// DeleteUserSessions implements storage.Tx.
func (t *tx) DeleteUserSessions(ctx context.Context, userID, keep snowflake.ID) ([]snowflake.ID, error) {
	rows, err := t.q.QueryContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id`,
		int64(userID), int64(keep))
	if err != nil {
		return nil, t.wrap("delete user sessions", err)
	}
	defer rows.Close()
	var ids []snowflake.ID
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, t.wrap("delete user sessions", err)
		}
		ids = append(ids, snowflake.ID(id))
	}
	return ids, t.wrap("delete user sessions", rows.Err())
}
