package migrations_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	_ "modernc.org/sqlite"

	"hearth/migrations"
	"hearth/storage/storagetest"
)

func TestApplyTwiceAppliesNothingTwice(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			db := openDB(t, dialect, freshPath(t, dialect))
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

// openDB opens a fresh, empty database of dialect; the SQLite one is opened
// as storage/sqlite opens it (one writer at a time, waiting its turn).
func openDB(t *testing.T, dialect, path string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if dialect == "sqlite" {
		db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	} else {
		db, err = sql.Open("pgx", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// freshPath is where a fresh database of dialect is: a file or a URL.
func freshPath(t *testing.T, dialect string) string {
	if dialect == "sqlite" {
		return filepath.Join(t.TempDir(), "m.db")
	}
	return storagetest.PostgresURL(t)
}

// TestConcurrentStarts: processes that start at once on an empty database
// (each its own pool) all succeed, and each migration is applied once.
// Creating schema_migrations before taking the lock let two PostgreSQL
// sessions both create it, and one failed.
func TestConcurrentStarts(t *testing.T) {
	const rounds, processes = 3, 8
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			all, err := migrations.List(dialect)
			if err != nil {
				t.Fatal(err)
			}
			for range rounds {
				path := freshPath(t, dialect)
				dbs := make([]*sql.DB, processes)
				for i := range dbs {
					dbs[i] = openDB(t, dialect, path)
					if err := dbs[i].Ping(); err != nil {
						t.Fatal(err)
					}
				}
				start := make(chan struct{})
				applied := make([][]string, processes)
				errs := make([]error, processes)
				var wg sync.WaitGroup
				for i, db := range dbs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						applied[i], errs[i] = migrations.Apply(context.Background(), db, dialect)
					}()
				}
				close(start)
				wg.Wait()
				total := 0
				for i := range dbs {
					if errs[i] != nil {
						t.Fatalf("process %d of %d starting at once: %v", i+1, processes, errs[i])
					}
					total += len(applied[i])
				}
				var n int
				if err := dbs[0].QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(all) || total != len(all) {
					t.Fatalf("%d migrations recorded, %d applied in all, want %d (%v)", n, total, len(all), err)
				}
			}
		})
	}
}

// TestNewerDatabaseRefused: a database that records a migration this binary
// does not have is refused with one line naming both versions, and nothing
// is applied to it.
func TestNewerDatabaseRefused(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t, dialect, freshPath(t, dialect))
			all, err := migrations.List(dialect)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := migrations.Apply(ctx, db, dialect); err != nil {
				t.Fatal(err)
			}
			newer := len(all) + 1
			if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)`,
				newer, fmt.Sprintf("%04d_from_a_newer_binary", newer)); err != nil {
				t.Fatal(err)
			}
			applied, err := migrations.Apply(ctx, db, dialect)
			if !errors.Is(err, migrations.ErrNewerDatabase) || len(applied) != 0 {
				t.Fatalf("Apply on a newer database = %v, %v; want ErrNewerDatabase", applied, err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, fmt.Sprintf("version %d", newer)) || !strings.Contains(msg, fmt.Sprintf("newest is %d", len(all))) {
				t.Fatalf("error %q does not name both versions on one line", msg)
			}
		})
	}
}

// 0013 gives every existing federated ID the scope of the object it names:
// a guild's is itself, a channel's or role's or emoji's its guild, a DM
// channel's itself, a message's or attachment's its channel's; users and
// IDs whose object is gone get 0.
func TestFederatedIDScopeFill(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t, dialect, freshPath(t, dialect))
			all, err := migrations.List(dialect)
			if err != nil {
				t.Fatal(err)
			}
			// The schema as it was before the scope, recorded as applied
			// (found by name: the migration may be renumbered).
			scopeAt := 0
			for _, m := range all {
				if strings.HasSuffix(m.Name, "_federated_id_scope") {
					scopeAt = m.Version
				}
			}
			if scopeAt == 0 {
				t.Fatal("no federated_id_scope migration")
			}
			if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,
				name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			for _, m := range all {
				if m.Version >= scopeAt {
					break
				}
				if _, err := db.ExecContext(ctx, m.SQL); err != nil {
					t.Fatalf("%s: %v", m.Name, err)
				}
				if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES ($1, $2, 0)`, m.Version, m.Name); err != nil {
					t.Fatal(err)
				}
			}
			for _, q := range []string{
				`INSERT INTO users (id, username, username_lower, created_at) VALUES (9, 'u', 'u', 0)`,
				`INSERT INTO guilds (id, name, name_lower, owner_id, created_at) VALUES (1, 'g', 'g', 9, 0)`,
				`INSERT INTO channels (id, guild_id, type, name, created_at) VALUES (2, 1, 0, 'c', 0)`,
				`INSERT INTO channels (id, guild_id, type, name, created_at) VALUES (3, NULL, 1, '', 0)`,
				`INSERT INTO roles (id, guild_id, name, created_at) VALUES (4, 1, 'r', 0)`,
				`INSERT INTO emojis (id, guild_id, user_id, name, hash, created_at) VALUES (5, 1, 9, 'e', '', 0)`,
				`INSERT INTO messages (id, channel_id, author_id, created_at) VALUES (6, 2, 9, 0)`,
				`INSERT INTO messages (id, channel_id, author_id, created_at) VALUES (7, 3, 9, 0)`,
				`INSERT INTO attachments (id, message_id, channel_id, filename, hash) VALUES (8, 6, 2, 'f', '')`,
			} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			for id := 1; id <= 10; id++ {
				if _, err := db.ExecContext(ctx, `INSERT INTO federated_ids (origin, origin_id, local_id) VALUES ('a.example', $1, $2)`,
					fmt.Sprint(id), id); err != nil {
					t.Fatal(err)
				}
			}
			if applied, err := migrations.Apply(ctx, db, dialect); err != nil || len(applied) != len(all)-scopeAt+1 {
				t.Fatalf("Apply = %v, %v", applied, err)
			}
			want := map[int64]int64{1: 1, 2: 1, 3: 3, 4: 1, 5: 1, 6: 1, 7: 3, 8: 1, 9: 0, 10: 0}
			rows, err := db.QueryContext(ctx, `SELECT local_id, scope FROM federated_ids`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			got := map[int64]int64{}
			for rows.Next() {
				var id, scope int64
				if err := rows.Scan(&id, &scope); err != nil {
					t.Fatal(err)
				}
				got[id] = scope
			}
			if err := rows.Err(); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("scopes = %v (%v), want %v", got, err, want)
			}
		})
	}
}
