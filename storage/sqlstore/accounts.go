package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// ClosedAccount implements storage.Reader.
func (r reader) ClosedAccount(ctx context.Context, userID snowflake.ID) (storage.ClosedAccount, error) {
	c := storage.ClosedAccount{UserID: userID}
	var at int64
	err := r.q.QueryRowContext(ctx, `SELECT state, closed_at FROM closed_accounts WHERE user_id = $1`, int64(userID)).Scan(&c.State, &at)
	c.ClosedAt = fromMS(at)
	return c, r.wrap("closed account", err)
}

// ClosedSince implements storage.Reader.
func (r reader) ClosedSince(ctx context.Context, since time.Time, limit int) ([]storage.ClosedAccount, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT user_id, state, closed_at FROM closed_accounts
		WHERE closed_at >= $1 ORDER BY closed_at, user_id LIMIT $2`, ms(since), limit)
	if err != nil {
		return nil, r.wrap("closed since", err)
	}
	defer rows.Close()
	var out []storage.ClosedAccount
	for rows.Next() {
		var id, at int64
		var c storage.ClosedAccount
		if err := rows.Scan(&id, &c.State, &at); err != nil {
			return nil, r.wrap("closed since", err)
		}
		c.UserID, c.ClosedAt = snowflake.ID(id), fromMS(at)
		out = append(out, c)
	}
	return out, r.wrap("closed since", rows.Err())
}

// KnownServers implements storage.Reader.
func (r reader) KnownServers(ctx context.Context) ([]string, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT DISTINCT origin FROM users WHERE origin IS NOT NULL ORDER BY origin`)
	if err != nil {
		return nil, r.wrap("known servers", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, r.wrap("known servers", err)
		}
		out = append(out, s)
	}
	return out, r.wrap("known servers", rows.Err())
}

// CloseAccount implements storage.Tx.
func (t *tx) CloseAccount(ctx context.Context, c storage.ClosedAccount) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO closed_accounts (user_id, state, closed_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, closed_at = excluded.closed_at`,
		int64(c.UserID), c.State, ms(c.ClosedAt))
	return t.wrap("close account", err)
}

// ReopenAccount implements storage.Tx.
func (t *tx) ReopenAccount(ctx context.Context, userID snowflake.ID) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM closed_accounts WHERE user_id = $1`, int64(userID))
	if err != nil {
		return t.wrap("reopen account", err)
	}
	return t.wrap("reopen account", mustAffect(res))
}

// UserMessages implements storage.Reader.
func (r reader) UserMessages(ctx context.Context, authorID, after snowflake.ID, limit int) ([]storage.Message, error) {
	return r.queryMessages(ctx, "user messages", `SELECT `+messageColumns+` FROM messages m
		WHERE m.author_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3`, int64(authorID), int64(after), limit)
}

// msOrZero stores a zero time as 0.
func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

// RegistrationTokens implements storage.Reader.
func (r reader) RegistrationTokens(ctx context.Context) ([]storage.RegistrationToken, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT id, token_hash, uses_allowed, uses, expires_at, created_at, created_by
		FROM registration_tokens ORDER BY id`)
	if err != nil {
		return nil, r.wrap("registration tokens", err)
	}
	defer rows.Close()
	var out []storage.RegistrationToken
	for rows.Next() {
		var id, expires, created, by int64
		var t storage.RegistrationToken
		if err := rows.Scan(&id, &t.Hash, &t.UsesAllowed, &t.Uses, &expires, &created, &by); err != nil {
			return nil, r.wrap("registration tokens", err)
		}
		t.ID, t.CreatedAt, t.CreatedBy = snowflake.ID(id), fromMS(created), snowflake.ID(by)
		if expires != 0 {
			t.ExpiresAt = fromMS(expires)
		}
		out = append(out, t)
	}
	return out, r.wrap("registration tokens", rows.Err())
}

// CreateRegistrationToken implements storage.Tx.
func (t *tx) CreateRegistrationToken(ctx context.Context, rt storage.RegistrationToken) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO registration_tokens
		(id, token_hash, uses_allowed, uses, expires_at, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		int64(rt.ID), rt.Hash, rt.UsesAllowed, rt.Uses, msOrZero(rt.ExpiresAt), ms(rt.CreatedAt), int64(rt.CreatedBy))
	return t.wrap("create registration token", err)
}

// UseRegistrationToken implements storage.Tx. One UPDATE checks and counts,
// so that two registrations cannot both take a token's last use.
func (t *tx) UseRegistrationToken(ctx context.Context, hash string, now time.Time) error {
	res, err := t.q.ExecContext(ctx, `UPDATE registration_tokens SET uses = uses + 1
		WHERE token_hash = $1 AND (uses_allowed = 0 OR uses < uses_allowed) AND (expires_at = 0 OR expires_at > $2)`,
		hash, ms(now))
	if err != nil {
		return t.wrap("use registration token", err)
	}
	return t.wrap("use registration token", mustAffect(res))
}

// DeleteRegistrationToken implements storage.Tx.
func (t *tx) DeleteRegistrationToken(ctx context.Context, id snowflake.ID) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM registration_tokens WHERE id = $1`, int64(id))
	if err != nil {
		return t.wrap("delete registration token", err)
	}
	return t.wrap("delete registration token", mustAffect(res))
}

// LocalGuilds implements storage.Reader.
func (r reader) LocalGuilds(ctx context.Context) ([]storage.Guild, error) {
	return queryAll(ctx, r, "local guilds", scanGuild, `SELECT `+guildColumns+` FROM guilds WHERE origin IS NULL ORDER BY id`)
}

// GuildDeletionsSince implements storage.Reader.
func (r reader) GuildDeletionsSince(ctx context.Context, since time.Time, limit int) ([]storage.GuildDeletion, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT guild_id, deleted_at FROM operator_guild_deletions
		WHERE deleted_at >= $1 ORDER BY deleted_at, guild_id LIMIT $2`, ms(since), limit)
	if err != nil {
		return nil, r.wrap("guild deletions since", err)
	}
	defer rows.Close()
	var out []storage.GuildDeletion
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, r.wrap("guild deletions since", err)
		}
		out = append(out, storage.GuildDeletion{GuildID: snowflake.ID(id), DeletedAt: fromMS(at)})
	}
	return out, r.wrap("guild deletions since", rows.Err())
}

// RecordGuildDeletion implements storage.Tx.
func (t *tx) RecordGuildDeletion(ctx context.Context, d storage.GuildDeletion) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO operator_guild_deletions (guild_id, deleted_at) VALUES ($1, $2)
		ON CONFLICT (guild_id) DO UPDATE SET deleted_at = excluded.deleted_at`, int64(d.GuildID), ms(d.DeletedAt))
	return t.wrap("record guild deletion", err)
}

const reportColumns = `id, kind, reporter_id, guild_id, channel_id, message_id, target_user_id, reason, content,
	created_at, resolved_at, resolved_by, resolution`

func scanReport(row scanner) (storage.Report, error) {
	var (
		r                                      storage.Report
		id, reporter, guild, channel, msg, tgt int64
		created, resolved, by                  int64
	)
	err := row.Scan(&id, &r.Kind, &reporter, &guild, &channel, &msg, &tgt, &r.Reason, &r.Content, &created, &resolved, &by, &r.Resolution)
	if err != nil {
		return storage.Report{}, err
	}
	r.ID, r.ReporterID, r.GuildID, r.ChannelID, r.MessageID, r.TargetUserID = snowflake.ID(id), snowflake.ID(reporter),
		snowflake.ID(guild), snowflake.ID(channel), snowflake.ID(msg), snowflake.ID(tgt)
	r.CreatedAt, r.ResolvedBy = fromMS(created), snowflake.ID(by)
	if resolved != 0 {
		r.ResolvedAt = fromMS(resolved)
	}
	return r, nil
}

// Reports implements storage.Reader.
func (r reader) Reports(ctx context.Context, q storage.ReportQuery) ([]storage.Report, error) {
	where, args := []string{"1 = 1"}, []any{}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.GuildID != 0 {
		where = append(where, "guild_id = "+arg(int64(q.GuildID)))
	}
	if q.Open {
		where = append(where, "resolved_at = 0")
	}
	if q.Before != 0 {
		where = append(where, "id < "+arg(int64(q.Before)))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	return queryAll(ctx, r, "reports", scanReport, `SELECT `+reportColumns+` FROM reports WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT `+arg(limit), args...)
}

// ReportByID implements storage.Reader.
func (r reader) ReportByID(ctx context.Context, id snowflake.ID) (storage.Report, error) {
	rep, err := scanReport(r.q.QueryRowContext(ctx, `SELECT `+reportColumns+` FROM reports WHERE id = $1`, int64(id)))
	return rep, r.wrap("report", err)
}

// CreateReport implements storage.Tx.
func (t *tx) CreateReport(ctx context.Context, r storage.Report) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO reports (id, kind, reporter_id, guild_id, channel_id, message_id,
		target_user_id, reason, content, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		int64(r.ID), r.Kind, int64(r.ReporterID), int64(r.GuildID), int64(r.ChannelID), int64(r.MessageID),
		int64(r.TargetUserID), r.Reason, r.Content, ms(r.CreatedAt))
	return t.wrap("create report", err)
}

// ResolveReport implements storage.Tx.
func (t *tx) ResolveReport(ctx context.Context, id, by snowflake.ID, at time.Time, resolution string) error {
	res, err := t.q.ExecContext(ctx, `UPDATE reports SET resolved_at = $2, resolved_by = $3, resolution = $4 WHERE id = $1`,
		int64(id), ms(at), int64(by), resolution)
	if err != nil {
		return t.wrap("resolve report", err)
	}
	return t.wrap("resolve report", mustAffect(res))
}

// UserEmail implements storage.Reader.
func (r reader) UserEmail(ctx context.Context, userID snowflake.ID) (storage.UserEmail, error) {
	e := storage.UserEmail{UserID: userID}
	var at int64
	err := r.q.QueryRowContext(ctx, `SELECT email, verified_at FROM user_emails WHERE user_id = $1`, int64(userID)).Scan(&e.Email, &at)
	e.VerifiedAt = fromMS(at)
	return e, r.wrap("user email", err)
}

// UserByEmail implements storage.Reader.
func (r reader) UserByEmail(ctx context.Context, email string) (snowflake.ID, error) {
	var id int64
	err := r.q.QueryRowContext(ctx, `SELECT user_id FROM user_emails WHERE email_lower = $1`, strings.ToLower(email)).Scan(&id)
	return snowflake.ID(id), r.wrap("user by email", err)
}

// SetUserEmail implements storage.Tx.
func (t *tx) SetUserEmail(ctx context.Context, e storage.UserEmail) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO user_emails (user_id, email, email_lower, verified_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, email_lower = excluded.email_lower, verified_at = excluded.verified_at`,
		int64(e.UserID), e.Email, strings.ToLower(e.Email), ms(e.VerifiedAt))
	return t.wrap("set user email", err)
}

// CreateEmailToken implements storage.Tx.
func (t *tx) CreateEmailToken(ctx context.Context, et storage.EmailToken) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO email_tokens (token_hash, user_id, purpose, email, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		et.Hash, int64(et.UserID), et.Purpose, et.Email, ms(et.ExpiresAt))
	return t.wrap("create email token", err)
}

// UseEmailToken implements storage.Tx. One UPDATE checks and uses it, so a
// link works once however many times it is followed at once.
func (t *tx) UseEmailToken(ctx context.Context, hash, purpose string, now time.Time) (storage.EmailToken, error) {
	res, err := t.q.ExecContext(ctx, `UPDATE email_tokens SET used_at = $3
		WHERE token_hash = $1 AND purpose = $2 AND used_at = 0 AND expires_at > $3`, hash, purpose, ms(now))
	if err != nil {
		return storage.EmailToken{}, t.wrap("use email token", err)
	}
	if err := mustAffect(res); err != nil {
		return storage.EmailToken{}, t.wrap("use email token", err)
	}
	et := storage.EmailToken{Hash: hash, Purpose: purpose}
	var user, exp int64
	err = t.q.QueryRowContext(ctx, `SELECT user_id, email, expires_at FROM email_tokens WHERE token_hash = $1`, hash).Scan(&user, &et.Email, &exp)
	et.UserID, et.ExpiresAt = snowflake.ID(user), fromMS(exp)
	return et, t.wrap("use email token", err)
}

// DeleteUserEmail implements storage.Tx.
func (t *tx) DeleteUserEmail(ctx context.Context, userID snowflake.ID) error {
	if _, err := t.q.ExecContext(ctx, `DELETE FROM email_tokens WHERE user_id = $1`, int64(userID)); err != nil {
		return t.wrap("delete user email", err)
	}
	_, err := t.q.ExecContext(ctx, `DELETE FROM user_emails WHERE user_id = $1`, int64(userID))
	return t.wrap("delete user email", err)
}

// DeleteEmailTokens implements storage.Tx.
func (t *tx) DeleteEmailTokens(ctx context.Context, userID snowflake.ID, purpose string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2`, int64(userID), purpose)
	return t.wrap("delete email tokens", err)
}
