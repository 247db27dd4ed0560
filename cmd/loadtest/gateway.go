package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// gatewayLoad opens c.sessions gateway sessions (spread over c.users
// accounts, all in one guild, and over the URLs), reports the server's memory per session,
// then sends c.n messages at c.rate per second from c.concurrency senders
// and measures, on every session, the time from the send request to the
// MESSAGE_CREATE dispatch.
func gatewayLoad(ctx context.Context, c config, out io.Writer) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	const pw = "loadtest password"
	users := max(1, c.users)
	tokens := make([]string, users)
	for i := range tokens {
		var res struct {
			Token string `json:"token"`
		}
		if err := postJSON(ctx, client, c.url+"/api/v10/auth/register", map[string]string{"username": fmt.Sprintf("%s_g%d", c.prefix, i), "password": pw}, 201, &res); err != nil {
			return fmt.Errorf("register: %w", err)
		}
		tokens[i] = res.Token
	}
	channel, err := fillGuild(ctx, client, c.url, "gateway load", tokens)
	if err != nil {
		return err
	}

	rss0 := c.serverPIDs.rss()
	wsURL := func(i int) string { return "ws" + strings.TrimPrefix(c.at(i), "http") + "/gateway?v=10&encoding=json" }
	var (
		wg        sync.WaitGroup
		ready     atomic.Int64
		delivered atomic.Int64
		mu        sync.Mutex
		lats      []time.Duration
	)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	sem := make(chan struct{}, 64) // connections being opened at once
	for i := 0; i < c.sessions; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := session(sctx, wsURL(i), tokens[i%users], func() { ready.Add(1); <-sem }, func(sent int64) {
				d := time.Duration(time.Now().UnixNano() - sent)
				delivered.Add(1)
				mu.Lock()
				lats = append(lats, d)
				mu.Unlock()
			})
			if err != nil && sctx.Err() == nil && ready.Load() < int64(c.sessions) {
				fmt.Fprintf(os.Stderr, "session %d: %v\n", i, err)
			}
		}()
	}
	for ready.Load() < int64(c.sessions) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // let the server settle before reading memory
	rss1 := c.serverPIDs.rss()
	fmt.Fprintf(out, "sessions   %d ready in %s; server RSS %.1f MiB -> %.1f MiB: %.1f KiB per session\n",
		c.sessions, time.Since(start).Round(time.Millisecond), float64(rss0)/(1<<20), float64(rss1)/(1<<20),
		float64(rss1-rss0)/1024/float64(c.sessions))
	if c.n == 0 {
		return nil
	}

	cpu0, srv0 := selfCPU(), c.serverPIDs.cpu()
	interval := time.Second / time.Duration(max(1, c.rate))
	sendStart := time.Now()
	var sent atomic.Int64
	var swg sync.WaitGroup
	ticker := time.NewTicker(interval)
	for i := 0; i < c.n; i++ {
		<-ticker.C
		swg.Add(1)
		go func() {
			defer swg.Done()
			body := map[string]string{"content": "lt " + strconv.FormatInt(time.Now().UnixNano(), 10)}
			if err := authJSON(ctx, client, "POST", c.at(i)+"/api/v10/channels/"+channel+"/messages", tokens[i%users], body, 200, nil); err != nil {
				fmt.Fprintf(os.Stderr, "send: %v\n", err)
				return
			}
			sent.Add(1)
		}()
	}
	ticker.Stop()
	swg.Wait()
	want := sent.Load() * int64(c.sessions)
	deadline := time.Now().Add(30 * time.Second)
	for delivered.Load() < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(sendStart)
	clientCPU, serverCPU := selfCPU()-cpu0, c.serverPIDs.cpu()-srv0
	stop()
	wg.Wait()
	mu.Lock()
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	p := func(q float64) time.Duration {
		if len(lats) == 0 {
			return 0
		}
		return lats[min(len(lats)-1, int(q*float64(len(lats))))].Round(100 * time.Microsecond)
	}
	fmt.Fprintf(out, "deliveries %d of %d in %s: %.0f/s; send->dispatch p50=%s p90=%s p99=%s max=%s; client_cpu=%.0f%% server_cpu=%.0f%% (of one core)\n",
		delivered.Load(), want, elapsed.Round(time.Millisecond), float64(delivered.Load())/elapsed.Seconds(),
		p(.5), p(.9), p(.99), p(1), 100*clientCPU.Seconds()/elapsed.Seconds(), 100*serverCPU.Seconds()/elapsed.Seconds())
	mu.Unlock()
	if delivered.Load() < want {
		return errors.New("some deliveries never arrived")
	}
	return nil
}

// session runs one gateway client: identify, heartbeat, and report each
// loadtest message's send time. It parses only what it needs, so that the
// client's CPU goes to reading frames, not decoding JSON.
func session(ctx context.Context, url, token string, ready func(), got func(sent int64)) error {
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	ws, _, err := websocket.Dial(dctx, url, nil)
	cancel()
	if err != nil {
		ready()
		return err
	}
	defer ws.CloseNow()
	ws.SetReadLimit(16 << 20)
	if _, _, err := ws.Read(ctx); err != nil { // HELLO
		ready()
		return err
	}
	ident := `{"op":2,"d":{"token":"` + token + `","intents":513,"properties":{"os":"linux","browser":"loadtest","device":"loadtest"}}}`
	if err := ws.Write(ctx, websocket.MessageText, []byte(ident)); err != nil {
		ready()
		return err
	}
	hb := time.NewTicker(40 * time.Second)
	defer hb.Stop()
	go func() { // owned by session: ends with ctx or the connection
		for {
			select {
			case <-ctx.Done():
				return
			case <-hb.C:
				if ws.Write(ctx, websocket.MessageText, []byte(`{"op":1,"d":null}`)) != nil {
					return
				}
			}
		}
	}()
	isReady := false
	marker := []byte(`"content":"lt `)
	for {
		_, msg, err := ws.Read(ctx)
		if err != nil {
			if !isReady {
				ready()
			}
			return err
		}
		if !isReady && bytes.Contains(msg, []byte(`"t":"GUILD_CREATE"`)) {
			isReady = true
			ready()
			continue
		}
		if i := bytes.Index(msg, marker); i >= 0 && bytes.Contains(msg[:min(len(msg), 64)], []byte(`MESSAGE_CREATE`)) {
			rest := msg[i+len(marker):]
			if j := bytes.IndexByte(rest, '"'); j > 0 {
				if ns, err := strconv.ParseInt(string(rest[:j]), 10, 64); err == nil {
					got(ns)
				}
			}
		}
	}
}

// procRSS reads a process's resident memory from /proc.
func procRSS(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
