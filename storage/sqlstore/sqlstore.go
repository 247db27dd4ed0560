// Package sqlstore implements storage.Store over database/sql for both
// dialects. The SQL is hand-written; where SQLite and PostgreSQL differ the
// query text is chosen per dialect, and both accept $N placeholders, so most
// queries are shared. The dialect packages (storage/sqlite, storage/postgres)
// open the pools, apply the migrations and hand them here.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"hearth/storage"
)

// Dialect is what differs between the databases beyond the SQL text.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// IsConflict reports a unique-constraint violation.
	IsConflict func(error) bool
	// IsRetryable reports a serialisation failure or deadlock after which
	// the whole transaction may be run again.
	IsRetryable func(error) bool
	// IsDangling reports a foreign-key violation.
	IsDangling func(error) bool
	// IsFull reports that the database's disk has no room left.
	IsFull func(error) bool
	// MaxRows bounds the rows of one multi-row INSERT; 0 means 16. The
	// SQLite driver's binding cost grows faster than the number of
	// parameters (1,000 rows bind 35 times slower per row than 16), while
	// PostgreSQL gains from larger statements.
	MaxRows int
}

func (d Dialect) maxRows() int {
	if d.MaxRows > 0 {
		return d.MaxRows
	}
	return 16
}

// Store is the shared implementation of storage.Store.
type Store struct {
	reader
	d      Dialect
	writer *sql.DB
	read   *sql.DB
}

var _ storage.Store = (*Store)(nil)

// New wraps open pools. Writes go to writer; reads outside transactions go
// to read, which may be the same pool. SQLite gets a one-connection writer
// so that write transactions queue in Go rather than spin on SQLITE_BUSY.
func New(d Dialect, writer, read *sql.DB) *Store {
	return &Store{reader: reader{q: read, d: d}, d: d, writer: writer, read: read}
}

// maxAttempts bounds how often Update reruns a transaction that the database
// aborted as a serialisation failure.
const maxAttempts = 5

// Update implements storage.Store.
func (s *Store) Update(ctx context.Context, fn func(tx storage.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		err = s.full(s.update(ctx, fn))
		if err == nil || !s.d.IsRetryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt) * 5 * time.Millisecond)
	}
	return err
}

// full marks err as storage.ErrFull when the database says its disk is
// full. A full disk may surface at any statement of a transaction or at
// its commit, whichever first needs a new page, so every write's error
// passes here once rather than each statement's.
func (s *Store) full(err error) error {
	if err == nil || s.d.IsFull == nil || errors.Is(err, storage.ErrFull) || !s.d.IsFull(err) {
		return err
	}
	return fmt.Errorf("%w: %w", storage.ErrFull, err)
}

// commitTimeout bounds a commit, which ctx no longer does (see update);
// the rest of a transaction is bounded by its statements' contexts.
const commitTimeout = 30 * time.Second

// update runs one attempt. ctx bounds the wait for the writer connection
// and every statement fn runs with it, and is checked once more before the
// commit; the commit itself runs to its end whatever becomes of ctx. So
// the caller always learns whether its transaction committed: a driver
// that watches the transaction's context (pgx does, through COMMIT) would
// otherwise report a failure for a commit that the server carried out as
// ctx ended, and a caller with a deadline (an act's origin) would tell
// its peer "not done" about a change that is done.
func (s *Store) update(ctx context.Context, fn func(tx storage.Tx) error) error {
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	// database/sql ends a transaction when the context it began with ends,
	// COMMIT included: so that context is ctx without its end, cut only
	// if the commit itself hangs.
	txCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	sqlTx, err := conn.BeginTx(txCtx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	err = fn(&tx{reader: reader{q: sqlTx, d: s.d}})
	if err == nil {
		err = live(ctx)
	}
	if err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	hung := time.AfterFunc(commitTimeout, cancel)
	err = sqlTx.Commit()
	hung.Stop()
	if err != nil {
		// A deferred foreign key fails here.
		return reader{d: s.d}.wrap("commit", err)
	}
	return nil
}

// live fails once ctx has ended, or once its deadline is past by the clock
// (a context learns of its deadline from a timer, which may not have run).
func live(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("before commit: %w", err)
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return fmt.Errorf("before commit: %w", context.DeadlineExceeded)
	}
	return nil
}

// Ping implements storage.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.writer.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Pools implements storage.Store.
func (s *Store) Pools() map[string]*sql.DB {
	if s.read == s.writer {
		return map[string]*sql.DB{"main": s.writer}
	}
	return map[string]*sql.DB{"write": s.writer, "read": s.read}
}

// Dialect implements storage.Store.
func (s *Store) Dialect() string { return s.d.Name }

// Close implements storage.Store.
func (s *Store) Close() error {
	err := s.writer.Close()
	if s.read != s.writer {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// queryer is what *sql.DB and *sql.Tx have in common.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader implements storage.Reader on a pool or a transaction.
type reader struct {
	q queryer
	d Dialect
}

// tx implements storage.Tx.
type tx struct {
	reader
}

// wrap names the operation and turns "no rows" and unique violations into
// storage.ErrNotFound and storage.ErrConflict.
func (r reader) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", op, storage.ErrNotFound)
	case r.d.IsConflict(err):
		return fmt.Errorf("%s: %w: %w", op, storage.ErrConflict, err)
	case r.d.IsDangling != nil && r.d.IsDangling(err):
		return fmt.Errorf("%s: %w: %w", op, storage.ErrDangling, err)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullString stores "" as NULL, for columns where NULL means absent.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// scopeCond is the condition that keeps a statement within s, with its one
// argument to bind as $n. guildCol is the row's guild column and chanCol its
// channel column, "" for a table of guild objects only, which no DM scope
// reaches. The condition is a WHERE clause rather than a read before the
// write, so that scoping costs no round trip: an object outside s is simply
// not matched, as if it did not exist.
func scopeCond(s storage.Scope, guildCol, chanCol string, n int) (string, any) {
	switch {
	case s.GuildID != 0:
		return fmt.Sprintf("%s = $%d", guildCol, n), int64(s.GuildID)
	case chanCol == "":
		// No object has the ID 0, so this matches nothing; the argument
		// is still bound, so that the placeholders keep their numbers.
		return fmt.Sprintf("%s = $%d", guildCol, n), int64(0)
	default:
		// A DM channel's rows have no guild: the NULL test keeps a DM
		// scope naming a guild channel from reaching it.
		return fmt.Sprintf("(%s IS NULL AND %s = $%d)", guildCol, chanCol, n), int64(s.ChannelID)
	}
}
