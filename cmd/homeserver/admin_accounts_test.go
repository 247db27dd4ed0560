package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	st "hearth/server/servertest"
)

// TestAdminDeactivate: the operator deactivates an account from the command
// line while the server runs: the running server closes its gateway with
// 4004 and refuses its token, it cannot sign in, and it shows as deleted.
func TestAdminDeactivate(t *testing.T) {
	dir := t.TempDir()
	admin := func(stdin string, args ...string) (string, error) { return runAdmin(dir, stdin, args...) }
	if _, err := admin("correct horse\n", "create-user", "root"); err != nil {
		t.Fatal(err)
	}
	s := st.Start(t, st.Options{DataDir: dir})
	dave := s.Register(t, "dave", "correct horse")
	root := st.OK(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "root", "password": "correct horse"}), 200)["token"].(string)
	daveID := st.OK(t, s.Do(t, "GET", "/api/v10/users/@me", dave, nil), 200)["id"].(string)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(s.URL(), "http", "ws", 1)+"/gateway?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	read := func() (map[string]any, error) {
		_, b, err := c.Read(ctx)
		if err != nil {
			return nil, err
		}
		var p map[string]any
		return p, json.Unmarshal(b, &p)
	}
	if _, err := read(); err != nil { // HELLO
		t.Fatal(err)
	}
	id, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": dave, "intents": 513, "properties": map[string]string{"os": "linux"}}})
	if err := c.Write(ctx, websocket.MessageText, id); err != nil {
		t.Fatal(err)
	}
	if p, err := read(); err != nil || p["t"] != "READY" {
		t.Fatalf("after IDENTIFY: %v %v", p, err)
	}

	// dave's bot stops with him.
	app := st.OK(t, s.Do(t, "POST", "/api/v10/applications", dave, map[string]any{"name": "Davebot"}), 201)
	botTok := "Bot " + st.OK(t, s.Do(t, "POST", "/api/v10/applications/"+app["id"].(string)+"/bot/reset", dave, nil), 200)["token"].(string)
	botGW := identified(ctx, t, s, botTok)

	if _, err := admin("", "deactivate", "nobody"); err == nil {
		t.Fatal("deactivated an account that does not exist")
	}
	if out, err := admin("", "deactivate", "dave"); err != nil || !strings.Contains(out, "deactivated") {
		t.Fatalf("admin deactivate dave: %q %v", out, err)
	}
	for {
		_, err := read()
		if err == nil {
			continue
		}
		if code := websocket.CloseStatus(err); code != 4004 {
			t.Fatalf("dave's gateway ended with %v (%d), want 4004", err, code)
		}
		break
	}
	st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", dave, nil), 401, st.Code(0))
	st.Expect(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "dave", "password": "correct horse"}), 400, st.Code(50035))
	for {
		if _, _, err := botGW.Read(ctx); err != nil {
			if code := websocket.CloseStatus(err); code != 4004 {
				t.Fatalf("dave's bot's gateway ended with %v (%d), want 4004", err, code)
			}
			break
		}
	}
	st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", botTok, nil), 401, st.Code(0))
	st.WaitFor(t, "dave shown as deleted", 30*time.Second, func() string {
		if u := st.OK(t, s.Do(t, "GET", "/api/v10/users/"+daveID, root, nil), 200); u["global_name"] != "Deleted User" {
			return "dave is " + u["username"].(string)
		}
		return ""
	})
}

// TestRegistrationByInvite: with --registration invite an account is made
// only with a registration token, made from the command line or by an
// administrator over the API, used up to its allowance, refused once
// revoked; a registration refused for its name gives the use back.
func TestRegistrationByInvite(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		dir := t.TempDir()
		s := st.Start(t, st.Options{Backend: b, DataDir: dir, Registration: "invite"})
		admin := func(args ...string) (string, error) {
			var out, errs strings.Builder
			base := []string{"admin", "--data", dir}
			if b == st.Postgres {
				base = append(base, "--database", s.Options.Database)
			}
			err := run(context.Background(), append(base, args...), func(string) string { return "" }, strings.NewReader(""), &out, &errs)
			return out.String(), err
		}
		register := func(name, token string) st.Response {
			body := map[string]string{"username": name, "password": "correct horse"}
			if token != "" {
				body["token"] = token
			}
			return s.Do(t, "POST", "/api/v10/auth/register", "", body)
		}
		fieldCode := func(r st.Response) string {
			errs, _ := r.JSON(t)["errors"].(map[string]any)
			f, _ := errs["token"].(map[string]any)
			list, _ := f["_errors"].([]any)
			if len(list) == 0 {
				return ""
			}
			return list[0].(map[string]any)["code"].(string)
		}
		r := register("root", "")
		st.Expect(t, r, 400, st.Code(50035))
		if c := fieldCode(r); c != "BASE_TYPE_REQUIRED" {
			t.Fatalf("no token: %s", r.Body)
		}
		out, err := admin("registration-token", "create", "--uses", "1", "--expires", "1h")
		if err != nil {
			t.Fatal(err)
		}
		tok := strings.SplitN(out, "\n", 2)[0]
		root := st.OK(t, register("root", tok), 201)["token"].(string)
		r = register("second", tok)
		st.Expect(t, r, 400, st.Code(50035))
		if c := fieldCode(r); c != "INVALID_REGISTRATION_TOKEN" {
			t.Fatalf("a used-up token: %s", r.Body)
		}

		// The first account administers the server: it makes tokens too.
		made := st.OK(t, s.Do(t, "POST", "/api/v10/admin/registration-tokens", root, map[string]any{"max_uses": 1, "expires_in": 3600}), 201)
		apiTok := made["token"].(string)
		if made["max_uses"] != float64(1) || made["uses"] != float64(0) || made["expires_at"] == nil {
			t.Fatalf("made token: %v", made)
		}
		// A name already taken does not use the token up.
		st.Expect(t, register("root", apiTok), 400, st.Code(50035))
		user := st.OK(t, register("carol", apiTok), 201)["token"].(string)
		st.Expect(t, s.Do(t, "POST", "/api/v10/admin/registration-tokens", user, map[string]any{}), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "POST", "/api/v10/admin/registration-tokens", root, map[string]any{"expires_in": 1 << 62}), 400, st.Code(50035))

		unlimited := st.OK(t, s.Do(t, "POST", "/api/v10/admin/registration-tokens", root, map[string]any{"max_uses": 0}), 201)
		st.OK(t, register("dan", unlimited["token"].(string)), 201)
		st.OK(t, register("erin", unlimited["token"].(string)), 201)
		listed := s.Do(t, "GET", "/api/v10/admin/registration-tokens", root, nil).JSON(t)
		if listed["registration"] != "invite" || len(listed["tokens"].([]any)) != 3 {
			t.Fatalf("tokens: %v", listed)
		}
		for _, x := range listed["tokens"].([]any) {
			if x.(map[string]any)["token"] != nil {
				t.Fatalf("a listed token shows its secret: %v", x)
			}
		}
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/admin/registration-tokens/"+unlimited["id"].(string), root, nil), 204, nil)
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/admin/registration-tokens/"+unlimited["id"].(string), root, nil), 404, st.Code(0))
		st.Expect(t, register("fay", unlimited["token"].(string)), 400, st.Code(50035))

		out, err = admin("registration-token", "list")
		if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, "used 1 of 1") {
			t.Fatalf("registration-token list: %q %v", out, err)
		}
		id := strings.Fields(out)[0]
		if _, err := admin("registration-token", "revoke", id); err != nil {
			t.Fatal(err)
		}
		for _, bad := range [][]string{{"registration-token"}, {"registration-token", "revoke", "x"}, {"registration-token", "create", "--uses", "-1"}, {"registration-token", "frob"}} {
			if _, err := admin(bad...); err == nil {
				t.Fatalf("admin %v succeeded", bad)
			}
		}
	})
}

// gatewayUntil reads a gateway connection until a dispatch of type typ.
func gatewayUntil(ctx context.Context, t *testing.T, c *websocket.Conn, typ string) map[string]any {
	t.Helper()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var p map[string]any
		if json.Unmarshal(b, &p) == nil && p["t"] == typ {
			return p["d"].(map[string]any)
		}
	}
}

// identified opens a gateway connection signed in with tok, after READY.
func identified(ctx context.Context, t *testing.T, s *st.Server, tok string) *websocket.Conn {
	t.Helper()
	return identifiedWith(ctx, t, s, tok, 513)
}

// identifiedWith is identified with the given intents.
func identifiedWith(ctx context.Context, t *testing.T, s *st.Server, tok string, intents int) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, strings.Replace(s.URL(), "http", "ws", 1)+"/gateway?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	id, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": tok, "intents": intents, "properties": map[string]string{"os": "linux"}}})
	if err := c.Write(ctx, websocket.MessageText, id); err != nil {
		t.Fatal(err)
	}
	gatewayUntil(ctx, t, c, "READY")
	return c
}

// TestAdminGuilds: the operator lists this server's guilds (not replicas)
// and deletes one from the command line while the server runs: its
// members' gateways hear GUILD_DELETE, and the replica on a peer goes too.
func TestAdminGuilds(t *testing.T) {
	dir := t.TempDir()
	admin := func(args ...string) (string, error) { return runAdmin(dir, "", args...) }
	a := st.Start(t, st.Options{DataDir: dir})
	b := st.Start(t, st.Options{})
	ann, bob := a.Register(t, "ann", "correct horse"), b.Register(t, "bob", "correct horse")
	g := st.OK(t, a.Do(t, "POST", "/api/v10/guilds", ann, map[string]any{"name": "Doomed"}), 201)
	gid := g["id"].(string)
	st.OK(t, a.Do(t, "POST", "/api/v10/guilds", ann, map[string]any{"name": "Kept"}), 201)
	var general string
	for _, c := range st.List(t, a.Do(t, "GET", "/api/v10/guilds/"+gid+"/channels", ann, nil)) {
		if c["type"] == float64(0) {
			general = c["id"].(string)
		}
	}
	code := st.OK(t, a.Do(t, "POST", "/api/v10/channels/"+general+"/invites", ann, map[string]any{}), 200)["code"].(string)
	st.OK(t, b.Do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), bob, nil), 200)
	// bob's server has a guild of its own and a replica: only its own is
	// listed there.
	st.OK(t, b.Do(t, "POST", "/api/v10/guilds", bob, map[string]any{"name": "Bob's"}), 201)

	out, err := admin("guilds")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[0] != gid+"\tDoomed\tann\t2" || !strings.HasSuffix(lines[1], "\tKept\tann\t1") {
		t.Fatalf("admin guilds = %q", out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	annGW := identified(ctx, t, a, ann)
	bobGW := identified(ctx, t, b, bob)
	var bobGuild string
	for _, x := range st.List(t, b.Do(t, "GET", "/api/v10/users/@me/guilds", bob, nil)) {
		if x["name"] == "Doomed" {
			bobGuild = x["id"].(string)
		}
	}
	for _, bad := range []string{"nonsense", "1234", bobGuild} {
		if _, err := admin("delete-guild", bad); err == nil {
			t.Fatalf("delete-guild %s succeeded", bad)
		}
	}
	if _, err := admin("delete-guild", gid); err != nil {
		t.Fatal(err)
	}
	if d := gatewayUntil(ctx, t, annGW, "GUILD_DELETE"); d["id"] != gid {
		t.Fatalf("ann's GUILD_DELETE: %v", d)
	}
	if d := gatewayUntil(ctx, t, bobGW, "GUILD_DELETE"); d["id"] != bobGuild {
		t.Fatalf("bob's GUILD_DELETE: %v", d)
	}
	st.Expect(t, a.Do(t, "GET", "/api/v10/guilds/"+gid, ann, nil), 404, st.Code(10004))
	st.WaitFor(t, "the replica on B gone", 60*time.Second, func() string {
		for _, x := range st.List(t, b.Do(t, "GET", "/api/v10/users/@me/guilds", bob, nil)) {
			if x["name"] == "Doomed" {
				return "bob still has it"
			}
		}
		return ""
	})
	if out, _ := admin("guilds"); strings.Count(out, "\n") != 1 {
		t.Fatalf("admin guilds after the deletion = %q", out)
	}
}

// TestAdminDeactivateTellsPeers: an account deactivated from the command
// line while the server runs is told to the servers that know it, through
// the owed notices the running server sends (spec/federation.md §18).
func TestAdminDeactivateTellsPeers(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		dir := t.TempDir()
		a := st.Start(t, st.Options{Backend: backend, DataDir: dir})
		b := st.Start(t, st.Options{Backend: backend})
		admin := func(args ...string) (string, error) {
			var out, errs strings.Builder
			base := []string{"admin", "--data", dir}
			if backend == st.Postgres {
				base = append(base, "--database", a.Options.Database)
			}
			err := run(context.Background(), append(base, args...), func(string) string { return "" }, strings.NewReader(""), &out, &errs)
			return out.String(), err
		}
		dave, bob := a.Register(t, "dave", "correct horse"), b.Register(t, "bob", "correct horse")
		rel := "/api/v10/users/@me/relationships"
		st.Expect(t, a.Do(t, "POST", rel, dave, map[string]any{"username": "bob@" + b.ServerName()}), 204, nil)
		rels := st.List(t, b.Do(t, "GET", rel, bob, nil))
		if len(rels) != 1 {
			t.Fatalf("bob's relationships: %v", rels)
		}
		daveOnB := rels[0]["id"].(string)
		if _, err := admin("deactivate", "dave"); err != nil {
			t.Fatal(err)
		}
		st.WaitFor(t, "dave shown as deleted on B", 60*time.Second, func() string {
			u := st.OK(t, b.Do(t, "GET", "/api/v10/users/"+daveOnB, bob, nil), 200)
			if name, _ := u["username"].(string); !strings.HasPrefix(name, "deleted_user_") || u["global_name"] != "Deleted User" {
				return "dave on B is " + name
			}
			return ""
		})
	})
}

// TestAdminBlockWhileRunning: a server blocked from the command line while
// the homeserver runs is cut off by the running server within its watch
// period: its user's membership ends with a GUILD_MEMBER_REMOVE the
// members' gateways hear, and its requests are refused; unblocked and
// blocked again, it is cut off again.
func TestAdminBlockWhileRunning(t *testing.T) {
	dir := t.TempDir()
	admin := adminRunner(t, dir)
	a := st.Start(t, st.Options{DataDir: dir})
	b := st.Start(t, st.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := newRemoteClub(ctx, t, a, b)
	if n := c.members(); n != 2 {
		t.Fatalf("members before the block: %d", n)
	}

	admin("block", b.ServerName())
	gatewayUntil(ctx, t, c.annGW, "GUILD_MEMBER_REMOVE")
	if n := c.members(); n != 1 {
		t.Fatalf("members after the block: %d", n)
	}
	st.Expect(t, b.Do(t, "POST", "/api/v10/invites/"+c.code+"@"+a.ServerName(), c.bob, nil), 403, nil)

	admin("unblock", b.ServerName())
	st.WaitFor(t, "bob joins again", 30*time.Second, func() string {
		if r := b.Do(t, "POST", "/api/v10/invites/"+c.code+"@"+a.ServerName(), c.bob, nil); r.Status != 200 {
			return "join answered " + string(r.Body)
		}
		return ""
	})
	gatewayUntil(ctx, t, c.annGW, "GUILD_MEMBER_ADD")
	admin("block", b.ServerName())
	gatewayUntil(ctx, t, c.annGW, "GUILD_MEMBER_REMOVE")
}

// In allow-list mode, removing a server's allow rule from the command line
// cuts that server off on the running server, as a block does.
func TestAdminUnallowWhileRunning(t *testing.T) {
	dir := t.TempDir()
	admin := adminRunner(t, dir)
	b := st.Start(t, st.Options{})
	admin("allow", b.ServerName())
	a := st.Start(t, st.Options{DataDir: dir, FederationAllowList: true})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := newRemoteClub(ctx, t, a, b)
	if n := c.members(); n != 2 {
		t.Fatalf("members while allowed: %d", n)
	}
	admin("unallow", b.ServerName())
	gatewayUntil(ctx, t, c.annGW, "GUILD_MEMBER_REMOVE")
	if n := c.members(); n != 1 {
		t.Fatalf("members after the allow rule went: %d", n)
	}
}

// adminRunner runs `homeserver admin --data dir ARGS...` as the command
// line would, beside a server running on the same data dir.
func adminRunner(t *testing.T, dir string) func(args ...string) {
	return func(args ...string) {
		t.Helper()
		if _, err := runAdmin(dir, "", args...); err != nil {
			t.Fatalf("admin %v: %v", args, err)
		}
	}
}

// runAdmin runs `homeserver admin --data dir ARGS...` with stdin, as the
// command line would, and returns what it printed.
func runAdmin(dir, stdin string, args ...string) (string, error) {
	var out, errs strings.Builder
	err := run(context.Background(), append([]string{"admin", "--data", dir}, args...),
		func(string) string { return "" }, strings.NewReader(stdin), &out, &errs)
	return out.String(), err
}

// remoteClub is a guild of ann on a whose member bob is of b, with ann's
// gateway (GUILD_MEMBERS) and the guild's member count.
type remoteClub struct {
	gid, code string
	ann, bob  string
	annGW     *websocket.Conn
	members   func() int
}

func newRemoteClub(ctx context.Context, t *testing.T, a, b *st.Server) remoteClub {
	t.Helper()
	c := remoteClub{ann: a.Register(t, "ann", "correct horse"), bob: b.Register(t, "bob", "correct horse")}
	c.gid = st.OK(t, a.Do(t, "POST", "/api/v10/guilds", c.ann, map[string]any{"name": "Club"}), 201)["id"].(string)
	var general string
	for _, ch := range st.List(t, a.Do(t, "GET", "/api/v10/guilds/"+c.gid+"/channels", c.ann, nil)) {
		if ch["type"] == float64(0) {
			general = ch["id"].(string)
		}
	}
	c.code = st.OK(t, a.Do(t, "POST", "/api/v10/channels/"+general+"/invites", c.ann, map[string]any{}), 200)["code"].(string)
	st.OK(t, b.Do(t, "POST", "/api/v10/invites/"+c.code+"@"+a.ServerName(), c.bob, nil), 200)
	c.annGW = identifiedWith(ctx, t, a, c.ann, 515) // with GUILD_MEMBERS
	c.members = func() int {
		return len(st.List(t, a.Do(t, "GET", "/api/v10/guilds/"+c.gid+"/members?limit=10", c.ann, nil)))
	}
	return c
}
