package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	st "hearth/server/servertest"
)

// emojiNamed is the ID of the guild's emoji of that name as tok's holder
// lists them, "" when there is none.
func emojiNamed(t *testing.T, s *st.Server, tok, guild, name string) string {
	t.Helper()
	for _, em := range st.List(t, s.Do(t, "GET", "/api/v10/guilds/"+guild+"/emojis", tok, nil)) {
		if em["name"] == name {
			return em["id"].(string)
		}
	}
	return ""
}

// TestBridgeEmojiAndRoleChangesFollow: a Discord custom emoji and a
// Discord role, copied into the mirror on first use, are renamed (the
// role recoloured too) and then deleted on Discord; their copies follow,
// as seen from bob's server.
func TestBridgeEmojiAndRoleChangesFollow(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 0)
		hg := mirrorGuild(t, e)
		img, _ := avatarPNG(t, 90)
		party := st.OK(t, e.d.Do(t, "POST", "/api/v10/guilds/"+e.d.guild+"/emojis", e.d.alice, map[string]any{"name": "party",
			"image": "data:image/png;base64," + base64.StdEncoding.EncodeToString(img)}), http.StatusCreated)["id"].(string)
		crew := st.OK(t, e.d.Do(t, "POST", "/api/v10/guilds/"+e.d.guild+"/roles", e.d.alice,
			map[string]any{"name": "crew", "color": 0x112233, "mentionable": true}), http.StatusOK)["id"].(string)

		// First use copies both.
		did := st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice,
			map[string]any{"content": "hello <@&" + crew + ">"}), http.StatusOK)["id"].(string)
		st.Expect(t, e.d.Do(t, "PUT", "/api/v10/channels/"+e.d.general+"/messages/"+did+"/reactions/"+url.PathEscape("party:"+party)+"/@me",
			e.d.alice, nil), http.StatusNoContent, nil)
		st.WaitFor(t, "the copies on bob's server", wait, func() string {
			if emojiNamed(t, e.h, e.bob, hg, "party") == "" || roleNamed(t, e.h, e.bob, hg, "crew") == "" {
				return "not yet"
			}
			return ""
		})
		hRole := roleNamed(t, e.h, e.bob, hg, "crew")

		// Renamed on Discord.
		st.OK(t, e.d.Do(t, "PATCH", "/api/v10/guilds/"+e.d.guild+"/emojis/"+party, e.d.alice, map[string]any{"name": "fiesta"}), http.StatusOK)
		st.OK(t, e.d.Do(t, "PATCH", "/api/v10/guilds/"+e.d.guild+"/roles/"+crew, e.d.alice,
			map[string]any{"name": "sailors", "color": 0x445566}), http.StatusOK)
		st.WaitFor(t, "the renames on bob's server", wait, func() string {
			if emojiNamed(t, e.h, e.bob, hg, "fiesta") == "" || emojiNamed(t, e.h, e.bob, hg, "party") != "" {
				return "the emoji is not renamed"
			}
			for _, r := range st.List(t, e.h.Do(t, "GET", "/api/v10/guilds/"+hg+"/roles", e.bob, nil)) {
				if r["id"] == hRole {
					if r["name"] != "sailors" || r["color"] != float64(0x445566) {
						return fmt.Sprintf("the role is %v", r)
					}
					return ""
				}
			}
			return "the role is gone"
		})

		// Deleted on Discord.
		st.Expect(t, e.d.Do(t, "DELETE", "/api/v10/guilds/"+e.d.guild+"/emojis/"+party, e.d.alice, nil), http.StatusNoContent, nil)
		st.Expect(t, e.d.Do(t, "DELETE", "/api/v10/guilds/"+e.d.guild+"/roles/"+crew, e.d.alice, nil), http.StatusNoContent, nil)
		st.WaitFor(t, "the deletes on bob's server", wait, func() string {
			if emojiNamed(t, e.h, e.bob, hg, "fiesta") != "" {
				return "the emoji is still there"
			}
			if roleNamed(t, e.h, e.bob, hg, "sailors") != "" {
				return "the role is still there"
			}
			return ""
		})
	})
}
