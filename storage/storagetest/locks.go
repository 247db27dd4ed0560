package storagetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"hearth/storage"
)

// testLockChannel: transactions that count a channel's pins and pin one
// under LockChannel never pass the bound together, however many run at
// once; an absent channel is ErrNotFound.
func testLockChannel(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, c, us := messageFixture(t, s, 1)
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.LockChannel(ctx, ids.Next()) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("LockChannel(absent) = %v, want ErrNotFound", err)
	}
	const bound, already, racers = 50, 45, 60
	ms := make([]storage.Message, already+racers)
	for i := range ms {
		ms[i] = newMessage(c, us[0].ID, "pin me "+itoa(i))
		if i < already {
			ms[i].Pinned, ms[i].PinnedAt = true, ms[i].CreatedAt
		}
	}
	update(t, s, func(tx storage.Tx) error { return tx.CreateMessages(ctx, storage.ScopeOf(c), ms) })
	var wg sync.WaitGroup
	for _, m := range ms[already:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Update(ctx, func(tx storage.Tx) error {
				if err := tx.LockChannel(ctx, c.ID); err != nil {
					return err
				}
				pinned, err := tx.PinnedMessages(ctx, c.ID)
				if err != nil || len(pinned) >= bound {
					return err
				}
				m.Pinned, m.PinnedAt = true, time.UnixMilli(time.Now().UnixMilli()).UTC()
				return tx.UpdateMessage(ctx, storage.ScopeOf(c), m)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if pinned, err := s.PinnedMessages(ctx, c.ID); err != nil || len(pinned) != bound {
		t.Fatalf("%d pins under a bound of %d (%v)", len(pinned), bound, err)
	}
}
