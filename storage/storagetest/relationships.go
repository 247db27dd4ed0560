package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// testRelationships: rows are one side's view, replaced by pair, listed by
// the other's ID, counted by type and deleted once; the DM policy defaults
// to off and is replaced.
func testRelationships(t *testing.T, s storage.Store) {
	ctx := context.Background()
	us := createUsers(t, s, 4)
	a, b, c, d := us[0].ID, us[1].ID, us[2].ID, us[3].ID
	at := time.UnixMilli(time.Now().UnixMilli()).UTC()

	if _, err := s.Relationship(ctx, a, b); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Relationship(absent) = %v, want ErrNotFound", err)
	}
	if got, err := s.Relationships(ctx, a); err != nil || len(got) != 0 {
		t.Fatalf("Relationships(none) = %v, %v", got, err)
	}
	update(t, s, func(tx storage.Tx) error {
		for _, r := range []storage.Relationship{
			{UserID: a, OtherID: c, Type: storage.RelationshipOutgoing, Since: at},
			{UserID: c, OtherID: a, Type: storage.RelationshipIncoming, Since: at},
			{UserID: a, OtherID: b, Type: storage.RelationshipOutgoing, Since: at},
			{UserID: a, OtherID: d, Type: storage.RelationshipBlocked, Since: at},
		} {
			if err := tx.SetRelationship(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	later := at.Add(time.Second)
	// The same pair again replaces its row: the request became a friendship.
	update(t, s, func(tx storage.Tx) error {
		return tx.SetRelationship(ctx, storage.Relationship{UserID: a, OtherID: b, Type: storage.RelationshipFriend, Since: later})
	})
	got, err := s.Relationships(ctx, a)
	if err != nil || len(got) != 3 {
		t.Fatalf("Relationships(a) = %+v, %v", got, err)
	}
	want := map[int]storage.Relationship{}
	for _, r := range got {
		if r.UserID != a {
			t.Fatalf("row of another user: %+v", r)
		}
		want[r.Type] = r
	}
	if r := want[storage.RelationshipFriend]; r.OtherID != b || !r.Since.Equal(later) {
		t.Fatalf("friend row = %+v", r)
	}
	if r := want[storage.RelationshipBlocked]; r.OtherID != d {
		t.Fatalf("blocked row = %+v", r)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].OtherID >= got[i].OtherID {
			t.Fatalf("not ordered by other ID: %+v", got)
		}
	}
	if r, err := s.Relationship(ctx, c, a); err != nil || r.Type != storage.RelationshipIncoming || !r.Since.Equal(at) {
		t.Fatalf("Relationship(c, a) = %+v, %v", r, err)
	}
	// Only the friendship counts: c's incoming row about a and a's block
	// of d name them too.
	if got, err := s.FriendsOf(ctx, b); err != nil || len(got) != 1 || got[0] != a {
		t.Fatalf("FriendsOf(b) = %v, %v", got, err)
	}
	for _, id := range []snowflake.ID{a, d} {
		if got, err := s.FriendsOf(ctx, id); err != nil || len(got) != 0 {
			t.Fatalf("FriendsOf(%d) = %v, %v, want none", id, got, err)
		}
	}
	if n, err := s.CountRelationships(ctx, a, storage.RelationshipOutgoing); err != nil || n != 1 {
		t.Fatalf("CountRelationships(a, outgoing) = %d, %v", n, err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteRelationship(ctx, a, c) })
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.DeleteRelationship(ctx, a, c) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("DeleteRelationship twice = %v, want ErrNotFound", err)
	}
	// Deleting one side leaves the other's view.
	if _, err := s.Relationship(ctx, c, a); err != nil {
		t.Fatalf("the other side's row went too: %v", err)
	}

	// A nickname is set on a row, kept when its type changes, and gone
	// with the row.
	update(t, s, func(tx storage.Tx) error { return tx.SetRelationshipNickname(ctx, a, b, "Bobby") })
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.SetRelationshipNickname(ctx, a, c, "Cee") }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a nickname without a row = %v, want ErrNotFound", err)
	}
	update(t, s, func(tx storage.Tx) error {
		return tx.SetRelationship(ctx, storage.Relationship{UserID: a, OtherID: b, Type: storage.RelationshipFriend, Since: later.Add(time.Second)})
	})
	if r, err := s.Relationship(ctx, a, b); err != nil || r.Nickname != "Bobby" || r.Type != storage.RelationshipFriend {
		t.Fatalf("with a nickname = %+v, %v", r, err)
	}
	if r, err := s.Relationship(ctx, c, a); err != nil || r.Nickname != "" {
		t.Fatalf("a row without a nickname = %+v, %v", r, err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.SetRelationshipNickname(ctx, a, b, "") })
	if r, err := s.Relationship(ctx, a, b); err != nil || r.Nickname != "" {
		t.Fatalf("nickname cleared = %+v, %v", r, err)
	}
	// A relationship with oneself is no relationship.
	if err := s.Update(ctx, func(tx storage.Tx) error {
		return tx.SetRelationship(ctx, storage.Relationship{UserID: a, OtherID: a, Type: storage.RelationshipFriend, Since: at})
	}); err == nil {
		t.Fatal("a relationship with oneself was stored")
	}

	if on, err := s.DMFriendsOnly(ctx, a); err != nil || on {
		t.Fatalf("DMFriendsOnly(default) = %v, %v", on, err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.SetDMFriendsOnly(ctx, a, true) })
	if on, err := s.DMFriendsOnly(ctx, a); err != nil || !on {
		t.Fatalf("DMFriendsOnly after set = %v, %v", on, err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.SetDMFriendsOnly(ctx, a, false) })
	if on, err := s.DMFriendsOnly(ctx, a); err != nil || on {
		t.Fatalf("DMFriendsOnly after unset = %v, %v", on, err)
	}
	if on, err := s.DMFriendsOnly(ctx, b); err != nil || on {
		t.Fatalf("DMFriendsOnly(other user) = %v, %v", on, err)
	}
}
