package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// The kinds of Notice.
const (
	// NoticeUserDeleted: a user of this server was deleted
	// (spec/federation.md §18).
	NoticeUserDeleted = "user_deleted"
	// NoticeRelationship: a relationship act told after the change it
	// reports was stored (an ending, §17.3).
	NoticeRelationship = "relationship"
)

// Notice is a signed notice owed to one peer, outside any guild log: kept
// from the transaction that made the change until the peer answers, so
// that neither a peer away nor a restart loses it.
type Notice struct {
	ID   snowflake.ID
	Peer string
	Kind string
	// Body is the notice's JSON, as sent.
	Body []byte
	// UserID is this server's user the notice is about; OtherID the
	// peer's user, for a relationship (0 otherwise).
	UserID, OtherID snowflake.ID
	// Attempts counts the sends that failed.
	Attempts int
	// NextAt is when it is next due.
	NextAt    time.Time
	CreatedAt time.Time
}

// NoticeReader reads owed notices.
type NoticeReader interface {
	// DueNotices lists the notices due at now (NextAt at or before it),
	// soonest first, at most limit.
	DueNotices(ctx context.Context, now time.Time, limit int) ([]Notice, error)
	// PendingNotices lists the notices owed to peer, oldest first, at
	// most limit, due or not.
	PendingNotices(ctx context.Context, peer string, limit int) ([]Notice, error)
}

// NoticeWriter queues, reschedules and drops notices.
type NoticeWriter interface {
	// QueueNotice stores a notice.
	QueueNotice(ctx context.Context, n Notice) error
	// RescheduleNotice records a failed send: attempts and next due time.
	// ErrNotFound when it is gone.
	RescheduleNotice(ctx context.Context, id snowflake.ID, attempts int, next time.Time) error
	// DeleteNotice drops a notice (answered, or given up); ErrNotFound
	// when it is gone.
	DeleteNotice(ctx context.Context, id snowflake.ID) error
	// HurryNotices makes every notice owed to peer due at now: the peer
	// has just shown it is up.
	HurryNotices(ctx context.Context, peer string, now time.Time) error
}
