package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"

	"modernc.org/sqlite"
)

// backuper is what modernc.org/sqlite's connections offer for SQLite's
// online backup API (sqlite3_backup_*).
type backuper interface {
	NewBackup(dstURI string) (*sqlite.Backup, error)
}

// Backup copies the database at src into a new file dst through SQLite's
// online backup API, while other connections and processes keep reading
// and writing src. The copy is one consistent snapshot: all its pages are
// copied in one step under one read transaction, which in WAL mode never
// blocks the writer, so it holds every transaction committed before the
// step began and none in part.
func Backup(ctx context.Context, src, dst string) (err error) {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("sqlite: backup: %s exists already", dst)
	}
	db, err := sql.Open("sqlite", uri(src)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("sqlite: backup: open %s: %w", src, err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: backup: open %s: %w", src, err)
	}
	defer conn.Close()
	defer func() {
		if err != nil {
			os.Remove(dst)
		}
	}()
	return conn.Raw(func(dc any) error {
		b, ok := dc.(backuper)
		if !ok {
			return errors.New("sqlite: backup: the driver offers no online backup")
		}
		bk, err := b.NewBackup(uri(dst))
		if err != nil {
			return fmt.Errorf("sqlite: backup to %s: %w", dst, err)
		}
		_, stepErr := bk.Step(-1)
		if err := errors.Join(stepErr, bk.Finish()); err != nil {
			return fmt.Errorf("sqlite: backup to %s: %w", dst, err)
		}
		return nil
	})
}

func uri(path string) string { return "file:" + (&url.URL{Path: path}).EscapedPath() }

// SkipLogSeqs moves the head of every log in the database file at path n
// sequence numbers on, so that the next event of each is numbered past
// anything a copy restored from a backup may have handed out before it was
// lost (spec/federation.md §9.4, "A server restored from a backup").
func SkipLogSeqs(ctx context.Context, path string, n int64) (err error) {
	db, err := sql.Open("sqlite", uri(path)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("sqlite: close %s: %w", path, cerr)
		}
	}()
	if _, err := db.ExecContext(ctx, `UPDATE log_heads SET seq = seq + ?`, n); err != nil {
		return fmt.Errorf("sqlite: skip log sequence numbers: %w", err)
	}
	// The file may be in WAL mode (the copy keeps the source's header):
	// the update must be in the file itself, since the restore moves that
	// file alone, and a write-ahead log left beside it would be lost.
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("sqlite: checkpoint after the skip: %w", err)
	}
	return nil
}
