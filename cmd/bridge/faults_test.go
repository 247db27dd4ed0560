package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"hearth/homeserver"
	"hearth/server"
	st "hearth/server/servertest"
)

// rule is a fault the proxy injects on the requests it matches: the
// first n of them get act, and every match is recorded.
type rule struct {
	match *regexp.Regexp // METHOD /path
	n     int
	act   func(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy) time.Duration
	hits  []execution
}

// addRule queues a fault on the next n requests whose "METHOD /path"
// matches pattern, and returns the rule, whose hits record them all.
func (p *faultProxy) addRule(pattern string, n int, act func(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy) time.Duration) *rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := &rule{match: regexp.MustCompile("^" + pattern + "$"), n: n, act: act}
	p.rules = append(p.rules, r)
	return r
}

// seen is a copy of what a rule has matched.
func (p *faultProxy) seen(r *rule) []execution {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(r.hits)
}

// intercept applies the first rule matching the request; false lets the
// proxy carry on as usual.
func (p *faultProxy) intercept(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy) bool {
	p.mu.Lock()
	var hit *rule
	for _, ru := range p.rules {
		if ru.match.MatchString(r.Method + " " + r.URL.Path) {
			hit = ru
			break
		}
	}
	if hit == nil {
		p.mu.Unlock()
		return false
	}
	at := time.Now()
	if hit.n <= 0 {
		hit.hits = append(hit.hits, execution{at: at, status: http.StatusOK})
		p.mu.Unlock()
		return false
	}
	hit.n--
	i := len(hit.hits)
	hit.hits = append(hit.hits, execution{at: at})
	p.mu.Unlock()
	wait := hit.act(w, r, rp)
	p.mu.Lock()
	hit.hits[i].status, hit.hits[i].wait = http.StatusTooManyRequests, wait
	if wait == 0 {
		hit.hits[i].status = -1 // not a rate limit: cut or failed
	}
	p.mu.Unlock()
	return true
}

// tooMany answers a 429 announcing one second, in the header alone; a
// global one says so in the header and body.
func tooMany(global bool) func(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy) time.Duration {
	return func(w http.ResponseWriter, _ *http.Request, _ *httputil.ReverseProxy) time.Duration {
		w.Header().Set("Retry-After", "1")
		if global {
			w.Header().Set("X-RateLimit-Global", "true")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"message":"You are being rate limited.","retry_after":1,"global":true,"code":0}`)
			return time.Second
		}
		w.WriteHeader(http.StatusTooManyRequests)
		return time.Second
	}
}

// cutAfter lets Discord carry the request out, then cuts the connection
// before its answer reaches the bridge: the bridge cannot tell whether it
// happened.
func cutAfter(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy) time.Duration {
	rec := httptest.NewRecorder()
	rp.ServeHTTP(rec, r)
	cut(w)
	return 0
}

// cutBefore cuts the connection without passing the request on.
func cutBefore(w http.ResponseWriter, r *http.Request, _ *httputil.ReverseProxy) time.Duration {
	_, _ = io.Copy(io.Discard, r.Body)
	cut(w)
	return 0
}

func cut(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// metric is the value of one line of the bridge's /metrics ("" when the
// series is absent).
func metric(t *testing.T, p *bridgeProc, series string) string {
	t.Helper()
	res, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v
		}
	}
	return ""
}

// TestBridgeCatchUpEditsAndDeletes: while the bridge is down, alice edits
// and deletes messages on Discord (one of them bob's, relayed there) and
// writes a new one. On start the bridge applies all of it; its first
// catch-up read is answered 429, and it carries on after the announced
// wait within the same gateway session (one identify, no new READY).
func TestBridgeCatchUpEditsAndDeletes(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		var proxy *faultProxy
		e := linked(t, backend, 3, func(d *discordSide) { proxy, d.via = startProxy(t, d.URL()) })
		d, h := e.d, e.h
		onHearth := waitContents(t, "the backfill", h, e.bob, e.mirror, has("old 1", "old 2", "old 3"))
		st.OK(t, h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob, map[string]any{"content": "from hearth"}), http.StatusOK)
		onDiscord := waitContents(t, "bob's message on Discord", d.Server, d.alice, d.general, has("from hearth"))
		old1, old2, relayed := find(t, onDiscord, "old 1")["id"].(string), find(t, onDiscord, "old 2")["id"].(string), find(t, onDiscord, "from hearth")["id"].(string)
		old3OnHearth := find(t, onHearth, "old 3")["id"]
		// The relay has mapped bob's post (seen on Discord a moment before).
		st.WaitFor(t, "bob's post mapped", wait, func() string {
			if v := metric(t, e.br, `hearth_bridge_relay_total{outcome="ok",type="MESSAGE_CREATE"}`); v != "1" {
				return "relayed: " + v
			}
			return ""
		})

		e.br.stop()
		st.OK(t, d.Do(t, "PATCH", "/api/v10/channels/"+d.general+"/messages/"+old1, d.alice, map[string]any{"content": "old 1 (edited while away)"}), http.StatusOK)
		st.Expect(t, d.Do(t, "DELETE", "/api/v10/channels/"+d.general+"/messages/"+old2, d.alice, nil), http.StatusNoContent, nil)
		st.Expect(t, d.Do(t, "DELETE", "/api/v10/channels/"+d.general+"/messages/"+relayed, d.alice, nil), http.StatusNoContent, nil)
		st.OK(t, d.Do(t, "POST", "/api/v10/channels/"+d.general+"/messages", d.alice, map[string]any{"content": "new while away"}), http.StatusOK)
		reads := proxy.addRule(`GET /api/v10/channels/`+d.general+`/messages`, 1, tooMany(false))

		br := startBridge(t, e.flags, d)
		onHearth = waitContents(t, "what changed while away, on Hearth", h, e.bob, e.mirror, func(got []string) bool {
			return has("old 1 (edited while away)", "new while away", "old 3")(got) && hasNot("old 2")(got) && hasNot("from hearth")(got) && hasNot("old 1")(got)
		})
		if got := find(t, onHearth, "old 3")["id"]; got != old3OnHearth {
			t.Fatalf("old 3 is %v on Hearth after the catch-up, was %v", got, old3OnHearth)
		}
		if n := count(onHearth, "new while away"); n != 1 {
			t.Fatalf("new while away is %d times on Hearth", n)
		}
		hits := proxy.seen(reads)
		if len(hits) < 2 || hits[0].status != http.StatusTooManyRequests || hits[1].at.Sub(hits[0].at) < hits[0].wait {
			t.Fatalf("the catch-up's reads of #general: %+v", hits)
		}
		if v := metric(t, br, `hearth_bridge_gateway_connects_total{kind="identify"}`); v != "1" {
			t.Fatalf("identifies = %q, want 1: the catch-up waited for another READY", v)
		}
	})
}

// openBridgeData opens the bridge's database beside the running bridge
// (as its admin commands do).
func openBridgeData(t *testing.T, e world) *homeserver.Homeserver {
	t.Helper()
	cfg := server.Config{DataDir: e.flags[3], ServerName: e.bridgeName}
	if i := slices.Index(e.flags, "--database"); i >= 0 {
		cfg.Database = e.flags[i+1]
	}
	hs, done, err := server.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { done() })
	return hs
}

// TestBridgeLinkRetriedMakesOneMirror: the link's backfill is held up by a
// 429 after the mirror guild was made; the link carries on after the wait
// and the bot's puppet owns one guild, the mirror.
func TestBridgeLinkRetriedMakesOneMirror(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		var proxy *faultProxy
		var backfill *rule
		e := linked(t, backend, 2, func(d *discordSide) {
			proxy, d.via = startProxy(t, d.URL())
			backfill = proxy.addRule(`GET /api/v10/channels/`+d.general+`/messages`, 1, tooMany(false))
		})
		if hits := proxy.seen(backfill); len(hits) < 2 || hits[0].status != http.StatusTooManyRequests {
			t.Fatalf("the backfill's reads: %+v", hits)
		}
		waitContents(t, "the backfill", e.h, e.bob, e.mirror, has("old 2", "old 3"))
		bot := st.OK(t, e.d.Do(t, "GET", "/api/v10/users/@me", "Bot "+e.d.botToken, nil), http.StatusOK)["id"].(string)
		hs := openBridgeData(t, e)
		ctx := context.Background()
		puppet, err := hs.Bridge().LocalID(ctx, homeserver.BridgeUser, bot)
		if err != nil {
			t.Fatal(err)
		}
		u, err := hs.User(ctx, puppet)
		if err != nil {
			t.Fatal(err)
		}
		gs, err := hs.MyGuilds(ctx, homeserver.Principal{User: u}, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) != 1 {
			t.Fatalf("the bot's puppet owns %d guilds after a retried link, want the one mirror: %+v", len(gs), gs)
		}
	})
}

// linkAnother makes a second guild on Discord with the bot in it, links
// it and has bob join its mirror; it returns the Discord guild, its
// #general and that channel's mirror.
func linkAnother(t *testing.T, e world, name string) (guild, general, mirror string) {
	t.Helper()
	d := e.d
	guild = st.OK(t, d.Do(t, "POST", "/api/v10/guilds", d.alice, map[string]any{"name": name}), http.StatusCreated)["id"].(string)
	for _, c := range st.List(t, d.Do(t, "GET", "/api/v10/guilds/"+guild+"/channels", d.alice, nil)) {
		if c["name"] == "general" {
			general = c["id"].(string)
		}
	}
	st.OK(t, d.Do(t, "POST", fmt.Sprintf("/api/v10/oauth2/authorize?client_id=%s&scope=bot&permissions=%d", d.app, botPermissions), d.alice,
		map[string]any{"guild_id": guild, "permissions": fmt.Sprint(botPermissions), "authorize": true}), http.StatusOK)
	admin(t, e.flags, "link", guild)
	st.WaitFor(t, "the second link", wait, func() string {
		if out := admin(t, e.flags, "status"); strings.Count(out, "\tlinked") == 2 {
			return ""
		} else {
			return out
		}
	})
	code := strings.TrimSpace(admin(t, e.flags, "invite", guild))
	st.OK(t, e.h.Do(t, "POST", "/api/v10/invites/"+code, e.bob, nil), http.StatusOK)
	st.WaitFor(t, "bob sees "+name, wait, func() string {
		for _, g := range st.List(t, e.h.Do(t, "GET", "/api/v10/users/@me/guilds", e.bob, nil)) {
			if g["name"] != name {
				continue
			}
			for _, c := range st.List(t, e.h.Do(t, "GET", "/api/v10/guilds/"+g["id"].(string)+"/channels", e.bob, nil)) {
				if c["name"] == "general" {
					mirror = c["id"].(string)
				}
			}
		}
		if mirror == "" {
			return "not yet"
		}
		return ""
	})
	return guild, general, mirror
}

// TestBridgeGlobalLimitPausesEveryGuild: with two guilds linked, Discord
// answers a webhook execute with a global 429. Nothing more is sent to
// either guild before the announced wait ends, and every message of both
// reaches Discord once, in order.
func TestBridgeGlobalLimitPausesEveryGuild(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		var proxy *faultProxy
		e := linked(t, backend, 0, func(d *discordSide) { proxy, d.via = startProxy(t, d.URL()) })
		_, general2, mirror2 := linkAnother(t, e, "Second")
		proxy.fail(http.StatusTooManyRequests)
		const n = 3
		for i := 1; i <= n; i++ {
			st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob, map[string]any{"content": fmt.Sprintf("one %d", i)}), http.StatusOK)
			st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+mirror2+"/messages", e.bob, map[string]any{"content": fmt.Sprintf("two %d", i)}), http.StatusOK)
		}
		for _, c := range []struct{ channel, prefix string }{{e.d.general, "one "}, {general2, "two "}} {
			msgs := waitContents(t, c.prefix+"on Discord", e.d.Server, e.d.alice, c.channel, has(c.prefix+"1", c.prefix+"2", c.prefix+"3"))
			var got []string
			for _, m := range contents(msgs) {
				if strings.HasPrefix(m, c.prefix) {
					got = append(got, m)
				}
			}
			if want := []string{c.prefix + "1", c.prefix + "2", c.prefix + "3"}; !slices.Equal(got, want) {
				t.Fatalf("on Discord %q, want %q", got, want)
			}
		}
		proxy.mu.Lock()
		execs := slices.Clone(proxy.execs)
		proxy.mu.Unlock()
		limited := -1
		accepted := map[string]int{}
		for i, x := range execs {
			if x.status == http.StatusTooManyRequests {
				limited = i
				continue
			}
			accepted[x.content]++
			if limited >= 0 && x.at.Sub(execs[limited].at) < execs[limited].wait {
				t.Fatalf("%q was sent %v after a global 429 that announced %v", x.content, x.at.Sub(execs[limited].at), execs[limited].wait)
			}
		}
		if limited < 0 || len(accepted) != 2*n {
			t.Fatalf("proxy saw the 429 at %d and accepted %v", limited, accepted)
		}
		for c, k := range accepted {
			if k != 1 {
				t.Fatalf("%q accepted %d times", c, k)
			}
		}
		// Both guilds had something to send during the pause.
		after := map[string]bool{}
		for _, x := range execs[limited+1:] {
			after[x.content[:4]] = true
		}
		if !after["one "] || !after["two "] {
			t.Fatalf("after the 429 only %v were sent: the test did not hold both guilds up", after)
		}
	})
}

// track keeps the proxy's hijacked connections: the gateway's WebSockets
// (httputil.ReverseProxy takes the connection over for an upgrade).
func (p *faultProxy) track(c net.Conn, s http.ConnState) {
	if s != http.StateHijacked {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hijacked = append(p.hijacked, c)
}

// cutGateway closes the gateway connections through the proxy, as a
// network fault would: no close frame, the TCP connection just ends.
func (p *faultProxy) cutGateway() int {
	p.mu.Lock()
	conns := p.hijacked
	p.hijacked = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	return len(conns)
}

// viaProxyGateway makes GET /gateway name the proxy, so that the bridge's
// gateway connection goes through it.
func (p *faultProxy) viaProxyGateway() {
	p.addRule(`GET /api/v10/gateway(/bot)?`, 1<<30, func(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy) time.Duration {
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK {
			w.WriteHeader(http.StatusBadGateway)
			return 0
		}
		gw, err := url.Parse(fmt.Sprint(body["url"]))
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return 0
		}
		gw.Host = strings.TrimPrefix(p.url, "http://")
		body["url"] = gw.String()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
		return 0
	})
}

// TestBridgeGatewayResumes: the bridge's gateway connection is cut (through
// the proxy, with no close frame). The bridge resumes its session rather
// than identifying again, and what alice wrote while it was cut off comes
// once, as do her messages after.
func TestBridgeGatewayResumes(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		var proxy *faultProxy
		e := linked(t, backend, 0, func(d *discordSide) {
			proxy, d.via = startProxy(t, d.URL())
			proxy.viaProxyGateway()
		})
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice, map[string]any{"content": "before the cut"}), http.StatusOK)
		waitContents(t, "alice before the cut", e.h, e.bob, e.mirror, has("before the cut"))
		if n := proxy.cutGateway(); n != 1 {
			t.Fatalf("%d gateway connections through the proxy, want 1", n)
		}
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice, map[string]any{"content": "during the cut"}), http.StatusOK)
		st.WaitFor(t, "the gateway resumed", wait, func() string {
			if v := metric(t, e.br, `hearth_bridge_gateway_connects_total{kind="resume"}`); v != "1" {
				return "resumes: " + v
			}
			return ""
		})
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice, map[string]any{"content": "after the cut"}), http.StatusOK)
		msgs := waitContents(t, "alice's messages on Hearth", e.h, e.bob, e.mirror, has("during the cut", "after the cut"))
		for _, c := range []string{"before the cut", "during the cut", "after the cut"} {
			if n := count(msgs, c); n != 1 {
				t.Fatalf("%q is %d times on Hearth: %q", c, n, contents(msgs))
			}
		}
		if v := metric(t, e.br, `hearth_bridge_gateway_connects_total{kind="identify"}`); v != "1" {
			t.Fatalf("identifies = %q after the cut, want 1 (resumed, not identified again)", v)
		}
		proxy.mu.Lock()
		conns := len(proxy.hijacked)
		proxy.mu.Unlock()
		if conns != 1 {
			t.Fatalf("%d gateway connections through the proxy after the resume, want 1", conns)
		}
	})
}

// TestBridgeRESTCutRetried: Discord carries out a webhook execute but the
// connection is cut before its answer; another execute is cut before it
// reaches Discord. Both are retried (the first found and adopted on
// Discord, the second posted): each message is on Discord once, and
// a later edit reaches the one whose answer was lost.
func TestBridgeRESTCutRetried(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		var proxy *faultProxy
		e := linked(t, backend, 0, func(d *discordSide) { proxy, d.via = startProxy(t, d.URL()) })
		execs := proxy.addRule(`POST /api/v10/webhooks/.*`, 1, cutAfter)
		lost := st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob, map[string]any{"content": "answer lost"}), http.StatusOK)["id"].(string)
		waitContents(t, "the lost answer's message on Discord", e.d.Server, e.d.alice, e.d.general, has("answer lost"))
		// Retried, the relay finds the post its intent row announced and
		// adopts it rather than posting it again.
		st.WaitFor(t, "the post adopted", wait, func() string {
			if v := metric(t, e.br, `hearth_bridge_relay_total{outcome="adopted",type="MESSAGE_CREATE"}`); v != "1" {
				return "adopted: " + v
			}
			return ""
		})
		proxy.mu.Lock()
		execs.n, execs.act = 1, cutBefore
		proxy.mu.Unlock()
		st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob, map[string]any{"content": "never arrived"}), http.StatusOK)
		st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob, map[string]any{"content": "sentinel"}), http.StatusOK)
		msgs := waitContents(t, "bob's messages on Discord", e.d.Server, e.d.alice, e.d.general, has("never arrived", "sentinel"))
		for _, c := range []string{"answer lost", "never arrived", "sentinel"} {
			if n := count(msgs, c); n != 1 {
				t.Fatalf("%q is %d times on Discord: %q", c, n, contents(msgs))
			}
		}
		if got := contents(msgs); slices.Index(got, "never arrived") > slices.Index(got, "sentinel") {
			t.Fatalf("out of order on Discord: %q", got)
		}
		st.OK(t, e.h.Do(t, "PATCH", "/api/v10/channels/"+e.mirror+"/messages/"+lost, e.bob, map[string]any{"content": "answer lost, edited"}), http.StatusOK)
		waitContents(t, "the edit on Discord", e.d.Server, e.d.alice, e.d.general, func(got []string) bool {
			return has("answer lost, edited")(got) && hasNot("answer lost")(got)
		})
		cuts := 0
		for _, x := range proxy.seen(execs) {
			if x.status == -1 {
				cuts++
			}
		}
		if cuts != 2 {
			t.Fatalf("the proxy cut %d executes, want 2", cuts)
		}
	})
}

// TestBridgeMirrorAuthority: a Hearth person's act the bridge cannot
// mirror (renaming the mirror guild, making a role or a channel) is
// refused with 403 and Discord's code 50013; a channel made private on
// Discord leaves the mirror, and made public again it comes back as a
// fresh channel that carries messages.
func TestBridgeMirrorAuthority(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 0)
		var guild string
		for _, g := range st.List(t, e.h.Do(t, "GET", "/api/v10/users/@me/guilds", e.bob, nil)) {
			if g["name"] == "Discordia" {
				guild = g["id"].(string)
			}
		}
		for _, c := range []struct{ method, path string }{
			{"PATCH", "/api/v10/guilds/" + guild},
			{"POST", "/api/v10/guilds/" + guild + "/roles"},
			{"POST", "/api/v10/guilds/" + guild + "/channels"},
			{"PATCH", "/api/v10/channels/" + e.mirror},
		} {
			st.Expect(t, e.h.Do(t, c.method, c.path, e.bob, map[string]any{"name": "bobs"}), http.StatusForbidden, st.Code(50013))
		}

		news := st.OK(t, e.d.Do(t, "POST", "/api/v10/guilds/"+e.d.guild+"/channels", e.d.alice, map[string]any{"name": "news", "type": 0}), http.StatusCreated)["id"].(string)
		var first string
		st.WaitFor(t, "#news on Hearth", wait, func() string {
			if first = channelNamed(t, e, "news"); first == "" {
				return "not yet"
			}
			return ""
		})
		overwrite := func(deny string) {
			st.OK(t, e.d.Do(t, "PUT", "/api/v10/channels/"+news+"/permissions/"+e.d.guild, e.d.alice,
				map[string]any{"type": 0, "deny": deny, "allow": "0"}), http.StatusNoContent)
		}
		overwrite("1024")
		st.WaitFor(t, "#news gone private", wait, func() string {
			if channelNamed(t, e, "news") != "" {
				return "still there"
			}
			return ""
		})
		overwrite("0")
		var again string
		st.WaitFor(t, "#news public again", wait, func() string {
			if again = channelNamed(t, e, "news"); again == "" {
				return "not yet"
			}
			return ""
		})
		if again == first {
			t.Fatalf("#news came back as the deleted channel %s", first)
		}
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+news+"/messages", e.d.alice, map[string]any{"content": "news again"}), http.StatusOK)
		waitContents(t, "alice's message in the new #news", e.h, e.bob, again, has("news again"))
	})
}
