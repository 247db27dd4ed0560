package gateway_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	st "hearth/server/servertest"
)

// proxy forwards TCP to target and can cut every connection at once, to
// kill a client's gateway connection mid-stream the way a network does.
type proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	target string
}

// retarget sends new connections to another address (a restarted server).
func (p *proxy) retarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}

	go func() { // owned by the test: ends when ln closes
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			to := p.target
			p.mu.Unlock()
			up, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// pointDiscordgo aims discordgo's endpoint variables at a homeserver, with
// the gateway URL it is given as the answer of GET /gateway.
func pointDiscordgo(t *testing.T, s *st.Server, gatewayURL string) {
	api := s.URL() + "/api/v10/"
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"url": gatewayURL, "shards": 1})
	}))
	t.Cleanup(gw.Close)
	saved := []string{discordgo.EndpointAPI, discordgo.EndpointGuilds, discordgo.EndpointChannels,
		discordgo.EndpointUsers, discordgo.EndpointGateway, discordgo.EndpointGatewayBot}
	discordgo.EndpointAPI = api
	discordgo.EndpointGuilds = api + "guilds/"
	discordgo.EndpointChannels = api + "channels/"
	discordgo.EndpointUsers = api + "users/"
	discordgo.EndpointGateway = gw.URL
	discordgo.EndpointGatewayBot = gw.URL
	t.Cleanup(func() {
		discordgo.EndpointAPI, discordgo.EndpointGuilds, discordgo.EndpointChannels = saved[0], saved[1], saved[2]
		discordgo.EndpointUsers, discordgo.EndpointGateway, discordgo.EndpointGatewayBot = saved[3], saved[4], saved[5]
	})
}

// newBot makes an application named name, owned by owner, adds its bot
// to guild (when not empty) and returns the bot's token.
func newBot(t *testing.T, s *st.Server, owner, name, guild string) string {
	t.Helper()
	app := do(t, s, "POST", "/api/v10/applications", owner, map[string]any{"name": name})["id"].(string)
	tok := do(t, s, "POST", "/api/v10/applications/"+app+"/bot/reset", owner, nil)["token"].(string)
	if guild != "" {
		do(t, s, "POST", "/api/v10/oauth2/authorize?client_id="+app+"&scope=bot&permissions=0", owner,
			map[string]any{"guild_id": guild, "authorize": true})
	}
	return tok
}

// events collects what discordgo's handlers receive.
type events struct {
	mu  sync.Mutex
	got []string
	new chan struct{}
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.got = append(e.got, s)
	e.mu.Unlock()
	select {
	case e.new <- struct{}{}:
	default:
	}
}

func (e *events) wait(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		e.mu.Lock()
		for _, g := range e.got {
			if g == want {
				e.mu.Unlock()
				return
			}
		}
		e.mu.Unlock()
		select {
		case <-e.new:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			e.mu.Lock()
			defer e.mu.Unlock()
			t.Fatalf("discordgo never got %q; got %v", want, e.got)
		}
	}
}

// TestDiscordgo drives an unmodified discordgo session through the events
// a bot lives on, a connection killed mid-stream and resumed, and a server
// restart.
func TestDiscordgo(t *testing.T) {
	s := st.Start(t, st.Options{})
	human := s.Register(t, "human", "correct horse")
	gid, general := newGuild(t, s, human, "Bots welcome")
	inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", human, map[string]any{})["code"].(string)
	botTok := newBot(t, s, human, "robot", gid)

	px := newProxy(t, s.Addr())
	pointDiscordgo(t, s, "ws://"+px.ln.Addr().String()+"/gateway")
	dg, err := discordgo.New("Bot " + botTok)
	if err != nil {
		t.Fatal(err)
	}
	dg.Identify.Intents = discordgo.IntentsAll
	ev := &events{new: make(chan struct{}, 1)}
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { ev.add("ready:" + r.User.Username) })
	dg.AddHandler(func(_ *discordgo.Session, c *discordgo.GuildCreate) { ev.add("guild:" + c.Name) })
	dg.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { ev.add("message:" + m.Content) })
	dg.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageUpdate) { ev.add("edit:" + m.Content) })
	dg.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageDelete) { ev.add("delete:" + m.ID) })
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.MessageReactionAdd) { ev.add("react:" + r.Emoji.Name) })
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.MessageReactionRemove) { ev.add("unreact:" + r.Emoji.Name) })
	dg.AddHandler(func(_ *discordgo.Session, m *discordgo.GuildMemberAdd) { ev.add("join:" + m.User.Username) })
	dg.AddHandler(func(_ *discordgo.Session, c *discordgo.ChannelCreate) { ev.add("channel:" + c.Name) })
	dg.AddHandler(func(_ *discordgo.Session, ty *discordgo.TypingStart) { ev.add("typing:" + ty.ChannelID) })
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.Resumed) { ev.add("resumed") })
	dg.AddHandler(func(_ *discordgo.Session, p *discordgo.PresenceUpdate) {
		ev.add("presence:" + p.User.ID + ":" + string(p.Status))
	})
	if err := dg.Open(); err != nil {
		t.Fatalf("discordgo Open: %v", err)
	}
	defer dg.Close()
	ev.wait(t, "ready:robot")
	ev.wait(t, "guild:Bots welcome")

	m := do(t, s, "POST", "/api/v10/channels/"+general+"/messages", human, map[string]any{"content": "hello bot"})
	ev.wait(t, "message:hello bot")
	do(t, s, "PATCH", "/api/v10/channels/"+general+"/messages/"+m["id"].(string), human, map[string]any{"content": "hello again bot"})
	ev.wait(t, "edit:hello again bot")
	do(t, s, "PUT", "/api/v10/channels/"+general+"/messages/"+m["id"].(string)+"/reactions/%F0%9F%91%8D/@me", human, nil)
	ev.wait(t, "react:👍")
	do(t, s, "DELETE", "/api/v10/channels/"+general+"/messages/"+m["id"].(string)+"/reactions/%F0%9F%91%8D/@me", human, nil)
	ev.wait(t, "unreact:👍")
	do(t, s, "DELETE", "/api/v10/channels/"+general+"/messages/"+m["id"].(string), human, nil)
	ev.wait(t, "delete:"+m["id"].(string))
	do(t, s, "POST", "/api/v10/guilds/"+gid+"/channels", human, map[string]any{"name": "bots"})
	ev.wait(t, "channel:bots")
	do(t, s, "POST", "/api/v10/channels/"+general+"/typing", human, nil)
	ev.wait(t, "typing:"+general)
	// The human comes online on a device of their own, then goes idle.
	device := dial(t, s, "")
	identify(device, human, 1)
	humanID := do(t, s, "GET", "/api/v10/users/@me", human, nil)["id"].(string)
	ev.wait(t, "presence:"+humanID+":online")
	device.send(3, map[string]any{"status": "idle", "since": nil, "afk": true, "activities": []any{}})
	ev.wait(t, "presence:"+humanID+":idle")
	late := s.Register(t, "latecomer", "correct horse")
	do(t, s, "POST", "/api/v10/invites/"+inv, late, nil)
	ev.wait(t, "join:latecomer")

	// The bot's REST calls work through discordgo as well.
	sent, err := dg.ChannelMessageSend(general, "beep boop")
	if err != nil || sent.Content != "beep boop" {
		t.Fatalf("discordgo send: %v, %+v", err, sent)
	}
	ev.wait(t, "message:beep boop")

	// Killed mid-stream: messages sent while it is down arrive after the
	// resume, none missing.
	px.cut()
	for _, c := range []string{"while down 1", "while down 2", "while down 3"} {
		do(t, s, "POST", "/api/v10/channels/"+general+"/messages", human, map[string]any{"content": c})
	}
	ev.wait(t, "resumed")
	for _, c := range []string{"while down 1", "while down 2", "while down 3"} {
		ev.wait(t, "message:"+c)
	}
	ev.mu.Lock()
	seen := strings.Join(ev.got, "|")
	ev.mu.Unlock()
	if strings.Count(seen, "message:while down 1") != 1 {
		t.Fatalf("a replayed message arrived twice: %s", seen)
	}

	// The server restarts while the bot is away (its connection cut, with
	// nowhere to reconnect) and a message is sent just before: the new
	// process restores the session, discordgo resumes it rather than
	// identifying again, and the message arrives once.
	px.retarget("127.0.0.1:1") // nothing listens while the server is down
	px.cut()
	do(t, s, "POST", "/api/v10/channels/"+general+"/messages", human, map[string]any{"content": "before restart"})
	s2 := s.Restart(t)
	px.retarget(s2.Addr())
	ev.wait(t, "message:before restart")
	do(t, s2, "POST", "/api/v10/channels/"+general+"/messages", human, map[string]any{"content": "after restart"})
	ev.wait(t, "message:after restart")
	if n := ev.count("ready:robot"); n != 1 {
		t.Fatalf("discordgo identified %d times; it should have resumed", n)
	}
	// discordgo runs each handler on a goroutine of its own, so RESUMED
	// may be told after the messages that followed it.
	for deadline := time.Now().Add(5 * time.Second); ev.count("resumed") < 2 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := ev.count("resumed"); n != 2 {
		t.Fatalf("%d resumes, want 2", n)
	}
	if n := ev.count("message:before restart"); n != 1 {
		t.Fatalf("the message sent before the restart arrived %d times", n)
	}
}

func (e *events) count(want string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, g := range e.got {
		if g == want {
			n++
		}
	}
	return n
}

// TestDiscordgoUserEvents: unmodified discordgo, signed in with a user
// token, reads READY with read states and guild settings, and is not
// disconnected by MESSAGE_ACK and USER_GUILD_SETTINGS_UPDATE, which it
// does not know: the events after them still arrive on the same session.
func TestDiscordgoUserEvents(t *testing.T) {
	s := st.Start(t, st.Options{})
	human := s.Register(t, "human", "correct horse")
	gid, general := newGuild(t, s, human, "Reading")
	first := do(t, s, "POST", "/api/v10/channels/"+general+"/messages", human, map[string]any{"content": "first"})["id"].(string)
	do(t, s, "POST", "/api/v10/channels/"+general+"/messages/"+first+"/ack", human, nil)
	do(t, s, "PATCH", "/api/v10/users/@me/guilds/"+gid+"/settings", human, map[string]any{"muted": true})

	pointDiscordgo(t, s, "ws://"+s.Addr()+"/gateway")
	dg, err := discordgo.New(human)
	if err != nil {
		t.Fatal(err)
	}
	dg.Identify.Intents = discordgo.IntentsAll
	ev := &events{new: make(chan struct{}, 1)}
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { ev.add("ready:" + r.User.Username) })
	dg.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { ev.add("message:" + m.Content) })
	dg.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) { ev.add("disconnect") })
	dg.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) { ev.add("event:" + e.Type) })
	if err := dg.Open(); err != nil {
		t.Fatalf("discordgo Open: %v", err)
	}
	defer dg.Close()
	ev.wait(t, "ready:human")

	second := do(t, s, "POST", "/api/v10/channels/"+general+"/messages", human, map[string]any{"content": "second"})["id"].(string)
	ev.wait(t, "message:second")
	do(t, s, "POST", "/api/v10/channels/"+general+"/messages/"+second+"/ack", human, nil)
	ev.wait(t, "event:MESSAGE_ACK")
	do(t, s, "PATCH", "/api/v10/users/@me/guilds/"+gid+"/settings", human, map[string]any{"muted": false})
	ev.wait(t, "event:USER_GUILD_SETTINGS_UPDATE")
	do(t, s, "POST", "/api/v10/channels/"+general+"/messages", human, map[string]any{"content": "third"})
	ev.wait(t, "message:third")
	if n := ev.count("disconnect"); n != 0 || ev.count("ready:human") != 1 {
		t.Fatalf("discordgo disconnected %d times and identified %d times", n, ev.count("ready:human"))
	}
}
