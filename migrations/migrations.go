// Package migrations holds the database schema as numbered SQL files, one
// folder per dialect, and applies the ones a database has not seen yet.
//
// A file is named NNNN_description.sql. Each runs in its own transaction
// together with the row that records it in schema_migrations, so a crash
// leaves a migration either wholly applied and recorded or not at all, and
// starting twice applies nothing twice.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// List returns the migrations of a dialect ("sqlite" or "postgres") in order.
func List(dialect string) ([]Migration, error) {
	entries, err := fs.ReadDir(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations: unknown dialect %q: %w", dialect, err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		if !ok || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migrations: badly named file %s/%s", dialect, name)
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migrations: badly numbered file %s/%s: %w", dialect, name, err)
		}
		body, err := fs.ReadFile(files, dialect+"/"+name)
		if err != nil {
			return nil, fmt.Errorf("migrations: read %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := range out {
		if out[i].Version != i+1 {
			return nil, fmt.Errorf("migrations: %s: expected version %d, found %d", dialect, i+1, out[i].Version)
		}
	}
	return out, nil
}

// Apply brings db up to the newest migration of its dialect and returns the
// names of the ones it applied. On PostgreSQL it holds an advisory lock so
// that two processes starting at once do not race; SQLite's single writer
// does the same there.
func Apply(ctx context.Context, db *sql.DB, dialect string) ([]string, error) {
	all, err := List(dialect)
	if err != nil {
		return nil, err
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL
	)`
	if _, err := db.ExecContext(ctx, create); err != nil {
		return nil, fmt.Errorf("migrations: create schema_migrations: %w", err)
	}
	var applied []string
	for _, m := range all {
		done, err := applyOne(ctx, db, dialect, m)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.Name)
		}
	}
	return applied, nil
}

func applyOne(ctx context.Context, db *sql.DB, dialect string, m Migration) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrations: begin %s: %w", m.Name, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if dialect == "postgres" {
		// Transaction-scoped, so it is released by commit or rollback.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7305961)`); err != nil {
			return false, fmt.Errorf("migrations: lock: %w", err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
		return false, fmt.Errorf("migrations: check %s: %w", m.Name, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migrations: apply %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.Version, m.Name, time.Now().UnixMilli()); err != nil {
		return false, fmt.Errorf("migrations: record %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrations: commit %s: %w", m.Name, err)
	}
	return true, nil
}
