package gateway_test

import (
	"strings"
	"testing"
	"time"

	st "hearth/server/servertest"
)

// TestDeleteAndDisableAccount: deleting one's account (Discord's POST
// /users/@me/delete) needs the password and no owned guild; it closes the
// live gateway with 4004, refuses the token over REST and at IDENTIFY,
// takes the account out of its guilds, keeps its messages (shown as from
// Discord's deleted user) and frees its name. Disabling ends the sessions
// and keeps the account, which signing in opens again.
func TestDeleteAndDisableAccount(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		ann, bob := s.Register(t, "ann", "correct horse"), s.Register(t, "bob", "correct horse")
		bobID := do(t, s, "GET", "/api/v10/users/@me", bob, nil)["id"].(string)
		guild, general := newGuild(t, s, ann, "Club")
		code := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", ann, map[string]any{})["code"].(string)
		do(t, s, "POST", "/api/v10/invites/"+code, bob, nil)
		msg := do(t, s, "POST", "/api/v10/channels/"+general+"/messages", bob, map[string]any{"content": "hello from bob"})["id"].(string)
		bobMe := do(t, s, "PATCH", "/api/v10/users/@me", bob, map[string]any{"global_name": "Bobby", "bio": "me",
			"pronouns": "he/him", "banner": profilePNG(t, 40, 20)})
		bobBanner, _ := bobMe["banner"].(string)
		if bobBanner == "" {
			t.Fatalf("bob's banner was not set: %v", bobMe)
		}

		live := dial(t, s, "?v=10&encoding=json")
		identify(live, bob, allIntents)

		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/delete", bob, map[string]any{"password": "wrong horse"}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/delete", bob, map[string]any{}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/delete", ann, map[string]any{"password": "correct horse"}), 400, st.Code(40011))
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", bob, nil), 200, nil)

		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/delete", bob, map[string]any{"password": "correct horse"}), 204, nil)
		if c := live.closeCode(); c != 4004 {
			t.Fatalf("the deleted account's gateway closed with %d, want 4004", c)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", bob, nil), 401, st.Code(0))
		again := dial(t, s, "?v=10&encoding=json")
		again.must(5 * time.Second)
		again.send(2, map[string]any{"token": bob, "intents": allIntents, "properties": map[string]string{"os": "linux"}})
		if c := again.closeCode(); c != 4004 {
			t.Fatalf("IDENTIFY with the deleted account's token closed with %d, want 4004", c)
		}
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/login", "", map[string]string{"login": "bob", "password": "correct horse"}), 400, st.Code(50035))

		// The message stays, from Discord's deleted user.
		m := do(t, s, "GET", "/api/v10/channels/"+general+"/messages/"+msg, ann, nil)
		author := m["author"].(map[string]any)
		if m["content"] != "hello from bob" || author["id"] != bobID || !strings.HasPrefix(author["username"].(string), "deleted_user_") ||
			author["global_name"] != "Deleted User" || author["avatar"] != nil || author["discriminator"] != "0" {
			t.Fatalf("bob's message after deletion: %v", m)
		}
		pub := do(t, s, "GET", "/api/v10/users/"+bobID, ann, nil)
		if pub["global_name"] != "Deleted User" || pub["username"] != author["username"] {
			t.Fatalf("bob after deletion: %v", pub)
		}
		// Nothing of the profile stays: no bio, pronouns or banner.
		prof := do(t, s, "GET", "/api/v10/users/"+bobID+"/profile", ann, nil)
		up := prof["user_profile"].(map[string]any)
		if up["bio"] != "" || up["pronouns"] != "" || up["banner"] != nil || prof["user"].(map[string]any)["banner"] != nil {
			t.Fatalf("bob's profile after deletion: %v", prof)
		}
		st.Expect(t, s.Do(t, "GET", "/banners/"+bobID+"/"+bobBanner+".png", "", nil), 404, nil)
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+guild+"/members/"+bobID, ann, nil), 404, st.Code(10007))
		// The name is free again; the deleted users' names are nobody's.
		if tok := s.Register(t, "bob", "battery staple"); tok == "" {
			t.Fatal("bob's name was not freed")
		}
		st.Expect(t, s.Do(t, "POST", "/api/v10/auth/register", "", map[string]string{"username": author["username"].(string), "password": "correct horse"}), 400, st.Code(50035))

		// Disabling: the sessions end; signing in opens the account as it was.
		cat := s.Register(t, "cat", "correct horse")
		do(t, s, "PATCH", "/api/v10/users/@me", cat, map[string]any{"global_name": "Kitty"})
		catLive := dial(t, s, "?v=10&encoding=json")
		identify(catLive, cat, allIntents)
		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/disable", cat, map[string]any{"password": "nope nope"}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/disable", cat, map[string]any{"password": "correct horse"}), 204, nil)
		if c := catLive.closeCode(); c != 4004 {
			t.Fatalf("the disabled account's gateway closed with %d, want 4004", c)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", cat, nil), 401, st.Code(0))
		cat2 := do(t, s, "POST", "/api/v10/auth/login", "", map[string]string{"login": "cat", "password": "correct horse"})["token"].(string)
		if me := do(t, s, "GET", "/api/v10/users/@me", cat2, nil); me["username"] != "cat" || me["global_name"] != "Kitty" {
			t.Fatalf("cat after signing in again: %v", me)
		}
	})
}

// TestClosedOwnersBotsStop: the bots of an account that is disabled or
// deleted stop with it: their gateways close with 4004 and their tokens
// answer 401; a disabled owner who signs in again starts a bot anew by
// resetting its token.
func TestClosedOwnersBotsStop(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		bot := func(owner, name string) string {
			app := do(t, s, "POST", "/api/v10/applications", owner, map[string]any{"name": name})
			return "Bot " + do(t, s, "POST", "/api/v10/applications/"+app["id"].(string)+"/bot/reset", owner, nil)["token"].(string)
		}
		ann, dan := s.Register(t, "ann", "correct horse"), s.Register(t, "dan", "correct horse")
		annBot, danBot := bot(ann, "Annbot"), bot(dan, "Danbot")
		live, danLive := dial(t, s, "?v=10&encoding=json"), dial(t, s, "?v=10&encoding=json")
		identify(live, annBot, 1)
		identify(danLive, danBot, 1)

		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/disable", ann, map[string]any{"password": "correct horse"}), 204, nil)
		if c := live.closeCode(); c != 4004 {
			t.Fatalf("the disabled owner's bot's gateway closed with %d, want 4004", c)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", annBot, nil), 401, st.Code(0))
		// dan's bot is not touched.
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", danBot, nil), 200, nil)

		ann = do(t, s, "POST", "/api/v10/auth/login", "", map[string]string{"login": "ann", "password": "correct horse"})["token"].(string)
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", annBot, nil), 401, st.Code(0))
		apps := listOf(t, s, "/api/v10/applications", ann)
		if len(apps) != 1 {
			t.Fatalf("ann's applications: %v", apps)
		}
		fresh := "Bot " + do(t, s, "POST", "/api/v10/applications/"+apps[0]["id"].(string)+"/bot/reset", ann, nil)["token"].(string)
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", fresh, nil), 200, nil)

		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/delete", dan, map[string]any{"password": "correct horse"}), 204, nil)
		if c := danLive.closeCode(); c != 4004 {
			t.Fatalf("the deleted owner's bot's gateway closed with %d, want 4004", c)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me", danBot, nil), 401, st.Code(0))
	})
}
