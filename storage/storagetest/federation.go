package storagetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

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
	// Never back.
	update(t, s, func(tx storage.Tx) error {
		return tx.SetDeliveryCursor(ctx, storage.Cursor{Peer: "b", LogID: g1, Seq: 5})
	})
	if c, err := s.DeliveryCursor(ctx, "b", g1); err != nil || c.Seq != 7 {
		t.Fatalf("DeliveryCursor after a move back = %v, %v; want 7", c, err)
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
		if err := tx.MapFederatedID(ctx, gid, storage.Mapping{Local: placeholder, Scope: g.ID}); err != nil {
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
	if got, err := s.FederatedID(ctx, gid.Origin, gid.OriginID); err != nil || got.Local != moved {
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

func testActReceipts(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond).UTC()
	id := ids.Next().String() + "@b.example"
	logID := ids.Next()
	claim := storage.ActReceipt{ID: id, Peer: "b.example", LogID: logID, Digest: "d1", Deadline: now.Add(15 * time.Second)}
	if _, err := s.ActReceipt(ctx, id); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ActReceipt before the claim: err = %v, want ErrNotFound", err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.ClaimActReceipt(ctx, claim) })
	if got, err := s.ActReceipt(ctx, id); err != nil || !reflect.DeepEqual(got, claim) {
		t.Fatalf("claimed ActReceipt = %+v, %v; want %+v", got, err, claim)
	}
	// A second claim of the same ID fails, and its transaction can go on
	// (PostgreSQL ends a transaction at a failed statement).
	err := s.Update(ctx, func(tx storage.Tx) error {
		if err := tx.ClaimActReceipt(ctx, storage.ActReceipt{ID: id, Peer: "b.example", LogID: logID, Digest: "d2", Deadline: now}); !errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("second claim: err = %v, want ErrConflict", err)
		}
		return tx.CompleteActReceipt(ctx, id, 42, []byte(`{"id":"1@a.example"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := claim
	want.Done, want.Seq, want.Result = true, 42, []byte(`{"id":"1@a.example"}`)
	if got, err := s.ActReceipt(ctx, id); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("completed ActReceipt = %+v, %v; want %+v", got, err, want)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.CompleteActReceipt(ctx, "1@nowhere", 1, nil) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("CompleteActReceipt without a claim: err = %v, want ErrNotFound", err)
	}
	// Refused after the claim: the row goes.
	other := storage.ActReceipt{ID: ids.Next().String() + "@b.example", Peer: "b.example", LogID: logID, Digest: "d3", Deadline: now.Add(time.Minute)}
	update(t, s, func(tx storage.Tx) error { return tx.ClaimActReceipt(ctx, other) })
	update(t, s, func(tx storage.Tx) error { return tx.DeleteActReceipt(ctx, other.ID) })
	if _, err := s.ActReceipt(ctx, other.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("deleted ActReceipt: err = %v, want ErrNotFound", err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteActReceipt(ctx, other.ID) })
	// Pruning takes the receipts whose deadline is before the time given.
	late := storage.ActReceipt{ID: ids.Next().String() + "@c.example", Peer: "c.example", LogID: logID, Digest: "d4", Deadline: now.Add(time.Hour)}
	update(t, s, func(tx storage.Tx) error { return tx.ClaimActReceipt(ctx, late) })
	var n int64
	update(t, s, func(tx storage.Tx) (err error) {
		n, err = tx.PruneActReceipts(ctx, now.Add(time.Minute))
		return err
	})
	if n != 1 {
		t.Fatalf("PruneActReceipts removed %d, want 1", n)
	}
	if _, err := s.ActReceipt(ctx, id); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("pruned ActReceipt: err = %v, want ErrNotFound", err)
	}
	if _, err := s.ActReceipt(ctx, late.ID); err != nil {
		t.Fatalf("ActReceipt with a later deadline was pruned: %v", err)
	}
}

// testUpdateEndsAtContext: a transaction whose context ends before its
// commit is rolled back and says so, deadline or cancel, so that a caller
// with a deadline is never told "failed" of a change that was committed.
func testUpdateEndsAtContext(t *testing.T, s storage.Store) {
	for _, end := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		// during ends the context while the transaction runs.
		during func(cancel context.CancelFunc)
		want   error
	}{
		{"canceled", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			func(cancel context.CancelFunc) { cancel() }, context.Canceled},
		// A deadline just past, whose timer may not have fired yet.
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), time.Now().Add(50*time.Millisecond))
		}, func(context.CancelFunc) { time.Sleep(50 * time.Millisecond) }, context.DeadlineExceeded},
	} {
		t.Run(end.name, func(t *testing.T) {
			ctx, cancel := end.ctx()
			defer cancel()
			u := newUser("ctx" + end.name)
			err := s.Update(ctx, func(tx storage.Tx) error {
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				end.during(cancel)
				return nil
			})
			if !errors.Is(err, end.want) {
				t.Fatalf("Update err = %v, want %v", err, end.want)
			}
			if _, err := s.UserByID(context.Background(), u.ID); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("a transaction whose context ended before commit committed: %v", err)
			}
		})
	}
}

// testSentActs: the acts a server sent for its users, which its replicas
// check events in their names against, and the act an event of a log
// carries out, named to peers with it.
func testSentActs(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond).UTC()
	a := storage.SentAct{ID: ids.Next().String() + "@b.example", LogID: ids.Next(), UserID: ids.Next(), Action: "message.edit",
		MessageID: ids.Next(), Expires: now.Add(time.Hour)}
	if _, err := s.SentAct(ctx, a.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("SentAct before it was recorded: err = %v, want ErrNotFound", err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.RecordSentAct(ctx, a) })
	if got, err := s.SentAct(ctx, a.ID); err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("SentAct = %+v, %v; want %+v", got, err, a)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.RecordSentAct(ctx, a) }); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("RecordSentAct twice: err = %v, want ErrConflict", err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.UseSentAct(ctx, a.ID, 5) })
	if got, err := s.SentAct(ctx, a.ID); err != nil || got.Used != 5 {
		t.Fatalf("used SentAct = %+v, %v; want Used 5", got, err)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.UseSentAct(ctx, "1@nowhere", 1) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("UseSentAct of an unknown act: err = %v, want ErrNotFound", err)
	}
	// Pruning takes those that expire before the time given.
	early := storage.SentAct{ID: ids.Next().String() + "@b.example", LogID: a.LogID, UserID: a.UserID, Action: "message.create", Expires: now}
	update(t, s, func(tx storage.Tx) error { return tx.RecordSentAct(ctx, early) })
	var n int64
	update(t, s, func(tx storage.Tx) (err error) {
		n, err = tx.PruneSentActs(ctx, now.Add(time.Minute))
		return err
	})
	if n != 1 {
		t.Fatalf("PruneSentActs removed %d, want 1", n)
	}
	if _, err := s.SentAct(ctx, early.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("pruned SentAct: err = %v, want ErrNotFound", err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteSentAct(ctx, a.ID) })
	update(t, s, func(tx storage.Tx) error { return tx.DeleteSentAct(ctx, a.ID) })
	if _, err := s.SentAct(ctx, a.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("deleted SentAct: err = %v, want ErrNotFound", err)
	}

	// An event's act comes back with it, from either append.
	logID := ids.Next()
	update(t, s, func(tx storage.Tx) error {
		if _, err := tx.AppendEvent(ctx, storage.Event{LogID: logID, Type: "TEST", Payload: []byte(`{}`), Act: "1@b.example"}); err != nil {
			return err
		}
		_, err := tx.AppendEvents(ctx, []storage.Event{{LogID: logID, Type: "TEST", Payload: []byte(`{}`)},
			{LogID: logID, Type: "TEST", Payload: []byte(`{}`), Act: "2@b.example"}})
		return err
	})
	evs, err := s.Events(ctx, logID, 0, 10)
	if err != nil || len(evs) != 3 || evs[0].Act != "1@b.example" || evs[1].Act != "" || evs[2].Act != "2@b.example" {
		t.Fatalf("Events = %+v, %v; want acts 1@b.example, none, 2@b.example", evs, err)
	}
}

// MessageAuthors keeps which of this server's users wrote an origin's
// message, by the origin's ID, for good; the first record stands, and the
// same number at another origin is another message.
func testMessageAuthors(t *testing.T, s storage.Store) {
	ctx := context.Background()
	us := createUsers(t, s, 2)
	update(t, s, func(tx storage.Tx) error { return tx.RecordAuthor(ctx, "a.example", "1001", us[0].ID) })
	update(t, s, func(tx storage.Tx) error { return tx.RecordAuthor(ctx, "a.example", "1001", us[1].ID) })
	if got, err := s.MessageAuthor(ctx, "a.example", "1001"); err != nil || got != us[0].ID {
		t.Fatalf("MessageAuthor = %d, %v; want the first author %d", got, err, us[0].ID)
	}
	for _, k := range [][2]string{{"b.example", "1001"}, {"a.example", "1002"}} {
		if _, err := s.MessageAuthor(ctx, k[0], k[1]); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("MessageAuthor(%s, %s) = %v, want ErrNotFound", k[0], k[1], err)
		}
	}
}
