package federation_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"hearth/federation"
	st "hearth/server/servertest"
	"hearth/snowflake"
)

// A peer that signs correctly opens a DM replica on the receiver (a
// batch from 0 whose first event is its own DM's CHANNEL_CREATE) and then,
// in that DM's log, names a message of the receiver's own guild: the
// reproduction of issue 11. The message is left as it was for its author,
// because the replica's writes are scoped to the replica's own channel.
func TestDMReplicaCannotReachLocalGuild(t *testing.T) {
	st.ForEachBackend(t, testDMReplicaCannotReachLocalGuild)
}

func testDMReplicaCannotReachLocalGuild(t *testing.T, backend st.Backend) {
	a, c := st.Start(t, st.Options{Backend: backend}), st.Start(t, st.Options{})
	ann := register(t, a, "ann")
	ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Home"}), 201)
	_, general := ann.guildNamed(t, "Home")
	msg := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "hello"}), 200)["id"].(string)
	ok(t, ann.do(t, "PUT", "/api/v10/channels/"+general+"/messages/"+msg+"/reactions/%F0%9F%91%8D/@me", nil), 204)
	own := func(id string) string { return id + "@" + a.ServerName() }
	// The rogue's own IDs are snowflakes of its clock, one per use.
	var n int
	theirs := func() string {
		n++
		return (snowflake.FromTime(time.Now().Add(-time.Hour)) + snowflake.ID(n)).String() + "@" + c.ServerName()
	}
	eve := theirs()
	author := map[string]any{"id": eve, "username": "eve"}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	cases := []struct {
		name string
		typ  string
		d    map[string]any
	}{
		{"edit", "MESSAGE_UPDATE", map[string]any{"id": own(msg), "channel_id": own(general), "author": author,
			"content": "defaced", "type": 0, "timestamp": now, "edited_timestamp": now, "pinned": true}},
		{"react", "MESSAGE_REACTION_ADD", map[string]any{"message_id": own(msg), "channel_id": own(general),
			"user_id": eve, "emoji": map[string]any{"name": "🔥"}}},
		{"unreact", "MESSAGE_REACTION_REMOVE", map[string]any{"message_id": own(msg), "channel_id": own(general),
			"user_id": own(ann.id), "emoji": map[string]any{"name": "👍"}}},
		{"clear reactions", "MESSAGE_REACTION_REMOVE_ALL", map[string]any{"message_id": own(msg), "channel_id": own(general)}},
		{"delete", "MESSAGE_DELETE", map[string]any{"id": own(msg), "channel_id": own(general)}},
		{"bulk delete", "MESSAGE_DELETE_BULK", map[string]any{"ids": []string{own(msg)}, "channel_id": own(general)}},
		{"plant a message", "MESSAGE_CREATE", map[string]any{"id": theirs(), "channel_id": own(general), "author": author,
			"content": "planted", "type": 0, "timestamp": now}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dm := theirs()
			dmID, _, _ := strings.Cut(dm, "@")
			status, body := call(t, c, a, "PUT", federation.SendPath+dmID+".0.2", map[string]any{
				"guild": dm, "from": 0, "to": 2, "events": []map[string]any{
					{"seq": 1, "type": "CHANNEL_CREATE", "d": map[string]any{"id": dm, "type": 3, "name": "trap",
						"owner_id": eve, "recipients": []map[string]any{{"id": own(ann.id), "username": "ann"}, author}}},
					{"seq": 2, "type": tc.typ, "d": tc.d},
				}})
			// What the receiver answers (the batch refused whole, §14) is
			// the applier's to decide; what is checked here is that no
			// answer comes with a change to the receiver's own guild.
			t.Logf("answered %d %v", status, body)
			ms := list(t, ann.do(t, "GET", "/api/v10/channels/"+general+"/messages", nil))
			if len(ms) != 1 || ms[0]["id"] != msg || ms[0]["content"] != "hello" || ms[0]["edited_timestamp"] != nil ||
				ms[0]["pinned"] != false {
				t.Fatalf("after a rogue %s (answered %d) ann's channel has %v", tc.typ, status, ms)
			}
			rs, _ := ms[0]["reactions"].([]any)
			if len(rs) != 1 {
				t.Fatalf("after a rogue %s the reactions are %v", tc.typ, rs)
			}
			r := rs[0].(map[string]any)
			if emoji, _ := r["emoji"].(map[string]any); r["count"] != float64(1) || r["me"] != true || emoji["name"] != "👍" {
				t.Fatalf("after a rogue %s the reactions are %v", tc.typ, rs)
			}
		})
	}
}

// The origin of a guild that the receiver replicates signs correctly and
// sends, in that guild's log, events naming objects of the receiver's own
// guild, its @everyone role (which has the guild's ID) first: none of them
// changes that guild, because the replica's writes are scoped to the
// replica's guild.
func TestGuildReplicaCannotReachLocalGuild(t *testing.T) {
	st.ForEachBackend(t, testGuildReplicaCannotReachLocalGuild)
}

func testGuildReplicaCannotReachLocalGuild(t *testing.T, backend st.Backend) {
	a, c := st.Start(t, st.Options{Backend: backend}), st.Start(t, st.Options{})
	ann, cyd := register(t, a, "ann"), register(t, c, "cyd")
	home := ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Home"}), 201)["id"].(string)
	_, general := ann.guildNamed(t, "Home")
	msg := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "hello"}), 200)["id"].(string)
	bait := ok(t, cyd.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Bait"}), 201)["id"].(string)
	_, baitGeneral := cyd.guildNamed(t, "Bait")
	code := ok(t, cyd.do(t, "POST", "/api/v10/channels/"+baitGeneral+"/invites", map[string]any{}), 200)["code"].(string)
	inv := ok(t, ann.do(t, "POST", "/api/v10/invites/"+code+"@"+c.ServerName(), nil), 200)
	replica, _ := strconv.ParseUint(inv["guild"].(map[string]any)["id"].(string), 10, 64)
	baitID, _ := strconv.ParseUint(bait, 10, 64)
	ctx := context.Background()
	eventually(t, "A's replica caught up with C", func() string {
		head, err := c.Homeserver().LogHead(ctx, snowflake.ID(baitID))
		if err != nil {
			return err.Error()
		}
		if seq, err := a.Homeserver().ReplicaPosition(ctx, snowflake.ID(replica)); err != nil || seq != head {
			return fmt.Sprintf("replica at %d (%v), origin at %d", seq, err, head)
		}
		return ""
	})
	own := func(id string) string { return id + "@" + a.ServerName() }
	global := bait + "@" + c.ServerName()
	before := homeState(t, ann, home, general)
	cases := []struct {
		typ string
		d   map[string]any
	}{
		{"GUILD_ROLE_DELETE", map[string]any{"guild_id": global, "role_id": own(home)}},
		{"GUILD_ROLE_UPDATE", map[string]any{"guild_id": global, "role": map[string]any{"id": own(home), "name": "owned",
			"permissions": "8", "position": 0, "color": 0, "hoist": false, "managed": false, "mentionable": false}}},
		{"CHANNEL_UPDATE", map[string]any{"id": own(general), "guild_id": global, "type": 0, "name": "owned", "position": 0,
			"permission_overwrites": []any{}}},
		{"CHANNEL_DELETE", map[string]any{"id": own(general), "guild_id": global, "type": 0, "name": "general"}},
		{"MESSAGE_UPDATE", map[string]any{"id": own(msg), "channel_id": own(general), "guild_id": global,
			"author": map[string]any{"id": cyd.id + "@" + c.ServerName(), "username": "cyd"}, "content": "defaced", "type": 0,
			"timestamp": time.Now().UTC().Format(time.RFC3339Nano)}},
		{"MESSAGE_DELETE", map[string]any{"id": own(msg), "channel_id": own(general), "guild_id": global}},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			seq, err := a.Homeserver().ReplicaPosition(ctx, snowflake.ID(replica))
			if err != nil {
				t.Fatal(err)
			}
			status, body := call(t, c, a, "PUT", federation.SendPath+bait+"."+strconv.FormatInt(seq, 10)+"."+strconv.FormatInt(seq+1, 10),
				map[string]any{"guild": global, "from": seq, "to": seq + 1,
					"events": []map[string]any{{"seq": seq + 1, "type": tc.typ, "d": tc.d}}})
			// The answer (a refusal of the whole batch, §14) is the
			// applier's to decide; the receiver's guild must not change.
			t.Logf("answered %d %v", status, body)
			if after := homeState(t, ann, home, general); after != before {
				t.Fatalf("after a rogue %s (answered %d):\n%s\nwas\n%s", tc.typ, status, after, before)
			}
		})
	}
}

// homeState is what a user sees of a guild: its roles, its channels and a
// channel's messages, as text to compare.
func homeState(t *testing.T, u user, guild, channel string) string {
	t.Helper()
	res := u.do(t, "GET", "/api/v10/guilds/"+guild+"/roles", nil)
	if res.Status != 200 {
		t.Fatalf("roles: %d", res.Status)
	}
	return string(res.Body) + "\n" + fmt.Sprint(list(t, u.do(t, "GET", "/api/v10/guilds/"+guild+"/channels", nil))) +
		"\n" + fmt.Sprint(list(t, u.do(t, "GET", "/api/v10/channels/"+channel+"/messages", nil)))
}
