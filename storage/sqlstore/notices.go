package sqlstore

import (
	"context"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

const noticeColumns = `id, peer, kind, body, user_id, other_id, attempts, next_at, created_at`

func (r reader) notices(ctx context.Context, op, query string, args ...any) ([]storage.Notice, error) {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, r.wrap(op, err)
	}
	defer rows.Close()
	out := []storage.Notice{}
	for rows.Next() {
		var (
			n             storage.Notice
			body          string
			next, created int64
		)
		if err := rows.Scan(scanID(&n.ID), &n.Peer, &n.Kind, &body, scanID(&n.UserID), scanID(&n.OtherID), &n.Attempts, &next, &created); err != nil {
			return nil, r.wrap(op, err)
		}
		n.Body, n.NextAt, n.CreatedAt = []byte(body), fromMS(next), fromMS(created)
		out = append(out, n)
	}
	return out, r.wrap(op, rows.Err())
}

// DueNotices implements storage.Reader.
func (r reader) DueNotices(ctx context.Context, now time.Time, limit int) ([]storage.Notice, error) {
	return r.notices(ctx, "due notices", `SELECT `+noticeColumns+` FROM federation_notices
		WHERE next_at <= $1 ORDER BY next_at, id LIMIT $2`, ms(now), limit)
}

// PendingNotices implements storage.Reader.
func (r reader) PendingNotices(ctx context.Context, peer string, limit int) ([]storage.Notice, error) {
	return r.notices(ctx, "pending notices", `SELECT `+noticeColumns+` FROM federation_notices
		WHERE peer = $1 ORDER BY id LIMIT $2`, peer, limit)
}

// QueueNotice implements storage.Tx.
func (t *tx) QueueNotice(ctx context.Context, n storage.Notice) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO federation_notices (`+noticeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		int64(n.ID), n.Peer, n.Kind, string(n.Body), int64(n.UserID), int64(n.OtherID), n.Attempts, ms(n.NextAt), ms(n.CreatedAt))
	return t.wrap("queue notice", err)
}

// RescheduleNotice implements storage.Tx.
func (t *tx) RescheduleNotice(ctx context.Context, id snowflake.ID, attempts int, next time.Time) error {
	res, err := t.q.ExecContext(ctx, `UPDATE federation_notices SET attempts = $2, next_at = $3 WHERE id = $1`, int64(id), attempts, ms(next))
	if err != nil {
		return t.wrap("reschedule notice", err)
	}
	return t.wrap("reschedule notice", mustAffect(res))
}

// DeleteNotice implements storage.Tx.
func (t *tx) DeleteNotice(ctx context.Context, id snowflake.ID) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM federation_notices WHERE id = $1`, int64(id))
	if err != nil {
		return t.wrap("delete notice", err)
	}
	return t.wrap("delete notice", mustAffect(res))
}

// HurryNotices implements storage.Tx.
func (t *tx) HurryNotices(ctx context.Context, peer string, now time.Time) error {
	_, err := t.q.ExecContext(ctx, `UPDATE federation_notices SET next_at = $2 WHERE peer = $1 AND next_at > $2`, peer, ms(now))
	return t.wrap("hurry notices", err)
}
