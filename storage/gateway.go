package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// GatewayReader reads what the gateway left for its next process.
type GatewayReader interface {
	// GatewayState returns the state the gateway saved when it last
	// stopped (empty when there is none).
	GatewayState(ctx context.Context) (GatewayState, error)
	// LiveSession returns a live gateway session's row and when its owner
	// was last seen (zero when the owner has no row), or ErrNotFound.
	LiveSession(ctx context.Context, id string) (LiveSession, time.Time, error)
}

// GatewayWriter saves the gateway's state across a restart.
type GatewayWriter interface {
	// SetGatewayState replaces the saved state with st; an empty st
	// clears it.
	SetGatewayState(ctx context.Context, st GatewayState) error
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

// GatewayState is what a stopping gateway hands to the next process so
// that its clients can RESUME there: its resumable sessions, and how far
// it had routed each log (events after that are routed to the sessions by
// the next process).
type GatewayState struct {
	Sessions []GatewaySession
	// Payloads are the sessions' recent dispatch payloads, each once; a
	// session's State refers to them by index.
	Payloads [][]byte
	// Cursors is, per log, the sequence number of the last event routed.
	Cursors map[snowflake.ID]int64
}

// GatewaySession is one saved gateway session.
type GatewaySession struct {
	// ID is the session_id its client resumes with.
	ID     string
	UserID snowflake.ID
	// State is the gateway's own record of the session, opaque here.
	State   []byte
	SavedAt time.Time
}
