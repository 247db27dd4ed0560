package sqlstore

import (
	"context"

	"hearth/snowflake"
	"hearth/storage"
)

const roleColumns = `id, guild_id, name, color, hoist, icon, unicode_emoji, position, permissions, managed,
	mentionable, created_at`

func scanRole(row scanner) (storage.Role, error) {
	var r storage.Role
	err := row.Scan(scanID(&r.ID), scanID(&r.GuildID), &r.Name, &r.Color, &r.Hoist, &r.Icon, &r.UnicodeEmoji,
		&r.Position, &r.Permissions, &r.Managed, &r.Mentionable, scanMS(&r.CreatedAt))
	return r, err
}

// GuildRoles implements storage.Reader.
func (r reader) GuildRoles(ctx context.Context, guildID snowflake.ID) ([]storage.Role, error) {
	return queryAll(ctx, r, "guild roles", scanRole, `SELECT `+roleColumns+` FROM roles
		WHERE guild_id = $1 ORDER BY position, id`, int64(guildID))
}

// CreateRole implements storage.Tx.
func (t *tx) CreateRole(ctx context.Context, r storage.Role) error {
	return t.exec(ctx, "create role", `INSERT INTO roles (`+roleColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		int64(r.ID), int64(r.GuildID), r.Name, r.Color, r.Hoist, r.Icon, r.UnicodeEmoji, r.Position,
		r.Permissions, r.Managed, r.Mentionable, ms(r.CreatedAt))
}

// UpdateRole implements storage.Tx. Managed is left alone: a role is made
// managed by the integration that creates it, never by an edit.
func (t *tx) UpdateRole(ctx context.Context, s storage.Scope, r storage.Role) error {
	cond, arg := scopeCond(s, "guild_id", "", 10)
	return t.execOne(ctx, "update role", `UPDATE roles SET name = $2, color = $3, hoist = $4, icon = $5,
		unicode_emoji = $6, position = $7, permissions = $8, mentionable = $9 WHERE id = $1 AND `+cond,
		int64(r.ID), r.Name, r.Color, r.Hoist, r.Icon, r.UnicodeEmoji, r.Position, r.Permissions, r.Mentionable, arg)
}

// DeleteRole implements storage.Tx. member_roles rows go by ON DELETE
// CASCADE; overwrites name their target without a foreign key (it may be a
// role or a member), so they are deleted here, within the role's guild.
func (t *tx) DeleteRole(ctx context.Context, s storage.Scope, id snowflake.ID) error {
	var guildID int64
	cond, arg := scopeCond(s, "guild_id", "", 2)
	err := t.q.QueryRowContext(ctx, `DELETE FROM roles WHERE id = $1 AND `+cond+` RETURNING guild_id`,
		int64(id), arg).Scan(&guildID)
	if err != nil {
		return t.wrap("delete role", err)
	}
	return t.exec(ctx, "delete role overwrites", `DELETE FROM channel_overwrites WHERE target_id = $1
		AND channel_id IN (SELECT id FROM channels WHERE guild_id = $2)`, int64(id), guildID)
}

const memberColumns = `guild_id, user_id, nick, joined_at, communication_disabled_until, deaf, mute`

func scanMember(row scanner) (storage.Member, error) {
	var m storage.Member
	err := row.Scan(scanID(&m.GuildID), scanID(&m.UserID), &m.Nick, scanMS(&m.JoinedAt),
		scanMS(&m.CommunicationDisabledUntil), &m.Deaf, &m.Mute)
	// Never nil, so that a member without roles encodes as [] rather than
	// null wherever it is marshalled.
	m.Roles = []snowflake.ID{}
	return m, err
}

// memberRole is one row of member_roles.
type memberRole struct {
	userID, roleID snowflake.ID
}

func scanMemberRole(row scanner) (memberRole, error) {
	var mr memberRole
	err := row.Scan(scanID(&mr.userID), scanID(&mr.roleID))
	return mr, err
}

// Member implements storage.Reader.
func (r reader) Member(ctx context.Context, guildID, userID snowflake.ID) (storage.Member, error) {
	m, err := scanMember(r.q.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM members
		WHERE guild_id = $1 AND user_id = $2`, int64(guildID), int64(userID)))
	if err != nil {
		return storage.Member{}, r.wrap("member", err)
	}
	roles, err := queryAll(ctx, r, "member roles", scanMemberRole, `SELECT user_id, role_id FROM member_roles
		WHERE guild_id = $1 AND user_id = $2 ORDER BY role_id`, int64(guildID), int64(userID))
	if err != nil {
		return storage.Member{}, err
	}
	for _, mr := range roles {
		m.Roles = append(m.Roles, mr.roleID)
	}
	return m, nil
}

// Members implements storage.Reader. The page's roles come in one second
// query over the page's user ID range, rather than one per member or a
// list of IDs as long as the page.
func (r reader) Members(ctx context.Context, guildID, after snowflake.ID, limit int) ([]storage.Member, error) {
	page, err := queryAll(ctx, r, "members", scanMember, `SELECT `+memberColumns+` FROM members
		WHERE guild_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`, int64(guildID), int64(after), limit)
	if err != nil || len(page) == 0 {
		return page, err
	}
	roles, err := queryAll(ctx, r, "members roles", scanMemberRole, `SELECT user_id, role_id FROM member_roles
		WHERE guild_id = $1 AND user_id > $2 AND user_id <= $3 ORDER BY user_id, role_id`,
		int64(guildID), int64(after), int64(page[len(page)-1].UserID))
	if err != nil {
		return nil, err
	}
	// Both lists are ordered by user ID, so one pass matches them up.
	i := 0
	for _, mr := range roles {
		for i < len(page) && page[i].UserID < mr.userID {
			i++
		}
		if i < len(page) && page[i].UserID == mr.userID {
			page[i].Roles = append(page[i].Roles, mr.roleID)
		}
	}
	return page, nil
}

// AddMember implements storage.Tx.
func (t *tx) AddMember(ctx context.Context, m storage.Member) error {
	err := t.exec(ctx, "add member", `INSERT INTO members (`+memberColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		int64(m.GuildID), int64(m.UserID), m.Nick, ms(m.JoinedAt), nullMS(m.CommunicationDisabledUntil), m.Deaf, m.Mute)
	if err != nil {
		return err
	}
	return t.addMemberRoles(ctx, m)
}

// UpdateMember implements storage.Tx.
func (t *tx) UpdateMember(ctx context.Context, m storage.Member) error {
	err := t.execOne(ctx, "update member", `UPDATE members SET nick = $3, communication_disabled_until = $4,
		deaf = $5, mute = $6 WHERE guild_id = $1 AND user_id = $2`,
		int64(m.GuildID), int64(m.UserID), m.Nick, nullMS(m.CommunicationDisabledUntil), m.Deaf, m.Mute)
	if err != nil {
		return err
	}
	err = t.exec(ctx, "update member: clear roles", `DELETE FROM member_roles WHERE guild_id = $1 AND user_id = $2`,
		int64(m.GuildID), int64(m.UserID))
	if err != nil {
		return err
	}
	return t.addMemberRoles(ctx, m)
}

// addMemberRoles gives m its roles. A role listed twice is given once
// rather than failing as a conflict; a role of another guild fails the
// foreign key.
func (t *tx) addMemberRoles(ctx context.Context, m storage.Member) error {
	for _, role := range m.Roles {
		err := t.exec(ctx, "add member role", `INSERT INTO member_roles (guild_id, user_id, role_id)
			VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, int64(m.GuildID), int64(m.UserID), int64(role))
		if err != nil {
			return err
		}
	}
	return nil
}

// RemoveMember implements storage.Tx. The member's roles go by ON DELETE
// CASCADE.
func (t *tx) RemoveMember(ctx context.Context, guildID, userID snowflake.ID) error {
	return t.execOne(ctx, "remove member", `DELETE FROM members WHERE guild_id = $1 AND user_id = $2`,
		int64(guildID), int64(userID))
}

// TemporaryGuilds implements storage.Reader.
func (r reader) TemporaryGuilds(ctx context.Context, userID snowflake.ID) ([]snowflake.ID, error) {
	return queryAll(ctx, r, "temporary guilds", func(row scanner) (snowflake.ID, error) {
		var id snowflake.ID
		err := row.Scan(scanID(&id))
		return id, err
	}, `SELECT guild_id FROM temporary_members WHERE user_id = $1 ORDER BY guild_id`, int64(userID))
}

// SetTemporaryMember implements storage.Tx.
func (t *tx) SetTemporaryMember(ctx context.Context, guildID, userID snowflake.ID, temporary bool) error {
	if _, err := t.Member(ctx, guildID, userID); err != nil {
		return err
	}
	if !temporary {
		return t.exec(ctx, "clear temporary member", `DELETE FROM temporary_members WHERE guild_id = $1 AND user_id = $2`,
			int64(guildID), int64(userID))
	}
	return t.exec(ctx, "set temporary member", `INSERT INTO temporary_members (guild_id, user_id) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, int64(guildID), int64(userID))
}

const banColumns = `guild_id, user_id, reason, created_at`

func scanBan(row scanner) (storage.Ban, error) {
	var b storage.Ban
	err := row.Scan(scanID(&b.GuildID), scanID(&b.UserID), &b.Reason, scanMS(&b.CreatedAt))
	return b, err
}

// Ban implements storage.Reader.
func (r reader) Ban(ctx context.Context, guildID, userID snowflake.ID) (storage.Ban, error) {
	b, err := scanBan(r.q.QueryRowContext(ctx, `SELECT `+banColumns+` FROM bans WHERE guild_id = $1 AND user_id = $2`,
		int64(guildID), int64(userID)))
	return b, r.wrap("ban", err)
}

// Bans implements storage.Reader.
func (r reader) Bans(ctx context.Context, guildID, after snowflake.ID, limit int) ([]storage.Ban, error) {
	return queryAll(ctx, r, "bans", scanBan, `SELECT `+banColumns+` FROM bans
		WHERE guild_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`, int64(guildID), int64(after), limit)
}

// CreateBan implements storage.Tx.
func (t *tx) CreateBan(ctx context.Context, b storage.Ban) error {
	return t.exec(ctx, "create ban", `INSERT INTO bans (`+banColumns+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (guild_id, user_id) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at`,
		int64(b.GuildID), int64(b.UserID), b.Reason, ms(b.CreatedAt))
}

// DeleteBan implements storage.Tx.
func (t *tx) DeleteBan(ctx context.Context, guildID, userID snowflake.ID) error {
	return t.execOne(ctx, "delete ban", `DELETE FROM bans WHERE guild_id = $1 AND user_id = $2`,
		int64(guildID), int64(userID))
}
