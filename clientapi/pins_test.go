package clientapi_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	st "hearth/server/servertest"
)

// TestConcurrentPinsStopAtFifty: with 45 messages pinned, 60 pins of other
// messages at once leave exactly 50 pinned: five succeed and the others are
// refused with Discord's "maximum number of pins" (30003), on both
// databases. Counting and pinning in separate steps let PostgreSQL pass 50.
func TestConcurrentPinsStopAtFifty(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner := s.Register(t, "owner", "correct horse")
		g := newGuild(t, s, owner, "Pins")
		const already, racers = 45, 60
		var ids []string
		for i := range already + racers {
			ids = append(ids, send(t, s, owner, g.general, map[string]any{"content": fmt.Sprint("pin me ", i)})["id"].(string))
		}
		for _, id := range ids[:already] {
			ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/pins/"+id, owner, nil), 204)
		}
		start := make(chan struct{})
		results := make([]st.Response, racers)
		var wg sync.WaitGroup
		for i, id := range ids[already:] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i] = s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/pins/"+id, owner, nil)
			}()
		}
		close(start)
		wg.Wait()
		pinned := 0
		for _, r := range results {
			switch r.Status {
			case 204:
				pinned++
			case 400:
				var e struct{ Code int }
				if err := json.Unmarshal(r.Body, &e); err != nil || e.Code != 30003 {
					t.Errorf("a refused pin answered %s", r.Body)
				}
			default:
				t.Errorf("a pin answered %d %s", r.Status, r.Body)
			}
		}
		if pins := list(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/pins", owner, nil)); len(pins) != 50 || pinned != 50-already {
			t.Fatalf("%d pins after %d concurrent ones succeeded on top of %d", len(pins), pinned, already)
		}
	})
}
