package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	st "hearth/server/servertest"
)

// call sends a JSON request to a homeserver and decodes the answer.
func call(t *testing.T, method, url, tok string, body any) (int, json.RawMessage, error) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func mustCall(t *testing.T, method, url, tok string, body any, want int) map[string]any {
	t.Helper()
	status, b, err := call(t, method, url, tok, body)
	if err != nil || status != want {
		t.Fatalf("%s %s: %d %s %v", method, url, status, b, err)
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// contents reads a channel's whole history, oldest first.
func contents(t *testing.T, base, tok, channel string) ([]string, error) {
	var out []string
	before := ""
	for {
		url := base + "/api/v10/channels/" + channel + "/messages?limit=100"
		if before != "" {
			url += "&before=" + before
		}
		status, b, err := call(t, "GET", url, tok, nil)
		if err != nil || status != 200 {
			return nil, fmt.Errorf("history: %d %s %v", status, b, err)
		}
		var page []map[string]any
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, err
		}
		for _, m := range page {
			out = append([]string{m["content"].(string)}, out...)
		}
		if len(page) < 100 {
			return out, nil
		}
		before = page[len(page)-1]["id"].(string)
	}
}

// TestFederationSurvivesOriginKill: the origin process is killed (SIGKILL)
// in the middle of a burst of messages from its own users and from a
// member homeserver's, then restarted. Every message a client saw
// acknowledged is on both servers afterwards, in the same order.
func TestFederationSurvivesOriginKill(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := filepath.Join(t.TempDir(), "a")
	args := []string{"--listen", addr, "--data", dir, "--insecure-federation"}
	origin := startProcess(t, nil, args...)
	b := st.Start(t, st.Options{})

	annTok := mustCall(t, "POST", origin.url+"/api/v10/auth/register", "", map[string]any{"username": "ann", "password": "correct horse"}, 201)["token"].(string)
	g := mustCall(t, "POST", origin.url+"/api/v10/guilds", annTok, map[string]any{"name": "Sturdy"}, 201)
	var general string
	status, raw, _ := call(t, "GET", origin.url+"/api/v10/guilds/"+g["id"].(string)+"/channels", annTok, nil)
	var chans []map[string]any
	if status != 200 || json.Unmarshal(raw, &chans) != nil {
		t.Fatalf("channels: %d %s", status, raw)
	}
	for _, c := range chans {
		if c["type"] == float64(0) {
			general = c["id"].(string)
		}
	}
	code := mustCall(t, "POST", origin.url+"/api/v10/channels/"+general+"/invites", annTok, map[string]any{}, 200)["code"].(string)
	bobTok := b.Register(t, "bob", "correct horse")
	inv := mustCall(t, "POST", b.URL()+"/api/v10/invites/"+code+"@"+addr, bobTok, nil, 200)
	bGuild := inv["guild"].(map[string]any)["id"].(string)
	var bGeneral string
	status, raw, _ = call(t, "GET", b.URL()+"/api/v10/guilds/"+bGuild+"/channels", bobTok, nil)
	if status != 200 || json.Unmarshal(raw, &chans) != nil {
		t.Fatalf("channels on B: %d %s", status, raw)
	}
	for _, c := range chans {
		if c["type"] == float64(0) {
			bGeneral = c["id"].(string)
		}
	}

	// Two senders, one per homeserver, each keeping what was acknowledged
	// and counting what was not.
	var mu sync.Mutex
	acked := map[string]bool{}
	refused := map[byte]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	burst := func(base, tok, channel, prefix string) {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			content := fmt.Sprintf("%s%d", prefix, i)
			status, _, err := call(t, "POST", base+"/api/v10/channels/"+channel+"/messages", tok, map[string]any{"content": content})
			mu.Lock()
			if err == nil && status == 200 {
				acked[content] = true
			} else {
				refused[prefix[0]]++
			}
			mu.Unlock()
		}
	}
	// counts reads, for each sender, the acknowledged messages and the
	// refused attempts so far.
	counts := func() (ackedA, ackedB, refusedA, refusedB int) {
		mu.Lock()
		defer mu.Unlock()
		for c := range acked {
			if c[0] == 'a' {
				ackedA++
			} else {
				ackedB++
			}
		}
		return ackedA, ackedB, refused['a'], refused['b']
	}
	wg.Add(2)
	go burst(origin.url, annTok, general, "a")
	go burst(b.URL(), bobTok, bGeneral, "b")
	// The kill comes in the middle of the burst: once both servers'
	// users have had messages acknowledged.
	st.WaitFor(t, "messages acknowledged from both servers", 30*time.Second, func() string {
		if a, b, _, _ := counts(); a < 20 || b < 5 {
			return fmt.Sprintf("%d from A and %d from B acknowledged", a, b)
		}
		return ""
	})
	if err := origin.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	origin.wait(t)
	// The burst goes on against the dead origin until each sender has
	// been refused there at least once.
	_, _, refusedA, refusedB := counts()
	st.WaitFor(t, "both senders refused while the origin is down", 30*time.Second, func() string {
		if _, _, a, b := counts(); a <= refusedA || b <= refusedB {
			return fmt.Sprintf("refused since the kill: %d to A's user, %d to B's", a-refusedA, b-refusedB)
		}
		return ""
	})
	close(stop)
	wg.Wait()

	origin = startProcess(t, nil, args...)
	// The member server's users and the origin's agree on everything the
	// origin committed, and that includes everything acknowledged.
	var onA, onB []string
	st.WaitFor(t, "both servers agree after the restart", 60*time.Second, func() string {
		var errA, errB error
		onA, errA = contents(t, origin.url, annTok, general)
		onB, errB = contents(t, b.URL(), bobTok, bGeneral)
		if errA != nil || errB != nil || strings.Join(onA, ",") != strings.Join(onB, ",") {
			return fmt.Sprintf("A has %d (%v), B has %d (%v)", len(onA), errA, len(onB), errB)
		}
		return ""
	})
	have := map[string]bool{}
	for _, c := range onA {
		if have[c] {
			t.Fatalf("%q twice", c)
		}
		have[c] = true
	}
	mu.Lock()
	for c := range acked {
		if !have[c] {
			t.Fatalf("acknowledged %q is missing", c)
		}
	}
	mu.Unlock()
	fromA, fromB, _, _ := counts()
	t.Logf("%d messages on both servers; %d acknowledged from A's user and %d from B's", len(onA), fromA, fromB)
}
