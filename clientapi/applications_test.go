package clientapi_test

import (
	"regexp"
	"testing"

	"hearth/homeserver/permission"
	st "hearth/server/servertest"
)

// TestApplications: a person makes an application and its bot, resets the
// bot's token, and adds the bot to a guild through OAuth2 authorisation,
// with a managed role holding the permissions granted; who may do each
// step, and the bad requests, as Discord answers them.
func TestApplications(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, manager, member := s.Register(t, "owner", "correct horse"), s.Register(t, "manager", "correct horse"), s.Register(t, "member", "correct horse")

		app := ok(t, s.Do(t, "POST", "/api/v10/applications", owner, map[string]any{"name": "Helper Bot"}), 201)
		bot := app["bot"].(map[string]any)
		if app["id"] != bot["id"] || bot["username"] != "Helper_Bot" || bot["bot"] != true || app["name"] != "Helper Bot" ||
			app["owner"].(map[string]any)["id"] != userID(t, s, owner) || app["bot_public"] != true ||
			int64(app["flags"].(float64))&(1<<19) == 0 {
			t.Fatalf("application = %v", app)
		}
		appID := app["id"].(string)
		// The same name again: the bot's username gets a number.
		again := ok(t, s.Do(t, "POST", "/api/v10/applications", owner, map[string]any{"name": "Helper Bot"}), 201)
		if name := again["bot"].(map[string]any)["username"].(string); !regexp.MustCompile(`^Helper_Bot_\d{4}$`).MatchString(name) {
			t.Fatalf("second bot's username %q", name)
		}
		if apps := list(t, s.Do(t, "GET", "/api/v10/applications", owner, nil)); len(apps) != 2 {
			t.Fatalf("owner's applications: %d", len(apps))
		}
		for _, tc := range []struct {
			name   string
			body   any
			status int
			code   int
		}{
			{"name too short", map[string]any{"name": "x"}, 400, 50035},
			{"no name", map[string]any{}, 400, 50035},
			{"name not a string", map[string]any{"name": 5}, 400, 50035},
		} {
			st.Expect(t, s.Do(t, "POST", "/api/v10/applications", owner, tc.body), tc.status, st.Code(tc.code))
		}

		// Only the owner sees the application and resets its token.
		st.Expect(t, s.Do(t, "GET", "/api/v10/applications/"+appID, member, nil), 404, st.Code(10002))
		st.Expect(t, s.Do(t, "POST", "/api/v10/applications/"+appID+"/bot/reset", member, nil), 404, st.Code(10002))
		first := ok(t, s.Do(t, "POST", "/api/v10/applications/"+appID+"/bot/reset", owner, nil), 200)["token"].(string)
		me := ok(t, s.Do(t, "GET", "/api/v10/users/@me", "Bot "+first, nil), 200)
		if me["id"] != appID || me["bot"] != true {
			t.Fatalf("the bot's @me = %v", me)
		}
		if own := ok(t, s.Do(t, "GET", "/api/v10/applications/@me", "Bot "+first, nil), 200); own["id"] != appID {
			t.Fatalf("the bot's application = %v", own)
		}
		ok(t, s.Do(t, "GET", "/api/v10/oauth2/applications/@me", "Bot "+first, nil), 200)
		st.Expect(t, s.Do(t, "POST", "/api/v10/applications", "Bot "+first, map[string]any{"name": "Child"}), 403, st.Code(20001))
		// A bot has no password to log in with.
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]any{"login": "Helper_Bot", "password": ""}), 400, st.Code(50035))
		tok := ok(t, s.Do(t, "POST", "/api/v10/applications/"+appID+"/bot/reset", owner, nil), 200)["token"].(string)
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", "Bot "+first, nil), 401, st.Code(0))
		ok(t, s.Do(t, "GET", "/api/v10/users/@me", "Bot "+tok, nil), 200)

		// The owner may change the privileged intents, nothing else of
		// the flags.
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/applications/"+appID, owner, map[string]any{"flags": 1 << 23}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/applications/"+appID, member, map[string]any{"description": "mine"}), 404, st.Code(10002))
		up := ok(t, s.Do(t, "PATCH", "/api/v10/applications/"+appID, owner, map[string]any{"flags": 1 << 19, "description": "helps"}), 200)
		if up["flags"] != float64(1<<19) || up["description"] != "helps" {
			t.Fatalf("after PATCH: %v", up)
		}

		// Adding the bot to a guild.
		g := newGuild(t, s, owner, "Bots")
		invite(t, s, owner, g.general, manager, member)
		role := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", owner, map[string]any{"name": "managers",
			"permissions": perms(permission.ManageGuild | permission.SendMessages | permission.ViewChannel)}), 200)
		ok(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/members/"+userID(t, s, manager)+"/roles/"+role["id"].(string), owner, nil), 204)
		authorize := func(tok, client, scope, guild string, p permission.Set) st.Response {
			return s.Do(t, "POST", "/api/v10/oauth2/authorize?client_id="+client+"&scope="+scope+"&permissions="+perms(p), tok,
				map[string]any{"guild_id": guild, "permissions": perms(p), "authorize": true})
		}
		for _, tc := range []struct {
			name         string
			tok, client  string
			scope, guild string
			perms        permission.Set
			status, code int
		}{
			{"without MANAGE_GUILD", member, appID, "bot", g.id, 0, 403, 50013},
			{"granting what one lacks", manager, appID, "bot", g.id, permission.Administrator, 403, 50013},
			{"unknown application", owner, g.id, "bot", g.id, 0, 404, 10002},
			{"no bot scope", owner, appID, "identify", g.id, 0, 400, 50035},
			{"not a member of the guild", s.Register(t, "stranger", "correct horse"), appID, "bot", g.id, 0, 404, 10004},
			{"a bot authorising", "Bot " + tok, appID, "bot", g.id, 0, 403, 20001},
		} {
			st.Expect(t, authorize(tc.tok, tc.client, tc.scope, tc.guild, tc.perms), tc.status, st.Code(tc.code))
		}
		granted := permission.SendMessages | permission.ViewChannel
		if r := ok(t, authorize(manager, appID, "bot", g.id, granted), 200); r["location"] == nil {
			t.Fatalf("authorize answered %v", r)
		}
		ok(t, authorize(manager, appID, "bot", g.id, granted), 200) // again: nothing changes
		var botRole map[string]any
		for _, r := range list(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/roles", owner, nil)) {
			if r["managed"] == true {
				if botRole != nil {
					t.Fatal("two managed roles after authorising twice")
				}
				botRole = r
			}
		}
		if botRole == nil || botRole["name"] != "Helper Bot" || botRole["permissions"] != perms(granted) {
			t.Fatalf("the bot's role = %v", botRole)
		}
		m := ok(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/members/"+appID, owner, nil), 200)
		if roles := m["roles"].([]any); len(roles) != 1 || roles[0] != botRole["id"] {
			t.Fatalf("the bot's member = %v", m)
		}
		// The bot works in the guild with its token.
		ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/messages", "Bot "+tok, map[string]any{"content": "beep"}), 200)
		entries := ok(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/audit-logs?action_type=28", owner, nil), 200)["audit_log_entries"].([]any)
		if len(entries) != 1 || entries[0].(map[string]any)["target_id"] != appID {
			t.Fatalf("audit log of the bot's addition: %v", entries)
		}

		// The bot's role is the bot's alone: nobody gives it to someone
		// else, takes it from the bot or deletes it, not even the owner;
		// it goes when the bot leaves.
		botRoleID := botRole["id"].(string)
		st.Expect(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/members/"+userID(t, s, manager)+"/roles/"+botRoleID, owner, nil), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/members/"+appID+"/roles/"+botRoleID, owner, nil), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/members/"+appID, owner, map[string]any{"roles": []string{}}), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/roles/"+botRoleID, owner, nil), 403, st.Code(50013))
		ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/members/"+appID, owner, map[string]any{"nick": "helper"}), 200)
		ok(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/members/"+appID, owner, nil), 204)
		for _, r := range list(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/roles", owner, nil)) {
			if r["id"] == botRoleID {
				t.Fatal("the bot's role outlived the bot's membership")
			}
		}
		ok(t, authorize(owner, appID, "bot", g.id, granted), 200) // back, with a new role

		// A private application's bot is added by its owner only; a
		// banned bot not at all.
		other := again["id"].(string)
		ok(t, s.Do(t, "PATCH", "/api/v10/applications/"+other, owner, map[string]any{"bot_public": false}), 200)
		st.Expect(t, authorize(manager, other, "bot", g.id, 0), 404, st.Code(10002))
		ok(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/bans/"+other, owner, map[string]any{}), 204)
		st.Expect(t, authorize(owner, other, "bot", g.id, 0), 403, st.Code(40007))
	})
}
