package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"hearth/snowflake"
	"hearth/storage"
)

// isDM reports whether a channel type is one whose members are its
// recipients rather than a guild's members.
func isDM(channelType int) bool {
	return channelType == storage.ChannelDM || channelType == storage.ChannelGroupDM
}

// dmKey is the value of channels.dm_key: the two users of a 1:1 DM in
// ascending order, so that either may look the channel up, and NULL for any
// other channel, which the unique index then ignores.
func dmKey(channelType int, recipients []snowflake.ID) sql.NullString {
	if channelType != storage.ChannelDM || len(recipients) != 2 {
		return sql.NullString{}
	}
	return sql.NullString{String: pairKey(recipients[0], recipients[1]), Valid: true}
}

func pairKey(a, b snowflake.ID) string {
	if a > b {
		a, b = b, a
	}
	return a.String() + ":" + b.String()
}

// placeholders returns n placeholders numbered from first, comma separated,
// for an IN list: both dialects accept $N, and PostgreSQL's ANY($1) would
// need an array SQLite cannot bind.
func placeholders(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", first+i)
	}
	return b.String()
}

// idArgs turns IDs into query arguments, stored as int64 as everywhere.
func idArgs(ids []snowflake.ID) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out
}

// recipientRow is one row of channel_recipients.
type recipientRow struct {
	channelID, userID snowflake.ID
}

func scanRecipientRow(row scanner) (recipientRow, error) {
	var r recipientRow
	err := row.Scan(scanID(&r.channelID), scanID(&r.userID))
	return r, err
}

// loadRecipients sets the recipients of DM channels, by user ID, in one
// query for them all. Channels of other types are left without.
func (r reader) loadRecipients(ctx context.Context, chans []storage.Channel) error {
	var dmIDs []snowflake.ID
	for i := range chans {
		if isDM(chans[i].Type) {
			chans[i].Recipients = []snowflake.ID{}
			dmIDs = append(dmIDs, chans[i].ID)
		}
	}
	if len(dmIDs) == 0 {
		return nil
	}
	rows, err := queryAll(ctx, r, "channel recipients", scanRecipientRow, `SELECT channel_id, user_id
		FROM channel_recipients WHERE channel_id IN (`+placeholders(1, len(dmIDs))+`)
		ORDER BY channel_id, user_id`, idArgs(dmIDs)...)
	if err != nil {
		return err
	}
	at := make(map[snowflake.ID]int, len(chans))
	for i, c := range chans {
		at[c.ID] = i
	}
	for _, row := range rows {
		i := at[row.channelID]
		chans[i].Recipients = append(chans[i].Recipients, row.userID)
	}
	return nil
}

// DMChannel implements storage.Reader.
func (r reader) DMChannel(ctx context.Context, a, b snowflake.ID) (storage.Channel, error) {
	c, err := scanChannel(r.q.QueryRowContext(ctx, `SELECT `+channelColumns+` FROM channels WHERE dm_key = $1`,
		pairKey(a, b)))
	if err != nil {
		return storage.Channel{}, r.wrap("dm channel", err)
	}
	chans := []storage.Channel{c}
	if err := r.loadRecipients(ctx, chans); err != nil {
		return storage.Channel{}, err
	}
	return chans[0], nil
}

// UserDMChannels implements storage.Reader. The most recently active come
// first, as Discord clients list them: by the last message, or by the
// channel's own ID (its creation) while it has none, the IDs of both being
// snowflakes and so comparable as times.
func (r reader) UserDMChannels(ctx context.Context, userID snowflake.ID) ([]storage.Channel, error) {
	chans, err := queryAll(ctx, r, "user dm channels", scanChannel, `SELECT `+channelColumns+` FROM channels
		WHERE id IN (SELECT channel_id FROM channel_recipients WHERE user_id = $1)
		ORDER BY COALESCE(last_message_id, id) DESC, id DESC`, int64(userID))
	if err != nil || len(chans) == 0 {
		return chans, err
	}
	return chans, r.loadRecipients(ctx, chans)
}

// insertRecipients adds recipients to a channel.
func (t *tx) insertRecipients(ctx context.Context, channelID snowflake.ID, users []snowflake.ID) error {
	for _, u := range users {
		if err := t.exec(ctx, "add recipient", `INSERT INTO channel_recipients (channel_id, user_id) VALUES ($1, $2)`,
			int64(channelID), int64(u)); err != nil {
			return err
		}
	}
	return nil
}

// SetRecipients implements storage.Tx. A 1:1 DM's dm_key follows its
// recipients, so that DMChannel finds the channel by its new pair (and a
// pair that already has a channel is ErrConflict). ErrNotFound if the
// channel does not exist.
func (t *tx) SetRecipients(ctx context.Context, s storage.Scope, channelID snowflake.ID, users []snowflake.ID) error {
	key := dmKey(storage.ChannelDM, users)
	cond, arg := scopeCond(s, "guild_id", "id", 4)
	if err := t.execOne(ctx, "set recipients", `UPDATE channels
		SET dm_key = CASE WHEN type = $2 THEN $3 ELSE dm_key END WHERE id = $1 AND `+cond,
		int64(channelID), storage.ChannelDM, key, arg); err != nil {
		return err
	}
	if err := t.exec(ctx, "set recipients", `DELETE FROM channel_recipients WHERE channel_id = $1`,
		int64(channelID)); err != nil {
		return err
	}
	return t.insertRecipients(ctx, channelID, users)
}
