// Package storagetest is the conformance suite every storage implementation
// passes, and the helpers that give a test a fresh database of each dialect.
package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver for schema set-up
)

// DefaultPostgresURL is where tests look for PostgreSQL when
// HEARTH_TEST_POSTGRES does not name a URL.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns the URL of a fresh, empty schema for one test, dropped
// when the test ends. When HEARTH_TEST_POSTGRES is set (to a URL, or to
// anything else for the default one) PostgreSQL must be reachable and the
// test fails if it is not; otherwise an unreachable server skips the test
// with a message saying so.
func PostgresURL(t testing.TB) string {
	t.Helper()
	env := os.Getenv("HEARTH_TEST_POSTGRES")
	base := DefaultPostgresURL
	if strings.HasPrefix(env, "postgres://") || strings.HasPrefix(env, "postgresql://") {
		base = env
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", base)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		if env != "" {
			t.Fatalf("HEARTH_TEST_POSTGRES is set but PostgreSQL at %s is not reachable: %v", redact(base), err)
		}
		t.Skipf("PostgreSQL half skipped: %s is not reachable (%v); set HEARTH_TEST_POSTGRES to require it", redact(base), err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "hearth_test_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("drop test schema %s: %v", schema, err)
		}
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", redact(base), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Name gives a test a short unique suffix, for names that must not collide
// across runs sharing a database.
func Name(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s%s", prefix, hex.EncodeToString(b[:]))
}
