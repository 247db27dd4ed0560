package federation_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	st "hearth/server/servertest"
)

// Owed notices are durable: a peer that is down when a user is deleted and
// when a friendship with its user ends hears of both once it is back,
// though the deleting server restarted in between (spec/federation.md
// §19).
func TestOwedNoticesReachPeerBackUp(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		a, b := st.Start(t, st.Options{Backend: backend}), st.Start(t, st.Options{Backend: backend})
		B := b.ServerName()
		ann, dan, bob := register(t, a, "ann"), register(t, a, "dan"), register(t, b, "bob")
		rel := "/api/v10/users/@me/relationships"
		onB := map[string]string{} // ann's and dan's local IDs on B
		for _, u := range []user{ann, dan} {
			st.Expect(t, u.do(t, "POST", rel, map[string]any{"username": "bob@" + B}), http.StatusNoContent, nil)
		}
		for id, typ := range relsOf(t, bob) {
			if typ != 3 {
				t.Fatalf("bob's relationships after two requests: %v", relsOf(t, bob))
			}
			u := ok(t, bob.do(t, "GET", "/api/v10/users/"+id, nil), 200)
			onB[u["username"].(string)] = id
			st.Expect(t, bob.do(t, "PUT", rel+"/"+id, map[string]any{}), http.StatusNoContent, nil)
		}
		if len(onB) != 2 || onB["ann"] == "" || onB["dan"] == "" {
			t.Fatalf("ann and dan on B: %v", onB)
		}
		eventually(t, "ann and dan friends with bob", func() string {
			if r := relsOf(t, bob); r[onB["ann"]] != 1 || r[onB["dan"]] != 1 {
				return "not yet friends"
			}
			return ""
		})

		// B goes down; on A dan unfriends bob and ann deletes her account.
		b.Stop()
		var bobOnA string
		for id := range relsOf(t, dan) {
			bobOnA = id
		}
		st.Expect(t, dan.do(t, "DELETE", rel+"/"+bobOnA, nil), http.StatusNoContent, nil)
		st.Expect(t, ann.do(t, "POST", "/api/v10/users/@me/delete", map[string]any{"password": "correct horse"}), http.StatusNoContent, nil)
		if r := relsOf(t, dan); len(r) != 0 {
			t.Fatalf("dan's relationships after unfriending: %v", r)
		}
		// The notices wait in A's database: A restarts, then B comes back.
		a = a.Restart(t)
		b = b.Restart(t)
		bob.s = b
		eventually(t, "bob hears dan ended the friendship", func() string {
			if r := relsOf(t, bob); r[onB["dan"]] != 0 {
				return "dan is still bob's friend on B"
			}
			return ""
		})
		eventually(t, "bob sees ann deleted", func() string {
			u := ok(t, bob.do(t, "GET", "/api/v10/users/"+onB["ann"], nil), 200)
			if name, _ := u["username"].(string); !strings.HasPrefix(name, "deleted_user_") || u["global_name"] != "Deleted User" {
				return "ann on B is " + name
			}
			return ""
		})
		// Delivered notices are gone from A's queue.
		st.WaitFor(t, "A's queue empty", 30*time.Second, func() string {
			if n, err := a.Store().PendingNotices(t.Context(), B, 10); err != nil || len(n) != 0 {
				return "notices still owed to B"
			}
			return ""
		})
	})
}
