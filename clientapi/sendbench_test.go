package clientapi_test

import (
	"fmt"
	"testing"

	st "hearth/server/servertest"
)

// BenchmarkSendMessage measures the send path over HTTP in a guild of 50
// members: a plain message (which must cost nothing per member), a message
// mentioning one member, and one mentioning @everyone. It runs with rate
// limits off, one backend at a time:
//
//	go test ./clientapi -run '^$' -bench 'SendMessage/sqlite' -benchtime 2000x
func BenchmarkSendMessage(b *testing.B) {
	for _, backend := range st.Backends {
		b.Run(string(backend), func(b *testing.B) {
			s := st.Start(b, st.Options{Backend: backend, DataDir: b.TempDir()})
			owner := s.Register(b, "owner", "correct horse")
			_, channel, invite := s.Guild(b, owner, "Bench")
			var someone string
			for i := range 49 {
				tok := s.Register(b, fmt.Sprintf("member%d", i), "correct horse")
				st.OK(b, s.Do(b, "POST", "/api/v10/invites/"+invite, tok, nil), 200)
				someone = st.OK(b, s.Do(b, "GET", "/api/v10/users/@me", tok, nil), 200)["id"].(string)
			}
			for _, k := range []struct{ name, content string }{
				{"plain", "hello there"},
				{"user", "hello <@" + someone + ">"},
				{"everyone", "hello @everyone"},
			} {
				b.Run(k.name, func(b *testing.B) {
					for b.Loop() {
						if r := s.Do(b, "POST", "/api/v10/channels/"+channel+"/messages", owner, map[string]any{"content": k.content}); r.Status != 200 {
							b.Fatalf("send: %d %s", r.Status, r.Body)
						}
					}
				})
			}
		})
	}
}
