package sqlstore

import (
	"context"
	"fmt"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// Threads are rows of channels (see channels.go for how their columns are
// read and written); this file holds the queries only threads have, and
// their members.

const threadMemberColumns = `channel_id, user_id, joined_at, flags`

func scanThreadMember(row scanner) (storage.ThreadMember, error) {
	var m storage.ThreadMember
	err := row.Scan(scanID(&m.ThreadID), scanID(&m.UserID), scanMS(&m.JoinedAt), &m.Flags)
	return m, err
}

// ThreadMembers implements storage.Reader.
func (r reader) ThreadMembers(ctx context.Context, threadID snowflake.ID) ([]storage.ThreadMember, error) {
	return queryAll(ctx, r, "thread members", scanThreadMember, `SELECT `+threadMemberColumns+`
		FROM thread_members WHERE channel_id = $1 ORDER BY user_id`, int64(threadID))
}

// ThreadMember implements storage.Reader.
func (r reader) ThreadMember(ctx context.Context, threadID, userID snowflake.ID) (storage.ThreadMember, error) {
	m, err := scanThreadMember(r.q.QueryRowContext(ctx, `SELECT `+threadMemberColumns+`
		FROM thread_members WHERE channel_id = $1 AND user_id = $2`, int64(threadID), int64(userID)))
	return m, r.wrap("thread member", err)
}

// ActiveThreads implements storage.Reader. The thread types are literals
// and archived is compared for equality so that the lookup is a range of the
// partial index channels_active_threads.
func (r reader) ActiveThreads(ctx context.Context, guildID snowflake.ID) ([]storage.Channel, error) {
	chans, err := queryAll(ctx, r, "active threads", scanChannel, `SELECT `+channelColumns+` FROM channels
		WHERE guild_id = $1 AND type IN (`+threadTypes+`) AND archived = $2 ORDER BY id`, int64(guildID), false)
	if err != nil || len(chans) == 0 {
		return chans, err
	}
	return chans, r.loadOverwrites(ctx, chans)
}

// IdleThreads implements storage.Reader. A snowflake's top 42 bits are
// milliseconds since Discord's epoch, so the activity time is computed in
// SQL from the newest message ID (or the thread's own ID); both dialects
// shift integers alike. Threads of replica guilds are left out: their
// origin archives them, and the replica follows its events.
func (r reader) IdleThreads(ctx context.Context, now time.Time, limit int) ([]storage.Channel, error) {
	if limit <= 0 {
		limit = 100
	}
	chans, err := queryAll(ctx, r, "idle threads", scanChannel, `SELECT `+channelColumns+` FROM channels
		WHERE type IN (`+threadTypes+`) AND archived = $1
		AND guild_id NOT IN (SELECT log_id FROM replicas)
		AND (COALESCE(last_message_id, id) / 4194304) + 1420070400000 + auto_archive * 60000 < $2
		ORDER BY id LIMIT $3`, false, ms(now), limit)
	if err != nil || len(chans) == 0 {
		return chans, err
	}
	return chans, r.loadOverwrites(ctx, chans)
}

// defaultArchivedLimit is the page of archived threads a caller gets when it
// names none, Discord's default.
const defaultArchivedLimit = 50

// ArchivedThreads implements storage.Reader. It walks channels_parent
// backwards from before, so a page costs about limit rows whatever the
// number of archived threads. No types match no thread: an empty IN list is
// not valid SQL, so that case does not reach the database.
func (r reader) ArchivedThreads(ctx context.Context, parentID snowflake.ID, types []int, before time.Time, limit int) ([]storage.Channel, error) {
	if len(types) == 0 {
		return nil, nil
	}
	if limit <= 0 {
		limit = defaultArchivedLimit
	}
	args := []any{int64(parentID), true}
	for _, typ := range types {
		args = append(args, typ)
	}
	query := `SELECT ` + channelColumns + ` FROM channels
		WHERE parent_id = $1 AND archived = $2 AND type IN (` + placeholders(3, len(types)) + `)`
	if !before.IsZero() {
		args = append(args, ms(before))
		query += fmt.Sprintf(` AND archived_at < $%d`, len(args))
	}
	args = append(args, limit)
	query += fmt.Sprintf(` ORDER BY archived_at DESC, id DESC LIMIT $%d`, len(args))
	chans, err := queryAll(ctx, r, "archived threads", scanChannel, query, args...)
	if err != nil || len(chans) == 0 {
		return chans, err
	}
	return chans, r.loadOverwrites(ctx, chans)
}

// loadOverwrites adds their overwrites to channels, in one query for them
// all, so that a thread list reads as ChannelByID would.
func (r reader) loadOverwrites(ctx context.Context, chans []storage.Channel) error {
	chanIDs := make([]snowflake.ID, len(chans))
	at := make(map[snowflake.ID]int, len(chans))
	for i, c := range chans {
		chanIDs[i] = c.ID
		at[c.ID] = i
	}
	ows, err := queryAll(ctx, r, "channel overwrites", scanOverwriteRow, `SELECT channel_id, target_id, type, allow, deny
		FROM channel_overwrites WHERE channel_id IN (`+placeholders(1, len(chanIDs))+`)
		ORDER BY channel_id, target_id`, idArgs(chanIDs)...)
	if err != nil {
		return err
	}
	for _, o := range ows {
		i := at[o.channelID]
		chans[i].Overwrites = append(chans[i].Overwrites, o.Overwrite)
	}
	return nil
}

// ThreadMessageCount implements storage.Reader. It counts rows of
// messages_channel rather than keeping a counter on the thread, so that
// message inserts and deletes, single or in bulk, need not touch the
// channel row.
func (r reader) ThreadMessageCount(ctx context.Context, threadID snowflake.ID) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE channel_id = $1`, int64(threadID)).Scan(&n)
	return n, r.wrap("thread message count", err)
}

// AddThreadMember implements storage.Tx; the primary key makes a repeat
// ErrConflict.
//
// Joining a thread one is already in is common (posting in a thread joins
// the author, every time), so the repeat is not left to the unique
// constraint: on PostgreSQL a violation would abort the whole transaction.
//
// The row is inserted from a SELECT that finds the thread in scope
// (thread_members have no guild column), so that the check and the insert
// are one statement; only when nothing was inserted does a second query
// tell a repeat from a thread out of scope.
func (t *tx) AddThreadMember(ctx context.Context, s storage.Scope, m storage.ThreadMember) error {
	cond, arg := scopeCond(s, "guild_id", "id", 5)
	res, err := t.q.ExecContext(ctx, `INSERT INTO thread_members (`+threadMemberColumns+`)
		SELECT CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST($3 AS BIGINT), CAST($4 AS INTEGER)
		WHERE EXISTS (SELECT 1 FROM channels WHERE id = $1 AND `+cond+`) ON CONFLICT DO NOTHING`,
		int64(m.ThreadID), int64(m.UserID), ms(m.JoinedAt), m.Flags, arg)
	if err != nil {
		return t.wrap("add thread member", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.wrap("add thread member", err)
	} else if n > 0 {
		return nil
	}
	cond, arg = scopeCond(s, "guild_id", "id", 2)
	var one int
	err = t.q.QueryRowContext(ctx, `SELECT 1 FROM channels WHERE id = $1 AND `+cond, int64(m.ThreadID), arg).Scan(&one)
	if err != nil {
		return t.wrap("add thread member", err)
	}
	return fmt.Errorf("add thread member: %w", storage.ErrConflict)
}

// RemoveThreadMember implements storage.Tx.
func (t *tx) RemoveThreadMember(ctx context.Context, s storage.Scope, threadID, userID snowflake.ID) error {
	cond, arg := scopeCond(s, "guild_id", "id", 3)
	return t.execOne(ctx, "remove thread member", `DELETE FROM thread_members WHERE channel_id = $1 AND user_id = $2
		AND EXISTS (SELECT 1 FROM channels WHERE id = $1 AND `+cond+`)`, int64(threadID), int64(userID), arg)
}
