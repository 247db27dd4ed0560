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
	if n := b.Takeovers()["federation"]; n != 0 {
		t.Fatalf("b counts %d take-overs before taking anything of a's", n)
	}
	stop()
	<-done
	if !b.Hold(ctx, "federation/peer") {
		t.Fatal("b could not take the lease a gave up as it stopped")
	}
	// What b found held by a, and took once a gave it up, is a take-over;
	// the lease it took free is not.
	if got := b.Takeovers(); got["federation"] != 1 || got["maintenance"] != 0 {
		t.Fatalf("b's take-overs %v, want federation 1 and maintenance 0", got)
	}
	if got := b.Held(); got["federation"] != 1 || got["maintenance"] != 1 {
		t.Fatalf("b holds %v, want federation 1 and maintenance 1", got)
	}
	if got := a.Held(); len(got) != 0 {
		t.Fatalf("a, stopped, holds %v", got)
	}
	if a.Hold(ctx, "maintenance") {
		t.Fatal("a took b's lease")
	}
}
