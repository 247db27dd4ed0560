// Package replica applies another homeserver's events to this server's
// copy of its guild or DM channel (a replica), in this server's own
// snowflakes, refusing whole any batch that names what its origin does not
// own (spec/federation.md §10, §14). It holds the applier of live batches,
// the writes of a join's snapshot and of member pages, the checks of
// history pages, and the record of which events a replica accepts in the
// name of this server's users.
//
// Its entry points are whole operations run inside a transaction that the
// domain opens (Apply, ApplyState, ApplyMembers); what they need of the
// domain (the event log of the transaction, the clock, localization, edit
// history, the member bound) is lent through Env. The package depends on
// storage, wire, globalid, discord, snowflake, permission and media only,
// never on package homeserver: the domain calls it, not the reverse, and
// the domain's transaction path stays unexported
// (TestFederationHalfImports checks the rule).
package replica

import (
	"context"
	"fmt"
	"time"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// ErrForbidden is the refusal of a payload that names what its origin does
// not own, or is malformed. It is the ownership vocabulary's one error,
// globalid's, which the domain answers as FORBIDDEN; the applier's own
// refusals and the localizer's are then one error, mapped in one place.
var ErrForbidden = globalid.ErrForbidden

// Target is the replica a batch is applied to: a guild's, or a DM
// channel's.
type Target struct {
	// ID is the local guild or DM channel, and so the local log.
	ID     snowflake.ID
	Origin string
	// Global is the guild's or channel's global ID.
	Global string
	Guild  bool
}

// Scope is what the replica's writes may reach: its guild, or for a DM
// replica its one channel. Every storage write the applier makes passes
// it, so that an ID that resolves outside the replica (a local guild's
// message, another origin's role) finds nothing rather than being changed.
func (t Target) Scope() storage.Scope {
	if t.Guild {
		return storage.InGuild(t.ID)
	}
	return storage.InDM(t.ID)
}

// GuildID is the replica's guild; 0 for a DM channel.
func (t Target) GuildID() snowflake.ID {
	if t.Guild {
		return t.ID
	}
	return 0
}

// contains refuses a channel (or thread) that is not the replica's.
func (t Target) contains(c storage.Channel) error {
	if (t.Guild && c.GuildID == t.ID) || (!t.Guild && c.ID == t.ID) {
		return nil
	}
	return fmt.Errorf("channel %d is not in replica %s: %w", c.ID, t.Global, ErrForbidden)
}

// Env is what the domain lends the applier for one transaction.
type Env interface {
	// Append adds an event to a log of this server in the transaction;
	// it is published once the transaction commits.
	Append(ctx context.Context, logID snowflake.ID, typ string, payload any) error
	// Now is the domain's clock.
	Now() time.Time
	// Localize renders a decoded global payload in this server's IDs,
	// mirroring the users of other servers it names first.
	Localize(ctx context.Context, tx storage.Tx, l *globalid.Localizer, v any) ([]byte, error)
	// RenderAttachment is an attachment as this server's clients are
	// given it (its link on this server).
	RenderAttachment(a storage.Attachment) discord.Attachment
	// KeepRevision stores the current version of a message before a change
	// (edit history).
	KeepRevision(ctx context.Context, tx storage.Tx, s storage.Scope, m storage.Message, editor snowflake.ID, deleted bool) error
	Bound
}

// Check refuses a batch whose events are out of order or of a type no
// replica's log takes; it reads nothing, so it runs before a transaction
// is opened.
func Check(batch wire.EventBatch) error {
	last := batch.From
	for _, e := range batch.Events {
		if e.Seq <= last || e.Seq > batch.To {
			return fmt.Errorf("event seq %d out of order in %d..%d: %w", e.Seq, batch.From, batch.To, ErrForbidden)
		}
		if !replicableType(e.Type) {
			return fmt.Errorf("event seq %d of type %q: %w", e.Seq, e.Type, ErrForbidden)
		}
		last = e.Seq
	}
	return nil
}

// Apply applies, in tx, the events of batch past the replica's position
// after, appending each to this server's log of the replica through env
// (so that local sessions receive it). l is the transaction's localizer in
// replica mode for t. With opening, the batch starts a DM replica: its
// mapping is written by the same transaction. The replica's position is
// the caller's to move.
func Apply(ctx context.Context, tx storage.Tx, env Env, l *globalid.Localizer, t Target, batch wire.EventBatch, after int64, opening bool) error {
	l.Defer()
	if opening {
		l.Bind(t.Global, t.ID, true)
	}
	var globals []string
	decoded := make([]any, len(batch.Events))
	for i, e := range batch.Events {
		if e.Seq <= after {
			continue
		}
		v, err := globalid.Decode(e.D)
		if err != nil {
			return fmt.Errorf("event %d: %w: %w", e.Seq, ErrForbidden, err)
		}
		decoded[i] = v
		globals = append(globals, globalid.GlobalsIn(v)...)
	}
	if err := l.Preload(ctx, globals); err != nil {
		return err
	}
	ap := &applier{env: env, tx: tx, g: t, l: l, channels: map[snowflake.ID]bool{}, locals: map[snowflake.ID]bool{}}
	for i, e := range batch.Events {
		if e.Seq <= after {
			continue
		}
		// Read before localizing, which rewrites the decoded payload.
		ap.object = ""
		if obj, ok := decoded[i].(map[string]any); ok {
			ap.object, _ = obj["id"].(string)
		}
		d, err := env.Localize(ctx, tx, l, decoded[i])
		if err != nil {
			return fmt.Errorf("event %d: %w", e.Seq, err)
		}
		ap.act = e.Act
		if err := ap.apply(ctx, e.Type, d); err != nil {
			return fmt.Errorf("apply %s (seq %d): %w", e.Type, e.Seq, malformed(err))
		}
	}
	if opening {
		if err := ap.openedForUs(ctx); err != nil {
			return err
		}
	}
	if err := ap.flushMessages(ctx); err != nil {
		return err
	}
	if ap.addedMembers {
		if err := env.MemberBound(ctx, tx, t.ID); err != nil {
			return err
		}
	}
	if ap.addedObjects && t.Guild {
		if err := env.ObjectBound(ctx, tx, t.ID); err != nil {
			return err
		}
	}
	return l.Flush(ctx)
}
