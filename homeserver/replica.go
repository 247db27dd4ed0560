package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"hearth/discord"
	"hearth/homeserver/forward"
	"hearth/homeserver/globalid"
	"hearth/homeserver/replica"
	"hearth/homeserver/wire"
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
type replicaLog = forward.Log

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
	g, err := h.originServer().GlobalOf(ctx, id)
	if err != nil {
		return "", storeErr("global id", err)
	}
	return g, nil
}

// sender sends the acts of h's users to the origins of their replicas.
func (h *Homeserver) sender() forward.Sender[Principal] {
	s := forward.Sender[Principal]{Name: h.cfg.ServerName, IDs: h.cfg.IDs, Store: h.store, Domain: sendDomain{h},
		Unavailable: ErrUnavailable}
	if h.remote != nil {
		s.Remote = h.remote
	}
	return s
}

// forward asks a replica's origin to act for p, then waits until the
// replica has applied the result.
func (h *Homeserver) forward(ctx context.Context, p Principal, rl replicaLog, act wire.Act, channelID, messageID snowflake.ID) (wire.ActResult, error) {
	return h.sender().Send(ctx, p, rl, act, channelID, messageID)
}

// localResult localizes the result of an act of replica rl into out.
func (h *Homeserver) localResult(ctx context.Context, rl replicaLog, res wire.ActResult, out any) error {
	return h.sender().Result(ctx, rl, res, out)
}

// sendDomain is what sending an act asks of h.
type sendDomain struct{ h *Homeserver }

func (d sendDomain) Now() time.Time { return d.h.now() }

func (d sendDomain) Author(p Principal) (string, wire.RemoteUser) {
	return globalid.Format(p.User.ID, d.h.cfg.ServerName), d.h.remoteUserOf(p.User)
}

func (d sendDomain) GlobalOf(ctx context.Context, id snowflake.ID) (string, error) {
	return d.h.globalOf(ctx, id)
}

func (d sendDomain) Record(ctx context.Context, p Principal, rl replicaLog, act wire.Act, messageID snowflake.ID) (func(), error) {
	return d.h.recordSentAct(ctx, p, rl, act, messageID)
}

func (d sendDomain) CatchUp(ctx context.Context, log snowflake.ID, seq int64) error {
	return d.h.catchUp(ctx, log, seq)
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
	if errors.Is(err, ErrUnknownGuild) && replica.OpensDM(batch) {
		// A DM channel's first batch: its replica is made by the batch's
		// own transaction, so that a refused batch leaves nothing.
		guildID, err, opening = h.cfg.IDs.Next(), nil, true
	}
	if err != nil {
		return err
	}
	g, ok := h.replicaByLog(ctx, guildID)
	if !ok && replica.OpensDM(batch) {
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
	if err := replica.Check(batch); err != nil {
		return err
	}
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		ev.applyingReplica(g.ID)
		l := h.newLocalizer(tx, tx).ForReplica(g.Origin, g.ID)
		if err := replica.Apply(ctx, tx, replicaEnv{h, ev}, l, replica.Target(g), batch, rep.Seq, opening); err != nil {
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

// replicaEnv lends package replica what it needs of the domain for one
// transaction: its events (the log), clock, localizer, attachment links,
// edit history and member bound. events is nil in a transaction of
// store.Update rather than update (a member page, a history page): those
// operations append to no log.
type replicaEnv struct {
	h *Homeserver
	*events
}

// Now is the domain's clock.
func (e replicaEnv) Now() time.Time { return e.h.now() }

// Localize renders a global payload in this server's IDs (localize).
func (e replicaEnv) Localize(ctx context.Context, tx storage.Tx, l *globalid.Localizer, v any) ([]byte, error) {
	return e.h.localize(ctx, tx, l, v)
}

// RenderAttachment is an attachment with its link on this server.
func (e replicaEnv) RenderAttachment(a storage.Attachment) discord.Attachment {
	return e.h.renderAttachment(a)
}

// KeepRevision stores a message's version before a change.
func (e replicaEnv) KeepRevision(ctx context.Context, tx storage.Tx, s storage.Scope, m storage.Message, editor snowflake.ID, deleted bool) error {
	return e.h.keepRevision(ctx, tx, s, m, editor, deleted)
}

// MemberBound refuses a payload over the replica guild's member bound.
func (e replicaEnv) MemberBound(ctx context.Context, tx storage.Tx, guildID snowflake.ID) error {
	return e.h.memberBound(ctx, tx, guildID)
}

// ObjectBound refuses a payload over the replica guild's bounds on
// channels, threads and roles.
func (e replicaEnv) ObjectBound(ctx context.Context, tx storage.Tx, guildID snowflake.ID) error {
	n, err := tx.ObjectCounts(ctx, guildID)
	if err != nil {
		return err
	}
	c := e.h.cfg
	for _, b := range []struct {
		what     string
		has, max int
	}{{"channels", n.Channels, c.MaxReplicaChannels}, {"threads", n.Threads, c.MaxReplicaThreads}, {"roles", n.Roles, c.MaxReplicaRoles}} {
		if b.has > b.max {
			return fmt.Errorf("replica guild %d would hold %d %s, over %d: %w", guildID, b.has, b.what, b.max, ErrTooManyObjects)
		}
	}
	return nil
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
				floors = replica.HistoryFloors(v, server)
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
		rt := replica.Target{ID: guildID, Origin: server, Global: head.ID, Guild: true}
		if err := replica.ApplyState(ctx, tx, replicaEnv{h, ev}, l, rt, st.Guild, st.Channels, st.Threads, existing); err != nil {
			return err
		}
		if err := replica.ApplyMembers(ctx, tx, replicaEnv{h, ev}, guildID, members); err != nil {
			return err
		}
		var mine *discord.Member
		for i, m := range members {
			if m.User != nil && m.User.ID == p.User.ID {
				mine = &members[i]
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
			if err := replica.ApplyMembers(ctx, tx, replicaEnv{h: h}, guildID, ms); err != nil {
				return err
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
// that peer (which the sender then passes on to the guild's other peers),
// or, with no guild, the presence of a peer's user for their friends here.
func (h *Homeserver) ApplyEphemeral(ctx context.Context, peer string, e wire.EphemeralEvent) error {
	if e.Type != "TYPING_START" && e.Type != "PRESENCE_UPDATE" {
		return Invalid("type", "BASE_TYPE_CHOICES", "Only TYPING_START and PRESENCE_UPDATE are carried.")
	}
	if e.Guild == "" && e.Type == "PRESENCE_UPDATE" {
		return h.applyFriendPresence(ctx, peer, e)
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

// applyFriendPresence takes a presence of a peer's user for their friends
// here (spec/federation.md §17.5): the peer speaks for its own users only,
// and only of one who is an accepted friend of one of this server's users;
// anyone else's presence is nobody's business here.
func (h *Homeserver) applyFriendPresence(ctx context.Context, peer string, e wire.EphemeralEvent) error {
	var d struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		UserID  *string         `json:"user_id"`
		GuildID json.RawMessage `json:"guild_id"`
	}
	if json.Unmarshal(e.D, &d) != nil || d.User.ID == "" {
		return Invalid("d", "BASE_TYPE_REQUIRED", "A presence names its user.")
	}
	if d.GuildID != nil || d.UserID != nil {
		// The gateway would read either as another target than the
		// user's friends.
		return Invalid("d", "BASE_TYPE_INVALID", "A friend's presence names no guild and one user.")
	}
	_, userOrigin, ok := globalid.Parse(d.User.ID)
	if !ok {
		return Invalid("d", "BASE_TYPE_INVALID", "Not a global ID.")
	}
	if userOrigin != peer {
		return fmt.Errorf("%s sent the presence of %q, not its user: %w", peer, d.User.ID, ErrForbidden)
	}
	userID, err := h.lookupGlobal(ctx, d.User.ID, ErrUnknownUser)
	if errors.Is(err, ErrUnknownUser) {
		// A user this server never saw is nobody's friend here.
		return fmt.Errorf("%s sent the presence of %q, a stranger here: %w", peer, d.User.ID, ErrForbidden)
	}
	if err != nil {
		return err
	}
	if _, err := h.peerPrincipal(ctx, peer, d.User.ID, userID); err != nil {
		return err
	}
	friends, err := h.store.FriendsOf(ctx, userID)
	if err != nil {
		return storeErr("friends of", err)
	}
	if len(friends) == 0 {
		return fmt.Errorf("%s sent the presence of %q, nobody's friend here: %w", peer, d.User.ID, ErrForbidden)
	}
	v, err := globalid.Decode(e.D)
	if err != nil {
		return Invalid("d", "BASE_TYPE_INVALID", "Not JSON.")
	}
	var out []byte
	err = h.store.Update(ctx, func(tx storage.Tx) error {
		l := h.newLocalizer(tx, tx)
		l.Defer()
		l.Signed(peer)
		if out, err = h.localize(ctx, tx, l, v); err != nil {
			return err
		}
		// The user is known (above); any other ID is not what a presence
		// carries, and is kept nowhere.
		if len(l.Pending()) > 0 {
			return errEphemeralUnheld
		}
		return nil
	})
	if errors.Is(err, errEphemeralUnheld) {
		return nil
	}
	if err != nil {
		return domainErr("friend presence", err)
	}
	h.bus.Publish(storage.Event{LogID: userID, Type: FriendPresenceRemote, Payload: out, CreatedAt: h.now()})
	return nil
}

// errEphemeralUnheld: an ephemeral event names an object this server does
// not hold; it is dropped, and the transaction that looked is undone.
var errEphemeralUnheld = errors.New("ephemeral event about an object not held here")
