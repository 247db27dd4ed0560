package storagetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"hearth/snowflake"
	"hearth/storage"
)

func testFederatedIDs(t *testing.T, s storage.Store) {
	ctx := context.Background()
	a, b, scope := ids.Next(), ids.Next(), ids.Next()
	ga := storage.GlobalID{Origin: "a.example", OriginID: "111"}
	gb := storage.GlobalID{Origin: "b.example", OriginID: "111"}
	ma, mb := storage.Mapping{Local: a, Scope: scope}, storage.Mapping{Local: b}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.MapFederatedID(ctx, ga, ma); err != nil {
			return err
		}
		return tx.MapFederatedID(ctx, gb, mb)
	})
	// The scope comes back with the snowflake: it is what a replica
	// checks an origin's IDs against.
	if got, err := s.FederatedID(ctx, "a.example", "111"); err != nil || got != ma {
		t.Fatalf("FederatedID(a) = %v, %v; want %v", got, err, ma)
	}
	if _, err := s.FederatedID(ctx, "c.example", "111"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("FederatedID(unknown) err = %v, want ErrNotFound", err)
	}
	many, err := s.FederatedIDs(ctx, []storage.GlobalID{ga, gb, {Origin: "c.example", OriginID: "9"}})
	if err != nil || !reflect.DeepEqual(many, map[storage.GlobalID]storage.Mapping{ga: ma, gb: mb}) {
		t.Fatalf("FederatedIDs = %v, %v", many, err)
	}
	batch := map[storage.GlobalID]storage.Mapping{}
	for i := range 150 {
		m := storage.Mapping{Local: ids.Next()}
		if i%2 == 0 {
			m.Scope = scope
		}
		batch[storage.GlobalID{Origin: "d.example", OriginID: fmt.Sprint(i)}] = m
	}
	update(t, s, func(tx storage.Tx) error { return tx.MapFederatedIDs(ctx, batch) })
	keys := make([]storage.GlobalID, 0, len(batch))
	for g := range batch {
		keys = append(keys, g)
	}
	if got, err := s.FederatedIDs(ctx, keys); err != nil || !reflect.DeepEqual(got, batch) {
		t.Fatalf("FederatedIDs after MapFederatedIDs: %d of %d, %v", len(got), len(batch), err)
	}
	local := ids.Next()
	got, err := s.FederatedOrigins(ctx, []snowflake.ID{a, b, local})
	want := map[snowflake.ID]storage.GlobalID{a: ga, b: gb}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("FederatedOrigins = %v, %v; want %v", got, err, want)
	}
	for _, tc := range []struct {
		g  storage.GlobalID
		id snowflake.ID
	}{{ga, ids.Next()}, {storage.GlobalID{Origin: "c.example", OriginID: "1"}, a}} {
		if err := s.Update(ctx, func(tx storage.Tx) error { return tx.MapFederatedID(ctx, tc.g, storage.Mapping{Local: tc.id}) }); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("MapFederatedID(%v, %v) err = %v, want ErrConflict", tc.g, tc.id, err)
		}
	}
}

func testDeliveryCursors(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g1, g2 := ids.Next(), ids.Next()
	update(t, s, func(tx storage.Tx) error {
		for _, c := range []storage.Cursor{{Peer: "b", LogID: g1, Seq: 3}, {Peer: "a", LogID: g2, Seq: 1}, {Peer: "b", LogID: g1, Seq: 7}} {
			if err := tx.SetDeliveryCursor(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.DeliveryCursors(ctx)
	want := []storage.Cursor{{Peer: "a", LogID: g2, Seq: 1}, {Peer: "b", LogID: g1, Seq: 7}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("DeliveryCursors = %v, %v; want %v", got, err, want)
	}
	if c, err := s.DeliveryCursor(ctx, "b", g1); err != nil || c.Seq != 7 {
		t.Fatalf("DeliveryCursor = %v, %v", c, err)
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.DeleteDeliveryCursor(ctx, "b", g1); err != nil {
			return err
		}
		return tx.DeleteDeliveryCursor(ctx, "nobody", g1)
	})
	if _, err := s.DeliveryCursor(ctx, "b", g1); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("deleted cursor err = %v, want ErrNotFound", err)
	}

	r := storage.Replica{LogID: g1, Origin: "a.example", Seq: 5}
	update(t, s, func(tx storage.Tx) error { return tx.SetReplica(ctx, r) })
	r.Seq = 9
	update(t, s, func(tx storage.Tx) error { return tx.SetReplica(ctx, r) })
	if got, err := s.Replica(ctx, g1); err != nil || got != r {
		t.Fatalf("Replica = %v, %v; want %v", got, err, r)
	}
	if all, err := s.Replicas(ctx); err != nil || !reflect.DeepEqual(all, []storage.Replica{r}) {
		t.Fatalf("Replicas = %v, %v", all, err)
	}
	if _, err := s.HistoryFloor(ctx, g1); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("HistoryFloor before = %v", err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.SetHistoryFloor(ctx, g1, 42) })
	if f, err := s.HistoryFloor(ctx, g1); err != nil || f != 42 {
		t.Fatalf("HistoryFloor = %v, %v", f, err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteHistoryFloor(ctx, g1) })
	update(t, s, func(tx storage.Tx) error { return tx.DeleteHistoryFloor(ctx, g1) })
	if _, err := s.HistoryFloor(ctx, g1); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("HistoryFloor after delete = %v", err)
	}
	if _, err := s.Replica(ctx, g2); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Replica(not one) err = %v", err)
	}
}

func testMemberOrigins(t *testing.T, s storage.Store) {
	ctx := context.Background()
	owner := newUser("owner")
	r1, r2, r3 := newUser("x"), newUser("y"), newUser("z")
	r1.Origin, r1.OriginID = "b.example", "1"
	r2.Origin, r2.OriginID = "b.example", "2"
	r3.Origin, r3.OriginID = "a.example", "1"
	g := storage.Guild{ID: ids.Next(), Name: "g", OwnerID: owner.ID}
	update(t, s, func(tx storage.Tx) error {
		for _, u := range []storage.User{owner, r1, r2, r3} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		if err := tx.CreateGuild(ctx, g); err != nil {
			return err
		}
		for _, u := range []storage.User{owner, r1, r2, r3} {
			if err := tx.AddMember(ctx, storage.Member{GuildID: g.ID, UserID: u.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.MemberOrigins(ctx, g.ID)
	if err != nil || !reflect.DeepEqual(got, []string{"a.example", "b.example"}) {
		t.Fatalf("MemberOrigins = %v, %v", got, err)
	}
	bs, err := s.OriginMembers(ctx, g.ID, "b.example")
	if err != nil || !reflect.DeepEqual(bs, []snowflake.ID{r1.ID, r2.ID}) {
		t.Fatalf("OriginMembers = %v, %v; want %v", bs, err, []snowflake.ID{r1.ID, r2.ID})
	}
}
