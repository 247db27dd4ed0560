package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"hearth/snowflake"
	"hearth/storage"
)

const relationshipColumns = `user_id, other_id, type, since, nickname`

func scanRelationship(row scanner) (storage.Relationship, error) {
	var (
		r     storage.Relationship
		since int64
	)
	err := row.Scan(scanID(&r.UserID), scanID(&r.OtherID), &r.Type, &since, &r.Nickname)
	r.Since = fromMS(since)
	return r, err
}

// Relationships implements storage.Reader.
func (r reader) Relationships(ctx context.Context, userID snowflake.ID) ([]storage.Relationship, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+relationshipColumns+` FROM relationships WHERE user_id = $1 ORDER BY other_id`, int64(userID))
	if err != nil {
		return nil, r.wrap("relationships", err)
	}
	defer rows.Close()
	out := []storage.Relationship{}
	for rows.Next() {
		rel, err := scanRelationship(rows)
		if err != nil {
			return nil, r.wrap("relationships", err)
		}
		out = append(out, rel)
	}
	return out, r.wrap("relationships", rows.Err())
}

// Relationship implements storage.Reader.
func (r reader) Relationship(ctx context.Context, userID, otherID snowflake.ID) (storage.Relationship, error) {
	rel, err := scanRelationship(r.q.QueryRowContext(ctx,
		`SELECT `+relationshipColumns+` FROM relationships WHERE user_id = $1 AND other_id = $2`, int64(userID), int64(otherID)))
	return rel, r.wrap("relationship", err)
}

// CountRelationships implements storage.Reader.
func (r reader) CountRelationships(ctx context.Context, userID snowflake.ID, typ int) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM relationships WHERE user_id = $1 AND type = $2`, int64(userID), typ).Scan(&n)
	return n, r.wrap("count relationships", err)
}

// FriendsOf implements storage.Reader.
func (r reader) FriendsOf(ctx context.Context, otherID snowflake.ID) ([]snowflake.ID, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT user_id FROM relationships WHERE other_id = $1 AND type = $2 ORDER BY user_id`,
		int64(otherID), storage.RelationshipFriend)
	if err != nil {
		return nil, r.wrap("friends of", err)
	}
	defer rows.Close()
	var out []snowflake.ID
	for rows.Next() {
		var id snowflake.ID
		if err := rows.Scan(scanID(&id)); err != nil {
			return nil, r.wrap("friends of", err)
		}
		out = append(out, id)
	}
	return out, r.wrap("friends of", rows.Err())
}

// DMFriendsOnly implements storage.Reader.
func (r reader) DMFriendsOnly(ctx context.Context, userID snowflake.ID) (bool, error) {
	var on bool
	err := r.q.QueryRowContext(ctx, `SELECT friends_only FROM dm_settings WHERE user_id = $1`, int64(userID)).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return on, r.wrap("dm friends only", err)
}

// SetRelationship implements storage.Tx.
func (t *tx) SetRelationship(ctx context.Context, rel storage.Relationship) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO relationships (`+relationshipColumns+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id, other_id) DO UPDATE SET type = excluded.type, since = excluded.since`,
		int64(rel.UserID), int64(rel.OtherID), rel.Type, ms(rel.Since), rel.Nickname)
	return t.wrap("set relationship", err)
}

// SetRelationshipNickname implements storage.Tx.
func (t *tx) SetRelationshipNickname(ctx context.Context, userID, otherID snowflake.ID, nickname string) error {
	res, err := t.q.ExecContext(ctx, `UPDATE relationships SET nickname = $3 WHERE user_id = $1 AND other_id = $2`,
		int64(userID), int64(otherID), nickname)
	if err != nil {
		return t.wrap("set relationship nickname", err)
	}
	return t.wrap("set relationship nickname", mustAffect(res))
}

// DeleteRelationship implements storage.Tx.
func (t *tx) DeleteRelationship(ctx context.Context, userID, otherID snowflake.ID) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM relationships WHERE user_id = $1 AND other_id = $2`, int64(userID), int64(otherID))
	if err != nil {
		return t.wrap("delete relationship", err)
	}
	return t.wrap("delete relationship", mustAffect(res))
}

// SetDMFriendsOnly implements storage.Tx.
func (t *tx) SetDMFriendsOnly(ctx context.Context, userID snowflake.ID, friendsOnly bool) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO dm_settings (user_id, friends_only) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET friends_only = excluded.friends_only`, int64(userID), friendsOnly)
	return t.wrap("set dm friends only", err)
}
