package federation_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"hearth/federation"
	st "hearth/server/servertest"
)

// originBot is an unmodified discordgo bot connected to the guild's
// origin: an ephemeral answer, a message with a button, and an update of
// that message when the button is pressed.
type originBot struct {
	dg  *discordgo.Session
	mu  sync.Mutex
	got []string
}

func (b *originBot) add(s string) {
	b.mu.Lock()
	b.got = append(b.got, s)
	b.mu.Unlock()
}

func (b *originBot) heard() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.got...)
}

func (b *originBot) has(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, g := range b.got {
		if g == s {
			return true
		}
	}
	return false
}

// startOriginBot makes an application on s owned by owner, adds its bot
// to guild and runs it with discordgo pointed at s.
func startOriginBot(t *testing.T, s *st.Server, owner user, guild string) *originBot {
	t.Helper()
	app := ok(t, owner.do(t, "POST", "/api/v10/applications", map[string]any{"name": "slashbot"}), 201)["id"].(string)
	tok := ok(t, owner.do(t, "POST", "/api/v10/applications/"+app+"/bot/reset", nil), 200)["token"].(string)
	ok(t, owner.do(t, "POST", "/api/v10/oauth2/authorize?client_id="+app+"&scope=bot&permissions=0",
		map[string]any{"guild_id": guild, "authorize": true}), 200)

	api := s.URL() + "/api/v10/"
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"url": "ws://" + s.Addr() + "/gateway", "shards": 1})
	}))
	t.Cleanup(gw.Close)
	saved := []string{discordgo.EndpointAPI, discordgo.EndpointGuilds, discordgo.EndpointChannels, discordgo.EndpointUsers,
		discordgo.EndpointGateway, discordgo.EndpointGatewayBot, discordgo.EndpointWebhooks, discordgo.EndpointApplications}
	discordgo.EndpointAPI, discordgo.EndpointGuilds, discordgo.EndpointChannels = api, api+"guilds/", api+"channels/"
	discordgo.EndpointUsers, discordgo.EndpointGateway, discordgo.EndpointGatewayBot = api+"users/", gw.URL, gw.URL
	discordgo.EndpointWebhooks, discordgo.EndpointApplications = api+"webhooks/", api+"applications"
	t.Cleanup(func() {
		discordgo.EndpointAPI, discordgo.EndpointGuilds, discordgo.EndpointChannels = saved[0], saved[1], saved[2]
		discordgo.EndpointUsers, discordgo.EndpointGateway, discordgo.EndpointGatewayBot = saved[3], saved[4], saved[5]
		discordgo.EndpointWebhooks, discordgo.EndpointApplications = saved[6], saved[7]
	})

	dg, err := discordgo.New("Bot " + tok)
	if err != nil {
		t.Fatal(err)
	}
	dg.Identify.Intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages
	b := &originBot{dg: dg}
	dg.AddHandler(func(s *discordgo.Session, r *discordgo.Ready) {
		if _, err := s.ApplicationCommandBulkOverwrite(r.User.ID, guild, []*discordgo.ApplicationCommand{
			{Name: "secret", Description: "Only for you"}, {Name: "menu", Description: "A button"}}); err != nil {
			b.add("register failed: " + err.Error())
			return
		}
		b.add("registered")
	})
	dg.AddHandler(func(s *discordgo.Session, ic *discordgo.InteractionCreate) {
		i := ic.Interaction
		var r *discordgo.InteractionResponse
		switch i.Type {
		case discordgo.InteractionApplicationCommand:
			d := i.ApplicationCommandData()
			b.add(d.Name + " from " + i.Member.User.Username)
			switch d.Name {
			case "secret":
				r = &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
					Data: &discordgo.InteractionResponseData{Content: "only you", Flags: discordgo.MessageFlagsEphemeral}}
			case "menu":
				r = &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
					Data: &discordgo.InteractionResponseData{Content: "pick", Components: []discordgo.MessageComponent{
						discordgo.ActionsRow{Components: []discordgo.MessageComponent{
							discordgo.Button{Label: "Yes", Style: discordgo.PrimaryButton, CustomID: "yes"}}}}}}
			}
		case discordgo.InteractionMessageComponent:
			d := i.MessageComponentData()
			b.add("component " + d.CustomID + " from " + i.Member.User.Username)
			r = &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
				Data: &discordgo.InteractionResponseData{Content: "clicked " + d.CustomID}}
		}
		if r != nil {
			if err := s.InteractionRespond(i, r); err != nil {
				b.add("respond failed: " + err.Error())
			}
		}
	})
	if err := dg.Open(); err != nil {
		t.Fatalf("discordgo Open: %v", err)
	}
	t.Cleanup(func() { dg.Close() })
	eventually(t, "the bot registered its commands", func() string {
		if !b.has("registered") {
			return fmt.Sprint(b.heard())
		}
		return ""
	})
	return b
}

// A person on A, a member of C's guild through A's replica, uses a bot
// that runs on C: a command answered ephemerally reaches only them (their
// session hears INTERACTION_CREATE, _SUCCESS and the message, which no
// history holds), a command answered with a button posts a message of the
// guild's log that reaches A, and pressing the button from A updates it.
// Notices about interactions are refused from a server that is not the
// guild's origin, for a user who is not the receiver's or not a member,
// for a channel message, and for a dispatch they do not carry.
func TestInteractionsAcrossServers(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		a, c := st.Start(t, st.Options{Backend: b}), st.Start(t, st.Options{Backend: b})
		ann, bea, cyd := register(t, a, "ann"), register(t, a, "bea"), register(t, c, "cyd")
		guild := ok(t, cyd.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Slash"}), 201)["id"].(string)
		_, general := cyd.guildNamed(t, "Slash")
		bot := startOriginBot(t, c, cyd, guild)
		code := ok(t, cyd.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
		replica := ok(t, ann.do(t, "POST", "/api/v10/invites/"+code+"@"+c.ServerName(), nil), 200)["guild"].(map[string]any)["id"].(string)
		_, aGeneral := ann.guildNamed(t, "Slash")
		var appOnA string
		eventually(t, "the bot in A's replica", func() string {
			for _, m := range list(t, ann.do(t, "GET", "/api/v10/guilds/"+replica+"/members?limit=100", nil)) {
				if u := m["user"].(map[string]any); u["bot"] == true {
					appOnA = u["id"].(string)
					return ""
				}
			}
			return "no bot member"
		})
		gw := dialGateway(t, a, ann.tok)
		interact := func(typ int, nonce, message string, data map[string]any) st.Response {
			body := map[string]any{"type": typ, "application_id": appOnA, "guild_id": replica, "channel_id": aGeneral,
				"session_id": gw.session, "nonce": nonce, "data": data}
			if message != "" {
				body["message_id"] = message
			}
			return ann.do(t, "POST", "/api/v10/interactions", body)
		}
		byNonce := func(n string) func(map[string]any) bool {
			return func(d map[string]any) bool { return d["nonce"] == n }
		}

		// An ephemeral answer, to the person alone.
		st.Expect(t, interact(2, "n-secret", "", map[string]any{"id": appOnA, "name": "secret", "type": 1}), 204, nil)
		created := gw.until(t, "INTERACTION_CREATE", byNonce("n-secret"))
		// The answer comes before the success, as on the person's own server.
		eph := gw.until(t, "MESSAGE_CREATE", func(d map[string]any) bool { return d["content"] == "only you" })
		gw.until(t, "INTERACTION_SUCCESS", func(d map[string]any) bool { return d["nonce"] == "n-secret" && d["id"] == created["id"] })
		if eph["channel_id"] != aGeneral || eph["flags"] != float64(64) || eph["interaction_metadata"].(map[string]any)["id"] != created["id"] {
			t.Fatalf("ephemeral answer on A = %v (interaction %v)", eph, created)
		}
		if !bot.has("secret from ann") {
			t.Fatalf("the bot heard %v", bot.heard())
		}

		// A message with a button, through the guild's log.
		st.Expect(t, interact(2, "n-menu", "", map[string]any{"name": "menu", "type": 1}), 204, nil)
		gw.until(t, "INTERACTION_SUCCESS", byNonce("n-menu"))
		var pick string
		eventually(t, "the bot's message on A", func() string {
			ms := list(t, ann.do(t, "GET", "/api/v10/channels/"+aGeneral+"/messages?limit=5", nil))
			if len(ms) == 0 || ms[0]["content"] != "pick" || len(ms[0]["components"].([]any)) != 1 {
				return fmt.Sprint(ms)
			}
			pick = ms[0]["id"].(string)
			return ""
		})
		for _, h := range [][]string{ann.history(t, aGeneral), cyd.history(t, general)} {
			for _, m := range h {
				if m == "only you" {
					t.Fatalf("the ephemeral answer is in a channel's history: %v", h)
				}
			}
		}

		// Pressing the button from A.
		st.Expect(t, interact(3, "n-yes", pick, map[string]any{"component_type": 2, "custom_id": "yes"}), 204, nil)
		gw.until(t, "INTERACTION_SUCCESS", byNonce("n-yes"))
		eventually(t, "the updated message on A", func() string {
			m := ok(t, ann.do(t, "GET", "/api/v10/channels/"+aGeneral+"/messages/"+pick, nil), 200)
			if m["content"] != "clicked yes" {
				return fmt.Sprint(m)
			}
			return ""
		})
		if !bot.has("component yes from ann") {
			t.Fatalf("the bot heard %v", bot.heard())
		}
		// A command the application does not have is refused by the origin.
		st.Expect(t, interact(2, "n-none", "", map[string]any{"name": "nothing", "type": 1}), 404, st.Code(10063))

		// Rogue notices, signed correctly.
		d := st.Start(t, st.Options{Backend: b})
		global := guild + "@" + c.ServerName()
		annGlobal := ann.id + "@" + a.ServerName()
		now := time.Now().UTC().Format(time.RFC3339Nano)
		msg := func(flags int) map[string]any {
			return map[string]any{"id": "1@" + c.ServerName(), "channel_id": general + "@" + c.ServerName(), "content": "forged",
				"flags": flags, "type": 0, "timestamp": now,
				"author": map[string]any{"id": cyd.id + "@" + c.ServerName(), "username": "cyd"}}
		}
		for _, tc := range []struct {
			name string
			from *st.Server
			n    map[string]any
			want int
		}{
			{"not the guild's origin", d, map[string]any{"guild": global, "user": annGlobal, "type": "MESSAGE_CREATE", "d": msg(64)}, 403},
			{"a guild of the sender it does not replicate here", c,
				map[string]any{"guild": "12345@" + c.ServerName(), "user": annGlobal, "type": "INTERACTION_SUCCESS", "d": map[string]any{}}, 404},
			{"a user of another server", c, map[string]any{"guild": global, "user": cyd.id + "@" + c.ServerName(), "type": "MESSAGE_CREATE", "d": msg(64)}, 403},
			{"a user who is not a member", c, map[string]any{"guild": global, "user": bea.id + "@" + a.ServerName(), "type": "MESSAGE_CREATE", "d": msg(64)}, 403},
			{"a channel message", c, map[string]any{"guild": global, "user": annGlobal, "type": "MESSAGE_CREATE", "d": msg(0)}, 403},
			{"a dispatch notices do not carry", c, map[string]any{"guild": global, "user": annGlobal, "type": "GUILD_DELETE", "d": map[string]any{"id": global}}, 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := call(t, tc.from, a, "POST", federation.InteractionNoticePath, tc.n)
				if status != tc.want {
					t.Fatalf("a rogue notice was answered %d %v, want %d", status, body, tc.want)
				}
			})
		}
	})
}
