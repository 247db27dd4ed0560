package discord

import "hearth/snowflake"

// Relationship is Discord's relationship object: how the user stands
// towards another (Type 1 friend, 2 blocked, 3 incoming request, 4
// outgoing request).
type Relationship struct {
	ID       snowflake.ID `json:"id"`
	Type     int          `json:"type"`
	User     User         `json:"user"`
	Nickname *string      `json:"nickname"`
	Since    Timestamp    `json:"since"`
	// ShouldNotify is set on RELATIONSHIP_ADD of an incoming request, as
	// Discord's client reads it to chime.
	ShouldNotify bool `json:"should_notify,omitempty"`
}

// RelationshipRemove is RELATIONSHIP_REMOVE's payload: whom the ended
// relationship was with and what it was.
type RelationshipRemove struct {
	ID       snowflake.ID `json:"id"`
	Type     int          `json:"type"`
	Nickname *string      `json:"nickname"`
}
