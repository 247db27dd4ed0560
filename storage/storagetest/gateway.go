package storagetest

import (
	"context"
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
