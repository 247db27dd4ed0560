// Package discord holds Discord's API object shapes as Hearth sends them:
// the same JSON goes out in REST answers, in the event log's payloads (and so
// in gateway dispatches) and to federation peers, so the shapes have one home.
// Field names, nullability and string-encoded IDs and bitfields follow
// discord/discord-api-docs, because bot libraries decode them strictly.
package discord

import (
	"time"

	"hearth/snowflake"
)

// Timestamp is an ISO 8601 time as Discord writes it, with microseconds.
type Timestamp time.Time

// MarshalJSON writes e.g. "2015-04-26T06:26:56.936000+00:00".
func (t Timestamp) MarshalJSON() ([]byte, error) {
	s := time.Time(t).UTC().Format("2006-01-02T15:04:05.000000+00:00")
	return []byte(`"` + s + `"`), nil
}

// UnmarshalJSON reads an RFC 3339 time.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	v, err := time.Parse(`"`+time.RFC3339Nano+`"`, string(b))
	if err != nil {
		return err
	}
	*t = Timestamp(v)
	return nil
}

// TimePtr is a nullable timestamp: nil for the zero time.
func TimePtr(t time.Time) *Timestamp {
	if t.IsZero() {
		return nil
	}
	ts := Timestamp(t)
	return &ts
}

// Nullable is nil for "", as Discord sends absent strings.
func Nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// NullableID is nil for 0.
func NullableID(id snowflake.ID) *snowflake.ID {
	if id == 0 {
		return nil
	}
	return &id
}

// User is Discord's public user object.
type User struct {
	ID                   snowflake.ID `json:"id"`
	Username             string       `json:"username"`
	Discriminator        string       `json:"discriminator"`
	GlobalName           *string      `json:"global_name"`
	Avatar               *string      `json:"avatar"`
	Bot                  bool         `json:"bot,omitempty"`
	System               bool         `json:"system,omitempty"`
	Banner               *string      `json:"banner"`
	AccentColor          *int         `json:"accent_color"`
	PublicFlags          int64        `json:"public_flags"`
	AvatarDecorationData any          `json:"avatar_decoration_data"`
	// Bridged is Hearth's: the user is a bridge's puppet of a user of
	// another network (spec/federation.md §5), which clients mark.
	Bridged bool `json:"hearth_bridged,omitempty"`
}

// Role is Discord's role object.
type Role struct {
	ID           snowflake.ID `json:"id"`
	Name         string       `json:"name"`
	Color        int          `json:"color"`
	Hoist        bool         `json:"hoist"`
	Icon         *string      `json:"icon"`
	UnicodeEmoji *string      `json:"unicode_emoji"`
	Position     int          `json:"position"`
	Permissions  string       `json:"permissions"`
	Managed      bool         `json:"managed"`
	Mentionable  bool         `json:"mentionable"`
	Flags        int          `json:"flags"`
	// Colors is sent by Discord since July 2025 and read by libraries
	// without a guard; Hearth keeps one color, so primary is Color and
	// the others are null.
	Colors RoleColors `json:"colors"`
}

// RoleColors is a role's colors object.
type RoleColors struct {
	PrimaryColor   int  `json:"primary_color"`
	SecondaryColor *int `json:"secondary_color"`
	TertiaryColor  *int `json:"tertiary_color"`
}

// Overwrite is a channel permission overwrite.
type Overwrite struct {
	ID    snowflake.ID `json:"id"`
	Type  int          `json:"type"`
	Allow string       `json:"allow"`
	Deny  string       `json:"deny"`
}

// Channel is Discord's guild channel object.
type Channel struct {
	ID                   snowflake.ID  `json:"id"`
	Type                 int           `json:"type"`
	GuildID              snowflake.ID  `json:"guild_id"`
	Position             int           `json:"position"`
	PermissionOverwrites []Overwrite   `json:"permission_overwrites"`
	Name                 string        `json:"name"`
	Topic                *string       `json:"topic"`
	NSFW                 bool          `json:"nsfw"`
	LastMessageID        *snowflake.ID `json:"last_message_id"`
	Bitrate              *int          `json:"bitrate,omitempty"`
	UserLimit            *int          `json:"user_limit,omitempty"`
	RateLimitPerUser     int           `json:"rate_limit_per_user"`
	ParentID             *snowflake.ID `json:"parent_id"`
	Flags                int           `json:"flags"`
	// Permissions is the caller's computed permissions, where Discord
	// includes them (interaction payloads); omitted otherwise.
	Permissions string `json:"permissions,omitempty"`

	// Thread fields, set for threads only.
	OwnerID          *snowflake.ID   `json:"owner_id,omitempty"`
	ThreadMetadata   *ThreadMetadata `json:"thread_metadata,omitempty"`
	MemberCount      *int            `json:"member_count,omitempty"`
	MessageCount     *int            `json:"message_count,omitempty"`
	TotalMessageSent *int            `json:"total_message_sent,omitempty"`
	Member           *ThreadMember   `json:"member,omitempty"`
	NewlyCreated     bool            `json:"newly_created,omitempty"`
	// Message is a new forum post's first message, in the answer that
	// starts the post.
	Message *Message `json:"message,omitempty"`
}

// ThreadMetadata is a thread's state.
type ThreadMetadata struct {
	Archived            bool       `json:"archived"`
	AutoArchiveDuration int        `json:"auto_archive_duration"`
	ArchiveTimestamp    Timestamp  `json:"archive_timestamp"`
	Locked              bool       `json:"locked"`
	Invitable           *bool      `json:"invitable,omitempty"`
	CreateTimestamp     *Timestamp `json:"create_timestamp,omitempty"`
}

// ThreadMember is a user's membership of a thread.
type ThreadMember struct {
	ID            *snowflake.ID `json:"id,omitempty"`
	UserID        *snowflake.ID `json:"user_id,omitempty"`
	JoinTimestamp Timestamp     `json:"join_timestamp"`
	Flags         int           `json:"flags"`
}

// ThreadList is the answer of the thread list routes.
type ThreadList struct {
	Threads []Channel      `json:"threads"`
	Members []ThreadMember `json:"members"`
	HasMore *bool          `json:"has_more,omitempty"`
}

// ThreadMembersUpdateEvent is THREAD_MEMBERS_UPDATE.
type ThreadMembersUpdateEvent struct {
	ID               snowflake.ID   `json:"id"`
	GuildID          snowflake.ID   `json:"guild_id"`
	MemberCount      int            `json:"member_count"`
	AddedMembers     []ThreadMember `json:"added_members,omitempty"`
	RemovedMemberIDs []snowflake.ID `json:"removed_member_ids,omitempty"`
}

// ThreadDeleteEvent is THREAD_DELETE.
type ThreadDeleteEvent struct {
	ID       snowflake.ID `json:"id"`
	GuildID  snowflake.ID `json:"guild_id"`
	ParentID snowflake.ID `json:"parent_id"`
	Type     int          `json:"type"`
}

// Member is Discord's guild member object.
type Member struct {
	User                       *User          `json:"user,omitempty"`
	Nick                       *string        `json:"nick"`
	Avatar                     *string        `json:"avatar"`
	Roles                      []snowflake.ID `json:"roles"`
	JoinedAt                   Timestamp      `json:"joined_at"`
	PremiumSince               *Timestamp     `json:"premium_since"`
	Deaf                       bool           `json:"deaf"`
	Mute                       bool           `json:"mute"`
	Flags                      int            `json:"flags"`
	Pending                    bool           `json:"pending"`
	CommunicationDisabledUntil *Timestamp     `json:"communication_disabled_until"`
	// GuildID is set in GUILD_MEMBER_* dispatches.
	GuildID *snowflake.ID `json:"guild_id,omitempty"`
}

// Emoji is Discord's emoji object for a custom emoji.
type Emoji struct {
	ID            snowflake.ID   `json:"id"`
	Name          string         `json:"name"`
	Roles         []snowflake.ID `json:"roles"`
	User          *User          `json:"user,omitempty"`
	RequireColons bool           `json:"require_colons"`
	Managed       bool           `json:"managed"`
	Animated      bool           `json:"animated"`
	Available     bool           `json:"available"`
}

// Guild is Discord's guild object.
type Guild struct {
	ID                          snowflake.ID  `json:"id"`
	Name                        string        `json:"name"`
	Icon                        *string       `json:"icon"`
	IconHash                    *string       `json:"icon_hash,omitempty"`
	Splash                      *string       `json:"splash"`
	DiscoverySplash             *string       `json:"discovery_splash"`
	Owner                       *bool         `json:"owner,omitempty"`
	OwnerID                     snowflake.ID  `json:"owner_id"`
	Permissions                 string        `json:"permissions,omitempty"`
	AFKChannelID                *snowflake.ID `json:"afk_channel_id"`
	AFKTimeout                  int           `json:"afk_timeout"`
	WidgetEnabled               bool          `json:"widget_enabled"`
	VerificationLevel           int           `json:"verification_level"`
	DefaultMessageNotifications int           `json:"default_message_notifications"`
	ExplicitContentFilter       int           `json:"explicit_content_filter"`
	Roles                       []Role        `json:"roles"`
	Emojis                      []Emoji       `json:"emojis"`
	Features                    []string      `json:"features"`
	MFALevel                    int           `json:"mfa_level"`
	ApplicationID               *snowflake.ID `json:"application_id"`
	SystemChannelID             *snowflake.ID `json:"system_channel_id"`
	SystemChannelFlags          int           `json:"system_channel_flags"`
	RulesChannelID              *snowflake.ID `json:"rules_channel_id"`
	MaxMembers                  int           `json:"max_members"`
	VanityURLCode               *string       `json:"vanity_url_code"`
	Description                 *string       `json:"description"`
	Banner                      *string       `json:"banner"`
	PremiumTier                 int           `json:"premium_tier"`
	PremiumSubscriptionCount    int           `json:"premium_subscription_count"`
	PreferredLocale             string        `json:"preferred_locale"`
	PublicUpdatesChannelID      *snowflake.ID `json:"public_updates_channel_id"`
	NSFWLevel                   int           `json:"nsfw_level"`
	Stickers                    []any         `json:"stickers"`
	PremiumProgressBarEnabled   bool          `json:"premium_progress_bar_enabled"`
	SafetyAlertsChannelID       *snowflake.ID `json:"safety_alerts_channel_id"`
	// IncidentsData is always null: Hearth has no raid-protection pauses.
	IncidentsData            *struct{} `json:"incidents_data"`
	ApproximateMemberCount   *int      `json:"approximate_member_count,omitempty"`
	ApproximatePresenceCount *int      `json:"approximate_presence_count,omitempty"`
}

// PartialGuild is the entry of GET /users/@me/guilds.
type PartialGuild struct {
	ID                       snowflake.ID `json:"id"`
	Name                     string       `json:"name"`
	Icon                     *string      `json:"icon"`
	Banner                   *string      `json:"banner"`
	Owner                    bool         `json:"owner"`
	Permissions              string       `json:"permissions"`
	Features                 []string     `json:"features"`
	ApproximateMemberCount   *int         `json:"approximate_member_count,omitempty"`
	ApproximatePresenceCount *int         `json:"approximate_presence_count,omitempty"`
}

// GuildPreview is what a non-member may see: in invites and discovery.
type GuildPreview struct {
	ID                       snowflake.ID `json:"id"`
	Name                     string       `json:"name"`
	Icon                     *string      `json:"icon"`
	Splash                   *string      `json:"splash"`
	Banner                   *string      `json:"banner"`
	Description              *string      `json:"description"`
	Features                 []string     `json:"features"`
	VerificationLevel        int          `json:"verification_level"`
	NSFWLevel                int          `json:"nsfw_level"`
	ApproximateMemberCount   *int         `json:"approximate_member_count,omitempty"`
	ApproximatePresenceCount *int         `json:"approximate_presence_count,omitempty"`
}

// InviteChannel is the partial channel of an invite.
type InviteChannel struct {
	ID   snowflake.ID `json:"id"`
	Name string       `json:"name"`
	Type int          `json:"type"`
}

// Invite is Discord's invite object, with its metadata when the caller may
// see it.
type Invite struct {
	Type                     int            `json:"type"`
	Code                     string         `json:"code"`
	Guild                    *GuildPreview  `json:"guild,omitempty"`
	GuildID                  *snowflake.ID  `json:"guild_id,omitempty"`
	Channel                  *InviteChannel `json:"channel"`
	ChannelID                *snowflake.ID  `json:"channel_id,omitempty"`
	Inviter                  *User          `json:"inviter,omitempty"`
	ApproximateMemberCount   *int           `json:"approximate_member_count,omitempty"`
	ApproximatePresenceCount *int           `json:"approximate_presence_count,omitempty"`
	ExpiresAt                *Timestamp     `json:"expires_at"`
	// Metadata, for those who manage invites.
	Uses      *int       `json:"uses,omitempty"`
	MaxUses   *int       `json:"max_uses,omitempty"`
	MaxAge    *int       `json:"max_age,omitempty"`
	Temporary *bool      `json:"temporary,omitempty"`
	CreatedAt *Timestamp `json:"created_at,omitempty"`
}

// Ban is Discord's ban object.
type Ban struct {
	Reason *string `json:"reason"`
	User   User    `json:"user"`
}

// AuditLogChange is one changed key of an audit entry.
type AuditLogChange struct {
	Key      string `json:"key"`
	NewValue any    `json:"new_value,omitempty"`
	OldValue any    `json:"old_value,omitempty"`
}

// AuditLogEntry is one entry of a guild's audit log.
type AuditLogEntry struct {
	ID         snowflake.ID     `json:"id"`
	UserID     *snowflake.ID    `json:"user_id"`
	TargetID   *string          `json:"target_id"`
	ActionType int              `json:"action_type"`
	Changes    []AuditLogChange `json:"changes,omitempty"`
	Options    map[string]any   `json:"options,omitempty"`
	Reason     string           `json:"reason,omitempty"`
}

// AuditLog is the answer of GET /guilds/{id}/audit-logs.
type AuditLog struct {
	ApplicationCommands  []any           `json:"application_commands"`
	AuditLogEntries      []AuditLogEntry `json:"audit_log_entries"`
	AutoModerationRules  []any           `json:"auto_moderation_rules"`
	GuildScheduledEvents []any           `json:"guild_scheduled_events"`
	Integrations         []any           `json:"integrations"`
	Threads              []any           `json:"threads"`
	Users                []User          `json:"users"`
	Webhooks             []any           `json:"webhooks"`
}

// Event payloads whose shape is not one of the objects above.
type (
	// RoleEvent is GUILD_ROLE_CREATE and GUILD_ROLE_UPDATE.
	RoleEvent struct {
		GuildID snowflake.ID `json:"guild_id"`
		Role    Role         `json:"role"`
	}
	// RoleDeleteEvent is GUILD_ROLE_DELETE.
	RoleDeleteEvent struct {
		GuildID snowflake.ID `json:"guild_id"`
		RoleID  snowflake.ID `json:"role_id"`
	}
	// MemberRemoveEvent is GUILD_MEMBER_REMOVE.
	MemberRemoveEvent struct {
		GuildID snowflake.ID `json:"guild_id"`
		User    User         `json:"user"`
	}
	// BanEvent is GUILD_BAN_ADD and GUILD_BAN_REMOVE.
	BanEvent struct {
		GuildID snowflake.ID `json:"guild_id"`
		User    User         `json:"user"`
	}
	// EmojisEvent is GUILD_EMOJIS_UPDATE.
	EmojisEvent struct {
		GuildID snowflake.ID `json:"guild_id"`
		Emojis  []Emoji      `json:"emojis"`
	}
	// GuildDeleteEvent is GUILD_DELETE.
	GuildDeleteEvent struct {
		ID          snowflake.ID `json:"id"`
		Unavailable bool         `json:"unavailable,omitempty"`
	}
	// InviteCreateEvent is INVITE_CREATE.
	InviteCreateEvent struct {
		ChannelID snowflake.ID `json:"channel_id"`
		Code      string       `json:"code"`
		CreatedAt Timestamp    `json:"created_at"`
		GuildID   snowflake.ID `json:"guild_id"`
		Inviter   *User        `json:"inviter,omitempty"`
		MaxAge    int          `json:"max_age"`
		MaxUses   int          `json:"max_uses"`
		Temporary bool         `json:"temporary"`
		Uses      int          `json:"uses"`
	}
	// InviteDeleteEvent is INVITE_DELETE.
	InviteDeleteEvent struct {
		ChannelID snowflake.ID `json:"channel_id"`
		GuildID   snowflake.ID `json:"guild_id"`
		Code      string       `json:"code"`
	}
)

// Application is Discord's application object, as its owner (or its bot)
// reads it.
type Application struct {
	ID                  snowflake.ID `json:"id"`
	Name                string       `json:"name"`
	Icon                *string      `json:"icon"`
	Description         string       `json:"description"`
	BotPublic           bool         `json:"bot_public"`
	BotRequireCodeGrant bool         `json:"bot_require_code_grant"`
	Owner               *User        `json:"owner,omitempty"`
	Bot                 User         `json:"bot"`
	Flags               int64        `json:"flags"`
	Tags                []string     `json:"tags"`
	RedirectURIs        []string     `json:"redirect_uris"`
	VerifyKey           string       `json:"verify_key"`
	Team                *struct{}    `json:"team"`
	// InteractionsEndpointURL is null when interactions come over the
	// gateway.
	InteractionsEndpointURL *string `json:"interactions_endpoint_url"`
}
