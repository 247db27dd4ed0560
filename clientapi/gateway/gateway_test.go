package gateway_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	st "hearth/server/servertest"
	"hearth/snowflake"
	"hearth/storage"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

// client is a raw gateway client for protocol tests.
type client struct {
	t    *testing.T
	ws   *websocket.Conn
	zr   io.ReadCloser
	zbuf *bytes.Buffer
	seq  int64
}

type payload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  int64           `json:"s"`
	T  string          `json:"t"`
}

func dial(t *testing.T, s *st.Server, query string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(s.URL(), "http") + "/gateway" + query
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	ws.SetReadLimit(64 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	return &client{t: t, ws: ws, zbuf: &bytes.Buffer{}}
}

func (c *client) send(op int, d any) {
	c.t.Helper()
	b, _ := json.Marshal(map[string]any{"op": op, "d": d})
	if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read returns the next payload, or the close error.
func (c *client) read(timeout time.Duration) (payload, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, msg, err := c.ws.Read(ctx)
	if err != nil {
		return payload{}, err
	}
	if typ == websocket.MessageBinary {
		// zlib-stream: one stream for the connection.
		c.zbuf.Write(msg)
		if c.zr == nil {
			if c.zr, err = zlib.NewReader(c.zbuf); err != nil {
				return payload{}, err
			}
		}
		dec := json.NewDecoder(c.zr)
		var p payload
		if err := dec.Decode(&p); err != nil {
			return payload{}, err
		}
		if p.S > 0 {
			c.seq = p.S
		}
		return p, nil
	}
	var p payload
	if err := json.Unmarshal(msg, &p); err != nil {
		return payload{}, err
	}
	if p.S > 0 {
		c.seq = p.S
	}
	return p, nil
}

func (c *client) must(timeout time.Duration) payload {
	c.t.Helper()
	p, err := c.read(timeout)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return p
}

// until reads until a dispatch named t (skipping others).
func (c *client) until(t string) payload {
	c.t.Helper()
	for {
		p := c.must(15 * time.Second)
		if p.Op == 0 && p.T == t {
			return p
		}
	}
}

// closeCode reads until the connection closes and returns the code.
func (c *client) closeCode() websocket.StatusCode {
	c.t.Helper()
	for {
		_, err := c.read(15 * time.Second)
		if err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func identify(c *client, token string, intents int) payload {
	c.t.Helper()
	// Bounds for a failure, not waits: a loaded machine (the race
	// detector, a storm of closing sessions just before) can take
	// seconds to answer.
	hello := c.must(30 * time.Second)
	if hello.Op != 10 {
		c.t.Fatalf("first payload op %d, want HELLO", hello.Op)
	}
	c.send(2, map[string]any{"token": token, "intents": intents, "properties": map[string]string{"os": "linux", "browser": "test", "device": "test"}})
	ready := c.must(30 * time.Second)
	if ready.T != "READY" || ready.S != 1 {
		c.t.Fatalf("after IDENTIFY: op %d t %q s %d: %s", ready.Op, ready.T, ready.S, ready.D)
	}
	return ready
}

func do(t *testing.T, s *st.Server, method, path, tok string, body any) map[string]any {
	t.Helper()
	r := s.Do(t, method, path, tok, body)
	if r.Status >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	if len(r.Body) == 0 || r.Body[0] != '{' {
		return nil
	}
	return r.JSON(t)
}

const allIntents = 1<<0 | 1<<1 | 1<<9 | 1<<10 | 1<<11 | 1<<12 | 1<<15

func TestGatewayURL(t *testing.T) {
	s := st.Start(t, st.Options{})
	tok := s.Register(t, "bot", "correct horse")
	g := do(t, s, "GET", "/api/v10/gateway", "", nil)
	if g["url"] != "ws://"+s.Addr()+"/gateway" {
		t.Fatalf("gateway = %v", g)
	}
	gb := do(t, s, "GET", "/api/v10/gateway/bot", "Bot "+tok, nil)
	if gb["shards"] != float64(1) || gb["session_start_limit"].(map[string]any)["max_concurrency"] != float64(1) {
		t.Fatalf("gateway/bot = %v", gb)
	}
	st.Expect(t, s.Do(t, "GET", "/api/v10/gateway/bot", "", nil), 401, st.Code(0))
}

func TestReadyGuildCreateAndDispatch(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		alice, bob := s.Register(t, "alice", "correct horse"), s.Register(t, "bob", "correct horse")
		gid, general := newGuild(t, s, alice, "Live")
		inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", alice, map[string]any{})["code"].(string)

		// READY's v is the version asked for in the URL, 10 by default.
		for q, v := range map[string]float64{"?v=10&encoding=json": 10, "/?v=9": 9, "": 10} {
			c := dial(t, s, q)
			ready := identify(c, "Bot "+alice, allIntents)
			var r map[string]any
			json.Unmarshal(ready.D, &r)
			if r["v"] != v || r["session_id"] == "" || r["resume_gateway_url"] == nil ||
				r["user"].(map[string]any)["username"] != "alice" || len(r["guilds"].([]any)) != 1 ||
				r["application"] == nil || r["private_channels"] == nil {
				t.Fatalf("READY = %s", ready.D)
			}
			gc := c.until("GUILD_CREATE")
			var guild map[string]any
			json.Unmarshal(gc.D, &guild)
			for _, f := range []string{"channels", "threads", "roles", "emojis", "members", "member_count", "joined_at", "large", "presences", "voice_states", "stage_instances", "guild_scheduled_events", "soundboard_sounds", "incidents_data"} {
				if _, ok := guild[f]; !ok {
					t.Fatalf("GUILD_CREATE lacks %s", f)
				}
			}
			// Libraries read a role's colors without a guard (Discord
			// has sent them since July 2025).
			role := guild["roles"].([]any)[0].(map[string]any)
			if colors, ok := role["colors"].(map[string]any); !ok || colors["primary_color"] != role["color"] {
				t.Fatalf("GUILD_CREATE role without colors: %v", role)
			}
			if gc.S != 2 || guild["id"] != gid || len(guild["channels"].([]any)) != 2 || len(guild["members"].([]any)) != 1 {
				t.Fatalf("GUILD_CREATE s=%d: %s", gc.S, gc.D)
			}
			c.ws.Close(websocket.StatusNormalClosure, "")
		}

		c := dial(t, s, "?v=10&encoding=json")
		identify(c, alice, allIntents)
		c.until("GUILD_CREATE")
		// Bob joins: Alice sees GUILD_MEMBER_ADD; Bob's session, open
		// before he joined, gets the guild.
		bc := dial(t, s, "?v=10")
		identify(bc, bob, allIntents)
		do(t, s, "POST", "/api/v10/invites/"+inv, bob, nil)
		if p := c.until("GUILD_MEMBER_ADD"); !strings.Contains(string(p.D), `"username":"bob"`) {
			t.Fatalf("member add = %s", p.D)
		}
		if p := bc.until("GUILD_CREATE"); !strings.Contains(string(p.D), gid) {
			t.Fatalf("joiner's GUILD_CREATE = %s", p.D)
		}
		// A message from Bob reaches Alice with its content, in order.
		do(t, s, "POST", "/api/v10/channels/"+general+"/messages", bob, map[string]any{"content": "hello live"})
		do(t, s, "POST", "/api/v10/channels/"+general+"/messages", bob, map[string]any{"content": "second"})
		m1, m2 := c.until("MESSAGE_CREATE"), c.until("MESSAGE_CREATE")
		if !strings.Contains(string(m1.D), "hello live") || !strings.Contains(string(m2.D), "second") || m2.S != m1.S+1 {
			t.Fatalf("messages out of order: %d %s / %d %s", m1.S, m1.D, m2.S, m2.D)
		}
		// Typing is dispatched too.
		do(t, s, "POST", "/api/v10/channels/"+general+"/typing", bob, nil)
		c.until("TYPING_START")
		// A private channel: Bob's session never hears of its messages.
		priv := do(t, s, "POST", "/api/v10/guilds/"+gid+"/channels", alice, map[string]any{"name": "staff",
			"permission_overwrites": []map[string]any{{"id": gid, "type": 0, "deny": "1024"}}})["id"].(string)
		do(t, s, "POST", "/api/v10/channels/"+priv+"/messages", alice, map[string]any{"content": "secret plans"})
		do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": "public again"})
		for {
			p := bc.must(5 * time.Second)
			if strings.Contains(string(p.D), "secret plans") || (p.T == "CHANNEL_CREATE" && strings.Contains(string(p.D), priv)) {
				t.Fatalf("bob saw the private channel: %s %s", p.T, p.D)
			}
			if p.T == "MESSAGE_CREATE" && strings.Contains(string(p.D), "public again") {
				break
			}
		}
		// Kicked: Bob's session gets GUILD_DELETE.
		bobID := do(t, s, "GET", "/api/v10/users/@me", bob, nil)["id"].(string)
		do(t, s, "DELETE", "/api/v10/guilds/"+gid+"/members/"+bobID, alice, nil)
		if p := bc.until("GUILD_DELETE"); !strings.Contains(string(p.D), gid) {
			t.Fatalf("GUILD_DELETE = %s", p.D)
		}
	})
}

// newGuild makes a guild owned by tok and returns its ID and the ID of its
// text channel.
func newGuild(t *testing.T, s *st.Server, tok, name string) (id, general string) {
	t.Helper()
	id = do(t, s, "POST", "/api/v10/guilds", tok, map[string]any{"name": name})["id"].(string)
	return id, generalOf(t, s, id, tok)
}

// generalOf is the ID of a guild's first text channel.
func generalOf(t *testing.T, s *st.Server, guild, tok string) string {
	t.Helper()
	for _, ch := range listOf(t, s, "/api/v10/guilds/"+guild+"/channels", tok) {
		if ch["type"] == float64(0) {
			return ch["id"].(string)
		}
	}
	t.Fatalf("guild %s has no text channel", guild)
	return ""
}

func listOf(t *testing.T, s *st.Server, path, tok string) []map[string]any {
	t.Helper()
	r := s.Do(t, "GET", path, tok, nil)
	var out []map[string]any
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("%s: %s", path, r.Body)
	}
	return out
}

func TestIntentsFilter(t *testing.T) {
	s := st.Start(t, st.Options{})
	alice := s.Register(t, "alice", "correct horse")
	_, general := newGuild(t, s, alice, "Quiet")
	c := dial(t, s, "")
	identify(c, alice, 1) // GUILDS only: no messages
	c.until("GUILD_CREATE")
	do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": "unseen"})
	do(t, s, "PATCH", "/api/v10/channels/"+general, alice, map[string]any{"topic": "seen"})
	p := c.until("CHANNEL_UPDATE")
	if !strings.Contains(string(p.D), "seen") {
		t.Fatalf("CHANNEL_UPDATE = %s", p.D)
	}
	if p.S != 3 {
		t.Fatalf("a MESSAGE_CREATE was dispatched without GUILD_MESSAGES (s=%d)", p.S)
	}
}

func TestProtocolErrors(t *testing.T) {
	s := st.Start(t, st.Options{})
	tok := s.Register(t, "alice", "correct horse")
	cases := []struct {
		name  string
		query string
		do    func(c *client)
		code  websocket.StatusCode
	}{
		{"bad version", "?v=6", func(c *client) {}, 4012},
		{"etf", "?encoding=etf", func(c *client) {}, 4002},
		{"garbage", "", func(c *client) {
			c.must(time.Second)
			c.ws.Write(context.Background(), websocket.MessageText, []byte("\x00\x01garbage"))
		}, 4002},
		{"binary frame", "", func(c *client) {
			c.must(time.Second)
			c.ws.Write(context.Background(), websocket.MessageBinary, []byte(`{"op":1}`))
		}, 4002},
		{"wrong types", "", func(c *client) {
			c.must(time.Second)
			c.ws.Write(context.Background(), websocket.MessageText, []byte(`{"op":"two","d":5}`))
		}, 4002},
		{"unknown opcode", "", func(c *client) { c.must(time.Second); c.send(99, nil) }, 4001},
		{"before identify", "", func(c *client) { c.must(time.Second); c.send(8, map[string]any{"guild_id": "1"}) }, 4003},
		{"bad token", "", func(c *client) { c.must(time.Second); c.send(2, map[string]any{"token": "nope"}) }, 4004},
		{"invalid intents", "", func(c *client) {
			c.must(time.Second)
			c.send(2, map[string]any{"token": tok, "intents": 1 << 30})
		}, 4013},
		{"identify twice", "", func(c *client) {
			identify(c, tok, 1)
			c.send(2, map[string]any{"token": tok, "intents": 1})
		}, 4005},
		{"huge frame", "", func(c *client) {
			c.must(time.Second)
			// The server stops reading after its limit, so the write
			// may never finish: it gets its own goroutine and deadline.
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				c.ws.Write(ctx, websocket.MessageText, bytes.Repeat([]byte("a"), 10<<20))
			}()
		}, websocket.StatusMessageTooBig},
		{"resume ahead of the session", "", func(c *client) {
			first := dial(t, s, "")
			var r struct {
				SessionID string `json:"session_id"`
			}
			json.Unmarshal(identify(first, tok, 1).D, &r)
			first.ws.CloseNow()
			c.must(time.Second)
			c.send(6, map[string]any{"token": tok, "session_id": r.SessionID, "seq": 9999})
		}, 4007},
		{"rate limited", "", func(c *client) {
			c.must(time.Second)
			for range 130 {
				c.send(1, nil)
			}
		}, 4008},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, s, tc.query)
			tc.do(c)
			if got := c.closeCode(); got != tc.code {
				t.Fatalf("close code %d, want %d", got, tc.code)
			}
		})
	}
	// The server still serves everyone else.
	c := dial(t, s, "")
	identify(c, tok, 1)
}

func TestHeartbeatAndResume(t *testing.T) {
	s := st.Start(t, st.Options{})
	alice := s.Register(t, "alice", "correct horse")
	_, general := newGuild(t, s, alice, "Resume")
	c := dial(t, s, "?compress=zlib-stream")
	ready := identify(c, alice, allIntents)
	var r struct {
		SessionID string `json:"session_id"`
	}
	json.Unmarshal(ready.D, &r)
	c.until("GUILD_CREATE")
	c.send(1, c.seq)
	if ack := c.must(5 * time.Second); ack.Op != 11 {
		t.Fatalf("heartbeat answered op %d", ack.Op)
	}
	last := c.seq
	c.ws.CloseNow() // the connection dies mid-stream

	for i := range 5 {
		do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": fmt.Sprint("missed ", i)})
	}
	c2 := dial(t, s, "")
	c2.must(5 * time.Second) // HELLO
	c2.send(6, map[string]any{"token": alice, "session_id": r.SessionID, "seq": last})
	for i := range 5 {
		p := c2.must(5 * time.Second)
		if p.T != "MESSAGE_CREATE" || p.S != last+int64(i)+1 || !strings.Contains(string(p.D), fmt.Sprint("missed ", i)) {
			t.Fatalf("replay %d: %s s=%d %s", i, p.T, p.S, p.D)
		}
	}
	if p := c2.must(5 * time.Second); p.T != "RESUMED" {
		t.Fatalf("after replay: %s", p.T)
	}
	do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": "live again"})
	if p := c2.until("MESSAGE_CREATE"); !strings.Contains(string(p.D), "live again") {
		t.Fatalf("after resume: %s", p.D)
	}
	// A foreign or unknown session cannot be resumed.
	bob := s.Register(t, "bob", "correct horse")
	c3 := dial(t, s, "")
	c3.must(5 * time.Second)
	c3.send(6, map[string]any{"token": bob, "session_id": r.SessionID, "seq": 1})
	if p := c3.must(5 * time.Second); p.Op != 9 || string(p.D) != "false" {
		t.Fatalf("foreign resume: op %d %s", p.Op, p.D)
	}
	c3.send(6, map[string]any{"token": alice, "session_id": "nonexistent", "seq": 1})
	if p := c3.must(5 * time.Second); p.Op != 9 {
		t.Fatalf("unknown session resume: op %d", p.Op)
	}
}

func TestRequestGuildMembers(t *testing.T) {
	s := st.Start(t, st.Options{})
	alice := s.Register(t, "alice", "correct horse")
	g := do(t, s, "POST", "/api/v10/guilds", alice, map[string]any{"name": "Members"})
	c := dial(t, s, "")
	identify(c, alice, allIntents)
	c.until("GUILD_CREATE")
	c.send(8, map[string]any{"guild_id": g["id"], "query": "", "limit": 0, "nonce": "n1"})
	p := c.until("GUILD_MEMBERS_CHUNK")
	var chunk map[string]any
	json.Unmarshal(p.D, &chunk)
	if chunk["nonce"] != "n1" || len(chunk["members"].([]any)) != 1 || chunk["chunk_count"] != float64(1) {
		t.Fatalf("chunk = %s", p.D)
	}
}

func TestShutdownSendsReconnect(t *testing.T) {
	s := st.Start(t, st.Options{})
	alice := s.Register(t, "alice", "correct horse")
	c := dial(t, s, "")
	identify(c, alice, 1)
	go s.Stop()
	for {
		p, err := c.read(10 * time.Second)
		if err != nil {
			t.Fatalf("closed without RECONNECT: %v", err)
		}
		if p.Op == 7 {
			return
		}
	}
}

// TestResumeAcrossRestart: a session survives a restart of the server. It
// resumes on the new process and gets, in order, what it missed on the old
// one and what was committed as the old one stopped (after its gateway had
// stopped routing: written here straight to the database between the two
// processes); a session the old process never had, or another user's,
// cannot be resumed.
func TestResumeAcrossRestart(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		alice, bob := s.Register(t, "alice", "correct horse"), s.Register(t, "bob", "correct horse")
		gid, general := newGuild(t, s, alice, "Restarts")
		c := dial(t, s, "")
		var r struct {
			SessionID string `json:"session_id"`
		}
		json.Unmarshal(identify(c, alice, allIntents).D, &r)
		c.until("GUILD_CREATE")
		do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": "seen live"})
		c.until("MESSAGE_CREATE")
		last := c.seq
		c.ws.CloseNow()
		do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": "missed before"})

		s2 := s.RestartWith(t, writeMessageEvent(t, gid, general, "committed while stopping"))
		c2 := dial(t, s2, "")
		c2.must(5 * time.Second) // HELLO
		c2.send(6, map[string]any{"token": alice, "session_id": r.SessionID, "seq": last})
		for i, want := range []string{"missed before", "committed while stopping"} {
			p := c2.must(5 * time.Second)
			if p.T != "MESSAGE_CREATE" || p.S != last+int64(i)+1 || !strings.Contains(string(p.D), want) {
				t.Fatalf("replay %d: %s s=%d %s; want %q", i, p.T, p.S, p.D, want)
			}
		}
		if p := c2.must(5 * time.Second); p.T != "RESUMED" || p.S != last+3 {
			t.Fatalf("after the replay: op %d %s s=%d", p.Op, p.T, p.S)
		}
		do(t, s2, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": "live on the new process"})
		if p := c2.until("MESSAGE_CREATE"); !strings.Contains(string(p.D), "live on the new process") || p.S != last+4 {
			t.Fatalf("live after the resume: s=%d %s", p.S, p.D)
		}

		c3 := dial(t, s2, "")
		c3.must(5 * time.Second)
		c3.send(6, map[string]any{"token": bob, "session_id": r.SessionID, "seq": last})
		if p := c3.must(5 * time.Second); p.Op != 9 || string(p.D) != "false" {
			t.Fatalf("another user's resume: op %d %s", p.Op, p.D)
		}
		c3.send(6, map[string]any{"token": alice, "session_id": "never-issued", "seq": 1})
		if p := c3.must(5 * time.Second); p.Op != 9 {
			t.Fatalf("unknown session: op %d", p.Op)
		}
		// A new session on the new process starts from now: nothing the
		// restart replayed reaches it.
		c4 := dial(t, s2, "")
		identify(c4, bob, allIntents)
		if p, err := c4.read(300 * time.Millisecond); err == nil && p.T == "MESSAGE_CREATE" {
			t.Fatalf("a new session got an old event: %s", p.D)
		}
	})
}

// TestHeartbeatRequestAndTimeout: a client whose heartbeat is overdue is
// asked for one (op 1); answering keeps the session, staying silent ends
// it with 4009.
func TestHeartbeatRequestAndTimeout(t *testing.T) {
	const interval = 400 * time.Millisecond
	s := st.Start(t, st.Options{GatewayHeartbeat: interval})
	alice := s.Register(t, "alice", "correct horse")
	c := dial(t, s, "")
	hello := c.must(5 * time.Second)
	var h struct {
		Interval int64 `json:"heartbeat_interval"`
	}
	if json.Unmarshal(hello.D, &h); hello.Op != 10 || h.Interval != interval.Milliseconds() {
		t.Fatalf("HELLO = op %d %s", hello.Op, hello.D)
	}
	c.send(2, map[string]any{"token": alice, "intents": 1, "properties": map[string]string{}})
	// Three requests, each answered: the session lives on through them.
	for requests := 0; requests < 3; {
		p := c.must(5 * time.Second)
		switch p.Op {
		case 1:
			requests++
			c.send(1, c.seq)
		case 9:
			t.Fatal("INVALID_SESSION")
		}
	}
	// Silent after the next request: the session times out.
	if code := c.closeCode(); code != 4009 {
		t.Fatalf("closed with %d, want 4009", code)
	}
}

// TestDisallowedIntents: a bot whose application has the privileged
// intents switched off is refused them (4014); without intents it gets
// the others, and Discord's MESSAGE_CONTENT rule applies to it.
func TestDisallowedIntents(t *testing.T) {
	s := st.Start(t, st.Options{})
	alice := s.Register(t, "alice", "correct horse")
	gid, general := newGuild(t, s, alice, "Intents")
	bot := newBot(t, s, alice, "quiet", gid)
	apps := s.Do(t, "GET", "/api/v10/applications", alice, nil)
	var list []map[string]any
	json.Unmarshal(apps.Body, &list)
	do(t, s, "PATCH", "/api/v10/applications/"+list[0]["id"].(string), alice, map[string]any{"flags": 0})

	for _, intents := range []int{1 << 15, 1 << 1, 1 << 8, 1<<0 | 1<<9 | 1<<15} {
		c := dial(t, s, "")
		c.must(5 * time.Second)
		c.send(2, map[string]any{"token": "Bot " + bot, "intents": intents})
		if code := c.closeCode(); code != 4014 {
			t.Fatalf("intents %d: closed with %d, want 4014", intents, code)
		}
	}
	c := dial(t, s, "")
	c.must(5 * time.Second)
	c.send(2, map[string]any{"token": "Bot " + bot})
	ready := c.must(5 * time.Second)
	var r struct {
		Application struct {
			Flags int64 `json:"flags"`
		} `json:"application"`
	}
	if json.Unmarshal(ready.D, &r); ready.T != "READY" || r.Application.Flags != 0 {
		t.Fatalf("READY without intents: %s %s", ready.T, ready.D)
	}
	c.until("GUILD_CREATE")
	do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": "secret"})
	if p := c.until("MESSAGE_CREATE"); strings.Contains(string(p.D), "secret") {
		t.Fatalf("content reached a bot without MESSAGE_CONTENT: %s", p.D)
	}
}

// TestAuditLogEntryCreate: a new audit log entry reaches, live, the
// sessions with GUILD_MODERATION whose users may read the audit log, and
// nobody else.
func TestAuditLogEntryCreate(t *testing.T) {
	s := st.Start(t, st.Options{})
	owner, member := s.Register(t, "owner", "correct horse"), s.Register(t, "member", "correct horse")
	gid, general := newGuild(t, s, owner, "Audited")
	inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", owner, map[string]any{})["code"].(string)
	do(t, s, "POST", "/api/v10/invites/"+inv, member, nil)
	const moderation = 1<<0 | 1<<2
	mod := dial(t, s, "")
	identify(mod, owner, moderation)
	mod.until("GUILD_CREATE")
	plain := dial(t, s, "")
	identify(plain, member, moderation)
	plain.until("GUILD_CREATE")
	without := dial(t, s, "")
	identify(without, owner, 1)
	without.until("GUILD_CREATE")

	do(t, s, "POST", "/api/v10/guilds/"+gid+"/roles", owner, map[string]any{"name": "helpers"})
	p := mod.until("GUILD_AUDIT_LOG_ENTRY_CREATE")
	var e struct {
		GuildID    string `json:"guild_id"`
		ActionType int    `json:"action_type"`
		UserID     string `json:"user_id"`
		TargetID   string `json:"target_id"`
	}
	if json.Unmarshal(p.D, &e); e.GuildID != gid || e.ActionType != 30 || e.TargetID == "" || e.UserID == "" {
		t.Fatalf("audit entry = %s", p.D)
	}
	for name, c := range map[string]*client{"a member without VIEW_AUDIT_LOG": plain, "a session without GUILD_MODERATION": without} {
		for {
			q, err := c.read(300 * time.Millisecond)
			if err != nil {
				break
			}
			if q.T == "GUILD_AUDIT_LOG_ENTRY_CREATE" {
				t.Fatalf("%s got the audit entry", name)
			}
		}
	}
}

// TestResumeAcrossTwoRestarts: a session not resumed on the process after
// a restart is saved again by it, with the place in each log the first
// process had, so that what is committed before the third process is not
// lost even though the second routed nothing.
func TestResumeAcrossTwoRestarts(t *testing.T) {
	s := st.Start(t, st.Options{})
	alice := s.Register(t, "alice", "correct horse")
	gid, general := newGuild(t, s, alice, "Twice")
	c := dial(t, s, "")
	var r struct {
		SessionID string `json:"session_id"`
	}
	json.Unmarshal(identify(c, alice, allIntents).D, &r)
	c.until("GUILD_CREATE")
	do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": "first"})
	c.until("MESSAGE_CREATE")
	last := c.seq
	c.ws.CloseNow()
	s2 := s.Restart(t)
	s3 := s2.RestartWith(t, writeMessageEvent(t, gid, general, "between two restarts"))
	c2 := dial(t, s3, "")
	c2.must(5 * time.Second) // HELLO
	c2.send(6, map[string]any{"token": alice, "session_id": r.SessionID, "seq": last})
	if p := c2.must(5 * time.Second); p.T != "MESSAGE_CREATE" || p.S != last+1 || !strings.Contains(string(p.D), "between two restarts") {
		t.Fatalf("after two restarts: op %d %s s=%d %s", p.Op, p.T, p.S, p.D)
	}
	if p := c2.must(5 * time.Second); p.T != "RESUMED" {
		t.Fatalf("then %s", p.T)
	}
}

// writeMessageEvent appends a MESSAGE_CREATE with content to a guild's log
// straight in the database, as a stopping process that had committed it
// after its gateway stopped routing would leave it; for RestartWith.
func writeMessageEvent(t *testing.T, guild, channel, content string) func(storage.Store) {
	return func(db storage.Store) {
		t.Helper()
		log, err := snowflake.Parse(guild)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		payload, _ := json.Marshal(map[string]any{"id": "1", "guild_id": guild, "channel_id": channel, "content": content,
			"author": map[string]any{"id": "1"}, "mentions": []any{}})
		err = db.Update(ctx, func(tx storage.Tx) error {
			_, err := tx.AppendEvent(ctx, storage.Event{LogID: log, Type: "MESSAGE_CREATE", Payload: payload})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
