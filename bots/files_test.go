package bots_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	st "hearth/server/servertest"
)

// interactWithFile posts a command interaction with one file, as
// Discord's client does: multipart, payload_json and files[0].
func (p *person) interactWithFile(body map[string]any, name, data string) {
	p.t.Helper()
	body["session_id"] = p.session
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	payload, _ := json.Marshal(body)
	fw, _ := w.CreateFormField("payload_json")
	_, _ = fw.Write(payload)
	ff, _ := w.CreateFormFile("files[0]", name)
	_, _ = ff.Write([]byte(data))
	w.Close()
	req, _ := http.NewRequest("POST", p.s.URL()+"/api/v10/interactions", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", p.tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 204 {
		b, _ := io.ReadAll(res.Body)
		p.t.Fatalf("POST /interactions with a file: %d %s", res.StatusCode, b)
	}
}

// fileOf fetches a message's only attachment and checks its name.
func fileOf(t *testing.T, m map[string]any, name string) string {
	t.Helper()
	atts, _ := m["attachments"].([]any)
	if len(atts) != 1 || atts[0].(map[string]any)["filename"] != name {
		t.Fatalf("want one attachment %s in %v", name, m)
	}
	res, err := http.Get(atts[0].(map[string]any)["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("attachment: %d %s", res.StatusCode, b)
	}
	return string(b)
}

// TestDiscordJSFiles runs an unmodified discord.js v14 bot that reads a
// command's attachment option (getAttachment, and fetches it), replies
// with a file (reply({files})), follows up a deferred answer with a file
// (followUp({files})), and handles a click on a button of its ephemeral
// reply with update(), which edits the ephemeral message for the person.
func TestDiscordJSFiles(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		humanTok := s.Register(t, "human", "correct horse")
		gid, general := newGuild(t, s, humanTok, "Files")
		tok, appID := newBot(t, s, humanTok, "jsfiles", gid)
		human := newPerson(t, s, humanTok)
		bot := runDiscordJS(t, s, "Bot "+tok, "files", nil)
		bot.expect("ready")
		if reg := bot.expect("registered"); fmt.Sprint(reg["names"]) != "[hidden later upload]" {
			t.Fatalf("registered = %v", reg)
		}
		cmd := map[string]string{}
		for _, c := range st.List(t, s.Do(t, "GET", "/api/v10/applications/"+appID+"/commands", "Bot "+tok, nil)) {
			cmd[c["name"].(string)] = c["id"].(string)
		}
		command := func(name string, data map[string]any) map[string]any {
			if data == nil {
				data = map[string]any{}
			}
			data["id"], data["name"], data["type"] = cmd[name], name, 1
			return map[string]any{"type": 2, "application_id": appID, "guild_id": gid, "channel_id": general, "data": data}
		}

		human.interactWithFile(command("upload", map[string]any{
			"options":     []any{map[string]any{"type": 11, "name": "file", "value": "0"}},
			"attachments": []any{map[string]any{"id": "0", "filename": "cat.txt"}},
		}), "cat.txt", "cat bytes")
		if up := bot.expect("upload"); up["name"] != "cat.txt" || up["size"] != float64(9) {
			t.Fatalf("upload = %v", up)
		}
		got := human.await("MESSAGE_CREATE", content("got cat.txt 9 bytes"))
		if body := fileOf(t, got, "echo.txt"); body != "echo:cat bytes" {
			t.Fatalf("reply file holds %q", body)
		}

		human.interact(command("later", nil))
		loading := human.await("MESSAGE_CREATE", func(m map[string]any) bool { return m["flags"] == float64(128) })
		filled := human.await("MESSAGE_UPDATE", func(m map[string]any) bool { return m["id"] == loading["id"] })
		if filled["content"] != "report" || fileOf(t, filled, "report.txt") != "report body" {
			t.Fatalf("deferred answer filled in: %v", filled)
		}
		if l := bot.expect("later"); l["message"] != loading["id"] || l["files"] != float64(1) {
			t.Fatalf("later = %v", l)
		}

		human.interact(command("hidden", nil))
		hidden := human.await("MESSAGE_CREATE", content("hidden"))
		bot.expect("hidden")
		human.interact(map[string]any{"type": 3, "application_id": appID, "guild_id": gid, "channel_id": general,
			"message_id": hidden["id"], "data": map[string]any{"custom_id": "reveal", "component_type": 2}})
		if btn := bot.expect("button"); btn["custom_id"] != "reveal" || btn["ephemeral"] != true || btn["content"] != "hidden" {
			t.Fatalf("button = %v", btn)
		}
		updated := human.await("MESSAGE_UPDATE", func(m map[string]any) bool { return m["id"] == hidden["id"] })
		if updated["content"] != "revealed" || updated["flags"] != float64(64) {
			t.Fatalf("ephemeral message after the click: %v", updated)
		}
		bot.finish()
	})
}
