// Package migrations holds the database schema as numbered SQL files, one
// folder per dialect, and applies the ones a database has not seen yet.
//
// A file is named NNNN_description.sql. Each runs in its own transaction
// together with the row that records it in schema_migrations, so a crash
// leaves a migration either wholly applied and recorded or not at all, and
// starting twice applies nothing twice. A database that records a
// migration this binary does not have (a newer binary ran on it) is
// refused: an older binary would misread its schema.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
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

// ErrNewerDatabase is returned by Apply for a database that a newer binary
// has migrated further than this one can.
var ErrNewerDatabase = errors.New("the database is newer than this binary")

// Apply brings db up to the newest migration of its dialect and returns the
// names of the ones it applied, or ErrNewerDatabase, changing nothing. On
// PostgreSQL every step (schema_migrations itself included) runs under an
// advisory lock so that two processes starting at once do not race; SQLite's
// single writer does the same there.
func Apply(ctx context.Context, db *sql.DB, dialect string) ([]string, error) {
	all, err := List(dialect)
	if err != nil {
		return nil, err
	}
	if err := prepare(ctx, db, dialect, len(all)); err != nil {
		return nil, err
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

// lock takes the migrations' advisory lock on PostgreSQL for the rest of
// tx; it is transaction-scoped, so commit or rollback releases it, and a
// pooled connection never keeps it.
func lock(ctx context.Context, tx *sql.Tx, dialect string) error {
	if dialect != "postgres" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7305961)`); err != nil {
		return fmt.Errorf("migrations: lock: %w", err)
	}
	return nil
}

// prepare creates schema_migrations if it is missing and refuses a database
// that records a migration beyond newest, the last one this binary has.
// Without the lock two PostgreSQL sessions could both find the table
// missing and the slower one's CREATE would fail.
func prepare(ctx context.Context, db *sql.DB, dialect string, newest int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrations: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := lock(ctx, tx, dialect); err != nil {
		return err
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL
	)`
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("migrations: create schema_migrations: %w", err)
	}
	var recorded sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&recorded); err != nil {
		return fmt.Errorf("migrations: read schema version: %w", err)
	}
	if recorded.Int64 > int64(newest) {
		return fmt.Errorf("migrations: %w: its schema is at version %d, this binary's newest is %d; run a binary at least as new as the one that migrated it",
			ErrNewerDatabase, recorded.Int64, newest)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrations: commit schema_migrations: %w", err)
	}
	return nil
}

func applyOne(ctx context.Context, db *sql.DB, dialect string, m Migration) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrations: begin %s: %w", m.Name, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := lock(ctx, tx, dialect); err != nil {
		return false, err
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
