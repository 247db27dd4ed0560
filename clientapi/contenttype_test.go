package clientapi_test

import (
	"bytes"
	"net/http"
	"sort"
	"strings"
	"testing"

	"hearth/clientapi"
	"hearth/federation"
	st "hearth/server/servertest"
)

// checkJSONType fails unless an answer that is JSON says so exactly as
// Discord does: discord.py compares the header with "application/json".
func checkJSONType(t *testing.T, what string, r st.Response) {
	t.Helper()
	ct := r.Header.Get("Content-Type")
	body := bytes.TrimSpace(r.Body)
	isJSON := len(body) > 0 && (body[0] == '{' || body[0] == '[')
	if (isJSON || strings.Contains(ct, "json")) && ct != "application/json" {
		t.Errorf("%s: status %d, Content-Type %q, want exactly \"application/json\"; body %.120s", what, r.Status, ct, body)
	}
}

// lastRoutes run after the others: they end the token or the fixtures.
func routeOrder(r clientapi.Route) int {
	switch {
	case strings.Contains(r.Path, "logout"):
		return 3
	case r.Method == http.MethodDelete && r.Path == "/api/guilds/:guild":
		return 2
	case r.Method == http.MethodDelete:
		return 1
	}
	return 0
}

// TestJSONContentTypeEveryRoute walks every registered route, with and
// without a token, and a set of error answers, and checks that each JSON
// answer's Content-Type is exactly "application/json".
func TestJSONContentTypeEveryRoute(t *testing.T) {
	s := st.Start(t, st.Options{RateLimit: true})
	owner := s.Register(t, "owner", "correct horse")
	other := s.Register(t, "other", "correct horse")
	g := newGuild(t, s, owner, "Types")
	code := invite(t, s, owner, g.general, other)
	msg := ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/messages", owner, map[string]any{"content": "hi"}), 200)["id"].(string)
	app := ok(t, s.Do(t, "POST", "/api/v10/applications", owner, map[string]any{"name": "Typer"}), 201)["id"].(string)
	values := map[string]string{
		":guild": g.id, ":channel": g.general, ":message": msg, ":user": userID(t, s, other),
		":role": g.id, ":overwrite": g.id, ":emoji": "%F0%9F%91%8D", ":application": app, ":code": code,
		":server": "example.org", ":file": "x.png", ":attachment": "1", ":filename": "a.png",
	}
	routes := clientapi.New(clientapi.Config{Homeserver: s.Homeserver()}).Routes()
	if len(routes) < 50 {
		t.Fatalf("only %d routes listed", len(routes))
	}
	sort.SliceStable(routes, func(i, j int) bool { return routeOrder(routes[i]) < routeOrder(routes[j]) })
	for _, r := range routes {
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if v, ok := values[p]; ok {
				parts[i] = v
			} else if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
				// A parameter this test does not know (a newer route's)
				// gets a snowflake nothing has: its answers, 404s and
				// 400s included, must still say application/json.
				parts[i] = "1"
			}
		}
		path := strings.Join(parts, "/")
		if rest, ok := strings.CutPrefix(path, "/api/"); ok {
			path = "/api/v10/" + rest
		}
		var body any
		if r.Method != http.MethodGet && r.Method != http.MethodDelete {
			body = map[string]any{}
		}
		checkJSONType(t, r.Method+" "+path+" without a token", s.Do(t, r.Method, path, "", body))
		checkJSONType(t, r.Method+" "+path, s.Do(t, r.Method, path, owner, body))
	}

	fresh := s.Register(t, "fresh", "correct horse")
	errs := []struct {
		name, method, path, token string
		body                      any
		status                    int
	}{
		{"unknown route", "GET", "/api/v10/nowhere", fresh, nil, 404},
		{"wrong method", "PUT", "/api/v10/users/@me", fresh, nil, 405},
		{"bad version", "GET", "/api/v7/users/@me", fresh, nil, 400},
		{"bad token", "GET", "/api/v10/users/@me", "Bot nope", nil, 401},
		{"invalid body", "POST", "/api/v10/guilds", fresh, map[string]any{"name": ""}, 400},
		{"malformed JSON", "POST", "/api/v10/guilds", fresh, []byte("{"), 400},
		{"too large", "POST", "/api/v10/users/@me/channels", fresh, []byte(`{"name":"` + strings.Repeat("a", 2<<20) + `"}`), 413},
		{"gateway", "GET", "/api/v10/gateway", "", nil, 200},
		{"gateway bot", "GET", "/api/v10/gateway/bot", fresh, nil, 200},
	}
	for _, e := range errs {
		r := s.Do(t, e.method, e.path, e.token, e.body)
		if r.Status != e.status {
			t.Errorf("%s: status %d, want %d: %s", e.name, r.Status, e.status, r.Body)
		}
		checkJSONType(t, e.name, r)
	}
	for i := 0; ; i++ {
		r := s.Do(t, "GET", "/api/v10/users/@me", fresh, nil)
		if r.Status == http.StatusTooManyRequests {
			checkJSONType(t, "rate limited", r)
			break
		}
		if i > 1000 {
			t.Fatal("no 429 after 1000 requests")
		}
	}
	for _, p := range []string{federation.WellKnownPath, "/healthz"} {
		checkJSONType(t, p, s.Do(t, "GET", p, "", nil))
	}
}
