package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

const interactionColumns = `id, application_id, token_hash, type, user_id, guild_id, channel_id, message_id,
	state, response_type, original_id, data, created_at`

func scanInteraction(row scanner) (storage.Interaction, error) {
	var i storage.Interaction
	var data string
	err := row.Scan(scanID(&i.ID), scanID(&i.ApplicationID), &i.TokenHash, &i.Type, scanID(&i.UserID), scanID(&i.GuildID),
		scanID(&i.ChannelID), scanID(&i.MessageID), &i.State, &i.ResponseType, scanID(&i.OriginalID), &data, scanMS(&i.CreatedAt))
	i.Data = []byte(data)
	return i, err
}

// Interaction implements storage.Reader.
func (r reader) Interaction(ctx context.Context, id snowflake.ID) (storage.Interaction, error) {
	i, err := scanInteraction(r.q.QueryRowContext(ctx, `SELECT `+interactionColumns+` FROM interactions WHERE id = $1`, int64(id)))
	return i, r.wrap("interaction", err)
}

// InteractionMessage implements storage.Reader.
func (r reader) InteractionMessage(ctx context.Context, interactionID, id snowflake.ID) (storage.InteractionMessage, error) {
	m := storage.InteractionMessage{ID: id, InteractionID: interactionID}
	var data string
	err := r.q.QueryRowContext(ctx, `SELECT data FROM interaction_messages WHERE id = $1 AND interaction_id = $2`,
		int64(id), int64(interactionID)).Scan(&data)
	m.Data = []byte(data)
	return m, r.wrap("interaction message", err)
}

// MessageComponents implements storage.Reader.
func (r reader) MessageComponents(ctx context.Context, messageID snowflake.ID) (storage.MessageComponents, error) {
	c := storage.MessageComponents{MessageID: messageID}
	var comps string
	var inter sql.NullString
	err := r.q.QueryRowContext(ctx, `SELECT components, interaction FROM message_components WHERE message_id = $1`,
		int64(messageID)).Scan(&comps, &inter)
	c.Components = []byte(comps)
	if inter.Valid {
		c.Interaction = []byte(inter.String)
	}
	return c, r.wrap("message components", err)
}

// CreateInteraction implements storage.Tx.
func (t *tx) CreateInteraction(ctx context.Context, i storage.Interaction) error {
	return t.exec(ctx, "create interaction", `INSERT INTO interactions (`+interactionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		int64(i.ID), int64(i.ApplicationID), i.TokenHash, i.Type, int64(i.UserID), int64(i.GuildID), int64(i.ChannelID),
		int64(i.MessageID), i.State, i.ResponseType, int64(i.OriginalID), string(i.Data), ms(i.CreatedAt))
}

// AnswerInteraction implements storage.Tx.
func (t *tx) AnswerInteraction(ctx context.Context, id snowflake.ID, notBefore time.Time, responseType int, data []byte) error {
	return t.execOne(ctx, "answer interaction", `UPDATE interactions SET state = $2, response_type = $3, data = $4
		WHERE id = $1 AND state = $5 AND created_at >= $6`,
		int64(id), storage.InteractionAnswered, responseType, string(data), storage.InteractionWaiting, ms(notBefore))
}

// FailInteraction implements storage.Tx.
func (t *tx) FailInteraction(ctx context.Context, id snowflake.ID) error {
	return t.execOne(ctx, "fail interaction", `UPDATE interactions SET state = $2 WHERE id = $1 AND state = $3`,
		int64(id), storage.InteractionFailed, storage.InteractionWaiting)
}

// SetInteractionOriginal implements storage.Tx.
func (t *tx) SetInteractionOriginal(ctx context.Context, id, originalID snowflake.ID, data []byte) error {
	return t.execOne(ctx, "set interaction original", `UPDATE interactions SET original_id = $2, data = $3 WHERE id = $1`,
		int64(id), int64(originalID), string(data))
}

// DeleteInteractionsBefore implements storage.Tx.
func (t *tx) DeleteInteractionsBefore(ctx context.Context, before time.Time) (int64, error) {
	if err := t.exec(ctx, "delete old interaction files", `DELETE FROM interaction_files WHERE interaction_id IN
		(SELECT id FROM interactions WHERE created_at < $1)`, ms(before)); err != nil {
		return 0, err
	}
	if err := t.exec(ctx, "delete old interaction messages", `DELETE FROM interaction_messages WHERE interaction_id IN
		(SELECT id FROM interactions WHERE created_at < $1)`, ms(before)); err != nil {
		return 0, err
	}
	res, err := t.q.ExecContext(ctx, `DELETE FROM interactions WHERE created_at < $1`, ms(before))
	if err != nil {
		return 0, t.wrap("delete old interactions", err)
	}
	n, err := res.RowsAffected()
	return n, t.wrap("delete old interactions", err)
}

// PutInteractionMessage implements storage.Tx.
func (t *tx) PutInteractionMessage(ctx context.Context, m storage.InteractionMessage) error {
	if err := t.exec(ctx, "put interaction message", `DELETE FROM interaction_messages WHERE id = $1 AND interaction_id = $2`,
		int64(m.ID), int64(m.InteractionID)); err != nil {
		return err
	}
	return t.exec(ctx, "put interaction message", `INSERT INTO interaction_messages (id, interaction_id, data) VALUES ($1, $2, $3)`,
		int64(m.ID), int64(m.InteractionID), string(m.Data))
}

// DeleteInteractionMessage implements storage.Tx.
func (t *tx) DeleteInteractionMessage(ctx context.Context, interactionID, id snowflake.ID) error {
	return t.execOne(ctx, "delete interaction message", `DELETE FROM interaction_messages WHERE id = $1 AND interaction_id = $2`,
		int64(id), int64(interactionID))
}

// SetMessageComponents implements storage.Tx.
func (t *tx) SetMessageComponents(ctx context.Context, c storage.MessageComponents) error {
	if err := t.exec(ctx, "clear message components", `DELETE FROM message_components WHERE message_id = $1`, int64(c.MessageID)); err != nil {
		return err
	}
	if c.Components == nil && c.Interaction == nil {
		return nil
	}
	comps := c.Components
	if comps == nil {
		comps = []byte("[]")
	}
	var inter any
	if c.Interaction != nil {
		inter = string(c.Interaction)
	}
	return t.exec(ctx, "set message components", `INSERT INTO message_components (message_id, components, interaction) VALUES ($1, $2, $3)`,
		int64(c.MessageID), string(comps), inter)
}

// EphemeralMessage implements storage.Reader.
func (r reader) EphemeralMessage(ctx context.Context, id snowflake.ID) (storage.InteractionMessage, error) {
	m := storage.InteractionMessage{ID: id}
	var data string
	err := r.q.QueryRowContext(ctx, `SELECT interaction_id, data FROM interaction_messages WHERE id = $1`,
		int64(id)).Scan(scanID(&m.InteractionID), &data)
	m.Data = []byte(data)
	return m, r.wrap("ephemeral message", err)
}

const interactionFileColumns = `id, interaction_id, channel_id, filename, description, content_type, size, hash, width, height`

// InteractionFile implements storage.Reader.
func (r reader) InteractionFile(ctx context.Context, id snowflake.ID) (storage.Attachment, error) {
	var a storage.Attachment
	err := r.q.QueryRowContext(ctx, `SELECT `+interactionFileColumns+` FROM interaction_files WHERE id = $1`, int64(id)).
		Scan(scanID(&a.ID), scanID(&a.MessageID), scanID(&a.ChannelID), &a.Filename, &a.Description,
			&a.ContentType, &a.Size, &a.Hash, &a.Width, &a.Height)
	return a, r.wrap("interaction file", err)
}

// AddInteractionFiles implements storage.Tx.
func (t *tx) AddInteractionFiles(ctx context.Context, interactionID snowflake.ID, files []storage.Attachment) error {
	for _, a := range files {
		if err := t.exec(ctx, "add interaction file", `INSERT INTO interaction_files (`+interactionFileColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			int64(a.ID), int64(interactionID), int64(a.ChannelID), a.Filename, a.Description, a.ContentType,
			a.Size, a.Hash, a.Width, a.Height); err != nil {
			return err
		}
	}
	return nil
}
