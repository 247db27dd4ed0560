package federation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	st "hearth/server/servertest"
)

// readyMentions identifies a gateway session of u and returns its READY's
// read states: channel ID to mention count and to last acked message.
func readyMentions(t *testing.T, u user) (counts map[string]int, last map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(u.s.URL(), "http")+"/gateway?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(64 << 20)
	b, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": u.tok, "intents": 1<<0 | 1<<9 | 1<<12,
		"properties": map[string]string{"os": "linux", "browser": "test", "device": "test"}}})
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	for {
		_, msg, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for READY: %v", err)
		}
		var p struct {
			T string `json:"t"`
			D struct {
				ReadState struct {
					Entries []struct {
						ID            string `json:"id"`
						LastMessageID string `json:"last_message_id"`
						MentionCount  int    `json:"mention_count"`
					} `json:"entries"`
				} `json:"read_state"`
			} `json:"d"`
		}
		if json.Unmarshal(msg, &p) != nil || p.T != "READY" {
			continue
		}
		counts, last = map[string]int{}, map[string]string{}
		for _, e := range p.D.ReadState.Entries {
			counts[e.ID], last[e.ID] = e.MentionCount, e.LastMessageID
		}
		return counts, last
	}
}

// TestFederatedMentionCounts: a member of another server's guild counts
// the mentions that reach their server through its replica (by name, by
// a role they hold there, @everyone from the origin's owner, a reply to
// their message), under their server's own IDs; a delete on the origin
// takes the mention away on the replica; their acks stay on their own
// server; a DM of another server counts every message there.
func TestFederatedMentionCounts(t *testing.T) {
	a := st.Start(t, st.Options{Backend: st.SQLite})
	b := st.Start(t, st.Options{Backend: st.Postgres})
	ann, bob := register(t, a, "ann"), register(t, b, "bob")
	g := ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Far Away"}), 201)["id"].(string)
	_, general := ann.guildNamed(t, "Far Away")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{"max_age": 0}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	_, bGeneral := bob.guildNamed(t, "Far Away")

	// Bob's ID on the origin.
	var bobThere string
	for _, m := range list(t, ann.do(t, "GET", "/api/v10/guilds/"+g+"/members?limit=10", nil)) {
		if u := m["user"].(map[string]any); strings.HasPrefix(u["username"].(string), "bob") {
			bobThere = u["id"].(string)
		}
	}
	if bobThere == "" {
		t.Fatal("bob is not a member on the origin")
	}
	crew := ok(t, ann.do(t, "POST", "/api/v10/guilds/"+g+"/roles", map[string]any{"name": "crew", "mentionable": true}), 200)["id"].(string)
	st.Expect(t, ann.do(t, "PUT", "/api/v10/guilds/"+g+"/members/"+bobThere+"/roles/"+crew, nil), 204, nil)

	// Bob writes through his server; ann answers on hers.
	ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", map[string]any{"content": "hello from afar"}), 200)
	var bobsThere string
	eventually(t, "bob's message on the origin", func() string {
		for _, m := range list(t, ann.do(t, "GET", "/api/v10/channels/"+general+"/messages?limit=5", nil)) {
			if m["content"] == "hello from afar" {
				bobsThere = m["id"].(string)
				return ""
			}
		}
		return "not yet"
	})
	var sent []string
	for _, body := range []map[string]any{
		{"content": "hi <@" + bobThere + ">"},
		{"content": "all of <@&" + crew + ">"},
		{"content": "@everyone meeting"},
		{"content": "welcome", "message_reference": map[string]any{"message_id": bobsThere}},
		{"content": "nothing for bob"},
	} {
		sent = append(sent, ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", body), 200)["id"].(string))
	}
	eventually(t, "the replica counts four mentions", func() string {
		if counts, _ := readyMentions(t, bob); counts[bGeneral] != 4 {
			return fmt.Sprintf("%d mentions on B", counts[bGeneral])
		}
		return ""
	})
	st.Expect(t, ann.do(t, "DELETE", "/api/v10/channels/"+general+"/messages/"+sent[0], nil), 204, nil)
	eventually(t, "the delete reaches the count", func() string {
		if counts, _ := readyMentions(t, bob); counts[bGeneral] != 3 {
			return "not yet"
		}
		return ""
	})

	// Bob marks the channel read on his server, under its IDs.
	latest := list(t, bob.do(t, "GET", "/api/v10/channels/"+bGeneral+"/messages?limit=1", nil))[0]["id"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages/"+latest+"/ack", nil), 200)
	counts, last := readyMentions(t, bob)
	if counts[bGeneral] != 0 || last[bGeneral] != latest {
		t.Fatalf("after the ack on B: %d mentions, last %s (want %s)", counts[bGeneral], last[bGeneral], latest)
	}
	// An ID of the origin's is not a message of bob's replica channel. (B
	// numbers its copies itself, and in one test process its numbers can
	// meet A's: one that B does not also use is taken.)
	held := map[string]bool{}
	for _, m := range list(t, bob.do(t, "GET", "/api/v10/channels/"+bGeneral+"/messages?limit=100", nil)) {
		held[m["id"].(string)] = true
	}
	foreign := ""
	for _, id := range sent[1:] {
		if !held[id] {
			foreign = id
		}
	}
	if foreign == "" {
		t.Fatalf("every message ID of A's is also one of B's: %v", sent)
	}
	st.Expect(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages/"+foreign+"/ack", nil), 404, st.Code(10008))
	if counts, _ := readyMentions(t, ann); counts[general] != 0 {
		t.Fatalf("ann's own read states changed: %v", counts)
	}

	// A DM of another server: every message of ann's counts on B.
	dm := ok(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient": "bob@" + b.ServerName()}), 200)["id"].(string)
	for _, c := range []string{"psst", "are you there?"} {
		ok(t, ann.do(t, "POST", "/api/v10/channels/"+dm+"/messages", map[string]any{"content": c}), 200)
	}
	eventually(t, "the DM's messages count on B", func() string {
		dms := list(t, bob.do(t, "GET", "/api/v10/users/@me/channels", nil))
		if len(dms) != 1 {
			return fmt.Sprintf("%d DM channels on B", len(dms))
		}
		if counts, _ := readyMentions(t, bob); counts[dms[0]["id"].(string)] != 2 {
			return fmt.Sprintf("%d unread in the DM", counts[dms[0]["id"].(string)])
		}
		return ""
	})
}
