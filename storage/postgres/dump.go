package postgres

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver for the emptiness check
)

// Backups go through the operator's own PostgreSQL tools, found on PATH:
// pg_dump takes one consistent snapshot (a repeatable-read transaction)
// while the homeserver keeps writing, and pg_restore loads it. The dump is
// in pg_dump's custom format, without owners or privileges, so that it
// restores under whichever role the target URL names.

// libpqURL turns a homeserver's database URL into one libpq's tools
// accept, and returns the schema it names: pgx passes unknown query
// parameters (search_path, used by tests to give each its own schema) to
// the server, libpq refuses them.
func libpqURL(raw string) (conn, schema string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("postgres: parse database url: %w", err)
	}
	q := u.Query()
	schema = q.Get("search_path")
	if strings.Contains(schema, ",") {
		return "", "", fmt.Errorf("postgres: a search_path of several schemas (%q) cannot be backed up; name one", schema)
	}
	q.Del("search_path")
	// The password travels in PGPASSWORD (runTool), not on a command
	// line that every user of the machine can read.
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}

// password is the one the URL carries, if any.
func password(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return p
}

// tool finds a PostgreSQL client program on PATH, or says how to get it.
func tool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("postgres: %s not found on PATH: install PostgreSQL's client tools (Debian: apt-get install postgresql-client) at the server's major version or newer: %w", name, err)
	}
	return p, nil
}

// Dump writes the database url names (only its schema when the URL names
// one with search_path) to the file dst with pg_dump, and returns that
// schema ("" for the whole database).
func Dump(ctx context.Context, rawURL, dst string) (string, error) {
	conn, schema, err := libpqURL(rawURL)
	if err != nil {
		return "", err
	}
	pgDump, err := tool("pg_dump")
	if err != nil {
		return "", err
	}
	args := []string{"--format=custom", "--no-owner", "--no-privileges", "--file=" + dst, "--dbname=" + conn}
	if schema != "" {
		args = append(args, "--schema="+schema)
	}
	if err := runTool(ctx, password(rawURL), pgDump, args...); err != nil {
		os.Remove(dst)
		return "", err
	}
	return schema, nil
}

// Empty reports whether the schema the URL names (public when it names
// none) holds no tables: restore goes only into an empty database.
func Empty(ctx context.Context, rawURL string) (bool, error) {
	_, schema, err := libpqURL(rawURL)
	if err != nil {
		return false, err
	}
	if schema == "" {
		schema = "public"
	}
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return false, fmt.Errorf("postgres: connect: %w", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx,
		`SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S')`, schema).Scan(&n); err != nil {
		return false, fmt.Errorf("postgres: look for tables in schema %s: %w", schema, err)
	}
	return n == 0, nil
}

// Restore loads the dump file src, made by Dump of schema, into the
// database url names, in one transaction: a failure leaves the target as
// it was. The target must be empty (Empty) and name the same schema.
func Restore(ctx context.Context, rawURL, src, schema string) error {
	conn, target, err := libpqURL(rawURL)
	if err != nil {
		return err
	}
	if target != schema {
		show := func(s string) string {
			if s == "" {
				return "none (the public schema)"
			}
			return s
		}
		return fmt.Errorf("postgres: the backup holds schema %s but the target URL's search_path names %s; restore into a URL naming the same schema",
			show(schema), show(target))
	}
	pgRestore, err := tool("pg_restore")
	if err != nil {
		return err
	}
	// The table of contents, less the schema's own creation when the
	// schema exists already (an empty schema made for the restore, or
	// public): the rest is the tables, data and indexes.
	var toc bytes.Buffer
	cmd := exec.CommandContext(ctx, pgRestore, "--list", src)
	cmd.Stdout = &toc
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("postgres: pg_restore --list: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	name := schema
	if name == "" {
		name = "public"
	}
	var kept bytes.Buffer
	sc := bufio.NewScanner(&toc)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, " SCHEMA - "+name+" ") || strings.Contains(line, " COMMENT - SCHEMA "+name+" ") {
			continue
		}
		kept.WriteString(line + "\n")
	}
	tmp, err := os.CreateTemp("", "hearth-restore-*.list")
	if err != nil {
		return fmt.Errorf("postgres: restore: %w", err)
	}
	list := tmp.Name()
	defer os.Remove(list)
	_, err = tmp.Write(kept.Bytes())
	if err = errors.Join(err, tmp.Close()); err != nil {
		return fmt.Errorf("postgres: restore: %w", err)
	}
	if schema != "" {
		// The schema, created if missing: pg_restore's list no longer
		// makes it.
		db, err := sql.Open("pgx", rawURL)
		if err != nil {
			return fmt.Errorf("postgres: connect: %w", err)
		}
		_, err = db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS "`+strings.ReplaceAll(schema, `"`, `""`)+`"`)
		db.Close()
		if err != nil {
			return fmt.Errorf("postgres: create schema %s: %w", schema, err)
		}
	}
	return runTool(ctx, password(rawURL), pgRestore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
		"--use-list="+list, "--dbname="+conn, src)
}

// SkipLogSeqs moves the head of every log in the schema the URL names n
// sequence numbers on, so that the next event of each is numbered past
// anything the database restored from a backup may have handed out before
// it was lost (spec/federation.md §9.4, "A server restored from a backup").
func SkipLogSeqs(ctx context.Context, rawURL string, n int64) error {
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `UPDATE log_heads SET seq = seq + $1`, n); err != nil {
		return fmt.Errorf("postgres: skip log sequence numbers: %w", err)
	}
	return nil
}

// runTool runs a PostgreSQL client program; password is the URL's, given
// through the environment.
func runTool(ctx context.Context, password, path string, args ...string) error {
	cmd := exec.CommandContext(ctx, path, args...)
	if password != "" {
		cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			err = errors.Join(err, ctx.Err())
		}
		return fmt.Errorf("postgres: %s: %w: %s", filepath.Base(path), err, msg)
	}
	return nil
}
