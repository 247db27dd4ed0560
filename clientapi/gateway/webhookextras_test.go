package gateway_test

import (
	"encoding/json"
	"testing"

	"github.com/bwmarrin/discordgo"

	st "hearth/server/servertest"
)

// TestWebhookIsNoUser: a webhook's ID names no user, as on Discord: the
// user routes answer 10013 Unknown User, and the row that authors its
// messages cannot be looked up, befriended, blocked or messaged, by ID or
// by its name; a person's ID still works.
func TestWebhookIsNoUser(t *testing.T) {
	s := st.Start(t, st.Options{})
	tok := s.Register(t, "owner", "correct horse")
	friendTok := s.Register(t, "friend", "correct horse")
	_, general := newGuild(t, s, tok, "Hooks")
	w := do(t, s, "POST", "/api/v10/channels/"+general+"/webhooks", tok, map[string]any{"name": "Captain Hook"})
	wid := w["id"].(string)
	do(t, s, "POST", "/api/v10/webhooks/"+wid+"/"+w["token"].(string)+"?wait=true", "", map[string]any{"content": "posted"})
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v10/users/" + wid, nil},
		{"GET", "/api/v10/users/" + wid + "/profile", nil},
		{"POST", "/api/v10/users/@me/channels", map[string]any{"recipient_id": wid}},
		{"POST", "/api/v10/users/@me/channels", map[string]any{"recipients": []string{wid}}},
		{"PUT", "/api/v10/users/@me/relationships/" + wid, map[string]any{}},
		{"PUT", "/api/v10/users/@me/relationships/" + wid, map[string]any{"type": 2}},
	} {
		got := s.Do(t, r.method, r.path, tok, r.body)
		if got.Status != 404 {
			t.Fatalf("%s %s answered %d %s, want 404 10013", r.method, r.path, got.Status, got.Body)
		}
		st.Expect(t, got, 404, st.Code(10013))
	}
	st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/relationships", tok, map[string]any{"username": "webhook-" + wid}), 400, st.Code(80004))
	// The webhook's message still shows its author.
	msgs := listOf(t, s, "/api/v10/channels/"+general+"/messages", tok)
	if len(msgs) == 0 || msgs[0]["webhook_id"] != wid || msgs[0]["author"].(map[string]any)["username"] != "Captain Hook" {
		t.Fatalf("webhook message: %v", msgs)
	}
	// A person is still found.
	friend := do(t, s, "GET", "/api/v10/users/@me", friendTok, nil)
	if u := do(t, s, "GET", "/api/v10/users/"+friend["id"].(string), tok, nil); u["username"] != "friend" {
		t.Fatalf("GET /users/{person}: %v", u)
	}
}

// TestWebhookForum: a forum channel (type 15) holds posts, not messages.
// An unmodified discordgo client executing a webhook with thread_name
// starts a post (a public thread owned by the webhook) whose first
// message is the execute's, and with thread_id posts into it; without
// either the execute answers 220001, with both 220002, thread_name
// outside a forum 220003, the Slack form into a forum 220004, and a
// person's message into the forum 40058, as Discord does.
func TestWebhookForum(t *testing.T) {
	s := st.Start(t, st.Options{})
	tok := s.Register(t, "owner", "correct horse")
	gid, general := newGuild(t, s, tok, "Forums")
	gw := dial(t, s, "")
	identify(gw, tok, allIntents)
	forum := do(t, s, "POST", "/api/v10/guilds/"+gid+"/channels", tok, map[string]any{"name": "Ideas Board", "type": 15})
	if forum["type"] != float64(15) || forum["name"] != "ideas-board" {
		t.Fatalf("forum channel: %v", forum)
	}
	fid := forum["id"].(string)
	st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+fid+"/messages", tok, map[string]any{"content": "loose"}), 400, st.Code(40058))
	w := do(t, s, "POST", "/api/v10/channels/"+fid+"/webhooks", tok, map[string]any{"name": "Poster"})
	wid, wtok := w["id"].(string), w["token"].(string)
	exec := "/api/v10/webhooks/" + wid + "/" + wtok
	st.Expect(t, s.Do(t, "POST", exec, "", map[string]any{"content": "no post"}), 400, st.Code(220001))
	st.Expect(t, s.Do(t, "POST", exec+"/slack", "", map[string]any{"text": "from slack"}), 400, st.Code(220004))
	st.Expect(t, s.Do(t, "POST", exec, "", map[string]any{"thread_name": "   "}), 400, st.Code(50035))
	st.Expect(t, s.Do(t, "POST", exec, "", map[string]any{"thread_name": "Empty"}), 400, st.Code(50006))

	pointDiscordgoWebhooks(t, s)
	dg, err := discordgo.New("")
	if err != nil {
		t.Fatal(err)
	}
	first, err := dg.WebhookExecute(wid, wtok, true, &discordgo.WebhookParams{Content: "the first idea", ThreadName: "Idea one"})
	if err != nil {
		t.Fatalf("discordgo execute with thread_name: %v", err)
	}
	if first.ChannelID == fid || first.WebhookID != wid {
		t.Fatalf("forum post message: %+v", first)
	}
	post := do(t, s, "GET", "/api/v10/channels/"+first.ChannelID, tok, nil)
	if post["type"] != float64(11) || post["parent_id"] != fid || post["name"] != "Idea one" || post["owner_id"] != wid {
		t.Fatalf("forum post: %v", post)
	}
	created := gw.until("THREAD_CREATE")
	var th map[string]any
	if err := json.Unmarshal(created.D, &th); err != nil || th["id"] != first.ChannelID || th["newly_created"] != true {
		t.Fatalf("THREAD_CREATE: %s", created.D)
	}
	if _, err := dg.WebhookThreadExecute(wid, wtok, true, first.ChannelID, &discordgo.WebhookParams{Content: "a reply"}); err != nil {
		t.Fatalf("discordgo execute with thread_id: %v", err)
	}
	msgs := listOf(t, s, "/api/v10/channels/"+first.ChannelID+"/messages", tok)
	if len(msgs) != 2 || msgs[0]["content"] != "a reply" || msgs[1]["content"] != "the first idea" {
		t.Fatalf("the post's messages: %v", msgs)
	}
	both := map[string]any{"content": "x", "thread_name": "Two"}
	st.Expect(t, s.Do(t, "POST", exec+"?thread_id="+first.ChannelID, "", both), 400, st.Code(220002))
	// Outside a forum, thread_name is refused.
	tw := do(t, s, "POST", "/api/v10/channels/"+general+"/webhooks", tok, map[string]any{"name": "Texter"})
	st.Expect(t, s.Do(t, "POST", "/api/v10/webhooks/"+tw["id"].(string)+"/"+tw["token"].(string), "", both), 400, st.Code(220003))
	// Refused executes started no post.
	active := do(t, s, "GET", "/api/v10/guilds/"+gid+"/threads/active", tok, nil)["threads"].([]any)
	if len(active) != 1 {
		t.Fatalf("active threads: %v", active)
	}
}
