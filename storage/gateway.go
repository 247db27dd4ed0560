package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// GatewayReader reads the gateway's records of its sessions.
type GatewayReader interface {
	// LiveSession returns a live gateway session's row and when its owner
	// was last seen (zero when the owner has no row), or ErrNotFound.
	LiveSession(ctx context.Context, id string) (LiveSession, time.Time, error)
}

// GatewayWriter records the gateway's sessions as they live.
type GatewayWriter interface {
	// PutLiveSessions writes what is new of the sessions that owner
	// serves (w), and with touch records owner as seen at now. Nothing is
	// written for a session another owner has taken over; the IDs of the
	// sessions written are returned, so the caller learns which it lost.
	PutLiveSessions(ctx context.Context, owner string, w LiveWrite, touch bool, now time.Time) ([]string, error)
	// ClaimLiveSession hands a session from owner from to owner to, with
	// a new Place and marks (its old marks are deleted), attached; false
	// when from no longer owns it (another process took it first) or it
	// is gone.
	ClaimLiveSession(ctx context.Context, id, from, to string, place []byte, marks []LiveMark, now time.Time) (bool, error)
	// DeleteLiveSessions forgets sessions (ended, expired).
	DeleteLiveSessions(ctx context.Context, ids []string) error
	// SweepLiveSessions deletes the sessions detached before detached and
	// those (with their owners) of owners last seen before seen, and
	// returns how many sessions it deleted.
	SweepLiveSessions(ctx context.Context, detached, seen time.Time) (int, error)
}

// LiveSession is a gateway session as recorded while it lives, so that a
// RESUME on any process sharing the database can rebuild it. The storage
// keeps Meta and Place opaque: the gateway owns their shape.
type LiveSession struct {
	// ID is the session_id its client resumes with.
	ID     string
	UserID snowflake.ID
	// Owner is the process that serves it.
	Owner string
	// Meta is the session's slow-changing part; Place where it stands in
	// each log as of some seq. On a write, nil keeps the row's (a new row
	// must have both).
	Meta, Place []byte
	// Marks are its marks, in seq order (read only: written through
	// LiveWrite).
	Marks []LiveMark
	// DetachedAt is when its connection dropped; zero while attached.
	DetachedAt time.Time
	UpdatedAt  time.Time
	// New says the session has never been written. Only a new session's
	// row is inserted; any other is updated where this owner still holds
	// it, so that a row deleted meanwhile (claimed by another process and
	// signed out, or swept) is not made again by a stale owner.
	New bool
}

// LiveMark records that seqs First..Last of a session came from event Pos
// of log Log.
type LiveMark struct {
	Session     string
	First, Last int64
	Log         snowflake.ID
	Pos         int64
}

// LiveWrite is one write of the live sessions of a process.
type LiveWrite struct {
	// Sessions are rows to write (new ones, or ones whose meta, place or
	// detachment changed).
	Sessions []LiveSession
	// Marks are new marks to append.
	Marks []LiveMark
	// Folded is, per session, the seq up to which its marks are now in
	// its place: they are deleted.
	Folded map[string]int64
}
