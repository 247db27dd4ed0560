package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// GuildReader holds the guild queries of Reader.
type GuildReader interface {
	// GuildByID returns a guild, or ErrNotFound.
	GuildByID(ctx context.Context, id snowflake.ID) (Guild, error)
	// UserGuilds lists the guilds a user is a member of, by ID.
	UserGuilds(ctx context.Context, userID snowflake.ID) ([]Guild, error)
	// PublicGuilds lists public guilds whose name contains query (ignoring
	// case; "" matches all) with an ID above after, by ID, at most limit.
	PublicGuilds(ctx context.Context, query string, after snowflake.ID, limit int) ([]Guild, error)
	// MemberCount counts a guild's members.
	MemberCount(ctx context.Context, guildID snowflake.ID) (int, error)
	// ObjectCounts counts a guild's channels (categories included),
	// threads (archived included) and roles (@everyone included).
	ObjectCounts(ctx context.Context, guildID snowflake.ID) (ObjectCounts, error)

	// ChannelByID returns a channel with its overwrites, or ErrNotFound.
	ChannelByID(ctx context.Context, id snowflake.ID) (Channel, error)
	// GuildChannels lists a guild's channels with their overwrites, by
	// position then ID; threads are not among them (see ActiveThreads).
	GuildChannels(ctx context.Context, guildID snowflake.ID) ([]Channel, error)

	// GuildRoles lists a guild's roles, @everyone included, by position
	// then ID.
	GuildRoles(ctx context.Context, guildID snowflake.ID) ([]Role, error)

	// Member returns one member with its role IDs, or ErrNotFound.
	Member(ctx context.Context, guildID, userID snowflake.ID) (Member, error)
	// Members lists members with a user ID above after, by user ID, at
	// most limit.
	Members(ctx context.Context, guildID, after snowflake.ID, limit int) ([]Member, error)

	// TemporaryGuilds lists the guilds, by ID, that a user is a
	// temporary member of (joined through a temporary invite).
	TemporaryGuilds(ctx context.Context, userID snowflake.ID) ([]snowflake.ID, error)

	// Ban returns a ban, or ErrNotFound.
	Ban(ctx context.Context, guildID, userID snowflake.ID) (Ban, error)
	// Bans lists bans with a user ID above after, by user ID, at most limit.
	Bans(ctx context.Context, guildID, after snowflake.ID, limit int) ([]Ban, error)

	// Invite returns an invite by code, or ErrNotFound.
	Invite(ctx context.Context, code string) (Invite, error)
	// GuildInvites lists a guild's invites, by creation.
	GuildInvites(ctx context.Context, guildID snowflake.ID) ([]Invite, error)
	// ChannelInvites lists a channel's invites, by creation.
	ChannelInvites(ctx context.Context, channelID snowflake.ID) ([]Invite, error)

	// Emoji returns a custom emoji, or ErrNotFound.
	Emoji(ctx context.Context, id snowflake.ID) (Emoji, error)
	// GuildEmojis lists a guild's custom emoji, by ID.
	GuildEmojis(ctx context.Context, guildID snowflake.ID) ([]Emoji, error)

	// AuditLog lists a guild's audit entries matching q, newest first.
	AuditLog(ctx context.Context, guildID snowflake.ID, q AuditQuery) ([]AuditEntry, error)
}

// GuildWriter holds the guild writes of Tx.
type GuildWriter interface {
	// CreateGuild inserts a guild.
	CreateGuild(ctx context.Context, g Guild) error
	// UpdateGuild writes every mutable field; ErrNotFound if absent.
	UpdateGuild(ctx context.Context, g Guild) error
	// DeleteGuild removes a guild and everything in it (channels,
	// overwrites, roles, members, bans, invites, emoji, audit entries);
	// ErrNotFound if absent. The event log is kept.
	DeleteGuild(ctx context.Context, id snowflake.ID) error

	// CreateChannel inserts a channel and its overwrites.
	CreateChannel(ctx context.Context, c Channel) error
	// UpdateChannel writes every mutable field except the overwrites;
	// ErrNotFound if absent from s (c.GuildID is not read).
	UpdateChannel(ctx context.Context, s Scope, c Channel) error
	// LockChannel holds a channel's row until the transaction ends, so
	// that a bound counted over the channel's rows (50 pins) cannot be
	// passed by concurrent transactions that each counted before the
	// others wrote; ErrNotFound if absent.
	LockChannel(ctx context.Context, id snowflake.ID) error
	// DeleteChannel removes a channel, its overwrites and its invites;
	// ErrNotFound if absent from s.
	DeleteChannel(ctx context.Context, s Scope, id snowflake.ID) error
	// SetOverwrite creates or replaces the overwrite for o.TargetID;
	// ErrNotFound if the channel is absent from s.
	SetOverwrite(ctx context.Context, s Scope, channelID snowflake.ID, o Overwrite) error
	// DeleteOverwrite removes one; ErrNotFound if absent, or if the
	// channel is absent from s.
	DeleteOverwrite(ctx context.Context, s Scope, channelID, targetID snowflake.ID) error

	// CreateRole inserts a role.
	CreateRole(ctx context.Context, r Role) error
	// UpdateRole writes every mutable field; ErrNotFound if absent from s
	// (r.GuildID is not read).
	UpdateRole(ctx context.Context, s Scope, r Role) error
	// DeleteRole removes a role, takes it from every member and removes
	// the channel overwrites that target it; ErrNotFound if absent from s.
	DeleteRole(ctx context.Context, s Scope, id snowflake.ID) error

	// The member writes need no Scope: a member's key is its guild and
	// user, and member_roles' foreign key refuses a role of another guild.

	// AddMember inserts a member with its roles; ErrConflict if already one.
	AddMember(ctx context.Context, m Member) error
	// UpdateMember writes nick, timeout, deaf, mute and replaces the roles;
	// ErrNotFound if absent.
	UpdateMember(ctx context.Context, m Member) error
	// LockMember holds a member's row until the transaction ends, so that
	// a read-modify-write of it (roles) cannot lose a concurrent change;
	// ErrNotFound if absent.
	LockMember(ctx context.Context, guildID, userID snowflake.ID) error
	// RemoveMember removes a member and its roles; ErrNotFound if absent.
	RemoveMember(ctx context.Context, guildID, userID snowflake.ID) error
	// SetTemporaryMember marks a member as temporary (true) or not; the
	// mark goes with the member when it is removed. ErrNotFound if the
	// member is absent.
	SetTemporaryMember(ctx context.Context, guildID, userID snowflake.ID, temporary bool) error

	// CreateBan records a ban, replacing an existing one.
	CreateBan(ctx context.Context, b Ban) error
	// DeleteBan lifts a ban; ErrNotFound if absent.
	DeleteBan(ctx context.Context, guildID, userID snowflake.ID) error

	// CreateInvite inserts an invite; ErrConflict if the code exists.
	CreateInvite(ctx context.Context, inv Invite) error
	// UseInvite adds one to an invite's uses if it is still usable at now
	// (not used up, not expired); ErrNotFound if it is not (or absent).
	UseInvite(ctx context.Context, code string, now time.Time) error
	// DeleteInvite removes an invite; ErrNotFound if absent from s.
	DeleteInvite(ctx context.Context, s Scope, code string) error

	// CreateEmoji inserts a custom emoji.
	CreateEmoji(ctx context.Context, e Emoji) error
	// SetEmojiRoles replaces the roles that may use an emoji (none:
	// everyone); ErrNotFound if the emoji is absent from s. A role of
	// another guild fails.
	SetEmojiRoles(ctx context.Context, s Scope, emojiID snowflake.ID, roles []snowflake.ID) error
	// UpdateEmoji writes the name; ErrNotFound if absent from s
	// (e.GuildID is not read).
	UpdateEmoji(ctx context.Context, s Scope, e Emoji) error
	// DeleteEmoji removes one; ErrNotFound if absent from s.
	DeleteEmoji(ctx context.Context, s Scope, id snowflake.ID) error
	// SetEmojiHash records the image of an emoji fetched from its origin;
	// an emoji absent from s is left alone, without error.
	SetEmojiHash(ctx context.Context, s Scope, id snowflake.ID, hash string) error

	// AddAuditEntry records who changed what.
	AddAuditEntry(ctx context.Context, e AuditEntry) error
}

// Guild is a community: its channels, roles and members hang off it.
type Guild struct {
	ID          snowflake.ID
	Name        string
	Icon        string // image hash; "" for none
	Description string
	OwnerID     snowflake.ID
	// SystemChannelID is where join messages go; 0 for none.
	SystemChannelID   snowflake.ID
	VerificationLevel int
	// Public guilds are listed in discovery and can be joined without an
	// invite.
	Public    bool
	CreatedAt time.Time
	Origin    string
	OriginID  string
}

// Overwrite types.
const (
	OverwriteRole   = 0
	OverwriteMember = 1
)

// Overwrite is a channel's permission overwrite for a role or a member.
type Overwrite struct {
	TargetID snowflake.ID
	Type     int
	Allow    int64
	Deny     int64
}

// Channel is a guild channel, or a DM channel (GuildID 0, type ChannelDM or
// ChannelGroupDM, with Recipients).
type Channel struct {
	ID      snowflake.ID
	GuildID snowflake.ID
	Type    int
	Name    string
	Topic   string
	// Position orders channels among their siblings.
	Position int
	// ParentID is the category of a channel, or the channel a thread
	// lives in; 0 for none.
	ParentID         snowflake.ID
	NSFW             bool
	RateLimitPerUser int
	Bitrate          int
	UserLimit        int
	Overwrites       []Overwrite
	// LastMessageID is kept by CreateMessage; UpdateChannel leaves it.
	LastMessageID snowflake.ID
	// OwnerID is a group DM's owner or a thread's starter; Icon is a group
	// DM's; Recipients are a DM channel's
	// members, loaded by reads and written by CreateChannel and
	// SetRecipients.
	OwnerID    snowflake.ID
	Icon       string
	Recipients []snowflake.ID
	// Thread is set for thread channels (see IsThread), nil otherwise;
	// written by CreateChannel and UpdateChannel.
	Thread    *ThreadMeta
	CreatedAt time.Time
	Origin    string
	OriginID  string
}

// Role is a guild role; the @everyone role has the guild's ID.
type Role struct {
	ID           snowflake.ID
	GuildID      snowflake.ID
	Name         string
	Color        int
	Hoist        bool
	Icon         string
	UnicodeEmoji string
	// Position orders the hierarchy: higher is more powerful; @everyone
	// is 0.
	Position    int
	Permissions int64
	Managed     bool
	Mentionable bool
	CreatedAt   time.Time
}

// Member is a user's membership of a guild.
type Member struct {
	GuildID snowflake.ID
	UserID  snowflake.ID
	Nick    string
	// Roles are the member's role IDs, @everyone not included.
	Roles    []snowflake.ID
	JoinedAt time.Time
	// CommunicationDisabledUntil is the end of a timeout; zero for none.
	CommunicationDisabledUntil time.Time
	Deaf                       bool
	Mute                       bool
}

// Ban keeps a user out of a guild.
type Ban struct {
	GuildID   snowflake.ID
	UserID    snowflake.ID
	Reason    string
	CreatedAt time.Time
}

// Invite is a code that lets people join a guild through a channel.
type Invite struct {
	Code      string
	GuildID   snowflake.ID
	ChannelID snowflake.ID
	InviterID snowflake.ID
	// MaxUses is 0 for unlimited.
	MaxUses int
	Uses    int
	// MaxAge is in seconds, 0 for never expiring.
	MaxAge    int
	Temporary bool
	CreatedAt time.Time
	// ExpiresAt is zero for never.
	ExpiresAt time.Time
}

// Emoji is a guild's custom emoji; its image is the blob Hash.
type Emoji struct {
	ID        snowflake.ID
	GuildID   snowflake.ID
	UserID    snowflake.ID
	Name      string
	Animated  bool
	Hash      string
	Available bool
	CreatedAt time.Time
	// Roles may use the emoji; none means everyone. Written by
	// SetEmojiRoles, not by CreateEmoji or UpdateEmoji.
	Roles []snowflake.ID
}

// AuditEntry records one change to a guild: who, what, to which object.
type AuditEntry struct {
	// ID is a snowflake, so it also tells when.
	ID         snowflake.ID
	GuildID    snowflake.ID
	UserID     snowflake.ID
	ActionType int
	TargetID   snowflake.ID
	// Changes is Discord's audit log change list, as JSON (or nil).
	Changes []byte
	// Options is Discord's optional entry info, as JSON (or nil).
	Options []byte
	Reason  string
}

// AuditQuery filters an audit log read; zero fields do not filter.
type AuditQuery struct {
	UserID     snowflake.ID
	ActionType int
	// Before and After bound the entry IDs (exclusive).
	Before snowflake.ID
	After  snowflake.ID
	Limit  int
}

// ObjectCounts are how many channels, threads, roles and custom emoji a
// guild holds.
type ObjectCounts struct {
	Channels, Threads, Roles, Emojis int
}
