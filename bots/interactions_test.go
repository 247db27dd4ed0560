package bots_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	st "hearth/server/servertest"
)

// person is a user with a real gateway session, as Discord's client has:
// a reader owned by the test collects its dispatches, and it heartbeats.
type person struct {
	t       *testing.T
	s       *st.Server
	tok     string
	id      string
	session string

	mu      sync.Mutex
	got     []dispatch
	next    int // the first dispatch not yet looked at by await
	changed chan struct{}
	closed  error
}

type dispatch struct {
	T string
	D map[string]any
}

type frame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s"`
	T  string          `json:"t"`
}

func newPerson(t *testing.T, s *st.Server, tok string) *person {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	url := "ws" + strings.TrimPrefix(s.URL(), "http") + "/gateway?v=10&encoding=json"
	dialCtx, dialCancel := context.WithTimeout(ctx, 30*time.Second)
	ws, _, err := websocket.Dial(dialCtx, url, nil)
	dialCancel()
	if err != nil {
		cancel()
		t.Fatalf("dial %s: %v", url, err)
	}
	ws.SetReadLimit(64 << 20)
	read := func() frame {
		t.Helper()
		rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
		defer rcancel()
		_, msg, err := ws.Read(rctx)
		if err != nil {
			t.Fatalf("gateway read: %v", err)
		}
		var f frame
		if err := json.Unmarshal(msg, &f); err != nil {
			t.Fatalf("gateway frame %s: %v", msg, err)
		}
		return f
	}
	var mu sync.Mutex // coder/websocket allows one writer at a time
	send := func(op int, d any) error {
		b, _ := json.Marshal(map[string]any{"op": op, "d": d})
		mu.Lock()
		defer mu.Unlock()
		return ws.Write(ctx, websocket.MessageText, b)
	}
	hello := read()
	var h struct {
		Interval int64 `json:"heartbeat_interval"`
	}
	if hello.Op != 10 || json.Unmarshal(hello.D, &h) != nil || h.Interval <= 0 {
		t.Fatalf("first frame: op %d %s", hello.Op, hello.D)
	}
	if err := send(2, map[string]any{"token": tok, "intents": 1<<0 | 1<<1 | 1<<9 | 1<<10 | 1<<11 | 1<<12 | 1<<15,
		"properties": map[string]string{"os": "linux", "browser": "hearth test", "device": "hearth test"}}); err != nil {
		t.Fatalf("identify: %v", err)
	}
	ready := read()
	var r struct {
		SessionID string `json:"session_id"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if ready.T != "READY" || json.Unmarshal(ready.D, &r) != nil {
		t.Fatalf("after IDENTIFY: op %d %q %s", ready.Op, ready.T, ready.D)
	}
	p := &person{t: t, s: s, tok: tok, id: r.User.ID, session: r.SessionID, changed: make(chan struct{})}

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the reader; ends when the connection closes
		defer wg.Done()
		for {
			_, msg, err := ws.Read(ctx)
			var f frame
			if err == nil {
				err = json.Unmarshal(msg, &f)
			}
			p.mu.Lock()
			if err != nil {
				p.closed = err
			} else if f.Op == 0 {
				var d map[string]any
				_ = json.Unmarshal(f.D, &d)
				p.got = append(p.got, dispatch{T: f.T, D: d})
			}
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { // the heartbeat; ends with the test
		defer wg.Done()
		tick := time.NewTicker(time.Duration(h.Interval) * time.Millisecond / 2)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if send(1, nil) != nil {
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		ws.CloseNow()
		wg.Wait()
	})
	return p
}

// await returns the first dispatch named typ, not yet returned, that
// satisfies ok (nil: any); dispatches passed over stay for later calls
// and for saw.
func (p *person) await(typ string, ok func(map[string]any) bool) map[string]any {
	p.t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i := range p.got {
			d := &p.got[i]
			if d.D != nil && d.T == typ && (ok == nil || ok(d.D)) {
				m := d.D
				d.D = nil // taken
				p.mu.Unlock()
				return m
			}
		}
		closed, changed := p.closed, p.changed
		p.mu.Unlock()
		if closed != nil {
			p.t.Fatalf("gateway closed before %s: %v", typ, closed)
		}
		select {
		case <-changed:
		case <-deadline.C:
			p.t.Fatalf("no %s within 60 s", typ)
		}
	}
}

// all returns every dispatch received so far named typ.
func (p *person) all(typ string) []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, d := range p.got {
		if d.T == typ {
			out = append(out, d.D)
		}
	}
	return out
}

// interact posts an interaction from the person's client, as Discord's
// client does, and wants it accepted.
func (p *person) interact(body map[string]any) {
	p.t.Helper()
	body["session_id"] = p.session
	if r := p.s.Do(p.t, "POST", "/api/v10/interactions", p.tok, body); r.Status != 204 {
		p.t.Fatalf("POST /interactions %v: %d %s", body["data"], r.Status, r.Body)
	}
}

func content(c string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["content"] == c }
}

// TestDiscordJSInteractions runs an unmodified discord.js v14 bot that
// registers global and guild commands on start and answers a person's
// interactions: a command with options (reply), a deferred answer
// (deferReply, editReply, followUp), a button and a string select
// (update), a modal (showModal, fields.getTextInputValue), autocomplete
// (respond) and an ephemeral reply that another member's gateway session
// never receives. The person is plain HTTP and a real gateway session.
func TestDiscordJSInteractions(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		humanTok := s.Register(t, "human", "correct horse")
		otherTok := s.Register(t, "other", "correct horse")
		gid, general := newGuild(t, s, humanTok, "Slash")
		inv := s.Do(t, "POST", "/api/v10/channels/"+general+"/invites", humanTok, map[string]any{})
		if inv.Status >= 300 {
			t.Fatalf("invite: %d %s", inv.Status, inv.Body)
		}
		if r := s.Do(t, "POST", "/api/v10/invites/"+inv.JSON(t)["code"].(string), otherTok, nil); r.Status >= 300 {
			t.Fatalf("join: %d %s", r.Status, r.Body)
		}
		tok, appID := newBot(t, s, humanTok, "jsslash", gid)

		human, other := newPerson(t, s, humanTok), newPerson(t, s, otherTok)
		bot := runDiscordJS(t, s, "Bot "+tok, "interactions", map[string]any{"guild": gid})
		bot.expect("ready")
		reg := bot.expect("registered")
		if g, _ := json.Marshal(reg["global"]); string(g) != `["echo","form","menu","search","secret","slow"]` ||
			len(reg["guild"].([]any)) != 1 || reg["echo_options"] != float64(2) {
			t.Fatalf("registered = %v", reg)
		}

		// What the person's client sees: the guild's command index.
		index := st.OK(t, s.Do(t, "GET", "/api/v10/guilds/"+gid+"/application-command-index", humanTok, nil), 200)
		cmd := map[string]string{}
		for _, c := range index["application_commands"].([]any) {
			c := c.(map[string]any)
			cmd[c["name"].(string)] = c["id"].(string)
		}
		if len(cmd) != 7 || cmd["guildonly"] == "" {
			t.Fatalf("command index: %v", index)
		}
		command := func(name string, options ...any) map[string]any {
			data := map[string]any{"id": cmd[name], "name": name, "type": 1}
			if len(options) > 0 {
				data["options"] = options
			}
			return map[string]any{"type": 2, "application_id": appID, "guild_id": gid, "channel_id": general, "data": data}
		}

		// A command with options: everyone sees the reply, a message of
		// type 20 naming the invoker.
		human.interact(command("echo", map[string]any{"type": 3, "name": "text", "value": "hi"}, map[string]any{"type": 4, "name": "times", "value": 3}))
		if c := bot.expect("command"); c["name"] != "echo" || c["user"] != human.id || c["guild"] != gid || c["member"] != human.id ||
			c["member_can_send"] != true || c["app_can_send"] != true || c["channel"] != general || c["locale"] == nil || c["command_id"] != cmd["echo"] {
			t.Fatalf("command = %v", c)
		}
		echo := other.await("MESSAGE_CREATE", content("echo: hi x3 from human"))
		meta, _ := echo["interaction_metadata"].(map[string]any)
		if echo["type"] != float64(20) || echo["author"].(map[string]any)["id"] != appID || meta == nil ||
			meta["user"].(map[string]any)["id"] != human.id {
			t.Fatalf("echo reply: %v", echo)
		}

		// Deferred: the loading message is filled in by editReply, and
		// followUp is a message of its own.
		human.interact(command("slow"))
		loading := human.await("MESSAGE_CREATE", func(m map[string]any) bool { return m["flags"] == float64(128) })
		human.await("MESSAGE_UPDATE", func(m map[string]any) bool { return m["id"] == loading["id"] && m["content"] == "done thinking" })
		more := human.await("MESSAGE_CREATE", content("and one more"))
		if slow := bot.expect("slow"); slow["original"] != loading["id"] || slow["followup"] != more["id"] {
			t.Fatalf("slow = %v, want original %v and follow-up %v", slow, loading["id"], more["id"])
		}

		// A button and a string select: each click updates the message.
		human.interact(command("menu"))
		menu := human.await("MESSAGE_CREATE", content("pick"))
		if rows, _ := menu["components"].([]any); len(rows) != 2 {
			t.Fatalf("menu components: %v", menu["components"])
		}
		if m := bot.expect("menu"); m["message"] != menu["id"] {
			t.Fatalf("menu = %v, want message %v", m, menu["id"])
		}
		click := func(customID string, componentType int, values ...string) map[string]any {
			data := map[string]any{"custom_id": customID, "component_type": componentType}
			if values != nil {
				data["values"] = values
			}
			return map[string]any{"type": 3, "application_id": appID, "guild_id": gid, "channel_id": general,
				"message_id": menu["id"], "data": data}
		}
		human.interact(click("yes", 2))
		if b := bot.expect("button"); b["custom_id"] != "yes" || b["message"] != menu["id"] || b["rows"] != float64(2) {
			t.Fatalf("button = %v", b)
		}
		human.await("MESSAGE_UPDATE", func(m map[string]any) bool { return m["id"] == menu["id"] && m["content"] == "clicked yes" })
		human.interact(click("color", 3, "blue"))
		if sel := bot.expect("select"); sel["custom_id"] != "color" || len(sel["values"].([]any)) != 1 || sel["values"].([]any)[0] != "blue" {
			t.Fatalf("select = %v", sel)
		}
		human.await("MESSAGE_UPDATE", func(m map[string]any) bool { return m["id"] == menu["id"] && m["content"] == "color: blue" })
		stored := st.OK(t, s.Do(t, "GET", "/api/v10/channels/"+general+"/messages/"+menu["id"].(string), humanTok, nil), 200)
		if stored["content"] != "color: blue" || len(stored["components"].([]any)) != 2 {
			t.Fatalf("menu after clicks: %v", stored)
		}

		// A modal: opened on the person's session, its submit read by
		// the bot with fields.getTextInputValue.
		human.interact(command("form"))
		modal := human.await("INTERACTION_MODAL_CREATE", nil)
		if modal["custom_id"] != "feedback" || modal["title"] != "Feedback" {
			t.Fatalf("modal: %v", modal)
		}
		bot.expect("modal shown")
		human.interact(map[string]any{"type": 5, "application_id": appID, "guild_id": gid, "channel_id": general, "data": map[string]any{
			"id": modal["id"], "custom_id": "feedback", "components": []any{map[string]any{"type": 1, "components": []any{
				map[string]any{"type": 4, "custom_id": "text", "value": "great"}}}}}})
		if sub := bot.expect("modal submit"); sub["custom_id"] != "feedback" || sub["value"] != "great" {
			t.Fatalf("modal submit = %v", sub)
		}
		human.await("MESSAGE_CREATE", content("thanks: great for feedback"))

		// Autocomplete: the choices come back to the person's session.
		ac := command("search", map[string]any{"type": 3, "name": "query", "value": "al", "focused": true})
		ac["type"], ac["nonce"] = 4, "n-ac"
		human.interact(ac)
		if a := bot.expect("autocomplete"); a["name"] != "query" || a["value"] != "al" {
			t.Fatalf("autocomplete = %v", a)
		}
		choices := human.await("APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE", nil)
		if got, _ := choices["choices"].([]any); choices["nonce"] != "n-ac" || len(got) != 2 {
			t.Fatalf("autocomplete choices: %v", choices)
		}

		// Ephemeral: only the invoker's session receives it. The other
		// member's session receives the next message in the channel, so
		// by then it would have received the ephemeral one too.
		human.interact(command("secret"))
		secret := human.await("MESSAGE_CREATE", content("only you"))
		if secret["flags"] != float64(64) {
			t.Fatalf("ephemeral message: %v", secret)
		}
		bot.expect("secret")
		bot.finish()
		st.OK(t, s.Do(t, "POST", "/api/v10/channels/"+general+"/messages", humanTok, map[string]any{"content": "after the secret"}), 200)
		other.await("MESSAGE_CREATE", content("after the secret"))
		for _, m := range other.all("MESSAGE_CREATE") {
			if m != nil && m["content"] == "only you" {
				t.Fatal("another member received the ephemeral message")
			}
		}
		for _, m := range st.List(t, s.Do(t, "GET", "/api/v10/channels/"+general+"/messages", humanTok, nil)) {
			if m["content"] == "only you" {
				t.Fatal("the ephemeral message is in the channel's history")
			}
		}
	})
}
