package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	st "hearth/server/servertest"
	"hearth/snowflake"
	"hearth/storage/storagetest"
)

// freeAddr is a loopback address no one listens on (at the moment asked).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// balancer is the load balancer in front of several processes of one
// homeserver: it forwards each request to the next process not marked
// down, as an operator's would after a failed health check.
type balancer struct {
	mu    sync.Mutex
	next  int
	up    []*url.URL
	alive map[string]bool
}

func (b *balancer) pick() *url.URL {
	b.mu.Lock()
	defer b.mu.Unlock()
	for range b.up {
		u := b.up[b.next%len(b.up)]
		b.next++
		if b.alive[u.Host] {
			return u
		}
	}
	return b.up[0]
}

func (b *balancer) down(host string) {
	b.mu.Lock()
	b.alive[host] = false
	b.mu.Unlock()
}

func startBalancer(t *testing.T, addr string, backends []string) *balancer {
	t.Helper()
	b := &balancer{alive: map[string]bool{}}
	for _, a := range backends {
		b.up = append(b.up, &url.URL{Scheme: "http", Host: a})
		b.alive[a] = true
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(b.pick())
		r.Out.Host = r.In.Host // the homeserver checks signatures over its own name
	}}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // owned by the test: closed at cleanup
	t.Cleanup(func() { _ = srv.Close() })
	return b
}

// gatewaySession is a client's gateway connection, read by a goroutine of
// its own into dispatches.
type gatewaySession struct {
	ws         *websocket.Conn
	dispatches chan gatewayDispatch
}

type gatewayDispatch struct {
	t  string
	d  map[string]any
	at time.Time
}

func openSession(t *testing.T, base, tok string) *gatewaySession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/gateway?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(64 << 20)
	s := &gatewaySession{ws: ws, dispatches: make(chan gatewayDispatch, 1024)}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { // owned by the test: ends when the connection closes at cleanup
		defer close(done)
		defer close(s.dispatches)
		for {
			_, msg, err := ws.Read(rctx)
			if err != nil {
				return
			}
			var p struct {
				Op int            `json:"op"`
				T  string         `json:"t"`
				D  map[string]any `json:"d"`
			}
			if json.Unmarshal(msg, &p) == nil && p.Op == 0 {
				s.dispatches <- gatewayDispatch{p.T, p.D, time.Now()}
			}
		}
	}()
	t.Cleanup(func() { stop(); ws.CloseNow(); <-done })
	id, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": tok, "intents": 1<<0 | 1<<9,
		"properties": map[string]string{"os": "linux", "browser": "test", "device": "test"}}})
	if err := ws.Write(ctx, websocket.MessageText, id); err != nil {
		t.Fatal(err)
	}
	s.until(t, "READY", nil)
	return s
}

// until returns the first dispatch named typ for which match (if given)
// holds.
func (s *gatewaySession) until(t *testing.T, typ string, match func(map[string]any) bool) gatewayDispatch {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case d, ok := <-s.dispatches:
			if !ok {
				t.Fatalf("gateway closed while waiting for %s", typ)
			}
			if d.t == typ && (match == nil || match(d.d)) {
				return d
			}
		case <-timeout:
			t.Fatalf("no %s within 60 s", typ)
		}
	}
}

// TestProcessesShareOnePostgres runs three homeserver processes of one
// homeserver on one PostgreSQL database behind a load balancer: what is
// sent through one reaches a gateway session on another; a permission
// taken away through one is enforced by another as soon as it has
// delivered the change; their snowflake nodes differ; one process at a
// time delivers to a federation peer, and when it is killed (SIGKILL)
// another takes over, and the peer has every message once, in order.
func TestProcessesShareOnePostgres(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		// The refusal itself: TestSecondProcessOnOneSQLiteDataDirRefused.
		t.Skip("several processes need PostgreSQL: with SQLite a second process on the data dir refuses to start (TestSecondProcessOnOneSQLiteDataDirRefused)")
	})
	t.Run("postgres", testProcessesShareOnePostgres)
}

func testProcessesShareOnePostgres(t *testing.T) {
	db := storagetest.PostgresURL(t)
	dir := t.TempDir() // shared: keys and files are the homeserver's, not a process's
	lbAddr := freeAddr(t)
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	lb := startBalancer(t, lbAddr, addrs)
	procs := make([]*proc, 3)
	base := make([]string, 3)
	for i, a := range addrs {
		procs[i] = startProcess(t, nil, "--listen", a, "--data", dir, "--database", db,
			"--server-name", lbAddr, "--public-url", "http://"+lbAddr, "--insecure-federation", "--rate-limit=false")
		base[i] = "http://" + a
	}
	register := func(p int, name string) (tok string, id snowflake.ID) {
		tok = mustCall(t, "POST", base[p]+"/api/v10/auth/register", "", map[string]any{"username": name, "password": "correct horse"}, 201)["token"].(string)
		me := mustCall(t, "GET", base[p]+"/api/v10/users/@me", tok, nil, 200)
		id, err := snowflake.Parse(me["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return tok, id
	}
	alice, aliceID := register(0, "alice")
	bob, bobID := register(1, "bob")
	_, carolID := register(2, "carol")

	// Node IDs: each process has its own, leased from the database.
	nodes := []uint16{aliceID.Node(), bobID.Node(), carolID.Node()}
	if nodes[0] == nodes[1] || nodes[1] == nodes[2] || nodes[0] == nodes[2] {
		t.Fatalf("processes share a snowflake node: %v", nodes)
	}
	pg, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var leased int
	if err := pg.QueryRow(`SELECT count(DISTINCT node) FROM node_leases WHERE expires_at > $1`, time.Now().UnixMilli()).Scan(&leased); err != nil || leased != 3 {
		t.Fatalf("%d live node leases, want 3 (%v)", leased, err)
	}

	g := mustCall(t, "POST", base[0]+"/api/v10/guilds", alice, map[string]any{"name": "Shared"}, 201)
	guild := g["id"].(string)
	var chans []map[string]any
	status, raw, _ := call(t, "GET", base[0]+"/api/v10/guilds/"+guild+"/channels", alice, nil)
	if status != 200 || json.Unmarshal(raw, &chans) != nil {
		t.Fatalf("channels: %d %s", status, raw)
	}
	var general string
	for _, c := range chans {
		if c["type"] == float64(0) {
			general = c["id"].(string)
		}
	}
	code := mustCall(t, "POST", base[0]+"/api/v10/channels/"+general+"/invites", alice, map[string]any{}, 200)["code"].(string)
	mustCall(t, "POST", base[1]+"/api/v10/invites/"+code, bob, nil, 200)

	// A session on process 2 gets what is sent through process 1.
	sess := openSession(t, base[1], bob)
	sent := time.Now()
	msg := mustCall(t, "POST", base[0]+"/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": "across processes"}, 200)
	got := sess.until(t, "MESSAGE_CREATE", func(d map[string]any) bool { return d["id"] == msg["id"] })
	t.Logf("MESSAGE_CREATE through process 1 reached a session on process 2 %s after the send began", got.at.Sub(sent).Round(time.Millisecond))

	// A permission taken away through process 1 holds on process 2 as
	// soon as process 2 has delivered its event. Bob's send through
	// process 2 first fills its cache with the channel as it was.
	mustCall(t, "POST", base[1]+"/api/v10/channels/"+general+"/messages", bob, map[string]any{"content": "before"}, 200)
	if status, b, err := call(t, "PUT", base[0]+"/api/v10/channels/"+general+"/permissions/"+bobID.String(), alice,
		map[string]any{"type": 1, "allow": "0", "deny": strconv.Itoa(1 << 11)}); err != nil || status != 204 {
		t.Fatalf("deny bob SEND_MESSAGES: %d %s %v", status, b, err)
	}
	sess.until(t, "CHANNEL_UPDATE", func(d map[string]any) bool { return d["id"] == general })
	if status, b, _ := call(t, "POST", base[1]+"/api/v10/channels/"+general+"/messages", bob, map[string]any{"content": "after"}); status != 403 {
		t.Fatalf("bob's send through process 2 after the deny was delivered there: %d %s, want 403", status, b)
	}

	// Federation: a peer's user joins through the balancer; one process
	// holds the peer's lease and delivers.
	peer := st.Start(t, st.Options{})
	dave := peer.Register(t, "dave", "correct horse")
	inv := mustCall(t, "POST", peer.URL()+"/api/v10/invites/"+code+"@"+lbAddr, dave, nil, 200)
	peerGuild := inv["guild"].(map[string]any)["id"].(string)
	status, raw, _ = call(t, "GET", peer.URL()+"/api/v10/guilds/"+peerGuild+"/channels", dave, nil)
	if status != 200 || json.Unmarshal(raw, &chans) != nil {
		t.Fatalf("channels on the peer: %d %s", status, raw)
	}
	var peerGeneral string
	for _, c := range chans {
		if c["type"] == float64(0) {
			peerGeneral = c["id"].(string)
		}
	}
	var sentContents []string
	send := func(p int, content string) {
		mustCall(t, "POST", base[p]+"/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": content}, 200)
		sentContents = append(sentContents, content)
	}
	peerHas := func(want []string) func() string {
		return func() string {
			have, err := contents(t, peer.URL(), dave, peerGeneral)
			if err != nil {
				return err.Error()
			}
			if !slices.Contains(have, want[len(want)-1]) {
				return fmt.Sprintf("the peer has %d messages, not yet %q", len(have), want[len(want)-1])
			}
			return ""
		}
	}
	for i := range 5 {
		send(i%3, fmt.Sprintf("fed %d", i))
	}
	st.WaitFor(t, "the peer receives the messages", 60*time.Second, peerHas(sentContents))
	leaseName := "federation/" + peer.ServerName()
	holderPID := func() (int, string) {
		var holder string
		if err := pg.QueryRow(`SELECT holder FROM leases WHERE name = $1`, leaseName).Scan(&holder); err != nil {
			return 0, err.Error()
		}
		parts := strings.Split(holder, "/")
		if len(parts) != 3 {
			return 0, "holder " + holder + " is not host/pid/random"
		}
		pid, _ := strconv.Atoi(parts[1])
		return pid, ""
	}
	pid, why := holderPID()
	if why != "" {
		t.Fatalf("the peer's lease: %s", why)
	}
	dead := -1
	for i, p := range procs {
		if p.cmd.Process.Pid == pid {
			dead = i
		}
	}
	if dead < 0 {
		t.Fatalf("the peer's lease is held by PID %d, none of the processes", pid)
	}

	// The holder dies without a word; the others carry on.
	if err := procs[dead].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	procs[dead].wait(t)
	lb.down(addrs[dead])
	killed := time.Now()
	for i := range 5 {
		send((dead+1+i%2)%3, fmt.Sprintf("after kill %d", i))
	}
	st.WaitFor(t, "another process takes the peer over", 60*time.Second, peerHas(sentContents))
	t.Logf("the peer had every message %s after its sender was killed", time.Since(killed).Round(time.Millisecond))
	pid2, why := holderPID()
	if why != "" || pid2 == pid {
		t.Fatalf("after the kill the lease is held by PID %d (%s), the dead one was %d", pid2, why, pid)
	}
	// The new holder counts the take-over and shows the lease held.
	for i, p := range procs {
		if p.cmd.Process.Pid != pid2 {
			continue
		}
		status, body, err := call(t, "GET", base[i]+"/metrics", "", nil)
		if err != nil || status != 200 {
			t.Fatalf("metrics of process %d: %d %v", i+1, status, err)
		}
		for _, want := range []string{`hearth_lease_takeovers_total{kind="federation"} `, `hearth_lease_held{kind="federation"} `} {
			found := false
			for _, line := range strings.Split(string(body), "\n") {
				if v, ok := strings.CutPrefix(line, want); ok && v != "0" {
					found = true
				}
			}
			if !found {
				t.Fatalf("process %d, the new holder, has no %s above 0", i+1, want)
			}
		}
	}
	// Once, in order, as the origin has them.
	var onPeer []string
	st.WaitFor(t, "the peer's history matches", 30*time.Second, func() string {
		have, err := contents(t, peer.URL(), dave, peerGeneral)
		if err != nil {
			return err.Error()
		}
		origin, err := contents(t, base[(dead+1)%3], alice, general)
		if err != nil {
			return err.Error()
		}
		if strings.Join(have, "\n") != strings.Join(origin, "\n") {
			return fmt.Sprintf("peer has %q, origin %q", have, origin)
		}
		onPeer = have
		return ""
	})
	var fed []string
	for _, c := range onPeer {
		if strings.HasPrefix(c, "fed ") || strings.HasPrefix(c, "after kill ") {
			fed = append(fed, c)
		}
	}
	if strings.Join(fed, ",") != strings.Join(sentContents, ",") {
		t.Fatalf("the peer has %q, sent in order were %q", fed, sentContents)
	}
	for i, p := range procs {
		if i == dead {
			continue
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.wait(t); code != 0 {
			t.Fatalf("process %d exit code %d\n%s", i+1, code, p.output)
		}
	}
}

// TestProcessStopsWhenItsNodeIsTaken: a process that finds its snowflake
// node leased to another (its lease ran out while it could not renew it)
// stops, saying why, rather than make IDs the other makes too.
func TestProcessStopsWhenItsNodeIsTaken(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Skip("with SQLite one process serves the data dir and takes its node from its PID: no lease to lose")
	})
	t.Run("postgres", func(t *testing.T) {
		db := storagetest.PostgresURL(t)
		p := startProcess(t, nil, "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--database", db)
		pg, err := sql.Open("pgx", db)
		if err != nil {
			t.Fatal(err)
		}
		defer pg.Close()
		res, err := pg.Exec(`UPDATE node_leases SET holder = 'another/1/process'`)
		if n, _ := res.RowsAffected(); err != nil || n != 1 {
			t.Fatalf("hand the node to another: %d rows, %v", n, err)
		}
		if code := p.wait(t); code == 0 {
			t.Fatalf("the process exited with 0 after losing its node\n%s", p.output)
		}
		if !strings.Contains(p.output.String(), "was taken by another process") {
			t.Fatalf("the process did not say why it stopped:\n%s", p.output)
		}
	})
}
