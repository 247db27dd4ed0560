package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// FederationRule is an instance administrator's rule about one server.
type FederationRule struct {
	Server string
	// Rule is RuleBlock or RuleAllow.
	Rule      string
	CreatedAt time.Time
}

// The rules a FederationRule may hold.
const (
	// RuleBlock refuses the server: its requests, and anything sent to it.
	RuleBlock = "block"
	// RuleAllow lets the server federate when the homeserver federates
	// only with the servers it allows.
	RuleAllow = "allow"
)

// Membership is one member of one guild.
type Membership struct {
	GuildID, UserID snowflake.ID
}

// AdminReader reads what instance administration keeps.
type AdminReader interface {
	// IsAdmin reports whether a user administers this homeserver.
	IsAdmin(ctx context.Context, userID snowflake.ID) (bool, error)
	// LocalUserCount counts this homeserver's own accounts (bots too).
	LocalUserCount(ctx context.Context) (int, error)
	// FederationRules lists the rules, by server name.
	FederationRules(ctx context.Context) ([]FederationRule, error)
	// MembershipsFrom lists the memberships, in this homeserver's own
	// guilds, of the users of server.
	MembershipsFrom(ctx context.Context, server string) ([]Membership, error)
}

// AdminWriter keeps instance administrators and federation rules.
type AdminWriter interface {
	// SetAdmin grants (at at) or revokes a user's administration;
	// granting twice or revoking a non-administrator changes nothing.
	SetAdmin(ctx context.Context, userID snowflake.ID, admin bool, at time.Time) error
	// SetFederationRule sets the rule about a server, replacing any.
	SetFederationRule(ctx context.Context, r FederationRule) error
	// DeleteFederationRule removes the rule about a server; ErrNotFound
	// when there is none.
	DeleteFederationRule(ctx context.Context, server string) error
}
