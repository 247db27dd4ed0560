package sqlstore

import (
	"context"

	"hearth/snowflake"
	"hearth/storage"
)

// AuthorMessages implements storage.Reader. It reads through the
// (channel_id, author_id, id) index only when the guild has few channels;
// a ban is rare enough that a guild-wide scan of one author is acceptable.
func (r reader) AuthorMessages(ctx context.Context, guildID, authorID, after snowflake.ID, limit int) ([]storage.MessageRef, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := r.q.QueryContext(ctx, `SELECT id, channel_id FROM messages
		WHERE guild_id = $1 AND author_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
		int64(guildID), int64(authorID), int64(after), limit)
	if err != nil {
		return nil, r.wrap("author messages", err)
	}
	defer rows.Close()
	var out []storage.MessageRef
	for rows.Next() {
		var id, ch int64
		if err := rows.Scan(&id, &ch); err != nil {
			return nil, r.wrap("author messages", err)
		}
		out = append(out, storage.MessageRef{ID: snowflake.ID(id), ChannelID: snowflake.ID(ch)})
	}
	return out, r.wrap("author messages", rows.Err())
}

// LockMember implements storage.Tx.
func (t *tx) LockMember(ctx context.Context, guildID, userID snowflake.ID) error {
	return t.lockRow(ctx, "lock member", `SELECT 1 FROM members WHERE guild_id = $1 AND user_id = $2`, int64(guildID), int64(userID))
}

// LockUser implements storage.Tx.
func (t *tx) LockUser(ctx context.Context, id snowflake.ID) error {
	return t.lockRow(ctx, "lock user", `SELECT 1 FROM users WHERE id = $1`, int64(id))
}

// accountsLockKey is the PostgreSQL advisory lock of account creation
// (migrations hold 7305961).
const accountsLockKey = 7305962

// LockAccounts implements storage.Tx. SQLite's single writer already
// serialises write transactions.
func (t *tx) LockAccounts(ctx context.Context) error {
	if t.d.Name != "postgres" {
		return nil
	}
	_, err := t.q.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(accountsLockKey))
	return t.wrap("lock accounts", err)
}

// LockChannel implements storage.Tx.
func (t *tx) LockChannel(ctx context.Context, id snowflake.ID) error {
	return t.lockRow(ctx, "lock channel", `SELECT 1 FROM channels WHERE id = $1`, int64(id))
}

// lockRow holds the row query finds until the transaction ends;
// ErrNotFound when there is none. SQLite's single writer already
// serialises write transactions, so only PostgreSQL needs FOR UPDATE.
func (t *tx) lockRow(ctx context.Context, op, query string, args ...any) error {
	if t.d.Name == "postgres" {
		query += ` FOR UPDATE`
	}
	var one int
	return t.wrap(op, t.q.QueryRowContext(ctx, query, args...).Scan(&one))
}
