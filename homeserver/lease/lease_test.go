package lease_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"hearth/homeserver/lease"
	"hearth/storage/sqlite"
)

// TestKeeperHandsOverOnStop: a lease has one holder among the keepers
// sharing a database; a keeper that stops gives its leases up, and another
// takes them at once, without waiting for them to expire.
func TestKeeperHandsOverOnStop(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hearth.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Leases far longer than the test: nothing expires by itself.
	a := lease.New(st, "a", time.Hour, time.Hour, nil)
	b := lease.New(st, "b", time.Hour, time.Hour, nil)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.Run(runCtx) }() // owned by the test: stopped below

	if !a.Hold(ctx, "federation/peer") {
		t.Fatal("a could not take a free lease")
	}
	if b.Hold(ctx, "federation/peer") {
		t.Fatal("b took a lease a holds")
	}
	if !a.Hold(ctx, "federation/peer") {
		t.Fatal("a lost its lease")
	}
	if !b.Hold(ctx, "maintenance") {
		t.Fatal("b could not take another lease")
	}
	stop()
	<-done
	if !b.Hold(ctx, "federation/peer") {
		t.Fatal("b could not take the lease a gave up as it stopped")
	}
	if a.Hold(ctx, "maintenance") {
		t.Fatal("a took b's lease")
	}
}
