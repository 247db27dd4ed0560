package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	st "hearth/server/servertest"
	"hearth/storage/storagetest"
)

// TestPostgresCrashDuringSendBurst: PostgreSQL dies (an immediate stop,
// as a crash) while a client sends messages one after another. While it
// is down, sends answer 503 with a Discord JSON error and never anything
// else, and /readyz says the database is unreachable; once it is back the
// server reconnects by itself, every send that was acknowledged is in the
// channel's history, and the gateway session delivers every one of them.
func TestPostgresCrashDuringSendBurst(t *testing.T) {
	pg := storagetest.StartPrivatePostgres(t)
	s := st.Start(t, st.Options{Backend: st.Postgres, Database: pg.URL()})
	owner := s.Register(t, "owner", "correct horse")
	_, general := newGuild(t, s, owner, "Faults")
	hc := &http.Client{Timeout: 60 * time.Second}

	col := &collector{seen: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	burstCtx, stopBurst := context.WithCancel(ctx)
	var sending sync.WaitGroup
	c := dial(t, s, "")
	ready := identify(c, owner, allIntents)
	var r struct {
		SessionID string `json:"session_id"`
	}
	json.Unmarshal(ready.D, &r)
	wg.Go(func() { col.follow(ctx, c, "ws"+strings.TrimPrefix(s.URL(), "http")+"/gateway", owner, r.SessionID) })

	// The burst: one send after another, each answer recorded.
	b := &burst{}
	sending.Go(func() {
		for i := 0; burstCtx.Err() == nil; i++ {
			b.send(burstCtx, hc, s.URL()+"/api/v10/channels/"+general+"/messages", owner, fmt.Sprint("burst ", i))
		}
	})
	readyz := func() (int, string) {
		res, err := hc.Get(s.URL() + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}

	st.WaitFor(t, "sends before the crash", 60*time.Second, func() string { return b.need(20, 200) })
	crashed := time.Now()
	pg.Crash(t)
	before := b.count(200)
	st.WaitFor(t, "/readyz while PostgreSQL is down", 60*time.Second, func() string {
		if code, body := readyz(); code != 503 || !strings.Contains(body, "database unreachable") {
			return fmt.Sprintf("%d %s", code, body)
		}
		return ""
	})
	st.WaitFor(t, "sends answering 503 while PostgreSQL is down", 60*time.Second, func() string { return b.need(3, 503) })
	if b.count(200) > before+1 { // one commit may have been answered as the server died
		t.Errorf("%d sends acknowledged with PostgreSQL down", b.count(200)-before)
	}
	down := time.Since(crashed)
	pg.Start(t)
	restarted := time.Now()
	st.WaitFor(t, "/readyz once PostgreSQL is back", 120*time.Second, func() string {
		if code, body := readyz(); code != 200 {
			return fmt.Sprintf("%d %s", code, body)
		}
		return ""
	})
	readyAgain := time.Since(restarted)
	after := b.count(200)
	st.WaitFor(t, "sends once PostgreSQL is back", 120*time.Second, func() string { return b.need(after+20, 200) })
	stopBurst()
	sending.Wait()

	if bad := b.others(); len(bad) > 0 {
		t.Errorf("answers other than 200 and a 503 JSON error: %v", bad)
	}
	acked := b.acked()
	history := map[string]bool{}
	path := "/api/v10/channels/" + general + "/messages?limit=100"
	for {
		page := listOf(t, s, path, owner)
		for _, m := range page {
			history[m["id"].(string)] = true
		}
		if len(page) < 100 {
			break
		}
		path = "/api/v10/channels/" + general + "/messages?limit=100&before=" + page[len(page)-1]["id"].(string)
	}
	for _, id := range acked {
		if !history[id] {
			t.Errorf("acknowledged message %s is not in the channel's history", id)
		}
	}
	st.WaitFor(t, "the gateway delivering every acknowledged message", 120*time.Second, func() string {
		missing := col.missing(acked)
		if len(missing) > 0 {
			return fmt.Sprintf("%d of %d not delivered (first %s); resumes %d, last error %v", len(missing), len(acked), missing[0], col.resumes(), col.lastErr())
		}
		return ""
	})
	t.Logf("%d sends acknowledged, %d answered 503; down %s; ready %s after PostgreSQL was; the gateway resumed %d times",
		len(acked), b.count(503), down.Round(time.Millisecond), readyAgain.Round(time.Millisecond), col.resumes())
}

// burst records the answers to a stream of sends.
type burst struct {
	mu     sync.Mutex
	status map[int]int
	ids    []string
	bad    []string
}

func (b *burst) send(ctx context.Context, hc *http.Client, url, token, content string) {
	body, _ := json.Marshal(map[string]string{"content": content})
	req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", token)
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			b.record(0, "", "transport: "+err.Error())
		}
		return
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m struct {
		ID      string  `json:"id"`
		Code    *int    `json:"code"`
		Message *string `json:"message"`
	}
	err = json.Unmarshal(raw, &m)
	switch {
	case res.StatusCode == 200 && err == nil && m.ID != "":
		b.record(200, m.ID, "")
	case res.StatusCode == 503 && err == nil && m.Code != nil && m.Message != nil:
		b.record(503, "", "")
	default:
		b.record(res.StatusCode, "", fmt.Sprintf("%d %.200s", res.StatusCode, raw))
	}
}

func (b *burst) record(status int, id, bad string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.status == nil {
		b.status = map[int]int{}
	}
	if bad != "" {
		b.bad = append(b.bad, bad)
		return
	}
	b.status[status]++
	if id != "" {
		b.ids = append(b.ids, id)
	}
}

func (b *burst) count(status int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status[status]
}

func (b *burst) need(n, status int) string {
	if got := b.count(status); got < n {
		return fmt.Sprintf("%d answers %d so far, want %d (others: %v)", got, status, n, b.others())
	}
	return ""
}

func (b *burst) acked() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.ids...)
}

func (b *burst) others() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.bad...)
}

// collector follows a gateway session, resuming it whenever its
// connection ends, and records the messages it delivers.
type collector struct {
	mu      sync.Mutex
	current *client // closed when the test is done with it
	seen    map[string]bool
	resumed int
	err     error
}

func (col *collector) follow(ctx context.Context, c *client, url, token, session string) {
	col.mu.Lock()
	col.current = c
	col.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		col.mu.Lock()
		defer col.mu.Unlock()
		col.current.ws.CloseNow()
	})
	defer stop()
	defer func() { c.ws.CloseNow() }() // the latest connection, should one open as ctx ends
	for ctx.Err() == nil {
		p, err := c.read(time.Minute)
		if err == nil {
			if p.Op == 0 && p.T == "MESSAGE_CREATE" {
				var m struct {
					ID string `json:"id"`
				}
				json.Unmarshal(p.D, &m)
				col.mu.Lock()
				col.seen[m.ID] = true
				col.mu.Unlock()
			}
			if p.Op == 1 { // the server asks for a heartbeat
				b, _ := json.Marshal(map[string]any{"op": 1, "d": c.seq})
				_ = c.ws.Write(ctx, websocket.MessageText, b)
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		col.mu.Lock()
		col.err = err
		col.mu.Unlock()
		c.ws.CloseNow()
		// RESUME on a new connection from the last sequence seen.
		next, err := resume(ctx, c, url, token, session)
		if err != nil {
			col.mu.Lock()
			col.err = err
			col.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond): // a client's reconnect backoff
			}
			continue
		}
		col.mu.Lock()
		col.resumed++
		col.current = next
		col.mu.Unlock()
		c = next
	}
}

func resume(ctx context.Context, old *client, url, token, session string) (*client, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, url, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(64 << 20)
	c := &client{t: old.t, ws: ws, zbuf: &bytes.Buffer{}, seq: old.seq}
	if _, err := c.read(30 * time.Second); err != nil { // HELLO
		ws.CloseNow()
		return nil, err
	}
	b, _ := json.Marshal(map[string]any{"op": 6, "d": map[string]any{"token": token, "session_id": session, "seq": old.seq}})
	if err := ws.Write(dctx, websocket.MessageText, b); err != nil {
		ws.CloseNow()
		return nil, err
	}
	return c, nil
}

func (col *collector) missing(ids []string) []string {
	col.mu.Lock()
	defer col.mu.Unlock()
	var out []string
	for _, id := range ids {
		if !col.seen[id] {
			out = append(out, id)
		}
	}
	return out
}

func (col *collector) resumes() int {
	col.mu.Lock()
	defer col.mu.Unlock()
	return col.resumed
}

func (col *collector) lastErr() error {
	col.mu.Lock()
	defer col.mu.Unlock()
	return col.err
}
