package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// The guild tables store "none" IDs (a channel's parent, a guild's system
// channel) and "never" times (a member's timeout, an invite's expiry) as NULL;
// the helpers below turn the zero values into NULL on the way in and NULL
// back into zero values on the way out, so callers only ever see zeros.

// nullID stores the ID 0 as NULL.
func nullID(id snowflake.ID) sql.NullInt64 {
	return sql.NullInt64{Int64: int64(id), Valid: id != 0}
}

// nullMS stores the zero time as NULL: its Unix milliseconds would be a
// large negative number rather than "never".
func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: ms(t), Valid: true}
}

// nullJSON stores a nil document as NULL and any other, empty included,
// byte for byte.
func nullJSON(b []byte) sql.NullString {
	return sql.NullString{String: string(b), Valid: b != nil}
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

// idDest scans a snowflake stored as int64, NULL as 0, without the string
// round trip database/sql makes for a destination of a named uint64 type.
type idDest struct{ p *snowflake.ID }

func (d idDest) Scan(v any) error {
	switch v := v.(type) {
	case int64:
		*d.p = snowflake.ID(v)
	case nil:
		*d.p = 0
	default:
		return fmt.Errorf("scan snowflake: unexpected %T", v)
	}
	return nil
}

func scanID(p *snowflake.ID) idDest { return idDest{p} }

// msDest scans Unix milliseconds into a UTC time, NULL as the zero time.
type msDest struct{ p *time.Time }

func (d msDest) Scan(v any) error {
	switch v := v.(type) {
	case int64:
		*d.p = fromMS(v)
	case nil:
		*d.p = time.Time{}
	default:
		return fmt.Errorf("scan time: unexpected %T", v)
	}
	return nil
}

func scanMS(p *time.Time) msDest { return msDest{p} }

// textDest scans a nullable text column, NULL as "".
type textDest struct{ p *string }

func (d textDest) Scan(v any) error {
	switch v := v.(type) {
	case string:
		*d.p = v
	case []byte:
		*d.p = string(v)
	case nil:
		*d.p = ""
	default:
		return fmt.Errorf("scan text: unexpected %T", v)
	}
	return nil
}

func scanText(p *string) textDest { return textDest{p} }

// jsonDest scans a nullable JSON column, NULL as nil. The bytes are copied:
// a driver may reuse the buffer it hands to Scan.
type jsonDest struct{ p *[]byte }

func (d jsonDest) Scan(v any) error {
	switch v := v.(type) {
	case string:
		*d.p = []byte(v)
	case []byte:
		*d.p = append([]byte{}, v...)
	case nil:
		*d.p = nil
	default:
		return fmt.Errorf("scan json: unexpected %T", v)
	}
	return nil
}

func scanJSON(p *[]byte) jsonDest { return jsonDest{p} }

// queryAll runs a query and scans every row with scan. The rows are closed
// before it returns, so that a transaction's connection is free for the
// next query.
func queryAll[T any](ctx context.Context, r reader, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, r.wrap(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, r.wrap(op, err)
		}
		out = append(out, v)
	}
	return out, r.wrap(op, rows.Err())
}

// execOne runs an UPDATE or DELETE that must match a row, so that a missing
// one is reported as ErrNotFound.
func (t *tx) execOne(ctx context.Context, op, query string, args ...any) error {
	res, err := t.q.ExecContext(ctx, query, args...)
	if err != nil {
		return t.wrap(op, err)
	}
	return t.wrap(op, mustAffect(res))
}

// exec runs a statement whose row count does not matter.
func (t *tx) exec(ctx context.Context, op, query string, args ...any) error {
	_, err := t.q.ExecContext(ctx, query, args...)
	return t.wrap(op, err)
}

const guildColumns = `id, name, icon, description, owner_id, system_channel_id, verification_level, public, created_at, origin, origin_id`

func scanGuild(row scanner) (storage.Guild, error) {
	var g storage.Guild
	err := row.Scan(scanID(&g.ID), &g.Name, &g.Icon, &g.Description, scanID(&g.OwnerID), scanID(&g.SystemChannelID),
		&g.VerificationLevel, &g.Public, scanMS(&g.CreatedAt), scanText(&g.Origin), scanText(&g.OriginID))
	return g, err
}

// GuildByID implements storage.Reader.
func (r reader) GuildByID(ctx context.Context, id snowflake.ID) (storage.Guild, error) {
	g, err := scanGuild(r.q.QueryRowContext(ctx, `SELECT `+guildColumns+` FROM guilds WHERE id = $1`, int64(id)))
	return g, r.wrap("guild by id", err)
}

// UserGuilds implements storage.Reader.
func (r reader) UserGuilds(ctx context.Context, userID snowflake.ID) ([]storage.Guild, error) {
	return queryAll(ctx, r, "user guilds", scanGuild, `SELECT `+guildColumns+` FROM guilds
		WHERE id IN (SELECT guild_id FROM members WHERE user_id = $1) ORDER BY id`, int64(userID))
}

// likeEscaper makes user input match itself literally in a LIKE pattern
// with ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// PublicGuilds implements storage.Reader. The name is compared with
// name_lower, lowered by Go on write as the query is here, so that case is
// ignored beyond ASCII on SQLite too.
func (r reader) PublicGuilds(ctx context.Context, query string, after snowflake.ID, limit int) ([]storage.Guild, error) {
	pattern := "%" + likeEscaper.Replace(strings.ToLower(query)) + "%"
	return queryAll(ctx, r, "public guilds", scanGuild, `SELECT `+guildColumns+` FROM guilds
		WHERE public = $1 AND name_lower LIKE $2 ESCAPE '\' AND id > $3 ORDER BY id LIMIT $4`,
		true, pattern, int64(after), limit)
}

// MemberCount implements storage.Reader.
func (r reader) MemberCount(ctx context.Context, guildID snowflake.ID) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM members WHERE guild_id = $1`, int64(guildID)).Scan(&n)
	return n, r.wrap("member count", err)
}

// ObjectCounts implements storage.Reader.
func (r reader) ObjectCounts(ctx context.Context, guildID snowflake.ID) (storage.ObjectCounts, error) {
	var n storage.ObjectCounts
	err := r.q.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM channels WHERE guild_id = $1 AND type NOT IN (`+threadTypes+`)),
		(SELECT COUNT(*) FROM channels WHERE guild_id = $1 AND type IN (`+threadTypes+`)),
		(SELECT COUNT(*) FROM roles WHERE guild_id = $1),
		(SELECT COUNT(*) FROM emojis WHERE guild_id = $1)`, int64(guildID)).Scan(&n.Channels, &n.Threads, &n.Roles, &n.Emojis)
	return n, r.wrap("object counts", err)
}

// CreateGuild implements storage.Tx.
func (t *tx) CreateGuild(ctx context.Context, g storage.Guild) error {
	return t.exec(ctx, "create guild", `INSERT INTO guilds (`+guildColumns+`, name_lower)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		int64(g.ID), g.Name, g.Icon, g.Description, int64(g.OwnerID), nullID(g.SystemChannelID),
		g.VerificationLevel, g.Public, ms(g.CreatedAt), nullString(g.Origin), nullString(g.OriginID),
		strings.ToLower(g.Name))
}

// UpdateGuild implements storage.Tx. The creation time and the origin are
// fixed at creation.
func (t *tx) UpdateGuild(ctx context.Context, g storage.Guild) error {
	return t.execOne(ctx, "update guild", `UPDATE guilds SET name = $2, name_lower = $3, icon = $4,
		description = $5, owner_id = $6, system_channel_id = $7, verification_level = $8, public = $9
		WHERE id = $1`,
		int64(g.ID), g.Name, strings.ToLower(g.Name), g.Icon, g.Description, int64(g.OwnerID),
		nullID(g.SystemChannelID), g.VerificationLevel, g.Public)
}

// DeleteGuild implements storage.Tx. The foreign keys of every guild table
// cascade from guilds, so one DELETE removes the lot.
func (t *tx) DeleteGuild(ctx context.Context, id snowflake.ID) error {
	return t.execOne(ctx, "delete guild", `DELETE FROM guilds WHERE id = $1`, int64(id))
}

const emojiColumns = `id, guild_id, user_id, name, animated, hash, available, created_at`

func scanEmoji(row scanner) (storage.Emoji, error) {
	var e storage.Emoji
	err := row.Scan(scanID(&e.ID), scanID(&e.GuildID), scanID(&e.UserID), &e.Name, &e.Animated, &e.Hash,
		&e.Available, scanMS(&e.CreatedAt))
	return e, err
}

// Emoji implements storage.Reader.
func (r reader) Emoji(ctx context.Context, id snowflake.ID) (storage.Emoji, error) {
	e, err := scanEmoji(r.q.QueryRowContext(ctx, `SELECT `+emojiColumns+` FROM emojis WHERE id = $1`, int64(id)))
	if err != nil {
		return e, r.wrap("emoji", err)
	}
	e.Roles, err = queryAll(ctx, r, "emoji roles", scanOneID,
		`SELECT role_id FROM emoji_roles WHERE emoji_id = $1 ORDER BY role_id`, int64(id))
	return e, err
}

func scanOneID(row scanner) (snowflake.ID, error) {
	var id snowflake.ID
	err := row.Scan(scanID(&id))
	return id, err
}

// GuildEmojis implements storage.Reader. The roles come in one query for
// the guild, matched up by emoji.
func (r reader) GuildEmojis(ctx context.Context, guildID snowflake.ID) ([]storage.Emoji, error) {
	es, err := queryAll(ctx, r, "guild emojis", scanEmoji,
		`SELECT `+emojiColumns+` FROM emojis WHERE guild_id = $1 ORDER BY id`, int64(guildID))
	if err != nil || len(es) == 0 {
		return es, err
	}
	type pair struct{ emoji, role snowflake.ID }
	pairs, err := queryAll(ctx, r, "guild emoji roles", func(row scanner) (pair, error) {
		var p pair
		err := row.Scan(scanID(&p.emoji), scanID(&p.role))
		return p, err
	}, `SELECT er.emoji_id, er.role_id FROM emoji_roles er JOIN emojis e ON e.id = er.emoji_id
		WHERE e.guild_id = $1 ORDER BY er.emoji_id, er.role_id`, int64(guildID))
	if err != nil {
		return nil, err
	}
	i := 0
	for _, p := range pairs {
		for i < len(es) && es[i].ID < p.emoji {
			i++
		}
		if i < len(es) && es[i].ID == p.emoji {
			es[i].Roles = append(es[i].Roles, p.role)
		}
	}
	return es, nil
}

// SetEmojiRoles implements storage.Tx. The roles must be the emoji's
// guild's: a role of another guild is refused as absent.
func (t *tx) SetEmojiRoles(ctx context.Context, s storage.Scope, emojiID snowflake.ID, roles []snowflake.ID) error {
	cond, arg := scopeCond(s, "guild_id", "", 2)
	var guildID int64
	err := t.q.QueryRowContext(ctx, `SELECT guild_id FROM emojis WHERE id = $1 AND `+cond, int64(emojiID), arg).Scan(&guildID)
	if err != nil {
		return t.wrap("set emoji roles", err)
	}
	if err := t.exec(ctx, "set emoji roles: clear", `DELETE FROM emoji_roles WHERE emoji_id = $1`, int64(emojiID)); err != nil {
		return err
	}
	seen := make(map[snowflake.ID]bool, len(roles))
	for _, role := range roles {
		if seen[role] {
			continue
		}
		seen[role] = true
		err := t.execOne(ctx, "set emoji roles", `INSERT INTO emoji_roles (emoji_id, role_id)
			SELECT $1, id FROM roles WHERE id = $2 AND guild_id = $3`, int64(emojiID), int64(role), guildID)
		if err != nil {
			return err
		}
	}
	return nil
}

// CreateEmoji implements storage.Tx.
func (t *tx) CreateEmoji(ctx context.Context, e storage.Emoji) error {
	return t.exec(ctx, "create emoji", `INSERT INTO emojis (`+emojiColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		int64(e.ID), int64(e.GuildID), int64(e.UserID), e.Name, e.Animated, e.Hash, e.Available, ms(e.CreatedAt))
}

// UpdateEmoji implements storage.Tx.
func (t *tx) UpdateEmoji(ctx context.Context, s storage.Scope, e storage.Emoji) error {
	cond, arg := scopeCond(s, "guild_id", "", 3)
	return t.execOne(ctx, "update emoji", `UPDATE emojis SET name = $2 WHERE id = $1 AND `+cond, int64(e.ID), e.Name, arg)
}

// DeleteEmoji implements storage.Tx.
func (t *tx) DeleteEmoji(ctx context.Context, s storage.Scope, id snowflake.ID) error {
	cond, arg := scopeCond(s, "guild_id", "", 2)
	return t.execOne(ctx, "delete emoji", `DELETE FROM emojis WHERE id = $1 AND `+cond, int64(id), arg)
}

const auditColumns = `id, guild_id, user_id, action_type, target_id, changes, options, reason`

func scanAuditEntry(row scanner) (storage.AuditEntry, error) {
	var e storage.AuditEntry
	err := row.Scan(scanID(&e.ID), scanID(&e.GuildID), scanID(&e.UserID), &e.ActionType, scanID(&e.TargetID),
		scanJSON(&e.Changes), scanJSON(&e.Options), &e.Reason)
	return e, err
}

// defaultAuditLimit is Discord's default page of audit log entries.
const defaultAuditLimit = 50

// AuditLog implements storage.Reader. Only the filters that are set go into
// the WHERE clause, so that each query the planner sees is a plain range
// scan of audit_log_guild.
func (r reader) AuditLog(ctx context.Context, guildID snowflake.ID, q storage.AuditQuery) ([]storage.AuditEntry, error) {
	where := []string{"guild_id = $1"}
	args := []any{int64(guildID)}
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.UserID != 0 {
		add("user_id = $%d", int64(q.UserID))
	}
	if q.ActionType != 0 {
		add("action_type = $%d", q.ActionType)
	}
	if q.Before != 0 {
		add("id < $%d", int64(q.Before))
	}
	if q.After != 0 {
		add("id > $%d", int64(q.After))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	args = append(args, limit)
	query := fmt.Sprintf(`SELECT %s FROM audit_log WHERE %s ORDER BY id DESC LIMIT $%d`,
		auditColumns, strings.Join(where, " AND "), len(args))
	return queryAll(ctx, r, "audit log", scanAuditEntry, query, args...)
}

// AddAuditEntry implements storage.Tx.
func (t *tx) AddAuditEntry(ctx context.Context, e storage.AuditEntry) error {
	return t.exec(ctx, "add audit entry", `INSERT INTO audit_log (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		int64(e.ID), int64(e.GuildID), int64(e.UserID), e.ActionType, nullID(e.TargetID),
		nullJSON(e.Changes), nullJSON(e.Options), e.Reason)
}

// SetEmojiHash implements storage.Tx.
func (t *tx) SetEmojiHash(ctx context.Context, s storage.Scope, id snowflake.ID, hash string) error {
	cond, arg := scopeCond(s, "guild_id", "", 3)
	return t.exec(ctx, "set emoji hash", `UPDATE emojis SET hash = $2 WHERE id = $1 AND `+cond, int64(id), hash, arg)
}
