// Package origin serves what this homeserver, as the origin of its guilds
// and DM channels, gives its peers (spec/federation.md §5–§9): a join's
// snapshot, batches of a log filtered by what the peer's members may see,
// pages of members, the reader a history page is read as, and ephemeral
// events. Everything here is a read over storage, in global IDs; what the
// domain judges (a user's permissions in a channel, the Discord shape of a
// member, a guild's state as a member's gateway has it) is lent by it
// through Domain or as a function.
//
// The package depends on storage, wire, globalid, discord, snowflake and
// permission only, never on package homeserver: the domain calls it, keeps
// the thin exported methods the federation adapter calls (PeerEvents,
// PeerMembers, PeerHistory, FederatedJoin...), and keeps the act handlers,
// which carry a peer's act out as the domain's own operations
// (TestFederationHalfImports checks the rule).
package origin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/homeserver/permission"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// ErrForbidden is the refusal of a peer that asks for what it may not
// have: a log or member list of a guild it has no members in, a channel
// none of its users may read. It is the ownership vocabulary's one error
// (globalid's), which the domain answers as FORBIDDEN.
var ErrForbidden = globalid.ErrForbidden

// Bounds of what one answer carries.
const (
	// MaxEventBatch bounds the events of one transaction or backfill
	// page.
	MaxEventBatch = 500
	// SnapshotMembers is how many members a join's snapshot carries; the
	// replica fetches the rest page by page.
	SnapshotMembers = 1000
	// MemberPageSize is how many members one member page holds.
	MemberPageSize = 1000
)

// PresenceLocal is the bus event the gateway publishes when one of this
// server's users changes presence in a guild; federation carries it as
// PRESENCE_UPDATE.
const PresenceLocal = "HEARTH_PRESENCE"

// FriendPresenceLocal is the bus event the gateway publishes when one of
// this server's users changes presence, for the servers of their friends
// of other homeservers (spec/federation.md §17.5). Its LogID is the user;
// its payload a FriendPresence.
const FriendPresenceLocal = "HEARTH_FRIEND_PRESENCE"

// FriendPresence is FriendPresenceLocal's payload: the presence as a
// PRESENCE_UPDATE without guild_id, and, when it is for one friend's
// server only (a friendship just begun, or an answer to a friend's first
// presence), that friend.
type FriendPresence struct {
	Friend snowflake.ID    `json:"friend,omitempty"`
	D      json.RawMessage `json:"d"`
}

// Domain is what the origin asks the domain.
type Domain interface {
	// ChannelPermissions are a user's permissions in a channel.
	ChannelPermissions(ctx context.Context, userID, channelID snowflake.ID) permission.Set
	// Member is a member in Discord's shape.
	Member(m storage.Member, u storage.User) discord.Member
}

// Server is this homeserver as the origin of its logs.
type Server struct {
	// Name is this server's federation name.
	Name string
	// Store reads the database; Hot answers the hot reads (guilds, users,
	// channels) from the domain's state cache.
	Store, Hot storage.Reader
	Domain     Domain
}

// JSON encodes v and globalizes its IDs.
func (s Server) JSON(ctx context.Context, r storage.Reader, v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out, err := globalid.Globalize(ctx, r, s.Name, b)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// GlobalOf names one of this server's snowflakes for a peer.
func (s Server) GlobalOf(ctx context.Context, id snowflake.ID) (string, error) {
	if id == 0 {
		return "", nil
	}
	m, err := s.Store.FederatedOrigins(ctx, []snowflake.ID{id})
	if err != nil {
		return "", err
	}
	if g, ok := m[id]; ok {
		return g.OriginID + "@" + g.Origin, nil
	}
	return globalid.Format(id, s.Name), nil
}

// Audience lists the peer's users who receive a log: its members in a
// guild, its recipients in a DM channel (dm true).
func (s Server) Audience(ctx context.Context, r storage.Reader, logID snowflake.ID, peer string) (users []snowflake.ID, dm bool, err error) {
	if _, err := s.Hot.GuildByID(ctx, logID); err == nil {
		users, err := r.OriginMembers(ctx, logID, peer)
		return users, false, err
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, false, err
	}
	c, err := r.ChannelByID(ctx, logID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, true, nil
	}
	if err != nil {
		return nil, true, err
	}
	for _, id := range c.Recipients {
		if u, err := r.UserByID(ctx, id); err == nil && u.Origin == peer {
			users = append(users, id)
		}
	}
	return users, true, nil
}

// Batch reads a log of this server's after a position as peer may see
// it: the events about channels none of the peer's members may view are
// left out (the batch still covers their sequence numbers). A peer with
// neither members in the log nor a delivery cursor of it is refused with
// ErrForbidden.
func (s Server) Batch(ctx context.Context, peer string, logID snowflake.ID, after int64, limit int) (wire.EventBatch, error) {
	if limit <= 0 || limit > MaxEventBatch {
		limit = MaxEventBatch
	}
	members, dm, err := s.Audience(ctx, s.Store, logID, peer)
	if err != nil {
		return wire.EventBatch{}, err
	}
	cursorKept := true
	if _, err := s.Store.DeliveryCursor(ctx, peer, logID); errors.Is(err, storage.ErrNotFound) {
		cursorKept = false
	}
	if len(members) == 0 && !cursorKept {
		return wire.EventBatch{}, fmt.Errorf("%s has no members in guild %d: %w", peer, logID, ErrForbidden)
	}
	evs, err := s.Store.Events(ctx, logID, after, limit)
	if err != nil {
		return wire.EventBatch{}, err
	}
	// A log named to a peer names an object of this server's.
	out := wire.EventBatch{Guild: globalid.Format(logID, s.Name), From: after, To: after, Events: []wire.RemoteEvent{}}
	var payloads [][]byte
	for _, ev := range evs {
		out.To = ev.Seq
		if !dm && !s.may(ctx, members, ev) {
			if ev.Type == "CHANNEL_UPDATE" {
				// The update hid the channel from every member of the
				// peer: for the peer it is gone, and it learns no more.
				var c struct {
					ID      snowflake.ID `json:"id"`
					GuildID snowflake.ID `json:"guild_id"`
					Type    int          `json:"type"`
				}
				_ = json.Unmarshal(ev.Payload, &c)
				ev.Type = "CHANNEL_DELETE"
				ev.Payload, _ = json.Marshal(c)
			} else {
				continue
			}
		}
		out.Events = append(out.Events, wire.RemoteEvent{Seq: ev.Seq, Type: ev.Type, Act: ev.Act})
		payloads = append(payloads, ev.Payload)
	}
	global, err := globalid.Globalize(ctx, s.Store, s.Name, payloads...)
	if err != nil {
		return wire.EventBatch{}, fmt.Errorf("peer events: %w", err)
	}
	for i := range out.Events {
		out.Events[i].D = global[i]
	}
	return out, nil
}

// may reports whether a peer whose members are members may see an event:
// invites stay home; channel events need one member who may view the
// channel.
func (s Server) may(ctx context.Context, members []snowflake.ID, ev storage.Event) bool {
	if strings.HasPrefix(ev.Type, "INVITE_") {
		return false
	}
	var m struct {
		ID        snowflake.ID `json:"id"`
		ChannelID snowflake.ID `json:"channel_id"`
	}
	_ = json.Unmarshal(ev.Payload, &m)
	var channel snowflake.ID
	switch {
	case ev.Type == "CHANNEL_DELETE" || ev.Type == "THREAD_DELETE":
		return true // a peer that never saw it ignores it
	case ev.Type == "CHANNEL_CREATE" || ev.Type == "CHANNEL_UPDATE" || strings.HasPrefix(ev.Type, "THREAD_"):
		channel = m.ID
	default:
		channel = m.ChannelID
	}
	if channel == 0 {
		return true
	}
	for _, u := range members {
		if s.Domain.ChannelPermissions(ctx, u, channel).Has(permission.ViewChannel) {
			return true
		}
	}
	return false
}

// Snapshot is, in tx, the state a peer's replica of guildID starts from
// once the peer's user joiner has joined: the guild's state (as state
// reads it in tx, without members), its first page of members with the
// joiner among them, the invite, and the log's head, from which the peer
// then receives the log (its delivery cursor is made there, when it has
// none). One transaction, so that the state and its position agree.
func (s Server) Snapshot(ctx context.Context, tx storage.Tx, peer string, guildID, joiner snowflake.ID, state func(storage.Reader) (any, error), invite any) (wire.Snapshot, error) {
	var snap wire.Snapshot
	head, err := tx.LogHead(ctx, guildID)
	if err != nil {
		return snap, err
	}
	if _, err := tx.DeliveryCursor(ctx, peer, guildID); errors.Is(err, storage.ErrNotFound) {
		if err := tx.SetDeliveryCursor(ctx, storage.Cursor{Peer: peer, LogID: guildID, Seq: head}); err != nil {
			return snap, err
		}
	} else if err != nil {
		return snap, err
	}
	st, err := state(tx)
	if err != nil {
		return snap, err
	}
	ms, err := tx.Members(ctx, guildID, 0, SnapshotMembers)
	if err != nil {
		return snap, err
	}
	members := make([]discord.Member, 0, len(ms)+1)
	found := false
	for _, m := range ms {
		if u, err := tx.UserByID(ctx, m.UserID); err == nil {
			members = append(members, s.Domain.Member(m, u))
			found = found || m.UserID == joiner
		}
	}
	if !found {
		// Past the first page in a big guild: the replica needs the
		// joining member itself.
		m, err := tx.Member(ctx, guildID, joiner)
		if err != nil {
			return snap, err
		}
		u, err := tx.UserByID(ctx, joiner)
		if err != nil {
			return snap, err
		}
		members = append(members, s.Domain.Member(m, u))
	}
	snap.Seq = head
	if snap.Guild, err = s.JSON(ctx, tx, st); err != nil {
		return snap, err
	}
	if snap.Members, err = s.JSON(ctx, tx, members); err != nil {
		return snap, err
	}
	snap.Invite, err = s.JSON(ctx, tx, invite)
	return snap, err
}

// ErrCursor: a member page's cursor is not one this server gave.
var ErrCursor = errors.New("not a member cursor of this server")

// Members is a page of a guild's members for a peer with members in it,
// after the cursor after ("" for the first page); the next page's cursor
// is this server's ID of the last member sent, opaque to the peer.
func (s Server) Members(ctx context.Context, peer string, guildID snowflake.ID, after string) (wire.MemberPage, error) {
	mine, err := s.Store.OriginMembers(ctx, guildID, peer)
	if err != nil {
		return wire.MemberPage{}, err
	}
	if len(mine) == 0 {
		return wire.MemberPage{}, fmt.Errorf("%s has no members in guild %d: %w", peer, guildID, ErrForbidden)
	}
	var from snowflake.ID
	if after != "" {
		n, err := strconv.ParseUint(after, 10, 64)
		if err != nil {
			return wire.MemberPage{}, fmt.Errorf("%q: %w", after, ErrCursor)
		}
		from = snowflake.ID(n)
	}
	ms, err := s.Store.Members(ctx, guildID, from, MemberPageSize)
	if err != nil {
		return wire.MemberPage{}, err
	}
	out := make([]discord.Member, 0, len(ms))
	for _, m := range ms {
		if u, err := s.Hot.UserByID(ctx, m.UserID); err == nil {
			out = append(out, s.Domain.Member(m, u))
		}
	}
	page := wire.MemberPage{}
	if page.Members, err = s.JSON(ctx, s.Store, out); err != nil {
		return wire.MemberPage{}, err
	}
	if len(ms) == MemberPageSize {
		page.Next = ms[len(ms)-1].UserID.String()
	}
	return page, nil
}

// HistoryReader is the user of peer a page of channelID (in log logID) is
// read as: one of the peer's users in the log who may read the channel's
// history. A peer with none is refused with ErrForbidden.
func (s Server) HistoryReader(ctx context.Context, peer string, logID, channelID snowflake.ID) (snowflake.ID, error) {
	users, _, err := s.Audience(ctx, s.Store, logID, peer)
	if err != nil {
		return 0, err
	}
	for _, u := range users {
		if perms := s.Domain.ChannelPermissions(ctx, u, channelID); perms.Has(permission.ViewChannel | permission.ReadMessageHistory) {
			return u, nil
		}
	}
	return 0, fmt.Errorf("%s has nobody who may read channel %d: %w", peer, channelID, ErrForbidden)
}

// Ephemeral prepares an ephemeral event for a peer: typing and presence
// in one of this server's guilds for the peers with members in it (never a
// peer's own user's presence back to it), and the presence of this
// server's users in a replica guild for that guild's origin. False when
// the peer is not to have it.
func (s Server) Ephemeral(ctx context.Context, peer string, ev storage.Event) (wire.EphemeralEvent, bool) {
	if ev.Type == FriendPresenceLocal {
		return s.friendPresence(ctx, peer, ev)
	}
	typ := ev.Type
	if typ == PresenceLocal {
		typ = "PRESENCE_UPDATE"
	}
	if typ != "TYPING_START" && typ != "PRESENCE_UPDATE" {
		return wire.EphemeralEvent{}, false
	}
	g, err := s.Hot.GuildByID(ctx, ev.LogID)
	if err != nil {
		return wire.EphemeralEvent{}, false
	}
	var about struct {
		UserID snowflake.ID `json:"user_id"`
		User   struct {
			ID snowflake.ID `json:"id"`
		} `json:"user"`
	}
	_ = json.Unmarshal(ev.Payload, &about)
	userID := max(about.UserID, about.User.ID)
	u, err := s.Hot.UserByID(ctx, userID)
	if err != nil || u.Origin == peer {
		return wire.EphemeralEvent{}, false
	}
	if g.Origin != "" {
		// A replica: only our own users' presence goes, to the origin.
		if g.Origin != peer || typ != "PRESENCE_UPDATE" || u.Origin != "" {
			return wire.EphemeralEvent{}, false
		}
	} else {
		members, err := s.Store.OriginMembers(ctx, g.ID, peer)
		if err != nil || len(members) == 0 || (typ == "TYPING_START" && !s.may(ctx, members, ev)) {
			return wire.EphemeralEvent{}, false
		}
	}
	d, err := globalid.Globalize(ctx, s.Store, s.Name, ev.Payload)
	if err != nil {
		return wire.EphemeralEvent{}, false
	}
	guild, err := s.GlobalOf(ctx, g.ID)
	if err != nil {
		return wire.EphemeralEvent{}, false
	}
	return wire.EphemeralEvent{Guild: guild, Type: typ, D: d[0]}, true
}

// friendPresence prepares a presence of one of this server's users for
// the server of their friends: checked again as it leaves, so that a
// friendship ended since the change was published sends nothing.
func (s Server) friendPresence(ctx context.Context, peer string, ev storage.Event) (wire.EphemeralEvent, bool) {
	var fp FriendPresence
	if json.Unmarshal(ev.Payload, &fp) != nil {
		return wire.EphemeralEvent{}, false
	}
	if u, err := s.Hot.UserByID(ctx, ev.LogID); err != nil || u.Origin != "" {
		return wire.EphemeralEvent{}, false
	}
	if !slices.Contains(FriendServers(ctx, s.Store, s.Hot, ev.LogID, fp.Friend), peer) {
		return wire.EphemeralEvent{}, false
	}
	d, err := globalid.Globalize(ctx, s.Store, s.Name, fp.D)
	if err != nil {
		return wire.EphemeralEvent{}, false
	}
	return wire.EphemeralEvent{Type: "PRESENCE_UPDATE", D: d[0]}, true
}

// FriendServers names the other homeservers of a user's accepted friends
// (pending requests and blocks are no friendship), each once; with only
// set, that friend's server alone, if they are friends.
func FriendServers(ctx context.Context, store, hot storage.Reader, userID, only snowflake.ID) []string {
	rows, err := store.Relationships(ctx, userID)
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range rows {
		if r.Type != storage.RelationshipFriend || (only != 0 && r.OtherID != only) {
			continue
		}
		u, err := hot.UserByID(ctx, r.OtherID)
		if err != nil || u.Origin == "" || slices.Contains(out, u.Origin) {
			continue
		}
		out = append(out, u.Origin)
	}
	return out
}
