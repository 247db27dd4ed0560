package storage_test

import (
	"context"
	"path/filepath"
	"testing"

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
