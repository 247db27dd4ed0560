package clientapi_test

import (
	"fmt"
	"testing"

	"hearth/homeserver/permission"
	st "hearth/server/servertest"
	"hearth/snowflake"
)

// botFixture is an application whose bot is in a guild.
type botFixture struct {
	appID, token string
}

// newBot makes an application owned by ownerTok and adds its bot to
// guild with the given permissions.
func newBot(t *testing.T, s *st.Server, ownerTok, name, guild string, p permission.Set) botFixture {
	t.Helper()
	app := ok(t, s.Do(t, "POST", "/api/v10/applications", ownerTok, map[string]any{"name": name}), 201)
	id := app["id"].(string)
	tok := ok(t, s.Do(t, "POST", "/api/v10/applications/"+id+"/bot/reset", ownerTok, nil), 200)["token"].(string)
	if guild != "" {
		ok(t, s.Do(t, "POST", "/api/v10/oauth2/authorize?client_id="+id+"&scope=bot", ownerTok,
			map[string]any{"guild_id": guild, "permissions": perms(p), "authorize": true}), 200)
	}
	return botFixture{appID: id, token: "Bot " + tok}
}

func commandNames(cmds []any) map[string]bool {
	out := map[string]bool{}
	for _, c := range cmds {
		out[c.(map[string]any)["name"].(string)] = true
	}
	return out
}

// TestApplicationCommands: a bot registers global and guild commands
// (bulk overwrite, create, edit, delete) with Discord's validation and
// limits, versions change only with the command, guild overrides change
// who may use a command, and the command index a person's client reads
// holds exactly what that person may use.
func TestApplicationCommands(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, member := s.Register(t, "owner", "correct horse"), s.Register(t, "member", "correct horse")
		g := newGuild(t, s, owner, "Commands")
		invite(t, s, owner, g.general, member)
		bot := newBot(t, s, owner, "Slash Bot", g.id, permission.SendMessages|permission.ViewChannel)
		global := "/api/v10/applications/" + bot.appID + "/commands"
		guild := "/api/v10/applications/" + bot.appID + "/guilds/" + g.id + "/commands"

		ping := map[string]any{"name": "ping", "description": "Ping the bot", "options": []any{
			map[string]any{"type": 3, "name": "mode", "description": "how", "required": true,
				"choices": []any{map[string]any{"name": "Loud", "value": "loud"}, map[string]any{"name": "Quiet", "value": "quiet"}}},
			map[string]any{"type": 4, "name": "times", "description": "how often", "min_value": 1, "max_value": 10},
			map[string]any{"type": 7, "name": "where", "description": "channel", "channel_types": []int{0}},
			map[string]any{"type": 3, "name": "topic", "description": "what", "autocomplete": true, "max_length": 50},
		}, "name_localizations": map[string]any{"de": "klingeln"}}
		profile := map[string]any{"type": 2, "name": "Show Profile"}
		quote := map[string]any{"type": 3, "name": "Quote"}
		first := list(t, s.Do(t, "PUT", global, bot.token, []any{ping, profile, quote}))
		if len(first) != 3 || first[0]["application_id"] != bot.appID || first[0]["version"] == nil || first[0]["type"] != float64(1) ||
			first[1]["type"] != float64(2) || first[1]["description"] != "" || first[0]["dm_permission"] != true ||
			len(first[0]["contexts"].([]any)) != 3 || first[0]["default_member_permissions"] != nil {
			t.Fatalf("bulk overwrite answered %v", first)
		}
		opts := first[0]["options"].([]any)
		if len(opts) != 4 || opts[1].(map[string]any)["min_value"] != float64(1) || opts[0].(map[string]any)["required"] != true ||
			first[0]["name_localizations"].(map[string]any)["de"] != "klingeln" {
			t.Fatalf("options as stored: %v", first[0])
		}
		// Overwriting again keeps IDs by name; only the changed command
		// gets a new version; a command left out is deleted.
		ping["description"] = "Ping, changed"
		second := list(t, s.Do(t, "PUT", global, bot.token, []any{ping, profile}))
		if len(second) != 2 || second[0]["id"] != first[0]["id"] || second[0]["version"] == first[0]["version"] ||
			second[1]["id"] != first[1]["id"] || second[1]["version"] != first[1]["version"] {
			t.Fatalf("second overwrite: %v then %v", first, second)
		}
		if got := list(t, s.Do(t, "GET", global, bot.token, nil)); len(got) != 2 {
			t.Fatalf("global commands: %v", got)
		}
		st.Expect(t, s.Do(t, "GET", global+"/"+first[2]["id"].(string), bot.token, nil), 404, st.Code(10063))

		// Guild commands: create, overwrite by name (200), edit, delete.
		admin := ok(t, s.Do(t, "POST", guild, bot.token, map[string]any{"name": "ban-all", "description": "careful",
			"default_member_permissions": fmt.Sprint(permission.ManageGuild)}), 201)
		if admin["guild_id"] != g.id || admin["default_member_permissions"] != fmt.Sprint(permission.ManageGuild) || admin["contexts"] != nil {
			t.Fatalf("guild command: %v", admin)
		}
		again := ok(t, s.Do(t, "POST", guild, bot.token, map[string]any{"name": "ban-all", "description": "very careful",
			"default_member_permissions": permission.ManageGuild}), 200)
		if again["id"] != admin["id"] || again["description"] != "very careful" {
			t.Fatalf("overwriting create: %v", again)
		}
		edited := ok(t, s.Do(t, "PATCH", guild+"/"+admin["id"].(string), bot.token, map[string]any{"description": "edited"}), 200)
		if edited["version"] == again["version"] || edited["name"] != "ban-all" || edited["description"] != "edited" ||
			edited["default_member_permissions"] != fmt.Sprint(permission.ManageGuild) {
			t.Fatalf("PATCH: %v", edited)
		}
		tmp := ok(t, s.Do(t, "POST", guild, bot.token, map[string]any{"name": "tmp", "description": "gone soon"}), 201)
		ok(t, s.Do(t, "DELETE", guild+"/"+tmp["id"].(string), bot.token, nil), 204)
		st.Expect(t, s.Do(t, "DELETE", guild+"/"+tmp["id"].(string), bot.token, nil), 404, st.Code(10063))
		// A guild command is not reachable through the global routes.
		st.Expect(t, s.Do(t, "GET", global+"/"+admin["id"].(string), bot.token, nil), 404, st.Code(10063))

		// Who may manage them.
		st.Expect(t, s.Do(t, "GET", global, member, nil), 404, st.Code(10002))
		list(t, s.Do(t, "GET", global, owner, nil))
		other := newGuild(t, s, member, "Elsewhere")
		st.Expect(t, s.Do(t, "POST", "/api/v10/applications/"+bot.appID+"/guilds/"+other.id+"/commands", bot.token,
			map[string]any{"name": "x", "description": "y"}), 403, st.Code(50001))

		// Bad commands change nothing.
		opt := func(o map[string]any) map[string]any {
			return map[string]any{"name": "bad", "description": "d", "options": []any{o}}
		}
		many := make([]any, 26)
		for i := range many {
			many[i] = map[string]any{"type": 3, "name": fmt.Sprintf("o%d", i), "description": "d"}
		}
		for _, tc := range []struct {
			name string
			body any
			code int
		}{
			{"upper case name", map[string]any{"name": "Ping", "description": "d"}, 50035},
			{"space in name", map[string]any{"name": "two words", "description": "d"}, 50035},
			{"name too long", map[string]any{"name": "abcdefghijklmnopqrstuvwxyzabcdefg", "description": "d"}, 50035},
			{"no description", map[string]any{"name": "nodesc"}, 50035},
			{"unknown type", map[string]any{"name": "x", "description": "d", "type": 9}, 50035},
			{"context menu with description", map[string]any{"name": "Look", "type": 2, "description": "no"}, 50035},
			{"26 options", map[string]any{"name": "many", "description": "d", "options": many}, 50035},
			{"required after optional", map[string]any{"name": "order", "description": "d", "options": []any{
				map[string]any{"type": 3, "name": "a", "description": "d"},
				map[string]any{"type": 3, "name": "b", "description": "d", "required": true}}}, 50035},
			{"duplicate option names", map[string]any{"name": "dup", "description": "d", "options": []any{
				map[string]any{"type": 3, "name": "a", "description": "d"}, map[string]any{"type": 4, "name": "a", "description": "d"}}}, 50035},
			{"sub-command beside an option", map[string]any{"name": "mixed", "description": "d", "options": []any{
				map[string]any{"type": 1, "name": "sub", "description": "d"}, map[string]any{"type": 3, "name": "a", "description": "d"}}}, 50035},
			{"group in a group", opt(map[string]any{"type": 2, "name": "g", "description": "d", "options": []any{
				map[string]any{"type": 2, "name": "h", "description": "d", "options": []any{map[string]any{"type": 1, "name": "s", "description": "d"}}}}}), 50035},
			{"string choice for an integer", opt(map[string]any{"type": 4, "name": "n", "description": "d",
				"choices": []any{map[string]any{"name": "one", "value": "1"}}}), 50035},
			{"choices on a boolean", opt(map[string]any{"type": 5, "name": "b", "description": "d",
				"choices": []any{map[string]any{"name": "yes", "value": true}}}), 50035},
			{"choices and autocomplete", opt(map[string]any{"type": 3, "name": "s", "description": "d", "autocomplete": true,
				"choices": []any{map[string]any{"name": "a", "value": "a"}}}), 50035},
			{"min above max", opt(map[string]any{"type": 4, "name": "n", "description": "d", "min_value": 5, "max_value": 1}), 50035},
			{"fractional integer bound", opt(map[string]any{"type": 4, "name": "n", "description": "d", "min_value": 1.5}), 50035},
			{"length on an integer", opt(map[string]any{"type": 4, "name": "n", "description": "d", "max_length": 5}), 50035},
			{"max_length out of range", opt(map[string]any{"type": 3, "name": "s", "description": "d", "max_length": 6001}), 50035},
			{"channel types on a string", opt(map[string]any{"type": 3, "name": "s", "description": "d", "channel_types": []int{0}}), 50035},
			{"unknown option type", opt(map[string]any{"type": 12, "name": "s", "description": "d"}), 50035},
			{"unknown locale", map[string]any{"name": "loc", "description": "d", "name_localizations": map[string]any{"xx": "x"}}, 50035},
			{"bad permissions", map[string]any{"name": "perm", "description": "d", "default_member_permissions": "abc"}, 50035},
			{"name not a string", map[string]any{"name": 5, "description": "d"}, 50035},
			{"bad contexts", map[string]any{"name": "ctx", "description": "d", "contexts": []int{7}}, 50035},
		} {
			r := s.Do(t, "POST", global, bot.token, tc.body)
			if r.Status != 400 {
				t.Errorf("%s: %d %s", tc.name, r.Status, r.Body)
				continue
			}
			st.Expect(t, r, 400, st.Code(tc.code))
		}
		st.Expect(t, s.Do(t, "POST", global, bot.token, []byte("{")), 400, st.Code(50109))
		// Limits: five user commands; a sixth is refused whole.
		six := make([]any, 6)
		for i := range six {
			six[i] = map[string]any{"type": 2, "name": fmt.Sprintf("User %d", i)}
		}
		st.Expect(t, s.Do(t, "PUT", global, bot.token, six), 400, st.Code(30032))
		for _, c := range six[:4] {
			ok(t, s.Do(t, "POST", global, bot.token, c), 201)
		}
		st.Expect(t, s.Do(t, "POST", global, bot.token, six[5]), 400, st.Code(30032))
		if got := list(t, s.Do(t, "GET", global, bot.token, nil)); len(got) != 6 {
			t.Fatalf("after refused writes: %d commands", len(got))
		}

		// The command index: the member does not see the command that
		// needs MANAGE_GUILD; the owner does.
		index := func(tok, path string) map[string]bool {
			ix := ok(t, s.Do(t, "GET", path, tok, nil), 200)
			if apps := ix["applications"].([]any); len(apps) != 1 || apps[0].(map[string]any)["id"] != bot.appID {
				t.Fatalf("index applications: %v", ix)
			}
			return commandNames(ix["application_commands"].([]any))
		}
		gIndex, cIndex := "/api/v10/guilds/"+g.id+"/application-command-index", "/api/v10/channels/"+g.general+"/application-command-index"
		if got := index(member, gIndex); !got["ping"] || got["ban-all"] || !got["Show Profile"] {
			t.Fatalf("member's index: %v", got)
		}
		if got := index(owner, cIndex); !got["ping"] || !got["ban-all"] {
			t.Fatalf("owner's index: %v", got)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+other.id+"/application-command-index", owner, nil), 404, st.Code(10004))
		ok(t, s.Do(t, "GET", "/api/v10/users/@me/application-command-index", member, nil), 200)

		// Overrides: only a person with MANAGE_GUILD and MANAGE_ROLES
		// sets them; denying the member hides ping from them.
		pingID := second[0]["id"].(string)
		deny := map[string]any{"permissions": []any{map[string]any{"id": userID(t, s, member), "type": 2, "permission": false}}}
		permsPath := guild + "/" + pingID + "/permissions"
		st.Expect(t, s.Do(t, "PUT", permsPath, member, deny), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "PUT", permsPath, bot.token, deny), 403, st.Code(20001))
		st.Expect(t, s.Do(t, "GET", permsPath, bot.token, nil), 404, st.Code(10066))
		st.Expect(t, s.Do(t, "PUT", permsPath, owner, map[string]any{"permissions": []any{map[string]any{"id": g.id, "type": 9, "permission": true}}}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "PUT", permsPath, owner, map[string]any{"permissions": []any{map[string]any{"id": "1", "type": 1, "permission": true}}}), 400, st.Code(50035))
		set := ok(t, s.Do(t, "PUT", permsPath, owner, deny), 200)
		if set["id"] != pingID || set["guild_id"] != g.id || len(set["permissions"].([]any)) != 1 {
			t.Fatalf("PUT permissions: %v", set)
		}
		if got := ok(t, s.Do(t, "GET", permsPath, bot.token, nil), 200); got["id"] != pingID {
			t.Fatalf("GET permissions: %v", got)
		}
		if all := list(t, s.Do(t, "GET", guild+"/permissions", bot.token, nil)); len(all) != 1 {
			t.Fatalf("guild permissions: %v", all)
		}
		if got := index(member, gIndex); got["ping"] || !got["Show Profile"] {
			t.Fatalf("member's index after the deny: %v", got)
		}
		// Deny every channel at the application level, allow #general for
		// the command: the command is usable there and nothing else is.
		gen := g.id
		allChannels := fmt.Sprint(mustID(t, gen) - 1)
		ok(t, s.Do(t, "PUT", guild+"/"+bot.appID+"/permissions", owner, map[string]any{"permissions": []any{
			map[string]any{"id": allChannels, "type": 3, "permission": false}}}), 200)
		ok(t, s.Do(t, "PUT", permsPath, owner, map[string]any{"permissions": []any{
			map[string]any{"id": g.general, "type": 3, "permission": true}}}), 200)
		if got := index(member, cIndex); !got["ping"] || got["Show Profile"] || len(got) != 1 {
			t.Fatalf("member's channel index with channel overrides: %v", got)
		}
	})
}

func mustID(t *testing.T, s string) uint64 {
	t.Helper()
	id, err := snowflake.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(id)
}
