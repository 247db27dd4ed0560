package gateway_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"

	st "hearth/server/servertest"
)

// TestTemporaryInvite: a member who joined through a temporary invite is
// removed when their last gateway session disconnects, unless they were
// given a role meanwhile, as on Discord. Other members stay.
//
// That a disconnect was handled is seen in the owner's PRESENCE_UPDATE for
// the user: temporary memberships end before the presence is told.
func TestTemporaryInvite(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner := s.Register(t, "owner", "correct horse")
		gid, general := newGuild(t, s, owner, "Drop-in")
		temp := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", owner, map[string]any{"temporary": true, "unique": true})
		if temp["temporary"] != true {
			t.Fatalf("invite = %v", temp)
		}
		plain := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", owner, map[string]any{"unique": true})["code"].(string)
		join := func(name, code string) (tok, id string) {
			tok = s.Register(t, name, "correct horse")
			do(t, s, "POST", "/api/v10/invites/"+code, tok, nil)
			return tok, do(t, s, "GET", "/api/v10/users/@me", tok, nil)["id"].(string)
		}
		guest, guestID := join("guest", temp["code"].(string))
		twice, twiceID := join("twice", temp["code"].(string))
		kept, keptID := join("kept", temp["code"].(string))
		regular, regularID := join("regular", plain)
		role := do(t, s, "POST", "/api/v10/guilds/"+gid+"/roles", owner, map[string]any{"name": "welcome"})["id"].(string)
		do(t, s, "PUT", "/api/v10/guilds/"+gid+"/members/"+keptID+"/roles/"+role, owner, nil)

		watch := dial(t, s, "?v=10")
		identify(watch, owner, allIntents|1<<8)
		watch.until("GUILD_CREATE")
		isMember := func(id string) bool {
			return s.Do(t, "GET", "/api/v10/guilds/"+gid+"/members/"+id, owner, nil).Status == 200
		}
		connect := func(tok, status string) *client {
			c := dial(t, s, "?v=10")
			hello := c.must(5 * time.Second)
			if hello.Op != 10 {
				t.Fatalf("first payload op %d", hello.Op)
			}
			c.send(2, map[string]any{"token": tok, "intents": allIntents, "properties": map[string]string{"os": "linux"},
				"presence": map[string]any{"status": status, "since": nil, "activities": []any{}, "afk": false}})
			c.until("GUILD_CREATE")
			return c
		}
		// next waits for the owner's next GUILD_MEMBER_REMOVE or
		// PRESENCE_UPDATE about id, and returns its type and status.
		next := func(id string) (string, string) {
			t.Helper()
			for {
				p := watch.must(15 * time.Second)
				if p.T != "GUILD_MEMBER_REMOVE" && p.T != "PRESENCE_UPDATE" {
					continue
				}
				var d struct {
					User struct {
						ID string `json:"id"`
					} `json:"user"`
					Status string `json:"status"`
				}
				json.Unmarshal(p.D, &d)
				if d.User.ID == id {
					return p.T, d.Status
				}
			}
		}
		expect := func(id, typ, status string) {
			t.Helper()
			if gotT, gotS := next(id); gotT != typ || gotS != status {
				t.Fatalf("next about %s: %s %q, want %s %q", id, gotT, gotS, typ, status)
			}
		}

		// Disconnecting the only session ends a temporary membership.
		c := connect(guest, "online")
		expect(guestID, "PRESENCE_UPDATE", "online")
		c.ws.Close(websocket.StatusNormalClosure, "")
		expect(guestID, "GUILD_MEMBER_REMOVE", "")
		if isMember(guestID) {
			t.Fatal("the temporary member is still a member")
		}

		// With two sessions, the first disconnect keeps the member (their
		// presence falls from online to idle); the second removes them.
		c1 := connect(twice, "online")
		expect(twiceID, "PRESENCE_UPDATE", "online")
		c2 := connect(twice, "idle")
		c1.ws.Close(websocket.StatusNormalClosure, "")
		expect(twiceID, "PRESENCE_UPDATE", "idle")
		if !isMember(twiceID) {
			t.Fatal("a temporary member with a session still connected was removed")
		}
		c2.ws.Close(websocket.StatusNormalClosure, "")
		expect(twiceID, "GUILD_MEMBER_REMOVE", "")

		// A temporary member given a role stays (and is temporary no
		// more: a second disconnect keeps them too), and so does a
		// member who joined through a regular invite.
		for _, u := range []struct{ tok, id string }{{kept, keptID}, {regular, regularID}, {kept, keptID}} {
			c := connect(u.tok, "online")
			expect(u.id, "PRESENCE_UPDATE", "online")
			c.ws.Close(websocket.StatusNormalClosure, "")
			expect(u.id, "PRESENCE_UPDATE", "offline")
			if !isMember(u.id) {
				t.Fatalf("member %s was removed at a disconnect", u.id)
			}
		}

		// Joining again through a regular invite is not temporary.
		do(t, s, "POST", "/api/v10/invites/"+plain, guest, nil)
		c = connect(guest, "online")
		expect(guestID, "PRESENCE_UPDATE", "online")
		c.ws.Close(websocket.StatusNormalClosure, "")
		expect(guestID, "PRESENCE_UPDATE", "offline")
		if !isMember(guestID) {
			t.Fatal("a member who joined again through a regular invite was removed")
		}
	})
}
