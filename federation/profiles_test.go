package federation_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"hearth/federation"
	st "hearth/server/servertest"
)

// localIDOf finds the local ID of the member named name in a guild, as u's
// homeserver lists it.
func (u user) localIDOf(t *testing.T, guild, name string) string {
	t.Helper()
	for _, m := range list(t, u.do(t, "GET", "/api/v10/guilds/"+guild+"/members?limit=100", nil)) {
		if usr := m["user"].(map[string]any); usr["username"] == name {
			return usr["id"].(string)
		}
	}
	return ""
}

// profileSummary is what a profile shows of a user's own fields: bio,
// pronouns, accent colour, banner, the public_flags of the user object,
// and the badges with their descriptions.
func profileSummary(t *testing.T, u user, of string) string {
	t.Helper()
	p := ok(t, u.do(t, "GET", "/api/v10/users/"+of+"/profile", nil), 200)
	up := p["user_profile"].(map[string]any)
	var badges []string
	for _, b := range p["badges"].([]any) {
		m := b.(map[string]any)
		badges = append(badges, m["id"].(string)+"="+m["description"].(string))
	}
	return fmt.Sprintf("bio=%v pronouns=%v accent=%v banner=%v flags=%v badges=[%s]", up["bio"], up["pronouns"],
		up["accent_color"], up["banner"], p["user"].(map[string]any)["public_flags"], strings.Join(badges, " "))
}

// Profiles and badges across homeservers: a user's profile (bio, pronouns,
// accent colour) and badges travel with them, and the receiver shows the
// badges as their homeserver's ("Staff of b"), never as its own
// public_flags; later changes arrive with the user's next act. A rogue
// peer that signs correctly cannot set the profile or badges of the
// receiver's users or of a third server's: its joins, acts and
// relationship requests for them are refused and change nothing, while
// its own user's badges show, named by it.
func TestFederatedProfiles(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		a, b, c := st.Start(t, st.Options{Backend: backend}), st.Start(t, st.Options{}), st.Start(t, st.Options{})
		A, B, C := a.ServerName(), b.ServerName(), c.ServerName()
		// Each registers first on their homeserver and administers it.
		ann, bob, cat := register(t, a, "ann"), register(t, b, "bob"), register(t, c, "cat")

		ok(t, bob.do(t, "PATCH", "/api/v10/users/@me", map[string]any{"bio": "from B", "pronouns": "he/him",
			"accent_color": 0xABCDEF, "banner": "data:image/png;base64," + base64.StdEncoding.EncodeToString(testPNG(t))}), 200)
		ok(t, bob.do(t, "PUT", "/api/v10/admin/users/"+bob.id+"/badges/staff", nil), 200)
		ok(t, ann.do(t, "PUT", "/api/v10/admin/users/"+ann.id+"/badges/staff", nil), 200)

		g := ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Club"}), 201)["id"].(string)
		_, general := ann.guildNamed(t, "Club")
		code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
		ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+A, nil), 200)
		bobOnA := ann.localIDOf(t, g, "bob")
		if bobOnA == "" {
			t.Fatal("bob is not a member on A")
		}

		// The join carried bob's profile; his badge is B's.
		want := fmt.Sprintf("bio=from B pronouns=he/him accent=%v banner=<nil> flags=0 badges=[staff=Staff of %s]", float64(0xABCDEF), B)
		if got := profileSummary(t, ann, bobOnA); got != want {
			t.Fatalf("A's profile of bob:\n got %s\nwant %s", got, want)
		}
		if got := profileSummary(t, ann, ann.id); !strings.Contains(got, "flags=1 badges=[staff=Staff of "+A+"]") {
			t.Fatalf("A's profile of ann: %s", got)
		}
		p := ok(t, ann.do(t, "GET", "/api/v10/users/"+bobOnA+"/profile?with_mutual_guilds=true", nil), 200)
		if mg := p["mutual_guilds"].([]any); len(mg) != 1 || mg[0].(map[string]any)["id"] != g {
			t.Fatalf("mutual guilds of ann and bob on A: %v", mg)
		}

		// Changes arrive with bob's next act: a message in the Club.
		ok(t, bob.do(t, "PATCH", "/api/v10/users/@me", map[string]any{"bio": "updated", "accent_color": nil}), 200)
		ok(t, bob.do(t, "PUT", "/api/v10/admin/users/"+bob.id+"/badges/bug-hunter", nil), 200)
		_, bGeneral := bob.guildNamed(t, "Club")
		ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", map[string]any{"content": "hi from B"}), 200)
		want = fmt.Sprintf("bio=updated pronouns=he/him accent=<nil> banner=<nil> flags=0 badges=[staff=Staff of %s bug_hunter_level_1=Bug hunter of %s]", B, B)
		eventually(t, "A has bob's new profile", func() string {
			if got := profileSummary(t, ann, bobOnA); got != want {
				return got
			}
			return ""
		})
		// His messages on A carry no badge of B's as A's.
		for _, m := range list(t, ann.do(t, "GET", "/api/v10/channels/"+general+"/messages?limit=10", nil)) {
			if au := m["author"].(map[string]any); au["id"] == bobOnA && au["public_flags"] != float64(0) {
				t.Fatalf("bob's message on A shows public_flags %v", au["public_flags"])
			}
		}

		// ann's badge reaches B with her messages, as A's, and B's replica
		// shows no badge of A's as B's public_flags.
		ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "hi from A"}), 200)
		bGuild, _ := bob.guildNamed(t, "Club")
		annOnB := bob.localIDOf(t, bGuild, "ann")
		eventually(t, "B shows ann's badge as A's", func() string {
			if got := profileSummary(t, bob, annOnB); !strings.Contains(got, "flags=0 badges=[staff=Staff of "+A+"]") {
				return got
			}
			return ""
		})
		eventually(t, "B has ann's message", func() string {
			for _, m := range list(t, bob.do(t, "GET", "/api/v10/channels/"+bGeneral+"/messages?limit=10", nil)) {
				if m["content"] == "hi from A" {
					if f := m["author"].(map[string]any)["public_flags"]; f != float64(0) {
						t.Fatalf("ann's message on B shows public_flags %v", f)
					}
					return ""
				}
			}
			return "not yet"
		})

		// The rogue: C's own user's badges are C's to give, and show as
		// C's.
		ok(t, cat.do(t, "PUT", "/api/v10/admin/users/"+cat.id+"/badges/partner", nil), 200)
		ok(t, cat.do(t, "POST", "/api/v10/invites/"+code+"@"+A, nil), 200)
		catOnA := ann.localIDOf(t, g, "cat")
		if got := profileSummary(t, ann, catOnA); !strings.Contains(got, "badges=[partner=Partner of "+C+"]") {
			t.Fatalf("A's profile of cat: %s", got)
		}
		// But nobody else's.
		bobBefore, annBefore := profileSummary(t, ann, bobOnA), profileSummary(t, ann, ann.id)
		forged := func(id string) map[string]any {
			return map[string]any{"id": id, "username": "pwned", "global_name": "pwned",
				"profile": map[string]any{"bio": "pwned", "pronouns": "pwn", "accent_color": 1, "public_flags": 1 | 2 | 1<<49}}
		}
		stamp := newStamper()
		for _, tc := range []struct {
			name, path string
			body       map[string]any
		}{
			{"join as bob", federation.JoinPath, map[string]any{"invite": code, "user": forged(bob.id + "@" + B)}},
			{"join as ann", federation.JoinPath, map[string]any{"invite": code, "user": forged(ann.id + "@" + A)}},
			{"act as bob", federation.ActPath, stamp(c, map[string]any{"user": bob.id + "@" + B, "action": "message.create",
				"guild": g + "@" + A, "channel": general + "@" + A, "data": map[string]any{"content": "forged"}, "from": forged(bob.id + "@" + B)})},
			{"befriend as bob", federation.RelationshipPath, map[string]any{"kind": "request", "from": forged(bob.id + "@" + B), "to": ann.id + "@" + A}},
			{"befriend as ann", federation.RelationshipPath, map[string]any{"kind": "request", "from": forged(ann.id + "@" + A), "to": ann.id + "@" + A}},
		} {
			if status, answer := call(t, c, a, "POST", tc.path, tc.body); status != 403 {
				t.Fatalf("%s: answered %d %v, want 403", tc.name, status, answer)
			}
		}
		// An act of cat's own that carries bob's profile as its "from" is
		// done as cat's, and the profile is not taken.
		status, answer := call(t, c, a, "POST", federation.ActPath, stamp(c, map[string]any{"user": cat.id + "@" + C,
			"action": "message.create", "guild": g + "@" + A, "channel": general + "@" + A,
			"data": map[string]any{"content": "cat's own"}, "from": forged(bob.id + "@" + B)}))
		if status != 200 {
			t.Fatalf("cat's act answered %d %v", status, answer)
		}
		if got := profileSummary(t, ann, bobOnA); got != bobBefore {
			t.Fatalf("the rogue changed bob's profile on A:\n%s\n%s", bobBefore, got)
		}
		if got := profileSummary(t, ann, ann.id); got != annBefore {
			t.Fatalf("the rogue changed ann's profile:\n%s\n%s", annBefore, got)
		}
		for _, m := range list(t, ann.do(t, "GET", "/api/v10/guilds/"+g+"/members?limit=100", nil)) {
			if m["user"].(map[string]any)["username"] == "pwned" {
				t.Fatalf("the rogue renamed a member: %v", m)
			}
		}
	})
}
