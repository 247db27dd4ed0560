package federation_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"hearth/federation"
	st "hearth/server/servertest"
	"hearth/snowflake"
	"hearth/storage"
)

// A peer that signs correctly cannot make the receiver keep member and
// user rows without bound: an event batch that would take a replica guild
// over MaxReplicaMembers, or that introduces more than MaxNewPeerUsers
// users, is refused whole (413 TOO_LARGE) and counted; a snapshot over the
// member bound is refused too. Under the bounds the same kinds of batches
// are taken (spec/federation.md §14, "Bounded peer state").
func TestFederationBoundsPeerState(t *testing.T) {
	st.ForEachBackend(t, testBoundsPeerState)
}

func testBoundsPeerState(t *testing.T, backend st.Backend) {
	ctx := context.Background()
	const maxMembers, maxUsers = 5, 4
	b := st.Start(t, st.Options{Backend: backend, MaxReplicaMembers: maxMembers, MaxNewPeerUsers: maxUsers})
	c := st.Start(t, st.Options{})
	C := c.ServerName()
	bob, cat := register(t, b, "bob"), register(t, c, "cat")

	cg, cch, bCG, _, pos := joinRogue(t, b, c, bob, cat)
	// The rogue's real log is delivered first (joinRogue waits for it): the forged
	// batches below follow it.
	members := func() int {
		return len(list(t, bob.do(t, "GET", "/api/v10/guilds/"+bCG+"/members?limit=100", nil)))
	}
	if n := members(); n != 2 {
		t.Fatalf("the replica has %d members, want cat and bob", n)
	}

	cgG, cchG := cg+"@"+C, cch+"@"+C
	ids := snowflake.NewGenerator(11)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	var introduced []string
	user := func() map[string]any {
		id := ids.Next().String()
		introduced = append(introduced, id)
		return map[string]any{"id": id + "@" + C, "username": "u" + id}
	}
	join := func() map[string]any {
		return map[string]any{"type": "GUILD_MEMBER_ADD", "d": map[string]any{"guild_id": cgG, "user": user(), "roles": []any{},
			"joined_at": now}}
	}
	post := func() map[string]any {
		return map[string]any{"type": "MESSAGE_CREATE", "d": map[string]any{"id": ids.Next().String() + "@" + C,
			"channel_id": cchG, "guild_id": cgG, "author": user(), "content": "hi", "type": 0, "timestamp": now,
			"mentions": []any{}, "mention_roles": []any{}, "attachments": []any{}, "embeds": []any{}}}
	}
	n := 0
	send := func(events ...map[string]any) (int, map[string]any) {
		seq := pos()
		evs := make([]map[string]any, len(events))
		for i, e := range events {
			evs[i] = map[string]any{"seq": seq + int64(i) + 1, "type": e["type"], "d": e["d"]}
		}
		n++
		introduced = nil
		return call(t, c, b, "PUT", federation.SendPath+"bounds"+strconv.Itoa(n), map[string]any{"guild": cgG, "from": seq,
			"to": seq + int64(len(evs)), "events": evs})
	}
	refused := func(name string, events ...map[string]any) {
		t.Helper()
		// introduced holds the users of events, made for this batch
		// since the last one was sent.
		users := append([]string(nil), introduced...)
		seq, before := pos(), members()
		if status, answer := send(events...); status != 413 || answer["code"] != "TOO_LARGE" {
			t.Fatalf("%s: answered %d %v, want 413 TOO_LARGE", name, status, answer)
		}
		if after := pos(); after != seq {
			t.Fatalf("%s: the replica moved from %d to %d", name, seq, after)
		}
		if after := members(); after != before {
			t.Fatalf("%s: the replica's members went from %d to %d", name, before, after)
		}
		for _, id := range users {
			if _, err := b.Store().FederatedID(ctx, C, id); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("%s: the refused batch left user %s@%s (%v)", name, id, C, err)
			}
		}
	}

	// Users: one batch may introduce at most maxUsers new ones.
	var many []map[string]any
	for range maxUsers + 1 {
		many = append(many, post())
	}
	refused("a batch of posts by five new users", many...)
	var some []map[string]any
	for range maxUsers {
		some = append(some, post())
	}
	if status, answer := send(some...); status != 200 {
		t.Fatalf("a batch of posts by four new users: %d %v", status, answer)
	}

	// Members: the replica holds at most maxMembers.
	refused("a batch taking the replica to six members", join(), join(), join(), join())
	if status, answer := send(join(), join(), join()); status != 200 {
		t.Fatalf("a batch taking the replica to five members: %d %v", status, answer)
	}
	if n := members(); n != maxMembers {
		t.Fatalf("the replica has %d members, want %d", n, maxMembers)
	}
	refused("a batch taking the replica to six members", join())

	if v := b.Metric(t, `hearth_federation_inbound_rejected_total{reason="too_many_users"}`); v != 1 {
		t.Errorf("too_many_users counted %v times, want 1", v)
	}
	if v := b.Metric(t, `hearth_federation_inbound_rejected_total{reason="too_many_members"}`); v != 2 {
		t.Errorf("too_many_members counted %v times, want 2", v)
	}

	// A snapshot over the member bound is refused: bob does not join, and
	// B keeps no replica of the guild.
	crowd := ok(t, cat.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Crowd"}), 201)["id"].(string)
	_, crowdCh := cat.guildNamed(t, "Crowd")
	code := ok(t, cat.do(t, "POST", "/api/v10/channels/"+crowdCh+"/invites", map[string]any{}), 200)["code"].(string)
	for i := range maxMembers {
		u := register(t, c, "crowd"+strconv.Itoa(i))
		ok(t, u.do(t, "POST", "/api/v10/invites/"+code, nil), 200)
	}
	reps, err := b.Store().Replicas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Expect(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+C, nil), 413, nil)
	for _, g := range list(t, bob.do(t, "GET", "/api/v10/users/@me/guilds", nil)) {
		if g["name"] == "Crowd" {
			t.Fatal("bob joined a guild over the member bound")
		}
	}
	if _, err := b.Store().FederatedID(ctx, C, crowd); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the refused snapshot left a mapping of its guild (%v)", err)
	}
	if after, err := b.Store().Replicas(ctx); err != nil || len(after) != len(reps) {
		t.Fatalf("replicas %v became %v (%v)", reps, after, err)
	}
}

// A peer that signs correctly cannot make the receiver keep a replica
// guild's channels, threads, roles or custom emoji without bound, as it
// cannot its members: a batch that would take the replica over
// MaxReplicaChannels, MaxReplicaThreads, MaxReplicaRoles or
// MaxReplicaEmojis is refused whole (413 TOO_LARGE, counted as
// too_many_objects) and keeps nothing; changing objects the replica holds
// at its bound is taken; a snapshot over a bound fails the join
// (spec/federation.md §14, "Bounded peer state").
func TestFederationBoundsReplicaObjects(t *testing.T) {
	st.ForEachBackend(t, testBoundsReplicaObjects)
}

func testBoundsReplicaObjects(t *testing.T, backend st.Backend) {
	ctx := context.Background()
	// A new guild has a category, #general and @everyone.
	const maxChannels, maxThreads, maxRoles, maxEmojis = 3, 1, 2, 2
	b := st.Start(t, st.Options{Backend: backend, MaxReplicaChannels: maxChannels, MaxReplicaThreads: maxThreads,
		MaxReplicaRoles: maxRoles, MaxReplicaEmojis: maxEmojis})
	c := st.Start(t, st.Options{})
	C := c.ServerName()
	bob, cat := register(t, b, "bob"), register(t, c, "cat")

	cg, cch, bCG, replica, pos := joinRogue(t, b, c, bob, cat)
	counts := func() storage.ObjectCounts {
		n, err := b.Store().ObjectCounts(ctx, snowflake.ID(replica))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := counts(); n != (storage.ObjectCounts{Channels: 2, Roles: 1}) {
		t.Fatalf("the replica holds %+v, want a category, #general and @everyone", n)
	}

	cgG, cchG := cg+"@"+C, cch+"@"+C
	ids := snowflake.NewGenerator(12)
	var fresh []string
	id := func() string {
		n := ids.Next().String()
		fresh = append(fresh, n)
		return n + "@" + C
	}
	channel := func() map[string]any {
		return map[string]any{"type": "CHANNEL_CREATE", "d": map[string]any{"id": id(), "guild_id": cgG, "type": 0, "name": "more"}}
	}
	role := func() map[string]any {
		return map[string]any{"type": "GUILD_ROLE_CREATE", "d": map[string]any{"guild_id": cgG,
			"role": map[string]any{"id": id(), "name": "more", "permissions": "0"}}}
	}
	thread := func() map[string]any {
		return map[string]any{"type": "THREAD_CREATE", "d": map[string]any{"id": id(), "guild_id": cgG, "parent_id": cchG,
			"type": 11, "name": "more"}}
	}
	// emojis is a GUILD_EMOJIS_UPDATE: the whole list, the kept emoji (by
	// global ID, first renamed to rename if not empty) and n new ones.
	emojis := func(keep []string, rename string, n int) map[string]any {
		var list []map[string]any
		for i, id := range keep {
			name := "kept"
			if i == 0 && rename != "" {
				name = rename
			}
			list = append(list, map[string]any{"id": id, "name": name, "available": true})
		}
		for i := range n {
			list = append(list, map[string]any{"id": id(), "name": "more", "animated": i%2 == 1, "available": true})
		}
		return map[string]any{"type": "GUILD_EMOJIS_UPDATE", "d": map[string]any{"guild_id": cgG, "emojis": list}}
	}
	n := 0
	send := func(events ...map[string]any) (int, map[string]any) {
		seq := pos()
		evs := make([]map[string]any, len(events))
		for i, e := range events {
			evs[i] = map[string]any{"seq": seq + int64(i) + 1, "type": e["type"], "d": e["d"]}
		}
		n++
		fresh = nil
		return call(t, c, b, "PUT", federation.SendPath+"objects"+strconv.Itoa(n), map[string]any{"guild": cgG, "from": seq,
			"to": seq + int64(len(evs)), "events": evs})
	}
	refused := func(name string, events ...map[string]any) {
		t.Helper()
		made := append([]string(nil), fresh...)
		seq, before := pos(), counts()
		if status, answer := send(events...); status != 413 || answer["code"] != "TOO_LARGE" {
			t.Fatalf("%s: answered %d %v, want 413 TOO_LARGE", name, status, answer)
		}
		if after := pos(); after != seq {
			t.Fatalf("%s: the replica moved from %d to %d", name, seq, after)
		}
		if after := counts(); after != before {
			t.Fatalf("%s: the replica went from %+v to %+v", name, before, after)
		}
		for _, id := range made {
			if _, err := b.Store().FederatedID(ctx, C, id); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("%s: the refused batch left a mapping of %s@%s (%v)", name, id, C, err)
			}
		}
	}
	taken := func(name string, want storage.ObjectCounts, events ...map[string]any) {
		t.Helper()
		if status, answer := send(events...); status != 200 {
			t.Fatalf("%s: answered %d %v", name, status, answer)
		}
		if got := counts(); got != want {
			t.Fatalf("%s: the replica holds %+v, want %+v", name, got, want)
		}
	}

	refused("two channels past two", channel(), channel())
	taken("a third channel", storage.ObjectCounts{Channels: 3, Roles: 1}, channel())
	refused("a fourth channel", channel())
	refused("two roles past one", role(), role())
	taken("a second role", storage.ObjectCounts{Channels: 3, Roles: 2}, role())
	refused("a third role", role())
	refused("two threads", thread(), thread())
	taken("a thread", storage.ObjectCounts{Channels: 3, Threads: 1, Roles: 2}, thread())
	refused("a second thread", thread())
	// At the bounds, what the replica holds still changes.
	taken("renaming #general at the bound", storage.ObjectCounts{Channels: 3, Threads: 1, Roles: 2},
		map[string]any{"type": "CHANNEL_UPDATE", "d": map[string]any{"id": cchG, "guild_id": cgG, "type": 0, "name": "renamed"}})
	if got := list(t, bob.do(t, "GET", "/api/v10/guilds/"+bCG+"/channels", nil)); !slices.ContainsFunc(got, func(ch map[string]any) bool {
		return ch["name"] == "renamed"
	}) {
		t.Fatalf("bob does not see #general renamed: %v", got)
	}
	// Emoji: the list replaces the replica's, static and animated count
	// together, and a batch refused for its emoji keeps nothing else of it.
	refused("a list of three emoji", emojis(nil, "", 3))
	refused("three emoji and nothing else", map[string]any{"type": "CHANNEL_UPDATE", "d": map[string]any{"id": cchG,
		"guild_id": cgG, "type": 0, "name": "lost"}}, emojis(nil, "", 3))
	held := emojis(nil, "", 2)
	var kept []string
	for _, e := range held["d"].(map[string]any)["emojis"].([]map[string]any) {
		kept = append(kept, e["id"].(string))
	}
	taken("two emoji", storage.ObjectCounts{Channels: 3, Threads: 1, Roles: 2, Emojis: 2}, held)
	refused("a third emoji beside the two", emojis(kept, "", 1))
	refused("two lists, the second over", emojis(kept, "", 0), emojis(nil, "", 3))
	taken("renaming an emoji at the bound", storage.ObjectCounts{Channels: 3, Threads: 1, Roles: 2, Emojis: 2},
		emojis(kept, "renamed", 0))
	es := list(t, bob.do(t, "GET", "/api/v10/guilds/"+bCG+"/emojis", nil))
	if len(es) != 2 || !slices.ContainsFunc(es, func(e map[string]any) bool { return e["name"] == "renamed" }) {
		t.Fatalf("bob sees the emoji %v, want two, one renamed", es)
	}
	if got := list(t, bob.do(t, "GET", "/api/v10/guilds/"+bCG+"/channels", nil)); slices.ContainsFunc(got, func(ch map[string]any) bool {
		return ch["name"] == "lost"
	}) {
		t.Fatalf("a refused batch renamed #general: %v", got)
	}
	if v := b.Metric(t, `hearth_federation_inbound_rejected_total{reason="too_many_objects"}`); v != 10 {
		t.Errorf("too_many_objects counted %v times, want 10", v)
	}

	// A guild over a bound cannot be joined: its snapshot is refused and
	// B keeps nothing of it.
	image := "data:image/png;base64," + base64.StdEncoding.EncodeToString(testPNG(t))
	for _, over := range []struct {
		name string
		fill func(guild string)
	}{
		{"Big", func(guild string) {
			for range 2 {
				ok(t, cat.do(t, "POST", "/api/v10/guilds/"+guild+"/channels", map[string]any{"name": "more"}), 201)
			}
		}},
		{"Smiley", func(guild string) {
			for i := range maxEmojis + 1 {
				ok(t, cat.do(t, "POST", "/api/v10/guilds/"+guild+"/emojis", map[string]any{"name": "e" + strconv.Itoa(i), "image": image}), 201)
			}
		}},
	} {
		g := ok(t, cat.do(t, "POST", "/api/v10/guilds", map[string]any{"name": over.name}), 201)["id"].(string)
		_, ch := cat.guildNamed(t, over.name)
		over.fill(g)
		code := ok(t, cat.do(t, "POST", "/api/v10/channels/"+ch+"/invites", map[string]any{}), 200)["code"].(string)
		reps, err := b.Store().Replicas(ctx)
		if err != nil {
			t.Fatal(err)
		}
		objects := `hearth_federation_inbound_rejected_total{reason="too_many_objects"}`
		before := b.Metric(t, objects)
		st.Expect(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+C, nil), 413, nil)
		// An answer is no request, yet refusing it is counted the same.
		if got := b.Metric(t, objects); got != before+1 {
			t.Errorf("%s: too_many_objects counted %v, then %v after the refused snapshot", over.name, before, got)
		}
		if _, err := b.Store().FederatedID(ctx, C, g); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("%s: the refused snapshot left a mapping of its guild (%v)", over.name, err)
		}
		if after, err := b.Store().Replicas(ctx); err != nil || len(after) != len(reps) {
			t.Fatalf("%s: replicas %v became %v (%v)", over.name, reps, after, err)
		}
	}
}

// joinRogue has bob of b join a guild "Rogue" that cat makes on c, and
// waits until b's replica has c's whole log. It returns the guild's ID on
// c, its channel on c, the guild's ID on b (as text and as a number) and
// the replica's position.
func joinRogue(t *testing.T, b, c *st.Server, bob, cat user) (cg, cch, bCG string, replica uint64, pos func() int64) {
	t.Helper()
	ctx := context.Background()
	C := c.ServerName()
	cg = ok(t, cat.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Rogue"}), 201)["id"].(string)
	_, cch = cat.guildNamed(t, "Rogue")
	code := ok(t, cat.do(t, "POST", "/api/v10/channels/"+cch+"/invites", map[string]any{}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+C, nil), 200)
	bCG, _ = bob.guildNamed(t, "Rogue")
	replica, err := strconv.ParseUint(bCG, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	cgID, err := strconv.ParseUint(cg, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	pos = func() int64 {
		seq, err := b.Homeserver().ReplicaPosition(ctx, snowflake.ID(replica))
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	eventually(t, "B caught up with the rogue's log", func() string {
		head, err := c.Homeserver().LogHead(ctx, snowflake.ID(cgID))
		if err != nil {
			return err.Error()
		}
		if p := pos(); p != head {
			return fmt.Sprintf("B at %d, C's log at %d", p, head)
		}
		return ""
	})
	return cg, cch, bCG, replica, pos
}
