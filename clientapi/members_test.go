package clientapi_test

import (
	"testing"

	st "hearth/server/servertest"
)

// TestMemberListIntent: a bot lists or searches a guild's members over
// REST only while its application holds the GUILD_MEMBERS intent flag, as
// Discord requires; a person always may.
func TestMemberListIntent(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner := s.Register(t, "owner", "correct horse")
		other := s.Register(t, "otto", "correct horse")
		g := newGuild(t, s, owner, "Members")
		invite(t, s, owner, g.general, other)
		app := ok(t, s.Do(t, "POST", "/api/v10/applications", owner, map[string]any{"name": "Lister"}), 201)["id"].(string)
		bot := "Bot " + ok(t, s.Do(t, "POST", "/api/v10/applications/"+app+"/bot/reset", owner, nil), 200)["token"].(string)
		ok(t, s.Do(t, "POST", "/api/v10/oauth2/authorize?client_id="+app+"&scope=bot&permissions=0", owner,
			map[string]any{"guild_id": g.id, "authorize": true}), 200)
		listPath := "/api/v10/guilds/" + g.id + "/members?limit=10"
		searchPath := "/api/v10/guilds/" + g.id + "/members/search?query=OT&limit=10"

		for _, tc := range []struct {
			name  string
			flags int
			ok    bool
		}{
			{"GUILD_MEMBERS", 1 << 14, true},
			{"GUILD_MEMBERS_LIMITED", 1 << 15, true},
			{"message content only", 1 << 18, false},
			{"no flags", 0, false},
		} {
			ok(t, s.Do(t, "PATCH", "/api/v10/applications/"+app, owner, map[string]any{"flags": tc.flags}), 200)
			if !tc.ok {
				st.Expect(t, s.Do(t, "GET", listPath, bot, nil), 403, st.Code(50001))
				st.Expect(t, s.Do(t, "GET", searchPath, bot, nil), 403, st.Code(50001))
				continue
			}
			if ms := list(t, s.Do(t, "GET", listPath, bot, nil)); len(ms) != 3 {
				t.Fatalf("%s: members = %v", tc.name, ms)
			}
			found := list(t, s.Do(t, "GET", searchPath, bot, nil))
			if len(found) != 1 || found[0]["user"].(map[string]any)["username"] != "otto" {
				t.Fatalf("%s: search = %v", tc.name, found)
			}
		}
		// A person needs no intent.
		if ms := list(t, s.Do(t, "GET", listPath, owner, nil)); len(ms) != 3 {
			t.Fatalf("members = %v", ms)
		}
		if found := list(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/members/search?query=nobody", owner, nil)); len(found) != 0 {
			t.Fatalf("search for nobody = %v", found)
		}
		// Discord's bad input: no query, a limit out of range.
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/members/search", owner, nil), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/members/search?query=o&limit=1001", owner, nil), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/members/search?query=o&limit=x", owner, nil), 400, st.Code(50035))
		// A stranger learns nothing.
		stranger := s.Register(t, "stranger", "correct horse")
		st.Expect(t, s.Do(t, "GET", searchPath, stranger, nil), 404, st.Code(10004))
	})
}
