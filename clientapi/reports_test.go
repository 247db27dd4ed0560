package clientapi_test

import (
	"testing"

	st "hearth/server/servertest"
)

// TestReports: a member reports a message they can read (a stranger
// cannot), or a user; the guild's moderators (MANAGE_MESSAGES) list and
// resolve its message reports; administrators list and resolve every
// report; reports are limited per user.
func TestReports(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		root := s.Register(t, "root", "correct horse") // the first account administers the server
		ann, mod, bob, eve := s.Register(t, "ann", "correct horse"), s.Register(t, "mod", "correct horse"),
			s.Register(t, "bob", "correct horse"), s.Register(t, "eve", "correct horse")
		idOf := func(tok string) string {
			return st.OK(t, s.Do(t, "GET", "/api/v10/users/@me", tok, nil), 200)["id"].(string)
		}
		modID, bobID := idOf(mod), idOf(bob)
		g := st.OK(t, s.Do(t, "POST", "/api/v10/guilds", ann, map[string]any{"name": "Club"}), 201)["id"].(string)
		var general string
		for _, c := range st.List(t, s.Do(t, "GET", "/api/v10/guilds/"+g+"/channels", ann, nil)) {
			if c["type"] == float64(0) {
				general = c["id"].(string)
			}
		}
		code := st.OK(t, s.Do(t, "POST", "/api/v10/channels/"+general+"/invites", ann, map[string]any{}), 200)["code"].(string)
		for _, tok := range []string{mod, bob} {
			st.OK(t, s.Do(t, "POST", "/api/v10/invites/"+code, tok, nil), 200)
		}
		role := st.OK(t, s.Do(t, "POST", "/api/v10/guilds/"+g+"/roles", ann, map[string]any{"name": "mods", "permissions": "8192"}), 200)["id"].(string)
		st.Expect(t, s.Do(t, "PUT", "/api/v10/guilds/"+g+"/members/"+modID+"/roles/"+role, ann, nil), 204, nil)
		msg := st.OK(t, s.Do(t, "POST", "/api/v10/channels/"+general+"/messages", bob, map[string]any{"content": "buy cheap stuff"}), 200)["id"].(string)

		report := func(tok string, body map[string]any) st.Response {
			return s.Do(t, "POST", "/api/v10/reports", tok, body)
		}
		st.Expect(t, report(eve, map[string]any{"channel_id": general, "message_id": msg, "reason": "spam"}), 404, st.Code(10003))
		for _, bad := range []map[string]any{
			{"channel_id": general, "message_id": msg},
			{"channel_id": general, "message_id": msg, "reason": ""},
			{"channel_id": general, "message_id": msg, "user_id": bobID, "reason": "x"},
			{"message_id": msg, "reason": "x"},
			{"reason": "x"},
			{"user_id": idOf(ann), "reason": "me"},
		} {
			st.Expect(t, report(ann, bad), 400, st.Code(50035))
		}
		st.Expect(t, report(ann, map[string]any{"user_id": "12345", "reason": "who"}), 404, st.Code(10013))
		mr := st.OK(t, report(ann, map[string]any{"channel_id": general, "message_id": msg, "reason": "spam"}), 201)
		if mr["type"] != "message" || mr["content"] != "buy cheap stuff" || mr["guild_id"] != g || mr["resolved_at"] != nil ||
			mr["target_user"].(map[string]any)["id"] != bobID || mr["reporter"].(map[string]any)["username"] != "ann" {
			t.Fatalf("message report: %v", mr)
		}
		ur := st.OK(t, report(ann, map[string]any{"user_id": bobID, "reason": "rude"}), 201)
		if ur["type"] != "user" || ur["guild_id"] != nil || ur["content"] != nil {
			t.Fatalf("user report: %v", ur)
		}

		reports := "/api/v10/guilds/" + g + "/reports"
		st.Expect(t, s.Do(t, "GET", reports, bob, nil), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "GET", reports, eve, nil), 404, st.Code(10004))
		for _, tok := range []string{ann, mod} {
			if l := st.List(t, s.Do(t, "GET", reports, tok, nil)); len(l) != 1 || l[0]["id"] != mr["id"] {
				t.Fatalf("guild reports: %v", l)
			}
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/admin/reports", ann, nil), 403, st.Code(50013))
		if l := st.List(t, s.Do(t, "GET", "/api/v10/admin/reports", root, nil)); len(l) != 2 || l[0]["id"] != ur["id"] || l[1]["id"] != mr["id"] {
			t.Fatalf("admin reports: %v", l)
		}

		// Resolving: a moderator resolves the guild's report, not a user's.
		st.Expect(t, s.Do(t, "POST", reports+"/"+ur["id"].(string)+"/resolve", mod, map[string]any{}), 404, st.Code(0))
		st.Expect(t, s.Do(t, "POST", reports+"/"+mr["id"].(string)+"/resolve", bob, map[string]any{}), 403, st.Code(50013))
		done := st.OK(t, s.Do(t, "POST", reports+"/"+mr["id"].(string)+"/resolve", mod, map[string]any{"resolution": "deleted it"}), 200)
		if done["resolved_at"] == nil || done["resolved_by"] != modID || done["resolution"] != "deleted it" {
			t.Fatalf("resolved: %v", done)
		}
		if l := st.List(t, s.Do(t, "GET", reports+"?open=true", mod, nil)); len(l) != 0 {
			t.Fatalf("open reports after resolving: %v", l)
		}
		st.OK(t, s.Do(t, "POST", "/api/v10/admin/reports/"+ur["id"].(string)+"/resolve", root, map[string]any{"resolution": "warned"}), 200)
		if l := st.List(t, s.Do(t, "GET", "/api/v10/admin/reports?open=true", root, nil)); len(l) != 0 {
			t.Fatalf("open admin reports: %v", l)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/admin/reports?limit=0", root, nil), 400, st.Code(50035))

		// Ten in ten minutes, counted once a report is well formed (the
		// unknown user's was): three so far.
		for i := 0; i < 7; i++ {
			st.OK(t, report(ann, map[string]any{"user_id": bobID, "reason": "again"}), 201)
		}
		st.Expect(t, report(ann, map[string]any{"user_id": bobID, "reason": "again"}), 429, st.Code(0))
	})
}
