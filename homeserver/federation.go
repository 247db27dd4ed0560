package homeserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/homeserver/origin"
	"hearth/homeserver/wire"
	"hearth/snowflake"
	"hearth/storage"
)

// Remote is how the domain reaches other homeservers: the federation
// adapter implements it (signed HTTP) and is handed in with SetRemote, so
// that the domain knows no HTTP. Every answer carries global IDs.
type Remote interface {
	// Join asks server to add user to a guild through an invite code.
	Join(ctx context.Context, server string, req wire.JoinRequest) (wire.Snapshot, error)
	// Act asks a guild's origin to do something as one of this server's
	// users.
	Act(ctx context.Context, server string, act wire.Act) (wire.ActResult, error)
	// Events fetches the events of an origin's guild after a sequence
	// number, as the origin lets this server see them.
	Events(ctx context.Context, server, guild string, after int64) (wire.EventBatch, error)
	// Members fetches a page of an origin guild's members after an opaque
	// cursor ("" for the first page).
	Members(ctx context.Context, server, guild, after string) (wire.MemberPage, error)
	// User looks up a user of server by name.
	User(ctx context.Context, server, username string) (wire.RemoteUser, error)
	// Fetch reads a file server serves at path (an attachment or an emoji
	// image), at most limit bytes.
	Fetch(ctx context.Context, server, path string, limit int64) (io.ReadCloser, error)
	// FetchUpload reads, with a signed request, a file that server's user
	// is sending in one of this server's guilds.
	FetchUpload(ctx context.Context, server, hash string, limit int64) (io.ReadCloser, error)
	// History fetches a page of an origin channel's messages older than
	// before (a snowflake of the origin's; "" for the newest), newest
	// first.
	History(ctx context.Context, server, channel, before string, limit int) (json.RawMessage, error)
	// Invite previews an invite of server (global IDs, with counts).
	Invite(ctx context.Context, server, code string) (json.RawMessage, error)
	// Relationship tells server of a relationship act of one of this
	// server's users towards one of its users.
	Relationship(ctx context.Context, server string, act wire.RelationshipAct) (wire.RelationshipResult, error)
	// UserDeleted tells server that one of this server's users was
	// deleted.
	UserDeleted(ctx context.Context, server string, n wire.UserDeleted) error
	// InteractionNotice tells server of an interaction of one of its users
	// in one of this server's guilds.
	InteractionNotice(ctx context.Context, server string, n wire.InteractionNotice) error
	// ClockOffset is how far server's clock is ahead of this server's
	// (negative: behind), as a lower bound learnt from its answers; 0 when
	// unknown. Act deadlines are written in the origin's clock with it.
	ClockOffset(server string) time.Duration
}

// SetRemote connects the domain to other homeservers. Without it every
// cross-server action fails with ErrUnavailable.
func (h *Homeserver) SetRemote(r Remote) { h.remote = r }

// Refusals counts what peers answered that this server refused: a join's
// snapshot, a member page or a history page naming what the peer does not
// own, or over a bound. Such an answer is no inbound request, yet it is
// the same overstep, so the federation adapter counts it beside refused
// requests (hearth_federation_inbound_rejected_total).
type Refusals interface {
	// RefusedAnswer counts err, an answer's refusal, when it is a refusal
	// of the peer's authority or of a bound (other failures are not).
	RefusedAnswer(peer string, err error)
}

// SetRefusals connects the counter of refused answers; set before serving.
func (h *Homeserver) SetRefusals(r Refusals) { h.refusals = r }

// refusedAnswer counts a peer's refused answer, when a counter is set.
func (h *Homeserver) refusedAnswer(peer string, err error) {
	if h.refusals != nil && err != nil {
		h.refusals.RefusedAnswer(peer, err)
	}
}

// PresenceLocal is the bus event the gateway publishes when one of this
// server's users changes presence in a guild (it has told its own sessions
// already); federation carries it as PRESENCE_UPDATE. A PRESENCE_UPDATE on
// the bus is one that came from another server, for the gateway to tell.
const PresenceLocal = origin.PresenceLocal

// FriendPresenceLocal is the bus event the gateway publishes when one of
// this server's users changes presence, for federation to tell the
// servers of their friends of other homeservers (LogID the user, payload
// a FriendPresence).
const FriendPresenceLocal = origin.FriendPresenceLocal

// FriendPresence is FriendPresenceLocal's payload.
type FriendPresence = origin.FriendPresence

// FriendPresenceRemote is the bus event of a presence of another server's
// user that came to this server for their friends here: its LogID is the
// user, its payload a PRESENCE_UPDATE without guild_id, in local IDs, for
// the gateway to tell the sessions of the user's friends here.
const FriendPresenceRemote = "HEARTH_FRIEND_PRESENCE_REMOTE"

// ErrForbidden: a peer asked for something it may not have: an act for a
// user of another server, a guild it has no members in, an event for a
// guild it is not the origin of.
var ErrForbidden = globalid.ErrForbidden

// ErrGap: a replica was handed events that do not follow what it has.
var ErrGap = errors.New("events do not follow the replica")

// ErrRemoteGuild: the action is one this server does not yet carry to a
// guild's origin, and doing it on the replica alone would make the replica
// disagree with the origin.
var ErrRemoteGuild = errors.New("not available in a guild of another homeserver yet")

// errorCodes names the domain errors on the federation wire, so that a
// member's homeserver can hand its client the origin's refusal with the
// same Discord code.
var errorCodes = map[string]error{
	"UNAUTHORIZED": ErrUnauthorized, "UNKNOWN_USER": ErrUnknownUser, "NOT_FOUND": ErrNotFound,
	"MISSING_ACCESS": ErrMissingAccess, "MISSING_PERMISSIONS": ErrMissingPermission, "UNAVAILABLE": ErrUnavailable,
	"UNKNOWN_GUILD": ErrUnknownGuild, "UNKNOWN_CHANNEL": ErrUnknownChannel, "UNKNOWN_ROLE": ErrUnknownRole,
	"UNKNOWN_MEMBER": ErrUnknownMember, "UNKNOWN_INVITE": ErrUnknownInvite, "UNKNOWN_BAN": ErrUnknownBan,
	"UNKNOWN_EMOJI": ErrUnknownEmoji, "UNKNOWN_MESSAGE": ErrUnknownMessage, "BANNED": ErrBanned,
	"MAX_GUILDS": ErrMaxGuilds, "OWNER_CANNOT_LEAVE": ErrOwnerCannotLeave, "MAX_PINS": ErrMaxPins,
	"EMPTY_MESSAGE": ErrEmptyMessage, "NOT_AUTHOR": ErrNotAuthor, "TOO_LARGE": ErrTooLarge,
	"THREAD_ARCHIVED": ErrThreadArchived, "THREAD_LOCKED": ErrThreadLocked, "FORBIDDEN": ErrForbidden,
	"GAP": ErrGap, "REMOTE_GUILD": ErrRemoteGuild, "OWNS_GUILDS": ErrOwnsGuilds,
	"FRIEND_SELF": ErrFriendSelf, "FRIEND_BOT": ErrFriendBot, "FRIEND_REQUEST_REFUSED": ErrFriendRequestRefused,
	"ALREADY_FRIENDS": ErrAlreadyFriends, "BOTS_FORBIDDEN": ErrBotsForbidden,
	"UNKNOWN_APPLICATION": ErrUnknownApplication, "UNKNOWN_COMMAND": ErrUnknownCommand,
	"UNKNOWN_INTERACTION": ErrUnknownInteraction, "MIRROR_AUTHORITY": ErrMirrorAuthority,
}

// WireError is a domain error as the federation API carries it.
type WireError struct {
	Code    string                  `json:"code"`
	Message string                  `json:"message"`
	Errors  map[string][]FieldError `json:"errors,omitempty"`
	// RetryAfter is a slowmode's wait, in seconds.
	RetryAfter float64 `json:"retry_after,omitempty"`
}

// ToWire names a domain error for the federation API.
func ToWire(err error) WireError {
	var v *ValidationError
	var slow *SlowmodeError
	var limited *RateLimitedError
	switch {
	case errors.As(err, &v):
		return WireError{Code: "INVALID_FORM_BODY", Message: "Invalid Form Body", Errors: v.Fields}
	case errors.As(err, &slow):
		return WireError{Code: "SLOWMODE", Message: err.Error(), RetryAfter: slow.RetryAfter.Seconds()}
	case errors.As(err, &limited):
		return WireError{Code: "RATE_LIMITED", Message: err.Error(), RetryAfter: limited.RetryAfter.Seconds()}
	case errors.Is(err, ErrMirrorAuthority):
		// Before the table: it also wraps ErrMissingPermission, and the
		// member server's client should hear that Discord decides.
		return WireError{Code: "MIRROR_AUTHORITY", Message: ErrMirrorAuthority.Error()}
	case errors.Is(err, wire.ErrExpired):
		// Before the table: a member server's ErrExpired also wraps
		// ErrUnavailable.
		return WireError{Code: "EXPIRED", Message: wire.ErrExpired.Error()}
	}
	for code, e := range errorCodes {
		if errors.Is(err, e) {
			return WireError{Code: code, Message: e.Error()}
		}
	}
	return WireError{Code: "UNAVAILABLE", Message: ErrUnavailable.Error()}
}

// FromWire turns a peer's error back into the domain error it names;
// codes it does not know become ErrUnavailable.
func FromWire(server string, w WireError) error {
	switch w.Code {
	case "INVALID_FORM_BODY":
		return &ValidationError{Fields: w.Errors}
	case "SLOWMODE":
		return &SlowmodeError{RetryAfter: time.Duration(w.RetryAfter * float64(time.Second))}
	case "RATE_LIMITED":
		return &RateLimitedError{RetryAfter: time.Duration(w.RetryAfter * float64(time.Second))}
	case "EXPIRED":
		// Not done and never will be; for the member server's client a
		// failure that may succeed if tried again.
		return fmt.Errorf("%s answered %q: %w: %w", server, w.Message, wire.ErrExpired, ErrUnavailable)
	}
	if e, ok := errorCodes[w.Code]; ok {
		return fmt.Errorf("%s answered %q: %w", server, w.Message, e)
	}
	return fmt.Errorf("%s answered %s %q: %w", server, w.Code, w.Message, ErrUnavailable)
}

// localize renders a decoded global payload in this server's IDs, making
// local rows for the users of other homeservers it names first.
func (h *Homeserver) localize(ctx context.Context, tx storage.Tx, l *globalid.Localizer, v any) ([]byte, error) {
	if err := h.ensureUsers(ctx, tx, l, v, ""); err != nil {
		return nil, err
	}
	return l.Value(ctx, v)
}

// ensureUsers gives every user object of another homeserver found in a
// global payload a local user row (made on first sight, its profile kept
// current after), so that the payload's IDs can be rendered here.
func (h *Homeserver) ensureUsers(ctx context.Context, tx storage.Tx, l *globalid.Localizer, v any, key string) error {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if err := h.ensureUsers(ctx, tx, l, e, key); err != nil {
				return err
			}
		}
	case map[string]any:
		if globalid.UserKey(key) {
			if err := h.ensureUser(ctx, tx, l, x); err != nil {
				return err
			}
			if err := h.ownUserObject(ctx, tx, x); err != nil {
				return err
			}
			foreignBadges(x, h.cfg.ServerName)
			if err := foreignUserObject(ctx, tx, l, x, h.cfg.ServerName); err != nil {
				return err
			}
		}
		for k, e := range x {
			if err := h.ensureUsers(ctx, tx, l, e, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// ownUserObject shows a user object of this server's own user, in a
// payload of a peer's that this server stores and dispatches, as this
// server has the user: a peer may not rename or re-badge this server's
// users in what its clients read (spec/federation.md §14, 5). An ID that
// names no user here is left to the localizer, which refuses it.
func (h *Homeserver) ownUserObject(ctx context.Context, r storage.Reader, obj map[string]any) error {
	gid, _ := obj["id"].(string)
	raw, origin, ok := globalid.Parse(gid)
	if !ok || origin != h.cfg.ServerName {
		return nil
	}
	id, err := snowflake.Parse(raw)
	if err != nil {
		return nil
	}
	u, err := r.UserByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	b, err := json.Marshal(discordUser(u))
	if err != nil {
		return fmt.Errorf("own user %s: %w", gid, err)
	}
	var own map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&own); err != nil {
		return fmt.Errorf("own user %s: %w", gid, err)
	}
	// Every field of the user object is this server's; what else the
	// object carries (a mention's member) stays. The bridged mark is
	// omitted when false, so the peer's is taken off first.
	delete(obj, bridgedKey)
	for k, v := range own {
		obj[k] = v
	}
	obj["id"] = gid
	delete(obj, profileKey)
	return nil
}

// foreignBadges takes another server's badges off a user object of a
// payload this server stores and shows: its clients would read them as
// this server's. The profile shows them, named by their server.
func foreignBadges(obj map[string]any, server string) {
	gid, _ := obj["id"].(string)
	if _, origin, ok := globalid.Parse(gid); !ok || origin == server {
		return
	}
	if f, ok := jsonInt(obj["public_flags"]); ok && f&BadgeFlags != 0 {
		obj["public_flags"] = json.Number(strconv.FormatInt(f&^BadgeFlags, 10))
	}
	delete(obj, profileKey)
}

// foreignUserObject shows what a user object of a third server says of
// the user's avatar and bridged mark as this server keeps them: the row
// took them only from the user's own server, and a peer's copy of a third
// server's user (or one naming no row) must not show another avatar, or
// mark them bridged, in what this server stores and dispatches. An object
// the user's own server signed stays as sent: it is their word, and a
// webhook's messages each carry the avatar they were posted with.
func foreignUserObject(ctx context.Context, r storage.Reader, l *globalid.Localizer, obj map[string]any, server string) error {
	gid, _ := obj["id"].(string)
	if _, origin, ok := globalid.Parse(gid); !ok || origin == server || origin == l.Signer() {
		return nil
	}
	none := func() {
		if _, had := obj["avatar"]; had {
			obj["avatar"] = nil
		}
		delete(obj, bridgedKey)
	}
	u, ok := l.UserRow(gid)
	if !ok {
		id, cached := l.Cached(gid)
		if !cached {
			none()
			return nil
		}
		var err error
		if u, err = r.UserByID(ctx, id); errors.Is(err, storage.ErrNotFound) {
			none()
			return nil
		} else if err != nil {
			return err
		}
		l.KeepUserRow(gid, u)
	}
	if u.Avatar != "" {
		obj["avatar"] = u.Avatar
	} else {
		obj["avatar"] = nil
	}
	if u.Flags&FlagBridged != 0 {
		obj[bridgedKey] = true
	} else {
		delete(obj, bridgedKey)
	}
	return nil
}

// bridgedKey is the user object's bridged mark (discord.User.Bridged).
const bridgedKey = "hearth_bridged"

// ensureUser mirrors one user object of a global payload. A user of
// another server gets a row on first sight, whoever names them; their
// profile (username, global name, bot, and the badges, accent colour, bio
// and pronouns a Hearth server sends) is updated only when the payload
// was signed by their own server, so that no peer renames or re-badges a
// third server's user. This server's own users are never touched, and a
// mapping that points at a row of another server's user (an alias) is
// refused.
func (h *Homeserver) ensureUser(ctx context.Context, tx storage.Tx, l *globalid.Localizer, obj map[string]any) error {
	gid, _ := obj["id"].(string)
	raw, origin, ok := globalid.Parse(gid)
	if !ok || origin == h.cfg.ServerName || !l.FirstSight(gid) {
		return nil
	}
	name, _ := obj["username"].(string)
	if name == "" || len(name) > UsernameMax*4 {
		return nil
	}
	global, _ := obj["global_name"].(string)
	bot, _ := obj["bot"].(bool)
	id, err := l.UserID(ctx, gid)
	if err != nil {
		return err
	}
	signed := origin == l.Signer()
	u, err := tx.UserByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		u = storage.User{ID: id, Username: name, GlobalName: clip(global, GlobalNameMax),
			Bot: bot, CreatedAt: id.Time(), Origin: origin, OriginID: raw}
		if signed {
			mirrorProfile(&u, obj)
		}
		if n := l.UserCreated(); n > h.cfg.MaxNewPeerUsers {
			return fmt.Errorf("%d new users, over %d: %w", n, h.cfg.MaxNewPeerUsers, ErrTooManyUsers)
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("mirror user %s: %w", gid, err)
		}
		l.KeepUserRow(gid, u)
		return nil
	}
	if err != nil {
		return err
	}
	if u.Origin != origin || u.OriginID != raw {
		return fmt.Errorf("user %s maps to a user of %q: %w", gid, u.Origin, ErrForbidden)
	}
	if !signed {
		l.KeepUserRow(gid, u)
		return nil
	}
	before := u
	u.Username, u.GlobalName, u.Bot = name, clip(global, GlobalNameMax), bot
	mirrorProfile(&u, obj)
	if !sameProfile(before, u) {
		if err := tx.UpdateUser(ctx, u); err != nil {
			return fmt.Errorf("mirror user %s: %w", gid, err)
		}
		h.cache.userChanged(u.ID)
	}
	l.KeepUserRow(gid, u)
	return nil
}

// mirrorProfile takes the profile fields a user object of the user's own
// server carries: the badge bits of public_flags (the bridged mark among
// them), the avatar's hash, accent_color, and Hearth's hearth_profile
// {bio, pronouns}. A field the object lacks stays.
func mirrorProfile(u *storage.User, obj map[string]any) {
	if f, ok := jsonInt(obj["public_flags"]); ok {
		u.Flags = u.Flags&^BadgeFlags | f&BadgeFlags
	}
	if a, present := obj["avatar"]; present {
		if hash, ok := a.(string); ok && avatarHash.MatchString(hash) {
			u.Avatar = hash
		} else if a == nil {
			u.Avatar = ""
		}
	}
	if c, present := obj["accent_color"]; present {
		if n, ok := jsonInt(c); ok && n >= 0 && n <= 0xFFFFFF {
			v := int(n)
			u.AccentColor = &v
		} else if c == nil {
			u.AccentColor = nil
		}
	}
	if p, ok := obj[profileKey].(map[string]any); ok {
		if bio, ok := p["bio"].(string); ok {
			u.Bio = clipRunes(bio, BioMax)
		}
		if pr, ok := p["pronouns"].(string); ok {
			u.Pronouns = clipRunes(pr, PronounsMax)
		}
	}
}

// profileKey is the key of Hearth's profile extension in a user object
// between homeservers; it is taken off before a payload is stored.
const profileKey = "hearth_profile"

// avatarHash is the form of a Hearth avatar hash (decodeImage): the
// SHA-256 of the image, which a copy fetched from the user's server must
// match. Another form is not taken.
var avatarHash = regexp.MustCompile(`^(a_)?[0-9a-f]{64}$`)

func sameProfile(a, b storage.User) bool {
	sameAccent := (a.AccentColor == nil) == (b.AccentColor == nil) &&
		(a.AccentColor == nil || *a.AccentColor == *b.AccentColor)
	return a.Username == b.Username && a.GlobalName == b.GlobalName && a.Bot == b.Bot && a.Flags == b.Flags && a.Avatar == b.Avatar &&
		a.Bio == b.Bio && a.Pronouns == b.Pronouns && sameAccent
}

// jsonInt reads an integer of a decoded payload (json.Number, as Decode
// gives, or float64).
func jsonInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case float64:
		if n != float64(int64(n)) {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// remoteUserOf is how this server names one of its users to a peer, with
// their profile.
func (h *Homeserver) remoteUserOf(u User) wire.RemoteUser {
	return wire.RemoteUser{ID: globalid.Format(u.ID, h.cfg.ServerName), Username: u.Username,
		GlobalName: discord.Nullable(u.GlobalName), Bot: u.Bot,
		Profile: &wire.Profile{Bio: u.Bio, Pronouns: u.Pronouns, AccentColor: u.AccentColor, PublicFlags: u.Flags,
			Avatar: &u.Avatar}}
}

// remoteUserObject is ru as a payload's user object, for ensureUser.
func remoteUserObject(ru wire.RemoteUser) map[string]any {
	obj := map[string]any{"id": ru.ID, "username": ru.Username, "bot": ru.Bot}
	if ru.GlobalName != nil {
		obj["global_name"] = *ru.GlobalName
	}
	if p := ru.Profile; p != nil {
		obj["public_flags"] = json.Number(strconv.FormatInt(p.PublicFlags, 10))
		if p.AccentColor != nil {
			obj["accent_color"] = json.Number(strconv.Itoa(*p.AccentColor))
		} else {
			obj["accent_color"] = nil
		}
		obj[profileKey] = map[string]any{"bio": p.Bio, "pronouns": p.Pronouns}
		if p.Avatar != nil && *p.Avatar != "" {
			obj["avatar"] = *p.Avatar
		} else if p.Avatar != nil {
			obj["avatar"] = nil
		}
	}
	return obj
}

// refreshPeerUser keeps the row of peer's user ru current with the
// profile an act carries; it writes only when something changed.
func (h *Homeserver) refreshPeerUser(ctx context.Context, peer string, ru wire.RemoteUser) error {
	_, origin, ok := globalid.Parse(ru.ID)
	if !ok || origin != peer {
		return fmt.Errorf("%s speaks for %q: %w", peer, ru.ID, ErrForbidden)
	}
	id, err := h.newLocalizer(h.store, nil).ID(ctx, ru.ID)
	if errors.Is(err, globalid.ErrUnknown) {
		return nil // actor refuses a user never seen
	}
	if err != nil {
		return storeErr("refresh user", err)
	}
	u, err := h.store.UserByID(ctx, id)
	if err != nil {
		return storeErr("refresh user", err)
	}
	want := u
	want.Username, want.GlobalName, want.Bot = ru.Username, "", ru.Bot
	if ru.GlobalName != nil {
		want.GlobalName = clip(*ru.GlobalName, GlobalNameMax)
	}
	mirrorProfile(&want, remoteUserObject(ru))
	if sameProfile(u, want) {
		return nil
	}
	_, err = h.peerUser(ctx, peer, ru)
	return err
}

// peerUser finds (making it on first sight) the local row of a user of
// peer, refusing users of any other server: a homeserver speaks only for
// its own users.
func (h *Homeserver) peerUser(ctx context.Context, peer string, ru wire.RemoteUser) (Principal, error) {
	_, origin, ok := globalid.Parse(ru.ID)
	if !ok {
		return Principal{}, Invalid("user.id", "BASE_TYPE_INVALID", "Not a global ID.")
	}
	if origin != peer {
		return Principal{}, fmt.Errorf("%s speaks for a user of %s: %w", peer, origin, ErrForbidden)
	}
	var id snowflake.ID
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		l := h.newLocalizer(tx, tx)
		l.Signed(peer)
		if err := h.ensureUser(ctx, tx, l, remoteUserObject(ru)); err != nil {
			return err
		}
		var err error
		id, err = l.ID(ctx, ru.ID)
		return err
	})
	if err != nil {
		return Principal{}, domainErr("peer user", err)
	}
	return h.peerPrincipal(ctx, peer, ru.ID, id)
}

// peerPrincipal is the principal of peer's user gid, whose local row is
// id. The row must be that user's: a mapping aliased onto a user of this
// server (or of a third one) would let the peer act as them.
func (h *Homeserver) peerPrincipal(ctx context.Context, peer, gid string, id snowflake.ID) (Principal, error) {
	p, err := h.principalOf(ctx, id)
	if err != nil {
		return Principal{}, err
	}
	if p.User.Origin != peer {
		return Principal{}, fmt.Errorf("%s speaks for %q, which is not its user here: %w", peer, gid, ErrForbidden)
	}
	return p, nil
}

// principalOf is how a peer's user acts here: as the user, with no
// session of this server's.
func (h *Homeserver) principalOf(ctx context.Context, id snowflake.ID) (Principal, error) {
	u, err := h.User(ctx, id)
	if err != nil {
		return Principal{}, err
	}
	return Principal{User: u}, nil
}

// actor finds the local row of a peer's user named in an act; the user
// must have been seen (they joined a guild here), and must be the peer's.
func (h *Homeserver) actor(ctx context.Context, peer, gid string) (Principal, error) {
	_, origin, ok := globalid.Parse(gid)
	if !ok || origin != peer {
		return Principal{}, fmt.Errorf("%s speaks for %q: %w", peer, gid, ErrForbidden)
	}
	id, err := h.newLocalizer(h.store, nil).ID(ctx, gid)
	if errors.Is(err, globalid.ErrUnknown) {
		return Principal{}, fmt.Errorf("user %s: %w", gid, ErrUnknownUser)
	}
	if err != nil {
		return Principal{}, storeErr("actor", err)
	}
	return h.peerPrincipal(ctx, peer, gid, id)
}

// lookupGlobal localizes an ID of this server's own objects (or objects it
// mirrors) for a peer's request; an unknown one is notFound.
func (h *Homeserver) lookupGlobal(ctx context.Context, gid string, notFound error) (snowflake.ID, error) {
	if gid == "" {
		return 0, nil
	}
	id, err := h.newLocalizer(h.store, nil).ID(ctx, gid)
	if errors.Is(err, globalid.ErrUnknown) || errors.Is(err, globalid.ErrMalformed) {
		return 0, fmt.Errorf("%s: %w", gid, notFound)
	}
	if err != nil {
		return 0, storeErr("lookup", err)
	}
	return id, nil
}
