package storagetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"hearth/storage"
)

// Administrators are granted and revoked idempotently; only local users
// count; federation rules are set, replaced and removed by server name; a
// blocked server's memberships are found in this server's own guilds only.
func testInstanceAdmin(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.UnixMilli(time.Now().UnixMilli())
	admin, other := newUser("ada"), newUser("bo")
	remote := newUser("rex")
	remote.Origin, remote.OriginID = "x.example", "7"
	ours := storage.Guild{ID: ids.Next(), Name: "ours", OwnerID: admin.ID, CreatedAt: now}
	theirs := storage.Guild{ID: ids.Next(), Name: "theirs", CreatedAt: now, Origin: "x.example", OriginID: "9"}
	update(t, s, func(tx storage.Tx) error {
		for _, u := range []storage.User{admin, other, remote} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		for _, g := range []storage.Guild{ours, theirs} {
			if err := tx.CreateGuild(ctx, g); err != nil {
				return err
			}
		}
		for _, m := range []storage.Member{newMember(ours.ID, admin.ID), newMember(ours.ID, remote.ID), newMember(theirs.ID, remote.ID), newMember(theirs.ID, other.ID)} {
			if err := tx.AddMember(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if n, err := s.LocalUserCount(ctx); err != nil || n != 2 {
		t.Fatalf("LocalUserCount = %d, %v; want 2", n, err)
	}
	is := func(id storage.User, want bool) {
		t.Helper()
		if got, err := s.IsAdmin(ctx, id.ID); err != nil || got != want {
			t.Fatalf("IsAdmin(%s) = %v, %v; want %v", id.Username, got, err, want)
		}
	}
	for range 2 {
		update(t, s, func(tx storage.Tx) error { return tx.SetAdmin(ctx, admin.ID, true, now) })
	}
	is(admin, true)
	is(other, false)
	for range 2 {
		update(t, s, func(tx storage.Tx) error { return tx.SetAdmin(ctx, admin.ID, false, now) })
	}
	is(admin, false)

	update(t, s, func(tx storage.Tx) error {
		if err := tx.SetFederationRule(ctx, storage.FederationRule{Server: "x.example", Rule: storage.RuleAllow, CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.SetFederationRule(ctx, storage.FederationRule{Server: "x.example", Rule: storage.RuleBlock, CreatedAt: now}); err != nil {
			return err
		}
		return tx.SetFederationRule(ctx, storage.FederationRule{Server: "a.example", Rule: storage.RuleAllow, CreatedAt: now})
	})
	rules, err := s.FederationRules(ctx)
	want := []storage.FederationRule{{Server: "a.example", Rule: storage.RuleAllow, CreatedAt: now}, {Server: "x.example", Rule: storage.RuleBlock, CreatedAt: now}}
	if err != nil || len(rules) != 2 || rules[0].Server != want[0].Server || rules[0].Rule != want[0].Rule ||
		rules[1].Server != want[1].Server || rules[1].Rule != want[1].Rule || !rules[1].CreatedAt.Equal(now) {
		t.Fatalf("FederationRules = %+v, %v; want %+v", rules, err, want)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error {
		return tx.SetFederationRule(ctx, storage.FederationRule{Server: "y.example", Rule: "maybe", CreatedAt: now})
	}); err == nil {
		t.Fatal("a rule that is neither block nor allow was kept")
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteFederationRule(ctx, "a.example") })
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.DeleteFederationRule(ctx, "a.example") }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("deleting a rule twice: %v, want ErrNotFound", err)
	}
	got, err := s.MembershipsFrom(ctx, "x.example")
	if err != nil || !reflect.DeepEqual(got, []storage.Membership{{GuildID: ours.ID, UserID: remote.ID}}) {
		t.Fatalf("MembershipsFrom = %v, %v; want rex in ours only", got, err)
	}
}
