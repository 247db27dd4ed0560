package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	st "hearth/server/servertest"
)

// BenchmarkSendToSessions measures the send path with live gateway
// sessions: in a guild of 20 members, each with a session, one op is a
// message sent over HTTP and received by all 20 sessions. ns/op is send
// and delivery to everyone; send-ns/op is the HTTP call alone. Each
// session's record in the database (live.go) is written on this path,
// before the dispatch reaches the connection:
//
//	go test ./clientapi/gateway -run '^$' -bench 'SendToSessions' -benchtime 500x
func BenchmarkSendToSessions(b *testing.B) {
	for _, backend := range st.Backends {
		b.Run(string(backend), func(b *testing.B) {
			s := st.Start(b, st.Options{Backend: backend, DataDir: b.TempDir()})
			owner := s.Register(b, "owner", "correct horse")
			_, channel, invite := s.Guild(b, owner, "Bench")
			const sessions = 20
			// got has a token per MESSAGE_CREATE any session receives.
			got := make(chan struct{}, 1<<16)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{}, sessions)
			for i := range sessions {
				tok := owner
				if i > 0 {
					tok = s.Register(b, fmt.Sprintf("member%d", i), "correct horse")
					st.OK(b, s.Do(b, "POST", "/api/v10/invites/"+invite, tok, nil), 200)
				}
				ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/gateway", nil)
				if err != nil {
					b.Fatal(err)
				}
				ws.SetReadLimit(64 << 20)
				ident, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": tok, "intents": 1<<0 | 1<<9 | 1<<15}})
				if err := ws.Write(ctx, websocket.MessageText, ident); err != nil {
					b.Fatal(err)
				}
				// Its guild is known before the next member joins.
				for {
					_, msg, err := ws.Read(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if strings.Contains(string(msg[:min(len(msg), 64)]), `"t":"GUILD_CREATE"`) {
						break
					}
				}
				go func() { // owned by the benchmark: ends when ctx does
					defer func() { done <- struct{}{} }()
					defer ws.CloseNow()
					for {
						_, msg, err := ws.Read(ctx)
						if err != nil {
							return
						}
						if strings.Contains(string(msg[:min(len(msg), 64)]), `"t":"MESSAGE_CREATE"`) {
							got <- struct{}{}
						}
					}
				}()
			}
			// Every session is in the guild before the clock starts.
			st.OK(b, s.Do(b, "POST", "/api/v10/channels/"+channel+"/messages", owner, map[string]any{"content": "warm"}), 200)
			timeout := time.NewTimer(2 * time.Minute)
			defer timeout.Stop()
			waitAll := func() {
				for range sessions {
					select {
					case <-got:
					case <-timeout.C:
						b.Fatal("a session did not receive the message in two minutes")
					}
				}
			}
			waitAll()
			var sendTime time.Duration
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				if r := s.Do(b, "POST", "/api/v10/channels/"+channel+"/messages", owner, map[string]any{"content": "hello there"}); r.Status != 200 {
					b.Fatalf("send: %d %s", r.Status, r.Body)
				}
				sendTime += time.Since(start)
				waitAll()
			}
			b.ReportMetric(float64(sendTime.Nanoseconds())/float64(b.N), "send-ns/op")
			cancel()
			for range sessions {
				<-done
			}
		})
	}
}
