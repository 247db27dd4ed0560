package storagetest

import (
	"context"
	"errors"
	"testing"

	"hearth/storage"
)

// testBridge: a Discord object maps to one local object, both ways; a
// second mapping of the same object conflicts and leaves the first; a
// split message's parts are listed in Discord's order and one part's
// mapping can be deleted; named
// values are replaced in place, listed by prefix (a prefix with pattern
// characters matches only itself) and deleted.
func testBridge(t *testing.T, s storage.Store) {
	ctx := context.Background()
	update(t, s, func(tx storage.Tx) error {
		if err := tx.AddBridgeID(ctx, "message", "1001", 11); err != nil {
			return err
		}
		return tx.AddBridgeID(ctx, "user", "1001", 12)
	})
	err := s.Update(ctx, func(tx storage.Tx) error { return tx.AddBridgeID(ctx, "message", "1001", 13) })
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("second mapping of one message = %v, want ErrConflict", err)
	}
	if id, err := s.BridgeID(ctx, "message", "1001"); err != nil || id != 11 {
		t.Fatalf("BridgeID(message, 1001) = %v, %v; want 11", id, err)
	}
	if id, err := s.BridgeID(ctx, "user", "1001"); err != nil || id != 12 {
		t.Fatalf("BridgeID(user, 1001) = %v, %v; want 12", id, err)
	}
	if r, err := s.BridgeRemote(ctx, "message", 11); err != nil || r != "1001" {
		t.Fatalf("BridgeRemote(message, 11) = %q, %v", r, err)
	}
	// Three parts of one message, the first with the shortest ID: listed
	// in Discord's (numeric) order, and the first is the one BridgeRemote
	// names.
	update(t, s, func(tx storage.Tx) error {
		for _, id := range []string{"10000", "9999", "10001"} {
			if err := tx.AddBridgeID(ctx, "relayed", id, 20); err != nil {
				return err
			}
		}
		return nil
	})
	if parts, err := s.BridgeRemotes(ctx, "relayed", 20); err != nil || len(parts) != 3 || parts[0] != "9999" || parts[1] != "10000" || parts[2] != "10001" {
		t.Fatalf("BridgeRemotes = %q, %v", parts, err)
	}
	if r, err := s.BridgeRemote(ctx, "relayed", 20); err != nil || r != "9999" {
		t.Fatalf("BridgeRemote of a split message = %q, %v", r, err)
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.DeleteBridgeID(ctx, "relayed", "10000"); err != nil {
			return err
		}
		return tx.DeleteBridgeID(ctx, "relayed", "never-mapped")
	})
	if parts, err := s.BridgeRemotes(ctx, "relayed", 20); err != nil || len(parts) != 2 || parts[1] != "10001" {
		t.Fatalf("BridgeRemotes after a delete = %q, %v", parts, err)
	}
	if _, err := s.BridgeID(ctx, "relayed", "10000"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a deleted mapping = %v", err)
	}
	if parts, err := s.BridgeRemotes(ctx, "relayed", 21); err != nil || len(parts) != 0 {
		t.Fatalf("BridgeRemotes of nothing = %q, %v", parts, err)
	}
	if _, err := s.BridgeRemote(ctx, "message", 12); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("BridgeRemote of an unmapped local object = %v", err)
	}
	if _, err := s.BridgeID(ctx, "message", "1002"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("BridgeID of an unmapped object = %v", err)
	}

	update(t, s, func(tx storage.Tx) error {
		for _, kv := range [][2]string{{"link:1", "a"}, {"link:2", "b"}, {"links", "c"}, {"l%nk:3", "d"}, {"cursor:1", "5"}} {
			if err := tx.SetBridgeValue(ctx, kv[0], kv[1], at(t0)); err != nil {
				return err
			}
		}
		return tx.SetBridgeValue(ctx, "link:2", "B", at(t0+1))
	})
	vs, err := s.BridgeValues(ctx, "link:")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Key != "link:1" || vs[0].Value != "a" || vs[1].Key != "link:2" || vs[1].Value != "B" ||
		!vs[1].UpdatedAt.Equal(at(t0+1)) {
		t.Fatalf("BridgeValues(link:) = %+v", vs)
	}
	if vs, err := s.BridgeValues(ctx, "l%"); err != nil || len(vs) != 1 || vs[0].Key != "l%nk:3" {
		t.Fatalf("BridgeValues(l%%) = %+v, %v", vs, err)
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.DeleteBridgeValue(ctx, "link:1"); err != nil {
			return err
		}
		return tx.DeleteBridgeValue(ctx, "never-set")
	})
	if _, err := s.BridgeValue(ctx, "link:1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("deleted value = %v", err)
	}
	if v, err := s.BridgeValue(ctx, "cursor:1"); err != nil || v != "5" {
		t.Fatalf("BridgeValue(cursor:1) = %q, %v", v, err)
	}
}
