package sqlstore

import (
	"context"
	"strings"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// AppendEvent implements storage.Tx. The upsert on log_heads both allocates
// the next number and, on PostgreSQL, takes the row lock that makes a second
// appender to the same log wait for this transaction: numbers are handed out
// in commit order, with no gap left by a rollback.
func (t *tx) AppendEvent(ctx context.Context, e storage.Event) (storage.Event, error) {
	var seq int64
	err := t.q.QueryRowContext(ctx, `INSERT INTO log_heads (log_id, seq) VALUES ($1, 1)
		ON CONFLICT (log_id) DO UPDATE SET seq = log_heads.seq + 1 RETURNING seq`, int64(e.LogID)).Scan(&seq)
	if err != nil {
		return storage.Event{}, t.wrap("append event: bump head", err)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	e.Seq = seq
	_, err = t.q.ExecContext(ctx, `INSERT INTO events (log_id, seq, type, payload, created_at, act) VALUES ($1, $2, $3, $4, $5, $6)`,
		int64(e.LogID), seq, e.Type, string(e.Payload), ms(e.CreatedAt), e.Act)
	if err != nil {
		return storage.Event{}, t.wrap("append event", err)
	}
	e.CreatedAt = fromMS(ms(e.CreatedAt))
	return e, nil
}

// AppendEvents implements storage.Tx: per log, one head bump by the number
// of events and one multi-row INSERT.
func (t *tx) AppendEvents(ctx context.Context, evs []storage.Event) ([]storage.Event, error) {
	out := make([]storage.Event, 0, len(evs))
	for start := 0; start < len(evs); {
		end := start + 1
		for end < len(evs) && end-start < t.d.maxRows() && evs[end].LogID == evs[start].LogID {
			end++
		}
		group := evs[start:end]
		n := int64(len(group))
		var head int64
		err := t.q.QueryRowContext(ctx, `INSERT INTO log_heads (log_id, seq) VALUES ($1, $2)
			ON CONFLICT (log_id) DO UPDATE SET seq = log_heads.seq + $2 RETURNING seq`, int64(group[0].LogID), n).Scan(&head)
		if err != nil {
			return nil, t.wrap("append events: bump head", err)
		}
		var b strings.Builder
		args := make([]any, 0, len(group)*6)
		b.WriteString(`INSERT INTO events (log_id, seq, type, payload, created_at, act) VALUES `)
		for i, e := range group {
			if i > 0 {
				b.WriteString(", ")
			}
			if e.CreatedAt.IsZero() {
				e.CreatedAt = time.Now()
			}
			e.Seq = head - n + int64(i) + 1
			e.CreatedAt = fromMS(ms(e.CreatedAt))
			writePlaceholders(&b, len(args), 6)
			args = append(args, int64(e.LogID), e.Seq, e.Type, string(e.Payload), ms(e.CreatedAt), e.Act)
			out = append(out, e)
		}
		if _, err := t.q.ExecContext(ctx, b.String(), args...); err != nil {
			return nil, t.wrap("append events", err)
		}
		start = end
	}
	return out, nil
}

// Events implements storage.Reader.
func (r reader) Events(ctx context.Context, logID snowflake.ID, after int64, limit int) ([]storage.Event, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT seq, type, payload, created_at, act FROM events
		WHERE log_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, int64(logID), after, limit)
	if err != nil {
		return nil, r.wrap("events", err)
	}
	defer rows.Close()
	var out []storage.Event
	for rows.Next() {
		var (
			e       storage.Event
			payload string
			created int64
		)
		if err := rows.Scan(&e.Seq, &e.Type, &payload, &created, &e.Act); err != nil {
			return nil, r.wrap("events", err)
		}
		e.LogID, e.Payload, e.CreatedAt = logID, []byte(payload), fromMS(created)
		out = append(out, e)
	}
	return out, r.wrap("events", rows.Err())
}

// LogHead implements storage.Reader.
func (r reader) LogHead(ctx context.Context, logID snowflake.ID) (int64, error) {
	var seq int64
	err := r.q.QueryRowContext(ctx, `SELECT seq FROM log_heads WHERE log_id = $1`, int64(logID)).Scan(&seq)
	if err != nil {
		if err2 := r.wrap("log head", err); isNotFound(err2) {
			return 0, nil
		}
		return 0, r.wrap("log head", err)
	}
	return seq, nil
}
