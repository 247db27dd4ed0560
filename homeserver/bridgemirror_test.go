package homeserver

import (
	"context"
	"errors"
	"sync"
	"testing"

	"hearth/snowflake"
	"hearth/storage"
)

// TestBridgeMirrorOnce: links of one Discord guild racing each other make
// one mirror, without default channels; a mirror whose mapping cannot be
// written leaves no guild behind (the two commit together).
func TestBridgeMirrorOnce(t *testing.T) {
	h := newTestHomeserver(t)
	ctx := context.Background()
	b := h.Bridge()
	owner, err := b.Puppet(ctx, "9001", "hearth-bot", "", true)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	ids := make([]snowflake.ID, n)
	made := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], made[i], errs[i] = b.Mirror(ctx, owner, "4242", "Discordia")
		}()
	}
	wg.Wait()
	madeN := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("mirror %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("mirrors %v: not one guild", ids)
		}
		if made[i] {
			madeN++
		}
	}
	if madeN != 1 {
		t.Fatalf("%d calls say they made the mirror, want 1", madeN)
	}
	if mapped, err := b.LocalID(ctx, BridgeGuild, "4242"); err != nil || mapped != ids[0] {
		t.Fatalf("mapping = %v, %v; want %v", mapped, err, ids[0])
	}
	chans, err := h.GuildChannels(ctx, owner, ids[0])
	if err != nil || len(chans) != 0 {
		t.Fatalf("the mirror's channels: %v, %v; want none", chans, err)
	}

	// The mapping fails inside the transaction: no guild is left.
	boom := errors.New("boom")
	_, err = h.createGuild(ctx, owner, GuildCreate{Name: "Orphan"}, false, func(context.Context, storage.Tx, storage.Guild) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("create with a failing mapping = %v", err)
	}
	gs, err := h.store.UserGuilds(ctx, owner.User.ID)
	if err != nil || len(gs) != 1 {
		t.Fatalf("the owner's guilds after a failed mirror: %d, %v; want only the mirror", len(gs), err)
	}
}
