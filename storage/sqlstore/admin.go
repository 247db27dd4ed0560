package sqlstore

import (
	"context"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// IsAdmin implements storage.Reader.
func (r reader) IsAdmin(ctx context.Context, userID snowflake.ID) (bool, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM instance_admins WHERE user_id = $1`, int64(userID)).Scan(&n)
	return n > 0, r.wrap("is admin", err)
}

// LocalUserCount implements storage.Reader.
func (r reader) LocalUserCount(ctx context.Context) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE origin IS NULL`).Scan(&n)
	return n, r.wrap("local user count", err)
}

// FederationRules implements storage.Reader.
func (r reader) FederationRules(ctx context.Context) ([]storage.FederationRule, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT server, rule, created_at FROM federation_rules ORDER BY server`)
	if err != nil {
		return nil, r.wrap("federation rules", err)
	}
	defer rows.Close()
	var out []storage.FederationRule
	for rows.Next() {
		var fr storage.FederationRule
		var at int64
		if err := rows.Scan(&fr.Server, &fr.Rule, &at); err != nil {
			return nil, r.wrap("federation rules", err)
		}
		fr.CreatedAt = fromMS(at)
		out = append(out, fr)
	}
	return out, r.wrap("federation rules", rows.Err())
}

// MembershipsFrom implements storage.Reader.
func (r reader) MembershipsFrom(ctx context.Context, server string) ([]storage.Membership, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT m.guild_id, m.user_id FROM members m
		JOIN users u ON u.id = m.user_id JOIN guilds g ON g.id = m.guild_id
		WHERE u.origin = $1 AND g.origin IS NULL ORDER BY m.guild_id, m.user_id`, server)
	if err != nil {
		return nil, r.wrap("memberships from", err)
	}
	defer rows.Close()
	var out []storage.Membership
	for rows.Next() {
		var g, u int64
		if err := rows.Scan(&g, &u); err != nil {
			return nil, r.wrap("memberships from", err)
		}
		out = append(out, storage.Membership{GuildID: snowflake.ID(g), UserID: snowflake.ID(u)})
	}
	return out, r.wrap("memberships from", rows.Err())
}

// SetAdmin implements storage.Tx.
func (t *tx) SetAdmin(ctx context.Context, userID snowflake.ID, admin bool, at time.Time) error {
	if !admin {
		_, err := t.q.ExecContext(ctx, `DELETE FROM instance_admins WHERE user_id = $1`, int64(userID))
		return t.wrap("revoke admin", err)
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO instance_admins (user_id, granted_at) VALUES ($1, $2)
		ON CONFLICT (user_id) DO NOTHING`, int64(userID), ms(at))
	return t.wrap("grant admin", err)
}

// SetFederationRule implements storage.Tx.
func (t *tx) SetFederationRule(ctx context.Context, fr storage.FederationRule) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO federation_rules (server, rule, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (server) DO UPDATE SET rule = excluded.rule, created_at = excluded.created_at`,
		fr.Server, fr.Rule, ms(fr.CreatedAt))
	return t.wrap("set federation rule", err)
}

// DeleteFederationRule implements storage.Tx.
func (t *tx) DeleteFederationRule(ctx context.Context, server string) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM federation_rules WHERE server = $1`, server)
	if err != nil {
		return t.wrap("delete federation rule", err)
	}
	return t.wrap("delete federation rule", mustAffect(res))
}
