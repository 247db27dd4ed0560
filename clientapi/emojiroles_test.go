package clientapi_test

import (
	"testing"

	st "hearth/server/servertest"
)

// TestEmojiRoles: a custom emoji with roles may be used only by members
// holding one of them: in reactions (400 10014 otherwise, as for an
// unknown emoji) and in messages (its markup goes as ":name:" text).
func TestEmojiRoles(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, vip, plain := s.Register(t, "owner", "correct horse"), s.Register(t, "vip", "correct horse"), s.Register(t, "plain", "correct horse")
		g := newGuild(t, s, owner, "Emoji roles")
		invite(t, s, owner, g.general, vip, plain)
		role := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", owner, map[string]any{"name": "vip"}), 200)["id"].(string)
		ok(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/members/"+userID(t, s, vip)+"/roles/"+role, owner, nil), 204)
		emojis := "/api/v10/guilds/" + g.id + "/emojis"
		e := ok(t, s.Do(t, "POST", emojis, owner, map[string]any{"name": "star", "image": dataURI("image/png", pngOfSize(t, 16, 16)), "roles": []string{role}}), 201)
		id := e["id"].(string)
		if rs, _ := e["roles"].([]any); len(rs) != 1 || rs[0] != role {
			t.Fatalf("created emoji = %v", e)
		}
		if l := list(t, s.Do(t, "GET", emojis, plain, nil)); len(l) != 1 || len(l[0]["roles"].([]any)) != 1 {
			t.Fatalf("emoji list = %v", l)
		}

		msg := ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/messages", owner, map[string]any{"content": "react here"}), 200)["id"].(string)
		react := "/api/v10/channels/" + g.general + "/messages/" + msg + "/reactions/star:" + id + "/@me"
		st.Expect(t, s.Do(t, "PUT", react, plain, nil), 400, st.Code(10014))
		st.Expect(t, s.Do(t, "PUT", react, owner, nil), 400, st.Code(10014)) // the roles bind the owner too
		ok(t, s.Do(t, "PUT", react, vip, nil), 204)

		send := func(tok, content string) string {
			t.Helper()
			return ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/messages", tok, map[string]any{"content": content}), 200)["content"].(string)
		}
		markup := "<:star:" + id + ">"
		if got := send(plain, "look "+markup+" and <:nothere:1234>"); got != "look :star: and <:nothere:1234>" {
			t.Fatalf("content from a member without the role = %q", got)
		}
		if got := send(vip, "look "+markup); got != "look "+markup {
			t.Fatalf("content from a member with the role = %q", got)
		}
		mine := ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/messages", plain, map[string]any{"content": "plain text"}), 200)["id"].(string)
		edited := ok(t, s.Do(t, "PATCH", "/api/v10/channels/"+g.general+"/messages/"+mine, plain, map[string]any{"content": "now " + markup}), 200)
		if edited["content"] != "now :star:" {
			t.Fatalf("edited content = %v", edited["content"])
		}

		// Bad roles change nothing: another guild's role, @everyone.
		other := newGuild(t, s, owner, "Other")
		foreign := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+other.id+"/roles", owner, map[string]any{"name": "x"}), 200)["id"].(string)
		for _, bad := range []string{foreign, g.id} {
			st.Expect(t, s.Do(t, "PATCH", emojis+"/"+id, owner, map[string]any{"roles": []string{bad}}), 404, st.Code(10011))
		}
		st.Expect(t, s.Do(t, "PATCH", emojis+"/"+id, plain, map[string]any{"roles": []string{}}), 403, st.Code(50013))
		// A rename keeps the roles; clearing them lets everyone use it.
		renamed := ok(t, s.Do(t, "PATCH", emojis+"/"+id, owner, map[string]any{"name": "bigstar"}), 200)
		if renamed["name"] != "bigstar" || len(renamed["roles"].([]any)) != 1 {
			t.Fatalf("renamed = %v", renamed)
		}
		cleared := ok(t, s.Do(t, "PATCH", emojis+"/"+id, owner, map[string]any{"roles": nil}), 200)
		if len(cleared["roles"].([]any)) != 0 {
			t.Fatalf("cleared = %v", cleared)
		}
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/messages/"+msg+"/reactions/bigstar:"+id+"/@me", plain, nil), 204)
		// Deleting a role takes it off the emoji.
		ok(t, s.Do(t, "PATCH", emojis+"/"+id, owner, map[string]any{"roles": []string{role}}), 200)
		ok(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/roles/"+role, owner, nil), 204)
		if e := ok(t, s.Do(t, "GET", emojis+"/"+id, owner, nil), 200); len(e["roles"].([]any)) != 0 {
			t.Fatalf("after the role's deletion = %v", e)
		}
	})
}
