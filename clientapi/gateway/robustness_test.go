package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	st "hearth/server/servertest"
)

// TestConnectionStormLeaksNothing: 1,000 connections opened and
// dropped at once, some mid-handshake, some identified; afterwards the
// server still serves, and its goroutines are back where they were.
func TestConnectionStormLeaksNothing(t *testing.T) {
	s := st.Start(t, st.Options{})
	tok := s.Register(t, "alice", "correct horse")
	warm := dial(t, s, "")
	identify(warm, tok, 1)
	warm.ws.CloseNow()
	time.Sleep(200 * time.Millisecond)
	before := runtime.NumGoroutine()

	const n = 1000
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/gateway", nil)
			if err != nil {
				return
			}
			if i%2 == 0 {
				ws.Read(ctx) // HELLO
				ws.Write(ctx, websocket.MessageText, []byte(`{"op":2,"d":{"token":"`+tok+`","intents":1}}`))
				ws.Read(ctx) // READY
			}
			ws.CloseNow()
		}()
	}
	wg.Wait()
	// Everyone else is still served.
	c := dial(t, s, "")
	identify(c, tok, 1)
	c.ws.CloseNow()

	// A wait for state: on a loaded machine (the race detector, other
	// tests) 1,000 closing handshakes take a while to wind down.
	deadline := time.Now().Add(90 * time.Second)
	for {
		now := runtime.NumGoroutine()
		if now <= before+2 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before, %d after the storm\n%s", before, now, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSlowConsumerIsDropped: a client that never reads is disconnected;
// a client that reads gets every message meanwhile.
func TestSlowConsumerIsDropped(t *testing.T) {
	s := st.Start(t, st.Options{})
	alice := s.Register(t, "alice", "correct horse")
	_, general := newGuild(t, s, alice, "Flood")
	slow := dial(t, s, "")
	var r struct {
		SessionID string `json:"session_id"`
	}
	json.Unmarshal(identify(slow, alice, allIntents).D, &r)
	fast := dial(t, s, "")
	var fr struct {
		SessionID string `json:"session_id"`
	}
	json.Unmarshal(identify(fast, alice, allIntents).D, &fr)
	fast.until("GUILD_CREATE")

	// Enough to overflow the loopback socket buffers (several MB) and the
	// session's queue: 800 frames of ~16 KB.
	const n = 800
	body := strings.Repeat("x", 4000)
	embeds := []map[string]any{}
	for range 10 {
		embeds = append(embeds, map[string]any{"description": strings.Repeat("y", 1000)})
	}
	type reading struct {
		got int
		err error
	}
	done := make(chan reading)
	go func() {
		got := 0
		for got < n {
			p, err := fast.read(90 * time.Second)
			if err != nil {
				done <- reading{got, err}
				return
			}
			if p.T == "MESSAGE_CREATE" {
				got++
			}
		}
		done <- reading{got, nil}
	}()
	for i := 0; i < n; i++ {
		r := s.Do(t, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": body, "embeds": embeds})
		if r.Status != 200 {
			t.Fatalf("send %d: %d %s", i, r.Status, r.Body)
		}
	}
	res := <-done
	if res.got < n {
		// On a machine loaded by other work the reader can fall behind
		// too and be dropped like the slow one; a client then resumes,
		// and must get the rest, in order.
		t.Logf("the reading client was dropped too, after %d of %d messages (%v); it resumes", res.got, n, res.err)
		again := dial(t, s, "")
		again.must(5 * time.Second) // HELLO
		again.send(6, map[string]any{"token": alice, "session_id": fr.SessionID, "seq": fast.seq})
		next := fast.seq + 1
		for res.got < n {
			p := again.must(90 * time.Second)
			if p.Op == 9 {
				t.Fatalf("the reading client's resume was refused: %s", p.D)
			}
			if p.Op != 0 {
				continue
			}
			if p.S != 0 && p.S != next {
				t.Fatalf("the reading client after its resume: s=%d, want %d", p.S, next)
			}
			if p.S != 0 {
				next++
			}
			if p.T == "MESSAGE_CREATE" {
				res.got++
			}
		}
	}
	// The slow client's connection was closed by the server: reading
	// what was buffered ends in an error, not a wait.
	for {
		if _, err := slow.read(90 * time.Second); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("the slow consumer's connection is still open: %v", err)
			}
			break
		}
	}
	// The drop is counted, for the operator's alert.
	if m := string(s.Do(t, "GET", "/metrics", "", nil).Body); !strings.Contains(m, `hearth_gateway_sessions_dropped_total{reason="slow_consumer"} 1`) ||
		!strings.Contains(m, `hearth_gateway_sessions 2`) {
		t.Fatalf("metrics do not count the dropped session:\n%s", m)
	}
	// It resumes and gets everything it had not read, in order.
	back := dial(t, s, "")
	back.must(5 * time.Second) // HELLO
	back.send(6, map[string]any{"token": alice, "session_id": r.SessionID, "seq": slow.seq})
	next, messages := slow.seq+1, 0
	for {
		p := back.must(90 * time.Second)
		if p.S != next {
			t.Fatalf("after the resume: s=%d, want %d", p.S, next)
		}
		next++
		if p.T == "MESSAGE_CREATE" {
			messages++
		}
		if p.T == "RESUMED" {
			break
		}
	}
	if messages == 0 {
		t.Fatal("the resumed session missed nothing: the test did not overflow it")
	}
}

// TestLogoutEndsLiveSessions: a gateway connection does not outlive its
// token: logging out or changing the password closes it with 4004, and
// it cannot be resumed.
func TestLogoutEndsLiveSessions(t *testing.T) {
	s := st.Start(t, st.Options{})
	tok := s.Register(t, "alice", "correct horse")
	other := s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "alice", "password": "correct horse"}).JSON(t)["token"].(string)
	c := dial(t, s, "")
	identify(c, other, 1)
	keep := dial(t, s, "")
	identify(keep, tok, 1)
	// The password change (made with tok) ends the other session.
	do(t, s, "PATCH", "/api/v10/users/@me", tok, map[string]any{"password": "correct horse", "new_password": "battery staple"})
	if code := c.closeCode(); code != 4004 {
		t.Fatalf("session of an ended token closed with %d, want 4004", code)
	}
	do(t, s, "POST", "/api/v10/auth/logout", tok, nil)
	if code := keep.closeCode(); code != 4004 {
		t.Fatalf("session after logout closed with %d, want 4004", code)
	}
}

// TestFrameSentWithTheHandshake: a client that writes its first frame in
// the same packet as its upgrade request (allowed: it may pipeline) has it
// read, not lost in the swap of connection buffers.
func TestFrameSentWithTheHandshake(t *testing.T) {
	s := st.Start(t, st.Options{})
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	payload := []byte(`{"op":1,"d":null}`)
	key := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(payload))}
	frame = append(frame, key[:]...)
	for i, b := range payload {
		frame = append(frame, b^key[i%4])
	}
	req := "GET /gateway?v=10&encoding=json HTTP/1.1\r\nHost: " + s.Addr() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := conn.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", res, err)
	}
	readFrame := func() string {
		t.Helper()
		head := make([]byte, 2)
		if _, err := io.ReadFull(br, head); err != nil {
			t.Fatalf("read frame: %v", err)
		}
		n := int(head[1] & 0x7f)
		if n == 126 {
			ext := make([]byte, 2)
			io.ReadFull(br, ext)
			n = int(ext[0])<<8 | int(ext[1])
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			t.Fatalf("read frame body: %v", err)
		}
		return string(body)
	}
	if hello := readFrame(); !strings.Contains(hello, `"op":10`) {
		t.Fatalf("first frame %s, want HELLO", hello)
	}
	if ack := readFrame(); !strings.Contains(ack, `"op":11`) {
		t.Fatalf("second frame %s, want the ACK of the pipelined heartbeat", ack)
	}
}
