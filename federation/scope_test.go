package federation_test

import (
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
	a, c := st.Start(t, st.Options{}), st.Start(t, st.Options{})
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
