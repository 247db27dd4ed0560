package storage_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"hearth/migrations"
	"hearth/storage"
	"hearth/storage/postgres"
	"hearth/storage/sqlite"
	"hearth/storage/storagetest"
)

func TestConformanceSQLite(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hearth.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestConformancePostgres(t *testing.T) {
	storagetest.PostgresURL(t) // skips the whole half, saying why, when PostgreSQL is away
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := postgres.Open(context.Background(), storagetest.PostgresURL(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestMigrationsApplyOnce reopens a database and checks that nothing is
// applied the second time, on both dialects.
func TestMigrationsApplyOnce(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hearth.db")
		for i := range 2 {
			s, err := sqlite.Open(ctx, path, nil)
			if err != nil {
				t.Fatalf("open %d: %v", i, err)
			}
			checkMigrations(t, s)
			s.Close()
		}
	})
	t.Run("postgres", func(t *testing.T) {
		url := storagetest.PostgresURL(t)
		for i := range 2 {
			s, err := postgres.Open(ctx, url, nil)
			if err != nil {
				t.Fatalf("open %d: %v", i, err)
			}
			checkMigrations(t, s)
			s.Close()
		}
	})
}

func checkMigrations(t *testing.T, s storage.Store) {
	t.Helper()
	for _, db := range s.Pools() {
		var n, distinct int
		if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n == 0 || n != distinct {
			t.Fatalf("schema_migrations has %d rows for %d versions", n, distinct)
		}
		return
	}
}

// TestNewerDatabaseRefusedAtStart: opening a database that a newer binary
// migrated further fails, on both dialects, with the migrations' error.
func TestNewerDatabaseRefusedAtStart(t *testing.T) {
	ctx := context.Background()
	newer := func(t *testing.T, s storage.Store) {
		t.Helper()
		db := s.Pools()["write"] // SQLite's readers cannot write
		if db == nil {
			db = s.Pools()["main"]
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at)
			SELECT MAX(version) + 1, 'from_a_newer_binary', 0 FROM schema_migrations`); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hearth.db")
		s, err := sqlite.Open(ctx, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		newer(t, s)
		if s, err := sqlite.Open(ctx, path, nil); !errors.Is(err, migrations.ErrNewerDatabase) {
			if err == nil {
				s.Close()
			}
			t.Fatalf("open a newer database: %v", err)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		url := storagetest.PostgresURL(t)
		s, err := postgres.Open(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		newer(t, s)
		if s, err := postgres.Open(ctx, url, nil); !errors.Is(err, migrations.ErrNewerDatabase) {
			if err == nil {
				s.Close()
			}
			t.Fatalf("open a newer database: %v", err)
		}
	})
}
