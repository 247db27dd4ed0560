package sqlstore

import (
	"context"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

const channelColumns = `id, guild_id, type, name, topic, position, parent_id, nsfw, rate_limit_per_user,
	bitrate, user_limit, last_message_id, owner_id, icon, created_at, origin, origin_id,
	archived, locked, invitable, auto_archive, archived_at`

// threadTypes lists storage's thread channel types (storage.IsThread) as SQL
// literals rather than parameters: the partial index channels_active_threads
// has the same list in its WHERE clause, and a planner can only tell that
// the index applies when the query names the same constants.
const threadTypes = `10, 11, 12`

func scanChannel(row scanner) (storage.Channel, error) {
	var c storage.Channel
	var th storage.ThreadMeta
	err := row.Scan(scanID(&c.ID), scanID(&c.GuildID), &c.Type, &c.Name, &c.Topic, &c.Position, scanID(&c.ParentID),
		&c.NSFW, &c.RateLimitPerUser, &c.Bitrate, &c.UserLimit, scanID(&c.LastMessageID), scanID(&c.OwnerID),
		&c.Icon, scanMS(&c.CreatedAt), scanText(&c.Origin), scanText(&c.OriginID),
		&th.Archived, &th.Locked, &th.Invitable, &th.AutoArchive, scanMS(&th.ArchivedAt))
	// Never nil, so that a channel without overwrites encodes as [] rather
	// than null wherever it is marshalled.
	c.Overwrites = []storage.Overwrite{}
	// The thread columns exist on every row, at their defaults outside
	// threads; the type alone says whether they mean anything.
	if storage.IsThread(c.Type) {
		c.Thread = &th
	}
	return c, err
}

// threadArgs are the values of the thread columns for a channel, the
// columns' defaults when it has no ThreadMeta.
func threadArgs(c storage.Channel) []any {
	var th storage.ThreadMeta
	if c.Thread != nil {
		th = *c.Thread
	}
	return []any{th.Archived, th.Locked, th.Invitable, th.AutoArchive, nullMS(th.ArchivedAt)}
}

// overwriteRow is an overwrite with the channel it belongs to, for reading a
// whole guild's overwrites in one query.
type overwriteRow struct {
	channelID snowflake.ID
	storage.Overwrite
}

func scanOverwriteRow(row scanner) (overwriteRow, error) {
	var o overwriteRow
	err := row.Scan(scanID(&o.channelID), scanID(&o.TargetID), &o.Type, &o.Allow, &o.Deny)
	return o, err
}

// ChannelByID implements storage.Reader. The recipients are read only for
// DM channels, so that the lookup every guild message send makes costs no
// extra query.
func (r reader) ChannelByID(ctx context.Context, id snowflake.ID) (storage.Channel, error) {
	c, err := scanChannel(r.q.QueryRowContext(ctx, `SELECT `+channelColumns+` FROM channels WHERE id = $1`, int64(id)))
	if err != nil {
		return storage.Channel{}, r.wrap("channel by id", err)
	}
	if isDM(c.Type) {
		chans := []storage.Channel{c}
		if err := r.loadRecipients(ctx, chans); err != nil {
			return storage.Channel{}, err
		}
		c = chans[0]
	}
	ows, err := queryAll(ctx, r, "channel overwrites", scanOverwriteRow, `SELECT channel_id, target_id, type, allow, deny
		FROM channel_overwrites WHERE channel_id = $1 ORDER BY target_id`, int64(id))
	if err != nil {
		return storage.Channel{}, err
	}
	for _, o := range ows {
		c.Overwrites = append(c.Overwrites, o.Overwrite)
	}
	return c, nil
}

// GuildChannels implements storage.Reader. The overwrites of every channel
// come in one second query, rather than one per channel. Threads are left
// out of both: a guild may have many, archived ones above all, and Discord
// lists them apart (ActiveThreads, ArchivedThreads).
func (r reader) GuildChannels(ctx context.Context, guildID snowflake.ID) ([]storage.Channel, error) {
	chans, err := queryAll(ctx, r, "guild channels", scanChannel, `SELECT `+channelColumns+` FROM channels
		WHERE guild_id = $1 AND type NOT IN (`+threadTypes+`) ORDER BY position, id`, int64(guildID))
	if err != nil || len(chans) == 0 {
		return chans, err
	}
	ows, err := queryAll(ctx, r, "guild channel overwrites", scanOverwriteRow,
		`SELECT o.channel_id, o.target_id, o.type, o.allow, o.deny
		FROM channel_overwrites o JOIN channels c ON c.id = o.channel_id
		WHERE c.guild_id = $1 AND c.type NOT IN (`+threadTypes+`) ORDER BY o.channel_id, o.target_id`, int64(guildID))
	if err != nil {
		return nil, err
	}
	at := make(map[snowflake.ID]int, len(chans))
	for i, c := range chans {
		at[c.ID] = i
	}
	for _, o := range ows {
		// A channel created between the two queries has no entry; it was
		// not listed either.
		if i, ok := at[o.channelID]; ok {
			chans[i].Overwrites = append(chans[i].Overwrites, o.Overwrite)
		}
	}
	return chans, nil
}

// CreateChannel implements storage.Tx. A 1:1 DM gets its dm_key, whose
// unique index turns a second DM channel for the same pair into ErrConflict.
// The thread columns take c.Thread, or their defaults when it is nil; the
// type is not checked against it, so a thread created without ThreadMeta
// reads back with a zero one.
func (t *tx) CreateChannel(ctx context.Context, c storage.Channel) error {
	args := append([]any{int64(c.ID), nullID(c.GuildID), c.Type, c.Name, c.Topic, c.Position, nullID(c.ParentID), c.NSFW,
		c.RateLimitPerUser, c.Bitrate, c.UserLimit, nullID(c.LastMessageID), nullID(c.OwnerID), c.Icon,
		ms(c.CreatedAt), nullString(c.Origin), nullString(c.OriginID)}, threadArgs(c)...)
	args = append(args, dmKey(c.Type, c.Recipients))
	err := t.exec(ctx, "create channel", `INSERT INTO channels (`+channelColumns+`, dm_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
		$22, $23)`, args...)
	if err != nil {
		return err
	}
	for _, o := range c.Overwrites {
		if err := t.SetOverwrite(ctx, storage.ScopeOf(c), c.ID, o); err != nil {
			return err
		}
	}
	return t.insertRecipients(ctx, c.ID, c.Recipients)
}

// UpdateChannel implements storage.Tx. The guild, the creation time and the
// origin are fixed at creation; the type is not, because Discord converts
// text channels to announcement channels and back. last_message_id is left
// alone: it belongs to CreateMessage, and a caller holding an older copy of
// the channel must not move it back. The recipients (and so dm_key) change
// only through SetRecipients. The thread columns are written only when
// c.Thread is set, so that an update built without them (by code that
// knows nothing of threads) does not unarchive or unlock a thread.
func (t *tx) UpdateChannel(ctx context.Context, s storage.Scope, c storage.Channel) error {
	query := `UPDATE channels SET type = $2, name = $3, topic = $4, position = $5,
		parent_id = $6, nsfw = $7, rate_limit_per_user = $8, bitrate = $9, user_limit = $10, owner_id = $11,
		icon = $12`
	args := []any{int64(c.ID), c.Type, c.Name, c.Topic, c.Position, nullID(c.ParentID), c.NSFW, c.RateLimitPerUser,
		c.Bitrate, c.UserLimit, nullID(c.OwnerID), c.Icon}
	if c.Thread != nil {
		query += `, archived = $13, locked = $14, invitable = $15, auto_archive = $16, archived_at = $17`
		args = append(args, threadArgs(c)...)
	}
	cond, arg := scopeCond(s, "guild_id", "id", len(args)+1)
	return t.execOne(ctx, "update channel", query+` WHERE id = $1 AND `+cond, append(args, arg)...)
}

// DeleteChannel implements storage.Tx. Overwrites, invites, recipients,
// thread members and messages (with their attachments and reactions) go
// with the channel by ON DELETE CASCADE; message revisions stay.
//
// A channel's threads are channels too, linked by parent_id, which has no
// foreign key and must not cascade: the children of a category have it as
// their parent_id as well, and deleting a category leaves its channels. So
// the threads, and only rows of a thread type, are deleted here, after the
// channel itself so that a missing channel is ErrNotFound whatever rows
// name it as their parent. The threads need no scope of their own: they
// are of the channel's guild, which was in scope.
func (t *tx) DeleteChannel(ctx context.Context, s storage.Scope, id snowflake.ID) error {
	cond, arg := scopeCond(s, "guild_id", "id", 2)
	if err := t.execOne(ctx, "delete channel", `DELETE FROM channels WHERE id = $1 AND `+cond, int64(id), arg); err != nil {
		return err
	}
	return t.exec(ctx, "delete channel threads", `DELETE FROM channels
		WHERE parent_id = $1 AND type IN (`+threadTypes+`)`, int64(id))
}

// SetOverwrite implements storage.Tx. The row is inserted from a SELECT
// whose WHERE tests the channel's scope, so that the check and the write
// are one statement. The casts give PostgreSQL the types of parameters that
// stand alone in a select list. Both databases count an upsert that
// updates as one row, so no row means the channel is out of scope.
func (t *tx) SetOverwrite(ctx context.Context, s storage.Scope, channelID snowflake.ID, o storage.Overwrite) error {
	cond, arg := scopeCond(s, "guild_id", "id", 6)
	return t.execOne(ctx, "set overwrite", `INSERT INTO channel_overwrites (channel_id, target_id, type, allow, deny)
		SELECT CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST($3 AS INTEGER), CAST($4 AS BIGINT), CAST($5 AS BIGINT)
		WHERE EXISTS (SELECT 1 FROM channels WHERE id = $1 AND `+cond+`)
		ON CONFLICT (channel_id, target_id)
		DO UPDATE SET type = excluded.type, allow = excluded.allow, deny = excluded.deny`,
		int64(channelID), int64(o.TargetID), o.Type, o.Allow, o.Deny, arg)
}

// DeleteOverwrite implements storage.Tx.
func (t *tx) DeleteOverwrite(ctx context.Context, s storage.Scope, channelID, targetID snowflake.ID) error {
	cond, arg := scopeCond(s, "guild_id", "id", 3)
	return t.execOne(ctx, "delete overwrite", `DELETE FROM channel_overwrites WHERE channel_id = $1 AND target_id = $2
		AND EXISTS (SELECT 1 FROM channels WHERE id = $1 AND `+cond+`)`,
		int64(channelID), int64(targetID), arg)
}

const inviteColumns = `code, guild_id, channel_id, inviter_id, max_uses, uses, max_age, temporary, created_at, expires_at`

func scanInvite(row scanner) (storage.Invite, error) {
	var inv storage.Invite
	err := row.Scan(&inv.Code, scanID(&inv.GuildID), scanID(&inv.ChannelID), scanID(&inv.InviterID),
		&inv.MaxUses, &inv.Uses, &inv.MaxAge, &inv.Temporary, scanMS(&inv.CreatedAt), scanMS(&inv.ExpiresAt))
	return inv, err
}

// Invite implements storage.Reader.
func (r reader) Invite(ctx context.Context, code string) (storage.Invite, error) {
	inv, err := scanInvite(r.q.QueryRowContext(ctx, `SELECT `+inviteColumns+` FROM invites WHERE code = $1`, code))
	return inv, r.wrap("invite", err)
}

// GuildInvites implements storage.Reader. The code breaks ties so that
// invites made in the same millisecond list in a stable order.
func (r reader) GuildInvites(ctx context.Context, guildID snowflake.ID) ([]storage.Invite, error) {
	return queryAll(ctx, r, "guild invites", scanInvite, `SELECT `+inviteColumns+` FROM invites
		WHERE guild_id = $1 ORDER BY created_at, code`, int64(guildID))
}

// ChannelInvites implements storage.Reader.
func (r reader) ChannelInvites(ctx context.Context, channelID snowflake.ID) ([]storage.Invite, error) {
	return queryAll(ctx, r, "channel invites", scanInvite, `SELECT `+inviteColumns+` FROM invites
		WHERE channel_id = $1 ORDER BY created_at, code`, int64(channelID))
}

// CreateInvite implements storage.Tx.
func (t *tx) CreateInvite(ctx context.Context, inv storage.Invite) error {
	return t.exec(ctx, "create invite", `INSERT INTO invites (`+inviteColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		inv.Code, int64(inv.GuildID), int64(inv.ChannelID), nullID(inv.InviterID), inv.MaxUses, inv.Uses,
		inv.MaxAge, inv.Temporary, ms(inv.CreatedAt), nullMS(inv.ExpiresAt))
}

// UseInvite implements storage.Tx. The increment happens in SQL so that
// concurrent joins through one invite each count.
//
// The check and the count are one statement, so that concurrent joins
// cannot take an invite past its max_uses or use one that expired or was
// revoked since they looked it up.
func (t *tx) UseInvite(ctx context.Context, code string, now time.Time) error {
	return t.execOne(ctx, "use invite", `UPDATE invites SET uses = uses + 1
		WHERE code = $1 AND (max_uses = 0 OR uses < max_uses) AND (expires_at IS NULL OR expires_at > $2)`, code, ms(now))
}

// DeleteInvite implements storage.Tx.
func (t *tx) DeleteInvite(ctx context.Context, s storage.Scope, code string) error {
	cond, arg := scopeCond(s, "guild_id", "", 2)
	return t.execOne(ctx, "delete invite", `DELETE FROM invites WHERE code = $1 AND `+cond, code, arg)
}
