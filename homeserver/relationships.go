package homeserver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// Relationships: friends, requests and blocks (issue 13). Each of this
// server's users has a row per person they relate to (storage.Relationship);
// a person of another homeserver keeps their own rows there, and the two
// servers tell each other requests, acceptances and endings as signed
// relationship acts (spec/federation.md §17). A block is the blocker's row
// alone and is never told to anyone: the blocked person sees at most that
// a friendship or request ended.
//
// Changes reach the gateway as RELATIONSHIP_ADD and RELATIONSHIP_REMOVE bus
// events whose LogID is the user whose sessions receive them. They are in
// no log (READY carries the whole list again on every connection).

// Relationship dispatch names, Discord's.
const (
	RelationshipAdd    = "RELATIONSHIP_ADD"
	RelationshipRemove = "RELATIONSHIP_REMOVE"
	// RelationshipUpdate tells a user's sessions of a nickname they gave.
	RelationshipUpdate = "RELATIONSHIP_UPDATE"
)

// FriendNicknameMax is the longest friend nickname, in characters, as
// Discord's nicknames.
const FriendNicknameMax = 32

// Relationship refusals, each with its Discord code in clientapi/errors.go.
var (
	// ErrFriendSelf: a friend request to oneself (80003).
	ErrFriendSelf = errors.New("cannot send friend request to self")
	// ErrFriendBot: bots cannot have friends (80002).
	ErrFriendBot = errors.New("bots cannot have friends")
	// ErrFriendRequestRefused: the person takes no request from the
	// sender (80000); said alike for every reason, a block among them, so
	// that it does not reveal one.
	ErrFriendRequestRefused = errors.New("incoming friend requests disabled")
	// ErrFriendRequestBlocked: a request to someone the caller blocked
	// (80001); the block stays until the caller lifts it (DELETE).
	ErrFriendRequestBlocked = errors.New("friend request blocked")
	// ErrAlreadyFriends: a request to a friend (80007).
	ErrAlreadyFriends = errors.New("you are already friends with that user")
	// ErrNoSuchUserTag: no user has the name a request gave (80004).
	ErrNoSuchUserTag = errors.New("no users with that name exist")
)

// Bounds on friend requests. A user (of this server, or a peer's as its
// server relays them) may ask friendRequestLimit times per window; a peer
// may make peerRelationshipLimit relationship acts per window whoever
// they name; a user holds at most maxIncomingRequests pending requests.
const (
	friendRequestLimit    = 20
	friendRequestWindow   = 10 * time.Minute
	peerRelationshipLimit = 300
	peerRelationshipWin   = time.Minute
	maxIncomingRequests   = 1000
	relationshipLimitKeys = 100_000
)

// relType is a's relationship type towards b; 0 when there is none.
func relType(ctx context.Context, r storage.Reader, a, b snowflake.ID) (int, error) {
	rel, err := r.Relationship(ctx, a, b)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return rel.Type, nil
}

// lockPair holds both users' rows, in ID order so that two transactions
// about the same pair never wait on each other crosswise.
func lockPair(ctx context.Context, tx storage.Tx, a, b snowflake.ID) error {
	if a > b {
		a, b = b, a
	}
	if err := tx.LockUser(ctx, a); err != nil {
		return err
	}
	return tx.LockUser(ctx, b)
}

func renderRelationship(other storage.User, typ int, since time.Time, nickname string) discord.Relationship {
	r := discord.Relationship{ID: other.ID, Type: typ, User: discordUser(other), Since: discord.Timestamp(since)}
	if nickname != "" {
		r.Nickname = &nickname
	}
	return r
}

// relationshipErr names op on err, keeping the relationship refusals and
// the domain's own errors and calling anything else the store's failure.
func relationshipErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		return fmt.Errorf("%s: %w", op, err)
	}
	for _, known := range []error{ErrFriendSelf, ErrFriendBot, ErrFriendRequestRefused, ErrFriendRequestBlocked, ErrAlreadyFriends, ErrNoSuchUserTag} {
		if errors.Is(err, known) {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return domainErr(op, err)
}

// setRel writes a's row about b, and tells a's sessions.
func setRel(ctx context.Context, tx storage.Tx, ev *events, a storage.User, b storage.User, typ int, now time.Time, notify bool) error {
	if err := tx.SetRelationship(ctx, storage.Relationship{UserID: a.ID, OtherID: b.ID, Type: typ, Since: now}); err != nil {
		return err
	}
	if a.Origin != "" {
		return nil
	}
	nick := ""
	if cur, err := tx.Relationship(ctx, a.ID, b.ID); err == nil {
		nick = cur.Nickname // a row that changed type keeps its nickname
	}
	r := renderRelationship(b, typ, now, nick)
	r.ShouldNotify = notify
	return ev.Ephemeral(a.ID, RelationshipAdd, r)
}

// dropRel removes a's row about b (left alone when it is a block and
// keepBlock is set), and tells a's sessions if a is this server's; it
// answers the type it removed (0 for none).
func dropRel(ctx context.Context, tx storage.Tx, ev *events, a storage.User, b snowflake.ID, keepBlock bool) (int, error) {
	typ, err := relType(ctx, tx, a.ID, b)
	if err != nil || typ == 0 || (keepBlock && typ == storage.RelationshipBlocked) {
		return 0, err
	}
	if err := tx.DeleteRelationship(ctx, a.ID, b); err != nil {
		return 0, err
	}
	if a.Origin != "" {
		return typ, nil
	}
	return typ, ev.Ephemeral(a.ID, RelationshipRemove, discord.RelationshipRemove{ID: b, Type: typ})
}

// Relationships lists the caller's relationships.
func (h *Homeserver) Relationships(ctx context.Context, p Principal) ([]discord.Relationship, error) {
	rows, err := h.store.Relationships(ctx, p.User.ID)
	if err != nil {
		return nil, storeErr("relationships", err)
	}
	out := make([]discord.Relationship, 0, len(rows))
	for _, r := range rows {
		u, err := h.store.UserByID(ctx, r.OtherID)
		if err != nil {
			continue // gone with its account
		}
		out = append(out, renderRelationship(u, r.Type, r.Since, r.Nickname))
	}
	return out, nil
}

// FriendIDs lists the users a user is friends with, for the gateway's
// presence updates to friends who share no guild with the user.
func (h *Homeserver) FriendIDs(ctx context.Context, userID snowflake.ID) ([]snowflake.ID, error) {
	rows, err := h.store.Relationships(ctx, userID)
	if err != nil {
		return nil, storeErr("relationships", err)
	}
	var out []snowflake.ID
	for _, r := range rows {
		if r.Type == storage.RelationshipFriend {
			out = append(out, r.OtherID)
		}
	}
	return out, nil
}

// FriendsOf lists this server's users who are friends of a user (of
// another server, say): their accepted friendships, not requests or
// blocks.
func (h *Homeserver) FriendsOf(ctx context.Context, otherID snowflake.ID) ([]snowflake.ID, error) {
	ids, err := h.store.FriendsOf(ctx, otherID)
	if err != nil {
		return nil, storeErr("friends of", err)
	}
	return ids, nil
}

// relationshipParties loads the caller's row (to render them to the other
// side) and the other user's; people only (bots have no relationships).
func (h *Homeserver) relationshipParties(ctx context.Context, p Principal, otherID snowflake.ID) (storage.User, storage.User, error) {
	if p.User.Bot {
		return storage.User{}, storage.User{}, ErrBotsForbidden
	}
	me, err := h.store.UserByID(ctx, p.User.ID)
	if err != nil {
		return storage.User{}, storage.User{}, storeErr("relationship", err)
	}
	other, err := h.lookupUser(ctx, otherID)
	return me, other, err
}

// RequestFriendByName sends a friend request to a user named "name" (of
// this server) or "name@server" (of any): POST /users/@me/relationships.
func (h *Homeserver) RequestFriendByName(ctx context.Context, p Principal, handle string) error {
	if err := h.friendLimits.take(p.User.ID.String(), h.now()); err != nil {
		return relationshipErr("friend request", err)
	}
	name, server, remote := strings.Cut(strings.TrimSpace(handle), "@")
	if name == "" || len(name) > UsernameMax || (remote && (server == "" || len(server) > 255)) {
		return fmt.Errorf("friend request %q: %w", handle, ErrNoSuchUserTag)
	}
	server = strings.ToLower(server)
	if remote && !globalid.ValidServer(server) {
		return fmt.Errorf("friend request %q: %w", handle, ErrNoSuchUserTag)
	}
	if !remote || server == h.cfg.ServerName {
		u, err := h.store.UserByUsername(ctx, name)
		if errors.Is(err, storage.ErrNotFound) || err == nil && h.isWebhookUser(ctx, u) {
			return fmt.Errorf("friend request %q: %w", handle, ErrNoSuchUserTag)
		} else if err != nil {
			return storeErr("friend request", err)
		}
		return h.requestFriend(ctx, p, u.ID)
	}
	if h.remote == nil {
		return fmt.Errorf("friend request on %s: federation is off: %w", server, ErrUnavailable)
	}
	ru, err := h.remote.User(ctx, server, name)
	if errors.Is(err, ErrUnknownUser) {
		return fmt.Errorf("friend request %q: %w", handle, ErrNoSuchUserTag)
	}
	if err != nil {
		return err
	}
	if _, origin, ok := globalid.Parse(ru.ID); !ok || origin != server {
		return fmt.Errorf("%s answered for user %q: %w", server, ru.ID, ErrForbidden)
	}
	u, err := h.peerUser(ctx, server, ru)
	if err != nil {
		return err
	}
	return h.requestFriend(ctx, p, u.User.ID)
}

// RequestFriend sends a friend request to a user, or accepts theirs: PUT
// /users/@me/relationships/{id} with type 1 (or none). Asking again while
// the request is pending changes nothing; asking someone one blocked is
// refused (unblock first).
func (h *Homeserver) RequestFriend(ctx context.Context, p Principal, otherID snowflake.ID) error {
	if err := h.friendLimits.take(p.User.ID.String(), h.now()); err != nil {
		return relationshipErr("friend request", err)
	}
	return h.requestFriend(ctx, p, otherID)
}

func (h *Homeserver) requestFriend(ctx context.Context, p Principal, otherID snowflake.ID) error {
	if otherID == p.User.ID {
		return ErrFriendSelf
	}
	me, other, err := h.relationshipParties(ctx, p, otherID)
	if err != nil {
		return err
	}
	if other.Bot {
		return ErrFriendBot
	}
	if other.Origin != "" {
		return relationshipErr("friend request", h.requestRemoteFriend(ctx, me, other))
	}
	err = h.update(ctx, func(tx storage.Tx, ev *events) error {
		if err := lockPair(ctx, tx, me.ID, other.ID); err != nil {
			return err
		}
		mine, err := relType(ctx, tx, me.ID, other.ID)
		if err != nil {
			return err
		}
		theirs, err := relType(ctx, tx, other.ID, me.ID)
		if err != nil {
			return err
		}
		now := ev.now
		switch {
		case mine == storage.RelationshipBlocked:
			return ErrFriendRequestBlocked
		case theirs == storage.RelationshipBlocked:
			return ErrFriendRequestRefused
		case mine == storage.RelationshipFriend:
			return ErrAlreadyFriends
		case mine == storage.RelationshipOutgoing:
			return nil // asked already
		case mine == storage.RelationshipIncoming:
			if err := setRel(ctx, tx, ev, me, other, storage.RelationshipFriend, now, false); err != nil {
				return err
			}
			return setRel(ctx, tx, ev, other, me, storage.RelationshipFriend, now, false)
		}
		if n, err := tx.CountRelationships(ctx, other.ID, storage.RelationshipIncoming); err != nil {
			return err
		} else if n >= maxIncomingRequests {
			return ErrFriendRequestRefused
		}
		if err := setRel(ctx, tx, ev, me, other, storage.RelationshipOutgoing, now, false); err != nil {
			return err
		}
		return setRel(ctx, tx, ev, other, me, storage.RelationshipIncoming, now, true)
	})
	return relationshipErr("friend request", err)
}

// requestRemoteFriend asks a user of another homeserver, or accepts their
// request, through their homeserver; the row here changes only once that
// server has said yes.
func (h *Homeserver) requestRemoteFriend(ctx context.Context, me, other storage.User) error {
	mine, err := relType(ctx, h.store, me.ID, other.ID)
	if err != nil {
		return err
	}
	kind := wire.RelationshipRequest
	switch mine {
	case storage.RelationshipBlocked:
		return ErrFriendRequestBlocked
	case storage.RelationshipFriend:
		return ErrAlreadyFriends
	case storage.RelationshipOutgoing:
		return nil
	case storage.RelationshipIncoming:
		kind = wire.RelationshipAccept
	}
	if h.remote == nil {
		return fmt.Errorf("friend request to %s: federation is off: %w", other.Origin, ErrUnavailable)
	}
	res, err := h.remote.Relationship(ctx, other.Origin, wire.RelationshipAct{
		Kind: kind, From: h.remoteUserOf(userFrom(me)), To: other.OriginID + "@" + other.Origin})
	if err != nil {
		return err
	}
	typ := storage.RelationshipOutgoing
	if res.Friends {
		typ = storage.RelationshipFriend
	}
	return h.update(ctx, func(tx storage.Tx, ev *events) error {
		if err := tx.LockUser(ctx, me.ID); err != nil {
			return err
		}
		if cur, err := relType(ctx, tx, me.ID, other.ID); err != nil || cur == typ {
			return err
		}
		return setRel(ctx, tx, ev, me, other, typ, ev.now, false)
	})
}

// SetFriendNickname sets the nickname the caller gives a person they
// relate to (Discord's PATCH /users/@me/relationships/{id} {nickname}):
// it is the caller's alone, shown in their own list, never told to
// anyone else or across servers. Empty or null clears it; a person the
// caller has no relationship with, or has blocked, is unknown (10013).
func (h *Homeserver) SetFriendNickname(ctx context.Context, p Principal, otherID snowflake.ID, nickname Optional[string]) error {
	if p.User.Bot {
		return ErrBotsForbidden
	}
	nick := ""
	if nickname.Set && !nickname.Null {
		nick = strings.TrimSpace(nickname.Value)
	}
	if n := utf8.RuneCountInString(nick); n > FriendNicknameMax {
		return Invalid("nickname", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between 1 and %d in length.", FriendNicknameMax))
	}
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		rel, err := tx.Relationship(ctx, p.User.ID, otherID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && rel.Type == storage.RelationshipBlocked) {
			return fmt.Errorf("relationship with %d: %w", otherID, ErrUnknownUser)
		}
		if err != nil {
			return err
		}
		other, err := tx.UserByID(ctx, otherID)
		if err != nil {
			return err
		}
		if err := tx.SetRelationshipNickname(ctx, p.User.ID, otherID, nick); err != nil {
			return err
		}
		return ev.Ephemeral(p.User.ID, RelationshipUpdate, renderRelationship(other, rel.Type, rel.Since, nick))
	})
	return relationshipErr("friend nickname", err)
}

// BlockUser blocks a user: PUT /users/@me/relationships/{id} with type 2.
// A friendship or request between the two ends; the blocked person is
// told only that (RELATIONSHIP_REMOVE), never of the block.
func (h *Homeserver) BlockUser(ctx context.Context, p Principal, otherID snowflake.ID) error {
	if otherID == p.User.ID {
		return Invalid("id", "BASE_TYPE_INVALID", "You cannot block yourself.")
	}
	me, other, err := h.relationshipParties(ctx, p, otherID)
	if err != nil {
		return err
	}
	tell := false
	err = h.update(ctx, func(tx storage.Tx, ev *events) error {
		if err := lockPair(ctx, tx, me.ID, other.ID); err != nil {
			return err
		}
		mine, err := relType(ctx, tx, me.ID, other.ID)
		if err != nil || mine == storage.RelationshipBlocked {
			return err
		}
		if err := setRel(ctx, tx, ev, me, other, storage.RelationshipBlocked, ev.now, false); err != nil {
			return err
		}
		if mine != 0 && other.Origin != "" {
			tell = true
			return h.queueRemoval(ctx, tx, me, other)
		}
		if other.Origin == "" {
			_, err = dropRel(ctx, tx, ev, other, me.ID, true)
		}
		return err
	})
	if err != nil {
		return relationshipErr("block", err)
	}
	if tell {
		h.noticesQueued()
	}
	return nil
}

// RemoveRelationship ends whatever the caller has with a user: unfriend,
// cancel or refuse a request, unblock. Ending nothing changes nothing.
func (h *Homeserver) RemoveRelationship(ctx context.Context, p Principal, otherID snowflake.ID) error {
	me, other, err := h.relationshipParties(ctx, p, otherID)
	if err != nil {
		return err
	}
	tell := false
	err = h.update(ctx, func(tx storage.Tx, ev *events) error {
		if err := lockPair(ctx, tx, me.ID, other.ID); err != nil {
			return err
		}
		mine, err := dropRel(ctx, tx, ev, me, other.ID, false)
		if err != nil || mine == 0 || mine == storage.RelationshipBlocked {
			return err // an unblock is the blocker's alone
		}
		if other.Origin != "" {
			tell = true
			return h.queueRemoval(ctx, tx, me, other)
		}
		_, err = dropRel(ctx, tx, ev, other, me.ID, true)
		return err
	})
	if err != nil {
		return relationshipErr("remove relationship", err)
	}
	if tell {
		h.noticesQueued()
	}
	return nil
}

// queueRemoval queues, in the transaction that ends it, the notice to a
// remote person's homeserver that a friendship or request with them ended.
// The ending stands here whatever it answers; the notice is retried until
// it answers (spec/federation.md §17.3), unless a new act between the two
// overtakes it.
func (h *Homeserver) queueRemoval(ctx context.Context, tx storage.Tx, me, other storage.User) error {
	return h.queueNotice(ctx, tx, other.Origin, storage.NoticeRelationship, wire.RelationshipAct{
		Kind: wire.RelationshipRemove, From: h.remoteUserOf(userFrom(me)), To: other.OriginID + "@" + other.Origin}, me.ID, other.ID)
}

// PeerRelationship carries out a peer's relationship act. The acting user
// must be the signer's own and the one acted on this server's; a request
// to someone who blocked the actor is answered as if it were pending and
// keeps nothing; an acceptance stands only for a request this server's
// user made; a repeat changes nothing.
func (h *Homeserver) PeerRelationship(ctx context.Context, peer string, act wire.RelationshipAct) (wire.RelationshipResult, error) {
	var none wire.RelationshipResult
	if err := h.peerRelLimits.take(peer, h.now()); err != nil {
		return none, relationshipErr("peer relationship", err)
	}
	switch act.Kind {
	case wire.RelationshipRequest, wire.RelationshipAccept, wire.RelationshipRemove:
	default:
		return none, Invalid("kind", "BASE_TYPE_CHOICES", "Not a relationship act.")
	}
	raw, origin, ok := globalid.Parse(act.To)
	if !ok {
		return none, Invalid("to", "BASE_TYPE_INVALID", "Not a global ID.")
	}
	if origin != h.cfg.ServerName {
		return none, fmt.Errorf("%s names %q, not a user of this server: %w", peer, act.To, ErrForbidden)
	}
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return none, fmt.Errorf("user %s: %w", act.To, ErrUnknownUser)
	}
	target, err := h.store.UserByID(ctx, snowflake.ID(id))
	if errors.Is(err, storage.ErrNotFound) || (err == nil && target.Origin != "") {
		return none, fmt.Errorf("user %s: %w", act.To, ErrUnknownUser)
	}
	if err != nil {
		return none, storeErr("peer relationship", err)
	}
	if _, from, ok := globalid.Parse(act.From.ID); !ok || from != peer {
		return none, fmt.Errorf("%s speaks for %q: %w", peer, act.From.ID, ErrForbidden)
	}
	if act.Kind == wire.RelationshipRequest {
		if err := h.friendLimits.take(act.From.ID, h.now()); err != nil {
			return none, relationshipErr("peer relationship", err)
		}
	}
	actor, err := h.peerUser(ctx, peer, act.From)
	if err != nil {
		return none, err
	}
	if target.Bot || actor.User.Bot {
		return none, ErrFriendBot
	}
	var out wire.RelationshipResult
	err = h.update(ctx, func(tx storage.Tx, ev *events) error {
		if err := tx.LockUser(ctx, target.ID); err != nil {
			return err
		}
		from, err := tx.UserByID(ctx, actor.User.ID)
		if err != nil {
			return err
		}
		mine, err := relType(ctx, tx, target.ID, from.ID)
		if err != nil {
			return err
		}
		switch act.Kind {
		case wire.RelationshipRemove:
			_, err := dropRel(ctx, tx, ev, target, from.ID, true)
			return err
		case wire.RelationshipAccept:
			switch mine {
			case storage.RelationshipFriend:
				out.Friends = true
				return nil
			case storage.RelationshipOutgoing:
				out.Friends = true
				return setRel(ctx, tx, ev, target, from, storage.RelationshipFriend, ev.now, false)
			}
			return fmt.Errorf("%s accepts a request %s never made: %w", act.From.ID, act.To, ErrForbidden)
		}
		switch mine {
		case storage.RelationshipBlocked, storage.RelationshipIncoming:
			return nil // blocked: kept from the asker's server, as if pending
		case storage.RelationshipFriend:
			out.Friends = true
			return nil
		case storage.RelationshipOutgoing:
			out.Friends = true
			return setRel(ctx, tx, ev, target, from, storage.RelationshipFriend, ev.now, false)
		}
		if n, err := tx.CountRelationships(ctx, target.ID, storage.RelationshipIncoming); err != nil {
			return err
		} else if n >= maxIncomingRequests {
			return ErrFriendRequestRefused
		}
		return setRel(ctx, tx, ev, target, from, storage.RelationshipIncoming, ev.now, true)
	})
	return out, relationshipErr("peer relationship", err)
}

// checkDM refuses a one-to-one DM between sender and other when either
// blocked the other, or other takes DMs from friends only and sender is
// not one (ErrCannotDM, Discord's 50007, whatever the reason: the refusal
// reveals no block). Only this server's users have rows, so each server
// checks its own users' side.
func (h *Homeserver) checkDM(ctx context.Context, r storage.Reader, sender, other snowflake.ID) error {
	theirs, err := relType(ctx, r, other, sender)
	if err != nil {
		return storeErr("dm check", err)
	}
	mine, err := relType(ctx, r, sender, other)
	if err != nil {
		return storeErr("dm check", err)
	}
	if theirs == storage.RelationshipBlocked || mine == storage.RelationshipBlocked {
		return ErrCannotDM
	}
	if theirs == storage.RelationshipFriend {
		return nil
	}
	on, err := r.DMFriendsOnly(ctx, other)
	if err != nil {
		return storeErr("dm check", err)
	}
	if on {
		return ErrCannotDM
	}
	return nil
}

// checkDMChannel applies checkDM to a send in a one-to-one DM channel;
// other channels pass.
func (h *Homeserver) checkDMChannel(ctx context.Context, r storage.Reader, c storage.Channel, sender snowflake.ID) error {
	if c.GuildID != 0 || c.Type != storage.ChannelDM {
		return nil
	}
	for _, id := range c.Recipients {
		if id != sender {
			return h.checkDM(ctx, r, sender, id)
		}
	}
	return nil
}

// Blocks says whether userID blocked otherID. The gateway asks it before
// handing userID's sessions a DM message by otherID: a DM whose origin is
// the blocked person's homeserver (never told of the block) still carries
// their messages here, and the blocker does not see them live.
func (h *Homeserver) Blocks(ctx context.Context, userID, otherID snowflake.ID) bool {
	typ, err := relType(ctx, h.store, userID, otherID)
	return err == nil && typ == storage.RelationshipBlocked
}
