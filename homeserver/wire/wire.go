// Package wire holds the bodies of the federation protocol as the domain
// reads and writes them (spec/federation.md): joins and snapshots, member
// pages, event batches, ephemeral events, and acts with their data,
// deadlines and answers. It knows no HTTP and no storage; the federation
// adapter carries these bodies, the domain makes and applies them.
package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MemberPage is a page of an origin guild's members (global IDs); Next is
// the cursor of the following page, "" after the last.
type MemberPage struct {
	Members json.RawMessage `json:"members"`
	Next    string          `json:"next"`
}

// RemoteUser is a user as the federation API names them.
type RemoteUser struct {
	// ID is the global ID: the user's snowflake on their homeserver, "@",
	// the homeserver.
	ID         string  `json:"id"`
	Username   string  `json:"username"`
	GlobalName *string `json:"global_name"`
	Bot        bool    `json:"bot,omitempty"`
	// Profile is the user's profile as their homeserver has it; a receiver
	// takes it only from that homeserver (spec/federation.md, "Users'
	// profiles"). Absent from servers that do not send it: nothing changes.
	Profile *Profile `json:"profile,omitempty"`
}

// Profile is the part of a user's profile that crosses homeservers with
// them. Banners are not mirrored.
type Profile struct {
	// Avatar is the hash of the user's avatar, "" for none, which
	// receivers fetch from the user's server (spec/federation.md §7.7);
	// absent (from a server that does not send it), nothing changes.
	Avatar      *string `json:"avatar,omitempty"`
	Bio         string  `json:"bio"`
	Pronouns    string  `json:"pronouns"`
	AccentColor *int    `json:"accent_color"`
	// PublicFlags are the user's flags; receivers keep only the badge bits
	// and show them as the sender's badges.
	PublicFlags int64 `json:"public_flags"`
}

// JoinRequest asks an origin to add a user to a guild through an invite.
type JoinRequest struct {
	Invite string     `json:"invite"`
	User   RemoteUser `json:"user"`
}

// Snapshot is an origin's answer to a join: what the joining server needs
// to start its replica, with global IDs. Seq is the guild log's position
// the state is at; the origin delivers the events after it.
type Snapshot struct {
	Seq     int64           `json:"seq"`
	Invite  json.RawMessage `json:"invite"`
	Guild   json.RawMessage `json:"guild"`
	Members json.RawMessage `json:"members"`
}

// Act is a write a member's homeserver asks a guild's origin to make for
// the member. Channel and Message are global IDs ("" when not needed);
// Data is the action's body, with global IDs. ID and Deadline make it
// safe to receive twice or late: the origin carries out one ID once, and
// nothing after the deadline.
type Act struct {
	// ID is "<snowflake>@<sender>", the sender's own and new for each act.
	ID string `json:"id"`
	// Deadline is when the act must have been carried out (RFC 3339).
	Deadline string          `json:"deadline"`
	User     string          `json:"user"`
	Action   string          `json:"action"`
	Guild    string          `json:"guild"`
	Channel  string          `json:"channel,omitempty"`
	Message  string          `json:"message,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	// From is the acting user with their profile, for the receiver to keep
	// current; its ID must be User.
	From *RemoteUser `json:"from,omitempty"`
}

// Actions a member's homeserver may ask for.
const (
	ActSend    = "message.create"
	ActEdit    = "message.edit"
	ActDelete  = "message.delete"
	ActReact   = "reaction.add"
	ActUnreact = "reaction.remove"
	ActTyping  = "typing"
	ActLeave   = "guild.leave"
	// ActInteract: the acting user interacts with an application of the
	// guild (a command, a component of one of its messages).
	ActInteract    = "interaction.create"
	ActPin         = "pin.add"
	ActUnpin       = "pin.remove"
	ActThread      = "thread.create"
	ActThreadEdit  = "thread.edit"
	ActThreadJoin  = "thread.join"
	ActThreadLeave = "thread.leave"
	ActThreadDrop  = "thread.delete"
	ActBulkDelete  = "message.bulk_delete"
	ActClear       = "reaction.clear"
	ActKick        = "member.kick"
	ActBan         = "member.ban"
	ActUnban       = "member.unban"
	ActRoleAdd     = "member.role.add"
	ActRoleRemove  = "member.role.remove"
	ActInvite      = "invite.create"
	ActMemberEdit  = "member.edit"
	ActRoleCreate  = "role.create"
	ActRoleEdit    = "role.edit"
	ActRoleDelete  = "role.delete"
	ActChanCreate  = "channel.create"
	ActChanEdit    = "channel.edit"
	ActChanDelete  = "channel.delete"
	ActEmojiCreate = "emoji.create"
	ActEmojiEdit   = "emoji.edit"
	ActEmojiDelete = "emoji.delete"
	ActGuildEdit   = "guild.edit"
	ActChanOrder   = "channel.reorder"
	ActRoleOrder   = "role.reorder"
	ActDataMaxSize = 1 << 20 // a role icon's data URI fits
)

// ActResult is the origin's answer to an Act: the result (a message, or
// null) and the guild log's position once the action is in it, which the
// member's homeserver catches up to before it answers its client.
type ActResult struct {
	Seq    int64           `json:"seq"`
	Result json.RawMessage `json:"result"`
}

// EventBatch is a stretch of an origin guild's log as one peer may see
// it: the events after From up to and including To, those the peer may
// not see left out. Events carry global IDs.
type EventBatch struct {
	Guild  string        `json:"guild"`
	From   int64         `json:"from"`
	To     int64         `json:"to"`
	Events []RemoteEvent `json:"events"`
}

// EphemeralEvent is an event that is in no log (typing, presence): sent
// once, to the peers up at that moment, never retried. A presence for a
// user's friends is of no guild: Guild is empty.
type EphemeralEvent struct {
	Guild string          `json:"guild,omitempty"`
	Type  string          `json:"type"`
	D     json.RawMessage `json:"d"`
}

// RemoteEvent is one event of an origin's guild log.
type RemoteEvent struct {
	Seq  int64           `json:"seq"`
	Type string          `json:"type"`
	D    json.RawMessage `json:"d"`
	// Act is the ID of the act the event carries out, when a peer's act
	// caused it: the acting user's server accepts an event saying its
	// user wrote, edited or reacted only with an act of theirs.
	Act string `json:"act,omitempty"`
}

// ActData is the body of an act: each action reads the fields it needs.
type ActData struct {
	Content         *string           `json:"content"`
	Nonce           string            `json:"nonce"`
	EnforceNonce    bool              `json:"enforce_nonce"`
	TTS             bool              `json:"tts"`
	Embeds          []json.RawMessage `json:"embeds"`
	Flags           *int              `json:"flags"`
	ReplyTo         string            `json:"reply_to,omitempty"`
	FailIfNotExists bool              `json:"fail_if_not_exists,omitempty"`
	Emoji           string            `json:"emoji,omitempty"`
	EmbedsSet       bool              `json:"embeds_set,omitempty"`
	Files           []ActFile         `json:"files,omitempty"`
	Thread          *ActThreadData    `json:"thread,omitempty"`
	// Target is another user an action is about (a reaction or thread
	// membership of someone else), as a global ID.
	Target string `json:"target,omitempty"`
	// Messages are the messages of a bulk delete, as global IDs.
	Messages []string `json:"messages,omitempty"`
	// DeleteMessageSeconds is a ban's clean-up window.
	DeleteMessageSeconds int `json:"delete_message_seconds,omitempty"`
	// Role is the role of member.role.add and .remove, as a global ID.
	Role string `json:"role,omitempty"`
	// Invite holds invite.create's settings.
	Invite *ActInviteData `json:"invite,omitempty"`
	// Member holds member.edit's changes.
	Member *ActMember `json:"member,omitempty"`
	// RoleFields and ChannelFields hold role.* and channel.* changes.
	RoleFields    *ActRole    `json:"role_fields,omitempty"`
	ChannelFields *ActChannel `json:"channel_fields,omitempty"`
	// Emoji fields: the custom emoji (global ID), its name and its image
	// (a data URI, for emoji.create).
	EmojiID    string `json:"emoji_id,omitempty"`
	EmojiName  string `json:"emoji_name,omitempty"`
	EmojiImage string `json:"emoji_image,omitempty"`
	// GuildFields holds guild.edit's changes.
	GuildFields *ActGuild `json:"guild_fields,omitempty"`
	// Positions hold channel.reorder's and role.reorder's moves.
	Positions []ActPosition `json:"positions,omitempty"`
	// Interaction holds interaction.create's interaction.
	Interaction *ActInteraction `json:"interaction,omitempty"`
}

// ActInteraction is an interaction as the person's client sent it. Data
// is the client's data object as a string: carried as the client wrote
// it, since its custom IDs and values are not IDs to translate, and a
// command is named there by its name (the member server does not know
// the origin's command IDs).
type ActInteraction struct {
	Type int `json:"type"`
	// ApplicationID is the application's bot, a global ID.
	ApplicationID string `json:"application_id"`
	Nonce         string `json:"nonce,omitempty"`
	// Session is the person's gateway session on the member server,
	// handed back in the notices about the interaction.
	Session string `json:"session,omitempty"`
	Data    string `json:"data"`
}

// InteractionNotice is what a guild's origin tells a member server about
// an interaction of one of its users: a dispatch (INTERACTION_CREATE,
// INTERACTION_SUCCESS and _FAILURE, a modal, autocomplete choices, an
// ephemeral message's create, update or delete) for that user alone.
type InteractionNotice struct {
	// Guild is the guild (global ID, of the signer); User the person
	// (global ID, of the receiver).
	Guild string `json:"guild"`
	User  string `json:"user"`
	// Session is the session the person interacted from ("": all).
	Session string          `json:"session,omitempty"`
	Type    string          `json:"type"`
	D       json.RawMessage `json:"d"`
}

// ActPosition is one move of a reorder: the channel or role (global ID),
// its position, and for a channel its parent ("" for none) and whether it
// takes the parent's overwrites.
type ActPosition struct {
	ID              string  `json:"id"`
	Position        *int    `json:"position,omitempty"`
	Parent          *string `json:"parent,omitempty"`
	LockPermissions bool    `json:"lock_permissions,omitempty"`
}

// ActGuild is a guild's settings as Discord's guild route takes them; a
// field left out is left alone, a system channel of "" is none.
type ActGuild struct {
	Name              *string `json:"name,omitempty"`
	Icon              *string `json:"icon,omitempty"`
	Description       *string `json:"description,omitempty"`
	SystemChannel     *string `json:"system_channel,omitempty"`
	VerificationLevel *int    `json:"verification_level,omitempty"`
	Public            *bool   `json:"public,omitempty"`
	Owner             *string `json:"owner,omitempty"`
}

// ActRole is a role's fields as Discord's role routes take them; a field
// left out is left alone.
type ActRole struct {
	Name         *string `json:"name,omitempty"`
	Permissions  *string `json:"permissions,omitempty"`
	Color        *int    `json:"color,omitempty"`
	Hoist        *bool   `json:"hoist,omitempty"`
	Mentionable  *bool   `json:"mentionable,omitempty"`
	UnicodeEmoji *string `json:"unicode_emoji,omitempty"`
	Icon         *string `json:"icon,omitempty"`
}

// ActOverwrite is a permission overwrite with a global target.
type ActOverwrite struct {
	ID    string `json:"id"`
	Type  int    `json:"type"`
	Allow int64  `json:"allow,string"`
	Deny  int64  `json:"deny,string"`
}

// ActChannel is a channel's fields as Discord's channel routes take them;
// a field left out is left alone, a parent of "" is none.
type ActChannel struct {
	Name             *string         `json:"name,omitempty"`
	Type             *int            `json:"type,omitempty"`
	Topic            *string         `json:"topic,omitempty"`
	Position         *int            `json:"position,omitempty"`
	Parent           *string         `json:"parent,omitempty"`
	NSFW             *bool           `json:"nsfw,omitempty"`
	RateLimitPerUser *int            `json:"rate_limit_per_user,omitempty"`
	Bitrate          *int            `json:"bitrate,omitempty"`
	UserLimit        *int            `json:"user_limit,omitempty"`
	Overwrites       *[]ActOverwrite `json:"permission_overwrites,omitempty"`
}

// ActMember is the body of member.edit: a field left out is left alone;
// an empty timeout lifts one.
type ActMember struct {
	Nick    *string   `json:"nick,omitempty"`
	Roles   *[]string `json:"roles,omitempty"`
	Timeout *string   `json:"communication_disabled_until,omitempty"`
	Mute    *bool     `json:"mute,omitempty"`
	Deaf    *bool     `json:"deaf,omitempty"`
}

// ActInviteData is the body of invite.create: absent fields take the
// origin's defaults.
type ActInviteData struct {
	MaxAge    *int `json:"max_age,omitempty"`
	MaxUses   *int `json:"max_uses,omitempty"`
	Temporary bool `json:"temporary,omitempty"`
	Unique    bool `json:"unique,omitempty"`
}

// ActThreadData is the body of thread.create and thread.edit: absent fields
// are left alone.
type ActThreadData struct {
	Name             *string `json:"name,omitempty"`
	Type             int     `json:"type,omitempty"`
	AutoArchive      *int    `json:"auto_archive_duration,omitempty"`
	RateLimitPerUser *int    `json:"rate_limit_per_user,omitempty"`
	Invitable        *bool   `json:"invitable,omitempty"`
	Archived         *bool   `json:"archived,omitempty"`
	Locked           *bool   `json:"locked,omitempty"`
}

// ActFile is a file of a forwarded send: the origin fetches its bytes from
// the sender's homeserver by hash (FetchUpload) and checks them.
type ActFile struct {
	Filename    string `json:"filename"`
	Description string `json:"description,omitempty"`
	Hash        string `json:"hash"`
	Size        int64  `json:"size"`
}

// Timing of acts. A member server gives each act a deadline ActTimeout
// after it sends it and waits for the answer ActGrace longer than that;
// the origin refuses an act after its deadline (ErrExpired) and stops
// carrying it out at the deadline. So when the member server gives up on
// an answer, the act was either done before its deadline or will never be
// (given clocks that agree within ActGrace).
const (
	// ActTimeout is how long after it is sent an act may be carried out.
	ActTimeout = 15 * time.Second
	// ActGrace is how much longer than the deadline the member server
	// waits for the answer: the answer's way back, and clock skew.
	ActGrace = 5 * time.Second
	// ActDeadlineMax bounds how far past the origin's clock a deadline
	// may be, and so how long a receipt must be kept.
	ActDeadlineMax = time.Minute
)

// ErrExpired: an act reached the origin after its deadline, or could not
// be carried out before it; it was not applied and never will be.
var ErrExpired = errors.New("act past its deadline")

// actDeadlineLayout is how a member server writes an act's deadline: RFC
// 3339 in UTC, to the millisecond. Any RFC 3339 time is read.
const actDeadlineLayout = "2006-01-02T15:04:05.000Z07:00"

// FormatActDeadline writes an act's deadline.
func FormatActDeadline(t time.Time) string { return t.UTC().Format(actDeadlineLayout) }

// ActDigest identifies an act's content, so that a repeat is known to be
// the same act and not another one under a used ID.
func ActDigest(act Act) (string, error) {
	b, err := json.Marshal(act)
	if err != nil {
		return "", fmt.Errorf("act digest: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Relationship acts: what one homeserver's user asks of another
// homeserver's user about their relationship (spec/federation.md §17).
const (
	// RelationshipRequest asks to be friends (a new request; if the
	// receiver's user had asked the sender's user already, they are now
	// friends).
	RelationshipRequest = "request"
	// RelationshipAccept accepts a request the receiver's user made.
	RelationshipAccept = "accept"
	// RelationshipRemove ends a friendship, or cancels or refuses a
	// request. A block is told as this, and only when something ended.
	RelationshipRemove = "remove"
)

// RelationshipAct is one relationship act of a peer's user (From, always
// the signer's own) towards a user of the receiver (To).
type RelationshipAct struct {
	Kind string `json:"kind"`
	// From is the acting user, with the profile the receiver shows.
	From RemoteUser `json:"from"`
	// To is the global ID of a user of the receiver.
	To string `json:"to"`
}

// RelationshipResult answers a relationship act: whether the two are
// friends now.
type RelationshipResult struct {
	Friends bool `json:"friends"`
}

// UserDeleted tells the servers that know a user that its homeserver (the
// signer) deleted or deactivated it.
type UserDeleted struct {
	// User is the global ID of a user of the signer.
	User string `json:"user"`
}
