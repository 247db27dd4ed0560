// Package storage is the homeserver's persistence boundary: the interface the
// domain calls, the records it reads and writes, and the errors it can expect.
// The SQLite and PostgreSQL implementations live in subpackages and pass the
// same conformance suite (storage/storagetest).
package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"hearth/snowflake"
)

// Errors every implementation returns, wrapped, so that callers can test for
// them with errors.Is whatever the database.
var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrConflict means a unique constraint refused the write.
	ErrConflict = errors.New("storage: conflict")
	// ErrDangling means a foreign key refused the write: it names a row
	// that does not exist (a peer's payload naming what is not here).
	ErrDangling = errors.New("storage: reference to a missing row")
	// ErrFull means the disk under the database or the file store has no
	// room left (SQLite's SQLITE_FULL, PostgreSQL's disk_full, ENOSPC or
	// EDQUOT from a file write): the write was refused whole and nothing
	// was half written, and the same write may succeed once space is
	// freed.
	ErrFull = errors.New("storage: disk full")
)

// Store is a homeserver's database. Reads on it see committed data; writes
// happen only inside Update, so that an event-log append and the state change
// it describes commit together or not at all.
type Store interface {
	Reader
	LeaseStore

	// Update runs fn in one write transaction, committed if fn returns nil
	// and rolled back otherwise. fn may be called again when the database
	// reports a serialisation failure, so it must not have side effects
	// outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Pools reports the connection pools behind the store, by name, for
	// metrics.
	Pools() map[string]*sql.DB
	// Dialect names the implementation: "sqlite" or "postgres".
	Dialect() string
	// Close releases the database; it waits for nothing that is in flight.
	Close() error
}

// Reader holds the queries that may run inside or outside a transaction.
type Reader interface {
	GuildReader
	MessageReader
	ThreadReader
	FederationReader
	GatewayReader
	ApplicationReader
	CommandReader
	InteractionReader
	DeviceReader
	AdminReader
	AccountReader
	EmailReader
	ReportReader
	RegistrationTokenReader
	RelationshipReader
	ProfileReader
	ReadStateReader
	WebhookReader
	NoticeReader
	BridgeReader

	// UserByID returns a user, or ErrNotFound.
	UserByID(ctx context.Context, id snowflake.ID) (User, error)
	// UserByUsername finds a local user by name, ignoring case, or ErrNotFound.
	UserByUsername(ctx context.Context, username string) (User, error)
	// SessionByID returns a session, or ErrNotFound.
	SessionByID(ctx context.Context, id snowflake.ID) (Session, error)

	// Events returns the events of one log with a sequence number above
	// after, in order, at most limit of them.
	Events(ctx context.Context, logID snowflake.ID, after int64, limit int) ([]Event, error)
	// FileHashes lists the hashes every file reference in the database
	// holds (attachments, avatars, banners, guild, role and group DM icons, custom
	// emoji), as stored: an animated image's hash keeps its "a_".
	FileHashes(ctx context.Context) (map[string]bool, error)
	// LogHead is the sequence number of the last event of a log (0 when it
	// has none).
	LogHead(ctx context.Context, logID snowflake.ID) (int64, error)
}

// Tx is a write transaction.
type Tx interface {
	Reader
	GuildWriter
	MessageWriter
	ThreadWriter
	FederationWriter
	GatewayWriter
	ApplicationWriter
	CommandWriter
	InteractionWriter
	DeviceWriter
	AdminWriter
	AccountWriter
	EmailWriter
	ReportWriter
	RegistrationTokenWriter
	RelationshipWriter
	ProfileWriter
	ReadStateWriter
	WebhookWriter
	NoticeWriter
	BridgeWriter

	// CreateUser inserts a user; ErrConflict when the name is taken
	// (compared case-insensitively) or the origin pair exists.
	CreateUser(ctx context.Context, u User) error
	// UpdateUser writes every mutable field of u; ErrConflict when a new
	// name is taken, ErrNotFound when the user does not exist.
	UpdateUser(ctx context.Context, u User) error

	// LockUser holds a user's row until the transaction ends, so that a
	// check-then-write about the user (what they own, a row keyed by their
	// ID) is not raced by another transaction; ErrNotFound if absent.
	LockUser(ctx context.Context, id snowflake.ID) error
	// LockAccounts holds the homeserver's account-creation lock until the
	// transaction ends, so that a decision about the accounts as a whole
	// (is this the first one?) is not raced by another registration.
	LockAccounts(ctx context.Context) error

	// CreateSession records a sign-in.
	CreateSession(ctx context.Context, s Session) error
	// DeleteSession ends one session; ErrNotFound if it did not exist.
	DeleteSession(ctx context.Context, id snowflake.ID) error
	// DeleteUserSessions ends every session of a user except keep (0 keeps
	// none) and returns the IDs it ended.
	DeleteUserSessions(ctx context.Context, userID, keep snowflake.ID) ([]snowflake.ID, error)

	// AppendEvent adds an event at the end of its log and returns it with
	// its sequence number set. Sequence numbers start at 1 and have no gap:
	// concurrent appenders to one log are serialised by the transaction.
	AppendEvent(ctx context.Context, e Event) (Event, error)
	// AppendEvents appends several events at once, with the same guarantees
	// as AppendEvent, in the order given (consecutive events of one log get
	// consecutive numbers).
	AppendEvents(ctx context.Context, evs []Event) ([]Event, error)
}

// User is an account: a local person or bot, or a remote user mirrored from
// another homeserver (Origin set).
type User struct {
	ID       snowflake.ID
	Username string
	// GlobalName is the display name; empty means none.
	GlobalName string
	// Avatar is the hash of the current avatar image; empty means none.
	Avatar string
	// Banner is the hash of the current profile banner; empty means none.
	Banner       string
	Bio          string
	Pronouns     string
	AccentColor  *int
	Bot          bool
	PasswordHash string
	Flags        int64
	CreatedAt    time.Time
	// Origin and OriginID identify a remote user on its own homeserver;
	// both are empty for a local user.
	Origin   string
	OriginID string
}

// Session is one sign-in: the token a client holds names it, so that deleting
// the row revokes the token.
type Session struct {
	ID        snowflake.ID
	UserID    snowflake.ID
	CreatedAt time.Time
	LastUsed  time.Time
	// Client describes who signed in (user agent), for the user's own list.
	Client string
	// Address is where the session signed in from, or was last used
	// from, for the same list.
	Address string
}

// Event is one entry of an ordered log: a guild's, or a DM channel's.
type Event struct {
	// LogID is the guild or DM channel the log belongs to.
	LogID snowflake.ID
	// Seq is the event's place in its log, from 1, without gaps.
	Seq int64
	// Type is the Discord dispatch name, such as MESSAGE_CREATE.
	Type string
	// Payload is the dispatch's JSON "d".
	Payload   []byte
	CreatedAt time.Time
	// Act is the ID of the peer's act the event carries out ("" for none),
	// named to peers so that the acting user's server can check it.
	Act string
	// Process is, for an ephemeral event (Seq 0) that another process
	// sharing the database published and relayed here, that process's
	// tag; "" for this process's own events and for logged ones. Such an
	// event is for this process's gateway sessions only: its publisher
	// already told federation peers, and nothing relays it further.
	Process string
}

// Scope is what a write may reach: the objects of one guild, or one DM
// channel. Writes of objects that belong to a guild or a DM channel take
// the scope their caller acts in and restrict their SQL by it, so that a
// write naming another guild's object (an ID a peer slipped into a replica's
// event, say) finds nothing, as if the object did not exist. The zero Scope
// reaches nothing.
type Scope struct {
	// GuildID is the guild; 0 for a DM channel.
	GuildID snowflake.ID
	// ChannelID is the DM channel when GuildID is 0, and unused otherwise.
	ChannelID snowflake.ID
}

// InGuild is the scope of a guild's objects.
func InGuild(guildID snowflake.ID) Scope { return Scope{GuildID: guildID} }

// InDM is the scope of one DM channel (1:1 or group) and its messages.
func InDM(channelID snowflake.ID) Scope { return Scope{ChannelID: channelID} }

// ScopeOf is the scope a channel is in: its guild's, or its own for a DM
// channel.
func ScopeOf(c Channel) Scope {
	if c.GuildID != 0 {
		return InGuild(c.GuildID)
	}
	return InDM(c.ID)
}
