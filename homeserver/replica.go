package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hearth/homeserver/wire"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// The replica's side of federation: this server's users join guilds of
// other homeservers, which this server then mirrors into its own tables
// (under its own snowflakes) by applying the origin's events in order, so
// that its clients read history, permissions and the gateway from local
// state. Their writes go to the origin (forward), and this server answers
// its client once its replica has caught up with the result.

// replicaLog is a log this server copies from another homeserver: a
// guild's, or a DM channel's.
type replicaLog struct {
	// ID is the local guild or DM channel, and so the local log.
	ID     snowflake.ID
	Origin string
	// Global is the guild's or channel's global ID.
	Global string
	Guild  bool
}

// replicaGuild returns the replica that guildID is; false for this
// server's own guilds.
func (h *Homeserver) replicaGuild(ctx context.Context, guildID snowflake.ID) (replicaLog, bool) {
	if guildID == 0 {
		return replicaLog{}, false
	}
	g, err := h.hot.GuildByID(ctx, guildID)
	if err != nil || g.Origin == "" {
		return replicaLog{}, false
	}
	return replicaLog{ID: g.ID, Origin: g.Origin, Global: g.OriginID + "@" + g.Origin, Guild: true}, true
}

// replicaOfChannel returns the replica a channel is in: its guild's, or
// for a DM channel of another homeserver, its own.
func (h *Homeserver) replicaOfChannel(ctx context.Context, channelID snowflake.ID) (replicaLog, bool) {
	c, err := h.hot.ChannelByID(ctx, channelID)
	if err != nil {
		return replicaLog{}, false
	}
	if c.GuildID != 0 {
		return h.replicaGuild(ctx, c.GuildID)
	}
	if c.Origin == "" {
		return replicaLog{}, false
	}
	return replicaLog{ID: c.ID, Origin: c.Origin, Global: c.OriginID + "@" + c.Origin}, true
}

// replicaByLog finds the replica of a log, guild or DM channel.
func (h *Homeserver) replicaByLog(ctx context.Context, logID snowflake.ID) (replicaLog, bool) {
	if rl, ok := h.replicaGuild(ctx, logID); ok {
		return rl, true
	}
	return h.replicaOfChannel(ctx, logID)
}

// globalOf names one of this server's snowflakes for a peer.
func (h *Homeserver) globalOf(ctx context.Context, id snowflake.ID) (string, error) {
	if id == 0 {
		return "", nil
	}
	m, err := h.store.FederatedOrigins(ctx, []snowflake.ID{id})
	if err != nil {
		return "", storeErr("global id", err)
	}
	if g, ok := m[id]; ok {
		return g.OriginID + "@" + g.Origin, nil
	}
	return globalid.Format(id, h.cfg.ServerName), nil
}

// forward asks a replica guild's origin to act for p, then waits until
// the replica has applied the result.
func (h *Homeserver) forward(ctx context.Context, p Principal, rl replicaLog, act wire.Act, channelID, messageID snowflake.ID) (wire.ActResult, error) {
	if h.remote == nil {
		return wire.ActResult{}, fmt.Errorf("forward to %s: federation is off: %w", rl.Origin, ErrUnavailable)
	}
	var err error
	act.User = globalid.Format(p.User.ID, h.cfg.ServerName)
	from := h.remoteUserOf(p.User)
	act.From = &from
	if rl.Guild {
		act.Guild = rl.Global
	}
	if act.Channel, err = h.globalOf(ctx, channelID); err != nil {
		return wire.ActResult{}, err
	}
	if act.Message, err = h.globalOf(ctx, messageID); err != nil {
		return wire.ActResult{}, err
	}
	// A new ID per act, so that the origin applies it once however often
	// it arrives; and a deadline, past which the origin will never apply
	// it. The wait for the answer is longer than the deadline: when it
	// runs out, the act was done in time or will never be, so a client
	// told 503 may retry (with its nonce, for a send) without doubling.
	act.ID = globalid.Format(h.cfg.IDs.Next(), h.cfg.ServerName)
	// In the origin's clock, which judges it: a member server whose clock
	// lags the origin's would otherwise send acts that expire on arrival.
	// The offset is never more than the true one, so the deadline never
	// falls later than ActTimeout from now, and the wait below (by this
	// server's clock) still outlasts it.
	act.Deadline = wire.FormatActDeadline(h.now().Add(h.remote.ClockOffset(rl.Origin) + wire.ActTimeout))
	// Recorded before it is sent: the origin's events for it may arrive
	// (pushed) before its answer.
	forget, err := h.recordSentAct(ctx, p, rl, act, messageID)
	if err != nil {
		return wire.ActResult{}, err
	}
	actCtx, cancel := context.WithTimeout(ctx, wire.ActTimeout+wire.ActGrace)
	res, err := h.remote.Act(actCtx, rl.Origin, act)
	cancel()
	if err != nil {
		if !errors.Is(err, ErrUnavailable) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			forget() // refused: not carried out, and never will be
		}
		return wire.ActResult{}, err
	}
	if err := h.catchUp(ctx, rl.ID, res.Seq); err != nil {
		return wire.ActResult{}, err
	}
	// The replica is at the answer's head, past every event of the act.
	forget()
	return res, nil
}

// localResult localizes the result of an act of replica rl; every ID in
// it is known once the replica has caught up, and, as in the origin's
// events, names only the origin's objects in rl and users.
func (h *Homeserver) localResult(ctx context.Context, rl replicaLog, res wire.ActResult, out any) error {
	var b []byte
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		var err error
		b, err = h.newLocalizer(tx, tx).ForReplica(rl.Origin, rl.ID).Payload(ctx, res.Result)
		return err
	})
	if err != nil {
		return storeErr("act result", err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("act result: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// catchUp applies the origin's events until the replica is at seq.
func (h *Homeserver) catchUp(ctx context.Context, guildID snowflake.ID, seq int64) error {
	unlock := h.replicas.lock(guildID)
	defer unlock()
	return h.pullLocked(ctx, guildID, seq)
}

// pullLocked fetches and applies the origin's events after the replica's
// position until it is at upTo, or, with upTo < 0, until the origin has
// nothing newer.
func (h *Homeserver) pullLocked(ctx context.Context, guildID snowflake.ID, upTo int64) error {
	rep, err := h.store.Replica(ctx, guildID)
	if err != nil {
		return storeErr("catch up", err)
	}
	if upTo >= 0 && rep.Seq >= upTo {
		return nil
	}
	rl, ok := h.replicaByLog(ctx, guildID)
	if !ok {
		return fmt.Errorf("catch up %d: not a replica: %w", guildID, ErrUnknownGuild)
	}
	// The next page is fetched while this one is applied: the origin
	// reads and encodes while this server writes.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type page struct {
		b   wire.EventBatch
		err error
	}
	fetch := func(after int64) chan page {
		c := make(chan page, 1)
		go func() { // owned by pullLocked, which waits for it or cancels it
			b, err := h.remote.Events(ctx, rep.Origin, rl.Global, after)
			c <- page{b, err}
		}()
		return c
	}
	next := fetch(rep.Seq)
	defer func() {
		cancel()
		<-next
	}()
	for {
		p := <-next
		next = make(chan page, 1)
		next <- page{}
		if p.err != nil {
			return fmt.Errorf("catch up guild %d from %s: %w", guildID, rep.Origin, p.err)
		}
		batch := p.b
		if batch.From != rep.Seq || batch.To <= rep.Seq {
			if upTo < 0 {
				return nil
			}
			return fmt.Errorf("catch up guild %d: %s answered %d..%d for after %d: %w",
				guildID, rep.Origin, batch.From, batch.To, rep.Seq, ErrUnavailable)
		}
		if upTo < 0 || batch.To < upTo {
			next = fetch(batch.To)
		}
		if err := h.applyBatch(ctx, rl, rep, batch, false); err != nil {
			return err
		}
		rep.Seq = batch.To
		if upTo >= 0 && rep.Seq >= upTo {
			return nil
		}
	}
}

// SyncReplicas brings every replica up to its origin's log, pulling what
// was missed while this server was away (it is also how an origin that had
// given up on this server for a while learns it is back). A replica whose
// origin does not answer is left for the origin's delivery to catch up.
func (h *Homeserver) SyncReplicas(ctx context.Context) {
	if h.remote == nil {
		return
	}
	reps, err := h.store.Replicas(ctx)
	if err != nil {
		h.log.Warn("federation: listing replicas failed", "err", err)
		return
	}
	for _, rep := range reps {
		if err := h.syncReplica(ctx, rep.LogID); err != nil && ctx.Err() == nil {
			h.log.Warn("federation: catching up a replica failed", "guild", rep.LogID, "origin", rep.Origin, "err", err)
		}
	}
}

// syncReplica pulls a replica's origin until it answers nothing new.
func (h *Homeserver) syncReplica(ctx context.Context, guildID snowflake.ID) error {
	unlock := h.replicas.lock(guildID)
	defer unlock()
	return h.pullLocked(ctx, guildID, -1)
}

// ApplyEvents applies a transaction of events that origin pushed for one
// of its guilds. A batch already applied changes nothing; one that starts
// past the replica makes it fetch the missing events from the origin
// first. Only the guild's origin may send its events, and they may name
// only what the origin owns in that replica (spec/federation.md §10): a
// batch that names anything else is refused whole, with ErrForbidden.
func (h *Homeserver) ApplyEvents(ctx context.Context, origin string, batch wire.EventBatch) error {
	_, gOrigin, ok := globalid.Parse(batch.Guild)
	if !ok || gOrigin != origin {
		return fmt.Errorf("%s sent events of guild %q: %w", origin, batch.Guild, ErrForbidden)
	}
	guildID, err := h.lookupGlobal(ctx, batch.Guild, ErrUnknownGuild)
	opening := false
	if errors.Is(err, ErrUnknownGuild) && opensDM(batch) {
		// A DM channel's first batch: its replica is made by the batch's
		// own transaction, so that a refused batch leaves nothing.
		guildID, err, opening = h.cfg.IDs.Next(), nil, true
	}
	if err != nil {
		return err
	}
	g, ok := h.replicaByLog(ctx, guildID)
	if !ok && opensDM(batch) {
		// A DM replica whose channel is not made yet: its first event
		// creates it.
		rep, rerr := h.store.Replica(ctx, guildID)
		if opening || (rerr == nil && rep.Origin == origin) {
			ok, g = true, replicaLog{ID: guildID, Origin: origin, Global: batch.Guild}
		}
	}
	if !ok || g.Origin != origin {
		return fmt.Errorf("%s sent events of guild %q: %w", origin, batch.Guild, ErrForbidden)
	}
	if opening {
		// No lock: the ID is new and known to nobody else (a lock kept per
		// refused opening would grow without bound). Two openings of the
		// same DM at once collide on its mapping, and one fails.
		return h.applyBatch(ctx, g, storage.Replica{LogID: guildID, Origin: origin}, batch, true)
	}
	unlock := h.replicas.lock(guildID)
	defer unlock()
	rep, err := h.store.Replica(ctx, guildID)
	if err != nil {
		return storeErr("apply events", err)
	}
	if batch.To <= rep.Seq {
		return nil // a replay, or events a catch-up already fetched
	}
	if batch.From > rep.Seq {
		if err := h.pullLocked(ctx, guildID, batch.From); err != nil {
			return err
		}
		if rep, err = h.store.Replica(ctx, guildID); err != nil {
			return storeErr("apply events", err)
		}
		if batch.To <= rep.Seq {
			return nil
		}
	}
	return h.applyBatch(ctx, g, rep, batch, false)
}

// applyBatch applies, in one transaction, the events of a batch past the
// replica's position, appending each to this server's log of the guild
// (so that local sessions receive it) and moving the replica to batch.To.
// With opening, the batch starts a DM replica: its mapping and position
// are written by the same transaction.
func (h *Homeserver) applyBatch(ctx context.Context, g replicaLog, rep storage.Replica, batch wire.EventBatch, opening bool) error {
	if batch.From > rep.Seq {
		return fmt.Errorf("batch after %d, replica at %d: %w", batch.From, rep.Seq, ErrGap)
	}
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
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		ev.applyingReplica(g.ID)
		l := h.newLocalizer(tx, tx).ForReplica(g.Origin, g.ID)
		l.Defer()
		if opening {
			l.Bind(g.Global, g.ID, true)
		}
		var globals []string
		decoded := make([]any, len(batch.Events))
		for i, e := range batch.Events {
			if e.Seq <= rep.Seq {
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
		ap := &applier{h: h, tx: tx, ev: ev, g: g, l: l, channels: map[snowflake.ID]bool{}, locals: map[snowflake.ID]bool{}}
		for i, e := range batch.Events {
			if e.Seq <= rep.Seq {
				continue
			}
			d, err := h.localize(ctx, tx, l, decoded[i])
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
			if err := h.memberBound(ctx, tx, g.ID); err != nil {
				return err
			}
		}
		if err := l.Flush(ctx); err != nil {
			return err
		}
		return tx.SetReplica(ctx, storage.Replica{LogID: g.ID, Origin: g.Origin, Seq: batch.To})
	})
	if err != nil {
		return fmt.Errorf("apply events of guild %d: %w", g.ID, peerFault(err))
	}
	return nil
}

// peerFault makes a write that failed a foreign key (the batch named a row
// that is not here: a member's user, a role, a message) the peer's fault,
// refused with FORBIDDEN, which the peer does not retry, rather than
// UNAVAILABLE, which it would retry for ever. An outage of this server's
// database is no foreign-key failure and stays UNAVAILABLE.
func peerFault(err error) error {
	if errors.Is(err, storage.ErrDangling) && !errors.Is(err, ErrForbidden) {
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	return err
}

// malformed marks an event whose payload does not decode as its type says
// (a string where a number belongs) as the origin's fault, refused like an
// undecodable one, rather than a failure of this server's (503, which
// the origin would retry for ever).
func malformed(err error) error {
	var typ *json.UnmarshalTypeError
	var syn *json.SyntaxError
	if errors.As(err, &typ) || errors.As(err, &syn) {
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	return err
}

// errNotHeld: an event about a channel the replica does not hold (a
// thread): nothing to apply, nobody here to tell.
var errNotHeld = errors.New("channel not held by the replica")

// ignoreMissing treats an object already gone as done: the origin's
// order makes a missing one harmless (deleted twice, never seen).
func ignoreMissing(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

// applier applies one batch of events to a replica in one transaction.
// Runs of new messages are inserted together: a busy guild's batch is
// mostly MESSAGE_CREATE.
type applier struct {
	h  *Homeserver
	tx storage.Tx
	ev *events
	g  replicaLog
	// l localized the batch: it knows which IDs name the origin's objects.
	l    *globalid.Localizer
	msgs []storage.Message
	// extras are the components and interactions of msgs' bot messages.
	extras   []storage.MessageComponents
	channels map[snowflake.ID]bool
	// rewrite, when set, is the payload to dispatch here instead of the
	// origin's (its links point at this server).
	rewrite []byte
	// opened is set once a DM replica's CHANNEL_CREATE named a user of
	// this server.
	opened bool
	// act is the act the event being applied names (wire.RemoteEvent.Act).
	act string
	// locals caches which users are this server's own (inNameOf).
	locals map[snowflake.ID]bool
	// addedMembers is set once the batch made a member row: the batch is
	// then checked against the member bound before it commits.
	addedMembers bool
}

func (ap *applier) flushMessages(ctx context.Context) error {
	if len(ap.msgs) == 0 {
		return nil
	}
	err := ap.tx.CreateMessages(ctx, ap.g.scope(), ap.msgs)
	ap.msgs = ap.msgs[:0]
	if err != nil {
		return err
	}
	for _, x := range ap.extras {
		if err := ap.tx.SetMessageComponents(ctx, x); err != nil {
			return err
		}
	}
	ap.extras = ap.extras[:0]
	return nil
}

// botExtras is what a replica keeps of a message of one of the origin's
// bots beyond storage.Message: its components, and the interaction it
// answers (old holds what is kept already). False for any other author:
// only an application's messages carry them.
func (ap *applier) botExtras(ctx context.Context, authorID snowflake.ID, m discord.Message, old storage.MessageComponents) (storage.MessageComponents, bool, error) {
	if len(m.Components) == 0 && m.InteractionMetadata == nil && old.MessageID == 0 {
		// Nothing to keep, nor kept before: most bot messages.
		return old, false, nil
	}
	u, err := ap.tx.UserByID(ctx, authorID)
	if errors.Is(err, storage.ErrNotFound) {
		return old, false, nil
	}
	if err != nil {
		return old, false, err
	}
	if !u.Bot || u.Origin != ap.g.Origin {
		return old, false, nil
	}
	x := old
	x.MessageID = m.ID
	if m.Components != nil {
		if x.Components, err = json.Marshal(m.Components); err != nil {
			return old, false, err
		}
	}
	if m.InteractionMetadata != nil && x.Interaction == nil {
		if x.Interaction, err = json.Marshal(m.InteractionMetadata); err != nil {
			return old, false, err
		}
	}
	return x, true, nil
}

// holds reports whether the replica has a channel (it lacks threads and
// channels none of its members may see). A channel that exists here but
// outside the replica (a guild of this server or of another origin, a
// DM) is refused: the origin may not touch it.
func (ap *applier) holds(ctx context.Context, channelID snowflake.ID) (bool, error) {
	if ok, seen := ap.channels[channelID]; seen {
		return ok, nil
	}
	c, err := ap.tx.ChannelByID(ctx, channelID)
	if errors.Is(err, storage.ErrNotFound) {
		ap.channels[channelID] = false
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := ap.g.contains(c); err != nil {
		return false, err
	}
	ap.channels[channelID] = true
	return true, nil
}

// contains refuses a channel (or thread) that is not the replica's.
func (rl replicaLog) contains(c storage.Channel) error {
	if (rl.Guild && c.GuildID == rl.ID) || (!rl.Guild && c.ID == rl.ID) {
		return nil
	}
	return fmt.Errorf("channel %d is not in replica %s: %w", c.ID, rl.Global, ErrForbidden)
}

// message finds a message to change in a channel the replica holds; false
// when the replica does not have it.
func (ap *applier) message(ctx context.Context, channelID, id snowflake.ID) (storage.Message, bool, error) {
	if err := ap.l.Owned(channelID, id); err != nil {
		return storage.Message{}, false, err
	}
	if ok, err := ap.holds(ctx, channelID); err != nil || !ok {
		ap.l.Unneeded(id)
		return storage.Message{}, false, err
	}
	m, err := ap.tx.Message(ctx, channelID, id)
	if errors.Is(err, storage.ErrNotFound) {
		ap.l.Unneeded(id)
		return storage.Message{}, false, nil
	}
	return m, err == nil, err
}

// apply changes the replica's state as one event (with local IDs) says,
// and appends it to the local log of the guild. A message is applied once:
// the replica's position keeps an event from being applied twice, and
// messages reach a replica only through events.
func (ap *applier) apply(ctx context.Context, typ string, d []byte) error {
	if typ != "MESSAGE_CREATE" {
		if err := ap.flushMessages(ctx); err != nil {
			return err
		}
	}
	var err error
	switch {
	case strings.HasPrefix(typ, "MESSAGE_"):
		err = ap.applyMessage(ctx, typ, d)
		if errors.Is(err, errNotHeld) {
			return nil
		}
	case !ap.g.Guild:
		err = ap.applyDM(ctx, typ, d)
	default:
		err = ap.applyGuild(ctx, typ, d)
	}
	if err := ignoreMissing(err); err != nil {
		return err
	}
	if ap.rewrite != nil {
		d, ap.rewrite = ap.rewrite, nil
	}
	return ap.ev.Append(ctx, ap.g.ID, typ, json.RawMessage(d))
}

// applyMessage applies a message event, in a guild or a DM channel.
func (ap *applier) applyMessage(ctx context.Context, typ string, d []byte) error {
	h, tx := ap.h, ap.tx
	var err error
	switch typ {
	case "MESSAGE_CREATE":
		var m discord.Message
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		if err := ap.l.Owned(m.ChannelID, m.ID); err != nil {
			return err
		}
		if ok, err := ap.holds(ctx, m.ChannelID); err != nil {
			return err
		} else if !ok {
			ap.l.Unneeded(m.ID)
			return errNotHeld
		}
		if err := checkWebhookAuthor(ctx, ap.tx, ap.g.Origin, m); err != nil {
			return err
		}
		if err := ap.inNameOf(ctx, messageActor(m), didPost, 0); err != nil {
			return err
		}
		sm := messageFrom(m, ap.g.guildID(), h.now())
		if len(m.Attachments) > 0 {
			// The files stay at the origin until someone here asks for
			// them; clients are given this server's links.
			sm.Attachments = remoteAttachments(m, ap.g.Origin)
			m.Attachments = m.Attachments[:0]
			for _, a := range sm.Attachments {
				m.Attachments = append(m.Attachments, h.renderAttachment(a))
			}
			if ap.rewrite, err = json.Marshal(m); err != nil {
				return err
			}
		}
		ap.msgs = append(ap.msgs, sm)
		if x, ok, err := ap.botExtras(ctx, m.Author.ID, m, storage.MessageComponents{}); err != nil {
			return err
		} else if ok {
			ap.extras = append(ap.extras, x)
		}
	case "MESSAGE_UPDATE":
		var m discord.Message
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		old, ok, err := ap.message(ctx, m.ChannelID, m.ID)
		if err != nil || !ok {
			return err
		}
		next := messageFrom(m, ap.g.guildID(), h.now())
		if old.Content != next.Content || string(old.Embeds) != string(next.Embeds) {
			// Only the author changes content or embeds (EditMessage).
			if err := ap.inNameOf(ctx, old.AuthorID, didEdit, m.ID); err != nil {
				return err
			}
			if err := h.keepRevision(ctx, tx, ap.g.scope(), old, old.AuthorID, false); err != nil {
				return err
			}
		}
		next.Attachments = old.Attachments
		if next.Pinned && !old.PinnedAt.IsZero() {
			next.PinnedAt = old.PinnedAt
		}
		if err = tx.UpdateMessage(ctx, ap.g.scope(), next); err != nil {
			return err
		}
		kept, err := tx.MessageComponents(ctx, m.ID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		x, ok, err := ap.botExtras(ctx, old.AuthorID, m, kept)
		if err != nil || !ok {
			return err
		}
		return tx.SetMessageComponents(ctx, x)
	case "MESSAGE_DELETE":
		var m discord.MessageDeleteEvent
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		old, ok, err := ap.message(ctx, m.ChannelID, m.ID)
		if err != nil || !ok {
			return err
		}
		ap.l.Unneeded(m.ID)
		if err := h.keepRevision(ctx, tx, ap.g.scope(), old, 0, true); err != nil {
			return err
		}
		_, err = tx.DeleteMessages(ctx, ap.g.scope(), m.ChannelID, []snowflake.ID{m.ID})
	case "MESSAGE_DELETE_BULK":
		var m discord.MessageDeleteBulkEvent
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		if err := ap.l.Owned(append([]snowflake.ID{m.ChannelID}, m.IDs...)...); err != nil {
			return err
		}
		ap.l.Unneeded(m.IDs...)
		if ok, err := ap.holds(ctx, m.ChannelID); err != nil || !ok {
			return err
		}
		_, err = tx.DeleteMessages(ctx, ap.g.scope(), m.ChannelID, m.IDs)
	case "MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE":
		var r discord.ReactionEvent
		if err := json.Unmarshal(d, &r); err != nil {
			return err
		}
		if _, ok, err := ap.message(ctx, r.ChannelID, r.MessageID); err != nil || !ok {
			return err
		}
		key := reactionKey(r.Emoji)
		if typ == "MESSAGE_REACTION_ADD" {
			if err := ap.inNameOf(ctx, r.UserID, didReact, r.MessageID); err != nil {
				return err
			}
			err = tx.AddReaction(ctx, ap.g.scope(), storage.Reaction{MessageID: r.MessageID, ChannelID: r.ChannelID, UserID: r.UserID, Emoji: key, CreatedAt: h.now()})
			if errors.Is(err, storage.ErrConflict) {
				err = nil // there already; the insert leaves the transaction usable
			}
		} else {
			err = tx.RemoveReaction(ctx, ap.g.scope(), r.MessageID, r.UserID, key)
		}
	case "MESSAGE_REACTION_REMOVE_ALL", "MESSAGE_REACTION_REMOVE_EMOJI":
		var r discord.ReactionRemoveAllEvent
		if err := json.Unmarshal(d, &r); err != nil {
			return err
		}
		if _, ok, err := ap.message(ctx, r.ChannelID, r.MessageID); err != nil || !ok {
			return err
		}
		key := ""
		if r.Emoji != nil {
			key = reactionKey(*r.Emoji)
		}
		_, err = tx.RemoveReactions(ctx, ap.g.scope(), r.MessageID, key)
	}
	return err
}

// checkWebhookAuthor accepts a webhook's message only as one of the origin's
// own webhooks: the author is the webhook (same ID) and a user of the
// origin, so that no peer posts as a webhook or a person of this server
// or of a third one. Live events and history pages both ask it.
func checkWebhookAuthor(ctx context.Context, r storage.Reader, origin string, m discord.Message) error {
	if m.WebhookID == nil {
		return nil
	}
	if *m.WebhookID != m.Author.ID {
		return fmt.Errorf("%s: webhook message %d is not authored by its webhook: %w", origin, m.ID, ErrForbidden)
	}
	u, err := r.UserByID(ctx, m.Author.ID)
	if err != nil {
		return err
	}
	if u.Origin != origin {
		return fmt.Errorf("%s: webhook message %d names a webhook of another server: %w", origin, m.ID, ErrForbidden)
	}
	return nil
}

// applyGuild applies an event of a guild's state.
func (ap *applier) applyGuild(ctx context.Context, typ string, d []byte) error {
	tx, g := ap.tx, ap.g
	var err error
	switch typ {
	case "GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE":
		var m discord.Member
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		var added bool
		added, err = upsertMember(ctx, tx, g.ID, m)
		ap.addedMembers = ap.addedMembers || added
	case "GUILD_MEMBER_REMOVE", "GUILD_BAN_ADD":
		var m discord.MemberRemoveEvent
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		err = tx.RemoveMember(ctx, g.ID, m.User.ID)
	case "GUILD_UPDATE":
		var gd discord.Guild
		if err := json.Unmarshal(d, &gd); err != nil {
			return err
		}
		old, gerr := tx.GuildByID(ctx, g.ID)
		if gerr != nil {
			return gerr
		}
		err = tx.UpdateGuild(ctx, guildFrom(gd, old))
	case "GUILD_DELETE":
		err = tx.DeleteGuild(ctx, g.ID)
	case "CHANNEL_CREATE", "CHANNEL_UPDATE":
		var c discord.Channel
		if err := json.Unmarshal(d, &c); err != nil {
			return err
		}
		if err := ap.l.Owned(c.ID); err != nil {
			return err
		}
		if storage.IsThread(c.Type) {
			return nil
		}
		delete(ap.channels, c.ID)
		err = upsertChannel(ctx, tx, g.ID, c)
	case "CHANNEL_DELETE":
		var c discord.Channel
		if err := json.Unmarshal(d, &c); err != nil {
			return err
		}
		err = ap.deleteChannel(ctx, c.ID)
	case "GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE":
		var r discord.RoleEvent
		if err := json.Unmarshal(d, &r); err != nil {
			return err
		}
		if err := ap.l.Owned(r.Role.ID); err != nil {
			return err
		}
		err = upsertRole(ctx, tx, g.ID, r.Role)
	case "GUILD_EMOJIS_UPDATE":
		var e discord.EmojisEvent
		if err := json.Unmarshal(d, &e); err != nil {
			return err
		}
		for _, em := range e.Emojis {
			if err := ap.l.Owned(em.ID); err != nil {
				return err
			}
		}
		err = syncEmojis(ctx, tx, g.ID, e.Emojis)
	case "THREAD_CREATE", "THREAD_UPDATE":
		var c discord.Channel
		if err := json.Unmarshal(d, &c); err != nil {
			return err
		}
		if err := ap.l.Owned(c.ID); err != nil {
			return err
		}
		if typ == "THREAD_CREATE" {
			if err := ap.inNameOf(ctx, derefID(c.OwnerID), didStartThread, 0); err != nil {
				return err
			}
		}
		delete(ap.channels, c.ID)
		err = upsertThread(ctx, tx, g.ID, c)
	case "THREAD_DELETE":
		var c discord.ThreadDeleteEvent
		if err := json.Unmarshal(d, &c); err != nil {
			return err
		}
		err = ap.deleteChannel(ctx, c.ID)
	case "THREAD_MEMBERS_UPDATE":
		var e discord.ThreadMembersUpdateEvent
		if err := json.Unmarshal(d, &e); err != nil {
			return err
		}
		if err := ap.l.Owned(e.ID); err != nil {
			return err
		}
		err = applyThreadMembers(ctx, tx, g.ID, e)
	case "GUILD_ROLE_DELETE":
		var r discord.RoleDeleteEvent
		if err := json.Unmarshal(d, &r); err != nil {
			return err
		}
		if err := ap.l.Owned(r.RoleID); err != nil {
			return err
		}
		if r.RoleID == g.ID {
			return fmt.Errorf("delete of @everyone: %w", ErrForbidden)
		}
		ap.l.Unneeded(r.RoleID)
		if ok, err := roleOf(ctx, tx, g.ID, r.RoleID); err != nil || !ok {
			return err
		}
		err = tx.DeleteRole(ctx, g.scope(), r.RoleID)
	}
	return err
}

// deleteChannel deletes a channel or thread of the replica; one it does
// not hold is already gone.
func (ap *applier) deleteChannel(ctx context.Context, id snowflake.ID) error {
	if err := ap.l.Owned(id); err != nil {
		return err
	}
	ap.l.Unneeded(id)
	if ok, err := ap.holds(ctx, id); err != nil || !ok {
		return err
	}
	delete(ap.channels, id)
	return ap.tx.DeleteChannel(ctx, ap.g.scope(), id)
}

// roleOf reports whether a role exists in a guild, refusing one that
// exists in another guild: a replica's events reach only its own roles.
func roleOf(ctx context.Context, tx storage.Tx, guildID, roleID snowflake.ID) (bool, error) {
	roles, err := tx.GuildRoles(ctx, guildID)
	if err != nil {
		return false, err
	}
	if slices.ContainsFunc(roles, func(r storage.Role) bool { return r.ID == roleID }) {
		return true, nil
	}
	if _, err := tx.GuildByID(ctx, roleID); err == nil && roleID != guildID {
		return false, fmt.Errorf("role %d is another guild's @everyone: %w", roleID, ErrForbidden)
	}
	return false, nil
}

func reactionKey(e discord.ReactionEmoji) string {
	if e.ID != nil {
		return e.Name + ":" + e.ID.String()
	}
	return e.Name
}

// remoteAttachments are the attachments of an origin's message, without
// their bytes: where the origin serves each, when its link is on the
// origin itself.
func remoteAttachments(m discord.Message, origin string) []storage.Attachment {
	out := make([]storage.Attachment, 0, len(m.Attachments))
	for _, a := range m.Attachments {
		sa := storage.Attachment{ID: a.ID, MessageID: m.ID, ChannelID: m.ChannelID, Filename: SanitiseFilename(a.Filename),
			Description: deref(a.Description), ContentType: a.ContentType, Size: a.Size}
		if a.Width != nil && a.Height != nil {
			sa.Width, sa.Height = *a.Width, *a.Height
		}
		if u, err := url.Parse(a.URL); err == nil && u.Host == origin && strings.HasPrefix(u.Path, "/attachments/") {
			sa.OriginPath = u.EscapedPath()
			if u.RawQuery != "" {
				sa.OriginPath += "?" + u.RawQuery
			}
		}
		out = append(out, sa)
	}
	return out
}

func messageFrom(m discord.Message, guildID snowflake.ID, now time.Time) storage.Message {
	out := storage.Message{
		ID: m.ID, ChannelID: m.ChannelID, GuildID: guildID, AuthorID: m.Author.ID, Type: m.Type,
		Content: m.Content, TTS: m.TTS, MentionEveryone: m.MentionEveryone, MentionRoles: m.MentionRoles,
		Pinned: m.Pinned, Flags: m.Flags, CreatedAt: time.Time(m.Timestamp),
	}
	for _, u := range m.Mentions {
		out.Mentions = append(out.Mentions, u.ID)
	}
	if len(m.Embeds) > 0 {
		out.Embeds, _ = json.Marshal(m.Embeds)
	}
	if m.EditedTimestamp != nil {
		out.EditedAt = time.Time(*m.EditedTimestamp)
	}
	if m.Pinned {
		out.PinnedAt = now
	}
	if m.WebhookID != nil {
		out.WebhookID, out.AuthorName, out.AuthorAvatar = *m.WebhookID, clip(m.Author.Username, WebhookNameMax), deref(m.Author.Avatar)
	}
	if r := m.MessageReference; r != nil && r.MessageID != nil {
		out.ReferenceID = *r.MessageID
		if r.ChannelID != nil {
			out.ReferenceChannelID = *r.ChannelID
		}
	}
	return out
}

func guildFrom(gd discord.Guild, g storage.Guild) storage.Guild {
	g.Name, g.OwnerID, g.VerificationLevel = gd.Name, gd.OwnerID, gd.VerificationLevel
	g.Description, g.SystemChannelID = deref(gd.Description), derefID(gd.SystemChannelID)
	// Discovery lists a homeserver's own guilds: a replica is not one.
	g.Public = g.Origin == "" && slices.Contains(gd.Features, "DISCOVERABLE")
	return g
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefID(id *snowflake.ID) snowflake.ID {
	if id == nil {
		return 0
	}
	return *id
}

// upsertMember stores a member of a replica guild; added reports a new
// row (a member not there before), which memberBound later checks.
func upsertMember(ctx context.Context, tx storage.Tx, guildID snowflake.ID, m discord.Member) (added bool, err error) {
	if m.User == nil {
		return false, nil
	}
	sm := storage.Member{GuildID: guildID, UserID: m.User.ID, Nick: deref(m.Nick), JoinedAt: time.Time(m.JoinedAt),
		Deaf: m.Deaf, Mute: m.Mute}
	for _, r := range m.Roles {
		if r != guildID {
			sm.Roles = append(sm.Roles, r)
		}
	}
	if m.CommunicationDisabledUntil != nil {
		sm.CommunicationDisabledUntil = time.Time(*m.CommunicationDisabledUntil)
	}
	// Asked first rather than learnt from a failed insert: on PostgreSQL a
	// failed statement ends the transaction.
	if _, err := tx.Member(ctx, guildID, sm.UserID); err == nil {
		return false, tx.UpdateMember(ctx, sm)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return false, err
	}
	return true, tx.AddMember(ctx, sm)
}

// memberBound refuses a payload of the origin's that took the replica
// guild over MaxReplicaMembers; it is asked once per payload that added
// members, in the payload's transaction, which the refusal rolls back.
func (h *Homeserver) memberBound(ctx context.Context, tx storage.Tx, guildID snowflake.ID) error {
	n, err := tx.MemberCount(ctx, guildID)
	if err != nil {
		return err
	}
	if n > h.cfg.MaxReplicaMembers {
		return fmt.Errorf("replica guild %d would hold %d members, over %d: %w", guildID, n, h.cfg.MaxReplicaMembers, ErrTooManyMembers)
	}
	return nil
}

func upsertRole(ctx context.Context, tx storage.Tx, guildID snowflake.ID, r discord.Role) error {
	perms, _ := permission.Parse(r.Permissions)
	sr := storage.Role{ID: r.ID, GuildID: guildID, Name: r.Name, Color: r.Color, Hoist: r.Hoist,
		UnicodeEmoji: deref(r.UnicodeEmoji), Position: r.Position, Permissions: int64(perms), Managed: r.Managed,
		Mentionable: r.Mentionable, CreatedAt: r.ID.Time()}
	ok, err := roleOf(ctx, tx, guildID, r.ID)
	if err != nil {
		return err
	}
	if ok {
		return tx.UpdateRole(ctx, storage.InGuild(guildID), sr)
	}
	// A role of another guild under this ID makes the insert conflict:
	// the batch is refused rather than the other guild's role changed.
	if err := tx.CreateRole(ctx, sr); errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("role %d belongs to another guild: %w", r.ID, ErrForbidden)
	} else if err != nil {
		return err
	}
	return nil
}

func upsertChannel(ctx context.Context, tx storage.Tx, guildID snowflake.ID, c discord.Channel) error {
	sc := storage.Channel{ID: c.ID, GuildID: guildID, Type: c.Type, Name: c.Name, Topic: deref(c.Topic),
		Position: c.Position, ParentID: derefID(c.ParentID), NSFW: c.NSFW, RateLimitPerUser: c.RateLimitPerUser,
		CreatedAt: c.ID.Time()}
	if c.Bitrate != nil {
		sc.Bitrate = *c.Bitrate
	}
	if c.UserLimit != nil {
		sc.UserLimit = *c.UserLimit
	}
	for _, o := range c.PermissionOverwrites {
		allow, _ := permission.Parse(o.Allow)
		deny, _ := permission.Parse(o.Deny)
		sc.Overwrites = append(sc.Overwrites, storage.Overwrite{TargetID: o.ID, Type: o.Type, Allow: int64(allow), Deny: int64(deny)})
	}
	old, err := tx.ChannelByID(ctx, c.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return tx.CreateChannel(ctx, sc)
	}
	if err != nil {
		return err
	}
	if old.GuildID != guildID || storage.IsThread(old.Type) {
		return fmt.Errorf("channel %d is not a channel of guild %d: %w", c.ID, guildID, ErrForbidden)
	}
	if err := tx.UpdateChannel(ctx, storage.InGuild(guildID), sc); err != nil {
		return err
	}
	for _, o := range old.Overwrites {
		if !slices.ContainsFunc(sc.Overwrites, func(n storage.Overwrite) bool { return n.TargetID == o.TargetID }) {
			if err := tx.DeleteOverwrite(ctx, storage.InGuild(guildID), c.ID, o.TargetID); err != nil {
				return err
			}
		}
	}
	for _, o := range sc.Overwrites {
		if err := tx.SetOverwrite(ctx, storage.InGuild(guildID), c.ID, o); err != nil {
			return err
		}
	}
	return nil
}

// remoteJoin joins a guild of another homeserver through an invite there,
// starting (or extending) this server's replica of it from the origin's
// snapshot.
func (h *Homeserver) remoteJoin(ctx context.Context, p Principal, server, code string) (discord.Invite, error) {
	if h.remote == nil {
		return discord.Invite{}, fmt.Errorf("join on %s: federation is off: %w", server, ErrUnavailable)
	}
	snap, err := h.remote.Join(ctx, server, wire.JoinRequest{Invite: code, User: h.remoteUserOf(p.User)})
	if err != nil {
		return discord.Invite{}, err
	}
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(snap.Guild, &head); err != nil {
		return discord.Invite{}, fmt.Errorf("join on %s: %w: %w", server, ErrUnavailable, err)
	}
	if _, origin, ok := globalid.Parse(head.ID); !ok || origin != server {
		return discord.Invite{}, fmt.Errorf("join on %s: snapshot of guild %q: %w", server, head.ID, ErrForbidden)
	}
	raw, _, _ := globalid.Parse(head.ID)
	// A replica that exists already (its member left and comes back, or
	// another member joins) is written by its origin's pushes too: the
	// snapshot goes in under the replica's lock, as they do, and the
	// catch-up after it too, or a push and the snapshot both add the same
	// member at once.
	locked := snowflake.ID(0)
	if m, err := h.store.FederatedID(ctx, server, raw); err == nil {
		if _, ok := h.replicaGuild(ctx, m.Local); ok {
			unlock := h.replicas.lock(m.Local)
			defer unlock()
			locked = m.Local
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return discord.Invite{}, storeErr("remote join", err)
	}
	var inv discord.Invite
	var guildID snowflake.ID
	existing := false
	err = h.update(ctx, func(tx storage.Tx, ev *events) error {
		l, err := h.snapshotLocalizer(ctx, tx, server, head.ID)
		if err != nil {
			return err
		}
		local := make([][]byte, 3)
		var floors map[string]snowflake.ID
		for i, part := range [][]byte{snap.Guild, snap.Members, snap.Invite} {
			v, err := globalid.Decode(part)
			if err != nil {
				return err
			}
			if i == 0 {
				floors = historyFloors(v, server)
			}
			if local[i], err = h.localize(ctx, tx, l, v); err != nil {
				return err
			}
		}
		var st GuildState
		var members []discord.Member
		if err := json.Unmarshal(local[0], &st); err != nil {
			return err
		}
		if err := json.Unmarshal(local[1], &members); err != nil {
			return err
		}
		if err := json.Unmarshal(local[2], &inv); err != nil {
			return err
		}
		guildID = st.ID
		ev.applyingReplica(guildID)
		if guildID != l.Scope() {
			return fmt.Errorf("snapshot of guild %q names guild %d: %w", head.ID, guildID, ErrForbidden)
		}
		_, err = tx.Replica(ctx, guildID)
		existing = err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		g := guildFrom(st.Guild, storage.Guild{ID: guildID, CreatedAt: guildID.Time(), Origin: server, OriginID: raw})
		if existing {
			err = tx.UpdateGuild(ctx, g)
		} else {
			err = tx.CreateGuild(ctx, g)
		}
		if err != nil {
			return err
		}
		for _, r := range st.Roles {
			if err := l.Owned(r.ID); err != nil {
				return err
			}
			if err := upsertRole(ctx, tx, guildID, r); err != nil {
				return err
			}
		}
		for _, c := range st.Channels {
			if err := l.Owned(c.ID); err != nil {
				return err
			}
			if err := upsertChannel(ctx, tx, guildID, c); err != nil {
				return err
			}
		}
		for _, e := range st.Emojis {
			if err := l.Owned(e.ID); err != nil {
				return err
			}
		}
		if err := syncEmojis(ctx, tx, guildID, st.Emojis); err != nil {
			return err
		}
		for _, th := range st.Threads {
			if err := l.Owned(th.ID); err != nil {
				return err
			}
			if err := upsertThread(ctx, tx, guildID, th); err != nil {
				return err
			}
		}
		var mine *discord.Member
		added := false
		for i, m := range members {
			a, err := upsertMember(ctx, tx, guildID, m)
			if err != nil {
				return err
			}
			added = added || a
			if m.User != nil && m.User.ID == p.User.ID {
				mine = &members[i]
			}
		}
		if added {
			if err := h.memberBound(ctx, tx, guildID); err != nil {
				return err
			}
		}
		if existing {
			return nil // the member's join arrives with the events caught up below
		}
		if err := tx.SetReplica(ctx, storage.Replica{LogID: guildID, Origin: server, Seq: snap.Seq}); err != nil {
			return err
		}
		for gid, floor := range floors {
			if id, ok := l.Cached(gid); ok {
				if err := tx.SetHistoryFloor(ctx, id, floor); err != nil {
					return err
				}
			}
		}
		if mine == nil {
			return fmt.Errorf("snapshot of guild %q lacks the joining member: %w", head.ID, ErrUnavailable)
		}
		gid := guildID
		add := *mine
		add.GuildID = &gid
		return ev.Append(ctx, guildID, "GUILD_MEMBER_ADD", add)
	})
	if err != nil {
		return discord.Invite{}, domainErr("remote join", err)
	}
	switch {
	case existing && locked == guildID:
		if err := h.pullLocked(ctx, guildID, snap.Seq); err != nil {
			return discord.Invite{}, err
		}
	case existing:
		if err := h.catchUp(ctx, guildID, snap.Seq); err != nil {
			return discord.Invite{}, err
		}
	default:
		h.later(func(ctx context.Context) { h.fetchMembers(ctx, guildID) })
	}
	return inv, nil
}

// snapshotLocalizer is the localizer of a join's snapshot of server's
// guild: in replica mode for the guild, whose mapping it makes first (its
// scope is itself) so that every other ID of the snapshot is checked
// against it. A guild ID that maps to one of this server's own guilds, or
// to another replica's object, is refused.
func (h *Homeserver) snapshotLocalizer(ctx context.Context, tx storage.Tx, server, guild string) (*globalid.Localizer, error) {
	raw, _, _ := globalid.Parse(guild)
	l := h.newLocalizer(tx, tx)
	m, err := tx.FederatedID(ctx, server, raw)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		m = storage.Mapping{Local: h.cfg.IDs.Next()}
		m.Scope = m.Local
		if err := tx.MapFederatedID(ctx, storage.GlobalID{Origin: server, OriginID: raw}, m); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case m.Scope != 0 && m.Scope != m.Local:
		return nil, fmt.Errorf("guild %s maps to an object of another replica: %w", guild, ErrForbidden)
	}
	if g, err := tx.GuildByID(ctx, m.Local); err == nil && g.Origin != server {
		return nil, fmt.Errorf("guild %s maps to a guild of %q: %w", guild, g.Origin, ErrForbidden)
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	l.ForReplica(server, m.Local)
	l.Bind(guild, m.Local, false)
	return l, nil
}

// later runs fn in the background (RunMaintenance's loop); when too much
// is queued, fn is dropped and logged.
func (h *Homeserver) later(fn func(context.Context)) {
	select {
	case h.background <- fn:
	default:
		h.log.Warn("background work queue full; dropping a task")
	}
}

// fetchMembers copies a new replica's member list from its origin, page
// by page (the join's snapshot carried the first page only).
func (h *Homeserver) fetchMembers(ctx context.Context, guildID snowflake.ID) {
	g, ok := h.replicaGuild(ctx, guildID)
	if !ok {
		return
	}
	gid := g.Global
	n, after := 0, ""
	for {
		page, err := h.remote.Members(ctx, g.Origin, gid, after)
		if err != nil {
			h.log.Warn("federation: fetching members failed", "guild", guildID, "origin", g.Origin, "err", err)
			return
		}
		err = h.store.Update(ctx, func(tx storage.Tx) error {
			l := h.newLocalizer(tx, tx).ForReplica(g.Origin, guildID)
			l.Defer()
			v, err := globalid.Decode(page.Members)
			if err != nil {
				return err
			}
			if err := l.Preload(ctx, globalid.GlobalsIn(v)); err != nil {
				return err
			}
			b, err := h.localize(ctx, tx, l, v)
			if err != nil {
				return err
			}
			var ms []discord.Member
			if err := json.Unmarshal(b, &ms); err != nil {
				return err
			}
			added := false
			for _, m := range ms {
				a, err := upsertMember(ctx, tx, guildID, m)
				if err != nil {
					return err
				}
				added = added || a
			}
			if added {
				if err := h.memberBound(ctx, tx, guildID); err != nil {
					return err
				}
			}
			n += len(ms)
			return l.Flush(ctx)
		})
		if err != nil {
			h.log.Warn("federation: storing members failed", "guild", guildID, "err", err)
			return
		}
		if page.Next == "" {
			h.log.Info("federation: replica members fetched", "guild", guildID, "members", n)
			return
		}
		after = page.Next
	}
}

// ReplicaPosition is how far a replica guild has applied its origin's log
// (ErrUnknownGuild if guildID is not a replica).
func (h *Homeserver) ReplicaPosition(ctx context.Context, guildID snowflake.ID) (int64, error) {
	rep, err := h.store.Replica(ctx, guildID)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, fmt.Errorf("replica %d: %w", guildID, ErrUnknownGuild)
	}
	if err != nil {
		return 0, storeErr("replica position", err)
	}
	return rep.Seq, nil
}

// LogHead is the sequence number of the newest event of a guild's (or DM
// channel's) log on this server.
func (h *Homeserver) LogHead(ctx context.Context, logID snowflake.ID) (int64, error) {
	n, err := h.store.LogHead(ctx, logID)
	if err != nil {
		return 0, storeErr("log head", err)
	}
	return n, nil
}

// ApplyEphemeral hands this server's sessions an ephemeral event of a
// guild: typing or presence in a replica guild, sent by its origin, or the
// presence of a peer's own user in one of this server's guilds, sent by
// that peer (which the sender then passes on to the guild's other peers).
func (h *Homeserver) ApplyEphemeral(ctx context.Context, peer string, e wire.EphemeralEvent) error {
	if e.Type != "TYPING_START" && e.Type != "PRESENCE_UPDATE" {
		return Invalid("type", "BASE_TYPE_CHOICES", "Only TYPING_START and PRESENCE_UPDATE are carried.")
	}
	_, gOrigin, ok := globalid.Parse(e.Guild)
	if !ok {
		return Invalid("guild", "BASE_TYPE_INVALID", "Not a global ID.")
	}
	guildID, err := h.lookupGlobal(ctx, e.Guild, ErrUnknownGuild)
	if err != nil {
		return err
	}
	var about struct {
		UserID string `json:"user_id"`
		User   struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	_ = json.Unmarshal(e.D, &about)
	if about.UserID != "" && about.User.ID != "" && about.UserID != about.User.ID {
		// The checks below are of one user; the gateway takes a presence's
		// user from "user", and could be handed one of this server's.
		return fmt.Errorf("%s sent an ephemeral event naming two users: %w", peer, ErrForbidden)
	}
	userGlobal := about.UserID
	if userGlobal == "" {
		userGlobal = about.User.ID
	}
	_, userOrigin, _ := globalid.Parse(userGlobal)
	switch {
	case gOrigin == peer:
		if g, ok := h.replicaGuild(ctx, guildID); !ok || g.Origin != peer {
			return fmt.Errorf("%s sent an ephemeral event of guild %q: %w", peer, e.Guild, ErrForbidden)
		}
		if userOrigin == h.cfg.ServerName {
			return nil // our own user: our sessions know
		}
	case gOrigin == h.cfg.ServerName && e.Type == "PRESENCE_UPDATE" && userOrigin == peer:
		userID, err := h.lookupGlobal(ctx, userGlobal, ErrUnknownUser)
		if err != nil {
			return err
		}
		if _, err := h.peerPrincipal(ctx, peer, userGlobal, userID); err != nil {
			return err
		}
		if _, err := h.hot.Member(ctx, guildID, userID); err != nil {
			return fmt.Errorf("%s sent the presence of a non-member: %w", peer, ErrForbidden)
		}
	default:
		return fmt.Errorf("%s sent an ephemeral event of guild %q: %w", peer, e.Guild, ErrForbidden)
	}
	var d []byte
	err = h.store.Update(ctx, func(tx storage.Tx) error {
		l := h.newLocalizer(tx, tx)
		l.Defer()
		if gOrigin == peer {
			l.ForReplica(peer, guildID)
		} else {
			l.Signed(peer)
		}
		v, err := globalid.Decode(e.D)
		if err != nil {
			return err
		}
		if d, err = h.localize(ctx, tx, l, v); err != nil {
			return err
		}
		// An event in no log keeps nothing but the users it introduces:
		// one that names another object this server does not hold (a
		// thread the replica lacks, or a made-up ID in every keystroke)
		// has nothing here to be shown on, and mapping its IDs would keep
		// a row per event.
		for _, m := range l.Pending() {
			if _, err := tx.UserByID(ctx, m.Local); errors.Is(err, storage.ErrNotFound) {
				return errEphemeralUnheld
			} else if err != nil {
				return err
			}
		}
		return l.Flush(ctx)
	})
	if errors.Is(err, errEphemeralUnheld) {
		return nil
	}
	if err != nil {
		return domainErr("ephemeral", err)
	}
	h.bus.Publish(storage.Event{LogID: guildID, Type: e.Type, Payload: d, CreatedAt: h.now()})
	return nil
}

// errEphemeralUnheld: an ephemeral event names an object this server does
// not hold; it is dropped, and the transaction that looked is undone.
var errEphemeralUnheld = errors.New("ephemeral event about an object not held here")

// replicableType reports whether an origin's event may enter a replica's
// log under its type. Every applied event is published on this server's
// bus, where some names are not dispatches for a guild's sessions: the
// bus's own internal events (HEARTH_..., on which the gateway acts, for
// one by closing a user's connections), PRESENCE_UPDATE (which the gateway
// takes as a presence to remember, and which comes only as an ephemeral
// event, checked as §8.6 says), and the dispatches about a client's own
// session and user (READY, USER_UPDATE...), which a client would take as
// news of itself. Any other name of a dispatch's form is the origin's to
// send, dispatched only when the applier knows nothing of it (§10).
func replicableType(typ string) bool {
	if typ == "" || len(typ) > 64 {
		return false
	}
	for i := 0; i < len(typ); i++ {
		if c := typ[i]; (c < 'A' || c > 'Z') && c != '_' {
			return false
		}
	}
	switch typ {
	case "PRESENCE_UPDATE", "READY", "READY_SUPPLEMENTAL", "RESUMED", "SESSIONS_REPLACE",
		"MESSAGE_ACK": // a user's read state, told only by their own server
		return false
	}
	for _, prefix := range []string{"HEARTH_", "USER_", "RELATIONSHIP_"} {
		if strings.HasPrefix(typ, prefix) {
			return false
		}
	}
	return true
}

// opensDM reports whether a batch starts a DM channel's log: its first
// event creates a DM or group DM.
func opensDM(b wire.EventBatch) bool {
	if b.From != 0 || len(b.Events) == 0 || b.Events[0].Type != "CHANNEL_CREATE" {
		return false
	}
	var c struct {
		Type int `json:"type"`
	}
	return json.Unmarshal(b.Events[0].D, &c) == nil && (c.Type == storage.ChannelDM || c.Type == storage.ChannelGroupDM)
}

// openedForUs refuses a batch that opens a DM replica and leaves no user
// of this server among its recipients (named by the CHANNEL_CREATE, or
// added further on in the same batch): such a replica would be state a
// peer makes this server keep for nobody.
func (ap *applier) openedForUs(ctx context.Context) error {
	if ap.opened {
		return nil
	}
	c, err := ap.tx.ChannelByID(ctx, ap.g.ID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	for _, id := range c.Recipients {
		if ok, err := ap.localUser(ctx, id); err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("dm %s opened with no user of this server: %w", ap.g.Global, ErrForbidden)
}

// dmPair refuses a 1:1 DM of the origin that is not between one of its
// own users and one of this server's. A 1:1 DM is the one channel of its
// pair here (OpenDM finds it by the pair, and sends what its users write
// in it to its origin): a DM of the origin between two users of this
// server, or between a user of this server and one of a third server,
// would take their conversation to the origin, which may then read it
// and answer in the other's name.
func (ap *applier) dmPair(ctx context.Context, recipients []snowflake.ID) error {
	local, theirs := 0, 0
	for _, id := range recipients {
		u, err := ap.tx.UserByID(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		switch u.Origin {
		case "":
			local++
		case ap.g.Origin:
			theirs++
		}
	}
	if len(recipients) == 2 && local == 1 && theirs == 1 {
		return nil
	}
	return fmt.Errorf("dm %s is not between a user of %s and one of this server: %w", ap.g.Global, ap.g.Origin, ErrForbidden)
}

// localUser reports whether id is a user of this server.
func (ap *applier) localUser(ctx context.Context, id snowflake.ID) (bool, error) {
	u, err := ap.tx.UserByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil && u.Origin == "", err
}

// applyDM applies an event of a DM channel of another homeserver.
func (ap *applier) applyDM(ctx context.Context, typ string, d []byte) error {
	tx, g := ap.tx, ap.g
	var err error
	switch typ {
	case "CHANNEL_CREATE":
		var c discord.DMChannel
		if err := json.Unmarshal(d, &c); err != nil {
			return err
		}
		if c.ID != g.ID {
			return fmt.Errorf("dm %d created as %d: %w", g.ID, c.ID, ErrForbidden)
		}
		raw, _, _ := globalid.Parse(g.Global)
		sc := storage.Channel{ID: c.ID, Type: c.Type, OwnerID: derefID(c.OwnerID), Name: deref(c.Name),
			CreatedAt: c.ID.Time(), Origin: g.Origin, OriginID: raw}
		// A user of this server may join later (a group DM's recipient
		// added after it was made): the origin, which sends the log only
		// to its recipients' homeservers, decides.
		for _, u := range c.Recipients {
			sc.Recipients = append(sc.Recipients, u.ID)
		}
		if sc.Type != storage.ChannelDM && sc.Type != storage.ChannelGroupDM {
			return fmt.Errorf("dm %d created as a channel of type %d: %w", g.ID, sc.Type, ErrForbidden)
		}
		if sc.Type == storage.ChannelDM {
			if err := ap.dmPair(ctx, sc.Recipients); err != nil {
				return err
			}
			if _, err := tx.DMChannel(ctx, sc.Recipients[0], sc.Recipients[1]); err == nil {
				// The pair has its DM here already (both opened one at
				// once, each on their own server, and this server keeps
				// its own; or the signer opens a second one). Refused,
				// so that nothing is kept: accepting it as an empty
				// replica would let a peer make this server keep one
				// per new DM ID.
				return fmt.Errorf("dm %d: its pair has a DM channel here already: %w", g.ID, ErrForbidden)
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		err = tx.CreateChannel(ctx, sc)
	case "CHANNEL_UPDATE":
		var c discord.DMChannel
		if err := json.Unmarshal(d, &c); err != nil {
			return err
		}
		old, cerr := tx.ChannelByID(ctx, g.ID)
		if cerr != nil {
			return ignoreMissing(cerr)
		}
		old.Name, old.OwnerID = deref(c.Name), derefID(c.OwnerID)
		err = tx.UpdateChannel(ctx, g.scope(), old)
	case "CHANNEL_RECIPIENT_ADD", "CHANNEL_RECIPIENT_REMOVE":
		var e discord.RecipientEvent
		if err := json.Unmarshal(d, &e); err != nil {
			return err
		}
		c, cerr := tx.ChannelByID(ctx, g.ID)
		if cerr != nil {
			return ignoreMissing(cerr)
		}
		if c.Type == storage.ChannelDM {
			// A 1:1 DM's pair is fixed: moved to another pair, it would
			// become that pair's DM here (see dmPair).
			return fmt.Errorf("dm %d: recipients of a 1:1 DM changed: %w", g.ID, ErrForbidden)
		}
		next := slices.DeleteFunc(slices.Clone(c.Recipients), func(id snowflake.ID) bool { return id == e.User.ID })
		if typ == "CHANNEL_RECIPIENT_ADD" {
			next = append(next, e.User.ID)
		}
		err = tx.SetRecipients(ctx, g.scope(), g.ID, next)
	}
	return err
}

// upsertThread writes a thread of the origin into the replica.
func upsertThread(ctx context.Context, tx storage.Tx, guildID snowflake.ID, c discord.Channel) error {
	if !storage.IsThread(c.Type) || c.ParentID == nil {
		return nil
	}
	t := storage.Channel{ID: c.ID, GuildID: guildID, Type: c.Type, Name: c.Name, ParentID: *c.ParentID,
		OwnerID: derefID(c.OwnerID), RateLimitPerUser: c.RateLimitPerUser, CreatedAt: c.ID.Time(),
		Thread: &storage.ThreadMeta{AutoArchive: 4320}}
	if m := c.ThreadMetadata; m != nil {
		t.Thread = &storage.ThreadMeta{Archived: m.Archived, Locked: m.Locked, AutoArchive: m.AutoArchiveDuration,
			ArchivedAt: time.Time(m.ArchiveTimestamp), Invitable: m.Invitable == nil || *m.Invitable}
		if m.CreateTimestamp != nil {
			t.CreatedAt = time.Time(*m.CreateTimestamp)
		}
	}
	if parent, err := tx.ChannelByID(ctx, t.ParentID); err == nil && parent.GuildID != guildID {
		return fmt.Errorf("thread %d under channel %d of another guild: %w", c.ID, t.ParentID, ErrForbidden)
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if old, err := tx.ChannelByID(ctx, c.ID); errors.Is(err, storage.ErrNotFound) {
		return tx.CreateChannel(ctx, t)
	} else if err != nil {
		return err
	} else if old.GuildID != guildID || !storage.IsThread(old.Type) {
		return fmt.Errorf("thread %d is not a thread of guild %d: %w", c.ID, guildID, ErrForbidden)
	}
	return tx.UpdateChannel(ctx, storage.InGuild(guildID), t)
}

// applyThreadMembers applies THREAD_MEMBERS_UPDATE to a replica.
func applyThreadMembers(ctx context.Context, tx storage.Tx, guildID snowflake.ID, e discord.ThreadMembersUpdateEvent) error {
	if c, err := tx.ChannelByID(ctx, e.ID); err != nil {
		return err // a thread the replica does not hold
	} else if c.GuildID != guildID || !storage.IsThread(c.Type) {
		return fmt.Errorf("thread %d is not a thread of guild %d: %w", e.ID, guildID, ErrForbidden)
	}
	s := storage.InGuild(guildID)
	for _, m := range e.AddedMembers {
		if m.UserID == nil {
			continue
		}
		err := tx.AddThreadMember(ctx, s, storage.ThreadMember{ThreadID: e.ID, UserID: *m.UserID,
			JoinedAt: time.Time(m.JoinTimestamp), Flags: m.Flags})
		if err != nil && !errors.Is(err, storage.ErrConflict) { // a conflict leaves the transaction usable
			return err
		}
	}
	for _, id := range e.RemovedMemberIDs {
		if err := ignoreMissing(tx.RemoveThreadMember(ctx, s, e.ID, id)); err != nil {
			return err
		}
	}
	return nil
}

// historyFloors takes from a snapshot's (decoded, global) state the newest
// message of each of its channels, which a replica of the origin's log
// does not hold, and removes them: they name messages only backfill will
// bring.
func historyFloors(v any, origin string) map[string]snowflake.ID {
	out := map[string]snowflake.ID{}
	st, _ := v.(map[string]any)
	chans, _ := st["channels"].([]any)
	for _, c := range chans {
		obj, ok := c.(map[string]any)
		if !ok {
			continue
		}
		last, _ := obj["last_message_id"].(string)
		delete(obj, "last_message_id")
		id, _ := obj["id"].(string)
		raw, o, ok := globalid.Parse(last)
		if !ok || o != origin {
			continue
		}
		if n, err := strconv.ParseUint(raw, 10, 64); err == nil {
			out[id] = snowflake.ID(n)
		}
	}
	return out
}

// guildID is the replica's guild; 0 for a DM channel.
func (rl replicaLog) guildID() snowflake.ID {
	if rl.Guild {
		return rl.ID
	}
	return 0
}
