package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// FederationReader holds the federation queries of Reader.
type FederationReader interface {
	// FederatedID finds the local snowflake (and scope) of an object of
	// another homeserver, or ErrNotFound.
	FederatedID(ctx context.Context, origin, originID string) (Mapping, error)
	// FederatedIDs finds the local snowflakes (and scopes) of several
	// objects of other homeservers at once; those never seen are absent
	// from the answer.
	FederatedIDs(ctx context.Context, gs []GlobalID) (map[GlobalID]Mapping, error)
	// FederatedOrigins finds where the given local snowflakes come from;
	// IDs of local objects are absent from the answer.
	FederatedOrigins(ctx context.Context, ids []snowflake.ID) (map[snowflake.ID]GlobalID, error)
	// DeliveryCursors lists every peer's cursor into every log, by peer
	// then log.
	DeliveryCursors(ctx context.Context) ([]Cursor, error)
	// DeliveryCursor returns one cursor, or ErrNotFound.
	DeliveryCursor(ctx context.Context, peer string, logID snowflake.ID) (Cursor, error)
	// Replica returns the replica of a log, or ErrNotFound when the log is
	// not a copy of another homeserver's.
	Replica(ctx context.Context, logID snowflake.ID) (Replica, error)
	// Replicas lists every replica, by log.
	Replicas(ctx context.Context) ([]Replica, error)
	// HistoryFloor is the origin's snowflake at or below which a replica
	// channel's history from before the replica began remains to fetch
	// (first the newest message it had then, lowered with each page
	// fetched); ErrNotFound when there is none.
	HistoryFloor(ctx context.Context, channelID snowflake.ID) (snowflake.ID, error)
	// MemberOrigins lists the homeservers, other than this one, whose
	// users are members of a guild (the guild's peers), sorted.
	MemberOrigins(ctx context.Context, guildID snowflake.ID) ([]string, error)
	// OriginMembers lists the IDs of a guild's members who are users of
	// origin, by ID.
	OriginMembers(ctx context.Context, guildID snowflake.ID, origin string) ([]snowflake.ID, error)
	// ActReceipt returns the receipt of an act a peer sent, by act ID, or
	// ErrNotFound.
	ActReceipt(ctx context.Context, id string) (ActReceipt, error)
	// SentAct returns an act this server sent for one of its users, by act
	// ID, or ErrNotFound.
	SentAct(ctx context.Context, id string) (SentAct, error)
	// MessageAuthor returns which of this server's users wrote the
	// message origin numbers originID, as recorded by RecordAuthor, or
	// ErrNotFound.
	MessageAuthor(ctx context.Context, origin, originID string) (snowflake.ID, error)
}

// FederationWriter holds the federation writes of Tx.
type FederationWriter interface {
	// MapFederatedID records the local snowflake of an object of another
	// homeserver and its scope; ErrConflict if the pair or the local ID is
	// mapped.
	MapFederatedID(ctx context.Context, g GlobalID, m Mapping) error
	// MapFederatedIDs records several mappings at once, as MapFederatedID.
	MapFederatedIDs(ctx context.Context, m map[GlobalID]Mapping) error
	// SetDeliveryCursor creates a cursor or moves it forward; a cursor is
	// never moved back (a late acknowledgement from a process whose lease
	// ran out must not undo the next holder's).
	SetDeliveryCursor(ctx context.Context, c Cursor) error
	// DeleteDeliveryCursor stops delivering a log to a peer; deleting a
	// cursor that does not exist is not an error.
	DeleteDeliveryCursor(ctx context.Context, peer string, logID snowflake.ID) error
	// SetReplica creates or moves a replica's position.
	SetReplica(ctx context.Context, r Replica) error
	// SetHistoryFloor records a replica channel's floor (see HistoryFloor).
	SetHistoryFloor(ctx context.Context, channelID, floor snowflake.ID) error
	// DeleteHistoryFloor records that a replica channel's history is
	// complete; deleting one that does not exist is not an error.
	DeleteHistoryFloor(ctx context.Context, channelID snowflake.ID) error
	// RemapFederatedMessage gives the message g, mapped to from before
	// its row arrived (a reply or a pin notice named it), the local
	// snowflake to instead, and points the messages of guildID that refer
	// to from at to. ErrNotFound when g is not mapped to from.
	RemapFederatedMessage(ctx context.Context, guildID snowflake.ID, g GlobalID, from, to snowflake.ID) error
	// ClaimActReceipt records that an act is being carried out (r.Done is
	// ignored); ErrConflict if its ID has a receipt already, so that of
	// two copies of one act only the first claims it.
	ClaimActReceipt(ctx context.Context, r ActReceipt) error
	// CompleteActReceipt records a claimed act's answer; ErrNotFound if it
	// has no receipt.
	CompleteActReceipt(ctx context.Context, id string, seq int64, result []byte) error
	// DeleteActReceipt removes a receipt (an act refused after its claim);
	// deleting one that does not exist is not an error.
	DeleteActReceipt(ctx context.Context, id string) error
	// PruneActReceipts removes the receipts whose deadline is before t and
	// says how many it removed.
	PruneActReceipts(ctx context.Context, t time.Time) (int64, error)
	// RecordSentAct records an act this server is about to send;
	// ErrConflict if its ID is recorded already.
	RecordSentAct(ctx context.Context, a SentAct) error
	// UseSentAct records that an event of kind (a bit) was attributed to
	// the act: its Used becomes used; ErrNotFound if it has no row.
	UseSentAct(ctx context.Context, id string, used int) error
	// DeleteSentAct forgets a sent act; deleting one that does not exist
	// is not an error.
	DeleteSentAct(ctx context.Context, id string) error
	// PruneSentActs removes the sent acts that expire before t and says
	// how many it removed.
	PruneSentActs(ctx context.Context, t time.Time) (int64, error)
	// RecordAuthor records that user, one of this server's, wrote the
	// message origin numbers originID (an act of theirs made it); kept
	// for good. Recording it again changes nothing.
	RecordAuthor(ctx context.Context, origin, originID string, user snowflake.ID) error
}

// SentAct is this server's record of an act it sent to an origin for one
// of its users: an event of the origin that says the user wrote, edited or
// reacted is accepted only when it names such an act (spec/federation.md
// §14, "Writes in a user's name").
type SentAct struct {
	// ID is the act's ID, "<snowflake>@<this server>".
	ID string
	// LogID is the replica (guild or DM channel) the act is about.
	LogID  snowflake.ID
	UserID snowflake.ID
	Action string
	// MessageID is the message acted on, 0 for none.
	MessageID snowflake.ID
	// Used holds a bit for each kind of event already attributed to the
	// act, so that each kind is attributed to it once.
	Used    int
	Expires time.Time
}

// ActReceipt is an origin's record of an act it accepted from a peer: a
// repeat of the act is answered from it instead of being applied again.
type ActReceipt struct {
	// ID is the act's ID, "<snowflake>@<peer>".
	ID   string
	Peer string
	// LogID is the guild or DM channel whose log the act is about.
	LogID snowflake.ID
	// Digest identifies the act's content, so that an ID reused for
	// another act is told apart.
	Digest   string
	Deadline time.Time
	// Done is false while the act is being carried out; once it is done,
	// Seq and Result are its answer.
	Done   bool
	Seq    int64
	Result []byte
}

// GlobalID names an object by the homeserver it was made on and its ID
// there.
type GlobalID struct {
	Origin   string
	OriginID string
}

// Mapping is where an object of another homeserver lives here: its local
// snowflake, and its scope, the replica (local guild or DM channel) it
// belongs to, or 0 for a user (who belongs to none). The scope lets a
// replica refuse an origin's event that names another replica's object.
type Mapping struct {
	Local snowflake.ID
	Scope snowflake.ID
}

// Cursor is how far a peer has acknowledged a log.
type Cursor struct {
	Peer  string
	LogID snowflake.ID
	Seq   int64
}

// Replica is this homeserver's copy of another's log (a guild's): the
// origin's events up to Seq are applied here.
type Replica struct {
	LogID  snowflake.ID
	Origin string
	Seq    int64
}
