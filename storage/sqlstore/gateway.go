package sqlstore

import (
	"context"
	"fmt"
	"strings"

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
