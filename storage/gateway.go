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
	// PutLiveSessions writes the rows of sessions that owner serves, and
	// records owner as seen at now. A row another owner has taken over is
	// left alone; the IDs written are returned, so the caller learns which
	// sessions it lost. A session whose Meta is nil keeps the Meta it has.
	PutLiveSessions(ctx context.Context, owner string, ss []LiveSession, now time.Time) ([]string, error)
	// ClaimLiveSession hands a session's row from owner from to owner to,
	// with a new Place and Seq, attached; false when from no longer owns
	// it (another process took it first) or it is gone.
	ClaimLiveSession(ctx context.Context, id, from, to string, place []byte, seq int64, now time.Time) (bool, error)
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
	// Meta is the session's slow-changing part; nil on a write keeps the
	// row's.
	Meta []byte
	// Place is where the session is in each log.
	Place []byte
	// Seq is the last sequence number Place accounts for.
	Seq int64
	// DetachedAt is when its connection dropped; zero while attached.
	DetachedAt time.Time
	UpdatedAt  time.Time
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
