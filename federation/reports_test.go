package federation_test

import (
	"testing"

	st "hearth/server/servertest"
)

// A report of a message in another server's guild stays on the reporter's
// server, for its administrators; the origin hears nothing of it.
func TestReportInReplicaStaysHome(t *testing.T) {
	a, b := st.Start(t, st.Options{}), st.Start(t, st.Options{})
	ann, bob := register(t, a, "ann"), register(t, b, "bob") // each the first account, administering its server
	ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Club"}), 201)
	_, general := ann.guildNamed(t, "Club")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{"max_age": 0}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "questionable"}), 200)
	bGuild, bGeneral := bob.guildNamed(t, "Club")
	var msg string
	eventually(t, "ann's message on B", func() string {
		for _, m := range list(t, bob.do(t, "GET", "/api/v10/channels/"+bGeneral+"/messages", nil)) {
			if m["content"] == "questionable" {
				msg = m["id"].(string)
				return ""
			}
		}
		return "not yet"
	})
	r := ok(t, bob.do(t, "POST", "/api/v10/reports", map[string]any{"channel_id": bGeneral, "message_id": msg, "reason": "hmm"}), 201)
	if r["guild_id"] != bGuild || r["content"] != "questionable" {
		t.Fatalf("report on B: %v", r)
	}
	if l := list(t, bob.do(t, "GET", "/api/v10/admin/reports", nil)); len(l) != 1 || l[0]["id"] != r["id"] {
		t.Fatalf("B's admin reports: %v", l)
	}
	if l := list(t, ann.do(t, "GET", "/api/v10/admin/reports", nil)); len(l) != 0 {
		t.Fatalf("A's admin reports: %v", l)
	}
	gA, _ := ann.guildNamed(t, "Club")
	if l := list(t, ann.do(t, "GET", "/api/v10/guilds/"+gA+"/reports", nil)); len(l) != 0 {
		t.Fatalf("A's guild reports: %v", l)
	}
}
