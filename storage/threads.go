package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// Thread channel types.
const (
	ChannelAnnouncementThread = 10
	ChannelPublicThread       = 11
	ChannelPrivateThread      = 12
)

// IsThread reports whether a channel type is a thread.
func IsThread(typ int) bool {
	return typ == ChannelAnnouncementThread || typ == ChannelPublicThread || typ == ChannelPrivateThread
}

// ThreadMeta is what a thread has beyond a channel. A thread is a channel
// row whose ParentID is the text or announcement channel it lives in and
// whose OwnerID is who started it.
type ThreadMeta struct {
	Archived bool
	Locked   bool
	// Invitable: whether non-moderators may add others to a private thread.
	Invitable bool
	// AutoArchive is minutes of inactivity before archiving: 60, 1440,
	// 4320 or 10080.
	AutoArchive int
	// ArchivedAt is when Archived last changed.
	ArchivedAt time.Time
}

// ThreadMember is a user's membership of a thread.
type ThreadMember struct {
	ThreadID snowflake.ID
	UserID   snowflake.ID
	JoinedAt time.Time
	Flags    int
}

// ThreadReader holds the thread queries of Reader.
type ThreadReader interface {
	// ThreadMembers lists a thread's members, by user ID.
	ThreadMembers(ctx context.Context, threadID snowflake.ID) ([]ThreadMember, error)
	// ThreadMember returns one, or ErrNotFound.
	ThreadMember(ctx context.Context, threadID, userID snowflake.ID) (ThreadMember, error)
	// ActiveThreads lists a guild's threads that are not archived, by ID.
	ActiveThreads(ctx context.Context, guildID snowflake.ID) ([]Channel, error)
	// ArchivedThreads lists a parent channel's archived threads of the
	// given types, most recently archived first, archived before before
	// (zero: no bound), at most limit.
	ArchivedThreads(ctx context.Context, parentID snowflake.ID, types []int, before time.Time, limit int) ([]Channel, error)
	// IdleThreads lists unarchived threads whose last activity (newest
	// message, or creation) is older than their auto-archive duration at
	// now, at most limit; threads of replica guilds are not listed (their
	// origin archives them).
	IdleThreads(ctx context.Context, now time.Time, limit int) ([]Channel, error)
	// ThreadMessageCount counts the messages of a thread.
	ThreadMessageCount(ctx context.Context, threadID snowflake.ID) (int, error)
}

// ThreadWriter holds the thread writes of Tx.
type ThreadWriter interface {
	// AddThreadMember adds a member; ErrConflict if already one,
	// ErrNotFound if the thread is absent from s (both leave the
	// transaction usable).
	AddThreadMember(ctx context.Context, s Scope, m ThreadMember) error
	// RemoveThreadMember removes one; ErrNotFound if absent, or if the
	// thread is absent from s.
	RemoveThreadMember(ctx context.Context, s Scope, threadID, userID snowflake.ID) error
}
