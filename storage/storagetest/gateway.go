package storagetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// testGatewayState: the saved state comes back as saved, is replaced whole
// by the next save, and an empty save clears it.
func testGatewayState(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if st, err := s.GatewayState(ctx); err != nil || len(st.Sessions) != 0 || len(st.Cursors) != 0 {
		t.Fatalf("fresh GatewayState = %+v, %v", st, err)
	}
	at := time.UnixMilli(time.Now().UnixMilli()).UTC()
	var want storage.GatewayState
	want.Cursors = map[snowflake.ID]int64{}
	for i := range 40 { // more than one multi-row statement
		want.Sessions = append(want.Sessions, storage.GatewaySession{
			ID: string(rune('a'+i%26)) + string(rune('a'+i/26)), UserID: snowflake.ID(1000 + i),
			State: []byte(`{"seq":` + string(rune('0'+i%10)) + `,"frames":["é ✓"]}`), SavedAt: at,
		})
		want.Cursors[snowflake.ID(500+i)] = int64(i * 7)
		want.Payloads = append(want.Payloads, []byte(`{"n":`+string(rune('0'+i%10))+`}`))
	}
	put := func(st storage.GatewayState) {
		t.Helper()
		if err := s.Update(ctx, func(tx storage.Tx) error { return tx.SetGatewayState(ctx, st) }); err != nil {
			t.Fatal(err)
		}
	}
	put(want)
	got, err := s.GatewayState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]storage.GatewaySession{}
	for _, g := range got.Sessions {
		byID[g.ID] = g
	}
	for _, w := range want.Sessions {
		if g := byID[w.ID]; g.UserID != w.UserID || string(g.State) != string(w.State) || !g.SavedAt.Equal(w.SavedAt) {
			t.Fatalf("session %s = %+v, want %+v", w.ID, g, w)
		}
	}
	if len(got.Sessions) != len(want.Sessions) || !reflect.DeepEqual(got.Cursors, want.Cursors) ||
		!reflect.DeepEqual(got.Payloads, want.Payloads) {
		t.Fatalf("GatewayState = %d sessions, cursors %v, payloads %q", len(got.Sessions), got.Cursors, got.Payloads)
	}
	put(storage.GatewayState{Sessions: want.Sessions[:1]})
	if got, err := s.GatewayState(ctx); err != nil || len(got.Sessions) != 1 || len(got.Cursors) != 0 || len(got.Payloads) != 0 {
		t.Fatalf("after a smaller save: %d sessions, %d cursors, %d payloads, %v", len(got.Sessions), len(got.Cursors), len(got.Payloads), err)
	}
	put(storage.GatewayState{})
	if got, err := s.GatewayState(ctx); err != nil || len(got.Sessions) != 0 {
		t.Fatalf("after clearing: %+v, %v", got, err)
	}
}

// testLiveSessions: live session rows are written by their owner only,
// keep their meta when a write carries none, pass to another owner once
// (the first claim wins), and are swept when detached too long or when
// their owner has not been seen.
func testLiveSessions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	put := func(owner string, at time.Time, ss ...storage.LiveSession) []string {
		t.Helper()
		var written []string
		err := s.Update(ctx, func(tx storage.Tx) error {
			var err error
			written, err = tx.PutLiveSessions(ctx, owner, ss, at)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return written
	}
	var many []storage.LiveSession
	for i := range 70 { // more than one multi-row statement
		many = append(many, storage.LiveSession{ID: "s" + string(rune('a'+i%26)) + string(rune('a'+i/26)),
			UserID: snowflake.ID(100 + i), Meta: []byte(`{"m":1}`), Place: []byte(`{"p":1}`), Seq: int64(i)})
	}
	if w := put("p1", now, many...); len(w) != len(many) {
		t.Fatalf("wrote %d of %d", len(w), len(many))
	}
	got, seen, err := s.LiveSession(ctx, "sab")
	if err != nil || got.UserID != 126 || got.Owner != "p1" || string(got.Meta) != `{"m":1}` || got.Seq != 26 ||
		!got.DetachedAt.IsZero() || !seen.Equal(now) {
		t.Fatalf("LiveSession = %+v seen %v, %v", got, seen, err)
	}
	// No meta: the row keeps its own; detached is recorded.
	later := now.Add(time.Second)
	if w := put("p1", later, storage.LiveSession{ID: "sab", UserID: 126, Place: []byte(`{"p":2}`), Seq: 30, DetachedAt: later}); len(w) != 1 {
		t.Fatalf("rewrite: %v", w)
	}
	if got, _, _ = s.LiveSession(ctx, "sab"); string(got.Meta) != `{"m":1}` || string(got.Place) != `{"p":2}` || !got.DetachedAt.Equal(later) {
		t.Fatalf("after a write without meta: %+v", got)
	}
	// Another owner cannot write it, until it claims it; then the first
	// cannot, and a second claim from the first owner fails.
	if w := put("p2", later, storage.LiveSession{ID: "sab", UserID: 126, Place: []byte(`{"p":9}`), Seq: 99}); len(w) != 0 {
		t.Fatalf("another owner wrote: %v", w)
	}
	claim := func(from, to string) bool {
		t.Helper()
		var ok bool
		err := s.Update(ctx, func(tx storage.Tx) error {
			var err error
			ok, err = tx.ClaimLiveSession(ctx, "sab", from, to, []byte(`{"p":3}`), 28, later)
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
	if got, _, _ = s.LiveSession(ctx, "sab"); got.Owner != "p2" || got.Seq != 28 || !got.DetachedAt.IsZero() || string(got.Place) != `{"p":3}` {
		t.Fatalf("after the claim: %+v", got)
	}
	if w := put("p1", later, storage.LiveSession{ID: "sab", UserID: 126, Place: []byte(`{"p":9}`), Seq: 99}); len(w) != 0 {
		t.Fatalf("the old owner wrote: %v", w)
	}
	// Sweep: p1 was last seen at later, p2 too. A detached one of p2 goes
	// when detached long ago; then all of p1's when p1 is not seen since.
	put("p2", later, storage.LiveSession{ID: "gone", UserID: 1, Meta: []byte(`{}`), Place: []byte(`{}`), DetachedAt: now})
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
	put("p2", later.Add(time.Minute)) // p2 seen again; p1 not
	if n := sweep(now, later.Add(time.Second)); n != len(many)-1 {
		t.Fatalf("swept %d, want p1's %d", n, len(many)-1)
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
}
