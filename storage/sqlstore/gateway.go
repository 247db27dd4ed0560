package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// GatewayState implements storage.Reader.
func (r reader) GatewayState(ctx context.Context) (storage.GatewayState, error) {
	var st storage.GatewayState
	rows, err := r.q.QueryContext(ctx, `SELECT id, user_id, state, saved_at FROM gateway_sessions ORDER BY id`)
	if err != nil {
		return st, r.wrap("gateway sessions", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s storage.GatewaySession
		var user, saved int64
		var state string
		if err := rows.Scan(&s.ID, &user, &state, &saved); err != nil {
			return st, r.wrap("gateway sessions", err)
		}
		s.UserID, s.State, s.SavedAt = snowflake.ID(user), []byte(state), fromMS(saved)
		st.Sessions = append(st.Sessions, s)
	}
	if err := rows.Err(); err != nil {
		return st, r.wrap("gateway sessions", err)
	}
	prows, err := r.q.QueryContext(ctx, `SELECT id, body FROM gateway_payloads ORDER BY id`)
	if err != nil {
		return st, r.wrap("gateway payloads", err)
	}
	defer prows.Close()
	for prows.Next() {
		var id int64
		var body string
		if err := prows.Scan(&id, &body); err != nil {
			return st, r.wrap("gateway payloads", err)
		}
		if id != int64(len(st.Payloads)) {
			return st, fmt.Errorf("gateway payloads: %d missing", len(st.Payloads))
		}
		st.Payloads = append(st.Payloads, []byte(body))
	}
	if err := prows.Err(); err != nil {
		return st, r.wrap("gateway payloads", err)
	}
	crows, err := r.q.QueryContext(ctx, `SELECT log_id, seq FROM gateway_cursors`)
	if err != nil {
		return st, r.wrap("gateway cursors", err)
	}
	defer crows.Close()
	for crows.Next() {
		var log, seq int64
		if err := crows.Scan(&log, &seq); err != nil {
			return st, r.wrap("gateway cursors", err)
		}
		if st.Cursors == nil {
			st.Cursors = make(map[snowflake.ID]int64)
		}
		st.Cursors[snowflake.ID(log)] = seq
	}
	return st, r.wrap("gateway cursors", crows.Err())
}

// SetGatewayState implements storage.Tx.
func (t *tx) SetGatewayState(ctx context.Context, st storage.GatewayState) error {
	if _, err := t.q.ExecContext(ctx, `DELETE FROM gateway_sessions`); err != nil {
		return t.wrap("clear gateway sessions", err)
	}
	if _, err := t.q.ExecContext(ctx, `DELETE FROM gateway_payloads`); err != nil {
		return t.wrap("clear gateway payloads", err)
	}
	if _, err := t.q.ExecContext(ctx, `DELETE FROM gateway_cursors`); err != nil {
		return t.wrap("clear gateway cursors", err)
	}
	rows := make([][]any, 0, len(st.Sessions))
	for _, s := range st.Sessions {
		rows = append(rows, []any{s.ID, int64(s.UserID), string(s.State), ms(s.SavedAt)})
	}
	if err := t.insertRows(ctx, "gateway_sessions (id, user_id, state, saved_at)", rows, t.d.maxRows()); err != nil {
		return t.wrap("save gateway sessions", err)
	}
	rows = rows[:0]
	for i, p := range st.Payloads {
		rows = append(rows, []any{int64(i), string(p)})
	}
	if err := t.insertRows(ctx, "gateway_payloads (id, body)", rows, t.d.maxRows()); err != nil {
		return t.wrap("save gateway payloads", err)
	}
	rows = rows[:0]
	for log, seq := range st.Cursors {
		rows = append(rows, []any{int64(log), seq})
	}
	return t.wrap("save gateway cursors", t.insertRows(ctx, "gateway_cursors (log_id, seq)", rows, t.d.maxRows()))
}

// insertRows inserts rows (each with the same number of values) into
// target, a table and its column list, in multi-row statements of at most
// per rows.
func (t *tx) insertRows(ctx context.Context, target string, rows [][]any, per int) error {
	for len(rows) > 0 {
		n := min(len(rows), per)
		var b strings.Builder
		b.WriteString("INSERT INTO " + target + " VALUES ")
		var args []any
		for i, row := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			writePlaceholders(&b, len(args), len(row))
			args = append(args, row...)
		}
		if _, err := t.q.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert into %s: %w", target, err)
		}
		rows = rows[n:]
	}
	return nil
}

// LiveSession implements storage.Reader.
func (r reader) LiveSession(ctx context.Context, id string) (storage.LiveSession, time.Time, error) {
	var s storage.LiveSession
	var user, seq, detached, updated int64
	var meta sql.NullString
	var place string
	var seen sql.NullInt64
	err := r.q.QueryRowContext(ctx, `SELECT l.id, l.user_id, l.owner, l.meta, l.place, l.seq, l.detached_at, l.updated_at, o.seen_at
		FROM gateway_live l LEFT JOIN gateway_owners o ON o.owner = l.owner WHERE l.id = $1`, id).
		Scan(&s.ID, &user, &s.Owner, &meta, &place, &seq, &detached, &updated, &seen)
	if err != nil {
		return s, time.Time{}, r.wrap("live session", err)
	}
	s.UserID, s.Place, s.Seq, s.UpdatedAt = snowflake.ID(user), []byte(place), seq, fromMS(updated)
	if meta.Valid {
		s.Meta = []byte(meta.String)
	}
	if detached != 0 {
		s.DetachedAt = fromMS(detached)
	}
	var seenAt time.Time
	if seen.Valid {
		seenAt = fromMS(seen.Int64)
	}
	return s, seenAt, nil
}

// PutLiveSessions implements storage.Tx.
func (t *tx) PutLiveSessions(ctx context.Context, owner string, ss []storage.LiveSession, now time.Time) ([]string, error) {
	if _, err := t.q.ExecContext(ctx, `INSERT INTO gateway_owners (owner, seen_at) VALUES ($1, $2)
		ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at`, owner, ms(now)); err != nil {
		return nil, t.wrap("gateway owner seen", err)
	}
	var written []string
	// Five values a row besides the owner's: well under every dialect's
	// bound on parameters.
	for len(ss) > 0 {
		n := min(len(ss), t.d.maxRows())
		var b strings.Builder
		b.WriteString(`INSERT INTO gateway_live (id, user_id, owner, meta, place, seq, detached_at, updated_at) VALUES `)
		args := make([]any, 0, 8*n)
		for i, s := range ss[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			writePlaceholders(&b, len(args), 8)
			var meta any
			if s.Meta != nil {
				meta = string(s.Meta)
			}
			var detached int64
			if !s.DetachedAt.IsZero() {
				detached = ms(s.DetachedAt)
			}
			args = append(args, s.ID, int64(s.UserID), owner, meta, string(s.Place), s.Seq, detached, ms(now))
		}
		b.WriteString(` ON CONFLICT (id) DO UPDATE SET meta = COALESCE(excluded.meta, gateway_live.meta),
			place = excluded.place, seq = excluded.seq, detached_at = excluded.detached_at, updated_at = excluded.updated_at
			WHERE gateway_live.owner = excluded.owner RETURNING id`)
		rows, err := t.q.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return nil, t.wrap("put live sessions", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, t.wrap("put live sessions", err)
			}
			written = append(written, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, t.wrap("put live sessions", err)
		}
		ss = ss[n:]
	}
	return written, nil
}

// ClaimLiveSession implements storage.Tx.
func (t *tx) ClaimLiveSession(ctx context.Context, id, from, to string, place []byte, seq int64, now time.Time) (bool, error) {
	if _, err := t.q.ExecContext(ctx, `INSERT INTO gateway_owners (owner, seen_at) VALUES ($1, $2)
		ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at`, to, ms(now)); err != nil {
		return false, t.wrap("gateway owner seen", err)
	}
	res, err := t.q.ExecContext(ctx, `UPDATE gateway_live SET owner = $1, place = $2, seq = $3, detached_at = 0, updated_at = $4
		WHERE id = $5 AND owner = $6`, to, string(place), seq, ms(now), id, from)
	if err != nil {
		return false, t.wrap("claim live session", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, t.wrap("claim live session", err)
	}
	return n == 1, nil
}

// DeleteLiveSessions implements storage.Tx.
func (t *tx) DeleteLiveSessions(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if _, err := t.q.ExecContext(ctx, `DELETE FROM gateway_live WHERE id = $1`, id); err != nil {
			return t.wrap("delete live session", err)
		}
	}
	return nil
}

// SweepLiveSessions implements storage.Tx.
func (t *tx) SweepLiveSessions(ctx context.Context, detached, seen time.Time) (int, error) {
	res, err := t.q.ExecContext(ctx, `DELETE FROM gateway_live WHERE (detached_at <> 0 AND detached_at < $1)
		OR owner IN (SELECT owner FROM gateway_owners WHERE seen_at < $2)
		OR owner NOT IN (SELECT owner FROM gateway_owners)`, ms(detached), ms(seen))
	if err != nil {
		return 0, t.wrap("sweep live sessions", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, t.wrap("sweep live sessions", err)
	}
	if _, err := t.q.ExecContext(ctx, `DELETE FROM gateway_owners WHERE seen_at < $1`, ms(seen)); err != nil {
		return 0, t.wrap("sweep gateway owners", err)
	}
	return int(n), nil
}
