// Package pgscale measures the PostgreSQL primitives that bound several
// homeserver processes on one database (docs/scaling.md): how many
// NOTIFYs a second reach a listener, and how fast one log's head row
// (log_heads, the row every append to a log locks) can move, against a
// bare round trip measured in the same run. Run with
//
//	HEARTH_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test ./bench/pgscale -run '^$' -bench . -benchtime 3s -count 3
package pgscale

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hearth/storage/storagetest"
)

// writers is how many connections write at once: a homeserver's pool
// holds about this many busy connections under a send burst.
const writers = 16

func pool(b *testing.B) (*pgxpool.Pool, string) {
	b.Helper()
	url := storagetest.PostgresURL(b)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = writers + 2
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	if _, err := p.Exec(context.Background(), `CREATE TABLE log_heads (log_id BIGINT PRIMARY KEY, seq BIGINT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	return p, url
}

// parallel runs op b.N times over writers goroutines and reports op/s.
func parallel(b *testing.B, op func(ctx context.Context, worker int) error) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var worker atomic.Int64
	b.SetParallelism((writers + 1) / 2) // GOMAXPROCS is 2 here
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		w := int(worker.Add(1))
		for pb.Next() {
			next.Add(1)
			if err := op(ctx, w); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(next.Load())/time.Since(start).Seconds(), "ops/s")
}

// BenchmarkRoundTrip is the baseline: SELECT 1 from writers connections.
func BenchmarkRoundTrip(b *testing.B) {
	p, _ := pool(b)
	parallel(b, func(ctx context.Context, _ int) error {
		_, err := p.Exec(ctx, `SELECT 1`)
		return err
	})
}

// BenchmarkHeadRow moves log heads as an append does (the upsert
// storage/sqlstore/events.go runs), each in its own committed
// transaction: "one" is every writer on one log (one guild's channel),
// where the row lock serialises the commits; "spread" gives each writer
// its own log.
func BenchmarkHeadRow(b *testing.B) {
	for _, c := range []struct {
		name string
		log  func(worker int) int64
	}{
		{"one", func(int) int64 { return 1 }},
		{"spread", func(w int) int64 { return int64(w) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			p, _ := pool(b)
			parallel(b, func(ctx context.Context, w int) error {
				var seq int64
				return p.QueryRow(ctx, `INSERT INTO log_heads (log_id, seq) VALUES ($1, 1)
					ON CONFLICT (log_id) DO UPDATE SET seq = log_heads.seq + 1 RETURNING seq`, c.log(w)).Scan(&seq)
			})
		})
	}
}

// BenchmarkNotify sends NOTIFYs carrying what a cross-process bus would
// carry (a log ID and a position, never a payload) and counts them at one
// listening connection, as another process would: ops/s is the senders'
// rate, delivered/s the listener's, the run ending when the listener has
// them all. "alone" is a bare pg_notify per transaction; "in-write"
// moves a head row and notifies in one transaction (PostgreSQL then
// serialises the commits of notifying transactions, fsync included);
// "after-commit" moves the head row, commits, then notifies in a
// transaction of its own that writes nothing.
func BenchmarkNotify(b *testing.B) {
	for _, c := range []struct{ name, mode string }{{"alone", "alone"}, {"in-write", "in"}, {"after-commit", "after"}} {
		b.Run(c.name, func(b *testing.B) {
			p, url := pool(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			listener, err := pgx.Connect(ctx, url)
			if err != nil {
				b.Fatal(err)
			}
			defer listener.Close(context.Background())
			if _, err := listener.Exec(ctx, `LISTEN hearth_bench`); err != nil {
				b.Fatal(err)
			}
			var got atomic.Int64
			done := make(chan struct{})
			go func() { // owned here: ends when ctx is cancelled
				defer close(done)
				for {
					if _, err := listener.WaitForNotification(ctx); err != nil {
						return
					}
					got.Add(1)
				}
			}()
			start := time.Now()
			parallel(b, func(ctx context.Context, w int) error {
				switch c.mode {
				case "alone":
					_, err := p.Exec(ctx, `SELECT pg_notify('hearth_bench', $1)`, fmt.Sprint(w, ":", time.Now().UnixNano()))
					return err
				case "after":
					var seq int64
					if err := p.QueryRow(ctx, `INSERT INTO log_heads (log_id, seq) VALUES ($1, 1)
						ON CONFLICT (log_id) DO UPDATE SET seq = log_heads.seq + 1 RETURNING seq`, int64(w)).Scan(&seq); err != nil {
						return err
					}
					_, err := p.Exec(ctx, `SELECT pg_notify('hearth_bench', $1)`, fmt.Sprint(w, ":", seq))
					return err
				}
				return pgx.BeginFunc(ctx, p, func(tx pgx.Tx) error {
					var seq int64
					if err := tx.QueryRow(ctx, `INSERT INTO log_heads (log_id, seq) VALUES ($1, 1)
						ON CONFLICT (log_id) DO UPDATE SET seq = log_heads.seq + 1 RETURNING seq`, int64(w)).Scan(&seq); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, `SELECT pg_notify('hearth_bench', $1)`, fmt.Sprint(w, ":", seq))
					return err
				})
			})
			want := int64(b.N)
			deadline := time.Now().Add(2 * time.Minute)
			for got.Load() < want && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(got.Load())/time.Since(start).Seconds(), "delivered/s")
			if got.Load() < want {
				b.Errorf("listener got %d of %d notifications", got.Load(), want)
			}
			cancel()
			<-done
		})
	}
}
