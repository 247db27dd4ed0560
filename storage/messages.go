package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// MessageReader holds the message and DM queries of Reader.
type MessageReader interface {
	// Message returns a message of a channel, or ErrNotFound.
	Message(ctx context.Context, channelID, id snowflake.ID) (Message, error)
	// Messages pages a channel's history, newest first (see MessageQuery).
	Messages(ctx context.Context, channelID snowflake.ID, q MessageQuery) ([]Message, error)
	// MessageByNonce finds a message an author sent with a nonce at or
	// after since, or ErrNotFound; it makes retried sends idempotent.
	MessageByNonce(ctx context.Context, channelID, authorID snowflake.ID, nonce string, since time.Time) (Message, error)
	// LastMessageBy is the newest message of an author in a channel, or
	// ErrNotFound (slowmode).
	LastMessageBy(ctx context.Context, channelID, authorID snowflake.ID) (Message, error)
	// PinnedMessages lists a channel's pinned messages, newest pin first.
	PinnedMessages(ctx context.Context, channelID snowflake.ID) ([]Message, error)
	// Reactions summarises the reactions of messages: one entry per
	// (message, emoji) in the order each emoji was first used, with Me
	// set when viewer is among those who reacted.
	Reactions(ctx context.Context, messageIDs []snowflake.ID, viewer snowflake.ID) ([]ReactionCount, error)
	// ReactionUsers lists who reacted to a message with an emoji, by user
	// ID after after, at most limit.
	ReactionUsers(ctx context.Context, messageID snowflake.ID, emoji string, after snowflake.ID, limit int) ([]snowflake.ID, error)
	// Revisions lists the earlier versions of a message, oldest first; they
	// outlive the message itself.
	Revisions(ctx context.Context, messageID snowflake.ID) ([]Revision, error)
	// Attachment returns an attachment whose message still exists, or
	// ErrNotFound.
	Attachment(ctx context.Context, id snowflake.ID) (Attachment, error)
	// AuthorMessages lists, oldest first, the messages an author sent in
	// a guild with an ID above after, at most limit (a ban's clean-up).
	AuthorMessages(ctx context.Context, guildID, authorID, after snowflake.ID, limit int) ([]MessageRef, error)
	// SearchMessages finds messages of a guild (see SearchQuery), newest
	// first, and the total number of matches, counted up to
	// SearchCountMax.
	SearchMessages(ctx context.Context, guildID snowflake.ID, q SearchQuery) ([]Message, int, error)

	// DMChannel returns the one-to-one DM channel of two users, or
	// ErrNotFound.
	DMChannel(ctx context.Context, a, b snowflake.ID) (Channel, error)
	// UserDMChannels lists the DM and group DM channels a user is in.
	UserDMChannels(ctx context.Context, userID snowflake.ID) ([]Channel, error)
}

// MessageWriter holds the message and DM writes of Tx.
type MessageWriter interface {
	// CreateMessage inserts a message with its attachments and makes it the
	// channel's last message. ErrNotFound, with nothing written, if the
	// channel is absent from s or m.GuildID is not s's guild (0 for a DM
	// scope).
	CreateMessage(ctx context.Context, s Scope, m Message) error
	// CreateMessages inserts several messages at once, as CreateMessage,
	// all in s: one outside it fails the whole call.
	CreateMessages(ctx context.Context, s Scope, ms []Message) error
	// UpdateMessage writes content, embeds, mentions, flags, pinned,
	// pinned_at and edited_at; attachments not in m.Attachments are
	// removed. ErrNotFound if absent from m.ChannelID or from s
	// (m.GuildID is not read).
	UpdateMessage(ctx context.Context, s Scope, m Message) error
	// AddAttachments adds files to a message of s (an application's
	// answer filled in after it was sent); ErrNotFound, with nothing
	// written, if the message is absent from s.
	AddAttachments(ctx context.Context, s Scope, messageID snowflake.ID, as []Attachment) error
	// DeleteMessages removes messages of a channel with their
	// attachments and reactions (revisions are kept) and returns how
	// many existed in s; those outside it are left alone and not counted.
	DeleteMessages(ctx context.Context, s Scope, channelID snowflake.ID, ids []snowflake.ID) (int, error)
	// AddRevision keeps an earlier version of a message; ErrNotFound,
	// writing nothing, unless the message is one of r.ChannelID in s (a
	// revision is kept before the change it records, while the message
	// still exists).
	AddRevision(ctx context.Context, s Scope, r Revision) error
	// AddReaction records a reaction; ErrConflict if the user already
	// reacted with that emoji, ErrNotFound if the message is not one of
	// r.ChannelID in s; both leave the transaction usable.
	AddReaction(ctx context.Context, s Scope, r Reaction) error
	// RemoveReaction removes one user's reaction; ErrNotFound if absent,
	// or if the message is absent from s.
	RemoveReaction(ctx context.Context, s Scope, messageID, userID snowflake.ID, emoji string) error
	// RemoveReactions removes every reaction of a message with an emoji,
	// or every reaction when emoji is "", and returns how many it removed
	// (none when the message is absent from s).
	RemoveReactions(ctx context.Context, s Scope, messageID snowflake.ID, emoji string) (int, error)

	// SetAttachmentHash records the bytes of an attachment fetched from
	// its origin; an attachment absent from s is left alone, without
	// error.
	SetAttachmentHash(ctx context.Context, s Scope, id snowflake.ID, hash string) error

	// SetRecipients replaces the recipients of a DM channel; ErrNotFound
	// if the channel is absent from s.
	SetRecipients(ctx context.Context, s Scope, channelID snowflake.ID, users []snowflake.ID) error
}

// Channel types of DMs.
const (
	ChannelDM      = 1
	ChannelGroupDM = 3
)

// Message is a message in a guild channel or a DM channel.
type Message struct {
	ID        snowflake.ID
	ChannelID snowflake.ID
	// GuildID is 0 in DM channels.
	GuildID  snowflake.ID
	AuthorID snowflake.ID
	// Type is Discord's message type: 0 default, 19 reply, 6 pin notice...
	Type            int
	Content         string
	Nonce           string
	TTS             bool
	MentionEveryone bool
	Mentions        []snowflake.ID
	MentionRoles    []snowflake.ID
	// Embeds is the JSON array of embeds as sent (nil for none).
	Embeds      []byte
	Attachments []Attachment
	Pinned      bool
	// PinnedAt orders the pin list; zero when not pinned.
	PinnedAt time.Time
	// EditedAt is zero until the first edit.
	EditedAt time.Time
	// Reference is the message replied to (or the pinned one, for a pin
	// notice); 0 for none.
	ReferenceID        snowflake.ID
	ReferenceChannelID snowflake.ID
	Flags              int
	CreatedAt          time.Time
	Origin             string
	OriginID           string
	// WebhookID is the webhook that posted the message (0 for none); its
	// author is then the webhook's user row, shown under AuthorName and
	// AuthorAvatar (the name and avatar hash of that one message).
	WebhookID    snowflake.ID
	AuthorName   string
	AuthorAvatar string
}

// MessageRef names a message and its channel.
type MessageRef struct {
	ID        snowflake.ID
	ChannelID snowflake.ID
}

// MessageQuery pages a channel's history. At most one of Before, After and
// Around is set; none means the newest messages. Results are newest first;
// Around returns up to Limit messages centred on the ID (itself included).
type MessageQuery struct {
	Before snowflake.ID
	After  snowflake.ID
	Around snowflake.ID
	Limit  int
}

// Attachment is a file of a message; its bytes are the blob Hash.
type Attachment struct {
	ID          snowflake.ID
	MessageID   snowflake.ID
	ChannelID   snowflake.ID
	Filename    string
	Description string
	ContentType string
	Size        int64
	Hash        string
	// Width and Height are set for images, 0 otherwise.
	Width  int
	Height int
	// OriginPath is where the origin of a replicated message serves the
	// file; Hash is "" until it has been fetched from there.
	OriginPath string
}

// Revision is an earlier version of a message, kept when it was edited or
// deleted so that the community keeps its record.
type Revision struct {
	ID        snowflake.ID
	MessageID snowflake.ID
	ChannelID snowflake.ID
	GuildID   snowflake.ID
	AuthorID  snowflake.ID
	// EditorID is who edited or deleted it.
	EditorID snowflake.ID
	// Deleted marks the last revision of a deleted message.
	Deleted bool
	Content string
	Embeds  []byte
	// Attachments is the JSON list of the attachments it had.
	Attachments []byte
	At          time.Time
}

// Reaction is one user's reaction to a message. Emoji is the unicode
// emoji, or "name:id" for a custom one.
type Reaction struct {
	MessageID snowflake.ID
	ChannelID snowflake.ID
	UserID    snowflake.ID
	Emoji     string
	CreatedAt time.Time
}

// ReactionCount is the summary of one emoji on one message.
type ReactionCount struct {
	MessageID snowflake.ID
	Emoji     string
	Count     int
	Me        bool
}

// SearchCountMax caps the total a search reports ("that many or more"); it
// is also the deepest offset a search pages to, as on Discord.
const SearchCountMax = 5000

// SearchQuery filters a guild message search; zero fields do not filter.
type SearchQuery struct {
	// Text must match: every word, in any order (full-text).
	Text     string
	AuthorID snowflake.ID
	// ChannelIDs limits the search to these channels; the caller passes
	// the channels the searcher may read. Empty matches nothing.
	ChannelIDs []snowflake.ID
	HasFile    bool
	HasLink    bool
	// Before and After bound the message IDs (exclusive).
	Before snowflake.ID
	After  snowflake.ID
	Offset int
	Limit  int
}
