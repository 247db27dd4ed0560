package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"hearth/snowflake"
	"hearth/storage"
)

// ReadStates implements storage.Reader.
func (r reader) ReadStates(ctx context.Context, userID snowflake.ID) ([]storage.ReadState, error) {
	return queryAll(ctx, r, "read states", func(row scanner) (storage.ReadState, error) {
		var ch, last int64
		s := storage.ReadState{UserID: userID}
		err := row.Scan(&ch, &last, &s.Version)
		s.ChannelID, s.LastMessageID = snowflake.ID(ch), snowflake.ID(last)
		return s, err
	}, `SELECT channel_id, last_message_id, version FROM read_states WHERE user_id = $1 ORDER BY channel_id`, int64(userID))
}

// unreadAfter is the condition that keeps a message m unread for the user
// $1: after their read state rs of its channel, after read states began
// (read_state_epoch) and after they joined its guild (members mem), and
// not theirs.
const unreadAfter = `m.author_id <> $1 AND m.id > COALESCE(rs.last_message_id, 0)
	AND m.id > (SELECT since FROM read_state_epoch)
	AND m.id > (mem.joined_at - 1420070400000) * 4194304`

// UnreadMentions implements storage.Reader. Four sources, one statement:
// the mention index of users, that of roles joined to the roles the user
// holds, the guild messages that mention @everyone, and the @here index
// (those present when a message mentioned @here). The members join
// keeps only guilds the user is in.
func (r reader) UnreadMentions(ctx context.Context, userID, channelID snowflake.ID, limit int) ([]storage.Mention, error) {
	only := ""
	args := []any{int64(userID), limit}
	if channelID != 0 {
		only = " AND m.channel_id = $3"
		args = append(args, int64(channelID))
	}
	q := `SELECT m.guild_id, m.channel_id, m.id, 1 FROM message_mentions x
		JOIN messages m ON m.id = x.message_id
		JOIN members mem ON mem.guild_id = m.guild_id AND mem.user_id = $1
		LEFT JOIN read_states rs ON rs.user_id = $1 AND rs.channel_id = m.channel_id
		WHERE x.user_id = $1 AND ` + unreadAfter + only + `
	UNION ALL
	SELECT m.guild_id, m.channel_id, m.id, 2 FROM member_roles mr
		JOIN message_role_mentions x ON x.role_id = mr.role_id
		JOIN messages m ON m.id = x.message_id AND m.guild_id = mr.guild_id
		JOIN members mem ON mem.guild_id = m.guild_id AND mem.user_id = $1
		LEFT JOIN read_states rs ON rs.user_id = $1 AND rs.channel_id = m.channel_id
		WHERE mr.user_id = $1 AND ` + unreadAfter + only + `
	UNION ALL
	SELECT m.guild_id, m.channel_id, m.id, 3 FROM members mem
		JOIN messages m ON m.guild_id = mem.guild_id AND m.mention_everyone AND ` + everyoneIn(r.d) + `
		LEFT JOIN read_states rs ON rs.user_id = $1 AND rs.channel_id = m.channel_id
		WHERE mem.user_id = $1 AND ` + unreadAfter + only + `
	UNION ALL
	SELECT m.guild_id, m.channel_id, m.id, 3 FROM message_here_mentions x
		JOIN messages m ON m.id = x.message_id
		JOIN members mem ON mem.guild_id = m.guild_id AND mem.user_id = $1
		LEFT JOIN read_states rs ON rs.user_id = $1 AND rs.channel_id = m.channel_id
		WHERE x.user_id = $1 AND ` + unreadAfter + only + `
	LIMIT $2`
	return queryAll(ctx, r, "unread mentions", func(row scanner) (storage.Mention, error) {
		var g, ch, id int64
		var m storage.Mention
		err := row.Scan(&g, &ch, &id, &m.Kind)
		m.GuildID, m.ChannelID, m.MessageID = snowflake.ID(g), snowflake.ID(ch), snowflake.ID(id)
		return m, err
	}, q, args...)
}

// UnreadDMCounts implements storage.Reader.
func (r reader) UnreadDMCounts(ctx context.Context, userID, channelID snowflake.ID) (map[snowflake.ID]int, error) {
	only := ""
	args := []any{int64(userID)}
	if channelID != 0 {
		only = " AND cr.channel_id = $2"
		args = append(args, int64(channelID))
	}
	rows, err := r.q.QueryContext(ctx, `SELECT m.channel_id, COUNT(*) FROM channel_recipients cr
		JOIN messages m ON m.channel_id = cr.channel_id
		LEFT JOIN read_states rs ON rs.user_id = $1 AND rs.channel_id = cr.channel_id
		WHERE cr.user_id = $1 AND m.author_id <> $1 AND m.id > COALESCE(rs.last_message_id, 0)
			AND m.id > (SELECT since FROM read_state_epoch)`+only+`
		GROUP BY m.channel_id`, args...)
	if err != nil {
		return nil, r.wrap("unread DM counts", err)
	}
	defer rows.Close()
	out := map[snowflake.ID]int{}
	for rows.Next() {
		var ch int64
		var n int
		if err := rows.Scan(&ch, &n); err != nil {
			return nil, r.wrap("unread DM counts", err)
		}
		out[snowflake.ID(ch)] = n
	}
	return out, r.wrap("unread DM counts", rows.Err())
}

// AckChannels implements storage.Tx: one upsert per channel, which
// updates only a read state that is behind, and answers only when it did.
func (t *tx) AckChannels(ctx context.Context, userID snowflake.ID, acks []storage.ReadState) ([]storage.ReadState, error) {
	var moved []storage.ReadState
	for _, a := range acks {
		s := storage.ReadState{UserID: userID, ChannelID: a.ChannelID}
		var last int64
		err := t.q.QueryRowContext(ctx, `INSERT INTO read_states (user_id, channel_id, last_message_id, version)
			VALUES ($1, $2, $3, 1)
			ON CONFLICT (user_id, channel_id) DO UPDATE SET last_message_id = excluded.last_message_id,
				version = read_states.version + 1
			WHERE read_states.last_message_id < excluded.last_message_id
			RETURNING last_message_id, version`, int64(userID), int64(a.ChannelID), int64(a.LastMessageID)).Scan(&last, &s.Version)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, t.wrap("ack channels", err)
		}
		s.LastMessageID = snowflake.ID(last)
		moved = append(moved, s)
	}
	return moved, nil
}

const guildSettingsColumns = `user_id, guild_id, muted, mute_end_time, message_notifications, suppress_everyone,
	suppress_roles, channel_overrides, version`

func scanGuildSettings(row scanner) (storage.GuildSettings, error) {
	var s storage.GuildSettings
	var user, guild int64
	var overrides string
	err := row.Scan(&user, &guild, &s.Muted, scanMS(&s.MuteEndTime), &s.MessageNotifications, &s.SuppressEveryone,
		&s.SuppressRoles, &overrides, &s.Version)
	if err != nil {
		return s, err
	}
	s.UserID, s.GuildID = snowflake.ID(user), snowflake.ID(guild)
	if err := json.Unmarshal([]byte(overrides), &s.ChannelOverrides); err != nil {
		return s, fmt.Errorf("channel overrides: %w", err)
	}
	return s, nil
}

// UserGuildSettings implements storage.Reader.
func (r reader) UserGuildSettings(ctx context.Context, userID snowflake.ID) ([]storage.GuildSettings, error) {
	return queryAll(ctx, r, "user guild settings", scanGuildSettings,
		`SELECT `+guildSettingsColumns+` FROM user_guild_settings WHERE user_id = $1 ORDER BY guild_id`, int64(userID))
}

// UserGuildSettingsOf implements storage.Reader.
func (r reader) UserGuildSettingsOf(ctx context.Context, userID, guildID snowflake.ID) (storage.GuildSettings, error) {
	s, err := scanGuildSettings(r.q.QueryRowContext(ctx, `SELECT `+guildSettingsColumns+` FROM user_guild_settings
		WHERE user_id = $1 AND guild_id = $2`, int64(userID), int64(guildID)))
	return s, r.wrap("user guild settings", err)
}

// PutUserGuildSettings implements storage.Tx.
func (t *tx) PutUserGuildSettings(ctx context.Context, s storage.GuildSettings) error {
	overrides := s.ChannelOverrides
	if overrides == nil {
		overrides = []storage.ChannelOverride{}
	}
	b, err := json.Marshal(overrides)
	if err != nil {
		return fmt.Errorf("put user guild settings: %w", err)
	}
	err = t.exec(ctx, "put user guild settings", `INSERT INTO user_guild_settings (`+guildSettingsColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (user_id, guild_id) DO UPDATE SET muted = excluded.muted, mute_end_time = excluded.mute_end_time,
			message_notifications = excluded.message_notifications, suppress_everyone = excluded.suppress_everyone,
			suppress_roles = excluded.suppress_roles, channel_overrides = excluded.channel_overrides,
			version = excluded.version`,
		int64(s.UserID), int64(s.GuildID), s.Muted, nullMS(s.MuteEndTime), s.MessageNotifications, s.SuppressEveryone,
		s.SuppressRoles, string(b), s.Version)
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "foreign key") {
		return fmt.Errorf("put user guild settings: guild %d: %w", s.GuildID, storage.ErrNotFound)
	}
	return err
}

// insertMentions writes the mention index of messages: a row per user and
// per role each mentions, nothing for a message that mentions nobody.
func (t *tx) insertMentions(ctx context.Context, msgs []storage.Message) error {
	for _, table := range []struct {
		name string
		ids  func(storage.Message) []snowflake.ID
	}{
		{"message_mentions (user_id", func(m storage.Message) []snowflake.ID { return m.Mentions }},
		{"message_role_mentions (role_id", func(m storage.Message) []snowflake.ID { return m.MentionRoles }},
	} {
		var b strings.Builder
		var args []any
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			b.WriteString(" ON CONFLICT DO NOTHING")
			err := t.exec(ctx, "create messages: mentions", b.String(), args...)
			b.Reset()
			args = args[:0]
			return err
		}
		for _, m := range msgs {
			for _, id := range t.uniq(table.ids(m)) {
				if len(args) == 0 {
					b.WriteString(`INSERT INTO ` + table.name + `, message_id, channel_id) VALUES `)
				} else {
					b.WriteString(", ")
				}
				writePlaceholders(&b, len(args), 3)
				args = append(args, int64(id), int64(m.ID), int64(m.ChannelID))
				if len(args) >= 3*500 {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}

// uniq drops repeated IDs (an origin's payload may repeat a mention).
func (t *tx) uniq(ids []snowflake.ID) []snowflake.ID {
	if len(ids) < 2 {
		return ids
	}
	seen := make(map[snowflake.ID]bool, len(ids))
	out := make([]snowflake.ID, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// AddHereMentions implements storage.Tx.
func (t *tx) AddHereMentions(ctx context.Context, messageID snowflake.ID, users []snowflake.ID) error {
	for _, u := range users {
		if _, err := t.q.ExecContext(ctx, `INSERT INTO message_here_mentions (user_id, message_id) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, int64(u), int64(messageID)); err != nil {
			return t.wrap("add here mentions", err)
		}
	}
	return nil
}

// SetReadState implements storage.Tx.
func (t *tx) SetReadState(ctx context.Context, userID, channelID, messageID snowflake.ID) (storage.ReadState, error) {
	s := storage.ReadState{UserID: userID, ChannelID: channelID, LastMessageID: messageID}
	err := t.q.QueryRowContext(ctx, `INSERT INTO read_states (user_id, channel_id, last_message_id, version)
		VALUES ($1, $2, $3, 1)
		ON CONFLICT (user_id, channel_id) DO UPDATE SET last_message_id = excluded.last_message_id,
			version = read_states.version + 1
		RETURNING version`, int64(userID), int64(channelID), int64(messageID)).Scan(&s.Version)
	return s, t.wrap("set read state", err)
}

// everyoneIn is the condition that a message's content says @everyone, as
// written: case-sensitive on both databases (SQLite's LIKE ignores case,
// so "@EVERYONE" counted there and not on PostgreSQL or in the gateway).
func everyoneIn(d Dialect) string {
	if d.Name == "postgres" {
		return "strpos(m.content, '@everyone') > 0"
	}
	return "instr(m.content, '@everyone') > 0"
}
