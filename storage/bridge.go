package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// BridgeReader reads the Discord bridge's records (spec/bridge.md).
type BridgeReader interface {
	// BridgeID returns the local object mirroring a Discord object of a
	// kind, or ErrNotFound.
	BridgeID(ctx context.Context, kind, remote string) (snowflake.ID, error)
	// BridgeRemote returns the Discord object a local object of a kind
	// mirrors, or ErrNotFound.
	BridgeRemote(ctx context.Context, kind string, local snowflake.ID) (string, error)
	// BridgeRemotes returns every Discord object of a kind that a local
	// object mirrors (the parts of a split message), in Discord's order
	// (by ID as a number); none is an empty list.
	BridgeRemotes(ctx context.Context, kind string, local snowflake.ID) ([]string, error)
	// BridgeValue returns a named value, or ErrNotFound.
	BridgeValue(ctx context.Context, key string) (string, error)
	// BridgeValues lists the named values whose key starts with prefix,
	// by key.
	BridgeValues(ctx context.Context, prefix string) ([]BridgeValue, error)
}

// BridgeWriter writes the Discord bridge's records.
type BridgeWriter interface {
	// AddBridgeID records that local mirrors the Discord object (kind,
	// remote); ErrConflict when that object is mapped already. On
	// PostgreSQL a conflict aborts the transaction: check with BridgeID
	// first when the transaction must go on.
	AddBridgeID(ctx context.Context, kind, remote string, local snowflake.ID) error
	// DeleteBridgeID forgets a Discord object's mapping; a missing one is
	// no error.
	DeleteBridgeID(ctx context.Context, kind, remote string) error
	// SetBridgeValue writes a named value, replacing any.
	SetBridgeValue(ctx context.Context, key, value string, at time.Time) error
	// DeleteBridgeValue removes a named value; a missing one is no error.
	DeleteBridgeValue(ctx context.Context, key string) error
}

// BridgeValue is one of the bridge's named values.
type BridgeValue struct {
	Key       string
	Value     string
	UpdatedAt time.Time
}
