// Package postgres opens a homeserver database on PostgreSQL through a pgx/v5
// connection pool, exposed to the shared SQL code as database/sql.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"hearth/migrations"
	"hearth/storage"
	"hearth/storage/sqlstore"
)

// Store is the PostgreSQL store; it owns the pgx pool under the sql.DB.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
	// db is the database/sql handle over pool. Everything that queries
	// goes through it: database/sql keeps the connections it opened
	// (idle ones too) checked out of the pool, so once it has opened all
	// of them, a query straight on the pool waits for ever.
	db *sql.DB
	// channel is where commits are announced to the other processes.
	channel string
	log     *slog.Logger
}

var _ storage.Broadcast = (*Store)(nil)

// Open connects to the database at url (postgres://...), applies the
// migrations it lacks and returns the store.
func Open(ctx context.Context, url string, log *slog.Logger) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database url: %w", err)
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	db := stdlib.OpenDBFromPool(pool)
	// database/sql bounded at the pool's size: a query waiting for a
	// connection then waits in database/sql, whose statistics
	// (hearth_db_connections_max, hearth_db_waits_total) show an
	// exhausted pool, instead of inside pgxpool, where no metric sees it.
	db.SetMaxOpenConns(int(cfg.MaxConns))
	db.SetMaxIdleConns(int(cfg.MaxConns))
	applied, err := migrations.Apply(ctx, db, "postgres")
	if err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if len(applied) > 0 && log != nil {
		log.Info("applied migrations", "database", "postgres", "migrations", strings.Join(applied, ","))
	}
	channel, err := channelOf(ctx, pool)
	if err != nil {
		db.Close()
		pool.Close()
		return nil, err
	}
	return &Store{Store: sqlstore.New(dialect, db, db), pool: pool, db: db, channel: channel, log: log}, nil
}

// Close closes the sql.DB and then the pool under it.
func (s *Store) Close() error {
	err := s.Store.Close()
	s.pool.Close()
	return err
}

// dialect describes PostgreSQL's errors to sqlstore.
var dialect = sqlstore.Dialect{
	Name:    "postgres",
	MaxRows: 500,
	IsConflict: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
	IsRetryable: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && (e.Code == "40001" || e.Code == "40P01")
	},
	IsDangling: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23503"
	},
	IsFull: func(err error) bool {
		var e *pgconn.PgError
		// 53100 disk_full; 53400 (configuration limit exceeded) is not
		// the operator's disk and stays a plain error.
		return errors.As(err, &e) && e.Code == "53100"
	},
}
