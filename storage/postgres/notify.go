package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The announcements of one homeserver go on one channel. A database may
// hold several homeservers in schemas of their own (tests do), and a
// channel spans the database, so a schema other than public names its own.
const channelBase = "hearth_log"

// channelOf is the notification channel of the schema the store uses.
func channelOf(ctx context.Context, conn interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (string, error) {
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", fmt.Errorf("postgres: current schema: %w", err)
	}
	if schema == "public" {
		return channelBase, nil
	}
	return channelBase + "_" + schema, nil
}

// Notify implements storage.Broadcast. It queries through database/sql,
// as every other query does: the pool under it is database/sql's, which
// keeps its connections, idle ones too, so a query straight on the pool
// found none left under load and waited until its deadline (announcements
// then came only from the look at the heads, seconds late).
func (s *Store) Notify(ctx context.Context, payload string) error {
	if _, err := s.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, s.channel, payload); err != nil {
		return fmt.Errorf("postgres: notify: %w", err)
	}
	return nil
}

// Listen implements storage.Broadcast. It holds a connection of its own,
// outside the pool: a LISTEN lasts as long as its session, and a pooled
// connection would be handed to queries meanwhile.
func (s *Store) Listen(ctx context.Context, connected func(), got func(payload string)) error {
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, connected, got)
		if ctx.Err() != nil {
			break
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
		if s.log != nil {
			s.log.Warn("postgres: listening for other processes' commits failed; reconnecting", "in", backoff, "err", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	return ctx.Err()
}

// listenOnce connects, listens and receives until the connection fails
// or ctx ends.
func (s *Store) listenOnce(ctx context.Context, connected func(), got func(payload string)) error {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	conn, err := pgx.ConnectConfig(cctx, s.pool.Config().ConnConfig.Copy())
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		got(n.Payload)
	}
}
