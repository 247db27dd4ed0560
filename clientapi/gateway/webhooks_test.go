package gateway_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	st "hearth/server/servertest"
)

func webhookPNG(t *testing.T, shade byte) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := range img.Pix {
		img.Pix[i] = shade
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pointDiscordgoWebhooks is pointDiscordgo with discordgo's webhook
// endpoint too, which it computes from the API's at start.
func pointDiscordgoWebhooks(t *testing.T, s *st.Server) {
	pointDiscordgo(t, s, "ws://unused/gateway")
	saved := discordgo.EndpointWebhooks
	discordgo.EndpointWebhooks = s.URL() + "/api/v10/webhooks/"
	t.Cleanup(func() { discordgo.EndpointWebhooks = saved })
}

// TestWebhooks drives webhooks end to end: an unmodified discordgo makes
// one with an avatar, executes it with a name, an avatar_url (fetched and
// stored here) and a file, edits and deletes its message; a Slack-shaped
// payload posts too; a gateway client sees WEBHOOKS_UPDATE and the
// webhook's MESSAGE_CREATE; bad input gets Discord's codes.
func TestWebhooks(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b, MaxUploadSize: 1 << 20})
		owner, member := s.Register(t, "owner", "correct horse"), s.Register(t, "member", "correct horse")
		gid, general := newGuild(t, s, owner, "Hooks")
		inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", owner, map[string]any{})["code"].(string)
		do(t, s, "POST", "/api/v10/invites/"+inv, member, nil)

		gw := dial(t, s, "")
		identify(gw, member, allIntents|1<<5)

		pointDiscordgoWebhooks(t, s)
		dg, err := discordgo.New(owner)
		if err != nil {
			t.Fatal(err)
		}
		own := webhookPNG(t, 10)
		wh, err := dg.WebhookCreate(general, "Captain Hook", "data:image/png;base64,"+base64.StdEncoding.EncodeToString(own))
		if err != nil {
			t.Fatalf("WebhookCreate: %v", err)
		}
		if wh.Token == "" || wh.Avatar == "" || wh.ChannelID != general || wh.GuildID != gid || wh.Name != "Captain Hook" || wh.User == nil {
			t.Fatalf("webhook = %+v", wh)
		}
		upd := gw.until("WEBHOOKS_UPDATE")
		if !strings.Contains(string(upd.D), general) || !strings.Contains(string(upd.D), gid) {
			t.Fatalf("WEBHOOKS_UPDATE = %s", upd.D)
		}

		// The avatar_url is fetched (loopback is allowed in tests, as
		// with --insecure-federation) and served from here.
		face := webhookPNG(t, 200)
		fetched := 0
		imgSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fetched++
			w.Header().Set("Content-Type", "image/png")
			w.Write(face)
		}))
		t.Cleanup(imgSrv.Close)
		msg, err := dg.WebhookExecute(wh.ID, wh.Token, true, &discordgo.WebhookParams{
			Content: "ahoy", Username: "Smee", AvatarURL: imgSrv.URL + "/face.png",
			Files: []*discordgo.File{{Name: "map.txt", ContentType: "text/plain", Reader: strings.NewReader("X marks the spot")}},
		})
		if err != nil {
			t.Fatalf("WebhookExecute: %v", err)
		}
		if msg.WebhookID != wh.ID || msg.Author == nil || msg.Author.ID != wh.ID || msg.Author.Username != "Smee" || !msg.Author.Bot ||
			msg.Author.Avatar == "" || len(msg.Attachments) != 1 || msg.Content != "ahoy" || fetched != 1 {
			t.Fatalf("executed = %+v (author %+v), fetched %d", msg, msg.Author, fetched)
		}
		if r := s.Do(t, "GET", "/avatars/"+wh.ID+"/"+msg.Author.Avatar+".png", "", nil); r.Status != 200 || !bytes.Equal(r.Body, face) {
			t.Fatalf("per-message avatar served %d", r.Status)
		}
		// Without the webhook's token nothing is fetched.
		st.Expect(t, s.Do(t, "POST", "/api/v10/webhooks/"+wh.ID+"/not-the-token", "", map[string]any{"content": "x", "avatar_url": imgSrv.URL + "/face.png"}), 404, st.Code(10015))
		st.Expect(t, s.Do(t, "POST", "/api/v10/webhooks/1/not-the-token", "", map[string]any{"content": "x", "avatar_url": imgSrv.URL + "/face.png"}), 404, st.Code(10015))
		if fetched != 1 {
			t.Fatalf("an execute with a wrong token fetched its avatar_url (%d fetches)", fetched)
		}
		live := gw.until("MESSAGE_CREATE")
		var lm struct {
			WebhookID string `json:"webhook_id"`
			Author    struct {
				ID, Username string
				Bot          bool
			}
		}
		_ = json.Unmarshal(live.D, &lm)
		if lm.WebhookID != wh.ID || lm.Author.Username != "Smee" || !lm.Author.Bot {
			t.Fatalf("MESSAGE_CREATE = %s", live.D)
		}
		hist := listOf(t, s, "/api/v10/channels/"+general+"/messages?limit=1", member)
		if hist[0]["webhook_id"] != wh.ID || hist[0]["author"].(map[string]any)["username"] != "Smee" || hist[0]["member"] != nil {
			t.Fatalf("history = %v", hist[0])
		}

		// Search finds it like any message.
		eventually := func(what string, check func() string) { st.WaitFor(t, what, 30*time.Second, check) }
		eventually("search finds the webhook's message", func() string {
			found := do(t, s, "GET", "/api/v10/guilds/"+gid+"/messages/search?content=ahoy", member, nil)
			if found["total_results"] != float64(1) {
				return fmt.Sprint(found)
			}
			return ""
		})

		// In a thread of its channel, with ?thread_id.
		thread := do(t, s, "POST", "/api/v10/channels/"+general+"/threads", owner, map[string]any{"name": "side", "type": 11})["id"].(string)
		inThread := do(t, s, "POST", "/api/v10/webhooks/"+wh.ID+"/"+wh.Token+"?wait=true&thread_id="+thread, "", map[string]any{"content": "in the thread"})
		if inThread["channel_id"] != thread || inThread["webhook_id"] != wh.ID {
			t.Fatalf("thread execute = %v", inThread)
		}
		if got := do(t, s, "GET", "/api/v10/webhooks/"+wh.ID+"/"+wh.Token+"/messages/"+inThread["id"].(string)+"?thread_id="+thread, "", nil); got["content"] != "in the thread" {
			t.Fatalf("thread message = %v", got)
		}
		other := do(t, s, "POST", "/api/v10/guilds/"+gid+"/channels", owner, map[string]any{"name": "elsewhere"})["id"].(string)
		st.Expect(t, s.Do(t, "POST", "/api/v10/webhooks/"+wh.ID+"/"+wh.Token+"?thread_id="+other, "", map[string]any{"content": "x"}), 404, st.Code(10003))

		// A webhook may ping everyone; allowed_mentions says who is.
		memberID := do(t, s, "GET", "/api/v10/users/@me", member, nil)["id"].(string)
		ping := "@everyone <@" + memberID + ">"
		loud := do(t, s, "POST", "/api/v10/webhooks/"+wh.ID+"/"+wh.Token+"?wait=true", "", map[string]any{"content": ping})
		if loud["mention_everyone"] != true || len(loud["mentions"].([]any)) != 1 {
			t.Fatalf("webhook mentions = %v %v", loud["mention_everyone"], loud["mentions"])
		}
		quiet := do(t, s, "POST", "/api/v10/webhooks/"+wh.ID+"/"+wh.Token+"?wait=true", "", map[string]any{"content": ping,
			"allowed_mentions": map[string]any{"parse": []string{}}})
		if quiet["mention_everyone"] != false || len(quiet["mentions"].([]any)) != 0 {
			t.Fatalf("allowed_mentions {parse: []} = %v %v", quiet["mention_everyone"], quiet["mentions"])
		}
		some := do(t, s, "POST", "/api/v10/webhooks/"+wh.ID+"/"+wh.Token+"?wait=true", "", map[string]any{"content": ping,
			"allowed_mentions": map[string]any{"users": []string{memberID}}})
		if some["mention_everyone"] != false || len(some["mentions"].([]any)) != 1 {
			t.Fatalf("allowed_mentions {users: [member]} = %v %v", some["mention_everyone"], some["mentions"])
		}

		// A file above the upload limit: 413, nothing posted.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		pj, _ := mw.CreateFormField("payload_json")
		pj.Write([]byte(`{"content":"too big"}`))
		fw, _ := mw.CreateFormFile("files[0]", "big.bin")
		fw.Write(bytes.Repeat([]byte{1}, 3<<19))
		mw.Close()
		req, _ := http.NewRequest("POST", s.URL()+"/api/v10/webhooks/"+wh.ID+"/"+wh.Token, &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Fatalf("oversized file: %d", res.StatusCode)
		}

		// Without ?wait the answer is 204; the webhook's own name then.
		if r := s.Do(t, "POST", "/api/v10/webhooks/"+wh.ID+"/"+wh.Token, "", map[string]any{"content": "plain"}); r.Status != 204 {
			t.Fatalf("execute without wait = %d %s", r.Status, r.Body)
		}
		hist = listOf(t, s, "/api/v10/channels/"+general+"/messages?limit=1", member)
		if hist[0]["content"] != "plain" || hist[0]["author"].(map[string]any)["username"] != "Captain Hook" {
			t.Fatalf("default name: %v", hist[0])
		}

		content := "ahoy, edited"
		edited, err := dg.WebhookMessageEdit(wh.ID, wh.Token, msg.ID, &discordgo.WebhookEdit{Content: &content})
		if err != nil || edited.Content != content || edited.EditedTimestamp == nil || edited.Author.Username != "Smee" {
			t.Fatalf("WebhookMessageEdit = %+v, %v", edited, err)
		}
		got, err := dg.WebhookMessage(wh.ID, wh.Token, msg.ID)
		if err != nil || got.Content != content {
			t.Fatalf("WebhookMessage = %+v, %v", got, err)
		}

		// Slack-shaped.
		r := s.Do(t, "POST", "/api/v10/webhooks/"+wh.ID+"/"+wh.Token+"/slack", "", map[string]any{
			"text": "deploy done", "username": "CI",
			"attachments": []map[string]any{{"title": "Build 42", "title_link": "https://ci.example/42", "text": "green",
				"color": "#ff0000", "fields": []map[string]any{{"title": "branch", "value": "main", "short": true}}}},
		})
		if r.Status != 200 || string(r.Body) != "ok" {
			t.Fatalf("slack execute = %d %s", r.Status, r.Body)
		}
		hist = listOf(t, s, "/api/v10/channels/"+general+"/messages?limit=1", member)
		embeds, _ := hist[0]["embeds"].([]any)
		if hist[0]["content"] != "deploy done" || hist[0]["author"].(map[string]any)["username"] != "CI" || len(embeds) != 1 {
			t.Fatalf("slack message = %v", hist[0])
		}
		e := embeds[0].(map[string]any)
		if e["title"] != "Build 42" || e["description"] != "green" || e["color"] != float64(0xff0000) || e["url"] != "https://ci.example/42" {
			t.Fatalf("slack embed = %v", e)
		}

		if err := dg.WebhookMessageDelete(wh.ID, wh.Token, msg.ID); err != nil {
			t.Fatalf("WebhookMessageDelete: %v", err)
		}
		if r := s.Do(t, "GET", "/api/v10/channels/"+general+"/messages/"+msg.ID, member, nil); r.Status != 404 {
			t.Fatalf("deleted message = %d", r.Status)
		}

		// The token form shows no token; the manager's does; a member
		// without MANAGE_WEBHOOKS sees nothing.
		byToken := do(t, s, "GET", "/api/v10/webhooks/"+wh.ID+"/"+wh.Token, "", nil)
		if _, has := byToken["token"]; has || byToken["name"] != "Captain Hook" {
			t.Fatalf("by token = %v", byToken)
		}
		if l := listOf(t, s, "/api/v10/guilds/"+gid+"/webhooks", owner); len(l) != 1 || l[0]["token"] != wh.Token {
			t.Fatalf("guild webhooks = %v", l)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+general+"/webhooks", member, nil), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+general+"/webhooks", member, map[string]any{"name": "mine"}), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "GET", "/api/v10/webhooks/"+wh.ID, member, nil), 403, st.Code(50013))

		// Bad input: Discord's codes, nothing changed.
		otherHook, err := dg.WebhookCreate(general, "Other", "")
		if err != nil {
			t.Fatal(err)
		}
		base := "/api/v10/webhooks/" + wh.ID + "/"
		before := len(listOf(t, s, "/api/v10/channels/"+general+"/messages", member))
		for _, c := range []struct {
			name, method, path, tok string
			body                    any
			status, code            int
		}{
			{"token of another webhook", "POST", base + otherHook.Token, "", map[string]any{"content": "x"}, 404, 10015},
			{"unknown webhook", "POST", "/api/v10/webhooks/1/" + wh.Token, "", map[string]any{"content": "x"}, 404, 10015},
			{"empty message", "POST", base + wh.Token, "", map[string]any{"content": "  "}, 400, 50006},
			{"too long", "POST", base + wh.Token, "", map[string]any{"content": strings.Repeat("x", 4001)}, 400, 50035},
			{"clyde", "POST", base + wh.Token, "", map[string]any{"content": "x", "username": "Clyde"}, 400, 50035},
			{"thread_name outside a forum", "POST", base + wh.Token, "", map[string]any{"content": "x", "thread_name": "t"}, 400, 220003},
			{"private avatar_url refused shape", "POST", base + wh.Token, "", map[string]any{"content": "x", "avatar_url": "file:///etc/passwd"}, 400, 50035},
			{"edit with another's token", "PATCH", "/api/v10/webhooks/" + otherHook.ID + "/" + wh.Token, "", map[string]any{"name": "stolen"}, 404, 10015},
			{"name with discord", "POST", "/api/v10/channels/" + general + "/webhooks", owner, map[string]any{"name": "my Discord hook"}, 400, 50035},
			{"name missing", "POST", "/api/v10/channels/" + general + "/webhooks", owner, map[string]any{}, 400, 50035},
			{"message of another webhook", "GET", "/api/v10/webhooks/" + otherHook.ID + "/" + otherHook.Token + "/messages/" + hist[0]["id"].(string), "", nil, 404, 10008},
			{"malformed JSON", "POST", base + wh.Token, "", []byte(`{"content":`), 400, 50109},
		} {
			t.Run(c.name, func(t *testing.T) {
				st.Expect(t, s.Do(t, c.method, c.path, c.tok, c.body), c.status, st.Code(c.code))
			})
		}
		if after := len(listOf(t, s, "/api/v10/channels/"+general+"/messages", member)); after != before {
			t.Fatalf("bad input changed history: %d messages, were %d", after, before)
		}
		if r := do(t, s, "GET", "/api/v10/webhooks/"+otherHook.ID+"/"+otherHook.Token, "", nil); r["name"] != "Other" {
			t.Fatalf("webhook renamed by a wrong token: %v", r)
		}

		// Rename through the token; the audit log has the three kinds.
		if r := do(t, s, "PATCH", base+wh.Token, "", map[string]any{"name": "Hook"}); r["name"] != "Hook" {
			t.Fatalf("rename by token = %v", r)
		}
		if r := s.Do(t, "DELETE", base+wh.Token, "", nil); r.Status != 204 {
			t.Fatalf("delete by token = %d %s", r.Status, r.Body)
		}
		st.Expect(t, s.Do(t, "POST", base+wh.Token, "", map[string]any{"content": "after delete"}), 404, st.Code(10015))
		for _, action := range []string{"50", "51", "52"} {
			entries := do(t, s, "GET", "/api/v10/guilds/"+gid+"/audit-logs?action_type="+action, owner, nil)["audit_log_entries"].([]any)
			if len(entries) == 0 {
				t.Fatalf("no audit entry of type %s", action)
			}
		}

		// Deleting a channel deletes its webhooks.
		ch := do(t, s, "POST", "/api/v10/guilds/"+gid+"/channels", owner, map[string]any{"name": "doomed"})["id"].(string)
		doomed := do(t, s, "POST", "/api/v10/channels/"+ch+"/webhooks", owner, map[string]any{"name": "Doomed"})
		do(t, s, "DELETE", "/api/v10/channels/"+ch, owner, nil)
		st.Expect(t, s.Do(t, "POST", "/api/v10/webhooks/"+doomed["id"].(string)+"/"+doomed["token"].(string), "", map[string]any{"content": "x"}), 404, st.Code(10015))
	})
}

// TestWebhookRateLimit: the token routes count per webhook, with
// Discord's headers; another webhook has its own bucket.
func TestWebhookRateLimit(t *testing.T) {
	s := st.Start(t, st.Options{RateLimit: true})
	owner := s.Register(t, "owner", "correct horse")
	_, general := newGuild(t, s, owner, "Limits")
	w1 := do(t, s, "POST", "/api/v10/channels/"+general+"/webhooks", owner, map[string]any{"name": "one"})
	w2 := do(t, s, "POST", "/api/v10/channels/"+general+"/webhooks", owner, map[string]any{"name": "two"})
	path := func(w map[string]any) string {
		return "/api/v10/webhooks/" + w["id"].(string) + "/" + w["token"].(string)
	}
	var last st.Response
	for i := 0; i < 11; i++ {
		last = s.Do(t, "GET", path(w1), "", nil)
		if last.Status == 429 {
			break
		}
		if last.Header.Get("X-RateLimit-Bucket") != "webhook:"+w1["id"].(string) || last.Header.Get("X-RateLimit-Limit") == "" {
			t.Fatalf("headers = %v", last.Header)
		}
	}
	if last.Status != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("no 429 after a burst: %d %v", last.Status, last.Header)
	}
	if r := s.Do(t, "GET", path(w2), "", nil); r.Status != 200 {
		t.Fatalf("another webhook limited too: %d", r.Status)
	}
}
