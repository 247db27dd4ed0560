package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/homeserver/origin"
	"hearth/homeserver/permission"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// The origin's side of federation: peers' users join its guilds, act in
// them through their homeservers, and receive the guild logs from per-peer
// cursors (spec/federation.md).

// SnapshotMembers is how many members a join's snapshot carries; the
// replica fetches the rest page by page.
const SnapshotMembers = origin.SnapshotMembers

// originServer is this homeserver as package origin serves its logs to
// peers, with what the domain lends it. Made per call: tests rename the
// server after New.
func (h *Homeserver) originServer() origin.Server {
	return origin.Server{Name: h.cfg.ServerName, Store: h.store, Hot: h.hot, Domain: originDomain{h}}
}

// originDomain lends package origin the domain's permissions and shapes.
type originDomain struct{ h *Homeserver }

// ChannelPermissions are a user's permissions in a channel.
func (d originDomain) ChannelPermissions(ctx context.Context, userID, channelID snowflake.ID) permission.Set {
	return d.h.ChannelPermissions(ctx, userID, channelID)
}

// Member is a member in Discord's shape.
func (d originDomain) Member(m storage.Member, u storage.User) discord.Member {
	return discordMember(m, u)
}

// FederatedJoin adds a user of peer to a guild of this server through an
// invite, and answers with the state the peer's replica starts from. From
// then on the peer receives the guild's log from the snapshot's Seq.
func (h *Homeserver) FederatedJoin(ctx context.Context, peer string, req wire.JoinRequest) (wire.Snapshot, error) {
	if strings.Contains(req.Invite, "@") {
		// A peer may join only this server's guilds; a code naming a third
		// server would have this one act for a stranger's user there.
		return wire.Snapshot{}, fmt.Errorf("invite %q: %w", req.Invite, ErrUnknownInvite)
	}
	p, err := h.peerUser(ctx, peer, req.User)
	if err != nil {
		return wire.Snapshot{}, err
	}
	inv, err := h.AcceptInvite(ctx, p, req.Invite)
	if err != nil {
		return wire.Snapshot{}, err
	}
	guildID := inv.Guild.ID
	var snap wire.Snapshot
	err = h.store.Update(ctx, func(tx storage.Tx) error {
		state := func(r storage.Reader) (any, error) {
			st, err := h.guildState(ctx, r, p, guildID)
			st.Members = nil
			return st, err
		}
		var err error
		snap, err = h.originServer().Snapshot(ctx, tx, peer, guildID, p.User.ID, state, inv)
		return err
	})
	if err != nil {
		return wire.Snapshot{}, domainErr("federated join", err)
	}
	h.log.Info("remote user joined", "peer", peer, "user", req.User.ID, "guild", guildID, "seq", snap.Seq)
	return snap, nil
}

// globalJSON encodes v and globalizes its IDs.
func (h *Homeserver) globalJSON(ctx context.Context, r storage.Reader, v any) (json.RawMessage, error) {
	return h.originServer().JSON(ctx, r, v)
}

// originGuild localizes a guild named by a peer: it must be one of this
// server's own guilds (not a replica).
func (h *Homeserver) originGuild(ctx context.Context, gid string) (storage.Guild, error) {
	id, err := h.lookupGlobal(ctx, gid, ErrUnknownGuild)
	if err != nil {
		return storage.Guild{}, err
	}
	g, err := h.hot.GuildByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && g.Origin != "") {
		return storage.Guild{}, fmt.Errorf("guild %s: %w", gid, ErrUnknownGuild)
	}
	if err != nil {
		return storage.Guild{}, storeErr("origin guild", err)
	}
	return g, nil
}

// originLog localizes a log named by a peer: one of this server's own
// guilds, or one of its own DM channels.
func (h *Homeserver) originLog(ctx context.Context, gid string) (snowflake.ID, error) {
	if g, err := h.originGuild(ctx, gid); err == nil {
		return g.ID, nil
	} else if !errors.Is(err, ErrUnknownGuild) {
		return 0, err
	}
	id, err := h.lookupGlobal(ctx, gid, ErrUnknownChannel)
	if err != nil {
		return 0, err
	}
	c, err := h.hot.ChannelByID(ctx, id)
	if err != nil || c.GuildID != 0 || c.Origin != "" {
		return 0, fmt.Errorf("log %s: %w", gid, ErrUnknownChannel)
	}
	return c.ID, nil
}

// MaxEventBatch bounds the events of one transaction or backfill page.
const MaxEventBatch = origin.MaxEventBatch

// PeerEvents reads a guild's log after a position as peer may see it: the
// events about channels none of the peer's members may view are left out
// (the batch still covers their sequence numbers). A peer without members
// in the guild gets ErrForbidden.
func (h *Homeserver) PeerEvents(ctx context.Context, peer, gid string, after int64, limit int) (wire.EventBatch, error) {
	logID, err := h.originLog(ctx, gid)
	if err != nil {
		return wire.EventBatch{}, err
	}
	b, err := h.peerBatch(ctx, peer, logID, after, limit)
	if err != nil {
		return b, err
	}
	// A peer asking for what follows after has everything up to it: its
	// cursor moves there, so that delivery does not send it again.
	err = h.store.Update(ctx, func(tx storage.Tx) error {
		c, err := tx.DeliveryCursor(ctx, peer, logID)
		if err != nil || c.Seq >= after {
			return nil
		}
		return tx.SetDeliveryCursor(ctx, storage.Cursor{Peer: peer, LogID: logID, Seq: after})
	})
	if err != nil {
		return wire.EventBatch{}, storeErr("peer events", err)
	}
	return b, nil
}

// PeerBatch is PeerEvents for the sender, which knows the guild by its
// local ID.
func (h *Homeserver) PeerBatch(ctx context.Context, peer string, guildID snowflake.ID, after int64) (wire.EventBatch, error) {
	return h.peerBatch(ctx, peer, guildID, after, MaxEventBatch)
}

func (h *Homeserver) peerBatch(ctx context.Context, peer string, guildID snowflake.ID, after int64, limit int) (wire.EventBatch, error) {
	b, err := h.originServer().Batch(ctx, peer, guildID, after, limit)
	return b, domainErr("peer events", err)
}

// DeliveryCursors lists where each peer is in each log it receives.
func (h *Homeserver) DeliveryCursors(ctx context.Context) ([]storage.Cursor, error) {
	cs, err := h.store.DeliveryCursors(ctx)
	if err != nil {
		return nil, storeErr("delivery cursors", err)
	}
	return cs, nil
}

// Delivered moves a peer's cursor after it acknowledged a transaction. A
// peer with no members left in the guild has had its last event (their
// leaving) and stops receiving the log; Delivered reports that with false.
func (h *Homeserver) Delivered(ctx context.Context, peer string, guildID snowflake.ID, seq int64) (bool, error) {
	keep := true
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		ms, _, err := h.originServer().Audience(ctx, tx, guildID, peer)
		if err != nil {
			return err
		}
		head, err := tx.LogHead(ctx, guildID)
		if err != nil {
			return err
		}
		// Only once the peer has everything: the removal of its last
		// member may be further on than this batch.
		if len(ms) == 0 && seq >= head {
			keep = false
			return tx.DeleteDeliveryCursor(ctx, peer, guildID)
		}
		// Never back: where several processes share the database, one
		// whose lease ran out during a transaction may acknowledge it
		// after the next holder has gone further.
		if c, err := tx.DeliveryCursor(ctx, peer, guildID); err == nil && c.Seq >= seq {
			return nil
		}
		return tx.SetDeliveryCursor(ctx, storage.Cursor{Peer: peer, LogID: guildID, Seq: seq})
	})
	if err != nil {
		return false, storeErr("delivered", err)
	}
	return keep, nil
}

func opt[T any](p *T) Optional[T] {
	if p == nil {
		return Optional[T]{}
	}
	return Optional[T]{Set: true, Value: *p}
}

// emojiToWire and emojiFromWire carry a reaction emoji between servers: a
// unicode emoji as it is, a custom one as "name:<global id>".
func (h *Homeserver) emojiToWire(ctx context.Context, emoji string) (string, error) {
	name, id, custom := strings.Cut(emoji, ":")
	if !custom {
		return emoji, nil
	}
	b, err := h.globalize(ctx, h.store, []byte(`{"id":"`+id+`"}`))
	if err != nil {
		return "", err
	}
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	return name + ":" + v.ID, nil
}

func (h *Homeserver) emojiFromWire(ctx context.Context, emoji string) (string, error) {
	name, gid, custom := strings.Cut(emoji, ":")
	if !custom {
		return emoji, nil
	}
	id, err := h.lookupGlobal(ctx, gid, ErrUnknownEmoji)
	if err != nil {
		return "", err
	}
	return name + ":" + id.String(), nil
}

// localMentions turns the mentions of a peer's message content into this
// server's IDs; a mention of something this server does not know stays as
// text.
func (h *Homeserver) localMentions(ctx context.Context, content string) string {
	l := h.newLocalizer(h.store, nil)
	return globalid.Mentions(content, func(kind, global string) string {
		id, err := l.ID(ctx, global)
		if err != nil {
			return "<" + kind + global + ">"
		}
		return "<" + kind + id.String() + ">"
	})
}

// MemberPageSize is how many members one page of PeerMembers holds.
const MemberPageSize = origin.MemberPageSize

// PeerMembers pages a guild's members for a peer with members in it. The
// cursor is opaque to the peer: this server's ID of the last member sent.
func (h *Homeserver) PeerMembers(ctx context.Context, peer, gid, after string) (wire.MemberPage, error) {
	g, err := h.originGuild(ctx, gid)
	if err != nil {
		return wire.MemberPage{}, err
	}
	page, err := h.originServer().Members(ctx, peer, g.ID, after)
	if errors.Is(err, origin.ErrCursor) {
		return wire.MemberPage{}, Invalid("after", "BASE_TYPE_INVALID", "Not a cursor of this server.")
	}
	return page, domainErr("peer members", err)
}

// PeerEphemeral prepares an ephemeral event for a peer: typing and
// presence in one of this server's guilds for the peers with members in it
// (never a peer's own user's presence back to it), and the presence of
// this server's users in a replica guild for that guild's origin. False
// when the peer is not to have it.
func (h *Homeserver) PeerEphemeral(ctx context.Context, peer string, ev storage.Event) (wire.EphemeralEvent, bool) {
	return h.originServer().Ephemeral(ctx, peer, ev)
}

// FriendServers names the homeservers of a user's accepted friends of
// other servers, each once (with only set, that friend's alone): where a
// FriendPresenceLocal of theirs goes.
func (h *Homeserver) FriendServers(ctx context.Context, userID, only snowflake.ID) []string {
	return origin.FriendServers(ctx, h.store, h.hot, userID, only)
}

// ReplicaOrigin names the origin of a replica guild; false for this
// server's own guilds.
func (h *Homeserver) ReplicaOrigin(ctx context.Context, guildID snowflake.ID) (string, bool) {
	rl, ok := h.replicaGuild(ctx, guildID)
	return rl.Origin, ok
}

// PeerHistory is a page of one of this server's channels for a peer, read
// as one of the peer's users who may read it would read it.
func (h *Homeserver) PeerHistory(ctx context.Context, peer, channel, before string, limit int) (json.RawMessage, error) {
	channelID, err := h.lookupGlobal(ctx, channel, ErrUnknownChannel)
	if err != nil {
		return nil, err
	}
	c, err := h.hot.ChannelByID(ctx, channelID)
	if err != nil || c.Origin != "" {
		return nil, fmt.Errorf("channel %s: %w", channel, ErrUnknownChannel)
	}
	if g, err := h.hot.GuildByID(ctx, c.GuildID); err == nil && g.Origin != "" {
		return nil, fmt.Errorf("channel %s: %w", channel, ErrUnknownChannel)
	}
	logID := c.GuildID
	if logID == 0 {
		logID = c.ID
	}
	reader, err := h.originServer().HistoryReader(ctx, peer, logID, channelID)
	if err != nil {
		return nil, domainErr("peer history", err)
	}
	// before is a snowflake of this server's, not an object: the peer
	// asks for what is older than a point in the channel.
	var beforeID snowflake.ID
	if before != "" {
		n, err := strconv.ParseUint(before, 10, 64)
		if err != nil {
			return nil, Invalid("before", "NUMBER_TYPE_COERCE", "Not a snowflake.")
		}
		beforeID = snowflake.ID(n)
	}
	if limit < 1 || limit > 100 {
		limit = 50
	}
	u, err := h.User(ctx, reader)
	if err != nil {
		return nil, err
	}
	ms, err := h.Messages(ctx, Principal{User: u}, channelID, HistoryQuery{Before: beforeID, Limit: limit})
	if err != nil {
		return nil, err
	}
	return h.globalJSON(ctx, h.store, ms)
}

// targetOf is the user an action is about: the actor when none is named.
func (h *Homeserver) targetOf(ctx context.Context, p Principal, gid string) (snowflake.ID, error) {
	if gid == "" {
		return p.User.ID, nil
	}
	return h.lookupGlobal(ctx, gid, ErrUnknownUser)
}

// roleFieldsFromWire reads role.create and role.edit's fields.
func roleFieldsFromWire(r *wire.ActRole) (RoleFields, error) {
	if r == nil {
		return RoleFields{}, nil
	}
	f := RoleFields{Name: opt(r.Name), Color: opt(r.Color), Hoist: opt(r.Hoist), Mentionable: opt(r.Mentionable),
		UnicodeEmoji: opt(r.UnicodeEmoji), Icon: opt(r.Icon)}
	if r.Permissions != nil {
		perms, err := permission.Parse(*r.Permissions)
		if err != nil {
			return RoleFields{}, Invalid("permissions", "NUMBER_TYPE_COERCE", "Not a permission bitfield.")
		}
		f.Permissions = Optional[permission.Set]{Set: true, Value: perms}
	}
	return f, nil
}

// channelFieldsFromWire reads channel.create and channel.edit's fields.
func (h *Homeserver) channelFieldsFromWire(ctx context.Context, c *wire.ActChannel) (ChannelFields, error) {
	if c == nil {
		return ChannelFields{}, nil
	}
	f := ChannelFields{Name: opt(c.Name), Type: opt(c.Type), Topic: opt(c.Topic), Position: opt(c.Position),
		NSFW: opt(c.NSFW), RateLimitPerUser: opt(c.RateLimitPerUser), Bitrate: opt(c.Bitrate), UserLimit: opt(c.UserLimit)}
	if c.Parent != nil {
		f.ParentID.Set = true
		if *c.Parent != "" {
			id, err := h.lookupGlobal(ctx, *c.Parent, ErrUnknownChannel)
			if err != nil {
				return ChannelFields{}, err
			}
			f.ParentID.Value = id
		}
	}
	if c.Overwrites != nil {
		f.Overwrites.Set = true
		f.Overwrites.Value = []Overwrite{}
		for _, o := range *c.Overwrites {
			id, err := h.lookupGlobal(ctx, o.ID, ErrUnknownOverwrite)
			if err != nil {
				return ChannelFields{}, err
			}
			f.Overwrites.Value = append(f.Overwrites.Value, Overwrite{TargetID: id, Type: o.Type, Allow: o.Allow, Deny: o.Deny})
		}
	}
	return f, nil
}
