package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	st "hearth/server/servertest"
	"hearth/storage/storagetest"
)

// gwFrame is a gateway payload as the tests read it.
type gwFrame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  int64           `json:"s"`
	T  string          `json:"t"`
}

// gwClient is a gateway client that reads on a goroutine of its own and
// keeps every dispatch, for a test to wait on.
type gwClient struct {
	ws *websocket.Conn

	mu     sync.Mutex
	frames []gwFrame
	at     []time.Time // when each frame was read
	err    error
	seq    int64
}

func dialGateway(t *testing.T, base string) *gwClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/gateway?v=10", nil)
	if err != nil {
		t.Fatalf("dial %s: %v", base, err)
	}
	ws.SetReadLimit(64 << 20)
	c := &gwClient{ws: ws}
	done := make(chan struct{})
	go func() { // owned by the test: ends when the connection does (Cleanup)
		defer close(done)
		for {
			_, b, err := ws.Read(context.Background())
			c.mu.Lock()
			if err != nil {
				c.err = err
				c.mu.Unlock()
				return
			}
			var f gwFrame
			_ = json.Unmarshal(b, &f)
			c.frames = append(c.frames, f)
			c.at = append(c.at, time.Now())
			if f.S > 0 {
				c.seq = f.S
			}
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { ws.CloseNow(); <-done })
	return c
}

func (c *gwClient) send(t *testing.T, op int, d any) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"op": op, "d": d})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("gateway write: %v", err)
	}
}

// snapshot returns the frames so far, the last seq and the read error.
func (c *gwClient) snapshot() ([]gwFrame, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]gwFrame(nil), c.frames...), c.seq, c.err
}

// contentOf is a MESSAGE_CREATE's content.
func contentOf(f gwFrame) string {
	var m struct {
		Content string `json:"content"`
	}
	_ = json.Unmarshal(f.D, &m)
	return m.Content
}

// TestSessionResumesElsewhereAfterSIGKILL: a client's process is killed
// (SIGKILL) during a send burst, and the client RESUMEs on another process
// sharing the database (PostgreSQL: three processes, the sessions of the
// first resuming on the second; SQLite: the process restarted on the same
// data dir). It receives every message it had not seen, once each, in the
// log's order, numbered on from its seq; every acknowledged send is in the
// log, in order, without gaps; and the session carries on live where it
// resumed. On PostgreSQL a session on the third process receives the whole
// burst live, through the kill, once each and in order, and what is sent
// after it; the test logs how long each message took from its send to
// that session (docs/benchmarks.md).
func TestSessionResumesElsewhereAfterSIGKILL(t *testing.T) {
	for _, backend := range st.Backends {
		t.Run(string(backend), func(t *testing.T) {
			var database string
			if backend == st.Postgres {
				database = storagetest.PostgresURL(t)
			}
			args := func(dir string) []string {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := ln.Addr().String()
				ln.Close()
				a := []string{"--listen", addr, "--data", dir, "--server-name", "resume.test", "--rate-limit=false"}
				if database != "" {
					a = append(a, "--database", database)
				}
				return a
			}
			first := filepath.Join(t.TempDir(), "one")
			p1 := startProcess(t, nil, args(first)...)
			var p2, p3 *proc
			if backend == st.Postgres {
				// Running beside the first, each on its own data dir with
				// the same keys: the processes of one homeserver share
				// them.
				beside := func(name string) *proc {
					dir := filepath.Join(t.TempDir(), name)
					if err := os.MkdirAll(dir, 0o700); err != nil {
						t.Fatal(err)
					}
					for _, key := range []string{"token.key", "signing.key"} {
						b, err := os.ReadFile(filepath.Join(first, key))
						if err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(filepath.Join(dir, key), b, 0o600); err != nil {
							t.Fatal(err)
						}
					}
					return startProcess(t, nil, args(dir)...)
				}
				p2, p3 = beside("two"), beside("three")
			}

			tok := mustCall(t, "POST", p1.url+"/api/v10/auth/register", "", map[string]any{"username": "ann", "password": "correct horse"}, 201)["token"].(string)
			guild := mustCall(t, "POST", p1.url+"/api/v10/guilds", tok, map[string]any{"name": "Resumed"}, 201)["id"].(string)
			status, raw, _ := call(t, "GET", p1.url+"/api/v10/guilds/"+guild+"/channels", tok, nil)
			var chans []map[string]any
			if status != 200 || json.Unmarshal(raw, &chans) != nil {
				t.Fatalf("channels: %d %s", status, raw)
			}
			var channel string
			for _, c := range chans {
				if c["type"] == float64(0) {
					channel = c["id"].(string)
				}
			}

			// Two sessions: one connected until the kill, one whose
			// connection drops in the middle of the burst (so that the
			// log holds, for sure, messages it has not had).
			identify := func(on *proc) (*gwClient, string) {
				c := dialGateway(t, on.url)
				c.send(t, 2, map[string]any{"token": tok, "intents": 1<<0 | 1<<9 | 1<<15, "properties": map[string]string{}})
				var id string
				st.WaitFor(t, "READY and GUILD_CREATE", 30*time.Second, func() string {
					frames, _, err := c.snapshot()
					for _, f := range frames {
						if f.T == "READY" {
							var r struct {
								SessionID string `json:"session_id"`
							}
							_ = json.Unmarshal(f.D, &r)
							id = r.SessionID
						}
						if f.T == "GUILD_CREATE" && id != "" {
							return ""
						}
					}
					return fmt.Sprintf("%d frames, %v", len(frames), err)
				})
				return c, id
			}
			c1, sessionID := identify(p1)
			away, awayID := identify(p1)
			// On PostgreSQL, a session on the third process, which
			// receives the burst from the first live, through the kill.
			var watcher *gwClient
			if p3 != nil {
				watcher, _ = identify(p3)
			}

			// One sender, one message at a time, keeping the order of what
			// was acknowledged.
			var mu sync.Mutex
			var acked []string
			began := map[string]time.Time{} // when each send began
			stop := make(chan struct{})
			sent := make(chan struct{})
			go func() { // owned by the test: stopped by stop, awaited on sent
				defer close(sent)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					content := fmt.Sprintf("m%d", i)
					mu.Lock()
					began[content] = time.Now()
					mu.Unlock()
					status, _, err := call(t, "POST", p1.url+"/api/v10/channels/"+channel+"/messages", tok, map[string]any{"content": content})
					if err != nil || status != 200 {
						return // the process is gone
					}
					mu.Lock()
					acked = append(acked, content)
					mu.Unlock()
				}
			}()
			// The kill comes in the middle of the burst, once the clients
			// have had some of it live (and one has told, by heartbeat,
			// part of what it had, so that its record folds some marks).
			heartbeat := false
			received := func(c *gwClient) int {
				frames, _, _ := c.snapshot()
				n := 0
				for _, f := range frames {
					if f.T == "MESSAGE_CREATE" {
						n++
					}
				}
				return n
			}
			st.WaitFor(t, "messages received live", 60*time.Second, func() string {
				// Past 64 acknowledged, the record folds its marks.
				n := received(c1)
				if n >= 70 && !heartbeat {
					_, seq, _ := c1.snapshot()
					c1.send(t, 1, seq)
					heartbeat = true
				}
				if n < 80 || received(away) < 20 {
					return fmt.Sprintf("%d and %d received", n, received(away))
				}
				return ""
			})
			away.ws.CloseNow()
			ackedNow := func() int {
				mu.Lock()
				defer mu.Unlock()
				return len(acked)
			}
			dropped := ackedNow()
			st.WaitFor(t, "more messages acknowledged while one session is away", 60*time.Second, func() string {
				if n := ackedNow(); n < dropped+30 {
					return fmt.Sprintf("%d acknowledged since the drop", n-dropped)
				}
				return ""
			})
			if err := p1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p1.wait(t)
			<-sent
			close(stop)
			st.WaitFor(t, "the connection to the killed process ends", 30*time.Second, func() string {
				if _, _, err := c1.snapshot(); err == nil {
					return "still open"
				}
				return ""
			})
			if backend == st.SQLite {
				p2 = startProcess(t, nil, args(first)...)
			}
			history, err := contents(t, p2.url, tok, channel)
			if err != nil {
				t.Fatal(err)
			}
			// Every acknowledged send is in the log, in order, without
			// gaps (the last one may have committed unacknowledged).
			mu.Lock()
			if len(history) < len(acked) || len(history) > len(acked)+1 {
				t.Fatalf("%d acknowledged, %d in the log", len(acked), len(history))
			}
			for i, c := range history {
				if c != fmt.Sprintf("m%d", i) {
					t.Fatalf("log[%d] = %q: a gap or a reordering", i, c)
				}
			}
			nAcked := len(acked)
			mu.Unlock()

			// The third process's session had the whole burst, live,
			// once each and in order: from the first process through the
			// log while it lived, and what it committed unannounced as it
			// died from the look at the log heads.
			if watcher != nil {
				messages := func(c *gwClient) ([]string, []time.Time) {
					frames, _, _ := c.snapshot()
					c.mu.Lock()
					at := append([]time.Time(nil), c.at...)
					c.mu.Unlock()
					var got []string
					var when []time.Time
					for i, f := range frames {
						if f.T == "MESSAGE_CREATE" {
							got, when = append(got, contentOf(f)), append(when, at[i])
						}
					}
					return got, when
				}
				st.WaitFor(t, "the third process's session has the burst", 60*time.Second, func() string {
					if got, _ := messages(watcher); len(got) < len(history) {
						return fmt.Sprintf("%d of %d", len(got), len(history))
					}
					return ""
				})
				got, when := messages(watcher)
				if strings.Join(got, ",") != strings.Join(history, ",") {
					t.Fatalf("the third process's session received %d messages:\n%v\nthe log has %d:\n%v", len(got), got, len(history), history)
				}
				// From each send's start to its MESSAGE_CREATE on the
				// third process, beside the same on the first (the
				// sender's own) while it lived.
				latency := func(got []string, when []time.Time) []time.Duration {
					mu.Lock()
					defer mu.Unlock()
					var ds []time.Duration
					for i, c := range got {
						if b, ok := began[c]; ok {
							ds = append(ds, when[i].Sub(b))
						}
					}
					slices.Sort(ds)
					return ds
				}
				pct := func(ds []time.Duration, p float64) time.Duration {
					if len(ds) == 0 {
						return 0
					}
					return ds[min(len(ds)-1, int(float64(len(ds))*p))].Round(100 * time.Microsecond)
				}
				cross := latency(got, when)
				own := latency(messages(c1))
				t.Logf("send to MESSAGE_CREATE, %d messages on the third process: p50 %v, p99 %v, max %v; %d on the sender's own process: p50 %v, p99 %v, max %v",
					len(cross), pct(cross, .5), pct(cross, .99), pct(cross, 1), len(own), pct(own, .5), pct(own, .99), pct(own, 1))
			}

			// resume resumes a session on the other process and checks
			// that, before and after, it got the channel's history once
			// each and in order, numbered on from its seq; it returns the
			// new connection and its next seq.
			resume := func(name string, old *gwClient, id string) (*gwClient, []gwFrame, int64) {
				before, last, _ := old.snapshot()
				began := time.Now()
				c := dialGateway(t, p2.url)
				c.send(t, 6, map[string]any{"token": tok, "session_id": id, "seq": last})
				var after []gwFrame
				st.WaitFor(t, name+" RESUMED", 60*time.Second, func() string {
					frames, _, err := c.snapshot()
					for i, f := range frames {
						if f.Op == 9 {
							t.Fatalf("%s: INVALID_SESSION on resume: %s", name, f.D)
						}
						if f.T == "RESUMED" {
							after = frames[:i+1]
							return ""
						}
					}
					return fmt.Sprintf("%d frames, %v", len(frames), err)
				})
				took := time.Since(began)
				next := last + 1
				for _, f := range after {
					if f.Op != 0 {
						continue
					}
					if f.S != next {
						t.Fatalf("%s: replayed %s with seq %d, want %d", name, f.T, f.S, next)
					}
					next++
				}
				var got []string
				replayed := 0
				for _, f := range append(before, after...) {
					if f.T == "MESSAGE_CREATE" {
						got = append(got, contentOf(f))
					}
				}
				for _, f := range after {
					if f.T == "MESSAGE_CREATE" {
						replayed++
					}
				}
				if strings.Join(got, ",") != strings.Join(history, ",") {
					t.Fatalf("%s: received %d messages:\n%v\nthe log has %d:\n%v", name, len(got), got, len(history), history)
				}
				t.Logf("%s: %d acknowledged, %d in the log, %d received from the killed process, %d replayed by the other; dial to RESUMED %v",
					name, nAcked, len(history), len(got)-replayed, replayed, took.Round(time.Millisecond))
				return c, after, next
			}
			c2, after, next := resume("connected session", c1, sessionID)
			_, awayAfter, _ := resume("dropped session", away, awayID)
			replayed := 0
			for _, f := range awayAfter {
				if f.T == "MESSAGE_CREATE" {
					replayed++
				}
			}
			if replayed < 30 {
				t.Fatalf("the dropped session had %d replayed, want at least the 30 sent while it was away", replayed)
			}

			// The session goes on live on its new process.
			mustCall(t, "POST", p2.url+"/api/v10/channels/"+channel+"/messages", tok, map[string]any{"content": "after"}, 200)
			st.WaitFor(t, "a live message after the resume", 30*time.Second, func() string {
				frames, _, _ := c2.snapshot()
				for _, f := range frames[len(after):] {
					if f.T == "MESSAGE_CREATE" {
						if contentOf(f) != "after" || f.S != next {
							t.Fatalf("live after the resume: %q seq %d, want seq %d", contentOf(f), f.S, next)
						}
						return ""
					}
				}
				return "not yet"
			})
			if watcher != nil {
				st.WaitFor(t, "the live message on the third process", 30*time.Second, func() string {
					frames, _, _ := watcher.snapshot()
					for _, f := range frames {
						if f.T == "MESSAGE_CREATE" && contentOf(f) == "after" {
							return ""
						}
					}
					return "not yet"
				})
			}
		})
	}
}
