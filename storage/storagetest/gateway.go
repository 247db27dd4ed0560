package storagetest

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// testLiveSessions: live session rows and their marks are written by
// their owner only, keep their meta and place when a write carries none,
// lose the marks folded into the place, pass to another owner once (the
// first claim wins, and the old marks go), and are swept when detached
// too long or when their owner has not been seen.
func testLiveSessions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	put := func(owner string, at time.Time, w storage.LiveWrite) []string {
		t.Helper()
		var written []string
		err := s.Update(ctx, func(tx storage.Tx) error {
			var err error
			written, err = tx.PutLiveSessions(ctx, owner, w, true, at)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(written)
		return written
	}
	var many storage.LiveWrite
	for i := range 70 { // more than one multi-row statement
		id := "s" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		many.Sessions = append(many.Sessions, storage.LiveSession{ID: id,
			UserID: snowflake.ID(100 + i), Meta: []byte(`{"m":1}`), Place: []byte(`{"p":1}`), New: true})
		many.Marks = append(many.Marks, storage.LiveMark{Session: id, First: 1, Last: 2, Log: 9, Pos: 4},
			storage.LiveMark{Session: id, First: 3, Last: 3, Log: 8, Pos: int64(i)})
	}
	if w := put("p1", now, many); len(w) != len(many.Sessions) {
		t.Fatalf("wrote %d of %d", len(w), len(many.Sessions))
	}
	got, seen, err := s.LiveSession(ctx, "sab") // i = 26
	wantMarks := []storage.LiveMark{{Session: "sab", First: 1, Last: 2, Log: 9, Pos: 4}, {Session: "sab", First: 3, Last: 3, Log: 8, Pos: 26}}
	if err != nil || got.UserID != 126 || got.Owner != "p1" || string(got.Meta) != `{"m":1}` || string(got.Place) != `{"p":1}` ||
		!reflect.DeepEqual(got.Marks, wantMarks) || !got.DetachedAt.IsZero() || !seen.Equal(now) {
		t.Fatalf("LiveSession = %+v seen %v, %v", got, seen, err)
	}
	// Marks alone; then a row without meta keeps its own, a new place
	// folds the marks up to 2 away, and detached is recorded.
	later := now.Add(time.Second)
	if w := put("p1", later, storage.LiveWrite{Marks: []storage.LiveMark{{Session: "sab", First: 4, Last: 6, Log: 9, Pos: 5}}}); len(w) != 1 {
		t.Fatalf("marks: %v", w)
	}
	if w := put("p1", later, storage.LiveWrite{Sessions: []storage.LiveSession{{ID: "sab", UserID: 126, Place: []byte(`{"p":2}`), DetachedAt: later}},
		Folded: map[string]int64{"sab": 2}}); len(w) != 1 {
		t.Fatalf("rewrite: %v", w)
	}
	got, _, _ = s.LiveSession(ctx, "sab")
	wantMarks = []storage.LiveMark{{Session: "sab", First: 3, Last: 3, Log: 8, Pos: 26}, {Session: "sab", First: 4, Last: 6, Log: 9, Pos: 5}}
	if string(got.Meta) != `{"m":1}` || string(got.Place) != `{"p":2}` || !got.DetachedAt.Equal(later) || !reflect.DeepEqual(got.Marks, wantMarks) {
		t.Fatalf("after a write without meta: %+v", got)
	}
	// Another owner cannot write it, until it claims it; then the first
	// cannot, and a second claim from the first owner fails.
	if w := put("p2", later, storage.LiveWrite{Sessions: []storage.LiveSession{{ID: "sab", UserID: 126, Place: []byte(`{"p":9}`)}},
		Marks: []storage.LiveMark{{Session: "sab", First: 7, Last: 7, Log: 1, Pos: 1}}}); len(w) != 0 {
		t.Fatalf("another owner wrote: %v", w)
	}
	claim := func(from, to string) bool {
		t.Helper()
		var ok bool
		err := s.Update(ctx, func(tx storage.Tx) error {
			var err error
			ok, err = tx.ClaimLiveSession(ctx, "sab", from, to, []byte(`{"p":3}`),
				[]storage.LiveMark{{First: 5, Last: 7, Log: 9, Pos: 5}}, later)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim("p1", "p2") || claim("p1", "p3") {
		t.Fatal("claims: the first should win, the second fail")
	}
	got, _, _ = s.LiveSession(ctx, "sab")
	wantMarks = []storage.LiveMark{{Session: "sab", First: 5, Last: 7, Log: 9, Pos: 5}}
	if got.Owner != "p2" || !got.DetachedAt.IsZero() || string(got.Place) != `{"p":3}` || !reflect.DeepEqual(got.Marks, wantMarks) {
		t.Fatalf("after the claim: %+v", got)
	}
	if w := put("p1", later, storage.LiveWrite{Sessions: []storage.LiveSession{{ID: "sab", UserID: 126, Place: []byte(`{"p":9}`)}},
		Marks: []storage.LiveMark{{Session: "sab", First: 8, Last: 8, Log: 1, Pos: 1}}}); len(w) != 0 {
		t.Fatalf("the old owner wrote: %v", w)
	}
	if got, _, _ = s.LiveSession(ctx, "sab"); string(got.Place) != `{"p":3}` || len(got.Marks) != 1 {
		t.Fatalf("the old owner's write landed: %+v", got)
	}
	// Sweep: p1 was last seen at later, p2 too. A detached one of p2 goes
	// when detached long ago; then all of p1's when p1 is not seen since.
	put("p2", later, storage.LiveWrite{Sessions: []storage.LiveSession{{ID: "gone", UserID: 1, Meta: []byte(`{}`), Place: []byte(`{}`), DetachedAt: now, New: true}}})
	sweep := func(detached, seen time.Time) int {
		t.Helper()
		var n int
		if err := s.Update(ctx, func(tx storage.Tx) error {
			var err error
			n, err = tx.SweepLiveSessions(ctx, detached, seen)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := sweep(now.Add(time.Millisecond), now); n != 1 {
		t.Fatalf("swept %d, want the one detached", n)
	}
	put("p2", later.Add(time.Minute), storage.LiveWrite{}) // p2 seen again; p1 not
	if n := sweep(now, later.Add(time.Second)); n != len(many.Sessions)-1 {
		t.Fatalf("swept %d, want p1's %d", n, len(many.Sessions)-1)
	}
	if _, _, err := s.LiveSession(ctx, "sab"); err != nil {
		t.Fatalf("p2's session swept: %v", err)
	}
	if _, _, err := s.LiveSession(ctx, "saa"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("p1's session kept: %v", err)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.DeleteLiveSessions(ctx, []string{"sab"}) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LiveSession(ctx, "sab"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("deleted session found: %v", err)
	}
	// Its last owner, not told yet, writes it again: not made again.
	if w := put("p2", later, storage.LiveWrite{Sessions: []storage.LiveSession{{ID: "sab", UserID: 126, Meta: []byte(`{"m":2}`), Place: []byte(`{"p":4}`)}}}); len(w) != 0 {
		t.Fatalf("a deleted session written again: %v", w)
	}
	if _, _, err := s.LiveSession(ctx, "sab"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a deleted session made again by its stale owner: %v", err)
	}
}
