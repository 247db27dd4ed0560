package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"hearth/storage"
)

// testNotices: owed notices are listed when due, soonest first; a failed
// send moves one later; hurrying a peer makes its notices due; a
// delivered one is dropped.
func testNotices(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	a, b, c := storage.Notice{ID: ids.Next(), Peer: "b.example", Kind: storage.NoticeUserDeleted, Body: []byte(`{"user":"1@a.example"}`), UserID: 1, NextAt: now, CreatedAt: now},
		storage.Notice{ID: ids.Next(), Peer: "c.example", Kind: storage.NoticeRelationship, Body: []byte(`{"kind":"remove"}`), UserID: 1, OtherID: 2, NextAt: now.Add(-time.Second), CreatedAt: now},
		storage.Notice{ID: ids.Next(), Peer: "b.example", Kind: storage.NoticeRelationship, Body: []byte(`{}`), UserID: 3, OtherID: 4, NextAt: now.Add(time.Hour), CreatedAt: now}
	update(t, s, func(tx storage.Tx) error {
		for _, n := range []storage.Notice{a, b, c} {
			if err := tx.QueueNotice(ctx, n); err != nil {
				return err
			}
		}
		return nil
	})
	due, err := s.DueNotices(ctx, now, 10)
	if err != nil || len(due) != 2 || due[0].ID != b.ID || due[1].ID != a.ID {
		t.Fatalf("due = %+v, %v", due, err)
	}
	if got := due[1]; string(got.Body) != string(a.Body) || got.Kind != a.Kind || got.Peer != a.Peer || got.UserID != 1 || !got.NextAt.Equal(now) {
		t.Fatalf("notice read back = %+v", got)
	}
	if got := due[0]; got.OtherID != 2 || got.Kind != storage.NoticeRelationship {
		t.Fatalf("relationship notice read back = %+v", got)
	}
	if due, err := s.DueNotices(ctx, now, 1); err != nil || len(due) != 1 || due[0].ID != b.ID {
		t.Fatalf("due with a limit = %+v, %v", due, err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.RescheduleNotice(ctx, a.ID, 1, now.Add(time.Minute)) })
	if due, err := s.DueNotices(ctx, now, 10); err != nil || len(due) != 1 || due[0].ID != b.ID {
		t.Fatalf("due after rescheduling = %+v, %v", due, err)
	}
	if p, err := s.PendingNotices(ctx, "b.example", 10); err != nil || len(p) != 2 || p[0].ID != a.ID || p[0].Attempts != 1 || p[1].ID != c.ID {
		t.Fatalf("pending for b = %+v, %v", p, err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.HurryNotices(ctx, "b.example", now) })
	if due, err := s.DueNotices(ctx, now, 10); err != nil || len(due) != 3 {
		t.Fatalf("due after hurrying b = %+v, %v", due, err)
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteNotice(ctx, a.ID) })
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.DeleteNotice(ctx, a.ID) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("deleting a notice twice: %v", err)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.RescheduleNotice(ctx, a.ID, 2, now) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("rescheduling a deleted notice: %v", err)
	}
	if p, err := s.PendingNotices(ctx, "b.example", 10); err != nil || len(p) != 1 || p[0].ID != c.ID {
		t.Fatalf("pending for b after a delivery = %+v, %v", p, err)
	}
}
