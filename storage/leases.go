package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// LeaseStore holds the claims that let several processes share one
// database (spec/scaling.md): named leases (one federation sender per
// peer, one process running the sweeps) and snowflake node leases (no two
// processes hand out the same ID). A lease expires at now+ttl unless its
// holder renews it; a holder names one process for its life.
type LeaseStore interface {
	// TakeLease takes the lease name for holder until now+ttl, or renews
	// it when holder has it already; it reports false, with no error,
	// when another holder has it and it has not expired by now.
	TakeLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseLease gives up holder's lease name (nothing when another
	// holds it), so that another process may take it at once.
	ReleaseLease(ctx context.Context, name, holder string) error
	// TakeNode leases holder a snowflake node no live lease holds (0 to
	// snowflake.BackfillNode-1), until now+ttl; ErrConflict when every one
	// is held.
	TakeNode(ctx context.Context, holder string, now time.Time, ttl time.Duration) (uint16, error)
	// RenewNode extends holder's lease of node to now+ttl; false when the
	// lease is no longer holder's (it expired and another took it).
	RenewNode(ctx context.Context, node uint16, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseNode gives up holder's lease of node.
	ReleaseNode(ctx context.Context, node uint16, holder string) error
	// LogHeads is the head (last sequence number) of every log: what a
	// process compares with what it has read, to find commits whose
	// announcement it missed.
	LogHeads(ctx context.Context) (map[snowflake.ID]int64, error)
}

// Broadcast lets the processes sharing one database tell each other of
// what they committed (PostgreSQL's LISTEN/NOTIFY). Only a store that
// several processes may share implements it; SQLite serves one process.
type Broadcast interface {
	// Notify sends payload (at most 7,999 bytes) to every process
	// listening, this one included.
	Notify(ctx context.Context, payload string) error
	// Listen receives what Notify sends, on a connection of its own,
	// until ctx ends. It calls connected each time it has (re)started
	// listening (announcements sent while it was not are lost: the
	// caller re-reads what it may have missed) and got with each
	// payload, in the order sent. It reconnects by itself after a
	// failure, and returns only when ctx ends.
	Listen(ctx context.Context, connected func(), got func(payload string)) error
}
