package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// FederatedID implements storage.Reader.
func (r reader) FederatedID(ctx context.Context, origin, originID string) (storage.Mapping, error) {
	var id, scope int64
	err := r.q.QueryRowContext(ctx, `SELECT local_id, scope FROM federated_ids WHERE origin = $1 AND origin_id = $2`,
		origin, originID).Scan(&id, &scope)
	return storage.Mapping{Local: snowflake.ID(id), Scope: snowflake.ID(scope)}, r.wrap("federated id", err)
}

// FederatedIDs implements storage.Reader.
func (r reader) FederatedIDs(ctx context.Context, gs []storage.GlobalID) (map[storage.GlobalID]storage.Mapping, error) {
	out := make(map[storage.GlobalID]storage.Mapping, len(gs))
	if r.d.Name == "postgres" {
		return out, r.federatedIDsByOrigin(ctx, gs, out)
	}
	for start := 0; start < len(gs); start += 250 {
		chunk := gs[start:min(start+250, len(gs))]
		var b strings.Builder
		args := make([]any, 0, 2*len(chunk))
		b.WriteString(`SELECT origin, origin_id, local_id, scope FROM federated_ids WHERE (origin, origin_id) IN (`)
		for i, g := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "($%d, $%d)", 2*i+1, 2*i+2)
			args = append(args, g.Origin, g.OriginID)
		}
		b.WriteString(")")
		rows, err := r.q.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return nil, r.wrap("federated ids", err)
		}
		for rows.Next() {
			var g storage.GlobalID
			var id, scope int64
			if err := rows.Scan(&g.Origin, &g.OriginID, &id, &scope); err != nil {
				rows.Close()
				return nil, r.wrap("federated ids", err)
			}
			out[g] = storage.Mapping{Local: snowflake.ID(id), Scope: snowflake.ID(scope)}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, r.wrap("federated ids", err)
		}
	}
	return out, nil
}

// federatedIDsByOrigin is FederatedIDs for PostgreSQL, whose planner
// scans the table for a row-value IN list but uses the primary key for
// one origin and an array of IDs.
func (r reader) federatedIDsByOrigin(ctx context.Context, gs []storage.GlobalID, out map[storage.GlobalID]storage.Mapping) error {
	byOrigin := map[string][]string{}
	for _, g := range gs {
		byOrigin[g.Origin] = append(byOrigin[g.Origin], g.OriginID)
	}
	for origin, ids := range byOrigin {
		rows, err := r.q.QueryContext(ctx, `SELECT origin_id, local_id, scope FROM federated_ids
			WHERE origin = $1 AND origin_id = ANY($2)`, origin, ids)
		if err != nil {
			return r.wrap("federated ids", err)
		}
		for rows.Next() {
			var oid string
			var id, scope int64
			if err := rows.Scan(&oid, &id, &scope); err != nil {
				rows.Close()
				return r.wrap("federated ids", err)
			}
			out[storage.GlobalID{Origin: origin, OriginID: oid}] = storage.Mapping{Local: snowflake.ID(id), Scope: snowflake.ID(scope)}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return r.wrap("federated ids", err)
		}
	}
	return nil
}

// FederatedOrigins implements storage.Reader.
func (r reader) FederatedOrigins(ctx context.Context, ids []snowflake.ID) (map[snowflake.ID]storage.GlobalID, error) {
	out := make(map[snowflake.ID]storage.GlobalID)
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		var b strings.Builder
		args := make([]any, len(chunk))
		b.WriteString(`SELECT local_id, origin, origin_id FROM federated_ids WHERE local_id IN (`)
		for i, id := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + strconv.Itoa(i+1))
			args[i] = int64(id)
		}
		b.WriteString(")")
		rows, err := r.q.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return nil, r.wrap("federated origins", err)
		}
		for rows.Next() {
			var id int64
			var g storage.GlobalID
			if err := rows.Scan(&id, &g.Origin, &g.OriginID); err != nil {
				rows.Close()
				return nil, r.wrap("federated origins", err)
			}
			out[snowflake.ID(id)] = g
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, r.wrap("federated origins", err)
		}
	}
	return out, nil
}

// DeliveryCursors implements storage.Reader.
func (r reader) DeliveryCursors(ctx context.Context) ([]storage.Cursor, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT peer, log_id, seq FROM delivery_cursors ORDER BY peer, log_id`)
	if err != nil {
		return nil, r.wrap("delivery cursors", err)
	}
	defer rows.Close()
	var out []storage.Cursor
	for rows.Next() {
		var c storage.Cursor
		var log int64
		if err := rows.Scan(&c.Peer, &log, &c.Seq); err != nil {
			return nil, r.wrap("delivery cursors", err)
		}
		c.LogID = snowflake.ID(log)
		out = append(out, c)
	}
	return out, r.wrap("delivery cursors", rows.Err())
}

// DeliveryCursor implements storage.Reader.
func (r reader) DeliveryCursor(ctx context.Context, peer string, logID snowflake.ID) (storage.Cursor, error) {
	c := storage.Cursor{Peer: peer, LogID: logID}
	err := r.q.QueryRowContext(ctx, `SELECT seq FROM delivery_cursors WHERE peer = $1 AND log_id = $2`,
		peer, int64(logID)).Scan(&c.Seq)
	return c, r.wrap("delivery cursor", err)
}

// Replica implements storage.Reader.
func (r reader) Replica(ctx context.Context, logID snowflake.ID) (storage.Replica, error) {
	rep := storage.Replica{LogID: logID}
	err := r.q.QueryRowContext(ctx, `SELECT origin, seq FROM replicas WHERE log_id = $1`, int64(logID)).
		Scan(&rep.Origin, &rep.Seq)
	return rep, r.wrap("replica", err)
}

// Replicas implements storage.Reader.
func (r reader) Replicas(ctx context.Context) ([]storage.Replica, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT log_id, origin, seq FROM replicas ORDER BY log_id`)
	if err != nil {
		return nil, r.wrap("replicas", err)
	}
	defer rows.Close()
	var out []storage.Replica
	for rows.Next() {
		var rep storage.Replica
		var log int64
		if err := rows.Scan(&log, &rep.Origin, &rep.Seq); err != nil {
			return nil, r.wrap("replicas", err)
		}
		rep.LogID = snowflake.ID(log)
		out = append(out, rep)
	}
	return out, r.wrap("replicas", rows.Err())
}

// MemberOrigins implements storage.Reader.
func (r reader) MemberOrigins(ctx context.Context, guildID snowflake.ID) ([]string, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT DISTINCT u.origin FROM members m JOIN users u ON u.id = m.user_id
		WHERE m.guild_id = $1 AND u.origin IS NOT NULL ORDER BY u.origin`, int64(guildID))
	if err != nil {
		return nil, r.wrap("member origins", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, r.wrap("member origins", err)
		}
		out = append(out, s)
	}
	return out, r.wrap("member origins", rows.Err())
}

// MapFederatedID implements storage.Tx.
func (t *tx) MapFederatedID(ctx context.Context, g storage.GlobalID, m storage.Mapping) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO federated_ids (origin, origin_id, local_id, scope) VALUES ($1, $2, $3, $4)`,
		g.Origin, g.OriginID, int64(m.Local), int64(m.Scope))
	return t.wrap("map federated id", err)
}

// MapFederatedIDs implements storage.Tx. Its rows are narrow, so more go
// in one statement than the dialect's usual bound.
func (t *tx) MapFederatedIDs(ctx context.Context, m map[storage.GlobalID]storage.Mapping) error {
	rows := make([][]any, 0, len(m))
	for g, id := range m {
		rows = append(rows, []any{g.Origin, g.OriginID, int64(id.Local), int64(id.Scope)})
	}
	return t.wrap("map federated ids", t.insertRows(ctx, "federated_ids (origin, origin_id, local_id, scope)", rows, 3*t.d.maxRows()))
}

// SetDeliveryCursor implements storage.Tx. The condition is in the upsert
// itself: under READ COMMITTED two processes' reads of the cursor may both
// come before either write.
func (t *tx) SetDeliveryCursor(ctx context.Context, c storage.Cursor) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO delivery_cursors (peer, log_id, seq) VALUES ($1, $2, $3)
		ON CONFLICT (peer, log_id) DO UPDATE SET seq = excluded.seq WHERE delivery_cursors.seq < excluded.seq`, c.Peer, int64(c.LogID), c.Seq)
	return t.wrap("set delivery cursor", err)
}

// DeleteDeliveryCursor implements storage.Tx.
func (t *tx) DeleteDeliveryCursor(ctx context.Context, peer string, logID snowflake.ID) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM delivery_cursors WHERE peer = $1 AND log_id = $2`, peer, int64(logID))
	return t.wrap("delete delivery cursor", err)
}

// SetReplica implements storage.Tx.
func (t *tx) SetReplica(ctx context.Context, rep storage.Replica) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO replicas (log_id, origin, seq) VALUES ($1, $2, $3)
		ON CONFLICT (log_id) DO UPDATE SET seq = excluded.seq`, int64(rep.LogID), rep.Origin, rep.Seq)
	return t.wrap("set replica", err)
}

// OriginMembers implements storage.Reader.
func (r reader) OriginMembers(ctx context.Context, guildID snowflake.ID, origin string) ([]snowflake.ID, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT m.user_id FROM members m JOIN users u ON u.id = m.user_id
		WHERE m.guild_id = $1 AND u.origin = $2 ORDER BY m.user_id`, int64(guildID), origin)
	if err != nil {
		return nil, r.wrap("origin members", err)
	}
	defer rows.Close()
	var out []snowflake.ID
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, r.wrap("origin members", err)
		}
		out = append(out, snowflake.ID(id))
	}
	return out, r.wrap("origin members", rows.Err())
}

// HistoryFloor implements storage.Reader.
func (r reader) HistoryFloor(ctx context.Context, channelID snowflake.ID) (snowflake.ID, error) {
	var floor int64
	err := r.q.QueryRowContext(ctx, `SELECT floor FROM replica_history WHERE channel_id = $1`, int64(channelID)).Scan(&floor)
	return snowflake.ID(floor), r.wrap("history floor", err)
}

// SetHistoryFloor implements storage.Tx.
func (t *tx) SetHistoryFloor(ctx context.Context, channelID, floor snowflake.ID) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO replica_history (channel_id, floor) VALUES ($1, $2)
		ON CONFLICT (channel_id) DO UPDATE SET floor = excluded.floor`, int64(channelID), int64(floor))
	return t.wrap("set history floor", err)
}

// DeleteHistoryFloor implements storage.Tx.
func (t *tx) DeleteHistoryFloor(ctx context.Context, channelID snowflake.ID) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM replica_history WHERE channel_id = $1`, int64(channelID))
	return t.wrap("delete history floor", err)
}

// RemapFederatedMessage implements storage.Tx.
func (t *tx) RemapFederatedMessage(ctx context.Context, guildID snowflake.ID, g storage.GlobalID, from, to snowflake.ID) error {
	res, err := t.q.ExecContext(ctx, `UPDATE federated_ids SET local_id = $1 WHERE origin = $2 AND origin_id = $3 AND local_id = $4`,
		int64(to), g.Origin, g.OriginID, int64(from))
	if err != nil {
		return t.wrap("remap federated message", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.wrap("remap federated message", err)
	} else if n == 0 {
		return fmt.Errorf("remap federated message %s@%s: %w", g.OriginID, g.Origin, storage.ErrNotFound)
	}
	_, err = t.q.ExecContext(ctx, `UPDATE messages SET reference_id = $1 WHERE reference_id = $3 AND guild_id = $2`,
		int64(to), int64(guildID), int64(from))
	return t.wrap("remap federated message", err)
}

// ActReceipt implements storage.Reader.
func (r reader) ActReceipt(ctx context.Context, id string) (storage.ActReceipt, error) {
	var a storage.ActReceipt
	var logID, deadline int64
	var seq sql.NullInt64
	var result sql.NullString
	err := r.q.QueryRowContext(ctx, `SELECT id, peer, log_id, digest, deadline, seq, result FROM act_receipts WHERE id = $1`, id).
		Scan(&a.ID, &a.Peer, &logID, &a.Digest, &deadline, &seq, &result)
	if err != nil {
		return storage.ActReceipt{}, r.wrap("act receipt", err)
	}
	a.LogID, a.Deadline = snowflake.ID(logID), fromMS(deadline)
	if seq.Valid {
		a.Done, a.Seq, a.Result = true, seq.Int64, []byte(result.String)
	}
	return a, nil
}

// ClaimActReceipt implements storage.Tx. ON CONFLICT DO NOTHING rather
// than a failing insert: on PostgreSQL a unique violation would end the
// caller's transaction.
func (t *tx) ClaimActReceipt(ctx context.Context, a storage.ActReceipt) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO act_receipts (id, peer, log_id, digest, deadline) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO NOTHING`, a.ID, a.Peer, int64(a.LogID), a.Digest, ms(a.Deadline))
	if err != nil {
		return t.wrap("claim act receipt", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.wrap("claim act receipt", err)
	} else if n == 0 {
		return fmt.Errorf("claim act receipt %s: %w", a.ID, storage.ErrConflict)
	}
	return nil
}

// CompleteActReceipt implements storage.Tx.
func (t *tx) CompleteActReceipt(ctx context.Context, id string, seq int64, result []byte) error {
	res, err := t.q.ExecContext(ctx, `UPDATE act_receipts SET seq = $2, result = $3 WHERE id = $1`, id, seq, string(result))
	if err != nil {
		return t.wrap("complete act receipt", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.wrap("complete act receipt", err)
	} else if n == 0 {
		return fmt.Errorf("complete act receipt %s: %w", id, storage.ErrNotFound)
	}
	return nil
}

// DeleteActReceipt implements storage.Tx.
func (t *tx) DeleteActReceipt(ctx context.Context, id string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM act_receipts WHERE id = $1`, id)
	return t.wrap("delete act receipt", err)
}

// PruneActReceipts implements storage.Tx.
func (t *tx) PruneActReceipts(ctx context.Context, before time.Time) (int64, error) {
	res, err := t.q.ExecContext(ctx, `DELETE FROM act_receipts WHERE deadline < $1`, ms(before))
	if err != nil {
		return 0, t.wrap("prune act receipts", err)
	}
	n, err := res.RowsAffected()
	return n, t.wrap("prune act receipts", err)
}

// SentAct implements storage.Reader.
func (r reader) SentAct(ctx context.Context, id string) (storage.SentAct, error) {
	var a storage.SentAct
	var logID, userID, messageID, expires int64
	err := r.q.QueryRowContext(ctx, `SELECT id, log_id, user_id, action, message_id, used, expires FROM sent_acts WHERE id = $1`, id).
		Scan(&a.ID, &logID, &userID, &a.Action, &messageID, &a.Used, &expires)
	if err != nil {
		return storage.SentAct{}, r.wrap("sent act", err)
	}
	a.LogID, a.UserID, a.MessageID, a.Expires = snowflake.ID(logID), snowflake.ID(userID), snowflake.ID(messageID), fromMS(expires)
	return a, nil
}

// MessageAuthor implements storage.Reader.
func (r reader) MessageAuthor(ctx context.Context, origin, originID string) (snowflake.ID, error) {
	var user int64
	err := r.q.QueryRowContext(ctx, `SELECT user_id FROM authored_messages WHERE origin_id = $1 AND origin = $2`,
		originID, origin).Scan(&user)
	if err != nil {
		return 0, r.wrap("message author", err)
	}
	return snowflake.ID(user), nil
}

// RecordAuthor implements storage.Tx. The first record of a message
// stands: an origin's message has one author.
func (t *tx) RecordAuthor(ctx context.Context, origin, originID string, user snowflake.ID) error {
	return t.exec(ctx, "record author", `INSERT INTO authored_messages (origin, origin_id, user_id) VALUES ($1, $2, $3)
		ON CONFLICT (origin_id, origin) DO NOTHING`, origin, originID, int64(user))
}

// RecordSentAct implements storage.Tx. ON CONFLICT DO NOTHING, so that a
// duplicate leaves a PostgreSQL transaction usable.
func (t *tx) RecordSentAct(ctx context.Context, a storage.SentAct) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO sent_acts (id, log_id, user_id, action, message_id, used, expires)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
		a.ID, int64(a.LogID), int64(a.UserID), a.Action, int64(a.MessageID), a.Used, ms(a.Expires))
	if err != nil {
		return t.wrap("record sent act", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.wrap("record sent act", err)
	} else if n == 0 {
		return fmt.Errorf("record sent act %s: %w", a.ID, storage.ErrConflict)
	}
	return nil
}

// UseSentAct implements storage.Tx.
func (t *tx) UseSentAct(ctx context.Context, id string, used int) error {
	return t.execOne(ctx, "use sent act", `UPDATE sent_acts SET used = $2 WHERE id = $1`, id, used)
}

// DeleteSentAct implements storage.Tx.
func (t *tx) DeleteSentAct(ctx context.Context, id string) error {
	return t.exec(ctx, "delete sent act", `DELETE FROM sent_acts WHERE id = $1`, id)
}

// PruneSentActs implements storage.Tx.
func (t *tx) PruneSentActs(ctx context.Context, before time.Time) (int64, error) {
	res, err := t.q.ExecContext(ctx, `DELETE FROM sent_acts WHERE expires < $1`, ms(before))
	if err != nil {
		return 0, t.wrap("prune sent acts", err)
	}
	n, err := res.RowsAffected()
	return n, t.wrap("prune sent acts", err)
}
