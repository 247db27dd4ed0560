package server_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hearth/server"
	st "hearth/server/servertest"
)

// TestDataSurvivesRestart: accounts, tokens and the signing key outlive the
// process, and the second start applies no migration.
func TestDataSurvivesRestart(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		tok := s.Register(t, "lena", "correct horse")
		keyBefore := s.Do(t, "GET", "/_hearth/federation/v1/keys", "", nil).JSON(t)["keys"]

		s2 := s.Restart(t)
		st.Expect(t, s2.Do(t, "GET", "/api/v10/users/@me", tok, nil), 200, nil)
		st.Expect(t, s2.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "lena", "password": "correct horse"}), 200, nil)
		keyAfter := s2.Do(t, "GET", "/_hearth/federation/v1/keys", "", nil).JSON(t)["keys"]
		id := func(k any) any { return k.([]any)[0].(map[string]any)["key_id"] }
		pub := func(k any) any { return k.([]any)[0].(map[string]any)["public_key"] }
		if id(keyBefore) != id(keyAfter) || pub(keyBefore) != pub(keyAfter) {
			t.Fatalf("signing key changed across restart: %v -> %v", keyBefore, keyAfter)
		}
	})
}

func TestOperations(t *testing.T) {
	s := st.Start(t, st.Options{})
	st.Expect(t, s.Do(t, "GET", "/healthz", "", nil), 200, nil)
	r := s.Do(t, "GET", "/readyz", "", nil)
	st.Expect(t, r, 200, nil)
	if r.JSON(t)["status"] != "ok" {
		t.Fatalf("readyz = %s", r.Body)
	}
	tok := s.Register(t, "mia", "correct horse")
	s.Do(t, "GET", "/api/v10/users/@me", tok, nil)
	s.Do(t, "GET", "/api/v10/no/such/route", tok, nil)

	m := string(s.Do(t, "GET", "/metrics", "", nil).Body)
	for _, want := range []string{
		`hearth_http_requests_total{method="GET",route="/api/users/@me",status="200"} 1`,
		`hearth_http_requests_total{method="POST",route="/api/auth/register",status="201"} 1`,
		`hearth_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`hearth_http_request_duration_seconds_bucket{method="GET",route="/api/users/@me",le="+Inf"} 1`,
		`hearth_db_connections_open{dialect="sqlite",pool="write"}`,
		`hearth_db_connections_max{dialect="sqlite",pool="read"}`,
		"go_goroutines ",
		"hearth_process_resident_memory_bytes ",
		"hearth_gateway_connections 0",
		"hearth_gateway_sessions 0",
		`hearth_gateway_sessions_dropped_total{reason="heartbeat_timeout"} 0`,
		"hearth_backup_failures_total 0",
		"hearth_data_dir_free_bytes ",
		"hearth_ready 1",
		"hearth_data_dir_size_bytes ",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	wk := s.Do(t, "GET", "/.well-known/hearth", "", nil)
	st.Expect(t, wk, 200, nil)
	w := wk.JSON(t)
	if w["server_name"] != s.ServerName() || w["client_api"] != s.URL()+"/api/v10" || w["gateway"] != "ws://"+s.Addr()+"/gateway" {
		t.Fatalf("well-known = %s", wk.Body)
	}
	keys := s.Do(t, "GET", "/_hearth/federation/v1/keys", "", nil).JSON(t)
	k := keys["keys"].([]any)[0].(map[string]any)
	if keys["server_name"] != s.ServerName() || k["algorithm"] != "ed25519" || !strings.HasPrefix(k["key_id"].(string), "ed25519:") {
		t.Fatalf("keys = %v", keys)
	}
	st.Expect(t, s.Do(t, "POST", "/healthz", "", nil), 405, st.Code(0))

	page := s.Do(t, "GET", "/", "", nil)
	st.Expect(t, page, 200, nil)
	// The built client or, on a clone that never ran the build, the
	// placeholder: both are Hearth's page.
	if !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(page.Body), "<title>Hearth") {
		t.Fatalf("front page: %s", page.Body)
	}
}

func TestStartFailuresAreClear(t *testing.T) {
	ctx := context.Background()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cfg  server.Config
		want string
	}{
		{"port taken", server.Config{Listen: busy.Addr().String(), DataDir: t.TempDir()}, "already in use"},
		{"data dir not writable", server.Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(file, "data")}, "data dir"},
		{"database unreachable", server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Database: "postgres://postgres@127.0.0.1:1/test?connect_timeout=2"}, "cannot open the PostgreSQL database"},
		{"database not a URL", server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Database: "mysql://x"}, "postgres://"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := server.New(ctx, c.cfg)
			if err == nil {
				s.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}
