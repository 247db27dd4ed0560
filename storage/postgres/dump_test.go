package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"hearth/storage/postgres"
	"hearth/storage/storagetest"
)

// freshDatabase makes an empty database on the test server, dropped when
// the test ends, and returns its URL (no search_path: the public schema,
// as an operator's URL has).
func freshDatabase(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	admin, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	name := storagetest.Name("hearth_dump_")
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop %s: %v", name, err)
		}
		admin.Close()
	})
	u.Path = "/" + name
	return u.String()
}

// TestDumpRestorePublicSchema: a homeserver database in the public schema
// (an operator's URL, with no search_path) goes through pg_dump into an
// empty database, which then holds it; restore refuses a target with
// tables, and a URL naming another schema than the dump's.
func TestDumpRestorePublicSchema(t *testing.T) {
	base := storagetest.PostgresURL(t) // skips, or fails under HEARTH_TEST_POSTGRES, as the suite does
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("HEARTH_TEST_POSTGRES") != "" {
				t.Fatalf("HEARTH_TEST_POSTGRES is set but %s is not on PATH (install postgresql-client)", tool)
			}
			t.Skipf("PostgreSQL half skipped: %s is not on PATH", tool)
		}
	}
	ctx := context.Background()
	src, dst := freshDatabase(t, base), freshDatabase(t, base)
	st, err := postgres.Open(ctx, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	dump := filepath.Join(t.TempDir(), "database.pgdump")
	schema, err := postgres.Dump(ctx, src, dump)
	if err != nil || schema != "" {
		t.Fatalf("dump: schema %q, %v", schema, err)
	}
	if empty, err := postgres.Empty(ctx, dst); err != nil || !empty {
		t.Fatalf("fresh database: empty %v, %v", empty, err)
	}
	if err := postgres.Restore(ctx, dst+"&search_path=other", dump, ""); err == nil || !strings.Contains(err.Error(), "same schema") {
		t.Fatalf("restore into another schema: %v", err)
	}
	if err := postgres.Restore(ctx, dst, dump, ""); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if empty, err := postgres.Empty(ctx, dst); err != nil || empty {
		t.Fatalf("restored database: empty %v, %v", empty, err)
	}
	// The restored database opens with nothing left to migrate.
	st, err = postgres.Open(ctx, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}
