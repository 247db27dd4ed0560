package gateway_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"testing"

	st "hearth/server/servertest"
)

// TestEmojiRolesOnTheGateway: an emoji's roles reach clients in
// GUILD_EMOJIS_UPDATE, and deleting a role it was restricted to is told
// the same way (after GUILD_ROLE_DELETE), so that no client keeps a role
// that is gone.
func TestEmojiRolesOnTheGateway(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner := s.Register(t, "owner", "correct horse")
		gid, _ := newGuild(t, s, owner, "Emoji roles")
		c := dial(t, s, "?v=10")
		identify(c, owner, allIntents|1<<3)
		c.until("GUILD_CREATE")
		role := do(t, s, "POST", "/api/v10/guilds/"+gid+"/roles", owner, map[string]any{"name": "vip"})["id"].(string)
		var buf bytes.Buffer
		if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
			t.Fatal(err)
		}
		img := "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
		do(t, s, "POST", "/api/v10/guilds/"+gid+"/emojis", owner, map[string]any{"name": "star", "image": img, "roles": []string{role}})
		rolesOf := func(p payload) []any {
			t.Helper()
			var d struct {
				Emojis []struct {
					Roles []any `json:"roles"`
				} `json:"emojis"`
			}
			if err := json.Unmarshal(p.D, &d); err != nil || len(d.Emojis) != 1 {
				t.Fatalf("GUILD_EMOJIS_UPDATE = %s", p.D)
			}
			return d.Emojis[0].Roles
		}
		if rs := rolesOf(c.until("GUILD_EMOJIS_UPDATE")); len(rs) != 1 || rs[0] != role {
			t.Fatalf("roles = %v, want [%s]", rs, role)
		}
		do(t, s, "DELETE", "/api/v10/guilds/"+gid+"/roles/"+role, owner, nil)
		c.until("GUILD_ROLE_DELETE")
		if rs := rolesOf(c.until("GUILD_EMOJIS_UPDATE")); len(rs) != 0 {
			t.Fatalf("roles after the role's deletion = %v", rs)
		}
	})
}
