// Package forward sends the writes of this server's users in a replica to
// the replica's origin as acts, and reads the answers back (spec/
// federation.md §7.4): an act gets an ID of this server's and a deadline
// in the origin's clock, is recorded before it is sent when the origin's
// events for it will come in the user's name, and is answered once the
// replica has caught up with the position the origin answered with, its
// result localized as the origin's own objects in that replica.
//
// What each write puts in its act (its data, built from the domain's own
// field types) is the domain's; what sending asks of the domain (the
// clock, the user's global name and profile, global IDs, the record of
// sent acts, catching up) is lent through Domain. The package depends on
// storage, wire, globalid and snowflake only, never on package homeserver
// (TestFederationHalfImports checks the rule).
package forward

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"hearth/homeserver/globalid"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// Log is a log this server copies from another homeserver: a guild's, or
// a DM channel's.
type Log struct {
	// ID is the local guild or DM channel, and so the local log.
	ID     snowflake.ID
	Origin string
	// Global is the guild's or channel's global ID.
	Global string
	Guild  bool
}

// Remote is what sending asks of the federation client.
type Remote interface {
	// Act asks server to carry out act.
	Act(ctx context.Context, server string, act wire.Act) (wire.ActResult, error)
	// ClockOffset is a lower bound of how far server's clock is ahead of
	// this server's.
	ClockOffset(server string) time.Duration
}

// Domain is what sending an act asks of the domain; P is its principal.
type Domain[P any] interface {
	// Now is the domain's clock.
	Now() time.Time
	// Author names p for the origin: its global ID, and the profile the
	// origin refreshes its copy from.
	Author(p P) (string, wire.RemoteUser)
	// GlobalOf names one of this server's snowflakes for a peer ("" for
	// 0).
	GlobalOf(ctx context.Context, id snowflake.ID) (string, error)
	// Record keeps act, about to be sent for p in l, when its action can
	// make events in p's name; forget drops it again.
	Record(ctx context.Context, p P, l Log, act wire.Act, messageID snowflake.ID) (forget func(), err error)
	// CatchUp applies the origin's events until the replica of log is at
	// seq.
	CatchUp(ctx context.Context, log snowflake.ID, seq int64) error
}

// Sender sends acts for this server's users.
type Sender[P any] struct {
	// Name is this server's federation name; IDs makes act IDs.
	Name string
	IDs  *snowflake.Generator
	// Store holds the ID mappings results are localized through.
	Store storage.Store
	// Remote reaches the origins; nil when federation is off.
	Remote Remote
	Domain Domain[P]
	// Unavailable is the domain's error of a write that may succeed
	// later: federation off, the origin unreachable, a result that does
	// not decode. A Remote failing with it (or with the context's end)
	// may still have carried the act out.
	Unavailable error
}

// Send asks the origin of l to carry out act for p, then waits until the
// replica has applied the result.
func (s Sender[P]) Send(ctx context.Context, p P, l Log, act wire.Act, channelID, messageID snowflake.ID) (wire.ActResult, error) {
	if s.Remote == nil {
		return wire.ActResult{}, fmt.Errorf("forward to %s: federation is off: %w", l.Origin, s.Unavailable)
	}
	var err error
	var from wire.RemoteUser
	act.User, from = s.Domain.Author(p)
	act.From = &from
	if l.Guild {
		act.Guild = l.Global
	}
	if act.Channel, err = s.Domain.GlobalOf(ctx, channelID); err != nil {
		return wire.ActResult{}, err
	}
	if act.Message, err = s.Domain.GlobalOf(ctx, messageID); err != nil {
		return wire.ActResult{}, err
	}
	// A new ID per act, so that the origin applies it once however often
	// it arrives; and a deadline, past which the origin will never apply
	// it. The wait for the answer is longer than the deadline: when it
	// runs out, the act was done in time or will never be, so a client
	// told 503 may retry (with its nonce, for a send) without doubling.
	act.ID = globalid.Format(s.IDs.Next(), s.Name)
	// In the origin's clock, which judges it: a member server whose clock
	// lags the origin's would otherwise send acts that expire on arrival.
	// The offset is never more than the true one, so the deadline never
	// falls later than ActTimeout from now, and the wait below (by this
	// server's clock) still outlasts it.
	act.Deadline = wire.FormatActDeadline(s.Domain.Now().Add(s.Remote.ClockOffset(l.Origin) + wire.ActTimeout))
	// Recorded before it is sent: the origin's events for it may arrive
	// (pushed) before its answer.
	forget, err := s.Domain.Record(ctx, p, l, act, messageID)
	if err != nil {
		return wire.ActResult{}, err
	}
	actCtx, cancel := context.WithTimeout(ctx, wire.ActTimeout+wire.ActGrace)
	res, err := s.Remote.Act(actCtx, l.Origin, act)
	cancel()
	if err != nil {
		if !errors.Is(err, s.Unavailable) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			forget() // refused: not carried out, and never will be
		}
		return wire.ActResult{}, err
	}
	if err := s.Domain.CatchUp(ctx, l.ID, res.Seq); err != nil {
		return wire.ActResult{}, err
	}
	// The replica is at the answer's head, past every event of the act.
	forget()
	return res, nil
}

// Result decodes into out the result of an act of replica l; every ID in
// it is known once the replica has caught up, and, as in the origin's
// events, names only the origin's objects in l and users.
func (s Sender[P]) Result(ctx context.Context, l Log, res wire.ActResult, out any) error {
	var b []byte
	err := s.Store.Update(ctx, func(tx storage.Tx) error {
		var err error
		b, err = globalid.New(s.Name, s.IDs, tx, tx).ForReplica(l.Origin, l.ID).Payload(ctx, res.Result)
		return err
	})
	if err != nil {
		return fmt.Errorf("act result: %w: %w", s.Unavailable, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("act result: %w: %w", s.Unavailable, err)
	}
	return nil
}
