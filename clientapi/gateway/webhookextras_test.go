package gateway_test

import (
	"testing"

	st "hearth/server/servertest"
)

// TestWebhookIsNoUser: a webhook's ID names no user, as on Discord: the
// user routes answer 10013 Unknown User, and the row that authors its
// messages cannot be looked up, befriended, blocked or messaged, by ID or
// by its name; a person's ID still works.
func TestWebhookIsNoUser(t *testing.T) {
	s := st.Start(t, st.Options{})
	tok := s.Register(t, "owner", "correct horse")
	friendTok := s.Register(t, "friend", "correct horse")
	_, general := newGuild(t, s, tok, "Hooks")
	w := do(t, s, "POST", "/api/v10/channels/"+general+"/webhooks", tok, map[string]any{"name": "Captain Hook"})
	wid := w["id"].(string)
	do(t, s, "POST", "/api/v10/webhooks/"+wid+"/"+w["token"].(string)+"?wait=true", "", map[string]any{"content": "posted"})
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v10/users/" + wid, nil},
		{"GET", "/api/v10/users/" + wid + "/profile", nil},
		{"POST", "/api/v10/users/@me/channels", map[string]any{"recipient_id": wid}},
		{"POST", "/api/v10/users/@me/channels", map[string]any{"recipients": []string{wid}}},
		{"PUT", "/api/v10/users/@me/relationships/" + wid, map[string]any{}},
		{"PUT", "/api/v10/users/@me/relationships/" + wid, map[string]any{"type": 2}},
	} {
		got := s.Do(t, r.method, r.path, tok, r.body)
		if got.Status != 404 {
			t.Fatalf("%s %s answered %d %s, want 404 10013", r.method, r.path, got.Status, got.Body)
		}
		st.Expect(t, got, 404, st.Code(10013))
	}
	st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/relationships", tok, map[string]any{"username": "webhook-" + wid}), 400, st.Code(80004))
	// The webhook's message still shows its author.
	msgs := listOf(t, s, "/api/v10/channels/"+general+"/messages", tok)
	if len(msgs) == 0 || msgs[0]["webhook_id"] != wid || msgs[0]["author"].(map[string]any)["username"] != "Captain Hook" {
		t.Fatalf("webhook message: %v", msgs)
	}
	// A person is still found.
	friend := do(t, s, "GET", "/api/v10/users/@me", friendTok, nil)
	if u := do(t, s, "GET", "/api/v10/users/"+friend["id"].(string), tok, nil); u["username"] != "friend" {
		t.Fatalf("GET /users/{person}: %v", u)
	}
}
