package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	st "hearth/server/servertest"
)

// fileBot is an unmodified discordgo bot that reads a command's
// attachment option, answers with files (in the response, a deferred
// answer's follow-up and an ephemeral follow-up), and puts a button on an
// ephemeral answer.
func startFileBot(t *testing.T, s *st.Server, token string) (*discordgo.Session, *events) {
	t.Helper()
	dg, err := discordgo.New("Bot " + token)
	if err != nil {
		t.Fatal(err)
	}
	dg.Identify.Intents = discordgo.IntentsGuilds
	ev := &events{new: make(chan struct{}, 1)}
	commands := []*discordgo.ApplicationCommand{
		{Name: "upload", Description: "Read a file", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionAttachment, Name: "file", Description: "the file", Required: true}}},
		{Name: "later", Description: "Files after a deferral"},
		{Name: "hidden", Description: "An ephemeral button"},
	}
	dg.AddHandler(func(s *discordgo.Session, r *discordgo.Ready) {
		if _, err := s.ApplicationCommandBulkOverwrite(r.User.ID, "", commands); err != nil {
			ev.add("register failed: " + err.Error())
			return
		}
		ev.add("registered")
	})
	dg.AddHandler(func(s *discordgo.Session, ic *discordgo.InteractionCreate) {
		i := ic.Interaction
		fail := func(what string, err error) {
			if err != nil {
				ev.add(what + " failed: " + err.Error())
			}
		}
		file := func(name, body string) *discordgo.File {
			return &discordgo.File{Name: name, ContentType: "text/plain", Reader: bytes.NewReader([]byte(body))}
		}
		switch i.Type {
		case discordgo.InteractionApplicationCommand:
			switch d := i.ApplicationCommandData(); d.Name {
			case "upload":
				id, _ := d.Options[0].Value.(string)
				att := d.Resolved.Attachments[id]
				if att == nil {
					ev.add(fmt.Sprintf("no resolved attachment %q in %+v", id, d.Resolved))
					return
				}
				res, err := http.Get(att.URL)
				if err != nil {
					fail("fetch", err)
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				fail("respond", s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
					Data: &discordgo.InteractionResponseData{Content: fmt.Sprintf("got %s %d bytes", att.Filename, len(body)),
						Files: []*discordgo.File{file("echo.txt", "echo:"+string(body))}}}))
			case "later":
				fail("defer", s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}))
				_, err := s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "report", Files: []*discordgo.File{file("report.txt", "report body")}})
				fail("followup", err)
				_, err = s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "private file", Flags: discordgo.MessageFlagsEphemeral,
					Files: []*discordgo.File{file("secret.txt", "secret body")}})
				fail("ephemeral followup", err)
				ev.add("later-token:" + i.Token)
				ev.add("later done")
			case "hidden":
				fail("respond", s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
					Data: &discordgo.InteractionResponseData{Content: "hidden", Flags: discordgo.MessageFlagsEphemeral,
						Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
							discordgo.Button{Label: "Reveal", Style: discordgo.PrimaryButton, CustomID: "reveal"}}}}}}))
			}
		case discordgo.InteractionMessageComponent:
			if i.Message != nil && i.Message.Flags&discordgo.MessageFlagsEphemeral != 0 {
				ev.add("component on ephemeral " + i.Message.Content)
			}
			fail("update", s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
				Data: &discordgo.InteractionResponseData{Content: "revealed", Components: []discordgo.MessageComponent{}}}))
		}
	})
	if err := dg.Open(); err != nil {
		t.Fatalf("discordgo Open: %v", err)
	}
	t.Cleanup(func() { dg.Close() })
	ev.wait(t, "registered")
	return dg, ev
}

// interactWithFiles posts an interaction as Discord's client does with
// files: multipart, payload_json and files[n].
func (p *person) interactWithFiles(body map[string]any, files map[int][2]string) st.Response {
	p.t.Helper()
	body["session_id"] = p.session
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	payload, _ := json.Marshal(body)
	fw, _ := w.CreateFormField("payload_json")
	_, _ = fw.Write(payload)
	for n, f := range files {
		fw, _ := w.CreateFormFile(fmt.Sprintf("files[%d]", n), f[0])
		_, _ = fw.Write([]byte(f[1]))
	}
	w.Close()
	req, _ := http.NewRequest("POST", p.s.URL()+"/api/v10/interactions", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", p.tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return st.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// fetchAttachment reads the only file of a message as the client would.
func fetchAttachment(t *testing.T, m map[string]any, name string) string {
	t.Helper()
	atts, _ := m["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("want one attachment in %v", m)
	}
	a := atts[0].(map[string]any)
	if a["filename"] != name {
		t.Fatalf("attachment %v, want %s", a, name)
	}
	res, err := http.Get(a["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", a["url"], res.StatusCode, b)
	}
	return string(b)
}

// TestInteractionFiles: a person uploads a file with a command's
// attachment option and the discordgo bot reads it from
// resolved.attachments; the bot answers with files in its response, in a
// deferred answer's follow-up and in an ephemeral follow-up (multipart
// files[n] and payload_json); a button on an ephemeral answer can be
// clicked by that person only, and UPDATE_MESSAGE edits the ephemeral
// message for them.
func TestInteractionFiles(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		s := st.Start(t, st.Options{Backend: backend})
		humanTok := s.Register(t, "human", "correct horse")
		otherTok := s.Register(t, "other", "correct horse")
		gid, general := newGuild(t, s, humanTok, "Files")
		inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", humanTok, map[string]any{})["code"].(string)
		do(t, s, "POST", "/api/v10/invites/"+inv, otherTok, nil)
		// The bot may manage webhooks (1<<29), to make one of its own.
		app := do(t, s, "POST", "/api/v10/applications", humanTok, map[string]any{"name": "filebot"})["id"].(string)
		botTok := do(t, s, "POST", "/api/v10/applications/"+app+"/bot/reset", humanTok, nil)["token"].(string)
		do(t, s, "POST", "/api/v10/oauth2/authorize?client_id="+app+"&scope=bot&permissions=536870912", humanTok,
			map[string]any{"guild_id": gid, "permissions": "536870912", "authorize": true})
		pointDiscordgo(t, s, "ws://"+s.Addr()+"/gateway")
		pointDiscordgoApps(t, s)
		dg, ev := startFileBot(t, s, botTok)
		appID := dg.State.User.ID
		human, other := newPerson(t, s, humanTok), newPerson(t, s, otherTok)
		cmd := map[string]string{}
		for _, c := range listOf(t, s, "/api/v10/applications/"+appID+"/commands", "Bot "+botTok) {
			cmd[c["name"].(string)] = c["id"].(string)
		}
		command := func(name string, extra map[string]any) map[string]any {
			data := map[string]any{"id": cmd[name], "name": name, "type": 1}
			for k, v := range extra {
				data[k] = v
			}
			return map[string]any{"type": 2, "application_id": appID, "guild_id": gid, "channel_id": general, "data": data}
		}
		expect204 := func(r st.Response) {
			t.Helper()
			if r.Status != 204 {
				t.Fatalf("interaction answered %d %s, want 204", r.Status, r.Body)
			}
		}

		// An attachment option: the file goes with the interaction.
		upload := func(value any) map[string]any {
			return command("upload", map[string]any{
				"options":     []any{map[string]any{"type": 11, "name": "file", "value": value}},
				"attachments": []any{map[string]any{"id": "0", "filename": "cat.txt"}},
			})
		}
		expect204(human.interactWithFiles(upload("0"), map[int][2]string{0: {"upload.bin", "cat bytes"}}))
		got := other.next("MESSAGE_CREATE", hasContent("got cat.txt 9 bytes"))
		if body := fetchAttachment(t, got, "echo.txt"); body != "echo:cat bytes" {
			t.Fatalf("response file holds %q", body)
		}
		// A numeric value names the same upload, as some clients send it.
		expect204(human.interactWithFiles(upload(0), map[int][2]string{0: {"cat.txt", "more cat bytes"}}))
		human.next("MESSAGE_CREATE", hasContent("got cat.txt 14 bytes"))
		// An option naming no upload, or with no file at all, is refused
		// before the bot hears of it.
		st.Expect(t, human.interactWithFiles(upload("3"), map[int][2]string{0: {"cat.txt", "x"}}), 400, st.Code(50035))
		st.Expect(t, human.interact(upload("0")), 400, st.Code(50035))

		// Files in a deferred answer's follow-up (which fills in the
		// deferred message) and in an ephemeral follow-up.
		expect204(human.interact(command("later", nil)))
		loading := human.next("MESSAGE_CREATE", func(m map[string]any) bool { return m["flags"] == float64(128) })
		filled := human.next("MESSAGE_UPDATE", func(m map[string]any) bool { return m["id"] == loading["id"] })
		if filled["content"] != "report" || fetchAttachment(t, filled, "report.txt") != "report body" {
			t.Fatalf("deferred answer filled in: %v", filled)
		}
		stored := do(t, s, "GET", "/api/v10/channels/"+general+"/messages/"+loading["id"].(string), otherTok, nil)
		if fetchAttachment(t, stored, "report.txt") != "report body" {
			t.Fatalf("stored answer: %v", stored)
		}
		private := human.next("MESSAGE_CREATE", hasContent("private file"))
		if private["flags"] != float64(64) || fetchAttachment(t, private, "secret.txt") != "secret body" {
			t.Fatalf("ephemeral follow-up: %v", private)
		}

		// The interaction's token is an Application webhook (type 3)
		// while follow-ups may use it.
		ev.wait(t, "later done")
		var token string
		ev.mu.Lock()
		for _, g := range ev.got {
			if rest, ok := strings.CutPrefix(g, "later-token:"); ok {
				token = rest
			}
		}
		ev.mu.Unlock()
		iw := do(t, s, "GET", "/api/v10/webhooks/"+appID+"/"+token, "", nil)
		if iw["type"] != float64(3) || iw["id"] != appID || iw["application_id"] != appID || iw["channel_id"] != general ||
			iw["name"] != "filebot" || iw["guild_id"] != gid {
			t.Fatalf("interaction webhook: %v", iw)
		}
		if _, has := iw["token"]; has {
			t.Fatalf("interaction webhook shows a token: %v", iw)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/webhooks/"+gid+"/"+token, "", nil), 404, st.Code(10015))
		// With the right token, a follow-up whose body breaks off mid-file
		// is the client's fault: 400, not 500.
		if status, code := truncatedMultipart(t, s, "/api/v10/webhooks/"+appID+"/"+token); status != 400 || code != float64(50109) {
			t.Fatalf("a follow-up cut mid-file: %d %v, want 400 50109", status, code)
		}

		// A webhook the bot makes is its application's: application_id
		// is set, and only the application sees its token.
		bw, err := dg.WebhookCreate(general, "Bot hook", "")
		if err != nil || bw.ApplicationID != appID || bw.Token == "" {
			t.Fatalf("bot's webhook: %v %+v", err, bw)
		}
		hw := do(t, s, "POST", "/api/v10/channels/"+general+"/webhooks", humanTok, map[string]any{"name": "Human hook"})
		if hw["application_id"] != nil || hw["token"] == nil {
			t.Fatalf("a person's webhook: %v", hw)
		}
		for _, w := range listOf(t, s, "/api/v10/channels/"+general+"/webhooks", humanTok) {
			switch w["id"] {
			case bw.ID:
				if _, has := w["token"]; has || w["application_id"] != appID || w["user"] == nil {
					t.Fatalf("the bot's webhook as a person sees it: %v", w)
				}
			case hw["id"]:
				if w["token"] != hw["token"] {
					t.Fatalf("the person's webhook: %v", w)
				}
			}
		}
		if again, err := dg.Webhook(bw.ID); err != nil || again.Token != bw.Token || again.ApplicationID != appID {
			t.Fatalf("the bot's webhook as the bot sees it: %v %+v", err, again)
		}
		byToken := do(t, s, "GET", "/api/v10/webhooks/"+bw.ID+"/"+bw.Token, "", nil)
		if byToken["application_id"] != appID || byToken["type"] != float64(1) {
			t.Fatalf("the bot's webhook by its token: %v", byToken)
		}

		// A button on an ephemeral answer: the person who sees it clicks
		// it, the bot receives the ephemeral message, and its update
		// reaches that person only.
		expect204(human.interact(command("hidden", nil)))
		hidden := human.next("MESSAGE_CREATE", hasContent("hidden"))
		if hidden["flags"] != float64(64) {
			t.Fatalf("ephemeral answer: %v", hidden)
		}
		click := map[string]any{"type": 3, "application_id": appID, "guild_id": gid, "channel_id": general,
			"message_id": hidden["id"], "data": map[string]any{"custom_id": "reveal", "component_type": 2}}
		st.Expect(t, other.interact(click), 404, st.Code(10008))
		bogus := map[string]any{"type": 3, "application_id": appID, "guild_id": gid, "channel_id": general,
			"message_id": hidden["id"], "data": map[string]any{"custom_id": "nope", "component_type": 2}}
		st.Expect(t, human.interact(bogus), 400, st.Code(50035))
		expect204(human.interact(click))
		ev.wait(t, "component on ephemeral hidden")
		updated := human.next("MESSAGE_UPDATE", func(m map[string]any) bool { return m["id"] == hidden["id"] })
		if updated["content"] != "revealed" || updated["flags"] != float64(64) || len(updated["components"].([]any)) != 0 {
			t.Fatalf("ephemeral message after the click: %v", updated)
		}
		// The button is gone: a second click fails validation.
		st.Expect(t, human.interact(click), 400, st.Code(50035))
		do(t, s, "POST", "/api/v10/channels/"+general+"/messages", humanTok, map[string]any{"content": "after the clicks"})
		for {
			p := other.gw.must(30 * time.Second)
			var m map[string]any
			_ = json.Unmarshal(p.D, &m)
			if p.T == "MESSAGE_UPDATE" && m["id"] == hidden["id"] || p.T == "MESSAGE_CREATE" && m["content"] == "hidden" {
				t.Fatalf("another member received the ephemeral message: %s %v", p.T, m)
			}
			if p.T == "MESSAGE_CREATE" && m["content"] == "after the clicks" {
				break
			}
		}
		ev.mu.Lock()
		defer ev.mu.Unlock()
		for _, g := range ev.got {
			if strings.Contains(g, "failed") || strings.HasPrefix(g, "no resolved") {
				t.Fatalf("the bot reported: %v", ev.got)
			}
		}
	})
}

// A body sent to an interaction's callback or follow-up routes with a
// token that is not the interaction's is refused before it is read: no
// file of it is stored or sniffed. A malformed multipart body shows the
// order: refused as an unknown interaction (not as a bad body).
func TestInteractionFilesNeedTheTokenFirst(t *testing.T) {
	s := st.Start(t, st.Options{})
	for _, tc := range []struct {
		path string
		code float64
	}{
		{"/api/v10/interactions/1234567890123456789/" + "bm90LWEtdG9rZW4" + "/callback", 10062},
		{"/api/v10/webhooks/1234567890123456789/aW50ZXJhY3Rpb246MTIzOjQ1Ng", 10015},
	} {
		if status, code := truncatedMultipart(t, s, tc.path); status != http.StatusNotFound || code != tc.code {
			t.Errorf("%s: %d %v, want 404 with code %v", tc.path, status, code, tc.code)
		}
	}
}

// truncatedMultipart posts a multipart body that ends in the middle of a
// file and returns the answer's status and code.
func truncatedMultipart(t *testing.T, s *st.Server, path string) (int, any) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	part, _ := w.CreateFormFile("files[0]", "a.txt")
	part.Write([]byte("a file that breaks off"))
	// Not closed: the body ends mid-part.
	req, _ := http.NewRequest("POST", s.URL()+path, bytes.NewReader(buf.Bytes()))
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	json.NewDecoder(resp.Body).Decode(&got)
	return resp.StatusCode, got["code"]
}
