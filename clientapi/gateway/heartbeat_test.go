package gateway

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestHeartbeatWatchAlwaysExpires: a silent client is asked once, then
// timed out, whatever the timing of the timer's firings: many watches at
// a tiny interval, none may stall.
func TestHeartbeatWatchAlwaysExpires(t *testing.T) {
	const n = 2000
	var asked, expired atomic.Int64
	watches := make([]*heartbeatWatch, n)
	for i := range watches {
		watches[i] = newHeartbeatWatch(time.Millisecond, func() { asked.Add(1) }, func() { expired.Add(1) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for expired.Load() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if asked.Load() != n || expired.Load() != n {
		t.Fatalf("of %d silent clients, %d were asked and %d timed out", n, asked.Load(), expired.Load())
	}
	for _, w := range watches {
		w.stop()
	}
	// A client that answers each request is never timed out.
	var gone atomic.Bool
	var wp atomic.Pointer[heartbeatWatch]
	wp.Store(newHeartbeatWatch(20*time.Millisecond, func() { go wp.Load().beat() }, func() { gone.Store(true) }))
	time.Sleep(300 * time.Millisecond)
	wp.Load().stop()
	if gone.Load() {
		t.Fatal("a client answering every request was timed out")
	}
}
