package federation_test

import (
	"context"
	"errors"
	"fmt"
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

	cg := ok(t, cat.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Rogue"}), 201)["id"].(string)
	_, cch := cat.guildNamed(t, "Rogue")
	code := ok(t, cat.do(t, "POST", "/api/v10/channels/"+cch+"/invites", map[string]any{}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+C, nil), 200)
	bCG, _ := bob.guildNamed(t, "Rogue")
	replica, err := strconv.ParseUint(bCG, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	cgID, err := strconv.ParseUint(cg, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	pos := func() int64 {
		seq, err := b.Homeserver().ReplicaPosition(ctx, snowflake.ID(replica))
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	// The rogue's real log is delivered first: the forged batches below
	// follow it.
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

	if v := metric(t, b, `hearth_federation_inbound_rejected_total{reason="too_many_users"}`); v != 1 {
		t.Errorf("too_many_users counted %v times, want 1", v)
	}
	if v := metric(t, b, `hearth_federation_inbound_rejected_total{reason="too_many_members"}`); v != 2 {
		t.Errorf("too_many_members counted %v times, want 2", v)
	}

	// A snapshot over the member bound is refused: bob does not join, and
	// B keeps no replica of the guild.
	crowd := ok(t, cat.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Crowd"}), 201)["id"].(string)
	_, crowdCh := cat.guildNamed(t, "Crowd")
	code = ok(t, cat.do(t, "POST", "/api/v10/channels/"+crowdCh+"/invites", map[string]any{}), 200)["code"].(string)
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
