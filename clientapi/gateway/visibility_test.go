package gateway_test

import (
	"strings"
	"testing"

	st "hearth/server/servertest"
)

// TestAccessChangesAreToldAsCreateAndDelete: when a permission change
// hides a channel from a member, its session gets CHANNEL_DELETE; when one
// reveals it, CHANNEL_CREATE.
func TestAccessChangesAreToldAsCreateAndDelete(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		alice, bob := s.Register(t, "alice", "correct horse"), s.Register(t, "bob", "correct horse")
		gid, general := newGuild(t, s, alice, "Doors")
		inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", alice, map[string]any{})["code"].(string)
		do(t, s, "POST", "/api/v10/invites/"+inv, bob, nil)
		bobID := do(t, s, "GET", "/api/v10/users/@me", bob, nil)["id"].(string)
		c := dial(t, s, "")
		identify(c, bob, 1)
		c.until("GUILD_CREATE")

		// An overwrite hides general from Bob.
		do(t, s, "PUT", "/api/v10/channels/"+general+"/permissions/"+bobID, alice, map[string]any{"type": 1, "deny": "1024"})
		if p := c.until("CHANNEL_DELETE"); !strings.Contains(string(p.D), general) {
			t.Fatalf("CHANNEL_DELETE = %s", p.D)
		}
		// Removing it shows it again.
		do(t, s, "DELETE", "/api/v10/channels/"+general+"/permissions/"+bobID, alice, nil)
		if p := c.until("CHANNEL_CREATE"); !strings.Contains(string(p.D), general) {
			t.Fatalf("CHANNEL_CREATE = %s", p.D)
		}
		// A private channel appears when Bob gets the role that may see it.
		role := do(t, s, "POST", "/api/v10/guilds/"+gid+"/roles", alice, map[string]any{"name": "insider"})["id"].(string)
		priv := do(t, s, "POST", "/api/v10/guilds/"+gid+"/channels", alice, map[string]any{"name": "inner",
			"permission_overwrites": []map[string]any{{"id": gid, "type": 0, "deny": "1024"}, {"id": role, "type": 0, "allow": "1024"}}})["id"].(string)
		do(t, s, "PUT", "/api/v10/guilds/"+gid+"/members/"+bobID+"/roles/"+role, alice, nil)
		if p := c.until("CHANNEL_CREATE"); !strings.Contains(string(p.D), priv) {
			t.Fatalf("revealed channel = %s", p.D)
		}
		// Deleting the role hides it again.
		do(t, s, "DELETE", "/api/v10/guilds/"+gid+"/roles/"+role, alice, nil)
		if p := c.until("CHANNEL_DELETE"); !strings.Contains(string(p.D), priv) {
			t.Fatalf("hidden channel = %s", p.D)
		}
	})
}
