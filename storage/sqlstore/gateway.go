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
	var user, detached, updated int64
	var meta, place sql.NullString
	var seen sql.NullInt64
	err := r.q.QueryRowContext(ctx, `SELECT l.id, l.user_id, l.owner, l.meta, l.place, l.detached_at, l.updated_at, o.seen_at
		FROM gateway_live l LEFT JOIN gateway_owners o ON o.owner = l.owner WHERE l.id = $1`, id).
		Scan(&s.ID, &user, &s.Owner, &meta, &place, &detached, &updated, &seen)
	if err != nil {
		return s, time.Time{}, r.wrap("live session", err)
	}
	s.UserID, s.UpdatedAt = snowflake.ID(user), fromMS(updated)
	if meta.Valid {
		s.Meta = []byte(meta.String)
	}
	if place.Valid {
		s.Place = []byte(place.String)
	}
	if detached != 0 {
		s.DetachedAt = fromMS(detached)
	}
	var seenAt time.Time
	if seen.Valid {
		seenAt = fromMS(seen.Int64)
	}
	rows, err := r.q.QueryContext(ctx, `SELECT first, last, log_id, pos FROM gateway_marks WHERE session_id = $1 ORDER BY first`, id)
	if err != nil {
		return s, seenAt, r.wrap("live session marks", err)
	}
	defer rows.Close()
	for rows.Next() {
		m := storage.LiveMark{Session: id}
		var log int64
		if err := rows.Scan(&m.First, &m.Last, &log, &m.Pos); err != nil {
			return s, seenAt, r.wrap("live session marks", err)
		}
		m.Log = snowflake.ID(log)
		s.Marks = append(s.Marks, m)
	}
	return s, seenAt, r.wrap("live session marks", rows.Err())
}

// touchOwner records a gateway owner as seen.
func (t *tx) touchOwner(ctx context.Context, owner string, now time.Time) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO gateway_owners (owner, seen_at) VALUES ($1, $2)
		ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at`, owner, ms(now))
	return t.wrap("gateway owner seen", err)
}

// updateLiveSession rewrites a recorded session's row where owner still
// holds it; a NULL meta or place keeps the row's.
func (t *tx) updateLiveSession(ctx context.Context, owner string, s storage.LiveSession, now time.Time) error {
	var meta, place any
	if s.Meta != nil {
		meta = string(s.Meta)
	}
	if s.Place != nil {
		place = string(s.Place)
	}
	var detached int64
	if !s.DetachedAt.IsZero() {
		detached = ms(s.DetachedAt)
	}
	_, err := t.q.ExecContext(ctx, `UPDATE gateway_live SET meta = COALESCE($1, meta), place = COALESCE($2, place),
		detached_at = $3, updated_at = $4 WHERE id = $5 AND owner = $6`, meta, place, detached, ms(now), s.ID, owner)
	return t.wrap("update live session", err)
}

// PutLiveSessions implements storage.Tx.
func (t *tx) PutLiveSessions(ctx context.Context, owner string, w storage.LiveWrite, touch bool, now time.Time) ([]string, error) {
	if touch {
		if err := t.touchOwner(ctx, owner, now); err != nil {
			return nil, err
		}
	}
	// Rows first: a new session's row makes it this owner's.
	var ss []storage.LiveSession
	for _, s := range w.Sessions {
		if s.New {
			ss = append(ss, s)
			continue
		}
		if err := t.updateLiveSession(ctx, owner, s, now); err != nil {
			return nil, err
		}
	}
	for len(ss) > 0 {
		n := min(len(ss), t.d.maxRows())
		var b strings.Builder
		b.WriteString(`INSERT INTO gateway_live (id, user_id, owner, meta, place, detached_at, updated_at) VALUES `)
		args := make([]any, 0, 7*n)
		for i, s := range ss[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			writePlaceholders(&b, len(args), 7)
			var meta, place any
			if s.Meta != nil {
				meta = string(s.Meta)
			}
			if s.Place != nil {
				place = string(s.Place)
			}
			var detached int64
			if !s.DetachedAt.IsZero() {
				detached = ms(s.DetachedAt)
			}
			args = append(args, s.ID, int64(s.UserID), owner, meta, place, detached, ms(now))
		}
		// A NULL meta or place keeps the row's; the caller sends both for
		// a new row.
		b.WriteString(` ON CONFLICT (id) DO UPDATE SET meta = COALESCE(excluded.meta, gateway_live.meta),
			place = COALESCE(excluded.place, gateway_live.place), detached_at = excluded.detached_at,
			updated_at = excluded.updated_at WHERE gateway_live.owner = excluded.owner`)
		if _, err := t.q.ExecContext(ctx, b.String(), args...); err != nil {
			return nil, t.wrap("put live sessions", err)
		}
		ss = ss[n:]
	}
	// Which of the sessions touched are still this owner's. On
	// PostgreSQL the rows are locked, so that a claim from another
	// process waits for this write and then deletes what it added.
	ids := map[string]bool{}
	for _, s := range w.Sessions {
		ids[s.ID] = true
	}
	for _, m := range w.Marks {
		ids[m.Session] = true
	}
	for id := range w.Folded {
		ids[id] = true
	}
	all := make([]string, 0, len(ids))
	for id := range ids {
		all = append(all, id)
	}
	owned := map[string]bool{}
	for len(all) > 0 {
		n := min(len(all), 500)
		var b strings.Builder
		b.WriteString(`SELECT id FROM gateway_live WHERE owner = $1 AND id IN (`)
		args := []any{owner}
		for i, id := range all[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			args = append(args, id)
			fmt.Fprintf(&b, "$%d", len(args))
		}
		b.WriteString(")")
		if t.d.Name == "postgres" {
			b.WriteString(" FOR UPDATE")
		}
		rows, err := t.q.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return nil, t.wrap("live sessions owned", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, t.wrap("live sessions owned", err)
			}
			owned[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, t.wrap("live sessions owned", err)
		}
		all = all[n:]
	}
	for id, upto := range w.Folded {
		if owned[id] {
			if _, err := t.q.ExecContext(ctx, `DELETE FROM gateway_marks WHERE session_id = $1 AND last <= $2`, id, upto); err != nil {
				return nil, t.wrap("fold live session marks", err)
			}
		}
	}
	var rows [][]any
	for _, m := range w.Marks {
		if owned[m.Session] {
			rows = append(rows, []any{m.Session, m.First, m.Last, int64(m.Log), m.Pos})
		}
	}
	if err := t.insertRows(ctx, "gateway_marks (session_id, first, last, log_id, pos)", rows, t.d.maxRows()); err != nil {
		return nil, t.wrap("put live session marks", err)
	}
	written := make([]string, 0, len(owned))
	for id := range owned {
		written = append(written, id)
	}
	return written, nil
}

// ClaimLiveSession implements storage.Tx.
func (t *tx) ClaimLiveSession(ctx context.Context, id, from, to string, place []byte, marks []storage.LiveMark, now time.Time) (bool, error) {
	if err := t.touchOwner(ctx, to, now); err != nil {
		return false, err
	}
	res, err := t.q.ExecContext(ctx, `UPDATE gateway_live SET owner = $1, place = $2, detached_at = 0, updated_at = $3
		WHERE id = $4 AND owner = $5`, to, string(place), ms(now), id, from)
	if err != nil {
		return false, t.wrap("claim live session", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, t.wrap("claim live session", err)
	}
	if _, err := t.q.ExecContext(ctx, `DELETE FROM gateway_marks WHERE session_id = $1`, id); err != nil {
		return false, t.wrap("claim live session", err)
	}
	rows := make([][]any, 0, len(marks))
	for _, m := range marks {
		rows = append(rows, []any{id, m.First, m.Last, int64(m.Log), m.Pos})
	}
	if err := t.insertRows(ctx, "gateway_marks (session_id, first, last, log_id, pos)", rows, t.d.maxRows()); err != nil {
		return false, t.wrap("claim live session", err)
	}
	return true, nil
}

// DeleteLiveSessions implements storage.Tx.
func (t *tx) DeleteLiveSessions(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if _, err := t.q.ExecContext(ctx, `DELETE FROM gateway_marks WHERE session_id = $1`, id); err != nil {
			return t.wrap("delete live session", err)
		}
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
	if _, err := t.q.ExecContext(ctx, `DELETE FROM gateway_marks WHERE session_id NOT IN (SELECT id FROM gateway_live)`); err != nil {
		return 0, t.wrap("sweep live session marks", err)
	}
	if _, err := t.q.ExecContext(ctx, `DELETE FROM gateway_owners WHERE seen_at < $1`, ms(seen)); err != nil {
		return 0, t.wrap("sweep gateway owners", err)
	}
	return int(n), nil
}
