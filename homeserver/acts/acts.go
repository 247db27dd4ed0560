// Package acts runs, on the origin, the acts its peers send for their
// users (spec/federation.md §7.3): an act's ID must be the signer's own
// and its deadline near, a repeat is answered from its receipt, the act
// is resolved against this server (who acts, in which guild or DM
// channel, on which channel and message, with which data) and handed to
// the small handler of its action in one table, under its deadline; the
// answer is the log's head after it and the result in global IDs.
//
// The handlers are the domain's: each decodes its action's data and calls
// the domain's exported write as a local client's request would, with the
// domain's principal and field types, so the origin's checks are the ones
// its own users meet. The domain lends them as a table, and lends what
// running an act asks of it (who a peer's user is here, the lookup of a
// global ID, its errors) through Domain and Refusals. The package depends
// on storage, wire, globalid and snowflake only, never on package
// homeserver (TestFederationHalfImports checks the rule).
package acts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"hearth/homeserver/globalid"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// ReceiptKeep is how long past its deadline a receipt is kept: an act is
// refused after its deadline whether or not its receipt is there, so this
// only covers the origin's own clock stepping back.
const ReceiptKeep = 10 * time.Minute

// Call is an act resolved against this server: who acts (P is the
// domain's principal), in which log, on which channel and message, with
// which data.
type Call[P any] struct {
	// Peer is the signer; Action the act's action.
	Peer, Action string
	// Actor is the peer's user the act is done for.
	Actor P
	// Guild is the act's guild; zero for an act in a DM channel.
	Guild storage.Guild
	// Log is the guild's log, or the DM channel's.
	Log snowflake.ID
	// Channel and Message are the act's channel and message, 0 when it
	// names none.
	Channel, Message snowflake.ID
	// Data is the action's body, its content's mentions in this server's
	// IDs.
	Data wire.ActData
}

// Handler carries out one action; its result (nil for none) is what the
// act is answered with.
type Handler[P any] func(ctx context.Context, c *Call[P]) (any, error)

// Domain is what running an act asks of the domain.
type Domain[P any] interface {
	// Now is the domain's clock (which tests may set).
	Now() time.Time
	// Actor is the principal of the user act names, who must be a user
	// of peer seen here; the user's profile is refreshed first from the
	// act's from when it names the same user.
	Actor(ctx context.Context, peer string, act wire.Act) (P, error)
	// Lookup localizes a global ID of an object this server holds (its
	// own or one it mirrors); an unknown one is notFound, "" is 0.
	Lookup(ctx context.Context, gid string, notFound error) (snowflake.ID, error)
	// OriginGuild is the guild of this server's that gid names.
	OriginGuild(ctx context.Context, gid string) (storage.Guild, error)
	// Mentions turns the mentions of a peer's content into this server's
	// IDs.
	Mentions(ctx context.Context, content string) string
	// WithAct marks ctx as carrying out the act id, so that the events
	// its writes log name it.
	WithAct(ctx context.Context, id string) context.Context
	// Global encodes a result in global IDs.
	Global(ctx context.Context, v any) (json.RawMessage, error)
}

// Refusals are the domain's errors an act is refused with, so that they
// reach the wire as the domain's own; a peer naming what it does not own
// is refused with globalid.ErrForbidden, which is the domain's too.
type Refusals struct {
	// Invalid refuses one field of the act.
	Invalid func(field, code, message string) error
	// Unavailable wraps a storage failure of op.
	Unavailable func(op string, err error) error
	// UnknownChannel and UnknownMessage refuse a channel or message this
	// server does not hold where the act looks for it.
	UnknownChannel, UnknownMessage error
	// TooLarge refuses data over wire.ActDataMaxSize.
	TooLarge error
	// Busy is the error of an act whose receipt was claimed and released
	// over and over.
	Busy error
	// Late is an error a handler fails with when its deadline stopped it
	// (besides context.DeadlineExceeded); past the deadline, either is
	// answered as wire.ErrExpired.
	Late error
}

// Runner carries out peers' acts on this server.
type Runner[P any] struct {
	// Store holds the receipts and the logs; Hot answers the channel
	// lookups of resolution from the domain's state cache.
	Store storage.Store
	Hot   storage.Reader
	// Table is the handler of each action a peer may ask for (spec
	// §7.2), fixed when the runner is made and never written.
	Table  map[string]Handler[P]
	Domain Domain[P]
	Refusals
	Log *slog.Logger
}

// Act does what peer asks for one of its users and answers with the
// result and the log position it is at. An act is carried out at most
// once: a repeat of its ID is answered from its receipt, and an act is
// refused after its deadline.
func (r Runner[P]) Act(ctx context.Context, peer string, act wire.Act) (wire.ActResult, error) {
	deadline, err := r.checkID(peer, act)
	if err != nil {
		return wire.ActResult{}, err
	}
	handler, ok := r.Table[act.Action]
	if !ok {
		return wire.ActResult{}, r.Invalid("action", "BASE_TYPE_CHOICES", "Unknown action.")
	}
	digest, err := wire.ActDigest(act)
	if err != nil {
		return wire.ActResult{}, err
	}
	if res, found, err := r.repeated(ctx, peer, act.ID, digest); found || err != nil {
		return res, err
	}
	if !r.Domain.Now().Before(deadline) {
		return wire.ActResult{}, fmt.Errorf("act %s: deadline %s: %w", act.ID, act.Deadline, wire.ErrExpired)
	}
	c, err := r.resolve(ctx, peer, act)
	if err != nil {
		return wire.ActResult{}, err
	}
	// Typing leaves no receipt: it is in no log and showing it twice is
	// harmless, and a peer must not make this server keep a row per
	// keystroke.
	record := act.Action != wire.ActTyping
	if record {
		if res, claimed, err := r.claim(ctx, storage.ActReceipt{ID: act.ID, Peer: peer, LogID: c.Log, Digest: digest, Deadline: deadline}); !claimed {
			return res, err
		}
	}
	// Carried out under the deadline: past it, the work stops, and the
	// log writer does not start a write whose caller's deadline is past.
	real := r.realDeadline(deadline)
	dctx, cancel := context.WithDeadline(r.Domain.WithAct(ctx, act.ID), real)
	result, err := handler(dctx, c)
	// By the clock, not dctx.Err(): a transaction bound by the same
	// deadline on another timer may fail before dctx's timer fires.
	expired := !time.Now().Before(real) && ctx.Err() == nil
	cancel()
	// What follows concerns an act that is done (or refused) and must be
	// recorded whether or not the peer is still waiting.
	bg, cancelBG := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelBG()
	if err != nil {
		if record {
			if derr := r.Store.Update(bg, func(tx storage.Tx) error { return tx.DeleteActReceipt(bg, act.ID) }); derr != nil {
				r.Log.Warn("act refused, but its receipt stays until pruned", "act", act.ID, "err", derr)
			}
		}
		if expired && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, r.Late)) {
			return wire.ActResult{}, fmt.Errorf("act %s: not done by %s (%v): %w", act.ID, act.Deadline, err, wire.ErrExpired)
		}
		return wire.ActResult{}, err
	}
	out, err := r.answer(bg, c.Log, result)
	if err != nil {
		return wire.ActResult{}, err
	}
	if record {
		err := r.Store.Update(bg, func(tx storage.Tx) error { return tx.CompleteActReceipt(bg, act.ID, out.Seq, out.Result) })
		if err != nil {
			// Done, so answered as done; a repeat meanwhile gets the log
			// head, as for an act still being carried out.
			r.Log.Warn("act done, but its answer was not recorded", "act", act.ID, "err", err)
		}
	}
	return out, nil
}

// claim records the receipt of an act about to be carried out. A copy of
// the act that arrived meanwhile and claimed it first wins: this one is
// then answered as a repeat (claimed false, with res and err its answer).
// A copy refused meanwhile has left no receipt, and the claim is tried
// again.
func (r Runner[P]) claim(ctx context.Context, rc storage.ActReceipt) (res wire.ActResult, claimed bool, err error) {
	for range 3 {
		err := r.Store.Update(ctx, func(tx storage.Tx) error { return tx.ClaimActReceipt(ctx, rc) })
		if err == nil {
			return wire.ActResult{}, true, nil
		}
		if !errors.Is(err, storage.ErrConflict) {
			return wire.ActResult{}, false, r.Unavailable("act", err)
		}
		res, found, err := r.repeated(ctx, rc.Peer, rc.ID, rc.Digest)
		if found || err != nil {
			return res, false, err
		}
	}
	return wire.ActResult{}, false, fmt.Errorf("act %s: claimed and released over and over: %w", rc.ID, r.Busy)
}

// realDeadline turns a deadline on the domain's clock (which tests may
// set) into one on the process's clock, which contexts run on.
func (r Runner[P]) realDeadline(deadline time.Time) time.Time {
	return time.Now().Add(deadline.Sub(r.Domain.Now()))
}

// checkID checks an act's ID and deadline, before anything is looked up:
// the ID must be the signer's own, and the deadline not too far ahead (a
// receipt is kept until it has passed).
func (r Runner[P]) checkID(peer string, act wire.Act) (time.Time, error) {
	if act.ID == "" {
		return time.Time{}, r.Invalid("id", "BASE_TYPE_REQUIRED", "This field is required")
	}
	raw, origin, ok := globalid.Parse(act.ID)
	if _, err := strconv.ParseUint(raw, 10, 64); !ok || err != nil || origin != peer {
		return time.Time{}, fmt.Errorf("%s names act %q: %w", peer, act.ID, globalid.ErrForbidden)
	}
	if act.Deadline == "" {
		return time.Time{}, r.Invalid("deadline", "BASE_TYPE_REQUIRED", "This field is required")
	}
	deadline, err := time.Parse(time.RFC3339Nano, act.Deadline)
	if err != nil {
		return time.Time{}, r.Invalid("deadline", "DATE_TYPE_PARSE", "Not an RFC 3339 timestamp.")
	}
	if deadline.After(r.Domain.Now().Add(wire.ActDeadlineMax)) {
		return time.Time{}, r.Invalid("deadline", "DATE_TYPE_PARSE", fmt.Sprintf("More than %s ahead.", wire.ActDeadlineMax))
	}
	return deadline, nil
}

// repeated answers an act whose ID has a receipt: with its recorded
// answer once it is done, with the log's head while it is being carried
// out. found is false for an act seen for the first time.
func (r Runner[P]) repeated(ctx context.Context, peer, id, digest string) (res wire.ActResult, found bool, err error) {
	rc, err := r.Store.ActReceipt(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return wire.ActResult{}, false, nil
	}
	if err != nil {
		return wire.ActResult{}, true, r.Unavailable("act receipt", err)
	}
	if rc.Peer != peer || rc.Digest != digest {
		return wire.ActResult{}, true, fmt.Errorf("%s reuses act ID %s for another act: %w", peer, id, globalid.ErrForbidden)
	}
	if rc.Done {
		return wire.ActResult{Seq: rc.Seq, Result: json.RawMessage(rc.Result)}, true, nil
	}
	head, err := r.Store.LogHead(ctx, rc.LogID)
	if err != nil {
		return wire.ActResult{}, true, r.Unavailable("act receipt", err)
	}
	return wire.ActResult{Seq: head, Result: json.RawMessage("null")}, true, nil
}

// answer is the answer to an act: the log's head after it, and its result
// in global IDs.
func (r Runner[P]) answer(ctx context.Context, logID snowflake.ID, result any) (wire.ActResult, error) {
	head, err := r.Store.LogHead(ctx, logID)
	if err != nil {
		return wire.ActResult{}, r.Unavailable("act", err)
	}
	out := wire.ActResult{Seq: head, Result: json.RawMessage("null")}
	if result != nil {
		if out.Result, err = r.Domain.Global(ctx, result); err != nil {
			return wire.ActResult{}, r.Unavailable("act", err)
		}
	}
	return out, nil
}

// Prune forgets the receipts of acts whose deadline is well past; a
// repeat of one of them is refused as expired.
func (r Runner[P]) Prune(ctx context.Context) (int64, error) {
	var n int64
	err := r.Store.Update(ctx, func(tx storage.Tx) error {
		var err error
		n, err = tx.PruneActReceipts(ctx, r.Domain.Now().Add(-ReceiptKeep))
		return err
	})
	if err != nil {
		return 0, r.Unavailable("prune act receipts", err)
	}
	return n, nil
}

// resolve checks who acts and where, and decodes the data: everything an
// action needs that does not change anything.
func (r Runner[P]) resolve(ctx context.Context, peer string, act wire.Act) (*Call[P], error) {
	p, err := r.Domain.Actor(ctx, peer, act)
	if err != nil {
		return nil, err
	}
	c := &Call[P]{Peer: peer, Action: act.Action, Actor: p}
	if c.Channel, err = r.Domain.Lookup(ctx, act.Channel, r.UnknownChannel); err != nil {
		return nil, err
	}
	if c.Message, err = r.Domain.Lookup(ctx, act.Message, r.UnknownMessage); err != nil {
		return nil, err
	}
	// The log is the guild's, or with no guild named, a DM channel's of
	// this server.
	c.Log = c.Channel
	if act.Guild != "" {
		if c.Guild, err = r.Domain.OriginGuild(ctx, act.Guild); err != nil {
			return nil, err
		}
		c.Log = c.Guild.ID
	}
	if c.Channel != 0 {
		ch, err := r.Hot.ChannelByID(ctx, c.Channel)
		if err != nil || ch.GuildID != c.Guild.ID || (c.Guild.ID == 0 && ch.Origin != "") {
			return nil, fmt.Errorf("channel %s: %w", act.Channel, r.UnknownChannel)
		}
	} else if c.Guild.ID == 0 {
		return nil, fmt.Errorf("act without guild or channel: %w", r.UnknownChannel)
	}
	if len(act.Data) > 0 {
		if len(act.Data) > wire.ActDataMaxSize {
			return nil, r.TooLarge
		}
		if err := json.Unmarshal(act.Data, &c.Data); err != nil {
			return nil, r.Invalid("data", "BASE_TYPE_INVALID", "Not a valid action body.")
		}
	}
	if c.Data.Content != nil {
		content := r.Domain.Mentions(ctx, *c.Data.Content)
		c.Data.Content = &content
	}
	return c, nil
}
