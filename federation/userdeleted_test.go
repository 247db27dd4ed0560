package federation_test

import (
	"net/http"
	"strings"
	"testing"

	"hearth/federation"
	st "hearth/server/servertest"
)

// A user deleted on their homeserver is shown as deleted on the servers
// that know them, their messages kept; a peer that signs correctly still
// cannot delete the receiver's own users or a third server's.
func TestFederatedUserDeletion(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		a, b, c := st.Start(t, st.Options{Backend: backend}), st.Start(t, st.Options{Backend: backend}), st.Start(t, st.Options{Backend: backend})
		ann, bob, cat := register(t, a, "ann"), register(t, b, "bob"), register(t, c, "cat")
		ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Club"}), 201)
		_, general := ann.guildNamed(t, "Club")
		code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{"max_age": 0}), 200)["code"].(string)
		for _, u := range []user{bob, cat} {
			ok(t, u.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
		}
		_, bGeneral := bob.guildNamed(t, "Club")
		ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", map[string]any{"content": "bob was here"}), 200)

		// authors maps, as ann sees the channel, each message's content to
		// its author's username and global name.
		authors := func() map[string][2]any {
			out := map[string][2]any{}
			for _, m := range list(t, ann.do(t, "GET", "/api/v10/channels/"+general+"/messages", nil)) {
				au := m["author"].(map[string]any)
				out[m["content"].(string)] = [2]any{au["username"], au["global_name"]}
			}
			return out
		}
		eventually(t, "bob's message on A", func() string {
			if authors()["bob was here"][0] != "bob" {
				return "not yet"
			}
			return ""
		})
		ok(t, cat.do(t, "POST", "/api/v10/channels/"+func() string { _, g := cat.guildNamed(t, "Club"); return g }()+"/messages", map[string]any{"content": "cat too"}), 200)
		eventually(t, "cat's message on A", func() string {
			if authors()["cat too"][0] != "cat" {
				return "not yet"
			}
			return ""
		})

		// B, signing correctly, names A's own user and C's user: refused,
		// nothing changes.
		for _, gid := range []string{ann.id + "@" + a.ServerName(), cat.id + "@" + c.ServerName(), "not-a-global-id"} {
			status, body := call(t, b, a, http.MethodPost, federation.UserDeletedPath, map[string]any{"user": gid})
			if status != http.StatusForbidden && status != http.StatusBadRequest {
				t.Fatalf("B deleting %s on A: %d %v", gid, status, body)
			}
		}
		if me := ok(t, ann.do(t, "GET", "/api/v10/users/@me", nil), 200); me["username"] != "ann" {
			t.Fatalf("ann after B's forged deletion: %v", me)
		}
		if got := authors()["cat too"]; got[0] != "cat" || got[1] != nil {
			t.Fatalf("cat on A after B's forged deletion: %v", got)
		}

		// Bob deletes his account on B: A hears of it.
		st.Expect(t, bob.do(t, "POST", "/api/v10/users/@me/delete", map[string]any{"password": "correct horse"}), 204, nil)
		eventually(t, "bob shown as deleted on A", func() string {
			got := authors()["bob was here"]
			if name, _ := got[0].(string); !strings.HasPrefix(name, "deleted_user_") || got[1] != "Deleted User" {
				return "bob's message on A is from " + name
			}
			return ""
		})
		if got := authors()["cat too"]; got[0] != "cat" {
			t.Fatalf("cat on A after bob's deletion: %v", got)
		}
		// He left the guild on the way out.
		eventually(t, "bob out of the guild on A", func() string {
			for _, m := range list(t, ann.do(t, "GET", "/api/v10/guilds/"+func() string { g, _ := ann.guildNamed(t, "Club"); return g }()+"/members?limit=100", nil)) {
				if strings.HasPrefix(m["user"].(map[string]any)["username"].(string), "deleted_user_") {
					return "still a member"
				}
			}
			return ""
		})
	})
}
