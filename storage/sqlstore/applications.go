package sqlstore

import (
	"context"

	"hearth/snowflake"
	"hearth/storage"
)

const applicationColumns = `id, owner_id, name, description, flags, bot_public, created_at, interactions_endpoint_url`

func scanApplication(row scanner) (storage.Application, error) {
	var a storage.Application
	var id, owner, created int64
	err := row.Scan(&id, &owner, &a.Name, &a.Description, &a.Flags, &a.BotPublic, &created, &a.InteractionsURL)
	a.ID, a.OwnerID, a.CreatedAt = snowflake.ID(id), snowflake.ID(owner), fromMS(created)
	return a, err
}

// Application implements storage.Reader.
func (r reader) Application(ctx context.Context, id snowflake.ID) (storage.Application, error) {
	a, err := scanApplication(r.q.QueryRowContext(ctx, `SELECT `+applicationColumns+` FROM applications WHERE id = $1`, int64(id)))
	return a, r.wrap("application", err)
}

// UserApplications implements storage.Reader.
func (r reader) UserApplications(ctx context.Context, ownerID snowflake.ID) ([]storage.Application, error) {
	return queryAll(ctx, r, "user applications", scanApplication,
		`SELECT `+applicationColumns+` FROM applications WHERE owner_id = $1 ORDER BY id`, int64(ownerID))
}

// CreateApplication implements storage.Tx.
func (t *tx) CreateApplication(ctx context.Context, a storage.Application) error {
	return t.exec(ctx, "create application", `INSERT INTO applications (`+applicationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		int64(a.ID), int64(a.OwnerID), a.Name, a.Description, a.Flags, a.BotPublic, ms(a.CreatedAt), a.InteractionsURL)
}

// UpdateApplication implements storage.Tx.
func (t *tx) UpdateApplication(ctx context.Context, a storage.Application) error {
	return t.execOne(ctx, "update application", `UPDATE applications SET name = $2, description = $3, flags = $4,
		bot_public = $5, interactions_endpoint_url = $6 WHERE id = $1`, int64(a.ID), a.Name, a.Description, a.Flags, a.BotPublic, a.InteractionsURL)
}
