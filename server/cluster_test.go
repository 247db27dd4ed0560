package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	st "hearth/server/servertest"
	"hearth/snowflake"
	"hearth/storage"
	"hearth/storage/storagetest"
)

// startShared starts n servers of one homeserver on one PostgreSQL
// database and one data dir, as processes behind a load balancer would
// run: each with its own pool, bus, cache and gateway.
func startShared(t testing.TB, n int) []*st.Server {
	t.Helper()
	db, dir := storagetest.PostgresURL(t), t.TempDir()
	first := st.Start(t, st.Options{Backend: st.Postgres, Database: db, DataDir: dir})
	out := []*st.Server{first}
	for range n - 1 {
		out = append(out, st.Start(t, st.Options{Backend: st.Postgres, Database: db, DataDir: dir, ServerName: first.ServerName()}))
	}
	return out
}

// TestAnnouncementLostCostsOnlyLatency: an event committed without an
// announcement (as by a process killed between its commit and its
// NOTIFY) still reaches the other processes' buses, from their look at
// the log heads, in order.
func TestAnnouncementLostCostsOnlyLatency(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		if b == st.SQLite {
			t.Skip("one process serves an SQLite database: there is no other process to tell (TestProcessesShareOnePostgres)")
		}
		ss := startShared(t, 2)
		sub := ss[1].Homeserver().Bus().Subscribe(64)
		defer sub.Close()
		logID := snowflake.NewGenerator(1).Next() // a log nobody else writes to
		// Straight into the database: the domain, which announces, is
		// not involved.
		err := ss[0].Store().Update(context.Background(), func(tx storage.Tx) error {
			_, err := tx.AppendEvents(context.Background(), []storage.Event{
				{LogID: logID, Type: "TEST", Payload: []byte(`{"n":1}`)},
				{LogID: logID, Type: "TEST", Payload: []byte(`{"n":2}`)},
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var seqs []int64
		for len(seqs) < 2 {
			e, err := sub.Next(ctx)
			if err != nil {
				t.Fatalf("after %v: %v", seqs, err)
			}
			if e.LogID == logID {
				seqs = append(seqs, e.Seq)
			}
		}
		if seqs[0] != 1 || seqs[1] != 2 {
			t.Fatalf("seqs %v, want [1 2]", seqs)
		}
	})
}

// TestSignOutHoldsOnEveryProcess: a sign-out through one process ends the
// session on the others at once: its gateway connection there closes, and
// its token is refused there, although that process had it cached.
func TestSignOutHoldsOnEveryProcess(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		if b == st.SQLite {
			t.Skip("one process serves an SQLite database: there is no other process to tell (TestProcessesShareOnePostgres)")
		}
		ss := startShared(t, 2)
		tok := ss[0].Register(t, "lena", "correct horse")
		st.Expect(t, ss[1].Do(t, "GET", "/api/v10/users/@me", tok, nil), 200, nil) // cached there now
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		ws := identified(ctx, t, ss[1], tok)
		defer ws.CloseNow()
		st.Expect(t, ss[0].Do(t, "POST", "/api/v10/auth/logout", tok, nil), 204, nil)
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				if code := websocket.CloseStatus(err); code != 4004 {
					t.Fatalf("the gateway connection on the other process ended with %v (%d), want 4004", err, code)
				}
				break
			}
		}
		st.Expect(t, ss[1].Do(t, "GET", "/api/v10/users/@me", tok, nil), 401, nil)
	})
}

// TestLostSignOutStillEndsConnections: a sign-in ended without an
// announcement (as by a process killed between its commit and its NOTIFY)
// still ends the gateway connections other processes hold for it, at
// their next check of the sign-ins.
func TestLostSignOutStillEndsConnections(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		if b == st.SQLite {
			t.Skip("one process serves an SQLite database: there is no other process to tell (TestProcessesShareOnePostgres)")
		}
		ss := startShared(t, 2)
		tok := ss[0].Register(t, "mona", "correct horse")
		ctx, cancel := context.WithTimeout(context.Background(), 3*signInRecheckForTest)
		defer cancel()
		p, err := ss[0].Homeserver().Authenticate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		ws := identified(ctx, t, ss[1], tok)
		defer ws.CloseNow()
		// Straight into the database: the domain, which announces, is
		// not involved.
		if err := ss[0].Store().Update(ctx, func(tx storage.Tx) error { return tx.DeleteSession(ctx, p.Session) }); err != nil {
			t.Fatal(err)
		}
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				if code := websocket.CloseStatus(err); code != 4004 {
					t.Fatalf("the connection ended with %v (%d), want 4004 at the next check of the sign-ins", err, code)
				}
				break
			}
		}
	})
}

// identified opens a gateway connection to s with tok and reads until
// READY.
func identified(ctx context.Context, t *testing.T, s *st.Server, tok string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/gateway?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": tok, "intents": 1,
		"properties": map[string]string{"os": "linux", "browser": "test", "device": "test"}}})
	if err := ws.Write(ctx, websocket.MessageText, id); err != nil {
		ws.CloseNow()
		t.Fatal(err)
	}
	for {
		_, msg, err := ws.Read(ctx)
		if err != nil {
			ws.CloseNow()
			t.Fatalf("before READY: %v", err)
		}
		if strings.Contains(string(msg), `"t":"READY"`) {
			return ws
		}
	}
}

// signInRecheckForTest is the gateway's recheck interval (15 s) with the
// room a loaded machine needs.
const signInRecheckForTest = 30 * time.Second

// session is a gateway client whose dispatches a goroutine reads.
type session struct {
	ws     *websocket.Conn
	events chan delivered
}

type delivered struct {
	id string
	at time.Time
}

func openGateway(t testing.TB, s *st.Server, tok string) *session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/gateway?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(64 << 20)
	id, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": tok, "intents": 1<<0 | 1<<9,
		"properties": map[string]string{"os": "linux", "browser": "test", "device": "test"}}})
	if err := ws.Write(ctx, websocket.MessageText, id); err != nil {
		t.Fatal(err)
	}
	ss := &session{ws: ws, events: make(chan delivered, 1<<16)}
	ready := make(chan struct{})
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { // owned by the test: ends at cleanup
		defer close(done)
		for {
			_, msg, err := ws.Read(rctx)
			if err != nil {
				return
			}
			var p struct {
				T string `json:"t"`
				D struct {
					ID string `json:"id"`
				} `json:"d"`
			}
			_ = json.Unmarshal(msg, &p)
			switch p.T {
			case "READY":
				close(ready)
			case "MESSAGE_CREATE":
				ss.events <- delivered{p.D.ID, time.Now()}
			}
		}
	}()
	t.Cleanup(func() { stop(); ws.CloseNow(); <-done })
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("no READY")
	}
	return ss
}

func (s *session) await(t testing.TB, id string) time.Time {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case d := <-s.events:
			if d.id == id {
				return d.at
			}
		case <-timeout:
			t.Fatalf("message %s not delivered within 60 s", id)
		}
	}
}

// BenchmarkCrossProcessDelivery measures the time from a message send
// through one process (the REST call's start) to its MESSAGE_CREATE on a
// gateway session of another process sharing the PostgreSQL database,
// beside a session on the sending process itself as the baseline, in the
// same run. Reported: p50 and p99 of each, in milliseconds.
func BenchmarkCrossProcessDelivery(b *testing.B) {
	ss := startShared(b, 2)
	alice := ss[0].Register(b, "alice", "correct horse")
	bob := ss[0].Register(b, "bob", "correct horse")
	g := st.OK(b, ss[0].Do(b, "POST", "/api/v10/guilds", alice, map[string]any{"name": "bench"}), 201)
	chans := st.List(b, ss[0].Do(b, "GET", "/api/v10/guilds/"+g["id"].(string)+"/channels", alice, nil))
	var general string
	for _, c := range chans {
		if c["type"] == float64(0) {
			general = c["id"].(string)
		}
	}
	code := st.OK(b, ss[0].Do(b, "POST", "/api/v10/channels/"+general+"/invites", alice, map[string]any{}), 200)["code"].(string)
	st.OK(b, ss[0].Do(b, "POST", "/api/v10/invites/"+code, bob, nil), 200)
	local, remote := openGateway(b, ss[0], bob), openGateway(b, ss[1], bob)
	var same, cross []time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		m := st.OK(b, ss[0].Do(b, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": fmt.Sprint("m", i)}), 200)
		id := m["id"].(string)
		same = append(same, local.await(b, id).Sub(start))
		cross = append(cross, remote.await(b, id).Sub(start))
	}
	b.StopTimer()
	pct := func(ds []time.Duration, p float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(float64(len(s))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(same, 0.5), "same-p50-ms")
	b.ReportMetric(pct(same, 0.99), "same-p99-ms")
	b.ReportMetric(pct(cross, 0.5), "cross-p50-ms")
	b.ReportMetric(pct(cross, 0.99), "cross-p99-ms")
}
