package federation_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"hearth/federation"
	st "hearth/server/servertest"
	"hearth/snowflake"
)

// A webhook's message in a guild reaches a replica as the origin's own
// webhook; a member on the replica cannot make webhooks there (the guild's
// origin holds them); and an origin that signs correctly but names, as a
// webhook message's author, a user of the receiver or a webhook that is
// not the author is refused, leaving the replica's history unchanged.
func TestWebhookMessagesAcrossServers(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		a, c := st.Start(t, st.Options{Backend: b}), st.Start(t, st.Options{Backend: b})
		ann, cyd := register(t, a, "ann"), register(t, c, "cyd")
		guild := ok(t, cyd.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Hooked"}), 201)["id"].(string)
		_, general := cyd.guildNamed(t, "Hooked")
		code := ok(t, cyd.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
		inv := ok(t, ann.do(t, "POST", "/api/v10/invites/"+code+"@"+c.ServerName(), nil), 200)
		replica := inv["guild"].(map[string]any)["id"].(string)
		_, aGeneral := ann.guildNamed(t, "Hooked")

		wh := ok(t, cyd.do(t, "POST", "/api/v10/channels/"+general+"/webhooks", map[string]any{"name": "Announcer"}), 200)
		ok(t, c.Do(t, "POST", "/api/v10/webhooks/"+wh["id"].(string)+"/"+wh["token"].(string)+"?wait=true", "",
			map[string]any{"content": "from the hook", "username": "Herald"}), 200)
		var seen map[string]any
		eventually(t, "the webhook's message on A", func() string {
			ms := list(t, ann.do(t, "GET", "/api/v10/channels/"+aGeneral+"/messages?limit=1", nil))
			if len(ms) == 0 || ms[0]["content"] != "from the hook" {
				return fmt.Sprint(ms)
			}
			seen = ms[0]
			return ""
		})
		author := seen["author"].(map[string]any)
		if seen["webhook_id"] == nil || seen["webhook_id"] != author["id"] || author["username"] != "Herald" || author["bot"] != true {
			t.Fatalf("replicated webhook message = %v", seen)
		}

		// Webhooks of a remote guild are made on its homeserver.
		st.Expect(t, ann.do(t, "POST", "/api/v10/channels/"+aGeneral+"/webhooks", map[string]any{"name": "mine"}), 403, st.Code(50001))
		st.Expect(t, ann.do(t, "GET", "/api/v10/guilds/"+replica+"/webhooks", nil), 403, st.Code(50013))

		// The rogue origin.
		ctx := context.Background()
		guildID, _ := strconv.ParseUint(guild, 10, 64)
		replicaID, _ := strconv.ParseUint(replica, 10, 64)
		eventually(t, "A's replica caught up with C", func() string {
			head, err := c.Homeserver().LogHead(ctx, snowflake.ID(guildID))
			if err != nil {
				return err.Error()
			}
			if seq, err := a.Homeserver().ReplicaPosition(ctx, snowflake.ID(replicaID)); err != nil || seq != head {
				return fmt.Sprintf("replica at %d (%v), origin at %d", seq, err, head)
			}
			return ""
		})
		var n int
		theirs := func() string {
			n++
			return (snowflake.FromTime(time.Now().Add(-time.Hour)) + snowflake.ID(n)).String() + "@" + c.ServerName()
		}
		global := guild + "@" + c.ServerName()
		annGlobal := ann.id + "@" + a.ServerName()
		hook := theirs()
		now := time.Now().UTC().Format(time.RFC3339Nano)
		before := fmt.Sprint(list(t, ann.do(t, "GET", "/api/v10/channels/"+aGeneral+"/messages", nil)))
		for _, tc := range []struct {
			name          string
			webhook, user string
		}{
			{"receiver's user as the webhook", annGlobal, annGlobal},
			{"webhook not the author", hook, theirs()},
			{"receiver's user under an origin webhook", hook, annGlobal},
		} {
			t.Run(tc.name, func(t *testing.T) {
				seq, err := a.Homeserver().ReplicaPosition(ctx, snowflake.ID(replicaID))
				if err != nil {
					t.Fatal(err)
				}
				d := map[string]any{"id": theirs(), "channel_id": general + "@" + c.ServerName(), "guild_id": global,
					"webhook_id": tc.webhook, "author": map[string]any{"id": tc.user, "username": "Forged", "bot": true},
					"content": "forged", "type": 0, "timestamp": now}
				status, body := call(t, c, a, "PUT", federation.SendPath+guild+"."+strconv.FormatInt(seq, 10)+"."+strconv.FormatInt(seq+1, 10),
					map[string]any{"guild": global, "from": seq, "to": seq + 1,
						"events": []map[string]any{{"seq": seq + 1, "type": "MESSAGE_CREATE", "d": d}}})
				if status < 400 {
					t.Fatalf("a forged webhook message was accepted: %d %v", status, body)
				}
				if after := fmt.Sprint(list(t, ann.do(t, "GET", "/api/v10/channels/"+aGeneral+"/messages", nil))); after != before {
					t.Fatalf("history changed after a rogue webhook message (answered %d):\n%s", status, after)
				}
			})
		}
	})
}
