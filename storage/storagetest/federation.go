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
	a, b := ids.Next(), ids.Next()
	ga := storage.GlobalID{Origin: "a.example", OriginID: "111"}
	gb := storage.GlobalID{Origin: "b.example", OriginID: "111"}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.MapFederatedID(ctx, ga, a); err != nil {
			return err
		}
		return tx.MapFederatedID(ctx, gb, b)
	})
	if got, err := s.FederatedID(ctx, "a.example", "111"); err != nil || got != a {
		t.Fatalf("FederatedID(a) = %v, %v; want %v", got, err, a)
	}
	if _, err := s.FederatedID(ctx, "c.example", "111"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("FederatedID(unknown) err = %v, want ErrNotFound", err)
	}
	many, err := s.FederatedIDs(ctx, []storage.GlobalID{ga, gb, {Origin: "c.example", OriginID: "9"}})
	if err != nil || !reflect.DeepEqual(many, map[storage.GlobalID]snowflake.ID{ga: a, gb: b}) {
		t.Fatalf("FederatedIDs = %v, %v", many, err)
	}
	batch := map[storage.GlobalID]snowflake.ID{}
	for i := range 150 {
		batch[storage.GlobalID{Origin: "d.example", OriginID: fmt.Sprint(i)}] = ids.Next()
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
		if err := s.Update(ctx, func(tx storage.Tx) error { return tx.MapFederatedID(ctx, tc.g, tc.id) }); !errors.Is(err, storage.ErrConflict) {
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

// A message named by a reply before its row arrived moves to the ID it is
// stored under, and the reply follows it; another guild's references to
// the same number stay as they are.
func testRemapFederatedMessage(t *testing.T, s storage.Store) {
	ctx := context.Background()
	g, c, users := messageFixture(t, s, 1)
	other, oc, _ := messageFixture(t, s, 1)
	placeholder, moved := ids.Next(), ids.Next()
	gid := storage.GlobalID{Origin: "a.example", OriginID: placeholder.String() + "0"}
	reply := newMessage(c, users[0].ID, "a reply")
	reply.Type, reply.ReferenceID, reply.ReferenceChannelID = 19, placeholder, c.ID
	elsewhere := newMessage(oc, users[0].ID, "another guild's reply")
	elsewhere.Type, elsewhere.ReferenceID, elsewhere.ReferenceChannelID = 19, placeholder, oc.ID
	update(t, s, func(tx storage.Tx) error {
		if err := tx.MapFederatedID(ctx, gid, placeholder); err != nil {
			return err
		}
		if err := tx.CreateMessages(ctx, storage.ScopeOf(c), []storage.Message{reply}); err != nil {
			return err
		}
		return tx.CreateMessages(ctx, storage.ScopeOf(oc), []storage.Message{elsewhere})
	})
	err := s.Update(ctx, func(tx storage.Tx) error {
		return tx.RemapFederatedMessage(ctx, g.ID, gid, moved, placeholder)
	})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("remap from an ID it is not mapped to: %v, want ErrNotFound", err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.RemapFederatedMessage(ctx, g.ID, gid, placeholder, moved) })
	if got, err := s.FederatedID(ctx, gid.Origin, gid.OriginID); err != nil || got != moved {
		t.Fatalf("FederatedID after remap = %v, %v; want %v", got, err, moved)
	}
	if origins, err := s.FederatedOrigins(ctx, []snowflake.ID{placeholder}); err != nil || len(origins) != 0 {
		t.Fatalf("the old ID still maps: %v, %v", origins, err)
	}
	if m, err := s.Message(ctx, c.ID, reply.ID); err != nil || m.ReferenceID != moved {
		t.Fatalf("reply after remap = %+v, %v", m, err)
	}
	if m, err := s.Message(ctx, oc.ID, elsewhere.ID); err != nil || m.ReferenceID != placeholder || m.GuildID != other.ID {
		t.Fatalf("another guild's reply after remap = %+v, %v", m, err)
	}
}
