package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"hearth/storage"
	"hearth/storage/postgres"
	"hearth/storage/storagetest"
)

// TestNotifyWhenEveryConnectionIsOpen: once the store has opened all its
// connections (16 transactions at once, as a loaded process does), an
// announcement still goes out and is heard. database/sql keeps the
// connections it opened checked out of the pool under it, so a NOTIFY
// straight on the pool waited until its deadline, every time, and other
// processes learnt of commits only from their look at the log heads.
func TestNotifyWhenEveryConnectionIsOpen(t *testing.T) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, storagetest.PostgresURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// Sixteen transactions open at the same time: database/sql opens its
	// whole bound of connections and keeps them, idle, afterwards.
	const open = 16
	var entered sync.WaitGroup
	entered.Add(open)
	all := make(chan struct{})
	go func() { entered.Wait(); close(all) }()
	errs := make(chan error, open)
	for range open {
		go func() {
			errs <- st.Update(ctx, func(tx storage.Tx) error {
				entered.Done()
				<-all
				return nil
			})
		}()
	}
	for range open {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	lctx, stop := context.WithCancel(ctx)
	defer stop()
	listening := make(chan struct{}, 1)
	heard := make(chan string, 1)
	go func() { // owned by this test: ends with lctx
		_ = st.Listen(lctx, func() {
			select {
			case listening <- struct{}{}:
			default:
			}
		}, func(p string) {
			select {
			case heard <- p:
			default:
			}
		})
	}()
	<-listening
	// The deadline is the relay's own for one announcement.
	nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := st.Notify(nctx, "hello"); err != nil {
		t.Fatalf("announcement with every connection open: %v", err)
	}
	select {
	case got := <-heard:
		if got != "hello" {
			t.Fatalf("heard %q, want hello", got)
		}
	case <-time.After(time.Minute):
		t.Fatal("the announcement was sent but never heard")
	}
}
