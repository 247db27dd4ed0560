// Package servertest starts real homeservers on loopback ports for tests, on
// SQLite or PostgreSQL, and talks to them over real HTTP.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/federation"
	"hearth/homeserver/password"
	"hearth/server"
	"hearth/storage"
	"hearth/storage/blobs"
	"hearth/storage/postgres"
	"hearth/storage/sqlite"
	"hearth/storage/storagetest"
)

// Backend is a database kind a test server runs on.
type Backend string

// The backends.
const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres"
)

// Backends lists both; a test runs its body once per backend with
// ForEachBackend.
var Backends = []Backend{SQLite, Postgres}

// ForEachBackend runs fn as a subtest per backend. The PostgreSQL subtest
// skips, saying so, when PostgreSQL is unreachable and HEARTH_TEST_POSTGRES
// is not set.
func ForEachBackend(t *testing.T, fn func(t *testing.T, b Backend)) {
	for _, b := range Backends {
		t.Run(string(b), func(t *testing.T) { fn(t, b) })
	}
}

// Options change how a test server is made.
type Options struct {
	Backend Backend
	// DataDir reuses a data dir (to restart a server); empty makes one.
	DataDir string
	// Database reuses a PostgreSQL URL (to restart a server).
	Database string
	// ServerName is kept across Restart; empty means the listen address.
	ServerName string
	// Listen is the address to serve on; empty means a free loopback
	// port. Restart keeps it, so that peers find the server again.
	Listen    string
	RateLimit bool
	TokenTTL  time.Duration
	Now       func() time.Time
	// MaxUploadSize overrides the attachment limit.
	MaxUploadSize int64
	// MaxReplicaMembers and MaxNewPeerUsers override the bounds on what
	// peers make the server keep.
	MaxReplicaMembers int
	MaxNewPeerUsers   int
	// MaxReplicaChannels, MaxReplicaThreads, MaxReplicaRoles and
	// MaxReplicaEmojis override the bounds on a replica guild's channels,
	// threads, roles and custom emoji.
	MaxReplicaChannels, MaxReplicaThreads, MaxReplicaRoles, MaxReplicaEmojis int
	// GatewayHeartbeat overrides the gateway's heartbeat interval.
	GatewayHeartbeat time.Duration
	// GatewayPresenceRefresh overrides how often presences are told
	// again to the other processes sharing the database.
	GatewayPresenceRefresh time.Duration
	// FederationLimits overrides the inbound federation limits.
	FederationLimits federation.Limits
	// Registration and FederationAllowList are the server's.
	Registration        string
	FederationAllowList bool
	// SMTPURL is the server's: where its mail goes.
	SMTPURL string
	// Files and FilesS3 put the server's files in an S3 bucket
	// (blobstest.StartS3 starts one).
	Files   string
	FilesS3 blobs.S3Config
	// Log receives the server's log lines; nil discards them.
	Log *slog.Logger
}

// Server is a running test homeserver.
type Server struct {
	*server.Server
	Options  Options
	stop     context.CancelFunc
	done     chan error
	t        testing.TB
	stopOnce sync.Once
}

// cheap makes argon2 fast in tests; the cost is measured in benchmarks.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

// Start starts a homeserver on 127.0.0.1 and a free port; it stops when the
// test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	if o.Backend == "" {
		o.Backend = SQLite
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.Backend == Postgres && o.Database == "" {
		o.Database = storagetest.PostgresURL(t)
	}
	srv, err := server.New(context.Background(), server.Config{
		Listen:                 o.Listen,
		DataDir:                o.DataDir,
		Database:               o.Database,
		ServerName:             o.ServerName,
		InsecureFederation:     true,
		RateLimit:              o.RateLimit,
		Password:               cheap,
		TokenTTL:               o.TokenTTL,
		MaxUploadSize:          o.MaxUploadSize,
		MaxReplicaMembers:      o.MaxReplicaMembers,
		MaxNewPeerUsers:        o.MaxNewPeerUsers,
		MaxReplicaChannels:     o.MaxReplicaChannels,
		MaxReplicaThreads:      o.MaxReplicaThreads,
		MaxReplicaRoles:        o.MaxReplicaRoles,
		MaxReplicaEmojis:       o.MaxReplicaEmojis,
		Now:                    o.Now,
		ShutdownTimeout:        5 * time.Second,
		GatewayPresenceRefresh: o.GatewayPresenceRefresh,
		GatewayHeartbeat:       o.GatewayHeartbeat,
		FederationLimits:       o.FederationLimits,
		Registration:           o.Registration,
		FederationAllowList:    o.FederationAllowList,
		SMTPURL:                o.SMTPURL,
		Files:                  o.Files,
		FilesS3:                o.FilesS3,
		Log:                    o.Log,
	})
	if err != nil {
		t.Fatalf("start homeserver: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Server: srv, Options: o, stop: cancel, done: make(chan error, 1), t: t}
	go func() { s.done <- srv.Serve(ctx) }()
	t.Cleanup(func() { s.Stop() })
	// Serve starts the gateway's router beside the listener: a test talks
	// to the server once it says it is ready, as a load balancer would.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(s.URL() + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("homeserver not ready after 10 s: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

// Stop shuts the server down gracefully and waits for it; calling it twice
// is harmless.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.stop()
		if err := <-s.done; err != nil {
			s.t.Errorf("homeserver stopped with error: %v", err)
		}
	})
}

// Restart stops the server and starts a new one on the same data and the
// same address.
func (s *Server) Restart(t testing.TB) *Server { return s.RestartWith(t, nil) }

// RestartWith restarts the server as Restart does, and runs meanwhile (if
// not nil) on its database while no process has it open: what a process
// committed as it stopped, say.
func (s *Server) RestartWith(t testing.TB, meanwhile func(storage.Store)) *Server {
	t.Helper()
	s.Stop()
	o := s.Options
	o.ServerName = s.ServerName()
	o.Listen = s.Addr()
	if meanwhile != nil {
		var db storage.Store
		var err error
		if o.Backend == Postgres {
			db, err = postgres.Open(context.Background(), o.Database, nil)
		} else {
			db, err = sqlite.Open(context.Background(), filepath.Join(o.DataDir, "hearth.db"), nil)
		}
		if err != nil {
			t.Fatalf("open the stopped server's database: %v", err)
		}
		meanwhile(db)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return Start(t, o)
}

// Response is an HTTP answer with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map (or fails the test).
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// Metric reads one series of the server's /metrics, its name and labels
// as Prometheus writes them (`name{label="value"}`); -1 when absent.
func (s *Server) Metric(t testing.TB, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(string(s.Do(t, "GET", "/metrics", "", nil).Body))
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s = %q: %v", series, m[1], err)
	}
	return v
}

// Do sends a request to the server. body is JSON-encoded unless it is
// []byte or nil; token goes in Authorization as given.
func (s *Server) Do(t testing.TB, method, path, token string, body any) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// SendFiles posts a message with files, as multipart with payload_json
// (payload "" for none), the way discordgo and discord.js send them.
func (s *Server) SendFiles(t testing.TB, tok, channel, payload string, files map[string][]byte) Response {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if payload != "" {
		fw, _ := w.CreateFormField("payload_json")
		_, _ = fw.Write([]byte(payload))
	}
	i := 0
	for name, data := range files {
		fw, _ := w.CreateFormFile(fmt.Sprintf("files[%d]", i), name)
		_, _ = fw.Write(data)
		i++
	}
	w.Close()
	req, _ := http.NewRequest("POST", s.URL()+"/api/v10/channels/"+channel+"/messages", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Header: res.Header, Body: body}
}

// Register makes an account and returns its token.
func (s *Server) Register(t testing.TB, username, pw string) string {
	t.Helper()
	r := s.Do(t, "POST", "/api/v10/auth/register", "", map[string]string{"username": username, "password": pw})
	if r.Status != http.StatusCreated {
		t.Fatalf("register %s: %d %s", username, r.Status, r.Body)
	}
	tok, _ := r.JSON(t)["token"].(string)
	if tok == "" {
		t.Fatalf("register %s: no token in %s", username, r.Body)
	}
	return tok
}

// Guild creates a guild named name for owner and returns the IDs of the
// guild and of its text channel, and the code of an invite to it without a
// use limit.
func (s *Server) Guild(t testing.TB, owner, name string) (guild, channel, invite string) {
	t.Helper()
	g := OK(t, s.Do(t, "POST", "/api/v10/guilds", owner, map[string]any{"name": name}), http.StatusCreated)
	guild, _ = g["id"].(string)
	for _, c := range List(t, s.Do(t, "GET", "/api/v10/guilds/"+guild+"/channels", owner, nil)) {
		if c["type"] == float64(0) {
			channel, _ = c["id"].(string)
		}
	}
	inv := OK(t, s.Do(t, "POST", "/api/v10/channels/"+channel+"/invites", owner, map[string]any{"max_uses": 0}), http.StatusOK)
	invite, _ = inv["code"].(string)
	return guild, channel, invite
}

// Expect fails the test unless r has the given status and, when code is
// not nil, the given Discord error code.
func Expect(t testing.TB, r Response, status int, code *int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	if code != nil {
		m := r.JSON(t)
		got, ok := m["code"].(float64)
		if !ok || int(got) != *code {
			t.Fatalf("error code %v, want %d; body %s", m["code"], *code, r.Body)
		}
		if _, ok := m["message"].(string); !ok {
			t.Fatalf("error body has no message: %s", r.Body)
		}
	}
}

// OK checks r's status and decodes its JSON object (nil for no body).
func OK(t testing.TB, r Response, status int) map[string]any {
	t.Helper()
	Expect(t, r, status, nil)
	if len(r.Body) == 0 {
		return nil
	}
	return r.JSON(t)
}

// List checks that r is a 200 and decodes its JSON array.
func List(t testing.TB, r Response) []map[string]any {
	t.Helper()
	Expect(t, r, http.StatusOK, nil)
	var out []map[string]any
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("not a JSON array: %v: %s", err, r.Body)
	}
	return out
}

// Code is a helper to pass an error code to Expect.
func Code(c int) *int { return &c }

// WaitFor retries check until it returns "" or timeout passes, then fails
// the test with what and check's last word: tests wait for state, never
// for a fixed time.
func WaitFor(t testing.TB, what string, timeout time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		why := check()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
