package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// ReadStateReader reads read states, the mentions they are counted from,
// and guild notification settings. All are a local user's own: nothing
// here crosses homeservers.
type ReadStateReader interface {
	// ReadStates lists a user's read states, by channel ID.
	ReadStates(ctx context.Context, userID snowflake.ID) ([]ReadState, error)
	// UnreadMentions lists the mentions of a user in guild channels
	// (threads included) of the guilds they are a member of, in messages
	// after their read state of the channel, after they joined the guild
	// and not their own: one row per message and way it mentions them, so
	// a message that mentions them twice (directly and by a role) has two.
	// channelID 0 lists every channel's, another only that channel's. At
	// most limit rows.
	UnreadMentions(ctx context.Context, userID, channelID snowflake.ID, limit int) ([]Mention, error)
	// UnreadDMCounts counts, per DM channel of the user, the messages of
	// others after their read state there (every DM message mentions its
	// recipients, as on Discord); channelID 0 counts every DM channel's,
	// another only that channel's. Channels with none are left out.
	UnreadDMCounts(ctx context.Context, userID, channelID snowflake.ID) (map[snowflake.ID]int, error)
	// UserGuildSettings lists a user's guild settings, by guild ID; guilds
	// without settings are left out.
	UserGuildSettings(ctx context.Context, userID snowflake.ID) ([]GuildSettings, error)
	// UserGuildSettingsOf returns one guild's settings of a user, or
	// ErrNotFound when they have none there.
	UserGuildSettingsOf(ctx context.Context, userID, guildID snowflake.ID) (GuildSettings, error)
}

// ReadStateWriter writes read states and guild settings.
type ReadStateWriter interface {
	// AckChannels moves the user's read states forward to the messages
	// given (a state never moves back) and returns those that moved, each
	// with its version counted up by one.
	AckChannels(ctx context.Context, userID snowflake.ID, acks []ReadState) ([]ReadState, error)
	// SetReadState sets the user's read state of a channel to a message,
	// earlier or later than it was (Discord's "Mark Unread" moves it
	// back), counting its version up by one, and returns it.
	SetReadState(ctx context.Context, userID, channelID, messageID snowflake.ID) (ReadState, error)
	// AddHereMentions records that a message mentioning @here reached
	// these users while they were present; a repeat is not an error.
	// ErrDangling when the message is gone.
	AddHereMentions(ctx context.Context, messageID snowflake.ID, users []snowflake.ID) error
	// PutUserGuildSettings writes a user's settings for a guild whole, as
	// given (Version included); ErrNotFound when the guild does not exist.
	PutUserGuildSettings(ctx context.Context, s GuildSettings) error
}

// ReadState is how far a user has read a channel.
type ReadState struct {
	UserID        snowflake.ID
	ChannelID     snowflake.ID
	LastMessageID snowflake.ID
	Version       int64
}

// MentionKind is how a message mentions a user.
type MentionKind int

// The ways a guild message mentions someone.
const (
	// MentionUser names them (<@id>), or replies to them with a ping.
	MentionUser MentionKind = iota + 1
	// MentionRole names a role they hold.
	MentionRole
	// MentionEveryone is @everyone by someone allowed to, or @here by
	// someone allowed to while they were present (AddHereMentions).
	MentionEveryone
)

// Mention is one unread mention of a user.
type Mention struct {
	GuildID   snowflake.ID
	ChannelID snowflake.ID
	MessageID snowflake.ID
	Kind      MentionKind
}

// GuildSettings are a user's notification settings for a guild.
type GuildSettings struct {
	UserID  snowflake.ID
	GuildID snowflake.ID
	Muted   bool
	// MuteEndTime ends a timed mute; zero for a mute until unmuted.
	MuteEndTime time.Time
	// MessageNotifications: 0 all messages, 1 only mentions, 2 nothing.
	MessageNotifications int
	SuppressEveryone     bool
	SuppressRoles        bool
	ChannelOverrides     []ChannelOverride
	Version              int64
}

// ChannelOverride is a user's notification setting for one channel.
type ChannelOverride struct {
	ChannelID   snowflake.ID `json:"channel_id"`
	Muted       bool         `json:"muted"`
	MuteEndTime int64        `json:"mute_end_time,omitempty"` // Unix milliseconds; 0 for none
	// MessageNotifications: 0 all, 1 mentions, 2 nothing, 3 the guild's.
	MessageNotifications int `json:"message_notifications"`
}
