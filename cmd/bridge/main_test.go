package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	pngenc "image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/server"
	st "hearth/server/servertest"
	"hearth/snowflake"
	"hearth/storage/storagetest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	code := m.Run()
	removeBinary()
	os.Exit(code)
}

const wait = 30 * time.Second

// botPermissions are what the bridge's bot needs on Discord: view, send,
// manage messages, read history, manage webhooks, add reactions.
const botPermissions = 1<<6 | 1<<10 | 1<<11 | 1<<13 | 1<<16 | 1<<29

// discordSide is a Hearth homeserver playing Discord: alice (a person),
// her guild and its #general, and the bridge's bot in it.
type discordSide struct {
	*st.Server
	alice, guild, general, botToken string
	// app is the bot's application.
	app string
	// via, when set, is the URL the bridge reaches Discord at (a proxy).
	via string
}

// api is where the bridge finds Discord.
func (d discordSide) api() string {
	if d.via != "" {
		return d.via
	}
	return d.URL()
}

func startDiscord(t testing.TB, backend st.Backend) discordSide {
	t.Helper()
	d := st.Start(t, st.Options{Backend: backend})
	alice := d.Register(t, "alice", "correct horse battery")
	g := st.OK(t, d.Do(t, "POST", "/api/v10/guilds", alice, map[string]any{"name": "Discordia"}), http.StatusCreated)
	gid := g["id"].(string)
	general := ""
	for _, c := range st.List(t, d.Do(t, "GET", "/api/v10/guilds/"+gid+"/channels", alice, nil)) {
		if c["name"] == "general" {
			general = c["id"].(string)
		}
	}
	app := st.OK(t, d.Do(t, "POST", "/api/v10/applications", alice, map[string]any{"name": "Hearth Bridge"}), http.StatusCreated)["id"].(string)
	tok := st.OK(t, d.Do(t, "POST", "/api/v10/applications/"+app+"/bot/reset", alice, nil), http.StatusOK)["token"].(string)
	st.OK(t, d.Do(t, "POST", fmt.Sprintf("/api/v10/oauth2/authorize?client_id=%s&scope=bot&permissions=%d", app, botPermissions), alice,
		map[string]any{"guild_id": gid, "permissions": fmt.Sprint(botPermissions), "authorize": true}), http.StatusOK)
	return discordSide{Server: d, alice: alice, guild: gid, general: general, botToken: tok, app: app}
}

// bridgeProc is a bridge run in this process through run, as the binary
// would be.
type bridgeProc struct {
	flags  []string
	url    string
	cancel context.CancelFunc
	done   chan error
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// bridgeFlags are the data flags a bridge and its commands share.
func bridgeFlags(t testing.TB, backend st.Backend) []string {
	addr := freeAddr(t)
	flags := []string{"--listen", addr, "--data", t.TempDir(), "--insecure-federation"}
	if backend == st.Postgres {
		flags = append(flags, "--database", storagetest.PostgresURL(t))
	}
	return flags
}

func startBridge(t testing.TB, flags []string, d discordSide) *bridgeProc {
	t.Helper()
	return startBridgeEnv(t, flags, d, nil)
}

// startBridgeEnv starts a bridge with environment variables.
func startBridgeEnv(t testing.TB, flags []string, d discordSide, env map[string]string) *bridgeProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &bridgeProc{flags: flags, cancel: cancel, done: make(chan error, 1), stderr: &syncBuffer{}}
	args := append(append([]string{}, flags...), "--discord-token", d.botToken, "--discord-url", d.api(), "--log-level", "warn")
	go func() { p.done <- run(ctx, args, func(k string) string { return env[k] }, &bytes.Buffer{}, p.stderr) }()
	p.url = "http://" + flags[1]
	t.Cleanup(p.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridge's log:\n%s", p.stderr)
		}
	})
	st.WaitFor(t, "bridge ready", wait, func() string {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("bridge stopped: %v\n%s", err, p.stderr)
		default:
		}
		res, err := http.Get(p.url + "/readyz")
		if err != nil {
			return err.Error()
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return res.Status
		}
		return ""
	})
	return p
}

func (p *bridgeProc) stop() {
	p.cancel()
	if err := <-p.done; err != nil {
		panic(fmt.Sprintf("bridge stopped with %v\n%s", err, p.stderr))
	}
	p.done <- nil
}

// command runs a bridge admin command on the bridge's data and returns
// what it printed.
func admin(t testing.TB, flags []string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append(args, flags...), func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("bridge %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// history is a channel's messages on a server as the token's holder reads
// them, oldest first.
func history(t testing.TB, s *st.Server, tok, channel string) []map[string]any {
	t.Helper()
	page := st.List(t, s.Do(t, "GET", "/api/v10/channels/"+channel+"/messages?limit=100", tok, nil))
	for i, j := 0, len(page)-1; i < j; i, j = i+1, j-1 {
		page[i], page[j] = page[j], page[i]
	}
	return page
}

func contents(msgs []map[string]any) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m["content"].(string)
	}
	return out
}

func count(msgs []map[string]any, content string) int {
	n := 0
	for _, m := range msgs {
		if m["content"] == content {
			n++
		}
	}
	return n
}

// waitContents waits until a channel's history, as contents, passes ok.
func waitContents(t testing.TB, what string, s *st.Server, tok, channel string, ok func([]string) bool) []map[string]any {
	t.Helper()
	var last []map[string]any
	st.WaitFor(t, what, wait, func() string {
		last = history(t, s, tok, channel)
		if ok(contents(last)) {
			return ""
		}
		return fmt.Sprintf("history %q", contents(last))
	})
	return last
}

func has(want ...string) func([]string) bool {
	return func(got []string) bool {
		for _, w := range want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				return false
			}
		}
		return true
	}
}

func hasNot(gone string) func([]string) bool {
	return func(got []string) bool {
		for _, g := range got {
			if g == gone {
				return false
			}
		}
		return true
	}
}

// world is Discord (played by a Hearth homeserver), bob's homeserver, a
// bridge linking alice's guild, and bob in its mirror.
type world struct {
	d                        discordSide
	h                        *st.Server
	bob                      string
	flags                    []string
	br                       *bridgeProc
	mirror, bridgeName, code string
}

// linked builds a world: alice wrote "old 1" to "old 3" before the link,
// whose backfill is given; bob joined with the invite.
func linked(t testing.TB, backend st.Backend, backfill int, setup ...func(*discordSide)) world {
	t.Helper()
	return linkedWith(t, backend, backfill, nil, nil, setup...)
}

// linkedWith is linked with more flags for the bridge and its commands,
// and environment variables for the bridge (read once setup has run).
func linkedWith(t testing.TB, backend st.Backend, backfill int, more []string, env map[string]string, setup ...func(*discordSide)) world {
	t.Helper()
	d := startDiscord(t, backend)
	for _, f := range setup {
		f(&d)
	}
	for i := 1; i <= 3; i++ {
		st.OK(t, d.Do(t, "POST", "/api/v10/channels/"+d.general+"/messages", d.alice,
			map[string]any{"content": fmt.Sprintf("old %d", i)}), http.StatusOK)
	}
	h := st.Start(t, st.Options{Backend: backend})
	bob := h.Register(t, "bob", "correct horse battery")

	flags := append(bridgeFlags(t, backend), more...)
	br := startBridgeEnv(t, flags, d, env)
	bridgeName := flags[1]
	if out := admin(t, flags, "status"); !strings.Contains(out, "no linked guilds") {
		t.Fatalf("status before link: %q", out)
	}
	admin(t, flags, "link", d.guild, "--backfill", fmt.Sprint(backfill))
	st.WaitFor(t, "link", wait, func() string {
		out := admin(t, flags, "status")
		if strings.Contains(out, "\tlinked") {
			return ""
		}
		return out
	})
	code := strings.TrimSpace(admin(t, flags, "invite", d.guild))
	if code != strings.Split(code, "@")[0]+"@"+bridgeName {
		t.Fatalf("invite %q is not code@%s", code, bridgeName)
	}
	if again := strings.TrimSpace(admin(t, flags, "invite", d.guild)); again != code {
		t.Fatalf("second invite %q, want the same %q", again, code)
	}

	// Bob joins through his own homeserver, by federation.
	st.OK(t, h.Do(t, "POST", "/api/v10/invites/"+code, bob, nil), http.StatusOK)
	var mirror string
	st.WaitFor(t, "bob sees the mirror's channels", wait, func() string {
		for _, g := range st.List(t, h.Do(t, "GET", "/api/v10/users/@me/guilds", bob, nil)) {
			if g["name"] == "Discordia" {
				for _, c := range st.List(t, h.Do(t, "GET", "/api/v10/guilds/"+g["id"].(string)+"/channels", bob, nil)) {
					if c["name"] == "general" {
						mirror = c["id"].(string)
					}
				}
			}
		}
		if mirror == "" {
			return "no #general in a guild Discordia"
		}
		return ""
	})
	return world{d: d, h: h, bob: bob, flags: flags, br: br, mirror: mirror, bridgeName: bridgeName, code: code}
}

// TestBridgeEndToEnd is issue 15's "done when": bob on a Hearth
// homeserver joins a Discord guild's mirror with code@bridge and chats
// with alice on "Discord" (a Hearth homeserver playing it) both ways:
// backfill on link, messages, edits and deletes each way, nothing echoed
// back, and after a restart of the bridge nothing imported or relayed
// twice and the same webhook reused.
func TestBridgeEndToEnd(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 2)
		d, h, bob, flags, br, mirror, bridgeName := e.d, e.h, e.bob, e.flags, e.br, e.mirror, e.bridgeName

		// Backfill: the newest 2 of 3, in Discord's order, by alice's puppet.
		msgs := waitContents(t, "backfill on Hearth", h, bob, mirror, has("old 2", "old 3"))
		if got := contents(msgs); len(got) != 2 || got[0] != "old 2" || got[1] != "old 3" {
			t.Fatalf("backfill = %q, want [old 2 old 3]", got)
		}
		// alice's puppet: a user of the bridge's server, as bob's server
		// knows it (the client shape carries no server).
		author := msgs[0]["author"].(map[string]any)
		authorID, _ := snowflake.Parse(author["id"].(string))
		if u, err := h.Homeserver().User(context.Background(), authorID); err != nil || u.Username != "alice" || u.Origin != bridgeName {
			t.Fatalf("backfilled author %v on bob's server: %+v, %v; want alice of %s", author, u, err, bridgeName)
		}

		// Discord to Hearth.
		fromAlice := st.OK(t, d.Do(t, "POST", "/api/v10/channels/"+d.general+"/messages", d.alice,
			map[string]any{"content": "hello from discord"}), http.StatusOK)["id"].(string)
		waitContents(t, "alice's message on Hearth", h, bob, mirror, has("hello from discord"))

		// Hearth to Discord, under bob's name and server, by the bridge's
		// webhook.
		fromBob := st.OK(t, h.Do(t, "POST", "/api/v10/channels/"+mirror+"/messages", bob,
			map[string]any{"content": "hello from hearth"}), http.StatusOK)["id"].(string)
		onDiscord := waitContents(t, "bob's message on Discord", d.Server, d.alice, d.general, has("hello from hearth"))
		var relayed map[string]any
		for _, m := range onDiscord {
			if m["content"] == "hello from hearth" {
				relayed = m
			}
		}
		if relayed["webhook_id"] == nil {
			t.Fatalf("bob's message on Discord has no webhook_id: %v", relayed)
		}
		wantName := "bob (" + strings.ReplaceAll(h.ServerName(), ":", "\u2236") + ")"
		if name := relayed["author"].(map[string]any)["username"]; name != wantName {
			t.Fatalf("bob appears on Discord as %q, want %q", name, wantName)
		}

		// No echo either way: a message after each (the sides handle
		// events in order) shows the echo had its chance.
		st.OK(t, d.Do(t, "POST", "/api/v10/channels/"+d.general+"/messages", d.alice,
			map[string]any{"content": "sentinel from discord"}), http.StatusOK)
		st.OK(t, h.Do(t, "POST", "/api/v10/channels/"+mirror+"/messages", bob,
			map[string]any{"content": "sentinel from hearth"}), http.StatusOK)
		onHearth := waitContents(t, "alice's sentinel on Hearth", h, bob, mirror, has("sentinel from discord"))
		onDiscord = waitContents(t, "bob's sentinel on Discord", d.Server, d.alice, d.general, has("sentinel from hearth"))
		for _, c := range []string{"hello from discord", "hello from hearth", "sentinel from discord"} {
			if n := count(onHearth, c); n != 1 {
				t.Fatalf("%q is %d times on Hearth: %q", c, n, contents(onHearth))
			}
		}
		for _, c := range []string{"hello from discord", "hello from hearth", "old 3"} {
			if n := count(onDiscord, c); n != 1 {
				t.Fatalf("%q is %d times on Discord: %q", c, n, contents(onDiscord))
			}
		}

		// Edits both ways.
		st.OK(t, d.Do(t, "PATCH", "/api/v10/channels/"+d.general+"/messages/"+fromAlice, d.alice,
			map[string]any{"content": "hello from discord (edited)"}), http.StatusOK)
		waitContents(t, "alice's edit on Hearth", h, bob, mirror, has("hello from discord (edited)"))
		st.OK(t, h.Do(t, "PATCH", "/api/v10/channels/"+mirror+"/messages/"+fromBob, bob,
			map[string]any{"content": "hello from hearth (edited)"}), http.StatusOK)
		waitContents(t, "bob's edit on Discord", d.Server, d.alice, d.general, has("hello from hearth (edited)"))

		// Deletes both ways.
		st.Expect(t, d.Do(t, "DELETE", "/api/v10/channels/"+d.general+"/messages/"+fromAlice, d.alice, nil), http.StatusNoContent, nil)
		waitContents(t, "alice's delete on Hearth", h, bob, mirror, hasNot("hello from discord (edited)"))
		st.Expect(t, h.Do(t, "DELETE", "/api/v10/channels/"+mirror+"/messages/"+fromBob, bob, nil), http.StatusNoContent, nil)
		waitContents(t, "bob's delete on Discord", d.Server, d.alice, d.general, hasNot("hello from hearth (edited)"))

		// A bulk delete on Discord.
		var bulk []string
		for _, c := range []string{"bulk 1", "bulk 2"} {
			bulk = append(bulk, st.OK(t, d.Do(t, "POST", "/api/v10/channels/"+d.general+"/messages", d.alice,
				map[string]any{"content": c}), http.StatusOK)["id"].(string))
		}
		waitContents(t, "alice's messages to bulk-delete on Hearth", h, bob, mirror, has("bulk 1", "bulk 2"))
		st.Expect(t, d.Do(t, "POST", "/api/v10/channels/"+d.general+"/messages/bulk-delete", d.alice,
			map[string]any{"messages": bulk}), http.StatusNoContent, nil)
		waitContents(t, "the bulk delete on Hearth", h, bob, mirror, func(got []string) bool {
			return hasNot("bulk 1")(got) && hasNot("bulk 2")(got)
		})

		// A restart: the link, mappings, cursor and webhook survive; the
		// old messages are neither imported nor relayed again.
		br.stop()
		st.OK(t, d.Do(t, "POST", "/api/v10/channels/"+d.general+"/messages", d.alice,
			map[string]any{"content": "while the bridge was down"}), http.StatusOK)
		startBridge(t, flags, d)
		st.OK(t, h.Do(t, "POST", "/api/v10/channels/"+mirror+"/messages", bob,
			map[string]any{"content": "after restart from hearth"}), http.StatusOK)
		st.OK(t, d.Do(t, "POST", "/api/v10/channels/"+d.general+"/messages", d.alice,
			map[string]any{"content": "after restart from discord"}), http.StatusOK)
		onHearth = waitContents(t, "alice after the restart", h, bob, mirror, has("while the bridge was down", "after restart from discord"))
		if got := contents(onHearth); slices.Index(got, "while the bridge was down") > slices.Index(got, "after restart from discord") {
			t.Fatalf("missed message after a newer one: %q", got)
		}
		onDiscord = waitContents(t, "bob after the restart", d.Server, d.alice, d.general, has("after restart from hearth"))
		for _, c := range []string{"old 2", "old 3", "sentinel from discord", "sentinel from hearth", "while the bridge was down"} {
			if n := count(onHearth, c); n != 1 {
				t.Fatalf("after restart %q is %d times on Hearth: %q", c, n, contents(onHearth))
			}
		}
		for _, c := range []string{"sentinel from hearth", "after restart from hearth"} {
			if n := count(onDiscord, c); n != 1 {
				t.Fatalf("after restart %q is %d times on Discord: %q", c, n, contents(onDiscord))
			}
		}
		hooks := st.List(t, d.Do(t, "GET", "/api/v10/channels/"+d.general+"/webhooks", d.alice, nil))
		if len(hooks) != 1 {
			t.Fatalf("Discord's #general has %d webhooks after a restart, want 1: %v", len(hooks), hooks)
		}
	})
}

// TestBridgeRefusesUserToken: a person's token is not a bot's, and the
// bridge does not run on it.
func TestBridgeRefusesUserToken(t *testing.T) {
	d := startDiscord(t, st.SQLite)
	flags := bridgeFlags(t, st.SQLite)
	var errOut syncBuffer
	args := append(append([]string{}, flags...), "--discord-token", d.alice, "--discord-url", d.URL())
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := run(ctx, args, func(string) string { return "" }, &bytes.Buffer{}, &errOut)
	if err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("bridge on a user token: %v", err)
	}
}

// TestBridgeFlagsFromEnv: every flag is also HEARTH_BRIDGE_<NAME>, for the
// commands too; a command line flag wins.
func TestBridgeFlagsFromEnv(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"HEARTH_BRIDGE_DATA": dir, "HEARTH_BRIDGE_SERVER_NAME": "bridge.example"}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"status"}, func(k string) string { return env[k] }, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "no linked guilds") {
		t.Fatalf("status = %q", out.String())
	}
	if _, err := os.Stat(dir + "/hearth.db"); err != nil {
		t.Fatalf("status did not use HEARTH_BRIDGE_DATA: %v", err)
	}
	if err := run(context.Background(), []string{"invite", "123"}, func(k string) string { return env[k] }, &out, &bytes.Buffer{}); err == nil ||
		!strings.Contains(err.Error(), "not linked") {
		t.Fatalf("invite to an unlinked guild = %v", err)
	}
	if err := run(context.Background(), nil, func(k string) string { return env[k] }, &out, &bytes.Buffer{}); err == nil ||
		!strings.Contains(err.Error(), "--discord-token") {
		t.Fatalf("serving without a token = %v", err)
	}
}

// TestBridgeCrashAfterDiscordAnswer: the bridge stops (as if killed) after
// Discord answered bob's post and before the mapping was saved. Restarted,
// it finds its intent row, adopts the post instead of posting it again,
// and a later edit of bob's message edits it on Discord.
func TestBridgeCrashAfterDiscordAnswer(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 0)
		e.br.stop()
		crashing := startBridgeEnv(t, e.flags, e.d, map[string]string{"HEARTH_BRIDGE_FAILPOINT": "relay-after-execute"})
		id := st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob,
			map[string]any{"content": "posted before the crash"}), http.StatusOK)["id"].(string)
		select {
		case err := <-crashing.done:
			if err == nil || !strings.Contains(err.Error(), "failpoint relay-after-execute") {
				t.Fatalf("bridge stopped with %v, want the failpoint", err)
			}
			crashing.done <- nil
		case <-time.After(wait):
			t.Fatal("the bridge did not reach the failpoint")
		}
		if n := count(history(t, e.d.Server, e.d.alice, e.d.general), "posted before the crash"); n != 1 {
			t.Fatalf("before the restart Discord has bob's post %d times, want 1", n)
		}

		startBridge(t, e.flags, e.d)
		st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob,
			map[string]any{"content": "posted after the restart"}), http.StatusOK)
		msgs := waitContents(t, "bob's next post on Discord", e.d.Server, e.d.alice, e.d.general, has("posted after the restart"))
		if n := count(msgs, "posted before the crash"); n != 1 {
			t.Fatalf("after the restart Discord has bob's post %d times, want 1: %q", n, contents(msgs))
		}
		st.OK(t, e.h.Do(t, "PATCH", "/api/v10/channels/"+e.mirror+"/messages/"+id, e.bob,
			map[string]any{"content": "edited after the crash"}), http.StatusOK)
		msgs = waitContents(t, "the edit on Discord", e.d.Server, e.d.alice, e.d.general, has("edited after the crash"))
		if n := count(msgs, "posted before the crash"); n != 0 {
			t.Fatalf("the edit did not reach the adopted post: %q", contents(msgs))
		}
	})
}

// faultProxy stands before Discord: it answers queued 429s to webhook
// executes and records every execute it saw, with its time.
type faultProxy struct {
	mu     sync.Mutex
	faults []func(w http.ResponseWriter) time.Duration
	execs  []execution
	// guildLimits is how many GET /guilds/{id} (the link's first call)
	// to answer 429 with Retry-After: 1; guildGets records them all.
	guildLimits int
	guildGets   []execution
	// rules are further faults by route (faults_test.go).
	rules []*rule
	// url is the proxy's; hijacked its connections taken over (the
	// gateway's WebSockets), to cut.
	url      string
	hijacked []net.Conn
}

type execution struct {
	at      time.Time
	status  int
	content string
	// wait is what a 429 announced.
	wait time.Duration
}

func startProxy(t *testing.T, target string) (*faultProxy, string) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.intercept(w, r, rp) {
			return
		}
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v10/guilds/") && strings.Count(r.URL.Path, "/") == 4 {
			p.mu.Lock()
			limit := p.guildLimits > 0
			if limit {
				p.guildLimits--
				p.guildGets = append(p.guildGets, execution{at: time.Now(), status: http.StatusTooManyRequests, wait: time.Second})
			} else {
				p.guildGets = append(p.guildGets, execution{at: time.Now(), status: http.StatusOK})
			}
			p.mu.Unlock()
			if limit {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
		}
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/api/v10/webhooks/") {
			rp.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var msg struct {
			Content string `json:"content"`
		}
		_ = json.Unmarshal(body, &msg)
		p.mu.Lock()
		if len(p.faults) > 0 {
			fault := p.faults[0]
			p.faults = p.faults[1:]
			wait := fault(w)
			p.execs = append(p.execs, execution{at: time.Now(), status: http.StatusTooManyRequests, content: msg.Content, wait: wait})
			p.mu.Unlock()
			return
		}
		p.execs = append(p.execs, execution{at: time.Now(), status: http.StatusOK, content: msg.Content})
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	srv.Config.ConnState = p.track
	srv.Start()
	p.url = srv.URL
	t.Cleanup(srv.Close)
	return p, srv.URL
}

// limit queues a 429 with a JSON body (retry_after) and a Retry-After
// header; body false sends the header alone. It announces the longer.
func (p *faultProxy) limit(retryAfter float64, header int, body bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, func(w http.ResponseWriter) time.Duration {
		w.Header().Set("Retry-After", fmt.Sprint(header))
		wait := time.Duration(header) * time.Second
		if body {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprintf(w, `{"message":"You are being rate limited.","retry_after":%g,"global":false,"code":0}`, retryAfter)
			return max(wait, time.Duration(retryAfter*float64(time.Second)))
		}
		w.WriteHeader(http.StatusTooManyRequests)
		return wait
	})
}

// fail queues an answer of status to a webhook execute (a 502: an outage),
// or a 429 with global true in the body and Retry-After: 1.
func (p *faultProxy) fail(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, func(w http.ResponseWriter) time.Duration {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("X-RateLimit-Global", "true")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, `{"message":"You are being rate limited.","retry_after":1,"global":true,"code":0}`)
			return time.Second
		}
		w.WriteHeader(status)
		fmt.Fprint(w, "<html>502 Bad Gateway</html>")
		return 0
	})
}

// TestBridgeRateLimits: Discord answers the link's first read and bob's
// first relayed messages with 429s, one with a JSON body and a header, the
// others with the header alone. The bridge sends nothing more before each
// announced wait ends, the link completes, and every message reaches
// Discord once, in order; the 429s are counted. A global 429 and an outage
// (502s) after likewise.
func TestBridgeRateLimits(t *testing.T) {
	var proxy *faultProxy
	e := linked(t, st.SQLite, 0, func(d *discordSide) {
		proxy, d.via = startProxy(t, d.URL())
		proxy.guildLimits = 1
	})
	// The link was held up by a 429 (header only) and carried on after
	// the wait.
	proxy.mu.Lock()
	gets := slices.Clone(proxy.guildGets)
	proxy.mu.Unlock()
	if len(gets) < 2 || gets[0].status != http.StatusTooManyRequests || gets[1].at.Sub(gets[0].at) < gets[0].wait {
		t.Fatalf("the link's guild reads: %+v", gets)
	}
	proxy.limit(1.5, 1, true) // the body's 1.5 s is the longer
	proxy.limit(0, 1, false)  // header only
	const n = 5
	for i := 1; i <= n; i++ {
		st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob,
			map[string]any{"content": fmt.Sprintf("rl %d", i)}), http.StatusOK)
	}
	msgs := waitContents(t, "bob's messages on Discord", e.d.Server, e.d.alice, e.d.general, has("rl 1", "rl 2", "rl 3", "rl 4", "rl 5"))
	var got []string
	for _, c := range contents(msgs) {
		if strings.HasPrefix(c, "rl ") {
			got = append(got, c)
		}
	}
	if want := []string{"rl 1", "rl 2", "rl 3", "rl 4", "rl 5"}; !slices.Equal(got, want) {
		t.Fatalf("on Discord %q, want %q", got, want)
	}
	proxy.mu.Lock()
	execs := slices.Clone(proxy.execs)
	proxy.mu.Unlock()
	rejected, accepted := 0, map[string]int{}
	for i, x := range execs {
		if x.status != http.StatusTooManyRequests {
			accepted[x.content]++
			continue
		}
		rejected++
		if i+1 >= len(execs) {
			t.Fatalf("nothing sent after the 429 at %d", i)
		}
		if gap := execs[i+1].at.Sub(x.at); gap < x.wait {
			t.Fatalf("execute %d came %v after a 429 that announced %v", i+1, gap, x.wait)
		}
	}
	if rejected != 2 || len(accepted) != n {
		t.Fatalf("proxy saw %d rejected and %v accepted executes", rejected, accepted)
	}
	for c, k := range accepted {
		if k != 1 {
			t.Fatalf("%q accepted %d times", c, k)
		}
	}
	// A global 429, then an outage (two 502s): what bob wrote meanwhile
	// arrives once, in order, after each.
	proxy.fail(http.StatusTooManyRequests)
	proxy.fail(http.StatusBadGateway)
	proxy.fail(http.StatusBadGateway)
	for i := 1; i <= 3; i++ {
		st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob,
			map[string]any{"content": fmt.Sprintf("out %d", i)}), http.StatusOK)
	}
	msgs = waitContents(t, "bob's messages after the outage", e.d.Server, e.d.alice, e.d.general, has("out 1", "out 2", "out 3"))
	got = nil
	for _, c := range contents(msgs) {
		if strings.HasPrefix(c, "out ") {
			got = append(got, c)
		}
	}
	if want := []string{"out 1", "out 2", "out 3"}; !slices.Equal(got, want) {
		t.Fatalf("after the outage Discord has %q, want %q", got, want)
	}
	proxy.mu.Lock()
	execs = slices.Clone(proxy.execs)
	proxy.mu.Unlock()
	for i, x := range execs {
		if x.wait > 0 && i+1 < len(execs) && execs[i+1].at.Sub(x.at) < x.wait {
			t.Fatalf("execute %d came %v after a 429 that announced %v", i+1, execs[i+1].at.Sub(x.at), x.wait)
		}
	}

	res, err := http.Get(e.br.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	m, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(m), `hearth_bridge_discord_ratelimited_total{scope="route"} 3`) ||
		!strings.Contains(string(m), `hearth_bridge_discord_ratelimited_total{scope="global"} 1`) {
		t.Fatalf("metrics lack 3 route and 1 global rate limits:\n%s", grep(string(m), "hearth_bridge_"))
	}
}

func grep(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// find is the message of a history with that content (or fails).
func find(t *testing.T, msgs []map[string]any, content string) map[string]any {
	t.Helper()
	for _, m := range msgs {
		if m["content"] == content {
			return m
		}
	}
	t.Fatalf("no %q in %q", content, contents(msgs))
	return nil
}

// fetch reads a file's bytes from its URL.
func fetch(t *testing.T, u string) []byte {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, res.StatusCode, b)
	}
	return b
}

// TestBridgeFilesAndReplies: files cross as bytes both ways (served by
// each side itself), and replies cross both ways: a Discord reply to a
// Hearth person's message is a reply to it on Hearth; a Hearth reply is a
// quote with a jump link on Discord, pinging nobody.
func TestBridgeFilesAndReplies(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 0)
		st.OK(t, e.d.SendFiles(t, e.d.alice, e.d.general, `{"content":"a file from discord"}`,
			map[string][]byte{"hello.txt": []byte("bytes from discord")}), http.StatusOK)
		onHearth := waitContents(t, "alice's file on Hearth", e.h, e.bob, e.mirror, has("a file from discord"))
		fromAlice := find(t, onHearth, "a file from discord")
		atts := fromAlice["attachments"].([]any)
		if len(atts) != 1 {
			t.Fatalf("alice's message on Hearth has %d attachments", len(atts))
		}
		att := atts[0].(map[string]any)
		if u := att["url"].(string); strings.HasPrefix(u, e.d.URL()) || string(fetch(t, u)) != "bytes from discord" || att["filename"] != "hello.txt" {
			t.Fatalf("alice's file on Hearth: %v", att)
		}

		st.OK(t, e.h.SendFiles(t, e.bob, e.mirror, `{"content":"a file from hearth"}`,
			map[string][]byte{"hi.txt": []byte("bytes from hearth")}), http.StatusOK)
		onDiscord := waitContents(t, "bob's file on Discord", e.d.Server, e.d.alice, e.d.general, has("a file from hearth"))
		fromBob := find(t, onDiscord, "a file from hearth")
		atts = fromBob["attachments"].([]any)
		if len(atts) != 1 {
			t.Fatalf("bob's message on Discord has %d attachments", len(atts))
		}
		att = atts[0].(map[string]any)
		if u := att["url"].(string); !strings.HasPrefix(u, e.d.URL()) || string(fetch(t, u)) != "bytes from hearth" || att["filename"] != "hi.txt" {
			t.Fatalf("bob's file on Discord: %v", att)
		}

		// alice replies on Discord to bob's relayed message.
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice, map[string]any{
			"content": "reply from discord", "message_reference": map[string]any{"message_id": fromBob["id"]}}), http.StatusOK)
		onHearth = waitContents(t, "alice's reply on Hearth", e.h, e.bob, e.mirror, has("reply from discord"))
		bobsOnHearth := find(t, onHearth, "a file from hearth")["id"]
		reply := find(t, onHearth, "reply from discord")
		if ref, _ := reply["message_reference"].(map[string]any); reply["type"] != float64(19) || ref == nil || ref["message_id"] != bobsOnHearth {
			t.Fatalf("alice's reply on Hearth: type %v, reference %v; want a reply to %v", reply["type"], reply["message_reference"], bobsOnHearth)
		}

		// bob replies on Hearth to alice's message.
		st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob, map[string]any{
			"content": "reply from hearth", "message_reference": map[string]any{"message_id": fromAlice["id"]}}), http.StatusOK)
		onDiscord = waitContents(t, "bob's reply on Discord", e.d.Server, e.d.alice, e.d.general, has("reply from hearth"))
		aliceOnDiscord := find(t, onDiscord, "a file from discord")["id"].(string)
		r := find(t, onDiscord, "reply from hearth")
		embeds, _ := r["embeds"].([]any)
		if len(embeds) != 1 {
			t.Fatalf("bob's reply on Discord has embeds %v", r["embeds"])
		}
		desc, _ := embeds[0].(map[string]any)["description"].(string)
		if !strings.Contains(desc, "Replying to") || !strings.Contains(desc, "/channels/"+e.d.guild+"/"+e.d.general+"/"+aliceOnDiscord) ||
			!strings.Contains(desc, "a file from discord") {
			t.Fatalf("bob's reply on Discord: %q", desc)
		}
		if ms, _ := r["mentions"].([]any); len(ms) != 0 {
			t.Fatalf("bob's reply pinged %v", ms)
		}
	})
}

// reactions is a message's reaction counts by emoji name, as tok's holder
// reads them.
func reactions(t *testing.T, s *st.Server, tok, channel, message string) map[string]float64 {
	t.Helper()
	m := st.OK(t, s.Do(t, "GET", "/api/v10/channels/"+channel+"/messages/"+message, tok, nil), http.StatusOK)
	out := map[string]float64{}
	rs, _ := m["reactions"].([]any)
	for _, r := range rs {
		r := r.(map[string]any)
		out[r["emoji"].(map[string]any)["name"].(string)] = r["count"].(float64)
	}
	return out
}

func waitReaction(t *testing.T, what string, s *st.Server, tok, channel, message, emoji string, want float64) {
	t.Helper()
	st.WaitFor(t, what, wait, func() string {
		if got := reactions(t, s, tok, channel, message); got[emoji] != want {
			return fmt.Sprintf("reactions %v, want %s × %v", got, emoji, want)
		}
		return ""
	})
}

// TestBridgeReactions: alice's reaction on Discord is her puppet's on
// Hearth; Hearth people's reactions are the bot's on Discord, held while
// any of them holds the emoji; neither comes back as an echo.
func TestBridgeReactions(t *testing.T) {
	e := linked(t, st.SQLite, 0)
	cat := e.h.Register(t, "cat", "correct horse battery")
	st.OK(t, e.h.Do(t, "POST", "/api/v10/invites/"+e.code, cat, nil), http.StatusOK)
	hid := st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob,
		map[string]any{"content": "react to me"}), http.StatusOK)["id"].(string)
	did := find(t, waitContents(t, "bob's message on Discord", e.d.Server, e.d.alice, e.d.general, has("react to me")), "react to me")["id"].(string)
	const fire, thumbs = "\U0001F525", "\U0001F44D"
	react := func(s *st.Server, tok, channel, message, emoji, method string) {
		t.Helper()
		st.Expect(t, s.Do(t, method, "/api/v10/channels/"+channel+"/messages/"+message+"/reactions/"+url.PathEscape(emoji)+"/@me", tok, nil),
			http.StatusNoContent, nil)
	}

	react(e.d.Server, e.d.alice, e.d.general, did, fire, "PUT")
	waitReaction(t, "alice's reaction on Hearth", e.h, e.bob, e.mirror, hid, fire, 1)

	react(e.h, e.bob, e.mirror, hid, thumbs, "PUT")
	react(e.h, cat, e.mirror, hid, thumbs, "PUT")
	waitReaction(t, "the bot's reaction on Discord", e.d.Server, e.d.alice, e.d.general, did, thumbs, 1)

	// Bob takes his back: cat still holds it, so the bot keeps it. A
	// message after shows the relay went past the removal.
	react(e.h, e.bob, e.mirror, hid, thumbs, "DELETE")
	st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob,
		map[string]any{"content": "after bob's unreact"}), http.StatusOK)
	waitContents(t, "bob's next message on Discord", e.d.Server, e.d.alice, e.d.general, has("after bob's unreact"))
	if got := reactions(t, e.d.Server, e.d.alice, e.d.general, did); got[thumbs] != 1 || got[fire] != 1 {
		t.Fatalf("Discord's reactions after bob's unreact: %v", got)
	}
	// The bot's reaction did not come back as a reaction on Hearth.
	st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice,
		map[string]any{"content": "after the bot's reaction"}), http.StatusOK)
	waitContents(t, "alice's next message on Hearth", e.h, e.bob, e.mirror, has("after the bot's reaction"))
	if got := reactions(t, e.h, e.bob, e.mirror, hid); got[thumbs] != 1 || got[fire] != 1 {
		t.Fatalf("Hearth's reactions: %v, want cat's 👍 and alice's 🔥", got)
	}

	react(e.h, cat, e.mirror, hid, thumbs, "DELETE")
	waitReaction(t, "the bot's reaction gone from Discord", e.d.Server, e.d.alice, e.d.general, did, thumbs, 0)
	react(e.d.Server, e.d.alice, e.d.general, did, fire, "DELETE")
	waitReaction(t, "alice's reaction gone from Hearth", e.h, e.bob, e.mirror, hid, fire, 0)
}

// TestBridgeMentions: alice's puppet has a copy of her Discord avatar,
// served by the bridge. User mentions cross with each side's IDs: alice's
// mention on Discord is her puppet's on Hearth (an ID Discord does not
// name as mentioned stays text); bob's mention of her on
// Hearth is hers on Discord (and may ping her), and bob's mention of
// himself is plain text there.
func TestBridgeMentions(t *testing.T) {
	e := linked(t, st.SQLite, 0)
	aliceID := st.OK(t, e.d.Do(t, "GET", "/api/v10/users/@me", e.d.alice, nil), http.StatusOK)["id"].(string)
	// alice has an avatar on Discord: her puppet gets a copy.
	var png bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 2, color.RGBA{R: 200, A: 255})
	if err := pngenc.Encode(&png, img); err != nil {
		t.Fatal(err)
	}
	st.OK(t, e.d.Do(t, "PATCH", "/api/v10/users/@me", e.d.alice,
		map[string]any{"avatar": "data:image/png;base64," + base64.StdEncoding.EncodeToString(png.Bytes())}), http.StatusOK)
	st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice,
		map[string]any{"content": "ping <@" + aliceID + "> and <@1234567>"}), http.StatusOK)
	var aliceOnHearth string
	st.WaitFor(t, "alice's mention on Hearth", wait, func() string {
		for _, m := range history(t, e.h, e.bob, e.mirror) {
			ms, _ := m["mentions"].([]any)
			if strings.HasPrefix(m["content"].(string), "ping ") && len(ms) == 1 {
				aliceOnHearth = ms[0].(map[string]any)["id"].(string)
				// An ID Discord does not say is mentioned stays text.
				if m["content"] != "ping <@"+aliceOnHearth+"> and @1234567" || ms[0].(map[string]any)["username"] != "alice" {
					t.Fatalf("alice's mention on Hearth: %q, mentions %v", m["content"], ms)
				}
				return ""
			}
		}
		return "not yet"
	})
	// The bridge serves alice's puppet's avatar, the same bytes.
	hs, done, err := server.Open(context.Background(), server.Config{DataDir: e.flags[3], ServerName: e.bridgeName})
	if err != nil {
		t.Fatal(err)
	}
	puppet, err := hs.Bridge().LocalID(context.Background(), homeserver.BridgeUser, aliceID)
	if err != nil {
		t.Fatal(err)
	}
	u, err := hs.User(context.Background(), puppet)
	done()
	if err != nil || u.Avatar == "" {
		t.Fatalf("alice's puppet %+v, %v: no avatar", u, err)
	}
	if got := fetch(t, e.br.url+"/avatars/"+puppet.String()+"/"+u.Avatar+".png"); !bytes.Equal(got, png.Bytes()) {
		t.Fatalf("the bridge serves %d bytes as alice's avatar, want her %d", len(got), png.Len())
	}

	bobID := st.OK(t, e.h.Do(t, "GET", "/api/v10/users/@me", e.bob, nil), http.StatusOK)["id"].(string)
	st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob,
		map[string]any{"content": "hey <@" + aliceOnHearth + ">, I am <@" + bobID + ">"}), http.StatusOK)
	want := "hey <@" + aliceID + ">, I am @bob"
	m := find(t, waitContents(t, "bob's mention on Discord", e.d.Server, e.d.alice, e.d.general, has(want)), want)
	ms, _ := m["mentions"].([]any)
	if len(ms) != 1 || ms[0].(map[string]any)["id"] != aliceID {
		t.Fatalf("bob's message on Discord mentions %v, want alice", ms)
	}
}

// channelNamed is the ID of the channel of that name bob sees in the
// mirror, "" when there is none.
func channelNamed(t *testing.T, e world, name string) string {
	t.Helper()
	for _, g := range st.List(t, e.h.Do(t, "GET", "/api/v10/users/@me/guilds", e.bob, nil)) {
		if g["name"] != "Discordia" {
			continue
		}
		for _, c := range st.List(t, e.h.Do(t, "GET", "/api/v10/guilds/"+g["id"].(string)+"/channels", e.bob, nil)) {
			if c["name"] == name {
				return c["id"].(string)
			}
		}
	}
	return ""
}

// TestBridgeChannels: a channel made on Discord after the link is
// mirrored, with its messages, renamed and deleted with it; a private
// one never reaches Hearth, and one made private leaves the mirror.
func TestBridgeChannels(t *testing.T) {
	e := linked(t, st.SQLite, 0)
	mk := func(name string, private bool) string {
		body := map[string]any{"name": name, "type": 0}
		if private {
			body["permission_overwrites"] = []any{map[string]any{"id": e.d.guild, "type": 0, "deny": "1024", "allow": "0"}}
		}
		return st.OK(t, e.d.Do(t, "POST", "/api/v10/guilds/"+e.d.guild+"/channels", e.d.alice, body), http.StatusCreated)["id"].(string)
	}
	mk("secret", true)
	news := mk("news", false)
	var mirror string
	st.WaitFor(t, "#news on Hearth", wait, func() string {
		if mirror = channelNamed(t, e, "news"); mirror == "" {
			return "not yet"
		}
		return ""
	})
	if channelNamed(t, e, "secret") != "" {
		t.Fatal("a private Discord channel reached Hearth")
	}
	st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+news+"/messages", e.d.alice, map[string]any{"content": "in the news"}), http.StatusOK)
	waitContents(t, "alice's message in #news on Hearth", e.h, e.bob, mirror, has("in the news"))

	st.OK(t, e.d.Do(t, "PATCH", "/api/v10/channels/"+news, e.d.alice, map[string]any{"name": "headlines"}), http.StatusOK)
	st.WaitFor(t, "#news renamed on Hearth", wait, func() string {
		if channelNamed(t, e, "headlines") != mirror {
			return "not yet"
		}
		return ""
	})
	st.OK(t, e.d.Do(t, "PUT", "/api/v10/channels/"+news+"/permissions/"+e.d.guild, e.d.alice,
		map[string]any{"type": 0, "deny": "1024", "allow": "0"}), http.StatusNoContent)
	st.WaitFor(t, "#headlines gone private", wait, func() string {
		if channelNamed(t, e, "headlines") != "" {
			return "still there"
		}
		return ""
	})
	gone := mk("to-delete", false)
	st.WaitFor(t, "#to-delete on Hearth", wait, func() string {
		if channelNamed(t, e, "to-delete") == "" {
			return "not yet"
		}
		return ""
	})
	st.OK(t, e.d.Do(t, "DELETE", "/api/v10/channels/"+gone, e.d.alice, nil), http.StatusOK)
	st.WaitFor(t, "#to-delete deleted on Hearth", wait, func() string {
		if channelNamed(t, e, "to-delete") != "" {
			return "still there"
		}
		return ""
	})
}

// TestBridgeLongMessages: bob's 3,500 characters are two Discord messages
// of at most 2,000, cut at a space; an edit follows on every part
// (growing back to two parts posts the second again), and a delete takes
// all of them.
func TestBridgeLongMessages(t *testing.T) {
	e := linked(t, st.SQLite, 0)
	long := strings.TrimSpace(strings.Repeat("lorem ", 583)) + " end" // 3,501 characters
	id := st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob, map[string]any{"content": long}), http.StatusOK)["id"].(string)
	parts := func() []string {
		var out []string
		for _, m := range history(t, e.d.Server, e.d.alice, e.d.general) {
			if c := m["content"].(string); m["webhook_id"] != nil && (strings.HasPrefix(c, "lorem") || strings.HasPrefix(c, "short")) {
				out = append(out, c)
			}
		}
		return out
	}
	waitParts := func(what string, ok func([]string) bool) []string {
		t.Helper()
		var got []string
		st.WaitFor(t, what, wait, func() string {
			if got = parts(); ok(got) {
				return ""
			}
			return fmt.Sprintf("%d parts", len(got))
		})
		return got
	}
	got := waitParts("two parts on Discord", func(p []string) bool { return len(p) == 2 })
	if len(got[0]) > 2000 || len(got[1]) > 2000 || got[0]+" "+got[1] != long {
		t.Fatalf("parts of %d and %d characters do not make the message", len(got[0]), len(got[1]))
	}
	st.OK(t, e.h.Do(t, "PATCH", "/api/v10/channels/"+e.mirror+"/messages/"+id, e.bob, map[string]any{"content": "short now"}), http.StatusOK)
	waitParts("one part after the edit", func(p []string) bool { return len(p) == 1 && p[0] == "short now" })
	st.OK(t, e.h.Do(t, "PATCH", "/api/v10/channels/"+e.mirror+"/messages/"+id, e.bob, map[string]any{"content": long}), http.StatusOK)
	got = waitParts("two parts again", func(p []string) bool { return len(p) == 2 && strings.HasSuffix(p[1], " end") })
	if got[0]+" "+got[1] != long {
		t.Fatal("the parts after the second edit do not make the message")
	}
	st.Expect(t, e.h.Do(t, "DELETE", "/api/v10/channels/"+e.mirror+"/messages/"+id, e.bob, nil), http.StatusNoContent, nil)
	waitParts("every part deleted", func(p []string) bool { return len(p) == 0 })
}
