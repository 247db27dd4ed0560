package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hearth/homeserver"
	st "hearth/server/servertest"
	"hearth/snowflake"
	"hearth/storage"
	"hearth/storage/storagetest"
)

// startShared starts n servers of one homeserver on one PostgreSQL
// database and one data dir, as processes behind a load balancer would
// run: each with its own pool, bus, cache and gateway. The tests of
// several processes have no SQLite half: one process serves an SQLite
// database (TestProcessesShareOnePostgres). Without PostgreSQL they skip
// as the PostgreSQL half of any test does (storagetest.PostgresURL).
func startShared(t testing.TB, n int) []*st.Server {
	return startSharedWith(t, n, st.Options{})
}

// startSharedWith is startShared with options for every server (backend,
// database, data dir and name are set here).
func startSharedWith(t testing.TB, n int, o st.Options) []*st.Server {
	t.Helper()
	o.Backend, o.Database, o.DataDir = st.Postgres, storagetest.PostgresURL(t), t.TempDir()
	first := st.Start(t, o)
	out := []*st.Server{first}
	o.ServerName = first.ServerName()
	for range n - 1 {
		out = append(out, st.Start(t, o))
	}
	// Ephemeral events (typing, presences) sent before a process listens
	// never reach it: tests that look for them start once all listen.
	st.WaitFor(t, "every process listening for the others", 60*time.Second, func() string {
		for i, s := range out {
			if !s.Homeserver().RelayListening() {
				return fmt.Sprintf("process %d not listening yet", i+1)
			}
		}
		return ""
	})
	return out
}

// TestAnnouncementLostCostsOnlyLatency: an event committed without an
// announcement (as by a process killed between its commit and its
// NOTIFY) still reaches the other processes' buses, from their look at
// the log heads, in order.
func TestAnnouncementLostCostsOnlyLatency(t *testing.T) {
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
	// Counted as filled by the backstop, for the operator's alert.
	if n := ss[1].Metric(t, "hearth_cluster_backstop_fills_total"); n < 2 {
		t.Fatalf("hearth_cluster_backstop_fills_total = %v, want at least the 2 events no announcement told", n)
	}
}

// TestRelayAndLeaseMetrics: what crosses processes is counted on both
// sides, and each process shows the snowflake node it leases.
func TestRelayAndLeaseMetrics(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		if b == st.SQLite {
			s := st.Start(t, st.Options{Backend: st.SQLite})
			// Exported all the same, at zero: one process relays nothing.
			for _, name := range []string{"hearth_cluster_notify_sent_total", "hearth_cluster_notify_received_total",
				"hearth_cluster_backstop_fills_total", `hearth_lease_held{kind="node"}`, `hearth_lease_takeovers_total{kind="federation"}`} {
				if v := s.Metric(t, name); v != 0 {
					t.Fatalf("%s = %v with SQLite, want 0", name, v)
				}
			}
			return
		}
		ss := startShared(t, 2)
		alice := ss[0].Register(t, "alice", "correct horse")
		_, channel, _ := ss[0].Guild(t, alice, "counted")
		on2 := watch(t, ss[1], alice, 1<<0|1<<9, nil, "", 0)
		m := st.OK(t, ss[0].Do(t, "POST", "/api/v10/channels/"+channel+"/messages", alice, map[string]any{"content": "hello"}), 200)
		on2.wait(t, "MESSAGE_CREATE", func(d map[string]any) bool { return d["id"] == m["id"] })
		if v := ss[0].Metric(t, "hearth_cluster_notify_sent_total"); v < 1 {
			t.Fatalf("sender: hearth_cluster_notify_sent_total = %v", v)
		}
		if v := ss[1].Metric(t, "hearth_cluster_notify_received_total"); v < 1 {
			t.Fatalf("receiver: hearth_cluster_notify_received_total = %v", v)
		}
		for i, s := range ss {
			if v := s.Metric(t, `hearth_lease_held{kind="node"}`); v != 1 {
				t.Fatalf("server %d: hearth_lease_held{kind=\"node\"} = %v, want 1", i+1, v)
			}
		}
	})
}

// TestSignOutHoldsOnEveryProcess: a sign-out through one process ends the
// session on the others at once: its gateway connection there closes, and
// its token is refused there, although that process had it cached.
func TestSignOutHoldsOnEveryProcess(t *testing.T) {
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
}

// TestLostSignOutStillEndsConnections: a sign-in ended without an
// announcement (as by a process killed between its commit and its NOTIFY)
// still ends the gateway connections other processes hold for it, at
// their next check of the sign-ins.
func TestLostSignOutStillEndsConnections(t *testing.T) {
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

// watcher is a gateway connection whose dispatches a goroutine keeps, for
// a test to wait on any of them.
type watcher struct {
	ws *websocket.Conn
	mu sync.Mutex
	ds []dispatch
	// seq is the last sequence number received; id the session's.
	seq int64
	id  string
	err error
}

type dispatch struct {
	t string
	d map[string]any
}

// watch opens a gateway connection to s with tok and intents, and keeps
// reading it until the test ends. With resume (a session ID and a seq) it
// resumes instead of identifying.
func watch(t *testing.T, s *st.Server, tok string, intents int, presence map[string]any, resumeID string, seq int64) *watcher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/gateway?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(64 << 20)
	w := &watcher{ws: ws, id: resumeID}
	done := make(chan struct{})
	go func() { // owned by the test: ends when the connection closes (cleanup)
		defer close(done)
		for {
			_, msg, err := ws.Read(context.Background())
			w.mu.Lock()
			if err != nil {
				w.err = err
				w.mu.Unlock()
				return
			}
			var f struct {
				Op int            `json:"op"`
				S  int64          `json:"s"`
				T  string         `json:"t"`
				D  map[string]any `json:"d"`
			}
			if json.Unmarshal(msg, &f) == nil {
				if f.S > 0 {
					w.seq = f.S
				}
				if f.T == "READY" {
					w.id, _ = f.D["session_id"].(string)
				}
				if f.Op == 9 {
					f.T = "INVALID_SESSION"
				}
				w.ds = append(w.ds, dispatch{f.T, f.D})
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { ws.CloseNow(); <-done })
	var hello []byte
	if resumeID != "" {
		hello, _ = json.Marshal(map[string]any{"op": 6, "d": map[string]any{"token": tok, "session_id": resumeID, "seq": seq}})
	} else {
		d := map[string]any{"token": tok, "intents": intents, "properties": map[string]string{"os": "linux", "browser": "test", "device": "test"}}
		if presence != nil {
			d["presence"] = presence
		}
		hello, _ = json.Marshal(map[string]any{"op": 2, "d": d})
	}
	if err := ws.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	if resumeID != "" {
		w.wait(t, "RESUMED", nil)
	} else {
		w.wait(t, "READY", nil)
	}
	return w
}

// wait returns the first dispatch named typ for which match (if given)
// holds, received so far or within a minute.
func (w *watcher) wait(t *testing.T, typ string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	var found map[string]any
	st.WaitFor(t, typ, 60*time.Second, func() string {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, d := range w.ds {
			if d.t == "INVALID_SESSION" {
				t.Fatalf("INVALID_SESSION while waiting for %s", typ)
			}
			if d.t == typ && (match == nil || match(d.d)) {
				found = d.d
				return ""
			}
		}
		var types []string
		for _, d := range w.ds {
			id, _ := d.d["id"].(string)
			types = append(types, d.t+"("+id+")")
		}
		return fmt.Sprintf("dispatches %v, %v", types, w.err)
	})
	return found
}

// presenceOf matches a PRESENCE_UPDATE of user with status.
func presenceOf(user, status string) func(map[string]any) bool {
	return func(d map[string]any) bool {
		u, _ := d["user"].(map[string]any)
		return u != nil && u["id"] == user && d["status"] == status
	}
}

// TestTypingAndPresenceCrossProcesses: typing and presence, which are not
// logged, reach the sessions of another process sharing the database: a
// user's presence set through a session on one process is seen on the
// other, and offline when that session ends (told, not expired: see
// TestPresenceOfDeadProcessExpires); typing through one process is seen
// on the other.
func TestTypingAndPresenceCrossProcesses(t *testing.T) {
	// A refresh far longer than the test: nothing told here expires,
	// so an offline seen was told (one expired would pass for it).
	ss := startSharedWith(t, 2, st.Options{GatewayPresenceRefresh: time.Hour})
	alice := ss[0].Register(t, "alice", "correct horse")
	bob := ss[0].Register(t, "bob", "correct horse")
	_, channel, invite := ss[0].Guild(t, alice, "presences")
	st.OK(t, ss[0].Do(t, "POST", "/api/v10/invites/"+invite, bob, nil), 200)
	aliceID := st.OK(t, ss[0].Do(t, "GET", "/api/v10/users/@me", alice, nil), 200)["id"].(string)
	const intents = 1<<0 | 1<<8 | 1<<11 // guilds, presences, typing
	onTwo := watch(t, ss[1], bob, intents, nil, "", 0)

	a := watch(t, ss[0], alice, intents, map[string]any{"status": "dnd", "activities": []any{}, "afk": false}, "", 0)
	onTwo.wait(t, "PRESENCE_UPDATE", presenceOf(aliceID, "dnd"))

	st.Expect(t, ss[0].Do(t, "POST", "/api/v10/channels/"+channel+"/typing", alice, nil), 204, nil)
	onTwo.wait(t, "TYPING_START", func(d map[string]any) bool { return d["user_id"] == aliceID && d["channel_id"] == channel })

	a.ws.CloseNow()
	onTwo.wait(t, "PRESENCE_UPDATE", presenceOf(aliceID, "offline"))
}

// TestPresenceOfDeadProcessExpires: a presence that a process told and
// never told again (as one killed would) expires on the others.
func TestPresenceOfDeadProcessExpires(t *testing.T) {
	ss := startSharedWith(t, 2, st.Options{GatewayPresenceRefresh: 2 * time.Second})
	alice := ss[0].Register(t, "alice", "correct horse")
	bob := ss[0].Register(t, "bob", "correct horse")
	carol := ss[0].Register(t, "carol", "correct horse")
	_, _, invite := ss[0].Guild(t, alice, "presences")
	st.OK(t, ss[0].Do(t, "POST", "/api/v10/invites/"+invite, bob, nil), 200)
	st.OK(t, ss[0].Do(t, "POST", "/api/v10/invites/"+invite, carol, nil), 200)
	carolID := st.OK(t, ss[0].Do(t, "GET", "/api/v10/users/@me", carol, nil), 200)["id"].(string)
	onTwo := watch(t, ss[1], bob, 1<<0|1<<8, nil, "", 0)
	// A presence told for carol by the first process, which then
	// says no more of her: as if the process that had her session
	// were killed.
	cid, err := snowflake.Parse(carolID)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := json.Marshal([]homeserver.SharedPresence{{UserID: cid, Status: "online"}})
	ss[0].Homeserver().ShareEphemeral(storage.Event{Type: homeserver.PresenceElsewhere, Payload: p})
	onTwo.wait(t, "PRESENCE_UPDATE", presenceOf(carolID, "online"))
	onTwo.wait(t, "PRESENCE_UPDATE", presenceOf(carolID, "offline"))
}

// TestJoinReachesSessionsOnEveryProcess: a user who joins a guild through
// one process gets its GUILD_CREATE on a session of another; and a
// session that was away during a join and resumes on another process
// gets it on resuming, whether its own process had routed the join to
// it or had stopped before.
func TestJoinReachesSessionsOnEveryProcess(t *testing.T) {
	ss := startShared(t, 2)
	alice := ss[0].Register(t, "alice", "correct horse")
	bob := ss[0].Register(t, "bob", "correct horse")
	g1, _, invite1 := ss[0].Guild(t, alice, "first")
	g2, _, invite2 := ss[0].Guild(t, alice, "second")
	isGuild := func(id string) func(map[string]any) bool {
		return func(d map[string]any) bool { return d["id"] == id }
	}
	live := watch(t, ss[1], bob, 1, nil, "", 0)
	away := watch(t, ss[1], bob, 1, nil, "", 0)
	st.OK(t, ss[0].Do(t, "POST", "/api/v10/invites/"+invite1, bob, nil), 200)
	live.wait(t, "GUILD_CREATE", isGuild(g1))
	away.wait(t, "GUILD_CREATE", isGuild(g1))

	away.mu.Lock()
	seq, id := away.seq, away.id
	away.mu.Unlock()
	away.ws.CloseNow()
	st.OK(t, ss[0].Do(t, "POST", "/api/v10/invites/"+invite2, bob, nil), 200)
	live.wait(t, "GUILD_CREATE", isGuild(g2))
	back := watch(t, ss[0], bob, 1, nil, id, seq)
	back.wait(t, "GUILD_CREATE", isGuild(g2))

	// A join that no process routed to the session: its process
	// stopped first (as one killed would never route it).
	g3, _, invite3 := ss[0].Guild(t, alice, "third")
	late := watch(t, ss[1], bob, 1, nil, "", 0)
	late.wait(t, "GUILD_CREATE", isGuild(g1))
	late.wait(t, "GUILD_CREATE", isGuild(g2))
	late.mu.Lock()
	seq, id = late.seq, late.id
	late.mu.Unlock()
	ss[1].Stop()
	st.OK(t, ss[0].Do(t, "POST", "/api/v10/invites/"+invite3, bob, nil), 200)
	again := watch(t, ss[0], bob, 1, nil, id, seq)
	again.wait(t, "GUILD_CREATE", isGuild(g3))
}

// TestDMOpenedWhileAwayReachesResumedSession: DMs opened while a session
// was away, and a group DM it was added to meanwhile, reach it when it
// resumes on another process (whose logs it had no place in): the DM
// whole from its start, the group DM from the user's coming in, not its
// earlier history.
func TestDMOpenedWhileAwayReachesResumedSession(t *testing.T) {
	ss := startShared(t, 2)
	alice := ss[0].Register(t, "alice", "correct horse")
	bob := ss[0].Register(t, "bob", "correct horse")
	carol := ss[0].Register(t, "carol", "correct horse")
	id := func(tok string) string {
		return st.OK(t, ss[0].Do(t, "GET", "/api/v10/users/@me", tok, nil), 200)["id"].(string)
	}
	bobID, carolID := id(bob), id(carol)
	send := func(channel, content string) {
		st.OK(t, ss[0].Do(t, "POST", "/api/v10/channels/"+channel+"/messages", alice, map[string]any{"content": content}), 200)
	}
	group := st.OK(t, ss[0].Do(t, "POST", "/api/v10/users/@me/channels", alice, map[string]any{"recipients": []string{carolID}, "name": "planning"}), 200)["id"].(string)
	send(group, "before bob came in")

	const intents = 1<<0 | 1<<12 | 1<<15 // guilds, direct messages, message content
	away := watch(t, ss[1], bob, intents, nil, "", 0)
	away.mu.Lock()
	seq, session := away.seq, away.id
	away.mu.Unlock()
	// Its process stops: nothing routes to the session from here.
	ss[1].Stop()

	dm := st.OK(t, ss[0].Do(t, "POST", "/api/v10/users/@me/channels", alice, map[string]any{"recipient_id": bobID}), 200)["id"].(string)
	send(dm, "while bob was away")
	st.Expect(t, ss[0].Do(t, "PUT", "/api/v10/channels/"+group+"/recipients/"+bobID, alice, nil), 204, nil)
	send(group, "after bob came in")

	back := watch(t, ss[0], bob, intents, nil, session, seq)
	back.wait(t, "CHANNEL_CREATE", func(d map[string]any) bool { return d["id"] == dm })
	content := func(c string) func(map[string]any) bool {
		return func(d map[string]any) bool { return d["content"] == c }
	}
	back.wait(t, "MESSAGE_CREATE", content("while bob was away"))
	back.wait(t, "CHANNEL_CREATE", func(d map[string]any) bool { return d["id"] == group }) // the group whole, as live
	back.wait(t, "MESSAGE_CREATE", content("after bob came in"))
	// Live after the resume, and no earlier history of the group.
	send(dm, "after the resume")
	back.wait(t, "MESSAGE_CREATE", content("after the resume"))
	back.mu.Lock()
	defer back.mu.Unlock()
	seen := map[string]int{}
	for _, d := range back.ds {
		if d.t == "MESSAGE_CREATE" {
			c, _ := d.d["content"].(string)
			seen[c]++
		}
	}
	want := map[string]int{"while bob was away": 1, "after bob came in": 1, "after the resume": 1}
	if !maps.Equal(seen, want) {
		t.Fatalf("messages on the resumed session: %v, want %v", seen, want)
	}
}

// BenchmarkDeadProcessExpiry measures what a process that dies with many
// users costs routing on a survivor: the first process tells presences
// for `users` people and then never again, as a killed process would;
// when the survivor expires them (each a read of the user's guilds and
// friends), messages sent through it every 10 ms keep being delivered to a
// session on it. Reported: the p50, p99 and max of their delivery times
// over the window in which the expiry falls, in milliseconds.
func BenchmarkDeadProcessExpiry(b *testing.B) {
	const users = 10000
	ss := startSharedWith(b, 2, st.Options{GatewayPresenceRefresh: 500 * time.Millisecond})
	alice := ss[0].Register(b, "alice", "correct horse")
	bob := ss[0].Register(b, "bob", "correct horse")
	_, general, invite := ss[0].Guild(b, alice, "expiry")
	st.OK(b, ss[0].Do(b, "POST", "/api/v10/invites/"+invite, bob, nil), 200)
	watcher := openGateway(b, ss[1], bob)
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		gone := make([]homeserver.SharedPresence, users)
		for j := range gone {
			gone[j] = homeserver.SharedPresence{UserID: snowflake.ID(1<<50 + i*users + j), Status: "online"}
		}
		// In notifications of 80, as a process shares them (each under
		// PostgreSQL's 8,000-byte NOTIFY payload).
		var evs []storage.Event
		for part := range slices.Chunk(gone, 80) {
			p, _ := json.Marshal(part)
			evs = append(evs, storage.Event{Type: homeserver.PresenceElsewhere, Payload: p})
		}
		ss[0].Homeserver().ShareEphemeral(evs...)
		// The presences expire 1.25 s (2.5 refreshes) after they were
		// told, at the survivor's next refresh: 6 s covers it and the
		// expiry of them all.
		for end := time.Now().Add(6 * time.Second); time.Now().Before(end); {
			start := time.Now()
			m := st.OK(b, ss[1].Do(b, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": "tick"}), 200)
			took = append(took, watcher.await(b, m["id"].(string)).Sub(start))
			time.Sleep(10 * time.Millisecond)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
	b.ReportMetric(ms(took[len(took)-1]), "max-ms")
}
