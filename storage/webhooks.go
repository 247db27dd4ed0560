package storage

import (
	"context"
	"time"

	"hearth/snowflake"
)

// WebhookReader reads webhooks.
type WebhookReader interface {
	// Webhook returns a webhook, or ErrNotFound.
	Webhook(ctx context.Context, id snowflake.ID) (Webhook, error)
	// ChannelWebhooks lists a channel's webhooks, by ID.
	ChannelWebhooks(ctx context.Context, channelID snowflake.ID) ([]Webhook, error)
	// GuildWebhooks lists a guild's webhooks, by ID.
	GuildWebhooks(ctx context.Context, guildID snowflake.ID) ([]Webhook, error)
	// WebhookHasAvatar reports whether a webhook has used an avatar hash
	// (as its own, or for one message).
	WebhookHasAvatar(ctx context.Context, webhookID snowflake.ID, hash string) (bool, error)
}

// WebhookWriter writes webhooks.
type WebhookWriter interface {
	// CreateWebhook inserts a webhook; its user row and its channel must
	// exist, and the channel must be of w.GuildID (else ErrNotFound,
	// writing nothing).
	CreateWebhook(ctx context.Context, w Webhook) error
	// UpdateWebhook writes a webhook's name, avatar and channel; the
	// webhook must be of w.GuildID and the channel too (else ErrNotFound).
	UpdateWebhook(ctx context.Context, w Webhook) error
	// DeleteWebhook removes a webhook of a guild; ErrNotFound if it is
	// not one of guildID. Its messages and user row stay.
	DeleteWebhook(ctx context.Context, guildID, id snowflake.ID) error
	// AddWebhookAvatar records that a webhook used an avatar hash; a hash
	// already recorded is no error.
	AddWebhookAvatar(ctx context.Context, webhookID snowflake.ID, hash string) error
}

// Webhook is an incoming webhook of a guild channel. Its ID is also the
// ID of the user row that authors its messages.
type Webhook struct {
	ID        snowflake.ID
	GuildID   snowflake.ID
	ChannelID snowflake.ID
	CreatorID snowflake.ID
	Name      string
	// Avatar is the hash of its default avatar; empty means none.
	Avatar    string
	Token     string
	CreatedAt time.Time
	// ApplicationID is the application that made the webhook (its bot
	// did), 0 when a person did.
	ApplicationID snowflake.ID
}
