package federation_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/federation"
	st "hearth/server/servertest"
	"hearth/snowflake"
	"hearth/storage"
)

// A rogue peer signs its requests correctly and still tries, through the
// replicas the receiver holds of it (a guild bob joined, a DM it opens),
// to change what belongs to the receiver or to a third server. Each try is
// refused as a whole (403), and afterwards nothing the receiver's client
// API shows has changed, the rogue's replica has not moved, and no replica
// or ID mapping was kept for it. The rogue is a real homeserver with its
// own key (spec/federation.md §10, §12.3, §14).
func TestFederationOwnership(t *testing.T) {
	st.ForEachBackend(t, testOwnership)
}

func testOwnership(t *testing.T, backend st.Backend) {
	ctx := context.Background()
	a, b, c := st.Start(t, st.Options{}), st.Start(t, st.Options{Backend: backend}), st.Start(t, st.Options{})
	A, B, C := a.ServerName(), b.ServerName(), c.ServerName()
	ann, bob, cat := register(t, a, "ann"), register(t, b, "bob"), register(t, c, "cat")

	// B's own guild: a role, an emoji and a message of bob's.
	bg := ok(t, bob.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Home"}), 201)["id"].(string)
	_, bch := bob.guildNamed(t, "Home")
	brole := ok(t, bob.do(t, "POST", "/api/v10/guilds/"+bg+"/roles", map[string]any{"name": "mods"}), 200)["id"].(string)
	bemoji := ok(t, bob.do(t, "POST", "/api/v10/guilds/"+bg+"/emojis", map[string]any{"name": "blob",
		"image": "data:image/png;base64," + base64.StdEncoding.EncodeToString(testPNG(t))}), 201)["id"].(string)
	bmsg := ok(t, bob.do(t, "POST", "/api/v10/channels/"+bch+"/messages", map[string]any{"content": "b-secret"}), 200)["id"].(string)

	// A's guild, which bob joined: B holds a replica of it.
	ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Away"}), 201)
	_, ach := ann.guildNamed(t, "Away")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+ach+"/invites", map[string]any{}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+A, nil), 200)
	amsg := ok(t, ann.do(t, "POST", "/api/v10/channels/"+ach+"/messages", map[string]any{"content": "a-msg"}), 200)["id"].(string)
	bAG, bAch := bob.guildNamed(t, "Away")
	var annOnB string
	for _, m := range list(t, bob.do(t, "GET", "/api/v10/guilds/"+bAG+"/members?limit=100", nil)) {
		if u := m["user"].(map[string]any); u["username"] == "ann" {
			annOnB = u["id"].(string)
		}
	}
	eventually(t, "B has A's message", func() string {
		if got := bob.contents(t, bAch, 10); strings.Join(got, "|") != "a-msg" {
			return fmt.Sprintf("B has %q", got)
		}
		return ""
	})

	// The rogue's own guild, which bob joined too: B holds a replica of
	// it, through which the rogue speaks with authority over its guild.
	cg := ok(t, cat.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Rogue"}), 201)["id"].(string)
	_, cch := cat.guildNamed(t, "Rogue")
	code = ok(t, cat.do(t, "POST", "/api/v10/channels/"+cch+"/invites", map[string]any{}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+C, nil), 200)
	bCG, bCch := bob.guildNamed(t, "Rogue")
	replica, err := strconv.ParseUint(bCG, 10, 64)
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

	cgG, cchG := cg+"@"+C, cch+"@"+C
	catObj := map[string]any{"id": cat.id + "@" + C, "username": "cat"}
	bobObj := map[string]any{"id": bob.id + "@" + B, "username": "bob"}
	ids := snowflake.NewGenerator(7)
	fresh := func() string { return ids.Next().String() + "@" + C }
	now := time.Now().UTC().Format(time.RFC3339Nano)
	ev := func(typ string, d map[string]any) map[string]any { return map[string]any{"type": typ, "d": d} }
	message := func(channel string, extra map[string]any) map[string]any {
		d := map[string]any{"id": fresh(), "channel_id": channel, "author": catObj, "content": "sneak", "type": 0,
			"timestamp": now, "mentions": []any{}, "mention_roles": []any{}, "attachments": []any{}, "embeds": []any{}}
		for k, v := range extra {
			d[k] = v
		}
		return ev("MESSAGE_CREATE", d)
	}
	// sneak is a legitimate event of the rogue's guild, put first in each
	// batch: a refused batch must not keep it either.
	sneak := func() map[string]any { return message(cchG, map[string]any{"guild_id": cgG}) }
	dm := func(recipients ...map[string]any) (string, map[string]any) {
		id := fresh()
		rs := make([]any, len(recipients))
		for i, r := range recipients {
			rs[i] = r
		}
		return id, ev("CHANNEL_CREATE", map[string]any{"id": id, "type": 1, "recipients": rs})
	}
	rebadged := func(id string) map[string]any {
		return map[string]any{"id": id, "username": "pwned", "public_flags": 1 | 2 | 1<<49 | 1<<52, "accent_color": 1, "banner": "abc",
			"avatar": strings.Repeat("ab", 32), "hearth_bridged": true,
			"hearth_profile": map[string]any{"bio": "pwned", "pronouns": "pwn"}}
	}
	bmsgG, bchG, bgG := bmsg+"@"+B, bch+"@"+B, bg+"@"+B
	amsgG, achG := amsg+"@"+A, ach+"@"+A

	// bob writes in the rogue's guild: his act reaches the rogue, which
	// logs his message naming the act. The rogue may broadcast that, but
	// not make up writes of bob's (§14, "Writes in a user's name").
	ok(t, bob.do(t, "POST", "/api/v10/channels/"+bCch+"/messages", map[string]any{"content": "bob-real"}), 200)
	var bobMsgG, bobAct string
	{
		cgID, err := strconv.ParseUint(cg, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := c.Store().Events(ctx, snowflake.ID(cgID), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			var m struct {
				ID      string `json:"id"`
				Content string `json:"content"`
			}
			if e.Type == "MESSAGE_CREATE" && json.Unmarshal(e.Payload, &m) == nil && m.Content == "bob-real" {
				bobMsgG, bobAct = m.ID+"@"+C, e.Act
			}
		}
		if !strings.HasSuffix(bobAct, "@"+B) {
			t.Fatalf("the rogue logged bob's message as %q with act %q, want an act of %s", bobMsgG, bobAct, B)
		}
	}
	asBob := func(e map[string]any, act string) map[string]any {
		if act != "" {
			e["act"] = act
		}
		return e
	}
	inventedAct := ids.Next().String() + "@" + B
	dmAsBob, openAsBob := dm(catObj, bobObj)
	bobEdit := func() map[string]any {
		return ev("MESSAGE_UPDATE", map[string]any{"id": bobMsgG, "channel_id": cchG, "guild_id": cgG, "author": bobObj,
			"content": "pwned", "type": 0, "timestamp": now})
	}
	bobReact := func() map[string]any {
		return ev("MESSAGE_REACTION_ADD", map[string]any{"user_id": bobObj["id"], "channel_id": cchG, "guild_id": cgG,
			"message_id": bobMsgG, "emoji": map[string]any{"name": "🔥"}})
	}

	type attempt struct {
		name string
		// events go to the rogue's guild replica; with dm set, they open
		// that DM channel instead (from 0).
		events []map[string]any
		dm     string
		// ephemeral, when set, is sent instead of a transaction.
		ephemeral map[string]any
		status    int
		// noMapping: even an accepted batch maps none of its new IDs.
		noMapping bool
	}
	dmAttack := func(name string, recipients []map[string]any, then ...map[string]any) attempt {
		id, open := dm(recipients...)
		return attempt{name: name, dm: id, events: append([]map[string]any{open}, then...), status: 403}
	}
	deleteB := ev("MESSAGE_DELETE", map[string]any{"id": bmsgG, "channel_id": bchG, "guild_id": bgG})
	attempts := []attempt{
		dmAttack("DM naming no user of B", []map[string]any{catObj}),
		dmAttack("DM deleting a message of B's guild (the reported attack)", []map[string]any{catObj}, deleteB),
		dmAttack("DM with bob deleting a message of B's guild", []map[string]any{catObj, bobObj}, deleteB),
		dmAttack("DM with bob deleting a message of A's guild", []map[string]any{catObj, bobObj},
			ev("MESSAGE_DELETE", map[string]any{"id": amsgG, "channel_id": achG})),
		{name: "delete a message of B's guild", events: []map[string]any{sneak(), deleteB}, status: 403},
		{name: "edit a message of B's guild", events: []map[string]any{sneak(), ev("MESSAGE_UPDATE", map[string]any{
			"id": bmsgG, "channel_id": bchG, "author": bobObj, "content": "pwned", "type": 0, "timestamp": now})}, status: 403},
		{name: "pin a message of B's guild", events: []map[string]any{sneak(), ev("MESSAGE_UPDATE", map[string]any{
			"id": bmsgG, "channel_id": bchG, "author": bobObj, "content": "b-secret", "type": 0, "timestamp": now, "pinned": true})}, status: 403},
		{name: "react to a message of B's guild", events: []map[string]any{sneak(), ev("MESSAGE_REACTION_ADD", map[string]any{
			"user_id": catObj["id"], "channel_id": bchG, "message_id": bmsgG, "emoji": map[string]any{"name": "🔥"}})}, status: 403},
		{name: "clear reactions of a message of B's guild", events: []map[string]any{sneak(), ev("MESSAGE_REACTION_REMOVE_ALL", map[string]any{
			"channel_id": bchG, "message_id": bmsgG})}, status: 403},
		{name: "bulk-delete in B's channel", events: []map[string]any{sneak(), ev("MESSAGE_DELETE_BULK", map[string]any{
			"ids": []string{bmsgG}, "channel_id": bchG})}, status: 403},
		{name: "post in B's channel", events: []map[string]any{sneak(), message(bchG, nil)}, status: 403},
		{name: "reply to a message of B's guild", events: []map[string]any{sneak(), message(cchG, map[string]any{
			"message_reference": map[string]any{"message_id": bmsgG, "channel_id": bchG}})}, status: 403},
		{name: "delete a message of A's guild", events: []map[string]any{sneak(), ev("MESSAGE_DELETE", map[string]any{
			"id": amsgG, "channel_id": achG})}, status: 403},
		{name: "edit B's @everyone", events: []map[string]any{sneak(), ev("GUILD_ROLE_UPDATE", map[string]any{"guild_id": cgG,
			"role": map[string]any{"id": bgG, "name": "@everyone", "permissions": "8"}})}, status: 403},
		{name: "delete B's role", events: []map[string]any{sneak(), ev("GUILD_ROLE_DELETE", map[string]any{"guild_id": cgG,
			"role_id": brole + "@" + B})}, status: 403},
		{name: "rename B's channel", events: []map[string]any{sneak(), ev("CHANNEL_UPDATE", map[string]any{"id": bchG, "type": 0,
			"name": "pwned", "guild_id": cgG})}, status: 403},
		{name: "overwrite on B's channel", events: []map[string]any{sneak(), ev("CHANNEL_UPDATE", map[string]any{"id": cchG, "type": 0,
			"name": "general", "guild_id": cgG, "permission_overwrites": []any{map[string]any{"id": bgG, "type": 0, "allow": "0", "deny": "1024"}}})}, status: 403},
		{name: "delete B's channel", events: []map[string]any{sneak(), ev("CHANNEL_DELETE", map[string]any{"id": bchG, "type": 0})}, status: 403},
		{name: "delete A's channel", events: []map[string]any{sneak(), ev("CHANNEL_DELETE", map[string]any{"id": achG, "type": 0})}, status: 403},
		{name: "rename B's emoji", events: []map[string]any{sneak(), ev("GUILD_EMOJIS_UPDATE", map[string]any{"guild_id": cgG,
			"emojis": []any{map[string]any{"id": bemoji + "@" + B, "name": "pwned"}}})}, status: 403},
		{name: "give bob B's role in B's guild", events: []map[string]any{sneak(), ev("GUILD_MEMBER_UPDATE", map[string]any{
			"guild_id": bgG, "user": bobObj, "roles": []string{brole + "@" + B}})}, status: 403},
		{name: "rename B's guild", events: []map[string]any{sneak(), ev("GUILD_UPDATE", map[string]any{"id": bgG, "name": "pwned",
			"owner_id": catObj["id"]})}, status: 403},
		{name: "name B's channel as system channel", events: []map[string]any{sneak(), ev("GUILD_UPDATE", map[string]any{"id": cgG,
			"name": "Rogue", "owner_id": catObj["id"], "system_channel_id": bchG})}, status: 403},
		{name: "thread under B's channel", events: []map[string]any{sneak(), ev("THREAD_CREATE", map[string]any{"id": fresh(),
			"guild_id": cgG, "parent_id": bchG, "type": 11, "name": "t"})}, status: 403},
		{name: "post as bob with no act", events: []map[string]any{sneak(), message(cchG, map[string]any{"guild_id": cgG, "author": bobObj})}, status: 403},
		{name: "post as bob with an act B never sent", events: []map[string]any{sneak(),
			asBob(message(cchG, map[string]any{"guild_id": cgG, "author": bobObj}), inventedAct)}, status: 403},
		{name: "post as bob again with the act of his real post", events: []map[string]any{sneak(),
			asBob(message(cchG, map[string]any{"guild_id": cgG, "author": bobObj}), bobAct)}, status: 403},
		{name: "edit bob's message with no act", events: []map[string]any{sneak(), bobEdit()}, status: 403},
		{name: "edit bob's message with the act of his post", events: []map[string]any{sneak(), asBob(bobEdit(), bobAct)}, status: 403},
		{name: "react as bob", events: []map[string]any{sneak(), bobReact()}, status: 403},
		{name: "react as bob with an act B never sent", events: []map[string]any{sneak(), asBob(bobReact(), inventedAct)}, status: 403},
		{name: "start a thread as bob", events: []map[string]any{sneak(), ev("THREAD_CREATE", map[string]any{"id": fresh(),
			"guild_id": cgG, "parent_id": cchG, "type": 11, "name": "t", "owner_id": bobObj["id"]})}, status: 403},
		{name: "DM with bob posting as bob", dm: dmAsBob, events: []map[string]any{openAsBob,
			message(dmAsBob, map[string]any{"author": bobObj, "content": "hi from bob, not"})}, status: 403},
		// A batch naming what does not exist (a foreign key fails) is the
		// rogue's fault, refused so that it stops sending it, not 503.
		{name: "give cat a role that does not exist", events: []map[string]any{sneak(), ev("GUILD_MEMBER_UPDATE", map[string]any{
			"guild_id": cgG, "user": catObj, "roles": []string{fresh()}})}, status: 403},
		{name: "typing in B's channel", ephemeral: map[string]any{"guild": cgG, "type": "TYPING_START",
			"d": map[string]any{"channel_id": bchG, "guild_id": cgG, "user_id": catObj["id"]}}, status: 403},
		// A delete of an object the replica never had is accepted and
		// changes nothing, and keeps no mapping for the unknown IDs.
		{name: "delete an unknown message", events: []map[string]any{ev("MESSAGE_DELETE", map[string]any{
			"id": fresh(), "channel_id": cchG, "guild_id": cgG})}, status: 200, noMapping: true},
		{name: "delete an unknown channel and role", events: []map[string]any{ev("CHANNEL_DELETE", map[string]any{
			"id": fresh(), "type": 0, "guild_id": cgG}), ev("GUILD_ROLE_DELETE", map[string]any{"guild_id": cgG, "role_id": fresh()})},
			status: 200, noMapping: true},
		// A user's profile changes only from the user's own server. The
		// rogue's copy of another server's user may lag behind that user's
		// renames, so the profile is ignored rather than the batch refused.
		{name: "rename bob", events: []map[string]any{ev("GUILD_MEMBER_UPDATE", map[string]any{"guild_id": cgG,
			"user": map[string]any{"id": bobObj["id"], "username": "pwned", "global_name": "pwned"}, "roles": []any{}})}, status: 200},
		{name: "rename ann", events: []map[string]any{ev("GUILD_MEMBER_UPDATE", map[string]any{"guild_id": cgG,
			"user": map[string]any{"id": ann.id + "@" + A, "username": "pwned", "global_name": "pwned", "bot": true}, "roles": []any{}})}, status: 200},
		// Nor do badges, bio, pronouns, accent colour or banner.
		{name: "re-badge bob", events: []map[string]any{ev("GUILD_MEMBER_UPDATE", map[string]any{"guild_id": cgG,
			"user": rebadged(bobObj["id"].(string)), "roles": []any{}})}, status: 200},
		{name: "re-badge ann", events: []map[string]any{ev("GUILD_MEMBER_UPDATE", map[string]any{"guild_id": cgG,
			"user": rebadged(ann.id + "@" + A), "roles": []any{}})}, status: 200},
	}

	// state is what B's client API shows of everything the rogue may not
	// touch (its own guild's members aside, which it may change).
	state := func() string {
		var sb strings.Builder
		for _, p := range []string{"/users/@me", "/guilds/" + bg, "/guilds/" + bg + "/roles", "/guilds/" + bg + "/channels",
			"/guilds/" + bg + "/emojis", "/guilds/" + bg + "/members?limit=100", "/channels/" + bch + "/messages?limit=50",
			"/channels/" + bch + "/pins", "/guilds/" + bAG + "/members?limit=100", "/guilds/" + bAG + "/roles",
			"/guilds/" + bAG + "/channels", "/channels/" + bAch + "/messages?limit=50", "/guilds/" + bCG + "/channels",
			"/guilds/" + bCG + "/roles", "/channels/" + bCch + "/messages?limit=50", "/users/@me/channels"} {
			r := bob.do(t, "GET", "/api/v10"+p, nil)
			fmt.Fprintf(&sb, "%s %d %s\n", p, r.Status, r.Body)
		}
		// Profiles: bob's own, and ann's (a third server's) as B mirrors it.
		for _, id := range []string{bob.id, annOnB} {
			r := bob.do(t, "GET", "/api/v10/users/"+id+"/profile", nil)
			fmt.Fprintf(&sb, "profile %s %d %s\n", id, r.Status, r.Body)
		}
		return sb.String()
	}
	store := b.Store()
	replicas := func() string {
		rs, err := store.Replicas(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			if r.LogID != snowflake.ID(replica) { // the rogue's guild's position moves with accepted batches
				out = append(out, fmt.Sprintf("%d:%s", r.LogID, r.Origin))
			}
		}
		return strings.Join(out, ",")
	}
	globalRE := regexp.MustCompile(`(\d{1,20})@([A-Za-z0-9.:\-\[\]]+)`)
	unmapped := func(body any) []storage.GlobalID {
		raw, _ := json.Marshal(body)
		var out []storage.GlobalID
		for _, m := range globalRE.FindAllStringSubmatch(string(raw), -1) {
			if m[2] == B {
				continue
			}
			_, err := store.FederatedID(ctx, m[2], m[1])
			if errors.Is(err, storage.ErrNotFound) {
				out = append(out, storage.GlobalID{Origin: m[2], OriginID: m[1]})
			} else if err != nil {
				t.Fatal(err)
			}
		}
		return out
	}

	// forbidden is how many requests B refused as overstepping: each
	// refusal is counted once, and nothing taken is.
	forbidden := func() float64 {
		return max(0, b.Metric(t, `hearth_federation_inbound_rejected_total{reason="forbidden"}`))
	}
	try := func(i int, at attempt) {
		t.Run(at.name, func(t *testing.T) {
			before, reps, seq, counted := state(), replicas(), pos(), forbidden()
			var body map[string]any
			path := federation.SendPath + "rogue" + strconv.Itoa(i) + "." + strconv.FormatInt(time.Now().UnixNano(), 10)
			switch {
			case at.ephemeral != nil:
				body, path = at.ephemeral, federation.EphemeralPath
			case at.dm != "":
				evs := make([]map[string]any, len(at.events))
				for j, e := range at.events {
					evs[j] = map[string]any{"seq": j + 1, "type": e["type"], "d": e["d"]}
					if e["act"] != nil {
						evs[j]["act"] = e["act"]
					}
				}
				body = map[string]any{"guild": at.dm, "from": 0, "to": len(evs), "events": evs}
			default:
				evs := make([]map[string]any, len(at.events))
				for j, e := range at.events {
					evs[j] = map[string]any{"seq": seq + int64(j) + 1, "type": e["type"], "d": e["d"]}
					if e["act"] != nil {
						evs[j]["act"] = e["act"]
					}
				}
				body = map[string]any{"guild": cgG, "from": seq, "to": seq + int64(len(evs)), "events": evs}
			}
			fresh := unmapped(body)
			status, answer := call(t, c, b, "PUT", path, body)
			if status != at.status {
				t.Fatalf("answered %d %v, want %d", status, answer, at.status)
			}
			if at.status == 403 && answer["code"] != "FORBIDDEN" {
				t.Fatalf("answered %d %v, want FORBIDDEN", status, answer)
			}
			want := counted
			if at.status == 403 {
				want++
			}
			if got := forbidden(); got != want {
				t.Fatalf("B counts %v forbidden requests after this one, want %v", got, want)
			}
			if after := state(); after != before {
				t.Fatalf("B's state changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if after := replicas(); after != reps {
				t.Fatalf("replicas %q became %q", reps, after)
			}
			if at.status != 200 {
				if after := pos(); after != seq {
					t.Fatalf("the rogue's replica moved from %d to %d", seq, after)
				}
			}
			if at.status != 200 || at.noMapping {
				for _, g := range fresh {
					if _, err := store.FederatedID(ctx, g.Origin, g.OriginID); !errors.Is(err, storage.ErrNotFound) {
						t.Fatalf("the request left a mapping of %s@%s (%v)", g.OriginID, g.Origin, err)
					}
				}
			}
		})
	}
	for i, at := range attempts {
		if at.status != 200 {
			try(i, at)
		}
	}

	// The refusals did not wedge the rogue's replica: its real events
	// still reach bob. (Checked before the accepted batches below, which
	// take sequence numbers the rogue's real log then reuses.)
	ok(t, cat.do(t, "POST", "/api/v10/channels/"+cch+"/messages", map[string]any{"content": "still here"}), 200)
	eventually(t, "B has the rogue's real message", func() string {
		if got := bob.contents(t, bCch, 10); !strings.Contains(strings.Join(got, "|"), "still here") {
			return fmt.Sprintf("B has %q", got)
		}
		return ""
	})
	for i, at := range attempts {
		if at.status == 200 {
			try(i, at)
		}
	}
	// Nor do the events B logged for its own clients show bob renamed or
	// re-badged: his user object there is B's.
	evs, err := store.Events(ctx, snowflake.ID(replica), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range evs {
		var d struct {
			User map[string]any `json:"user"`
		}
		if e.Type != "GUILD_MEMBER_UPDATE" || json.Unmarshal(e.Payload, &d) != nil {
			continue
		}
		// Nor ann's avatar or bridged mark, which are A's to set.
		if d.User["id"] == annOnB && (d.User["avatar"] != nil || d.User["hearth_bridged"] != nil) {
			t.Errorf("B's log shows ann as %v", d.User)
		}
		if d.User["id"] != bob.id {
			continue
		}
		seen++
		if d.User["username"] != "bob" || d.User["public_flags"] != float64(0) || d.User["hearth_profile"] != nil || d.User["accent_color"] != nil ||
			d.User["avatar"] != nil || d.User["hearth_bridged"] != nil {
			t.Errorf("B's log shows bob as %v", d.User)
		}
	}
	if seen < 2 {
		t.Errorf("B logged %d of the rogue's updates of bob, want 2", seen)
	}
}

// A rogue origin's answers are held to the same rules as its transactions:
// a join snapshot, a member page or a history page that names the
// receiver's objects (or a third server's) where only the origin's own
// belong is refused whole and leaves nothing behind. The rogue here is a plain HTTP server standing for
// a homeserver: it answers B's signed requests with crafted state.
func TestFederationOwnershipOfAnswers(t *testing.T) {
	st.ForEachBackend(t, testOwnershipOfAnswers)
}

func testOwnershipOfAnswers(t *testing.T, backend st.Backend) {
	ctx := context.Background()
	b := st.Start(t, st.Options{Backend: backend})
	B := b.ServerName()
	bob := register(t, b, "bob")
	bg := ok(t, bob.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Home"}), 201)["id"].(string)
	_, bch := bob.guildNamed(t, "Home")
	brole := ok(t, bob.do(t, "POST", "/api/v10/guilds/"+bg+"/roles", map[string]any{"name": "mods"}), 200)["id"].(string)
	bmsg := ok(t, bob.do(t, "POST", "/api/v10/channels/"+bch+"/messages", map[string]any{"content": "b-secret"}), 200)["id"].(string)
	bgG, bchG, bmsgG, broleG := bg+"@"+B, bch+"@"+B, bmsg+"@"+B, brole+"@"+B

	var mu sync.Mutex
	var snapshot, history any
	// members answers the member pages of a guild (by global ID) after a
	// point; asked records each request as "guild after".
	var members func(guild, after string) any
	var asked []string
	rogue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == federation.JoinPath:
			_ = json.NewEncoder(w).Encode(snapshot)
		case strings.HasSuffix(r.URL.Path, "/members"):
			guild, after := strings.Split(r.URL.Path, "/")[5], r.URL.Query().Get("after")
			asked = append(asked, guild+" "+after)
			if members != nil {
				_ = json.NewEncoder(w).Encode(members(guild, after))
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"members": []any{}, "next": ""})
		case strings.HasSuffix(r.URL.Path, "/events"):
			after, _ := strconv.Atoi(r.URL.Query().Get("after"))
			_ = json.NewEncoder(w).Encode(map[string]any{"guild": strings.Split(r.URL.Path, "/")[5], "from": after, "to": after, "events": []any{}})
		case strings.HasSuffix(r.URL.Path, "/messages"):
			_ = json.NewEncoder(w).Encode(history)
		default:
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": "NOT_FOUND", "message": "no"})
		}
	}))
	t.Cleanup(rogue.Close)
	F := strings.TrimPrefix(rogue.URL, "http://")
	ids := snowflake.NewGenerator(9)
	fresh := func() string { return ids.Next().String() + "@" + F }
	now := time.Now().UTC().Format(time.RFC3339Nano)
	eve := map[string]any{"id": fresh(), "username": "eve"}

	// snap is a well-formed snapshot of a rogue guild bob joins, changed
	// by mod.
	type parts struct {
		guild   map[string]any
		channel map[string]any
		members []any
	}
	var gid, ch, floor string
	snap := func(mod func(p *parts)) any {
		gid, ch, floor = fresh(), fresh(), fresh()
		p := parts{
			channel: map[string]any{"id": ch, "type": 0, "guild_id": gid, "name": "general", "position": 0,
				"permission_overwrites": []any{}, "last_message_id": floor},
			members: []any{
				map[string]any{"user": eve, "roles": []any{}, "joined_at": now},
				map[string]any{"user": map[string]any{"id": bob.id + "@" + B, "username": "bob"}, "roles": []any{}, "joined_at": now},
			},
		}
		p.guild = map[string]any{"id": gid, "name": "Fake", "owner_id": eve["id"], "verification_level": 0, "features": []any{},
			"roles":  []any{map[string]any{"id": gid, "name": "@everyone", "permissions": "1071698660929", "position": 0}},
			"emojis": []any{}, "threads": []any{}, "joined_at": now, "member_count": 2}
		if mod != nil {
			mod(&p)
		}
		p.guild["channels"] = []any{p.channel}
		return map[string]any{"seq": 0, "guild": p.guild, "members": p.members,
			"invite": map[string]any{"type": 0, "code": "fake", "guild": map[string]any{"id": gid, "name": "Fake"}, "guild_id": gid,
				"channel": map[string]any{"id": ch, "name": "general", "type": 0}, "inviter": eve}}
	}

	state := func() string {
		var sb strings.Builder
		for _, p := range []string{"/users/@me", "/users/@me/guilds", "/guilds/" + bg + "/roles", "/guilds/" + bg + "/channels",
			"/guilds/" + bg + "/members?limit=100", "/channels/" + bch + "/messages?limit=50"} {
			r := bob.do(t, "GET", "/api/v10"+p, nil)
			fmt.Fprintf(&sb, "%s %d %s\n", p, r.Status, r.Body)
		}
		r := bob.do(t, "GET", "/api/v10/users/"+bob.id+"/profile", nil)
		fmt.Fprintf(&sb, "profile %d %s\n", r.Status, r.Body)
		return sb.String()
	}
	store := b.Store()
	mapped := func(g string) bool {
		raw, origin, _ := strings.Cut(g, "@")
		_, err := store.FederatedID(ctx, origin, raw)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	for _, tc := range []struct {
		name string
		mod  func(p *parts)
	}{
		{"a channel of B's guild", func(p *parts) { p.channel["id"] = bchG }},
		{"B's @everyone among its roles", func(p *parts) {
			p.guild["roles"] = append(p.guild["roles"].([]any), map[string]any{"id": bgG, "name": "@everyone", "permissions": "8"})
		}},
		{"a member with B's role", func(p *parts) {
			p.members = append(p.members, map[string]any{"user": map[string]any{"id": fresh(), "username": "mallory"},
				"roles": []any{broleG}, "joined_at": now})
		}},
		{"B's channel as system channel", func(p *parts) { p.guild["system_channel_id"] = bchG }},
		{"a channel of a third server", func(p *parts) { p.channel["id"] = "1@c.example" }},
	} {
		t.Run("snapshot naming "+tc.name, func(t *testing.T) {
			mu.Lock()
			snapshot = snap(tc.mod)
			mu.Unlock()
			before := state()
			st.Expect(t, bob.do(t, "POST", "/api/v10/invites/fake@"+F, nil), 403, st.Code(50001))
			if after := state(); after != before {
				t.Fatalf("B's state changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			for _, g := range []string{gid, ch, eve["id"].(string)} {
				if mapped(g) {
					t.Fatalf("the refused snapshot left a mapping of %s", g)
				}
			}
			if reps, err := store.Replicas(ctx); err != nil || len(reps) != 0 {
				t.Fatalf("replicas %v, %v", reps, err)
			}
		})
	}

	// A well-formed snapshot is taken: bob is in the rogue's guild, whose
	// channel's history from before the join is read from the rogue.
	mu.Lock()
	snapshot = snap(nil)
	mu.Unlock()
	ok(t, bob.do(t, "POST", "/api/v10/invites/fake@"+F, nil), 200)
	_, fch := bob.guildNamed(t, "Fake")
	old := func(extra map[string]any) any {
		m := map[string]any{"id": floor, "channel_id": ch, "author": eve, "content": "old", "type": 0, "timestamp": now,
			"mentions": []any{}, "mention_roles": []any{}, "attachments": []any{}, "embeds": []any{}}
		for k, v := range extra {
			m[k] = v
		}
		return []any{m}
	}
	for _, tc := range []struct {
		name  string
		extra map[string]any
	}{
		{"a reply to B's private message", map[string]any{"message_reference": map[string]any{"message_id": bmsgG, "channel_id": bchG}}},
		{"B's role mentioned", map[string]any{"mention_roles": []any{broleG}}},
		{"a message in B's channel", map[string]any{"channel_id": bchG}},
	} {
		t.Run("history naming "+tc.name, func(t *testing.T) {
			mu.Lock()
			history = old(tc.extra)
			mu.Unlock()
			before := state()
			if got := bob.contents(t, fch, 50); len(got) != 0 {
				t.Fatalf("bob reads %q", got)
			}
			if after := state(); after != before {
				t.Fatalf("B's state changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if mapped(floor) {
				t.Fatalf("the refused history left a mapping of %s", floor)
			}
		})
	}
	// The same page, well-formed, is stored: the refusals were of what it
	// named, not of history.
	mu.Lock()
	history = old(nil)
	mu.Unlock()
	if got := bob.contents(t, fch, 50); strings.Join(got, "|") != "old" {
		t.Fatalf("bob reads %q, want the rogue's old message", got)
	}

	// A member page of a new replica (fetched in the background after the
	// join, one task after another) that names B's objects, or a third
	// server's, where only the rogue's belong is refused whole: nothing of
	// it is kept and its next page is not asked for. A second join's
	// well-formed page, taken after it, says the first was dealt with.
	replicaMembers := func(guild string) []string {
		var names []string
		for _, m := range list(t, bob.do(t, "GET", "/api/v10/guilds/"+guild+"/members?limit=100", nil)) {
			names = append(names, m["user"].(map[string]any)["username"].(string))
		}
		return names
	}
	join := func() string {
		return ok(t, bob.do(t, "POST", "/api/v10/invites/fake@"+F, nil), 200)["guild"].(map[string]any)["id"].(string)
	}
	for _, tc := range []struct {
		name  string
		roles []any
	}{
		{"a member with B's role", []any{broleG}},
		{"a member with B's @everyone", []any{bgG}},
		{"a member with a third server's role", []any{"1@c.example"}},
	} {
		t.Run("member page naming "+tc.name, func(t *testing.T) {
			mallory := map[string]any{"id": fresh(), "username": "mallory"}
			sam := map[string]any{"id": fresh(), "username": "sam"}
			mu.Lock()
			snapshot = snap(nil)
			hostile := gid
			members = func(guild, after string) any {
				switch {
				case guild == hostile && after == "":
					return map[string]any{"members": []any{map[string]any{"user": mallory, "roles": tc.roles, "joined_at": now}}, "next": "more"}
				case guild != hostile && after == "":
					return map[string]any{"members": []any{map[string]any{"user": sam, "roles": []any{}, "joined_at": now}}, "next": ""}
				}
				return map[string]any{"members": []any{}, "next": ""}
			}
			mu.Unlock()
			before := state()
			forbidden := func() float64 {
				return max(0, b.Metric(t, `hearth_federation_inbound_rejected_total{reason="forbidden"}`))
			}
			counted := forbidden()
			hostileLocal := join()
			mu.Lock()
			snapshot = snap(nil)
			mu.Unlock()
			sentinel := join()
			eventually(t, "the second join's members on B", func() string {
				if got := replicaMembers(sentinel); !slices.Contains(got, "sam") {
					return fmt.Sprintf("members %q", got)
				}
				return ""
			})
			if got := replicaMembers(hostileLocal); slices.Contains(got, "mallory") {
				t.Fatalf("the refused member page added mallory: %q", got)
			}
			if mapped(mallory["id"].(string)) {
				t.Fatal("the refused member page left a mapping of its member")
			}
			// Taken in order, so the refusal before the sentinel's page
			// is counted by now.
			if got := forbidden(); got != counted+1 {
				t.Fatalf("forbidden counted %v before the refused member page, %v after", counted, got)
			}
			mu.Lock()
			more := slices.Contains(asked, hostile+" more")
			mu.Unlock()
			if more {
				t.Fatal("B asked for the page after the refused one")
			}
			// B's own guild and bob are as they were; only the guild list
			// has the two joins.
			strip := func(s string) string {
				var keep []string
				for _, line := range strings.Split(s, "\n") {
					if !strings.HasPrefix(line, "/users/@me/guilds ") {
						keep = append(keep, line)
					}
				}
				return strings.Join(keep, "\n")
			}
			if after := state(); strip(after) != strip(before) {
				t.Fatalf("B's state changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}
