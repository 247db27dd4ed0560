package storagetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// Run runs the conformance suite against stores made by open, a fresh empty
// database for each call.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"Users", testUsers},
		{"UsernamesUniqueIgnoringCase", testUsernameUnique},
		{"RemoteUsers", testRemoteUsers},
		{"Sessions", testSessions},
		{"EventLogOrder", testEventLogOrder},
		{"EventLogConcurrentAppendsGapless", testEventLogConcurrent},
		{"EventLogRollbackLeavesNoGap", testEventLogRollback},
		{"UpdateRollsBackState", testUpdateRollsBack},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

var ids = snowflake.NewGenerator(1)

func update(t *testing.T, s storage.Store, fn func(tx storage.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func newUser(name string) storage.User {
	return storage.User{
		ID: ids.Next(), Username: name, PasswordHash: "hash:" + name,
		CreatedAt: time.UnixMilli(time.Now().UnixMilli()).UTC(),
	}
}

func testUsers(t *testing.T, s storage.Store) {
	ctx := context.Background()
	accent := 0x5865F2
	u := newUser("Alice")
	u.GlobalName, u.Bio, u.AccentColor, u.Flags = "Alice A.", "hello", &accent, 64
	update(t, s, func(tx storage.Tx) error { return tx.CreateUser(ctx, u) })

	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if got.Username != "Alice" || got.GlobalName != "Alice A." || got.Bio != "hello" ||
		got.AccentColor == nil || *got.AccentColor != accent || got.Flags != 64 ||
		!got.CreatedAt.Equal(u.CreatedAt) || got.PasswordHash != u.PasswordHash || got.Bot {
		t.Fatalf("UserByID = %+v, want %+v", got, u)
	}
	if got, err := s.UserByUsername(ctx, "aLiCe"); err != nil || got.ID != u.ID {
		t.Fatalf("UserByUsername(aLiCe) = %v, %v", got.ID, err)
	}
	if _, err := s.UserByID(ctx, ids.Next()); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("UserByID(unknown) err = %v, want ErrNotFound", err)
	}
	if _, err := s.UserByUsername(ctx, "nobody"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("UserByUsername(unknown) err = %v, want ErrNotFound", err)
	}

	got.Username, got.GlobalName, got.AccentColor, got.Avatar = "Alicia", "", nil, "abc"
	update(t, s, func(tx storage.Tx) error { return tx.UpdateUser(ctx, got) })
	again, err := s.UserByID(ctx, u.ID)
	if err != nil || again.Username != "Alicia" || again.GlobalName != "" || again.AccentColor != nil || again.Avatar != "abc" {
		t.Fatalf("after update: %+v, %v", again, err)
	}
	if _, err := s.UserByUsername(ctx, "alice"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("old name still resolves: %v", err)
	}
	missing := newUser("ghost")
	err = s.Update(ctx, func(tx storage.Tx) error { return tx.UpdateUser(ctx, missing) })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("UpdateUser(unknown) err = %v, want ErrNotFound", err)
	}
}

func testUsernameUnique(t *testing.T, s storage.Store) {
	ctx := context.Background()
	a, b := newUser("Bob"), newUser("carol")
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, a); err != nil {
			return err
		}
		return tx.CreateUser(ctx, b)
	})
	dup := newUser("BOB")
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.CreateUser(ctx, dup) }); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("CreateUser(BOB) err = %v, want ErrConflict", err)
	}
	b.Username = "bOb"
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.UpdateUser(ctx, b) }); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("rename to bOb err = %v, want ErrConflict", err)
	}
	// Changing only the case of one's own name is allowed.
	a.Username = "BOB"
	update(t, s, func(tx storage.Tx) error { return tx.UpdateUser(ctx, a) })
}

func testRemoteUsers(t *testing.T, s storage.Store) {
	ctx := context.Background()
	local := newUser("dave")
	remote := newUser("dave")
	remote.Origin, remote.OriginID = "other.example", "1234"
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, local); err != nil {
			return err
		}
		return tx.CreateUser(ctx, remote)
	})
	if got, err := s.UserByUsername(ctx, "dave"); err != nil || got.ID != local.ID {
		t.Fatalf("UserByUsername(dave) = %v, %v; want the local user", got.ID, err)
	}
	got, err := s.UserByID(ctx, remote.ID)
	if err != nil || got.Origin != "other.example" || got.OriginID != "1234" {
		t.Fatalf("remote user = %+v, %v", got, err)
	}
	twin := newUser("dave2")
	twin.Origin, twin.OriginID = "other.example", "1234"
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.CreateUser(ctx, twin) }); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("duplicate origin pair err = %v, want ErrConflict", err)
	}
}

func testSessions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	u := newUser("erin")
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	sess := []storage.Session{
		{ID: ids.Next(), UserID: u.ID, CreatedAt: now, LastUsed: now, Client: "curl"},
		{ID: ids.Next(), UserID: u.ID, CreatedAt: now, LastUsed: now},
		{ID: ids.Next(), UserID: u.ID, CreatedAt: now, LastUsed: now},
	}
	update(t, s, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		for _, x := range sess {
			if err := tx.CreateSession(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.SessionByID(ctx, sess[0].ID)
	if err != nil || got.UserID != u.ID || got.Client != "curl" || !got.CreatedAt.Equal(now) {
		t.Fatalf("SessionByID = %+v, %v", got, err)
	}
	later := now.Add(time.Hour)
	update(t, s, func(tx storage.Tx) error { return tx.TouchSession(ctx, sess[0].ID, later) })
	if got, _ := s.SessionByID(ctx, sess[0].ID); !got.LastUsed.Equal(later) {
		t.Fatalf("LastUsed = %v, want %v", got.LastUsed, later)
	}
	var ended []snowflake.ID
	update(t, s, func(tx storage.Tx) error {
		var err error
		ended, err = tx.DeleteUserSessions(ctx, u.ID, sess[0].ID)
		return err
	})
	if len(ended) != 2 {
		t.Fatalf("DeleteUserSessions ended %v, want 2 sessions", ended)
	}
	for _, x := range sess[1:] {
		if _, err := s.SessionByID(ctx, x.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("session %d survived: %v", x.ID, err)
		}
	}
	update(t, s, func(tx storage.Tx) error { return tx.DeleteSession(ctx, sess[0].ID) })
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.DeleteSession(ctx, sess[0].ID) }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second DeleteSession err = %v, want ErrNotFound", err)
	}
}

func appendN(t *testing.T, s storage.Store, logID snowflake.ID, n int) {
	t.Helper()
	for i := range n {
		update(t, s, func(tx storage.Tx) error {
			_, err := tx.AppendEvent(context.Background(), storage.Event{
				LogID: logID, Type: "TEST", Payload: []byte(`{"i":` + itoa(i) + `}`),
			})
			return err
		})
	}
}

func itoa(i int) string {
	return snowflake.ID(uint64(i)).String()
}

func testEventLogOrder(t *testing.T, s storage.Store) {
	ctx := context.Background()
	a, b := ids.Next(), ids.Next()
	if head, err := s.LogHead(ctx, a); err != nil || head != 0 {
		t.Fatalf("LogHead(empty) = %d, %v", head, err)
	}
	appendN(t, s, a, 5)
	appendN(t, s, b, 2)
	evs, err := s.Events(ctx, a, 0, 100)
	if err != nil || len(evs) != 5 {
		t.Fatalf("Events = %d events, %v", len(evs), err)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) || e.LogID != a || e.Type != "TEST" || string(e.Payload) != `{"i":`+itoa(i)+`}` || e.CreatedAt.IsZero() {
			t.Fatalf("event %d = %+v", i, e)
		}
	}
	page, err := s.Events(ctx, a, 2, 2)
	if err != nil || len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 4 {
		t.Fatalf("Events(after 2, limit 2) = %+v, %v", page, err)
	}
	if head, _ := s.LogHead(ctx, a); head != 5 {
		t.Fatalf("LogHead(a) = %d, want 5", head)
	}
	if head, _ := s.LogHead(ctx, b); head != 2 {
		t.Fatalf("LogHead(b) = %d, want 2", head)
	}
}

func testEventLogConcurrent(t *testing.T, s storage.Store) {
	ctx := context.Background()
	logs := []snowflake.ID{ids.Next(), ids.Next()}
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := s.Update(ctx, func(tx storage.Tx) error {
					_, err := tx.AppendEvent(ctx, storage.Event{LogID: logs[w%2], Type: "TEST", Payload: []byte(`{}`)})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent append: %v", err)
	}
	for _, l := range logs {
		evs, err := s.Events(ctx, l, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != writers/2*each {
			t.Fatalf("log has %d events, want %d", len(evs), writers/2*each)
		}
		for i, e := range evs {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d: gap or duplicate", i, e.Seq)
			}
		}
	}
}

var errAbort = errors.New("abort")

func testEventLogRollback(t *testing.T, s storage.Store) {
	ctx := context.Background()
	l := ids.Next()
	appendN(t, s, l, 1)
	err := s.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.AppendEvent(ctx, storage.Event{LogID: l, Type: "LOST", Payload: []byte(`{}`)}); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Update err = %v, want errAbort", err)
	}
	appendN(t, s, l, 1)
	evs, _ := s.Events(ctx, l, 0, 10)
	if len(evs) != 2 || evs[1].Seq != 2 || evs[1].Type != "TEST" {
		t.Fatalf("after rollback: %+v", evs)
	}
}

func testUpdateRollsBack(t *testing.T, s storage.Store) {
	ctx := context.Background()
	u := newUser("frank")
	l := ids.Next()
	err := s.Update(ctx, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if _, err := tx.AppendEvent(ctx, storage.Event{LogID: l, Type: "TEST", Payload: []byte(`{}`)}); err != nil {
			return err
		}
		// A state write that fails must take the event with it.
		return tx.CreateUser(ctx, newUser("FRANK"))
	})
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("Update err = %v, want ErrConflict", err)
	}
	if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("user survived a rolled-back transaction: %v", err)
	}
	if head, _ := s.LogHead(ctx, l); head != 0 {
		t.Fatalf("event survived a rolled-back transaction: head %d", head)
	}
}
