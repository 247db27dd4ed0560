package gateway_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bwmarrin/discordgo"

	st "hearth/server/servertest"
)

// pointDiscordgoApps also aims the endpoints discordgo computes once from
// the API's address (applications, webhooks) at the homeserver.
func pointDiscordgoApps(t *testing.T, s *st.Server) {
	api := s.URL() + "/api/v10/"
	saved := []string{discordgo.EndpointWebhooks, discordgo.EndpointApplications}
	discordgo.EndpointWebhooks = api + "webhooks/"
	discordgo.EndpointApplications = api + "applications"
	t.Cleanup(func() { discordgo.EndpointWebhooks, discordgo.EndpointApplications = saved[0], saved[1] })
}

// slashBot is an unmodified discordgo bot built as bots are written
// today: it registers its commands on start and answers interactions.
type slashBot struct {
	dg     *discordgo.Session
	ev     *events
	mu     sync.Mutex
	caught map[string]*discordgo.Interaction // by command name, for the test's own answers
}

func (b *slashBot) catch(name string, i *discordgo.Interaction) {
	b.mu.Lock()
	b.caught[name] = i
	b.mu.Unlock()
	b.ev.add("caught:" + name)
}

func (b *slashBot) caughtOf(name string) *discordgo.Interaction {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.caught[name]
}

func startSlashBot(t *testing.T, s *st.Server, token, guild string) *slashBot {
	t.Helper()
	dg, err := discordgo.New("Bot " + token)
	if err != nil {
		t.Fatal(err)
	}
	dg.Identify.Intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages
	b := &slashBot{dg: dg, ev: &events{new: make(chan struct{}, 1)}, caught: map[string]*discordgo.Interaction{}}
	one, five := 1.0, 5.0
	global := []*discordgo.ApplicationCommand{
		{Name: "echo", Description: "Say it back", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionString, Name: "text", Description: "what", Required: true, MaxLength: 50},
			{Type: discordgo.ApplicationCommandOptionInteger, Name: "times", Description: "how often", MinValue: &one, MaxValue: five},
		}},
		{Name: "search", Description: "Find", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionString, Name: "query", Description: "what", Required: true, Autocomplete: true},
		}},
		{Name: "menu", Description: "Buttons and a select"},
		{Name: "form", Description: "A modal"},
		{Name: "secret", Description: "Only for you"},
		{Name: "slow", Description: "Deferred"},
		{Name: "silent", Description: "Never answered"},
		{Name: "Wave", Type: discordgo.UserApplicationCommand},
	}
	dg.AddHandler(func(s *discordgo.Session, r *discordgo.Ready) {
		if _, err := s.ApplicationCommandBulkOverwrite(r.User.ID, "", global); err != nil {
			b.ev.add("register failed: " + err.Error())
			return
		}
		if _, err := s.ApplicationCommandBulkOverwrite(r.User.ID, guild, []*discordgo.ApplicationCommand{
			{Name: "guildonly", Description: "Only here"}}); err != nil {
			b.ev.add("register failed: " + err.Error())
			return
		}
		b.ev.add("registered")
	})
	dg.AddHandler(func(s *discordgo.Session, ic *discordgo.InteractionCreate) {
		i := ic.Interaction
		respond := func(r *discordgo.InteractionResponse) {
			if err := s.InteractionRespond(i, r); err != nil {
				b.ev.add("respond failed: " + err.Error())
			}
		}
		message := func(content string, comps ...discordgo.MessageComponent) *discordgo.InteractionResponse {
			return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Content: content, Components: comps}}
		}
		switch i.Type {
		case discordgo.InteractionApplicationCommand:
			d := i.ApplicationCommandData()
			b.catch(d.Name, i)
			switch d.Name {
			case "echo":
				opts := map[string]*discordgo.ApplicationCommandInteractionDataOption{}
				for _, o := range d.Options {
					opts[o.Name] = o
				}
				times := int64(1)
				if o := opts["times"]; o != nil {
					times = o.IntValue()
				}
				respond(message(fmt.Sprintf("echo: %s x%d from %s", opts["text"].StringValue(), times, i.Member.User.Username)))
			case "menu":
				respond(message("pick",
					discordgo.ActionsRow{Components: []discordgo.MessageComponent{
						discordgo.Button{Label: "Yes", Style: discordgo.PrimaryButton, CustomID: "yes"},
						discordgo.Button{Label: "Docs", Style: discordgo.LinkButton, URL: "https://example.org/docs"},
					}},
					discordgo.ActionsRow{Components: []discordgo.MessageComponent{
						discordgo.SelectMenu{MenuType: discordgo.StringSelectMenu, CustomID: "color", Placeholder: "Colour",
							Options: []discordgo.SelectMenuOption{{Label: "Red", Value: "red"}, {Label: "Blue", Value: "blue"}}},
					}}))
			case "form":
				respond(&discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
					CustomID: "feedback", Title: "Feedback", Components: []discordgo.MessageComponent{
						discordgo.ActionsRow{Components: []discordgo.MessageComponent{
							discordgo.TextInput{CustomID: "text", Label: "Say something", Style: discordgo.TextInputShort,
								Required: true, MinLength: 2, MaxLength: 20},
						}},
					}}})
			case "secret":
				respond(&discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
					Data: &discordgo.InteractionResponseData{Content: "only you", Flags: discordgo.MessageFlagsEphemeral}})
			case "slow":
				respond(&discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
				if _, err := s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "done thinking"}); err != nil {
					b.ev.add("followup failed: " + err.Error())
					return
				}
				if _, err := s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "and one more"}); err != nil {
					b.ev.add("followup failed: " + err.Error())
				}
			case "Wave":
				respond(message("waves at " + d.Resolved.Users[d.TargetID].Username))
			case "silent":
				// Never answered: the person's client is told it failed.
			}
		case discordgo.InteractionMessageComponent:
			d := i.MessageComponentData()
			b.ev.add("component:" + d.CustomID)
			content := "clicked " + d.CustomID
			if len(d.Values) > 0 {
				content = d.CustomID + ": " + strings.Join(d.Values, ",")
			}
			respond(&discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
				Data: &discordgo.InteractionResponseData{Content: content}})
		case discordgo.InteractionApplicationCommandAutocomplete:
			d := i.ApplicationCommandData()
			var choices []*discordgo.ApplicationCommandOptionChoice
			for _, w := range []string{"alpha", "alps", "beta"} {
				if strings.HasPrefix(w, d.Options[0].StringValue()) {
					choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: w, Value: w})
				}
			}
			respond(&discordgo.InteractionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
				Data: &discordgo.InteractionResponseData{Choices: choices}})
		case discordgo.InteractionModalSubmit:
			d := i.ModalSubmitData()
			in := d.Components[0].(*discordgo.ActionsRow).Components[0].(*discordgo.TextInput)
			respond(message("thanks: " + in.Value + " for " + d.CustomID))
		}
	})
	if err := dg.Open(); err != nil {
		t.Fatalf("discordgo Open: %v", err)
	}
	t.Cleanup(func() { dg.Close() })
	b.ev.wait(t, "registered")
	return b
}

// person is a user with a gateway session, as Discord's client is.
type person struct {
	t       *testing.T
	s       *st.Server
	tok     string
	id      string
	session string
	gw      *client
}

func newPerson(t *testing.T, s *st.Server, tok string) *person {
	t.Helper()
	p := &person{t: t, s: s, tok: tok, gw: dial(t, s, "")}
	ready := identify(p.gw, tok, allIntents)
	var r struct {
		SessionID string `json:"session_id"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(ready.D, &r); err != nil {
		t.Fatal(err)
	}
	p.session, p.id = r.SessionID, r.User.ID
	return p
}

// interact posts an interaction as the client does and returns the answer.
func (p *person) interact(body map[string]any) st.Response {
	p.t.Helper()
	body["session_id"] = p.session
	return p.s.Do(p.t, "POST", "/api/v10/interactions", p.tok, body)
}

// next reads dispatches until one named typ whose d satisfies ok.
func (p *person) next(typ string, ok func(map[string]any) bool) map[string]any {
	p.t.Helper()
	for {
		d := p.gw.until(typ)
		var m map[string]any
		if err := json.Unmarshal(d.D, &m); err != nil {
			p.t.Fatal(err)
		}
		if ok == nil || ok(m) {
			return m
		}
	}
}

func hasContent(c string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["content"] == c }
}

// TestDiscordgoInteractions: an unmodified discordgo bot registers global
// and guild commands on start, and a person uses them through the routes
// and dispatches of Discord's client: a command with options, a deferred
// answer with follow-ups, buttons and a select that update the message,
// a modal and its submit, autocomplete, a context menu, an ephemeral
// answer that only the person sees, and a command the bot never answers.
// Bad interactions and bad answers get Discord's codes.
func TestDiscordgoInteractions(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		s := st.Start(t, st.Options{Backend: backend})
		humanTok := s.Register(t, "human", "correct horse")
		otherTok := s.Register(t, "other", "correct horse")
		gid, general := newGuild(t, s, humanTok, "Slash")
		inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", humanTok, map[string]any{})["code"].(string)
		do(t, s, "POST", "/api/v10/invites/"+inv, otherTok, nil)
		botTok := newBot(t, s, humanTok, "slashbot", gid)
		pointDiscordgo(t, s, "ws://"+s.Addr()+"/gateway")
		pointDiscordgoApps(t, s)
		bot := startSlashBot(t, s, botTok, gid)
		appID := bot.dg.State.User.ID

		human, other := newPerson(t, s, humanTok), newPerson(t, s, otherTok)
		index := do(t, s, "GET", "/api/v10/guilds/"+gid+"/application-command-index", humanTok, nil)
		cmd := map[string]string{}
		for _, c := range index["application_commands"].([]any) {
			c := c.(map[string]any)
			cmd[c["name"].(string)] = c["id"].(string)
		}
		if len(cmd) != 9 || cmd["guildonly"] == "" {
			t.Fatalf("command index: %v", index)
		}
		command := func(name string, options ...any) map[string]any {
			typ := 1
			if name == "Wave" {
				typ = 2
			}
			data := map[string]any{"id": cmd[name], "name": name, "type": typ}
			if len(options) > 0 {
				data["options"] = options
			}
			return map[string]any{"type": 2, "application_id": appID, "guild_id": gid, "channel_id": general, "data": data}
		}
		expect := func(r st.Response, status, code int) {
			t.Helper()
			if status == 204 {
				if r.Status != 204 {
					t.Fatalf("interaction answered %d %s, want 204", r.Status, r.Body)
				}
				return
			}
			st.Expect(t, r, status, st.Code(code))
		}

		// A command with options: the person's client hears of the
		// interaction and its success, and the answer is a message of
		// type 20 in the channel, seen by everyone.
		body := command("echo", map[string]any{"type": 3, "name": "text", "value": "hi"}, map[string]any{"type": 4, "name": "times", "value": 3})
		body["nonce"] = "n-echo"
		expect(human.interact(body), 204, 0)
		created := human.next("INTERACTION_CREATE", nil)
		if created["nonce"] != "n-echo" || created["id"] == nil {
			t.Fatalf("INTERACTION_CREATE to the person: %v", created)
		}
		human.next("INTERACTION_SUCCESS", func(m map[string]any) bool { return m["id"] == created["id"] })
		echo := other.next("MESSAGE_CREATE", hasContent("echo: hi x3 from human"))
		meta, _ := echo["interaction_metadata"].(map[string]any)
		if echo["type"] != float64(20) || echo["author"].(map[string]any)["id"] != appID || meta == nil ||
			meta["user"].(map[string]any)["id"] != human.id || meta["id"] != created["id"] || echo["application_id"] != appID {
			t.Fatalf("response message: %v", echo)
		}
		// The bot answering again, or with a wrong token: Discord's codes.
		caught := bot.caughtOf("echo")
		second := map[string]any{"type": 4, "data": map[string]any{"content": "again"}}
		st.Expect(t, s.Do(t, "POST", "/api/v10/interactions/"+caught.ID+"/"+caught.Token+"/callback", "", second), 400, st.Code(40060))
		st.Expect(t, s.Do(t, "POST", "/api/v10/interactions/"+caught.ID+"/"+caught.Token+"x/callback", "", second), 404, st.Code(10062))
		st.Expect(t, s.Do(t, "POST", "/api/v10/interactions/"+caught.ID+"/not-a-token/callback", "", second), 404, st.Code(10062))

		// Options are checked before the bot hears of them.
		for _, tc := range []struct {
			name   string
			body   map[string]any
			status int
			code   int
		}{
			{"missing required option", command("echo"), 400, 50035},
			{"integer below min", command("echo", map[string]any{"type": 3, "name": "text", "value": "a"}, map[string]any{"type": 4, "name": "times", "value": 0}), 400, 50035},
			{"string too long", command("echo", map[string]any{"type": 3, "name": "text", "value": strings.Repeat("a", 51)}), 400, 50035},
			{"wrong option type", command("echo", map[string]any{"type": 4, "name": "text", "value": 1}), 400, 50035},
			{"unknown option", command("echo", map[string]any{"type": 3, "name": "text", "value": "a"}, map[string]any{"type": 3, "name": "nope", "value": "a"}), 400, 50035},
			{"outdated name", map[string]any{"type": 2, "application_id": appID, "guild_id": gid, "channel_id": general,
				"data": map[string]any{"id": cmd["echo"], "name": "other", "type": 1}}, 400, 50035},
			{"unknown command", map[string]any{"type": 2, "application_id": appID, "guild_id": gid, "channel_id": general,
				"data": map[string]any{"id": gid, "name": "echo", "type": 1}}, 404, 10063},
			{"unknown type", map[string]any{"type": 9, "application_id": appID, "channel_id": general, "data": map[string]any{}}, 400, 50035},
			{"unknown application", map[string]any{"type": 2, "application_id": gid, "channel_id": general, "data": map[string]any{}}, 404, 10002},
		} {
			r := human.interact(tc.body)
			if r.Status != tc.status {
				t.Fatalf("%s: %d %s", tc.name, r.Status, r.Body)
			}
			expect(r, tc.status, tc.code)
		}
		st.Expect(t, s.Do(t, "POST", "/api/v10/interactions", "Bot "+botTok, command("menu")), 403, st.Code(20001))

		// A context menu command resolves its target.
		wave := command("Wave")
		wave["data"].(map[string]any)["target_id"] = other.id
		expect(human.interact(wave), 204, 0)
		human.next("MESSAGE_CREATE", func(m map[string]any) bool { return m["content"] == "waves at other" && m["type"] == float64(23) })

		// A deferred answer shows as loading, and the first follow-up
		// fills it in; the next is a message of its own.
		expect(human.interact(command("slow")), 204, 0)
		loading := human.next("MESSAGE_CREATE", func(m map[string]any) bool { return m["flags"] == float64(128) })
		human.next("MESSAGE_UPDATE", func(m map[string]any) bool { return m["id"] == loading["id"] && m["content"] == "done thinking" })
		human.next("MESSAGE_CREATE", hasContent("and one more"))

		// Buttons and a select: clicking updates the message.
		expect(human.interact(command("menu")), 204, 0)
		menu := human.next("MESSAGE_CREATE", hasContent("pick"))
		if rows, _ := menu["components"].([]any); len(rows) != 2 {
			t.Fatalf("menu components: %v", menu["components"])
		}
		click := func(customID string, componentType int, values ...string) map[string]any {
			data := map[string]any{"custom_id": customID, "component_type": componentType}
			if values != nil {
				data["values"] = values
			}
			return map[string]any{"type": 3, "application_id": appID, "guild_id": gid, "channel_id": general,
				"message_id": menu["id"], "data": data}
		}
		expect(human.interact(click("yes", 2)), 204, 0)
		human.next("MESSAGE_UPDATE", func(m map[string]any) bool { return m["id"] == menu["id"] && m["content"] == "clicked yes" })
		expect(human.interact(click("color", 3, "blue")), 204, 0)
		human.next("MESSAGE_UPDATE", func(m map[string]any) bool { return m["id"] == menu["id"] && m["content"] == "color: blue" })
		for name, body := range map[string]map[string]any{
			"unknown custom_id":   click("nope", 2),
			"wrong type":          click("yes", 3, "red"),
			"value not an option": click("color", 3, "green"),
			"too many values":     click("color", 3, "red", "blue"),
			"link button":         click("", 2),
		} {
			if r := human.interact(body); r.Status != 400 {
				t.Fatalf("%s: %d %s", name, r.Status, r.Body)
			}
		}
		stored := do(t, s, "GET", "/api/v10/channels/"+general+"/messages/"+menu["id"].(string), humanTok, nil)
		if stored["content"] != "color: blue" || len(stored["components"].([]any)) != 2 {
			t.Fatalf("menu after clicks: %v", stored)
		}

		// A modal: opened for the person, its submit checked, read by the
		// bot once.
		expect(human.interact(command("form")), 204, 0)
		modal := human.next("INTERACTION_MODAL_CREATE", nil)
		if modal["custom_id"] != "feedback" || modal["title"] != "Feedback" {
			t.Fatalf("modal: %v", modal)
		}
		submit := func(value string) map[string]any {
			return map[string]any{"type": 5, "application_id": appID, "guild_id": gid, "channel_id": general, "data": map[string]any{
				"id": modal["id"], "custom_id": "feedback", "components": []any{map[string]any{"type": 1, "components": []any{
					map[string]any{"type": 4, "custom_id": "text", "value": value}}}}}}
		}
		expect(human.interact(submit("x")), 400, 50035)
		expect(human.interact(submit(strings.Repeat("y", 21))), 400, 50035)
		expect(human.interact(submit("great")), 204, 0)
		human.next("MESSAGE_CREATE", hasContent("thanks: great for feedback"))
		expect(human.interact(submit("again")), 400, 50035)

		// Autocomplete: the choices come back to the person's session.
		ac := command("search", map[string]any{"type": 3, "name": "query", "value": "al", "focused": true})
		ac["type"], ac["nonce"] = 4, "n-ac"
		expect(human.interact(ac), 204, 0)
		choices := human.next("APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE", nil)
		if got := choices["choices"].([]any); choices["nonce"] != "n-ac" || len(got) != 2 {
			t.Fatalf("autocomplete: %v", choices)
		}

		// Ephemeral: only the person sees it, and it is not in the
		// channel's history. The other member's next message is the one
		// sent after it.
		expect(human.interact(command("secret")), 204, 0)
		secret := human.next("MESSAGE_CREATE", hasContent("only you"))
		if secret["flags"] != float64(64) {
			t.Fatalf("ephemeral message: %v", secret)
		}
		do(t, s, "POST", "/api/v10/channels/"+general+"/messages", humanTok, map[string]any{"content": "after the secret"})
		for {
			m := other.next("MESSAGE_CREATE", nil)
			if m["content"] == "only you" {
				t.Fatal("another member received the ephemeral message")
			}
			if m["content"] == "after the secret" {
				break
			}
		}
		for _, m := range listOf(t, s, "/api/v10/channels/"+general+"/messages", humanTok) {
			if m["content"] == "only you" {
				t.Fatal("the ephemeral message is in the channel's history")
			}
		}

		// A bot that never answers: the person is told it failed, and a
		// late answer is refused.
		expect(human.interact(command("silent")), 204, 0)
		silentID := human.next("INTERACTION_CREATE", nil)["id"]
		human.next("INTERACTION_FAILURE", func(m map[string]any) bool { return m["id"] == silentID })
		bot.ev.wait(t, "caught:silent")
		late := bot.caughtOf("silent")
		st.Expect(t, s.Do(t, "POST", "/api/v10/interactions/"+late.ID+"/"+late.Token+"/callback", "", second), 404, st.Code(10062))
		// Nor can it be followed up.
		st.Expect(t, s.Do(t, "POST", "/api/v10/webhooks/"+appID+"/"+late.Token, "", map[string]any{"content": "late"}), 404, st.Code(10015))

		// Follow-ups and @original through the token.
		slow := bot.caughtOf("slow")
		orig := do(t, s, "GET", "/api/v10/webhooks/"+appID+"/"+slow.Token+"/messages/@original", "", nil)
		if orig["content"] != "done thinking" {
			t.Fatalf("@original: %v", orig)
		}
		do(t, s, "PATCH", "/api/v10/webhooks/"+appID+"/"+slow.Token+"/messages/@original", "", map[string]any{"content": "edited"})
		human.next("MESSAGE_UPDATE", hasContent("edited"))
		if r := s.Do(t, "DELETE", "/api/v10/webhooks/"+appID+"/"+slow.Token+"/messages/@original", "", nil); r.Status != 204 {
			t.Fatalf("delete @original: %d %s", r.Status, r.Body)
		}
		human.next("MESSAGE_DELETE", func(m map[string]any) bool { return m["id"] == orig["id"] })
		st.Expect(t, s.Do(t, "GET", "/api/v10/webhooks/"+appID+"/"+slow.Token+"/messages/"+echo["id"].(string), "", nil), 404, st.Code(10008))
		st.Expect(t, s.Do(t, "GET", "/api/v10/webhooks/"+gid+"/"+slow.Token+"/messages/@original", "", nil), 404, st.Code(10015))

		// Bad answers change nothing: too many rows, unknown component
		// types, an oversized body.
		secretI := bot.caughtOf("secret")
		rows := make([]any, 6)
		for i := range rows {
			rows[i] = map[string]any{"type": 1, "components": []any{map[string]any{"type": 2, "style": 1, "label": "b", "custom_id": fmt.Sprint(i)}}}
		}
		for name, body := range map[string]any{
			"six rows":          map[string]any{"content": "x", "components": rows},
			"unknown component": map[string]any{"content": "x", "components": []any{map[string]any{"type": 1, "components": []any{map[string]any{"type": 99}}}}},
			"two selects":       map[string]any{"content": "x", "components": []any{map[string]any{"type": 1, "components": []any{map[string]any{"type": 3, "custom_id": "a", "options": []any{map[string]any{"label": "a", "value": "a"}}}, map[string]any{"type": 3, "custom_id": "b", "options": []any{map[string]any{"label": "a", "value": "a"}}}}}}},
		} {
			r := s.Do(t, "POST", "/api/v10/webhooks/"+appID+"/"+secretI.Token, "", body)
			if r.Status != 400 {
				t.Fatalf("%s: %d %s", name, r.Status, r.Body)
			}
			st.Expect(t, r, 400, st.Code(50035))
		}
		st.Expect(t, s.Do(t, "POST", "/api/v10/webhooks/"+appID+"/"+secretI.Token, "", []byte(`{"content":"`+strings.Repeat("a", 2<<20)+`"}`)), 413, st.Code(40005))

		// Components on a message the bot sends over REST: stored,
		// clickable, removed by an edit; people cannot send them.
		sent, err := bot.dg.ChannelMessageSendComplex(general, &discordgo.MessageSend{Content: "rest buttons",
			Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.Button{Label: "Go", Style: discordgo.SuccessButton, CustomID: "rest-go"}}}}})
		if err != nil || len(sent.Components) != 1 {
			t.Fatalf("bot send with components: %v %+v", err, sent)
		}
		restClick := map[string]any{"type": 3, "application_id": appID, "guild_id": gid, "channel_id": general,
			"message_id": sent.ID, "data": map[string]any{"custom_id": "rest-go", "component_type": 2}}
		expect(human.interact(restClick), 204, 0)
		human.next("MESSAGE_UPDATE", func(m map[string]any) bool { return m["id"] == sent.ID && m["content"] == "clicked rest-go" })
		empty := []discordgo.MessageComponent{}
		if _, err := bot.dg.ChannelMessageEditComplex(&discordgo.MessageEdit{ID: sent.ID, Channel: general, Components: &empty}); err != nil {
			t.Fatalf("bot edit removing components: %v", err)
		}
		expect(human.interact(restClick), 400, 50035)
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+general+"/messages", humanTok, map[string]any{"content": "x",
			"components": []any{map[string]any{"type": 1, "components": []any{map[string]any{"type": 2, "style": 1, "label": "b", "custom_id": "p"}}}}}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+general+"/messages", "Bot "+botTok, map[string]any{"content": "x", "components": rows}), 400, st.Code(50035))

		// A flood of interactions from one person is limited (refused
		// ones count too, so that probing costs the same).
		limited := false
		flood := map[string]any{"type": 9, "application_id": appID, "channel_id": general, "data": map[string]any{}}
		for i := 0; i < 40 && !limited; i++ {
			limited = s.Do(t, "POST", "/api/v10/interactions", otherTok, flood).Status == 429
		}
		if !limited {
			t.Fatal("40 interactions in a row were not limited")
		}
	})
}
