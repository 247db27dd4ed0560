package sqlstore

import (
	"context"
	"strconv"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// BridgeID implements storage.Reader.
func (r reader) BridgeID(ctx context.Context, kind, remote string) (snowflake.ID, error) {
	var id int64
	err := r.q.QueryRowContext(ctx, `SELECT local_id FROM bridge_ids WHERE kind = $1 AND remote = $2`, kind, remote).Scan(&id)
	return snowflake.ID(id), r.wrap("bridge id", err)
}

// BridgeRemote implements storage.Reader.
func (r reader) BridgeRemote(ctx context.Context, kind string, local snowflake.ID) (string, error) {
	var remote string
	err := r.q.QueryRowContext(ctx, `SELECT remote FROM bridge_ids WHERE kind = $1 AND local_id = $2 ORDER BY length(remote), remote LIMIT 1`,
		kind, int64(local)).Scan(&remote)
	return remote, r.wrap("bridge remote", err)
}

// BridgeRemotes implements storage.Reader. Discord IDs are decimal text:
// ordered by length, then text, they are in numeric order.
func (r reader) BridgeRemotes(ctx context.Context, kind string, local snowflake.ID) ([]string, error) {
	return queryAll(ctx, r, "bridge remotes", func(row scanner) (string, error) {
		var s string
		err := row.Scan(&s)
		return s, err
	}, `SELECT remote FROM bridge_ids WHERE kind = $1 AND local_id = $2 ORDER BY length(remote), remote`, kind, int64(local))
}

// BridgeValue implements storage.Reader.
func (r reader) BridgeValue(ctx context.Context, key string) (string, error) {
	var v string
	err := r.q.QueryRowContext(ctx, `SELECT value FROM bridge_state WHERE key = $1`, key).Scan(&v)
	return v, r.wrap("bridge value", err)
}

// BridgeValues implements storage.Reader. The prefix is compared with
// substr rather than LIKE so that no character of it is a pattern.
func (r reader) BridgeValues(ctx context.Context, prefix string) ([]storage.BridgeValue, error) {
	return queryAll(ctx, r, "bridge values", func(row scanner) (storage.BridgeValue, error) {
		var v storage.BridgeValue
		var at int64
		err := row.Scan(&v.Key, &v.Value, &at)
		v.UpdatedAt = fromMS(at)
		return v, err
	}, `SELECT key, value, updated_at FROM bridge_state WHERE substr(key, 1, `+strconv.Itoa(len(prefix))+`) = $1 ORDER BY key`, prefix)
}

// AddBridgeID implements storage.Tx.
func (t *tx) AddBridgeID(ctx context.Context, kind, remote string, local snowflake.ID) error {
	return t.exec(ctx, "add bridge id", `INSERT INTO bridge_ids (kind, remote, local_id) VALUES ($1, $2, $3)`,
		kind, remote, int64(local))
}

// DeleteBridgeID implements storage.Tx.
func (t *tx) DeleteBridgeID(ctx context.Context, kind, remote string) error {
	return t.exec(ctx, "delete bridge id", `DELETE FROM bridge_ids WHERE kind = $1 AND remote = $2`, kind, remote)
}

// SetBridgeValue implements storage.Tx.
func (t *tx) SetBridgeValue(ctx context.Context, key, value string, at time.Time) error {
	return t.exec(ctx, "set bridge value", `INSERT INTO bridge_state (key, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, ms(at))
}

// DeleteBridgeValue implements storage.Tx.
func (t *tx) DeleteBridgeValue(ctx context.Context, key string) error {
	return t.exec(ctx, "delete bridge value", `DELETE FROM bridge_state WHERE key = $1`, key)
}
