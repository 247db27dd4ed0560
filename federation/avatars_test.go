package federation_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"testing"

	"hearth/federation"
	st "hearth/server/servertest"
)

// pngOf is a 3×3 PNG with one pixel of the given red: distinct images for
// distinct avatars.
func pngOf(t *testing.T, red uint8) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 3, 3))
	img.Pix[0], img.Pix[3] = red, 255
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// memberUser is the user object of the member named name, as u's
// homeserver lists the guild's members.
func memberUser(t *testing.T, u user, guild, name string) map[string]any {
	t.Helper()
	for _, m := range list(t, u.do(t, "GET", "/api/v10/guilds/"+guild+"/members?limit=100", nil)) {
		if usr := m["user"].(map[string]any); usr["username"] == name {
			return usr
		}
	}
	t.Fatalf("no member %s", name)
	return nil
}

// Remote users' avatars and the bridged mark (spec/federation.md §5,
// §7.7): bob of B has an avatar and is marked bridged; both travel in his
// user object (the join, his acts, the origin's payloads), A serves his
// avatar, fetched once from B, and a new avatar arrives with his next act.
// The mark shows as hearth_bridged on A. C, a third server in the guild,
// takes neither from A's copy of bob: only his own server sets them. A rogue peer signing correctly cannot set
// the avatar or the mark of a user not its own: its joins and acts for
// bob are refused, and a profile it carries for him is ignored.
func TestFederatedAvatarsAndBridgedMark(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		a, b, c := st.Start(t, st.Options{Backend: backend}), st.Start(t, st.Options{}), st.Start(t, st.Options{})
		A, B := a.ServerName(), b.ServerName()
		ann, bob, cat := register(t, a, "ann"), register(t, b, "bob"), register(t, c, "cat")

		first := pngOf(t, 10)
		ok(t, bob.do(t, "PATCH", "/api/v10/users/@me", map[string]any{"avatar": "data:image/png;base64," +
			base64.StdEncoding.EncodeToString(first)}), 200)
		ok(t, bob.do(t, "PUT", "/api/v10/admin/users/"+bob.id+"/badges/bridged", nil), 200)
		if me := ok(t, bob.do(t, "GET", "/api/v10/users/@me", nil), 200); me["hearth_bridged"] != true || me["avatar"] != hashOf(first) {
			t.Fatalf("bob on B: %v", me)
		}

		g := ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Club"}), 201)["id"].(string)
		_, general := ann.guildNamed(t, "Club")
		code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
		ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+A, nil), 200)

		// The join carried both.
		bobOnA := memberUser(t, ann, g, "bob")
		if bobOnA["avatar"] != hashOf(first) || bobOnA["hearth_bridged"] != true {
			t.Fatalf("bob as A lists him: %v", bobOnA)
		}
		// A serves his avatar, copied from B.
		avatarPath := func(id, hash string) string { return "/avatars/" + id + "/" + hash + ".png" }
		if r := a.Do(t, "GET", avatarPath(bobOnA["id"].(string), hashOf(first)), "", nil); r.Status != 200 || !bytes.Equal(r.Body, first) {
			t.Fatalf("A serves bob's avatar: %d, %d bytes", r.Status, len(r.Body))
		}
		// ann has neither, on A nor on B.
		if annOnA := memberUser(t, ann, g, "ann"); annOnA["avatar"] != nil || annOnA["hearth_bridged"] != nil {
			t.Fatalf("ann on A: %v", annOnA)
		}

		// A new avatar comes with bob's next act; the old one is gone.
		second := pngOf(t, 20)
		ok(t, bob.do(t, "PATCH", "/api/v10/users/@me", map[string]any{"avatar": "data:image/png;base64," +
			base64.StdEncoding.EncodeToString(second)}), 200)
		bGuild, bGeneral := bob.guildNamed(t, "Club")
		ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", map[string]any{"content": "new face"}), 200)
		eventually(t, "A has bob's new avatar", func() string {
			for _, m := range list(t, ann.do(t, "GET", "/api/v10/channels/"+general+"/messages?limit=10", nil)) {
				au := m["author"].(map[string]any)
				if m["content"] == "new face" && au["avatar"] == hashOf(second) && au["hearth_bridged"] == true {
					return ""
				}
			}
			return "not yet"
		})
		if r := a.Do(t, "GET", avatarPath(bobOnA["id"].(string), hashOf(second)), "", nil); r.Status != 200 || !bytes.Equal(r.Body, second) {
			t.Fatalf("A serves bob's new avatar: %d, %d bytes", r.Status, len(r.Body))
		}
		if r := a.Do(t, "GET", avatarPath(bobOnA["id"].(string), hashOf(first)), "", nil); r.Status != 404 {
			t.Fatalf("A still serves bob's old avatar: %d", r.Status)
		}
		if annOnB := memberUser(t, bob, bGuild, "ann"); annOnB["avatar"] != nil || annOnB["hearth_bridged"] != nil {
			t.Fatalf("ann on B: %v", annOnB)
		}

		// cat of C joins too: A's copy of bob, in A's snapshot and member
		// pages, is A's word, not B's, and C takes neither his avatar nor
		// his mark from it (nor from A's messages of his).
		ok(t, cat.do(t, "POST", "/api/v10/invites/"+code+"@"+A, nil), 200)
		cGuild, cGeneral := cat.guildNamed(t, "Club")
		if u := memberUser(t, cat, cGuild, "bob"); u["avatar"] != nil || u["hearth_bridged"] != nil {
			t.Fatalf("C took bob's profile from A: %v", u)
		}
		ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", map[string]any{"content": "seen by C"}), 200)
		eventually(t, "C has bob's message", func() string {
			for _, m := range list(t, cat.do(t, "GET", "/api/v10/channels/"+cGeneral+"/messages?limit=10", nil)) {
				if m["content"] == "seen by C" {
					if au := m["author"].(map[string]any); au["avatar"] != nil || au["hearth_bridged"] != nil {
						t.Fatalf("C shows bob's message with A's copy of him: %v", au)
					}
					return ""
				}
			}
			return "not yet"
		})

		// The rogue: C signs for bob, or carries a profile of his.
		forged := func(id string) map[string]any {
			return map[string]any{"id": id, "username": "bob", "profile": map[string]any{"bio": "", "pronouns": "",
				"public_flags": 0, "avatar": hashOf(pngOf(t, 30))}}
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
		} {
			if status, answer := call(t, c, a, "POST", tc.path, tc.body); status != 403 {
				t.Fatalf("%s: answered %d %v, want 403", tc.name, status, answer)
			}
		}
		status, answer := call(t, c, a, "POST", federation.ActPath, stamp(c, map[string]any{"user": cat.id + "@" + c.ServerName(),
			"action": "message.create", "guild": g + "@" + A, "channel": general + "@" + A,
			"data": map[string]any{"content": "cat's own"}, "from": forged(bob.id + "@" + B)}))
		if status != 200 {
			t.Fatalf("cat's act answered %d %v", status, answer)
		}
		if u := memberUser(t, ann, g, "bob"); u["avatar"] != hashOf(second) || u["hearth_bridged"] != true {
			t.Fatalf("the rogue changed bob on A: %v", u)
		}
		if u := memberUser(t, ann, g, "ann"); u["avatar"] != nil || u["hearth_bridged"] != nil {
			t.Fatalf("the rogue changed ann on A: %v", u)
		}
		// bob's mark is B's to take back.
		ok(t, bob.do(t, "DELETE", "/api/v10/admin/users/"+bob.id+"/badges/bridged", nil), 200)
		ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", map[string]any{"content": "not bridged now"}), 200)
		eventually(t, "A drops bob's mark", func() string {
			if u := memberUser(t, ann, g, "bob"); u["hearth_bridged"] != nil {
				return fmt.Sprint(u)
			}
			return ""
		})
	})
}
