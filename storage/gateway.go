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
}

// GatewayWriter saves the gateway's state across a restart.
type GatewayWriter interface {
	// SetGatewayState replaces the saved state with st; an empty st
	// clears it.
	SetGatewayState(ctx context.Context, st GatewayState) error
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
