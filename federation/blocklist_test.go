package federation_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hearth/federation"
	st "hearth/server/servertest"
)

// TestFederationBlockList: an instance administrator blocks a server. Its
// users' memberships in this server's guilds end at once, its requests
// are refused (403 FORBIDDEN, counted as "blocked") before any key is
// fetched, and nothing is asked of it; unblocked, it federates again. Only
// administrators set rules, and the first account of a server is one.
func TestFederationBlockList(t *testing.T) {
	a, b := st.Start(t, st.Options{}), st.Start(t, st.Options{Backend: st.Postgres})
	ann, carl, bob := register(t, a, "ann"), register(t, a, "carl"), register(t, b, "bob")
	ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Walled"}), 201)
	g, general := ann.guildNamed(t, "Walled")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{"max_age": 0}), 200)["code"].(string)
	remoteCode := code + "@" + a.ServerName()
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+remoteCode, nil), 200)
	members := func() int {
		return len(list(t, ann.do(t, "GET", "/api/v10/guilds/"+g+"/members?limit=10", nil)))
	}
	if n := members(); n != 2 {
		t.Fatalf("%d members before the block, want 2", n)
	}

	rule := "/api/v10/admin/federation-rules/" + b.ServerName()
	st.Expect(t, carl.do(t, "PUT", rule, map[string]any{"rule": "block"}), 403, st.Code(50013))
	st.Expect(t, ann.do(t, "PUT", "/api/v10/admin/federation-rules/"+a.ServerName(), map[string]any{"rule": "block"}), 400, st.Code(50035))
	st.Expect(t, ann.do(t, "PUT", "/api/v10/admin/federation-rules/B.example", map[string]any{"rule": "block"}), 400, st.Code(50035))
	st.Expect(t, ann.do(t, "PUT", rule, map[string]any{"rule": "maybe"}), 400, st.Code(50035))
	blocked := rejected(t, a, "blocked")
	st.Expect(t, ann.do(t, "PUT", rule, map[string]any{"rule": "block"}), 204, nil)
	if n := members(); n != 1 {
		t.Fatalf("%d members after the block, want ann alone", n)
	}
	rules := ok(t, ann.do(t, "GET", "/api/v10/admin/federation-rules", nil), 200)
	if rs := rules["rules"].([]any); rules["mode"] != "open" || len(rs) != 1 || rs[0].(map[string]any)["server"] != b.ServerName() || rs[0].(map[string]any)["rule"] != "block" {
		t.Fatalf("rules = %v", rules)
	}

	// B's requests are refused: bob cannot join again, and B's signed
	// requests meet 403 FORBIDDEN.
	st.Expect(t, bob.do(t, "POST", "/api/v10/invites/"+remoteCode, nil), 403, nil)
	if code, body := ping(t, a, signedFrom(t, b)); code != 403 || !strings.Contains(body, `"code":"FORBIDDEN","message":"blocked"`) {
		t.Fatalf("a signed ping from the blocked server: %d %s", code, body)
	}
	if n := rejected(t, a, "blocked"); n < blocked+2 {
		t.Fatalf("blocked requests counted %v times, want at least 2", n-blocked)
	}
	// Nothing is asked of B: a DM with bob is refused on A.
	st.Expect(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient": "bob@" + b.ServerName()}), 403, st.Code(50001))

	// Handles are server names, never a way to make this server call an
	// address and path of someone's choosing.
	for _, handle := range []string{"bob@127.0.0.1:1/admin?", "bob@" + b.ServerName() + ":443", "bob@x.example:443"} {
		st.Expect(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient": handle}), 400, st.Code(50035))
	}
	st.Expect(t, ann.do(t, "POST", "/api/v10/users/@me/relationships", map[string]any{"username": "bob@127.0.0.1:1/admin?"}), 400, st.Code(80004))

	st.Expect(t, ann.do(t, "DELETE", rule, nil), 204, nil)
	st.Expect(t, ann.do(t, "DELETE", rule, nil), 404, nil)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+remoteCode, nil), 200)
	if n := members(); n != 2 {
		t.Fatalf("%d members after the unblock and a new join, want 2", n)
	}
}

// TestFederationAllowList: a homeserver that federates only with the
// servers allowed refuses every other, and takes one in once allowed.
func TestFederationAllowList(t *testing.T) {
	a := st.Start(t, st.Options{FederationAllowList: true})
	b := st.Start(t, st.Options{})
	ann, bob := register(t, a, "ann"), register(t, b, "bob")
	ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Private"}), 201)
	_, general := ann.guildNamed(t, "Private")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{"max_age": 0}), 200)["code"].(string)
	st.Expect(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 403, nil)
	if rules := ok(t, ann.do(t, "GET", "/api/v10/admin/federation-rules", nil), 200); rules["mode"] != "allowlist" {
		t.Fatalf("rules = %v", rules)
	}
	st.Expect(t, ann.do(t, "PUT", "/api/v10/admin/federation-rules/"+b.ServerName(), map[string]any{"rule": "allow"}), 204, nil)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
}

// signedFrom signs a ping as from's server with its real key.
func signedFrom(t *testing.T, from *st.Server) func(*http.Request) *http.Request {
	t.Helper()
	key, err := federation.LoadOrCreateKey(filepath.Join(from.Options.DataDir, "signing.key"))
	if err != nil {
		t.Fatal(fmt.Errorf("key of %s: %w", from.ServerName(), err))
	}
	return signed(t, from, key, nil, time.Now(), nil)
}
