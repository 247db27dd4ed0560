package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"hearth/storage"
)

// A link code signs in once, only before it expires; making one forgets
// the expired ones.
func testLinkCodes(t *testing.T, s storage.Store) {
	ctx := context.Background()
	u := newUser("lina")
	now := time.UnixMilli(time.Now().UnixMilli())
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.CreateLinkCode(ctx, "live", u.ID, now, now.Add(5*time.Minute)); err != nil {
			return err
		}
		return tx.CreateLinkCode(ctx, "stale", u.ID, now.Add(-10*time.Minute), now.Add(-5*time.Minute))
	})
	take := func(hash string, at time.Time) (uint64, error) {
		var got uint64
		err := s.Update(ctx, func(tx storage.Tx) error {
			id, err := tx.TakeLinkCode(ctx, hash, at)
			got = uint64(id)
			return err
		})
		return got, err
	}
	if _, err := take("stale", now); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("an expired code: %v, want ErrNotFound", err)
	}
	if _, err := take("live", now.Add(5*time.Minute)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a code at its expiry: %v, want ErrNotFound", err)
	}
	update(t, s, func(tx storage.Tx) error {
		return tx.CreateLinkCode(ctx, "fresh", u.ID, now, now.Add(5*time.Minute))
	})
	if got, err := take("fresh", now.Add(time.Minute)); err != nil || got != uint64(u.ID) {
		t.Fatalf("a live code: %d, %v; want user %d", got, err, u.ID)
	}
	if _, err := take("fresh", now.Add(time.Minute)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a used code: %v, want ErrNotFound", err)
	}
	if _, err := take("nothing", now); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("an unknown code: %v, want ErrNotFound", err)
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateLinkCode(ctx, "dropped", u.ID, now, now.Add(5*time.Minute)); err != nil {
			return err
		}
		return tx.DeleteLinkCodes(ctx, u.ID)
	})
	if _, err := take("dropped", now); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a code of a user whose codes were deleted: %v, want ErrNotFound", err)
	}
}

// Recovery codes are used once, by their own user, and a new set replaces
// the old.
func testRecoveryCodes(t *testing.T, s storage.Store) {
	ctx := context.Background()
	u, other := newUser("rory"), newUser("olga")
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, other); err != nil {
			return err
		}
		return tx.SetRecoveryCodes(ctx, u.ID, []string{"a", "b", "c"})
	})
	left := func(want int) {
		t.Helper()
		if n, err := s.RecoveryCodesLeft(ctx, u.ID); err != nil || n != want {
			t.Fatalf("RecoveryCodesLeft = %d, %v; want %d", n, err, want)
		}
	}
	left(3)
	take := func(user storage.User, hash string) error {
		return s.Update(ctx, func(tx storage.Tx) error { return tx.TakeRecoveryCode(ctx, user.ID, hash) })
	}
	if err := take(other, "a"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("another user's code: %v, want ErrNotFound", err)
	}
	if err := take(u, "a"); err != nil {
		t.Fatal(err)
	}
	if err := take(u, "a"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a used code: %v, want ErrNotFound", err)
	}
	left(2)
	update(t, s, func(tx storage.Tx) error { return tx.SetRecoveryCodes(ctx, u.ID, []string{"d"}) })
	left(1)
	if err := take(u, "b"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a replaced code: %v, want ErrNotFound", err)
	}
}
