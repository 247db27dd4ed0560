package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// Relationship types, Discord's numbers.
const (
	RelationshipFriend   = 1
	RelationshipBlocked  = 2
	RelationshipIncoming = 3
	RelationshipOutgoing = 4
)

// Relationship is how one of this server's users (UserID) stands towards
// another user (OtherID), local or remote: one side's view. A friendship of
// two local users is two rows, a request an outgoing and an incoming row,
// a block the blocker's row alone.
type Relationship struct {
	UserID  snowflake.ID
	OtherID snowflake.ID
	// Type is one of the Relationship* constants.
	Type  int
	Since time.Time
	// Nickname is the name UserID gives OtherID in their own list
	// (Discord's friend nickname); "" for none.
	Nickname string
}

// RelationshipReader reads relationships and the DM policy they feed.
type RelationshipReader interface {
	// Relationships lists a user's relationships, by OtherID.
	Relationships(ctx context.Context, userID snowflake.ID) ([]Relationship, error)
	// Relationship returns userID's row about otherID, or ErrNotFound.
	Relationship(ctx context.Context, userID, otherID snowflake.ID) (Relationship, error)
	// CountRelationships counts a user's rows of one type.
	CountRelationships(ctx context.Context, userID snowflake.ID, typ int) (int, error)
	// FriendsOf lists the users whose row about otherID is a friendship
	// (accepted, not pending or blocked), by ID: for a user of another
	// server, this server's users who are their friends.
	FriendsOf(ctx context.Context, otherID snowflake.ID) ([]snowflake.ID, error)
	// DMFriendsOnly says whether a user takes one-to-one DMs from friends
	// only (false for a user who never said).
	DMFriendsOnly(ctx context.Context, userID snowflake.ID) (bool, error)
}

// RelationshipWriter writes relationships and the DM policy.
type RelationshipWriter interface {
	// SetRelationship writes r, replacing the type and since of the row
	// of the same pair; a row that exists keeps its nickname.
	SetRelationship(ctx context.Context, r Relationship) error
	// SetRelationshipNickname sets userID's nickname for otherID ("" for
	// none); ErrNotFound when there is no row.
	SetRelationshipNickname(ctx context.Context, userID, otherID snowflake.ID, nickname string) error
	// DeleteRelationship removes userID's row about otherID; ErrNotFound
	// when there was none.
	DeleteRelationship(ctx context.Context, userID, otherID snowflake.ID) error
	// SetDMFriendsOnly records a user's DM policy.
	SetDMFriendsOnly(ctx context.Context, userID snowflake.ID, friendsOnly bool) error
}
