package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"hearth/storage"
)

// testApplications: an application is read back as written, listed under
// its owner, and updated in place; unknown IDs are ErrNotFound.
func testApplications(t *testing.T, s storage.Store) {
	ctx := context.Background()
	users := createUsers(t, s, 3)
	owner, bot1, bot2 := users[0], users[1], users[2]
	at := time.UnixMilli(time.Now().UnixMilli()).UTC()
	a1 := storage.Application{ID: bot1.ID, OwnerID: owner.ID, Name: "Helper", Description: "helps", Flags: 1 << 19, BotPublic: true, CreatedAt: at}
	a2 := storage.Application{ID: bot2.ID, OwnerID: owner.ID, Name: "Private", CreatedAt: at}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateApplication(ctx, a1); err != nil {
			return err
		}
		return tx.CreateApplication(ctx, a2)
	})
	if got, err := s.Application(ctx, a1.ID); err != nil || got != a1 {
		t.Fatalf("Application = %+v, %v; want %+v", got, err, a1)
	}
	if list, err := s.UserApplications(ctx, owner.ID); err != nil || len(list) != 2 || list[1] != a2 && list[0] != a2 {
		t.Fatalf("UserApplications = %+v, %v", list, err)
	}
	if list, err := s.UserApplications(ctx, bot1.ID); err != nil || len(list) != 0 {
		t.Fatalf("applications of a user who owns none = %+v, %v", list, err)
	}
	a2.Name, a2.Description, a2.Flags, a2.BotPublic = "Renamed", "now public", 1<<13|1<<15, true
	a2.InteractionsURL = "https://bot.example/interactions"
	update(t, s, func(tx storage.Tx) error { return tx.UpdateApplication(ctx, a2) })
	if got, err := s.Application(ctx, a2.ID); err != nil || got != a2 {
		t.Fatalf("after update: %+v, %v; want %+v", got, err, a2)
	}
	if _, err := s.Application(ctx, owner.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Application(not an application) = %v", err)
	}
	err := s.Update(ctx, func(tx storage.Tx) error {
		return tx.UpdateApplication(ctx, storage.Application{ID: owner.ID, Name: "x"})
	})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("UpdateApplication(absent) = %v", err)
	}
}
