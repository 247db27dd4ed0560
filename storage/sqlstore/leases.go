package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// TakeLease implements storage.LeaseStore. One upsert decides: the row is
// written when it is new, the holder's own, or expired, and RETURNING
// yields nothing otherwise; the database serialises racing takers on the
// row.
func (s *Store) TakeLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	var got string
	err := s.writer.QueryRowContext(ctx, `INSERT INTO leases (name, holder, expires_at, renewed_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, renewed_at = excluded.renewed_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.renewed_at
		RETURNING holder`, name, holder, ms(now.Add(ttl)), ms(now)).Scan(&got)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return false, s.wrap("take lease "+name, err)
	}
	return true, nil
}

// ReleaseLease implements storage.LeaseStore.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.writer.ExecContext(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder)
	return s.wrap("release lease "+name, err)
}

// TakeNode implements storage.LeaseStore: it lists the nodes free now and
// tries them from a random one on, each with an upsert that only an
// expired (or absent) lease lets through, so that two processes racing
// for one node cannot both win it.
func (s *Store) TakeNode(ctx context.Context, holder string, now time.Time, ttl time.Duration) (uint16, error) {
	rows, err := s.writer.QueryContext(ctx, `SELECT node FROM node_leases WHERE expires_at > $1`, ms(now))
	if err != nil {
		return 0, s.wrap("take node: list", err)
	}
	held := map[uint16]bool{}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return 0, s.wrap("take node: list", err)
		}
		held[uint16(n)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.wrap("take node: list", err)
	}
	const nodes = int(snowflake.BackfillNode) // 0 .. BackfillNode-1
	start := rand.IntN(nodes)
	for i := range nodes {
		n := uint16((start + i) % nodes)
		if held[n] {
			continue
		}
		var got int
		err := s.writer.QueryRowContext(ctx, `INSERT INTO node_leases (node, holder, expires_at, renewed_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (node) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, renewed_at = excluded.renewed_at
			WHERE node_leases.expires_at <= excluded.renewed_at
			RETURNING node`, int(n), holder, ms(now.Add(ttl)), ms(now)).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			continue // taken meanwhile by another process
		}
		if err != nil {
			return 0, s.wrap("take node", err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("take node: all %d snowflake nodes are leased: %w", nodes, storage.ErrConflict)
}

// RenewNode implements storage.LeaseStore.
func (s *Store) RenewNode(ctx context.Context, node uint16, holder string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := s.writer.ExecContext(ctx, `UPDATE node_leases SET expires_at = $1, renewed_at = $2 WHERE node = $3 AND holder = $4`,
		ms(now.Add(ttl)), ms(now), int(node), holder)
	if err != nil {
		return false, s.wrap("renew node", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.wrap("renew node", err)
	}
	return n == 1, nil
}

// ReleaseNode implements storage.LeaseStore.
func (s *Store) ReleaseNode(ctx context.Context, node uint16, holder string) error {
	_, err := s.writer.ExecContext(ctx, `DELETE FROM node_leases WHERE node = $1 AND holder = $2`, int(node), holder)
	return s.wrap("release node", err)
}

// LogHeads implements storage.LeaseStore.
func (s *Store) LogHeads(ctx context.Context) (map[snowflake.ID]int64, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT log_id, seq FROM log_heads`)
	if err != nil {
		return nil, s.wrap("log heads", err)
	}
	defer rows.Close()
	out := map[snowflake.ID]int64{}
	for rows.Next() {
		var id, seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, s.wrap("log heads", err)
		}
		out[snowflake.ID(id)] = seq
	}
	return out, s.wrap("log heads", rows.Err())
}
