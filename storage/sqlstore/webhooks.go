package sqlstore

import (
	"context"

	"hearth/snowflake"
	"hearth/storage"
)

const webhookColumns = `id, guild_id, channel_id, creator_id, name, avatar, token, created_at, application_id`

func scanWebhook(row scanner) (storage.Webhook, error) {
	var w storage.Webhook
	var id, guild, channel, creator, created, app int64
	err := row.Scan(&id, &guild, &channel, &creator, &w.Name, &w.Avatar, &w.Token, &created, &app)
	w.ID, w.GuildID, w.ChannelID, w.CreatorID = snowflake.ID(id), snowflake.ID(guild), snowflake.ID(channel), snowflake.ID(creator)
	w.ApplicationID = snowflake.ID(app)
	w.CreatedAt = fromMS(created)
	return w, err
}

// Webhook implements storage.Reader.
func (r reader) Webhook(ctx context.Context, id snowflake.ID) (storage.Webhook, error) {
	w, err := scanWebhook(r.q.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1`, int64(id)))
	return w, r.wrap("webhook", err)
}

// ChannelWebhooks implements storage.Reader.
func (r reader) ChannelWebhooks(ctx context.Context, channelID snowflake.ID) ([]storage.Webhook, error) {
	return queryAll(ctx, r, "channel webhooks", scanWebhook,
		`SELECT `+webhookColumns+` FROM webhooks WHERE channel_id = $1 ORDER BY id`, int64(channelID))
}

// GuildWebhooks implements storage.Reader.
func (r reader) GuildWebhooks(ctx context.Context, guildID snowflake.ID) ([]storage.Webhook, error) {
	return queryAll(ctx, r, "guild webhooks", scanWebhook,
		`SELECT `+webhookColumns+` FROM webhooks WHERE guild_id = $1 ORDER BY id`, int64(guildID))
}

// WebhookHasAvatar implements storage.Reader.
func (r reader) WebhookHasAvatar(ctx context.Context, webhookID snowflake.ID, hash string) (bool, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_avatars WHERE webhook_id = $1 AND hash = $2`,
		int64(webhookID), hash).Scan(&n)
	return n > 0, r.wrap("webhook avatar", err)
}

// CreateWebhook implements storage.Tx. The row is inserted from a SELECT
// that finds the channel in the webhook's guild, so that a webhook cannot
// be made in another guild's channel.
func (t *tx) CreateWebhook(ctx context.Context, w storage.Webhook) error {
	return t.execOne(ctx, "create webhook", `INSERT INTO webhooks (`+webhookColumns+`)
		SELECT CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS TEXT),
			CAST($6 AS TEXT), CAST($7 AS TEXT), CAST($8 AS BIGINT), CAST($9 AS BIGINT)
		WHERE EXISTS (SELECT 1 FROM channels WHERE id = $3 AND guild_id = $2)`,
		int64(w.ID), int64(w.GuildID), int64(w.ChannelID), int64(w.CreatorID), w.Name, w.Avatar, w.Token, ms(w.CreatedAt),
		int64(w.ApplicationID))
}

// UpdateWebhook implements storage.Tx.
func (t *tx) UpdateWebhook(ctx context.Context, w storage.Webhook) error {
	return t.execOne(ctx, "update webhook", `UPDATE webhooks SET name = $3, avatar = $4, channel_id = $5
		WHERE id = $1 AND guild_id = $2 AND EXISTS (SELECT 1 FROM channels WHERE id = $5 AND guild_id = $2)`,
		int64(w.ID), int64(w.GuildID), w.Name, w.Avatar, int64(w.ChannelID))
}

// DeleteWebhook implements storage.Tx.
func (t *tx) DeleteWebhook(ctx context.Context, guildID, id snowflake.ID) error {
	return t.execOne(ctx, "delete webhook", `DELETE FROM webhooks WHERE id = $1 AND guild_id = $2`, int64(id), int64(guildID))
}

// AddWebhookAvatar implements storage.Tx.
func (t *tx) AddWebhookAvatar(ctx context.Context, webhookID snowflake.ID, hash string) error {
	return t.exec(ctx, "add webhook avatar", `INSERT INTO webhook_avatars (webhook_id, hash) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, int64(webhookID), hash)
}
