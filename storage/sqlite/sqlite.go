// Package sqlite opens a homeserver database in an embedded SQLite file
// (modernc.org/sqlite, chosen by the benchmark in docs/benchmarks.md).
//
// It keeps two pools on one file: a single writer connection, so that write
// transactions queue in Go instead of failing with SQLITE_BUSY, and a few
// read-only connections that WAL mode lets read while the writer writes.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"hearth/migrations"
	"hearth/storage/sqlstore"
)

// Open opens (creating if needed) the database file at path, applies the
// migrations it lacks and returns the store.
func Open(ctx context.Context, path string, log *slog.Logger) (*sqlstore.Store, error) {
	base := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)&_txlock=immediate"
	writer, err := sql.Open("sqlite", base)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	applied, err := migrations.Apply(ctx, writer, "sqlite")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if len(applied) > 0 && log != nil {
		log.Info("applied migrations", "database", "sqlite", "migrations", strings.Join(applied, ","))
	}
	reader, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	return sqlstore.New(dialect, writer, reader), nil
}

// dialect describes SQLite's errors to sqlstore.
var dialect = sqlstore.Dialect{
	Name: "sqlite",
	IsConflict: func(err error) bool {
		var e *sqlite.Error
		if errors.As(err, &e) {
			return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
		}
		return false
	},
	IsRetryable: func(err error) bool {
		var e *sqlite.Error
		// BUSY survives the busy timeout only under extreme contention from
		// another process; running the transaction again is then safe.
		return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
	},
	IsDangling: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
	IsFull: func(err error) bool {
		var e *sqlite.Error
		// SQLITE_FULL (13) in any of its extended forms; an I/O error
		// whose cause is ENOSPC (a WAL or shared-memory file that could
		// not grow) is the same condition to the operator.
		return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_FULL || errors.Is(err, syscall.ENOSPC)
	},
}
