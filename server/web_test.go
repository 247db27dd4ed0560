package server_test

import (
	"strings"
	"testing"

	st "hearth/server/servertest"
)

// TestWebClientRoutes: through the real mux, deep links answer the page,
// while every path of the API, the gateway, federation, discovery, the file
// routes and operations keeps its own answer (JSON, never the page).
func TestWebClientRoutes(t *testing.T) {
	s := st.Start(t, st.Options{})
	tok := s.Register(t, "webby", "correct horse")
	page := func(p string) {
		t.Helper()
		r := s.Do(t, "GET", p, "", nil)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
			r.Header.Get("Cache-Control") != "no-cache" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "object-src 'none'") {
			t.Errorf("GET %s: %d %q %q", p, r.Status, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
		}
	}
	for _, p := range []string{"/", "/login", "/channels/@me", "/channels/1/2", "/invite/abc@" + s.ServerName()} {
		page(p)
	}
	notPage := []struct {
		path, token string
		status      int
	}{
		{"/api/v10/users/@me", tok, 200},
		{"/api/v10/users/@me", "", 401},
		{"/api/v10/no/such/route", tok, 404},
		{"/api", "", 404},
		{"/api/v11/users/@me", "", 400},
		{"/.well-known/hearth", "", 200},
		{"/.well-known/other", "", 404},
		{"/_hearth/federation/v1/keys", "", 200},
		{"/_hearth/federation/v1/no-such-endpoint", "", 404},
		{"/_hearth/federation/v1/send/txn1", "", 404}, // a PUT route: GET falls through to "/", which refuses it
		{"/attachments/1/2/x.png", "", 404},
		{"/avatars/1/abc.png", "", 404},
		{"/icons/1/abc.png", "", 404},
		{"/emojis/1.png", "", 404},
		{"/healthz", "", 200},
		{"/healthz/x", "", 404},
		{"/readyz/x", "", 404},
		{"/metrics/x", "", 404},
		{"/gateway/x", "", 0}, // the gateway's own answer (a failed upgrade), whatever its status
	}
	for _, c := range notPage {
		r := s.Do(t, "GET", c.path, c.token, nil)
		if strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || strings.Contains(string(r.Body), "<title>") {
			t.Errorf("GET %s answered the page: %d %s", c.path, r.Status, r.Body)
			continue
		}
		if c.status != 0 && r.Status != c.status {
			t.Errorf("GET %s: %d, want %d: %s", c.path, r.Status, c.status, r.Body)
		}
	}
	m := s.Do(t, "GET", "/metrics", "", nil)
	if m.Status != 200 || !strings.HasPrefix(m.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("/metrics: %d %q", m.Status, m.Header.Get("Content-Type"))
	}
}
