package homeserver

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"hearth/homeserver/permission"
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

// TestBridgeMirrorAuthority: on a bridge (Config.Mirrors) nobody but a
// mirror's owner changes what Discord decides, even with every permission
// granted: guild settings, roles, channels and bans are refused with
// ErrMirrorAuthority (a missing permission); sending messages is not.
func TestBridgeMirrorAuthority(t *testing.T) {
	h, owner, person, guild := mirrorWithMember(t)
	ctx := context.Background()
	// The owner may: a channel, and every permission for @everyone.
	ch, err := h.CreateChannel(ctx, owner, guild, ChannelFields{Name: Optional[string]{Set: true, Value: "general"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.UpdateRole(ctx, owner, guild, guild, RoleFields{Permissions: Optional[permission.Set]{Set: true, Value: permission.All}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		do   func() error
	}{
		{"rename the guild", func() error {
			_, err := h.UpdateGuild(ctx, person, guild, GuildUpdate{Name: Optional[string]{Set: true, Value: "Mine now"}})
			return err
		}},
		{"make a role", func() error {
			_, err := h.CreateRole(ctx, person, guild, RoleFields{Name: Optional[string]{Set: true, Value: "mods"}})
			return err
		}},
		{"change @everyone", func() error {
			_, err := h.UpdateRole(ctx, person, guild, guild, RoleFields{Permissions: Optional[permission.Set]{Set: true, Value: 0}})
			return err
		}},
		{"make a channel", func() error {
			_, err := h.CreateChannel(ctx, person, guild, ChannelFields{Name: Optional[string]{Set: true, Value: "mine"}})
			return err
		}},
		{"rename a channel", func() error {
			_, err := h.UpdateChannel(ctx, person, ch.ID, ChannelFields{Name: Optional[string]{Set: true, Value: "renamed"}})
			return err
		}},
		{"ban the owner", func() error { return h.Ban(ctx, person, guild, owner.User.ID, BanOptions{}) }},
	} {
		if err := c.do(); !errors.Is(err, ErrMirrorAuthority) || !errors.Is(err, ErrMissingPermission) {
			t.Errorf("%s: %v, want ErrMirrorAuthority", c.what, err)
		}
	}
	if _, err := h.SendMessage(ctx, person, ch.ID, MessageCreate{Content: "hello"}); err != nil {
		t.Fatalf("a message in the mirror: %v", err)
	}
	if _, err := h.UpdateGuild(ctx, owner, guild, GuildUpdate{Name: Optional[string]{Set: true, Value: "Renamed on Discord"}}); err != nil {
		t.Fatalf("the owner's rename: %v", err)
	}
}

// TestBridgeImportThreadOnce: imports of one Discord thread racing each
// other, and one told again later (a replay after a crash), make one
// mirror thread, mapped to it in the same transaction.
func TestBridgeImportThreadOnce(t *testing.T) {
	h := newTestHomeserver(t)
	ctx := context.Background()
	b := h.Bridge()
	owner, err := b.Puppet(ctx, "9001", "hearth-bot", "", true)
	if err != nil {
		t.Fatal(err)
	}
	guild, _, err := b.Mirror(ctx, owner, "4242", "Discordia")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := h.CreateChannel(ctx, owner, guild, ChannelFields{Name: Optional[string]{Set: true, Value: "general"}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	ids := make([]snowflake.ID, n+1)
	dups := make([]bool, n+1)
	errs := make([]error, n+1)
	in := ThreadCreate{Name: "from discord", Type: storage.ChannelPublicThread}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], dups[i], errs[i] = b.ImportThread(ctx, owner, ch.ID, 0, "777", in)
		}()
	}
	wg.Wait()
	ids[n], dups[n], errs[n] = b.ImportThread(ctx, owner, ch.ID, 0, "777", in)
	made := 0
	for i := range n + 1 {
		if errs[i] != nil {
			t.Fatalf("import %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("imports %v: not one thread", ids)
		}
		if !dups[i] {
			made++
		}
	}
	if made != 1 || !dups[n] {
		t.Fatalf("%d imports made the thread (the replay's dup %v), want 1", made, dups[n])
	}
	if mapped, err := b.LocalID(ctx, BridgeChannel, "777"); err != nil || mapped != ids[0] {
		t.Fatalf("mapping = %v, %v; want %v", mapped, err, ids[0])
	}
	list, err := h.ActiveThreads(ctx, owner, guild)
	if err != nil || len(list.Threads) != 1 {
		t.Fatalf("the mirror's threads: %d, %v; want one", len(list.Threads), err)
	}
}

// In a mirror, the roles and overwrites speak for Hearth people (users of
// other servers) only: a puppet (a local user of the bridge) counts as an
// administrator short of what Discord keeps, since Discord already decided
// what its Discord user may do. So where the mirror denies @everyone
// sending, a Hearth person is refused and a puppet's message still comes.
func TestBridgeMirrorPuppetsAreAdministrators(t *testing.T) {
	h, owner, puppet, guild := mirrorWithMember(t)
	ctx := context.Background()
	// A Hearth person: a user of another server, a member of the mirror.
	remoteID := h.cfg.IDs.Next()
	if err := h.store.Update(ctx, func(tx storage.Tx) error {
		return tx.CreateUser(ctx, storage.User{ID: remoteID, Username: "bob", CreatedAt: time.Now(), Origin: "hearth.example", OriginID: "77"})
	}); err != nil {
		t.Fatal(err)
	}
	remoteUser, err := h.User(ctx, remoteID)
	if err != nil {
		t.Fatal(err)
	}
	remote := Principal{User: remoteUser}
	if _, err := h.join(ctx, remote, guild, nil); err != nil {
		t.Fatal(err)
	}
	ch, err := h.CreateChannel(ctx, owner, guild, ChannelFields{Name: Optional[string]{Set: true, Value: "rules"},
		Overwrites: Optional[[]Overwrite]{Set: true, Value: []Overwrite{{TargetID: guild, Type: permission.OverwriteRole,
			Allow: int64(permission.ViewChannel), Deny: int64(permission.SendMessages)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.SendMessage(ctx, remote, ch.ID, MessageCreate{Content: "may I?"}); !errors.Is(err, ErrMissingPermission) || errors.Is(err, ErrMirrorAuthority) {
		t.Fatalf("a Hearth person's send where @everyone may not: %v, want ErrMissingPermission", err)
	}
	if _, err := h.SendMessage(ctx, puppet, ch.ID, MessageCreate{Content: "from Discord"}); err != nil {
		t.Fatalf("a puppet's send where @everyone may not: %v", err)
	}
	if _, err := h.CreateChannel(ctx, puppet, guild, ChannelFields{Name: Optional[string]{Set: true, Value: "mine"}}); !errors.Is(err, ErrMirrorAuthority) {
		t.Fatalf("a puppet making a channel: %v, want ErrMirrorAuthority", err)
	}
}

// mirrorWithMember makes a bridge's homeserver (Mirrors set) with a mirror
// guild owned by the bot's puppet and a second puppet as its member.
func mirrorWithMember(t *testing.T) (h *Homeserver, owner, member Principal, guild snowflake.ID) {
	t.Helper()
	h = newTestHomeserver(t)
	h.cfg.Mirrors = true
	ctx := context.Background()
	b := h.Bridge()
	owner, err := b.Puppet(ctx, "9001", "hearth-bot", "", true)
	if err != nil {
		t.Fatal(err)
	}
	member, err = b.Puppet(ctx, "9002", "someone", "", false)
	if err != nil {
		t.Fatal(err)
	}
	guild, _, err = b.Mirror(ctx, owner, "4242", "Discordia")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AddMember(ctx, member, guild); err != nil {
		t.Fatal(err)
	}
	return h, owner, member, guild
}
