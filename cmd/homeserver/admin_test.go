package main

import (
	"context"
	"strings"
	"testing"

	st "hearth/server/servertest"
	"hearth/snowflake"
)

// TestAdminCommands: the operator's command line works on a data dir
// whether the server runs or not, and the running server sees what it
// changes: accounts made on a homeserver closed to registration,
// administration granted while it runs, federation rules.
func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	admin := func(stdin string, args ...string) (string, error) { return runAdmin(dir, stdin, args...) }
	mustAdmin := func(stdin string, args ...string) string {
		t.Helper()
		out, err := admin(stdin, args...)
		if err != nil {
			t.Fatalf("admin %v: %v", args, err)
		}
		return out
	}
	mustAdmin("correct horse\n", "create-user", "root")
	if _, err := admin("correct horse\n", "create-user", "root"); err == nil {
		t.Fatal("a second account named root was made")
	}
	if _, err := admin("short\n", "create-user", "tiny"); err == nil {
		t.Fatal("an account with a too-short password was made")
	}
	for _, bad := range [][]string{{}, {"frob", "x"}, {"grant"}, {"block", "Not A Server"}, {"grant", "nobody"}} {
		if _, err := admin("", bad...); err == nil {
			t.Fatalf("admin %v succeeded", bad)
		}
	}

	s := st.Start(t, st.Options{DataDir: dir, Registration: "closed"})
	st.Expect(t, s.Do(t, "POST", "/api/v10/auth/register", "", map[string]string{"username": "walk", "password": "correct horse"}), 403, st.Code(0))
	login := func(name, pw string) string {
		r := s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": name, "password": pw})
		st.Expect(t, r, 200, nil)
		return r.JSON(t)["token"].(string)
	}
	root := login("root", "correct horse")
	// The first account administers the homeserver.
	st.Expect(t, s.Do(t, "GET", "/api/v10/admin/federation-rules", root, nil), 200, nil)

	mustAdmin("battery staple\n", "create-user", "mod")
	mod := login("mod", "battery staple")
	st.Expect(t, s.Do(t, "GET", "/api/v10/admin/federation-rules", mod, nil), 403, st.Code(50013))
	mustAdmin("", "grant", "mod")
	st.Expect(t, s.Do(t, "GET", "/api/v10/admin/federation-rules", mod, nil), 200, nil)
	mustAdmin("", "revoke", "mod")
	st.Expect(t, s.Do(t, "GET", "/api/v10/admin/federation-rules", mod, nil), 403, st.Code(50013))

	mustAdmin("", "block", "evil.example")
	rules := s.Do(t, "GET", "/api/v10/admin/federation-rules", root, nil).JSON(t)["rules"].([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["server"] != "evil.example" {
		t.Fatalf("rules after a block from the command line: %v", rules)
	}
	if out := mustAdmin("", "rules"); !strings.HasPrefix(out, "evil.example\tblock\t") {
		t.Fatalf("admin rules = %q", out)
	}

	me := s.Do(t, "GET", "/api/v10/users/@me", mod, nil).JSON(t)
	modID, err := snowflake.Parse(me["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	mustAdmin("new battery staple\n", "reset-password", "mod")
	// Its sessions are gone from the database; the running server stops
	// honouring their tokens when its session cache lets go of them.
	if left, err := s.Store().UserSessions(context.Background(), modID); err != nil || len(left) != 0 {
		t.Fatalf("sessions after reset-password: %v, %v", left, err)
	}
	st.Expect(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "mod", "password": "battery staple"}), 400, st.Code(50035))
	login("mod", "new battery staple")
}

// TestAdminBadges: the operator grants and revokes badges from the command
// line while the server runs, and the server's profiles show them at once.
func TestAdminBadges(t *testing.T) {
	dir := t.TempDir()
	admin := func(args ...string) (string, error) { return runAdmin(dir, "", args...) }
	s := st.Start(t, st.Options{DataDir: dir})
	tok := s.Register(t, "root", "correct horse")
	badges := func() string {
		t.Helper()
		r := s.Do(t, "GET", "/api/v10/users/@me/profile", tok, nil)
		st.Expect(t, r, 200, nil)
		var ids []string
		for _, b := range r.JSON(t)["badges"].([]any) {
			ids = append(ids, b.(map[string]any)["id"].(string))
		}
		return strings.Join(ids, ",")
	}
	for _, bad := range [][]string{{"badge"}, {"badge", "grant", "root"}, {"badge", "frob", "root", "staff"},
		{"badge", "grant", "root", "emperor"}, {"badge", "grant", "nobody", "staff"}} {
		if out, err := admin(bad...); err == nil {
			t.Fatalf("admin %v succeeded: %q", bad, out)
		}
	}
	if badges() != "" {
		t.Fatalf("refused commands left badges %q", badges())
	}
	if out, err := admin("badge", "grant", "root", "staff"); err != nil || out != "root has badges: staff\n" {
		t.Fatalf("grant staff: %q, %v", out, err)
	}
	if out, err := admin("badge", "grant", "root", "bridged"); err != nil || out != "root has badges: staff bridged\n" {
		t.Fatalf("grant bridged: %q, %v", out, err)
	}
	if got := badges(); got != "staff,hearth_bridged" {
		t.Fatalf("profile badges = %q", got)
	}
	if _, err := admin("badge", "revoke", "root", "staff"); err != nil {
		t.Fatal(err)
	}
	if got := badges(); got != "hearth_bridged" {
		t.Fatalf("profile badges after revoke = %q", got)
	}
}
