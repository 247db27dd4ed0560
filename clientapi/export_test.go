package clientapi_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	st "hearth/server/servertest"
)

// TestExportAccount: GET /users/@me/export answers a zip of the caller's
// profile, sessions, relationships, guilds and messages (with links to
// their attachments), and nobody else's messages; exports are limited.
func TestExportAccount(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		ann, bob := s.Register(t, "ann", "correct horse"), s.Register(t, "bob", "correct horse")
		g := st.OK(t, s.Do(t, "POST", "/api/v10/guilds", ann, map[string]any{"name": "Club"}), 201)
		var general string
		for _, c := range st.List(t, s.Do(t, "GET", "/api/v10/guilds/"+g["id"].(string)+"/channels", ann, nil)) {
			if c["type"] == float64(0) {
				general = c["id"].(string)
			}
		}
		code := st.OK(t, s.Do(t, "POST", "/api/v10/channels/"+general+"/invites", ann, map[string]any{}), 200)["code"].(string)
		st.OK(t, s.Do(t, "POST", "/api/v10/invites/"+code, bob, nil), 200)
		for i := 0; i < 3; i++ {
			st.OK(t, s.Do(t, "POST", "/api/v10/channels/"+general+"/messages", ann, map[string]any{"content": "ann says " + string(rune('a'+i))}), 200)
		}
		st.OK(t, s.Do(t, "POST", "/api/v10/channels/"+general+"/messages", bob, map[string]any{"content": "bob says hi"}), 200)
		r := s.SendFiles(t, ann, general, `{"content":"with a file"}`, map[string][]byte{"notes.txt": []byte("hello")})
		st.Expect(t, r, 200, nil)
		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/relationships", ann, map[string]any{"username": "bob"}), 204, nil)
		st.OK(t, s.Do(t, "PATCH", "/api/v10/users/@me", ann, map[string]any{"pronouns": "she/her"}), 200)
		st.OK(t, s.Do(t, "PATCH", "/api/v10/users/@me/settings", ann, map[string]any{"theme": "light"}), 200)

		r = s.Do(t, "GET", "/api/v10/users/@me/export", ann, nil)
		st.Expect(t, r, 200, nil)
		if ct := r.Header.Get("Content-Type"); ct != "application/zip" {
			t.Fatalf("Content-Type %q", ct)
		}
		z, err := zip.NewReader(bytes.NewReader(r.Body), int64(len(r.Body)))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, f := range z.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			files[f.Name], _ = io.ReadAll(rc)
			rc.Close()
		}
		var user map[string]any
		if err := json.Unmarshal(files["account/user.json"], &user); err != nil || user["username"] != "ann" || user["pronouns"] != "she/her" {
			t.Fatalf("user.json: %s (%v)", files["account/user.json"], err)
		}
		var settings map[string]any
		if err := json.Unmarshal(files["account/settings.json"], &settings); err != nil || settings["theme"] != "light" {
			t.Fatalf("settings.json: %s (%v)", files["account/settings.json"], err)
		}
		var rels, guilds, sessions []map[string]any
		_ = json.Unmarshal(files["account/relationships.json"], &rels)
		_ = json.Unmarshal(files["servers/guilds.json"], &guilds)
		_ = json.Unmarshal(files["account/sessions.json"], &sessions)
		if len(rels) != 1 || rels[0]["type"] != float64(4) || rels[0]["user"].(map[string]any)["username"] != "bob" {
			t.Fatalf("relationships.json: %s", files["account/relationships.json"])
		}
		if len(guilds) != 1 || guilds[0]["name"] != "Club" || guilds[0]["owner"] != true {
			t.Fatalf("guilds.json: %s", files["servers/guilds.json"])
		}
		if len(sessions) != 1 {
			t.Fatalf("sessions.json: %s", files["account/sessions.json"])
		}
		var contents []string
		sc := bufio.NewScanner(bytes.NewReader(files["messages/messages.jsonl"]))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			contents = append(contents, m["content"].(string))
			if m["content"] == "with a file" {
				as := m["attachments"].([]any)
				if len(as) != 1 || !strings.Contains(as[0].(map[string]any)["url"].(string), "/attachments/") {
					t.Fatalf("attachment in the export: %v", m)
				}
				got := s.Do(t, "GET", strings.TrimPrefix(as[0].(map[string]any)["url"].(string), s.URL()), "", nil)
				if got.Status != 200 || string(got.Body) != "hello" {
					t.Fatalf("the exported link answers %d %q", got.Status, got.Body)
				}
			}
		}
		if strings.Join(contents, "|") != "ann says a|ann says b|ann says c|with a file" {
			t.Fatalf("exported messages: %q", contents)
		}
		if !bytes.Contains(files["messages/channels.json"], []byte(general)) {
			t.Fatalf("channels.json: %s", files["messages/channels.json"])
		}

		// Three an hour; the fourth is refused.
		for i := 0; i < 2; i++ {
			st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me/export", ann, nil), 200, nil)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me/export", ann, nil), 429, st.Code(0))
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me/export", "", nil), 401, st.Code(0))
	})
}
