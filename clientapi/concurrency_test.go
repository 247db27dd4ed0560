package clientapi_test

import (
	"sync"
	"testing"

	st "hearth/server/servertest"
)

// TestConcurrentJoins: a user who joins by the same invite several times at
// once (a double click, a retrying client) is a member once and every
// request succeeds; the same for a bot authorised several times at once.
func TestConcurrentJoins(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, bob := s.Register(t, "owner", "correct horse"), s.Register(t, "bob", "correct horse")
		g := newGuild(t, s, owner, "Race")
		code := invite(t, s, owner, g.general)
		app := ok(t, s.Do(t, "POST", "/api/v10/applications", owner, map[string]any{"name": "racer"}), 201)["id"].(string)
		var wg sync.WaitGroup
		statuses := make([]int, 16)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%2 == 0 {
					statuses[i] = s.Do(t, "POST", "/api/v10/invites/"+code, bob, nil).Status
					return
				}
				statuses[i] = s.Do(t, "POST", "/api/v10/oauth2/authorize?client_id="+app+"&scope=bot&permissions=2048", owner,
					map[string]any{"guild_id": g.id, "authorize": true}).Status
			}()
		}
		wg.Wait()
		for i, code := range statuses {
			if code != 200 {
				t.Fatalf("request %d answered %d; all: %v", i, code, statuses)
			}
		}
		if n := len(list(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/members?limit=10", owner, nil))); n != 3 {
			t.Fatalf("%d members, want 3 (owner, bob, the bot)", n)
		}
		managed := 0
		for _, r := range list(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/roles", owner, nil)) {
			if r["managed"] == true {
				managed++
			}
		}
		if managed != 1 {
			t.Fatalf("%d managed roles, want the bot's one", managed)
		}
	})
}
