package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// testLeases: a named lease has one holder until it expires or is given
// up, and only then passes to another.
func testLeases(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now()
	const ttl = 10 * time.Second
	take := func(holder string, at time.Time) bool {
		t.Helper()
		ok, err := s.TakeLease(ctx, "federation/peer.example", holder, at, ttl)
		if err != nil {
			t.Fatalf("take lease for %s: %v", holder, err)
		}
		return ok
	}
	if !take("a", now) {
		t.Fatal("a free lease was not taken")
	}
	if take("b", now.Add(ttl/2)) {
		t.Fatal("b took a's lease before it expired")
	}
	if !take("a", now.Add(ttl/2)) {
		t.Fatal("a could not renew its own lease")
	}
	// Renewed at ttl/2: still a's at ttl, b's once ttl/2 + ttl has passed.
	if take("b", now.Add(ttl)) {
		t.Fatal("b took a lease a had renewed")
	}
	if !take("b", now.Add(ttl/2+ttl)) {
		t.Fatal("b could not take a's expired lease")
	}
	if take("a", now.Add(ttl/2+ttl)) {
		t.Fatal("a took back the lease b holds")
	}
	// A release by a non-holder changes nothing; the holder's frees it.
	if err := s.ReleaseLease(ctx, "federation/peer.example", "a"); err != nil {
		t.Fatal(err)
	}
	if take("a", now.Add(ttl/2+ttl)) {
		t.Fatal("a's release freed b's lease")
	}
	if err := s.ReleaseLease(ctx, "federation/peer.example", "b"); err != nil {
		t.Fatal(err)
	}
	if !take("a", now.Add(ttl/2+ttl)) {
		t.Fatal("a released lease could not be taken")
	}
	// Names are independent.
	if ok, err := s.TakeLease(ctx, "maintenance", "b", now, ttl); err != nil || !ok {
		t.Fatalf("another name: %v %v", ok, err)
	}
}

// testNodeLeases: live processes never share a snowflake node, and a dead
// one's node is taken once its lease has expired.
func testNodeLeases(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now()
	const ttl = 10 * time.Second
	seen := map[uint16]string{}
	for _, h := range []string{"p1", "p2", "p3", "p4", "p5"} {
		n, err := s.TakeNode(ctx, h, now, ttl)
		if err != nil {
			t.Fatalf("take node for %s: %v", h, err)
		}
		if n >= snowflake.BackfillNode {
			t.Fatalf("%s got node %d, which is not a live node", h, n)
		}
		if other, dup := seen[n]; dup {
			t.Fatalf("%s and %s were both given node %d", h, other, n)
		}
		seen[n] = h
	}
	var p1 uint16
	for n, h := range seen {
		if h == "p1" {
			p1 = n
		}
	}
	if ok, err := s.RenewNode(ctx, p1, "p1", now.Add(ttl/2), ttl); err != nil || !ok {
		t.Fatalf("p1 renews its node: %v %v", ok, err)
	}
	if ok, err := s.RenewNode(ctx, p1, "p2", now.Add(ttl/2), ttl); err != nil || ok {
		t.Fatalf("p2 renewed p1's node: %v %v", ok, err)
	}
	// Long after every lease expired, all nodes are free again; p1's is
	// among them and renewing it fails once another has it.
	later := now.Add(10 * ttl)
	taken := 0
	for {
		n, err := s.TakeNode(ctx, "late", later, ttl)
		if errors.Is(err, storage.ErrConflict) {
			break
		}
		if err != nil {
			t.Fatalf("take node %d: %v", taken, err)
		}
		taken++
		if taken > int(snowflake.BackfillNode) {
			t.Fatalf("more than %d nodes handed out", snowflake.BackfillNode)
		}
		_ = n
	}
	if taken != int(snowflake.BackfillNode) {
		t.Fatalf("%d nodes could be taken after every lease expired, want %d", taken, snowflake.BackfillNode)
	}
	if ok, err := s.RenewNode(ctx, p1, "p1", later, ttl); err != nil || ok {
		t.Fatalf("p1 renewed a node another took after its lease expired: %v %v", ok, err)
	}
	if err := s.ReleaseNode(ctx, p1, "late"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.TakeNode(ctx, "p6", later, ttl); err != nil || n != p1 {
		t.Fatalf("after its release node %d should be the one free, got %d (%v)", p1, n, err)
	}
}

// testLogHeads: every log's head is listed.
func testLogHeads(t *testing.T, s storage.Store) {
	a, b := ids.Next(), ids.Next()
	appendN(t, s, a, 3)
	appendN(t, s, b, 1)
	heads, err := s.LogHeads(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if heads[a] != 3 || heads[b] != 1 {
		t.Fatalf("heads %d and %d, want 3 and 1", heads[a], heads[b])
	}
}
