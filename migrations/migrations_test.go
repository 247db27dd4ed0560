package migrations_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"hearth/migrations"
	"hearth/storage/storagetest"
)

func TestApplyTwiceAppliesNothingTwice(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			var db *sql.DB
			var err error
			if dialect == "sqlite" {
				db, err = sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db"))
			} else {
				db, err = sql.Open("pgx", storagetest.PostgresURL(t))
			}
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			all, err := migrations.List(dialect)
			if err != nil || len(all) == 0 {
				t.Fatalf("List = %v, %v", all, err)
			}
			first, err := migrations.Apply(context.Background(), db, dialect)
			if err != nil || len(first) != len(all) {
				t.Fatalf("first Apply = %v, %v; want all %d", first, err, len(all))
			}
			second, err := migrations.Apply(context.Background(), db, dialect)
			if err != nil || len(second) != 0 {
				t.Fatalf("second Apply = %v, %v; want none", second, err)
			}
		})
	}
}

func TestDialectsHaveTheSameVersions(t *testing.T) {
	s, _ := migrations.List("sqlite")
	p, _ := migrations.List("postgres")
	if len(s) != len(p) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(s), len(p))
	}
	for i := range s {
		if s[i].Name != p[i].Name {
			t.Errorf("migration %d: sqlite %s, postgres %s", i+1, s[i].Name, p[i].Name)
		}
	}
	if _, err := migrations.List("oracle"); err == nil {
		t.Fatal("List(oracle) succeeded")
	}
}
