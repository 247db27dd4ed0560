package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
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

	// A person starts a post as Discord's clients do (discordgo's
	// ForumThreadStartComplex): the thread and its first message at once.
	person, err := discordgo.New(tok)
	if err != nil {
		t.Fatal(err)
	}
	post2, err := person.ForumThreadStartComplex(fid, &discordgo.ThreadStart{Name: "Idea two"}, &discordgo.MessageSend{Content: "my idea"})
	if err != nil || post2.Type != discordgo.ChannelTypeGuildPublicThread || post2.ParentID != fid || post2.Name != "Idea two" {
		t.Fatalf("forum post by a person: %v %+v", err, post2)
	}
	if msgs := listOf(t, s, "/api/v10/channels/"+post2.ID+"/messages", tok); len(msgs) != 1 || msgs[0]["content"] != "my idea" {
		t.Fatalf("the person's post: %v", msgs)
	}
	st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+fid+"/threads", tok, map[string]any{"name": "No message"}), 400, st.Code(50035))
	st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+fid+"/threads", tok, map[string]any{"name": "Empty", "message": map[string]any{}}), 400, st.Code(50006))
}

// postGitHub delivers a GitHub event the way GitHub does: JSON with the
// event named in X-GitHub-Event.
func postGitHub(t *testing.T, s *st.Server, path, event string, payload any) st.Response {
	t.Helper()
	b, _ := json.Marshal(payload)
	req, _ := http.NewRequest("POST", s.URL()+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("User-Agent", "GitHub-Hookshot/test")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return st.Response{Status: res.StatusCode, Header: res.Header, Body: body}
}

// TestWebhookGitHub: GitHub's events posted to /webhooks/{id}/{token}/github
// become embeds as Discord renders them (push, issues, pull_request,
// issue_comment, release); ping and events or actions not shown are
// accepted with 204 and post nothing; a wrong token is 10015.
func TestWebhookGitHub(t *testing.T) {
	s := st.Start(t, st.Options{})
	tok := s.Register(t, "owner", "correct horse")
	_, general := newGuild(t, s, tok, "Code")
	w := do(t, s, "POST", "/api/v10/channels/"+general+"/webhooks", tok, map[string]any{"name": "GitHub"})
	path := "/api/v10/webhooks/" + w["id"].(string) + "/" + w["token"].(string) + "/github"
	repo := map[string]any{"full_name": "hearth/hearth", "name": "hearth", "html_url": "https://github.com/hearth/hearth"}
	sender := map[string]any{"login": "octocat", "avatar_url": "https://avatars.example/octocat", "html_url": "https://github.com/octocat"}
	issue := map[string]any{"number": 14, "title": "Bots", "body": "Slash commands, please.", "html_url": "https://github.com/hearth/hearth/issues/14"}
	for _, tc := range []struct {
		event   string
		payload map[string]any
		title   string
		desc    string
	}{
		{"push", map[string]any{"ref": "refs/heads/main", "compare": "https://github.com/hearth/hearth/compare/a...b", "commits": []any{
			map[string]any{"id": "0123456789abcdef", "message": "Add forums\n\nLong body", "url": "https://github.com/hearth/hearth/commit/0123456",
				"author": map[string]any{"name": "Octo Cat", "username": "octocat"}},
			map[string]any{"id": "fedcba9876543210", "message": "Fix tests", "url": "https://github.com/hearth/hearth/commit/fedcba9",
				"author": map[string]any{"name": "Octo Cat"}},
		}}, "[hearth/hearth:main] 2 new commits",
			"[`0123456`](https://github.com/hearth/hearth/commit/0123456) Add forums - octocat\n[`fedcba9`](https://github.com/hearth/hearth/commit/fedcba9) Fix tests - Octo Cat"},
		{"issues", map[string]any{"action": "opened", "issue": issue}, "[hearth/hearth] Issue opened: #14 Bots", "Slash commands, please."},
		{"pull_request", map[string]any{"action": "opened", "pull_request": map[string]any{"number": 15, "title": "Forums",
			"body": "Adds forums.", "html_url": "https://github.com/hearth/hearth/pull/15"}}, "[hearth/hearth] Pull request opened: #15 Forums", "Adds forums."},
		{"issue_comment", map[string]any{"action": "created", "issue": issue, "comment": map[string]any{"body": "On it.",
			"html_url": "https://github.com/hearth/hearth/issues/14#issuecomment-1"}}, "[hearth/hearth] New comment on issue #14: Bots", "On it."},
		{"release", map[string]any{"action": "published", "release": map[string]any{"tag_name": "v1.0.0", "name": "",
			"body": "First.", "html_url": "https://github.com/hearth/hearth/releases/v1.0.0"}}, "[hearth/hearth] New release published: v1.0.0", "First."},
	} {
		tc.payload["repository"], tc.payload["sender"] = repo, sender
		m := st.OK(t, postGitHub(t, s, path+"?wait=true", tc.event, tc.payload), 200)
		embeds, _ := m["embeds"].([]any)
		if len(embeds) != 1 {
			t.Fatalf("%s: %v", tc.event, m)
		}
		e := embeds[0].(map[string]any)
		author, _ := e["author"].(map[string]any)
		if e["title"] != tc.title || e["description"] != tc.desc || author["name"] != "octocat" || e["url"] == nil || m["webhook_id"] != w["id"] {
			t.Fatalf("%s embed: %v", tc.event, e)
		}
	}
	// Without wait, 204; ping, other events and actions not shown post
	// nothing.
	before := len(listOf(t, s, "/api/v10/channels/"+general+"/messages", tok))
	for event, payload := range map[string]map[string]any{
		"ping":   {"zen": "Keep it logically awesome.", "hook_id": 1},
		"star":   {"action": "created"},
		"issues": {"action": "labeled", "issue": issue},
	} {
		payload["repository"] = repo
		if r := postGitHub(t, s, path, event, payload); r.Status != 204 {
			t.Fatalf("%s: %d %s", event, r.Status, r.Body)
		}
	}
	if after := len(listOf(t, s, "/api/v10/channels/"+general+"/messages", tok)); after != before {
		t.Fatalf("ignored events posted %d messages", after-before)
	}
	if r := postGitHub(t, s, path, "issues", map[string]any{"action": "closed", "issue": issue, "repository": repo}); r.Status != 204 {
		t.Fatalf("issue closed: %d %s", r.Status, r.Body)
	}
	if msgs := listOf(t, s, "/api/v10/channels/"+general+"/messages", tok); len(msgs) != before+1 {
		t.Fatalf("a shown event without wait posted %d messages", len(msgs)-before)
	}
	st.Expect(t, postGitHub(t, s, "/api/v10/webhooks/"+w["id"].(string)+"/wrong/github", "ping", map[string]any{}), 404, st.Code(10015))
	st.Expect(t, postGitHub(t, s, path, "push", "not an object"), 400, st.Code(50109))
}
