package discord

import (
	"encoding/json"

	"hearth/snowflake"
)

// Message types Hearth sends.
const (
	MessageDefault       = 0
	MessagePinnedMessage = 6
	MessageReply         = 19
)

// Message flags.
const (
	FlagSuppressEmbeds = 1 << 2
	// FlagSuppressNotifications sends a message without push and desktop
	// notifications.
	FlagSuppressNotifications = 1 << 12
)

// Message is Discord's message object.
type Message struct {
	ID              snowflake.ID      `json:"id"`
	ChannelID       snowflake.ID      `json:"channel_id"`
	GuildID         *snowflake.ID     `json:"guild_id,omitempty"`
	Author          User              `json:"author"`
	Member          *Member           `json:"member,omitempty"`
	Content         string            `json:"content"`
	Timestamp       Timestamp         `json:"timestamp"`
	EditedTimestamp *Timestamp        `json:"edited_timestamp"`
	TTS             bool              `json:"tts"`
	MentionEveryone bool              `json:"mention_everyone"`
	Mentions        []User            `json:"mentions"`
	MentionRoles    []snowflake.ID    `json:"mention_roles"`
	Attachments     []Attachment      `json:"attachments"`
	Embeds          []json.RawMessage `json:"embeds"`
	Reactions       []Reaction        `json:"reactions,omitempty"`
	Nonce           any               `json:"nonce,omitempty"`
	Pinned          bool              `json:"pinned"`
	Type            int               `json:"type"`
	Flags           int               `json:"flags"`
	Components      []any             `json:"components"`
	// ApplicationID, InteractionMetadata and Interaction are set on a
	// message that answers an interaction.
	ApplicationID       *snowflake.ID        `json:"application_id,omitempty"`
	InteractionMetadata *InteractionMetadata `json:"interaction_metadata,omitempty"`
	Interaction         *MessageInteraction  `json:"interaction,omitempty"`
	MessageReference    *MessageReference    `json:"message_reference,omitempty"`
	ReferencedMessage   *Message             `json:"referenced_message,omitempty"`
	// WebhookID is set on a message a webhook posted.
	WebhookID *snowflake.ID `json:"webhook_id,omitempty"`
}

// MessageReference points at another message (a reply's parent, a pin
// notice's pinned message).
type MessageReference struct {
	Type      int           `json:"type"`
	MessageID *snowflake.ID `json:"message_id,omitempty"`
	ChannelID *snowflake.ID `json:"channel_id,omitempty"`
	GuildID   *snowflake.ID `json:"guild_id,omitempty"`
}

// Attachment is Discord's attachment object.
type Attachment struct {
	ID          snowflake.ID `json:"id"`
	Filename    string       `json:"filename"`
	Description *string      `json:"description,omitempty"`
	ContentType string       `json:"content_type,omitempty"`
	Size        int64        `json:"size"`
	URL         string       `json:"url"`
	ProxyURL    string       `json:"proxy_url"`
	Height      *int         `json:"height,omitempty"`
	Width       *int         `json:"width,omitempty"`
}

// ReactionEmoji is the partial emoji of a reaction.
type ReactionEmoji struct {
	ID       *snowflake.ID `json:"id"`
	Name     string        `json:"name"`
	Animated bool          `json:"animated,omitempty"`
}

// CountDetails splits a reaction count into normal and super reactions.
type CountDetails struct {
	Burst  int `json:"burst"`
	Normal int `json:"normal"`
}

// Reaction is one emoji's reactions on a message.
type Reaction struct {
	Count        int           `json:"count"`
	CountDetails CountDetails  `json:"count_details"`
	Me           bool          `json:"me"`
	MeBurst      bool          `json:"me_burst"`
	Emoji        ReactionEmoji `json:"emoji"`
	BurstColors  []string      `json:"burst_colors"`
}

// DMChannel is a DM or group DM channel object.
type DMChannel struct {
	ID            snowflake.ID  `json:"id"`
	Type          int           `json:"type"`
	LastMessageID *snowflake.ID `json:"last_message_id"`
	Recipients    []User        `json:"recipients"`
	Name          *string       `json:"name,omitempty"`
	Icon          *string       `json:"icon,omitempty"`
	OwnerID       *snowflake.ID `json:"owner_id,omitempty"`
	Flags         int           `json:"flags"`
}

// Event payloads of messages.
type (
	// MessageDeleteEvent is MESSAGE_DELETE.
	MessageDeleteEvent struct {
		ID        snowflake.ID  `json:"id"`
		ChannelID snowflake.ID  `json:"channel_id"`
		GuildID   *snowflake.ID `json:"guild_id,omitempty"`
	}
	// MessageDeleteBulkEvent is MESSAGE_DELETE_BULK.
	MessageDeleteBulkEvent struct {
		IDs       []snowflake.ID `json:"ids"`
		ChannelID snowflake.ID   `json:"channel_id"`
		GuildID   *snowflake.ID  `json:"guild_id,omitempty"`
	}
	// ReactionEvent is MESSAGE_REACTION_ADD and MESSAGE_REACTION_REMOVE.
	ReactionEvent struct {
		UserID          snowflake.ID  `json:"user_id"`
		ChannelID       snowflake.ID  `json:"channel_id"`
		MessageID       snowflake.ID  `json:"message_id"`
		GuildID         *snowflake.ID `json:"guild_id,omitempty"`
		Member          *Member       `json:"member,omitempty"`
		Emoji           ReactionEmoji `json:"emoji"`
		MessageAuthorID *snowflake.ID `json:"message_author_id,omitempty"`
		Burst           bool          `json:"burst"`
		Type            int           `json:"type"`
	}
	// ReactionRemoveAllEvent is MESSAGE_REACTION_REMOVE_ALL, and with Emoji
	// MESSAGE_REACTION_REMOVE_EMOJI.
	ReactionRemoveAllEvent struct {
		ChannelID snowflake.ID   `json:"channel_id"`
		MessageID snowflake.ID   `json:"message_id"`
		GuildID   *snowflake.ID  `json:"guild_id,omitempty"`
		Emoji     *ReactionEmoji `json:"emoji,omitempty"`
	}
	// PinsUpdateEvent is CHANNEL_PINS_UPDATE.
	PinsUpdateEvent struct {
		GuildID          *snowflake.ID `json:"guild_id,omitempty"`
		ChannelID        snowflake.ID  `json:"channel_id"`
		LastPinTimestamp *Timestamp    `json:"last_pin_timestamp"`
	}
	// TypingStartEvent is TYPING_START.
	TypingStartEvent struct {
		ChannelID snowflake.ID  `json:"channel_id"`
		GuildID   *snowflake.ID `json:"guild_id,omitempty"`
		UserID    snowflake.ID  `json:"user_id"`
		Timestamp int64         `json:"timestamp"`
		Member    *Member       `json:"member,omitempty"`
	}
	// RecipientEvent is CHANNEL_RECIPIENT_ADD and CHANNEL_RECIPIENT_REMOVE.
	RecipientEvent struct {
		ChannelID snowflake.ID `json:"channel_id"`
		User      User         `json:"user"`
	}
)

// Webhook is Discord's webhook object. Token and URL are set only for
// those who may manage it; User is who made it.
type Webhook struct {
	ID            snowflake.ID  `json:"id"`
	Type          int           `json:"type"`
	GuildID       *snowflake.ID `json:"guild_id"`
	ChannelID     snowflake.ID  `json:"channel_id"`
	User          *User         `json:"user,omitempty"`
	Name          *string       `json:"name"`
	Avatar        *string       `json:"avatar"`
	Token         string        `json:"token,omitempty"`
	ApplicationID *snowflake.ID `json:"application_id"`
	URL           string        `json:"url,omitempty"`
}
