package clientapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hearth/homeserver"
	"hearth/homeserver/permission"
	st "hearth/server/servertest"
	"hearth/snowflake"
)

func send(t *testing.T, s *st.Server, tok, channel string, body map[string]any) map[string]any {
	t.Helper()
	return ok(t, s.Do(t, "POST", "/api/v10/channels/"+channel+"/messages", tok, body), 200)
}

func TestSendAndRead(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, member, outsider := s.Register(t, "owner", "correct horse"), s.Register(t, "member", "correct horse"), s.Register(t, "outsider", "correct horse")
		g := newGuild(t, s, owner, "Talk")
		invite(t, s, owner, g.general, member)
		memberID := userID(t, s, member)

		m := send(t, s, member, g.general, map[string]any{"content": "hello <@" + userID(t, s, owner) + "> @everyone"})
		for _, field := range []string{"id", "channel_id", "author", "content", "timestamp", "edited_timestamp", "tts", "mention_everyone", "mentions", "mention_roles", "attachments", "embeds", "pinned", "type"} {
			if _, has := m[field]; !has {
				t.Fatalf("message lacks %q: %v", field, m)
			}
		}
		if m["edited_timestamp"] != nil || m["type"] != float64(0) || m["author"].(map[string]any)["id"] != memberID ||
			len(m["mentions"].([]any)) != 1 || m["mention_everyone"] != false || m["guild_id"] != g.id {
			t.Fatalf("message = %v", m)
		}
		// The owner may ping everyone; the default member may not.
		if e := send(t, s, owner, g.general, map[string]any{"content": "@everyone wake up"}); e["mention_everyone"] != true {
			t.Fatalf("owner's @everyone = %v", e["mention_everyone"])
		}

		// 30 more messages, then paging.
		var ids []string
		for i := range 30 {
			ids = append(ids, send(t, s, owner, g.general, map[string]any{"content": fmt.Sprintf("n%d", i)})["id"].(string))
		}
		page := list(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages?limit=10", member, nil))
		if len(page) != 10 || page[0]["id"] != ids[29] || page[9]["id"] != ids[20] {
			t.Fatalf("newest page: %d, first %v", len(page), page[0]["id"])
		}
		before := list(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages?limit=5&before="+ids[10], member, nil))
		if len(before) != 5 || before[0]["id"] != ids[9] || before[4]["id"] != ids[5] {
			t.Fatalf("before page = %v", before)
		}
		after := list(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages?limit=5&after="+ids[10], member, nil))
		if len(after) != 5 || after[0]["id"] != ids[15] || after[4]["id"] != ids[11] {
			t.Fatalf("after page: first %v last %v", after[0]["id"], after[4]["id"])
		}
		around := list(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages?limit=5&around="+ids[15], member, nil))
		found := false
		for _, m := range around {
			found = found || m["id"] == ids[15]
		}
		if len(around) != 5 || !found {
			t.Fatalf("around page = %v", around)
		}
		ok(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages/"+ids[3], member, nil), 200)

		bad := []struct {
			name         string
			method, path string
			tok          string
			body         any
			status, code int
		}{
			{"limit 0", "GET", "/messages?limit=0", member, nil, 400, 50035},
			{"limit 1000", "GET", "/messages?limit=1000", member, nil, 400, 50035},
			{"around with before", "GET", "/messages?around=" + ids[3] + "&before=" + ids[4], member, nil, 400, 50035},
			{"unknown message", "GET", "/messages/12345", member, nil, 404, 10008},
			{"empty", "POST", "/messages", member, map[string]any{"content": "  "}, 400, 50006},
			{"too long", "POST", "/messages", member, map[string]any{"content": strings.Repeat("x", 4001)}, 400, 50035},
			{"wrong type", "POST", "/messages", member, map[string]any{"content": 5}, 400, 50035},
			{"outsider reads", "GET", "/messages", outsider, nil, 404, 10003},
			{"outsider sends", "POST", "/messages", outsider, map[string]any{"content": "hi"}, 404, 10003},
			{"reply to unknown", "POST", "/messages", member, map[string]any{"content": "re", "message_reference": map[string]any{"message_id": "1"}}, 400, 50035},
			{"11 embeds", "POST", "/messages", owner, map[string]any{"content": "e", "embeds": make([]map[string]any, 11)}, 400, 50035},
		}
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) {
				st.Expect(t, s.Do(t, c.method, "/api/v10/channels/"+g.general+c.path, c.tok, c.body), c.status, st.Code(c.code))
			})
		}
		if n := len(list(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages?limit=100", owner, nil))); n != 32 {
			t.Fatalf("%d messages after bad sends, want 32", n)
		}

		// Replies, embeds, nonces.
		re := send(t, s, member, g.general, map[string]any{"content": "replying", "message_reference": map[string]any{"message_id": ids[0]}})
		if re["type"] != float64(19) || re["referenced_message"].(map[string]any)["id"] != ids[0] || re["message_reference"].(map[string]any)["message_id"] != ids[0] {
			t.Fatalf("reply = %v", re)
		}
		loose := send(t, s, member, g.general, map[string]any{"content": "loose", "message_reference": map[string]any{"message_id": "1", "fail_if_not_exists": false}})
		if loose["type"] != float64(0) {
			t.Fatalf("loose reply = %v", loose)
		}
		emb := send(t, s, owner, g.general, map[string]any{"content": "", "embeds": []map[string]any{{"title": "Hello", "description": "World", "color": 255}}})
		if es := emb["embeds"].([]any); len(es) != 1 || es[0].(map[string]any)["title"] != "Hello" {
			t.Fatalf("embeds = %v", emb["embeds"])
		}
		n1 := send(t, s, member, g.general, map[string]any{"content": "once", "nonce": "abc123", "enforce_nonce": true})
		n2 := send(t, s, member, g.general, map[string]any{"content": "once", "nonce": "abc123", "enforce_nonce": true})
		if n1["id"] != n2["id"] || n1["nonce"] != "abc123" {
			t.Fatalf("retried send posted twice: %v %v", n1["id"], n2["id"])
		}
		if n3 := send(t, s, member, g.general, map[string]any{"content": "int nonce", "nonce": 12345}); n3["nonce"] != float64(12345) {
			t.Fatalf("integer nonce came back as %v", n3["nonce"])
		}

		// Permissions: SEND_MESSAGES denied by overwrite; history denied.
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/permissions/"+memberID, owner, map[string]any{"type": 1, "deny": perms(permission.SendMessages)}), 204)
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/messages", member, map[string]any{"content": "x"}), 403, st.Code(50013))
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/permissions/"+memberID, owner, map[string]any{"type": 1, "deny": perms(permission.ReadMessageHistory)}), 204)
		st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages", member, nil), 403, st.Code(50013))
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/permissions/"+memberID, owner, map[string]any{"type": 1, "deny": perms(permission.ViewChannel)}), 204)
		st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages", member, nil), 403, st.Code(50001))
		ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+g.general+"/permissions/"+memberID, owner, nil), 204)

		// Slowmode: members wait, managers do not.
		ok(t, s.Do(t, "PATCH", "/api/v10/channels/"+g.general, owner, map[string]any{"rate_limit_per_user": 30}), 200)
		fresh := s.Register(t, "fresh", "correct horse")
		invite(t, s, owner, g.general, fresh)
		send(t, s, fresh, g.general, map[string]any{"content": "first"})
		r := s.Do(t, "POST", "/api/v10/channels/"+g.general+"/messages", fresh, map[string]any{"content": "second"})
		st.Expect(t, r, 429, st.Code(20016))
		if ra, _ := r.JSON(t)["retry_after"].(float64); ra <= 0 || ra > 30 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("slowmode 429 = %s %v", r.Body, r.Header)
		}
		send(t, s, owner, g.general, map[string]any{"content": "owner is not slowed"})
		send(t, s, owner, g.general, map[string]any{"content": "still not"})
	})
}

func TestEditDeleteAndHistory(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, alice, bob := s.Register(t, "owner", "correct horse"), s.Register(t, "alice", "correct horse"), s.Register(t, "bob", "correct horse")
		g := newGuild(t, s, owner, "Edits")
		invite(t, s, owner, g.general, alice, bob)
		m := send(t, s, alice, g.general, map[string]any{"content": "first draft"})
		id := m["id"].(string)
		path := "/api/v10/channels/" + g.general + "/messages/" + id
		e := ok(t, s.Do(t, "PATCH", path, alice, map[string]any{"content": "second draft"}), 200)
		if e["content"] != "second draft" || e["edited_timestamp"] == nil {
			t.Fatalf("edited = %v", e)
		}
		st.Expect(t, s.Do(t, "PATCH", path, bob, map[string]any{"content": "hijack"}), 403, st.Code(50005))
		st.Expect(t, s.Do(t, "PATCH", path, owner, map[string]any{"content": "owner edit"}), 403, st.Code(50005))
		st.Expect(t, s.Do(t, "PATCH", path, alice, map[string]any{"content": strings.Repeat("y", 4001)}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "DELETE", path, bob, nil), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "GET", path+"/history", alice, nil), 403, st.Code(50013))
		ok(t, s.Do(t, "DELETE", path, owner, nil), 204)
		st.Expect(t, s.Do(t, "GET", path, alice, nil), 404, st.Code(10008))
		st.Expect(t, s.Do(t, "DELETE", path, owner, nil), 404, st.Code(10008))
		hist := list(t, s.Do(t, "GET", path+"/history", owner, nil))
		if len(hist) != 2 || hist[0]["content"] != "first draft" || hist[1]["content"] != "second draft" || hist[1]["deleted"] != true || hist[0]["deleted"] != false {
			t.Fatalf("history = %v", hist)
		}
		// Bulk delete: 2 to 100, under 14 days, MANAGE_MESSAGES.
		var bulk []string
		for i := range 3 {
			bulk = append(bulk, send(t, s, bob, g.general, map[string]any{"content": fmt.Sprint("bulk ", i)})["id"].(string))
		}
		old := snowflake.FromTime(time.Now().Add(-15 * 24 * time.Hour)).String()
		base := "/api/v10/channels/" + g.general + "/messages/bulk-delete"
		st.Expect(t, s.Do(t, "POST", base, owner, map[string]any{"messages": bulk[:1]}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", base, owner, map[string]any{"messages": []string{bulk[0], old}}), 400, st.Code(50034))
		st.Expect(t, s.Do(t, "POST", base, bob, map[string]any{"messages": bulk}), 403, st.Code(50013))
		// An unknown ID within the 14 days is skipped, as on Discord; it is
		// taken from the clock so that the test does not age.
		unknown := snowflake.FromTime(time.Now().Add(-time.Hour)).String()
		ok(t, s.Do(t, "POST", base, owner, map[string]any{"messages": append(bulk, unknown)}), 204)
		for _, id := range bulk {
			st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages/"+id, bob, nil), 404, st.Code(10008))
		}
		if h := list(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages/"+bulk[1]+"/history", owner, nil)); len(h) != 1 || h[0]["content"] != "bulk 1" {
			t.Fatalf("bulk-deleted history = %v", h)
		}
	})
}

func TestReactions(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, alice, bob := s.Register(t, "owner", "correct horse"), s.Register(t, "alice", "correct horse"), s.Register(t, "bob", "correct horse")
		g := newGuild(t, s, owner, "Reacts")
		invite(t, s, owner, g.general, alice, bob)
		m := send(t, s, owner, g.general, map[string]any{"content": "react to me"})
		base := "/api/v10/channels/" + g.general + "/messages/" + m["id"].(string) + "/reactions/"
		thumbs := url.PathEscape("👍")
		ok(t, s.Do(t, "PUT", base+thumbs+"/@me", alice, nil), 204)
		ok(t, s.Do(t, "PUT", base+thumbs+"/@me", alice, nil), 204) // twice: no change
		ok(t, s.Do(t, "PUT", base+thumbs+"/@me", bob, nil), 204)
		emoji := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/emojis", owner, map[string]any{"name": "blob", "image": dataURI("image/png", pngOfSize(t, 8, 8))}), 201)
		custom := "blob:" + emoji["id"].(string)
		ok(t, s.Do(t, "PUT", base+custom+"/@me", bob, nil), 204)

		got := ok(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages/"+m["id"].(string), alice, nil), 200)
		rs := got["reactions"].([]any)
		if len(rs) != 2 {
			t.Fatalf("reactions = %v", rs)
		}
		first, second := rs[0].(map[string]any), rs[1].(map[string]any)
		if first["count"] != float64(2) || first["me"] != true || first["emoji"].(map[string]any)["name"] != "👍" ||
			second["count"] != float64(1) || second["me"] != false || second["emoji"].(map[string]any)["id"] != emoji["id"] {
			t.Fatalf("reactions seen by alice = %v", rs)
		}
		users := list(t, s.Do(t, "GET", base+thumbs+"?limit=1", owner, nil))
		if len(users) != 1 {
			t.Fatalf("users = %v", users)
		}
		more := list(t, s.Do(t, "GET", base+thumbs+"?after="+users[0]["id"].(string), owner, nil))
		if len(more) != 1 || more[0]["id"] == users[0]["id"] {
			t.Fatalf("second page = %v", more)
		}
		// Malformed and unknown emoji: 400 with 10014, as Discord answers
		// a reaction route (an emoji route answers 404).
		for _, bad := range []string{"notanemoji", url.PathEscape("<script>"), "blob:1234", "a", url.PathEscape("<@1>"), "bad name:" + emoji["id"].(string)} {
			st.Expect(t, s.Do(t, "PUT", base+bad+"/@me", alice, nil), 400, st.Code(10014))
			st.Expect(t, s.Do(t, "GET", base+bad, alice, nil), 400, st.Code(10014))
			st.Expect(t, s.Do(t, "DELETE", base+bad+"/@me", alice, nil), 400, st.Code(10014))
		}
		// Someone else's reaction needs MANAGE_MESSAGES.
		st.Expect(t, s.Do(t, "DELETE", base+thumbs+"/"+userID(t, s, bob), alice, nil), 403, st.Code(50013))
		ok(t, s.Do(t, "DELETE", base+thumbs+"/"+userID(t, s, bob), owner, nil), 204)
		ok(t, s.Do(t, "DELETE", base+thumbs+"/@me", alice, nil), 204)
		// Without ADD_REACTIONS one can join an existing reaction only.
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/permissions/"+userID(t, s, alice), owner, map[string]any{"type": 1, "deny": perms(permission.AddReactions)}), 204)
		st.Expect(t, s.Do(t, "PUT", base+url.PathEscape("🎉")+"/@me", alice, nil), 403, st.Code(50013))
		ok(t, s.Do(t, "PUT", base+custom+"/@me", alice, nil), 204)
		// Clearing.
		st.Expect(t, s.Do(t, "DELETE", base+custom, alice, nil), 403, st.Code(50013))
		ok(t, s.Do(t, "DELETE", base+custom, owner, nil), 204)
		ok(t, s.Do(t, "PUT", base+thumbs+"/@me", owner, nil), 204)
		ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+g.general+"/messages/"+m["id"].(string)+"/reactions", owner, nil), 204)
		if rs := ok(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages/"+m["id"].(string), owner, nil), 200)["reactions"]; rs != nil {
			t.Fatalf("reactions after clearing = %v", rs)
		}
	})
}

func TestPins(t *testing.T) {
	s := st.Start(t, st.Options{})
	owner, member := s.Register(t, "owner", "correct horse"), s.Register(t, "member", "correct horse")
	g := newGuild(t, s, owner, "Pins")
	invite(t, s, owner, g.general, member)
	var ids []string
	for i := range 51 {
		ids = append(ids, send(t, s, member, g.general, map[string]any{"content": fmt.Sprint("pin me ", i)})["id"].(string))
	}
	st.Expect(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/pins/"+ids[0], member, nil), 403, st.Code(50013))
	ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/pins/"+ids[0], owner, nil), 204)
	latest := list(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages?limit=1", member, nil))[0]
	if latest["type"] != float64(6) || latest["message_reference"].(map[string]any)["message_id"] != ids[0] {
		t.Fatalf("pin notice = %v", latest)
	}
	for _, id := range ids[1:50] {
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/pins/"+id, owner, nil), 204)
	}
	st.Expect(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/pins/"+ids[50], owner, nil), 400, st.Code(30003))
	pins := list(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/pins", member, nil))
	if len(pins) != 50 || pins[0]["id"] != ids[49] || pins[0]["pinned"] != true {
		t.Fatalf("pins: %d, first %v", len(pins), pins[0]["id"])
	}
	ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+g.general+"/pins/"+ids[49], owner, nil), 204)
	if pins := list(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/pins", member, nil)); len(pins) != 49 {
		t.Fatalf("%d pins after unpin", len(pins))
	}
	ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/pins/"+ids[50], owner, nil), 204)
}

// multipartSend posts files with payload_json, as discordgo and discord.js do.
func multipartSend(t *testing.T, s *st.Server, tok, channel string, payload string, files map[string][]byte) st.Response {
	t.Helper()
	return s.SendFiles(t, tok, channel, payload, files)
}

func TestAttachments(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		dataDir := t.TempDir()
		s := st.Start(t, st.Options{Backend: b, DataDir: dataDir, MaxUploadSize: 1 << 20})
		owner, member := s.Register(t, "owner", "correct horse"), s.Register(t, "member", "correct horse")
		g := newGuild(t, s, owner, "Files")
		invite(t, s, owner, g.general, member)
		img := pngOfSize(t, 20, 10)
		r := multipartSend(t, s, member, g.general, `{"content":"files!","attachments":[{"id":0,"description":"a picture"}]}`, map[string][]byte{"pic.png": img})
		m := ok(t, r, 200)
		atts := m["attachments"].([]any)
		if len(atts) != 1 {
			t.Fatalf("attachments = %v", atts)
		}
		a := atts[0].(map[string]any)
		if a["filename"] != "pic.png" || a["content_type"] != "image/png" || a["width"] != float64(20) || a["height"] != float64(10) ||
			a["size"] != float64(len(img)) || a["description"] != "a picture" {
			t.Fatalf("attachment = %v", a)
		}
		link := mustPath(t, a["url"].(string))
		res := s.Do(t, "GET", link, "", nil)
		if res.Status != 200 || !bytes.Equal(res.Body, img) || res.Header.Get("Content-Type") != "image/png" ||
			res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "inline") {
			t.Fatalf("served %d %v", res.Status, res.Header)
		}
		// A description (alt text) keeps at most 1024 characters, as on Discord.
		long := strings.Repeat("é", 2000)
		r = multipartSend(t, s, member, g.general, `{"content":"described","attachments":[{"id":0,"description":"`+long+`"}]}`, map[string][]byte{"d.txt": []byte("d")})
		if d := ok(t, r, 200)["attachments"].([]any)[0].(map[string]any)["description"].(string); d != long[:len(long)/2000*1024] {
			t.Fatalf("a description of 2000 characters kept %d", len([]rune(d)))
		}
		// HTML named cat.png, and a path in a name.
		r = multipartSend(t, s, member, g.general, `{"content":"sneaky"}`, map[string][]byte{"cat.png": []byte("<html><script>alert(1)</script></html>")})
		sneaky := ok(t, r, 200)["attachments"].([]any)[0].(map[string]any)
		if sneaky["content_type"] != "text/plain; charset=utf-8" {
			t.Fatalf("html as %v", sneaky["content_type"])
		}
		r = multipartSend(t, s, member, g.general, `{"content":"escape"}`, map[string][]byte{"../../etc/passwd": []byte("root:x:0:0")})
		esc := ok(t, r, 200)["attachments"].([]any)[0].(map[string]any)
		if esc["filename"] != "passwd" {
			t.Fatalf("filename = %v", esc["filename"])
		}
		res = s.Do(t, "GET", mustPath(t, esc["url"].(string)), "", nil)
		if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "inline") || string(res.Body) != "root:x:0:0" {
			t.Fatalf("passwd upload served %d %v", res.Status, res.Header)
		}
		bin := multipartSend(t, s, member, g.general, `{}`, map[string][]byte{"x.bin": {0, 1, 2, 3, 0xff}})
		binAtt := ok(t, bin, 200)["attachments"].([]any)[0].(map[string]any)
		res = s.Do(t, "GET", mustPath(t, binAtt["url"].(string)), "", nil)
		if res.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("binary served as %v", res.Header)
		}
		// Too many and too large.
		eleven := map[string][]byte{}
		for i := range 11 {
			eleven[fmt.Sprintf("f%d.txt", i)] = []byte("x")
		}
		st.Expect(t, multipartSend(t, s, member, g.general, `{"content":"many"}`, eleven), 400, st.Code(50035))
		st.Expect(t, multipartSend(t, s, member, g.general, `{"content":"big"}`, map[string][]byte{"big.bin": bytes.Repeat([]byte{1}, 2<<20)}), 413, st.Code(40005))
		st.Expect(t, multipartSend(t, s, member, g.general, `{"content":`, map[string][]byte{"a.txt": []byte("a")}), 400, st.Code(50109))
		// ATTACH_FILES denied.
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/permissions/"+userID(t, s, member), owner, map[string]any{"type": 1, "deny": perms(permission.AttachFiles)}), 204)
		st.Expect(t, multipartSend(t, s, member, g.general, `{"content":"x"}`, map[string][]byte{"a.txt": []byte("a")}), 403, st.Code(50013))
		// A link without its mac, or with another's, is not served.
		bare, _, _ := strings.Cut(link, "?")
		st.Expect(t, s.Do(t, "GET", bare, "", nil), 404, st.Code(0))
		st.Expect(t, s.Do(t, "GET", bare+"?hm=00112233445566778899aabbccddeeff", "", nil), 404, st.Code(0))
		// Deleting the message stops the file being served.
		ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+g.general+"/messages/"+m["id"].(string), member, nil), 204)
		st.Expect(t, s.Do(t, "GET", link, "", nil), 404, st.Code(0))
		// Nothing was written outside the data dir, and no upload was left half-written.
		left, _ := os.ReadDir(filepath.Join(dataDir, "files", "tmp"))
		if len(left) != 0 {
			t.Fatalf("temporary uploads left: %v", left)
		}
	})
}

// mustPath is the path and query of a URL, to fetch it from the test server.
func mustPath(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

func TestTypingIsEphemeral(t *testing.T) {
	s := st.Start(t, st.Options{})
	owner := s.Register(t, "owner", "correct horse")
	g := newGuild(t, s, owner, "Typing")
	sub := s.Homeserver().Bus().Subscribe(10)
	defer sub.Close()
	ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/typing", owner, nil), 204)
	ctx, cancel := contextTimeout(5 * time.Second)
	defer cancel()
	e, err := sub.Next(ctx)
	if err != nil || e.Type != "TYPING_START" || e.Seq != 0 || !bytes.Contains(e.Payload, []byte(g.general)) {
		t.Fatalf("typing event = %+v, %v", e, err)
	}
}

func TestSearch(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, member := s.Register(t, "owner", "correct horse"), s.Register(t, "member", "correct horse")
		g := newGuild(t, s, owner, "Search")
		invite(t, s, owner, g.general, member)
		secret := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/channels", owner, map[string]any{"name": "secret",
			"permission_overwrites": []map[string]any{{"id": g.id, "type": 0, "deny": perms(permission.ViewChannel)}}}), 201)["id"].(string)
		send(t, s, owner, g.general, map[string]any{"content": "the quick brown fox"})
		send(t, s, member, g.general, map[string]any{"content": "a lazy dog sleeps, see https://example.com/dog"})
		send(t, s, owner, secret, map[string]any{"content": "the secret fox plan"})
		for i := range 30 {
			send(t, s, member, g.general, map[string]any{"content": fmt.Sprintf("filler %d about foxes and FOX", i)})
		}
		multipartSend(t, s, member, g.general, `{"content":"fox picture"}`, map[string][]byte{"fox.png": pngOfSize(t, 4, 4)})
		search := func(tok, q string) map[string]any {
			return ok(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/messages/search?"+q, tok, nil), 200)
		}
		res := search(member, "content=fox")
		if res["total_results"] != float64(32) || len(res["messages"].([]any)) != 25 {
			t.Fatalf("member's fox search: total %v, %d messages", res["total_results"], len(res["messages"].([]any)))
		}
		for _, hit := range res["messages"].([]any) {
			if hit.([]any)[0].(map[string]any)["channel_id"] == secret {
				t.Fatal("search shows a channel the member cannot read")
			}
		}
		if r := search(owner, "content=fox"); r["total_results"] != float64(33) {
			t.Fatalf("owner's fox search total %v", r["total_results"])
		}
		page2 := search(member, "content=fox&offset=25")
		if len(page2["messages"].([]any)) != 7 {
			t.Fatalf("second page has %d", len(page2["messages"].([]any)))
		}
		if r := search(member, "content=quick+fox"); r["total_results"] != float64(1) {
			t.Fatalf("two words: %v", r["total_results"])
		}
		if r := search(member, "author_id="+userID(t, s, owner)+"&content=fox"); r["total_results"] != float64(1) {
			t.Fatalf("by author: %v", r["total_results"])
		}
		if r := search(member, "has=link"); r["total_results"] != float64(1) {
			t.Fatalf("has link: %v", r["total_results"])
		}
		if r := search(member, "has=file"); r["total_results"] != float64(1) {
			t.Fatalf("has file: %v", r["total_results"])
		}
		if r := search(member, "content=fox&before=2001-01-01"); r["total_results"] != float64(0) {
			t.Fatalf("before 2001: %v", r["total_results"])
		}
		for _, q := range []string{`content="`, `content=fox*`, `content=NEAR(fox`, `content=-fox`, `content=fox:bar`, `content=OR`} {
			search(member, q) // must not fail, whatever it matches
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/messages/search?has=nothing", member, nil), 400, st.Code(50035))
	})
}

func TestDMs(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		alice, bob, carol, dave := s.Register(t, "alice", "correct horse"), s.Register(t, "bob", "correct horse"), s.Register(t, "carol", "correct horse"), s.Register(t, "dave", "correct horse")
		bobID, carolID, daveID := userID(t, s, bob), userID(t, s, carol), userID(t, s, dave)
		dm := ok(t, s.Do(t, "POST", "/api/v10/users/@me/channels", alice, map[string]any{"recipient_id": bobID}), 200)
		again := ok(t, s.Do(t, "POST", "/api/v10/users/@me/channels", alice, map[string]any{"recipient_id": bobID}), 200)
		back := ok(t, s.Do(t, "POST", "/api/v10/users/@me/channels", bob, map[string]any{"recipient_id": userID(t, s, alice)}), 200)
		if dm["id"] != again["id"] || dm["id"] != back["id"] || dm["type"] != float64(1) {
			t.Fatalf("dm %v, again %v, back %v", dm["id"], again["id"], back["id"])
		}
		if rs := dm["recipients"].([]any); len(rs) != 1 || rs[0].(map[string]any)["id"] != bobID {
			t.Fatalf("recipients = %v", rs)
		}
		id := dm["id"].(string)
		m := send(t, s, alice, id, map[string]any{"content": "hi bob"})
		if _, has := m["guild_id"]; has {
			t.Fatalf("DM message has a guild: %v", m)
		}
		send(t, s, bob, id, map[string]any{"content": "hi alice"})
		if h := list(t, s.Do(t, "GET", "/api/v10/channels/"+id+"/messages", bob, nil)); len(h) != 2 {
			t.Fatalf("bob sees %d messages", len(h))
		}
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+id+"/messages/"+m["id"].(string)+"/reactions/"+url.PathEscape("❤️")+"/@me", bob, nil), 204)
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+id+"/pins/"+m["id"].(string), bob, nil), 204)
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/channels/"+id+"/messages/"+m["id"].(string), bob, nil), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+id+"/messages", carol, nil), 404, st.Code(10003))
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+id+"/messages", carol, map[string]any{"content": "intrude"}), 404, st.Code(10003))
		st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+id, carol, nil), 404, st.Code(10003))
		ok(t, s.Do(t, "GET", "/api/v10/channels/"+id, bob, nil), 200)
		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/channels", alice, map[string]any{"recipient_id": "999"}), 404, st.Code(10013))
		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/channels", alice, map[string]any{"recipient_id": userID(t, s, alice)}), 400, st.Code(50007))

		// Group DM.
		grp := ok(t, s.Do(t, "POST", "/api/v10/users/@me/channels", alice, map[string]any{"recipients": []string{bobID, carolID}, "name": "trio"}), 200)
		gid := grp["id"].(string)
		if grp["type"] != float64(3) || grp["name"] != "trio" || len(grp["recipients"].([]any)) != 2 {
			t.Fatalf("group = %v", grp)
		}
		send(t, s, carol, gid, map[string]any{"content": "hello trio"})
		st.Expect(t, s.Do(t, "PUT", "/api/v10/channels/"+gid+"/recipients/"+daveID, bob, nil), 403, st.Code(50013))
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+gid+"/recipients/"+daveID, alice, nil), 204)
		if h := list(t, s.Do(t, "GET", "/api/v10/channels/"+gid+"/messages", dave, nil)); len(h) != 1 {
			t.Fatalf("dave sees %d", len(h))
		}
		if r := ok(t, s.Do(t, "PATCH", "/api/v10/channels/"+gid, bob, map[string]any{"name": "quartet"}), 200); r["name"] != "quartet" {
			t.Fatalf("rename = %v", r)
		}
		ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+gid+"/recipients/"+carolID, alice, nil), 204)
		st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+gid+"/messages", carol, nil), 404, st.Code(10003))
		ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+gid, dave, nil), 200) // leaving
		st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+gid, dave, nil), 404, st.Code(10003))
		tooMany := []string{}
		for i := range 10 {
			tooMany = append(tooMany, userID(t, s, s.Register(t, fmt.Sprintf("u%d", i), "correct horse")))
		}
		st.Expect(t, s.Do(t, "POST", "/api/v10/users/@me/channels", alice, map[string]any{"recipients": tooMany}), 400, st.Code(50035))
		chans := list(t, s.Do(t, "GET", "/api/v10/users/@me/channels", alice, nil))
		if len(chans) != 2 {
			t.Fatalf("alice's DM channels = %v", chans)
		}
	})
}

// TestConcurrentSendsAreBatchedWithoutLoss: many senders at once into one
// guild (the group-commit path): every send answers, every message is in
// the history, and the guild log has them in gapless order.
func TestConcurrentSendsAreBatchedWithoutLoss(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner := s.Register(t, "owner", "correct horse")
		g := newGuild(t, s, owner, "Busy")
		var toks []string
		for i := range 4 {
			toks = append(toks, s.Register(t, fmt.Sprintf("s%d", i), "correct horse"))
		}
		invite(t, s, owner, g.general, toks...)
		sub := s.Homeserver().Bus().Subscribe(1000)
		defer sub.Close()
		const n = 80
		errs := make(chan error, n)
		ids := make(chan string, n)
		for i := range n {
			go func() {
				r := s.Do(t, "POST", "/api/v10/channels/"+g.general+"/messages", toks[i%4], map[string]any{"content": fmt.Sprint("m", i)})
				if r.Status != 200 {
					errs <- fmt.Errorf("send %d: %d %s", i, r.Status, r.Body)
					return
				}
				ids <- r.JSON(t)["id"].(string)
				errs <- nil
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		close(ids)
		sent := map[string]bool{}
		for id := range ids {
			sent[id] = true
		}
		hist := list(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages?limit=100", owner, nil))
		if len(hist) != n || len(sent) != n {
			t.Fatalf("history has %d, sent %d distinct", len(hist), len(sent))
		}
		ctx, cancel := contextTimeout(10 * time.Second)
		defer cancel()
		var last int64
		for got := 0; got < n; {
			e, err := sub.Next(ctx)
			if err != nil {
				t.Fatalf("after %d events: %v", got, err)
			}
			if e.Seq != last+1 && last != 0 {
				t.Fatalf("seq %d after %d", e.Seq, last)
			}
			last = e.Seq
			if e.Type == "MESSAGE_CREATE" {
				got++
			}
		}
	})
}

// TestLargeAttachmentWithinLimit: files past the 1 MiB JSON body limit go
// through up to the upload limit; uploads to a channel one cannot post in
// leave nothing on disk.
func TestLargeAttachmentWithinLimit(t *testing.T) {
	dataDir := t.TempDir()
	s := st.Start(t, st.Options{DataDir: dataDir})
	owner, outsider := s.Register(t, "owner", "correct horse"), s.Register(t, "outsider", "correct horse")
	g := newGuild(t, s, owner, "Big files")
	big := bytes.Repeat([]byte{7}, 3<<20)
	r := multipartSend(t, s, owner, g.general, `{"content":"big"}`, map[string][]byte{"big.bin": big})
	if a := ok(t, r, 200)["attachments"].([]any)[0].(map[string]any); a["size"] != float64(len(big)) {
		t.Fatalf("attachment = %v", a)
	}
	before := countFiles(t, filepath.Join(dataDir, "files"))
	other := bytes.Repeat([]byte{9}, 100<<10)
	st.Expect(t, multipartSend(t, s, outsider, g.general, `{"content":"x"}`, map[string][]byte{"x.bin": other}), 404, st.Code(10003))
	if after := countFiles(t, filepath.Join(dataDir, "files")); after != before {
		t.Fatalf("a refused upload left %d files", after-before)
	}
	// A send refused after its files were read leaves nothing either.
	st.Expect(t, multipartSend(t, s, owner, g.general, `{"content":"`+strings.Repeat("x", 4001)+`"}`, map[string][]byte{"y.bin": other}), 400, st.Code(50035))
	st.Expect(t, multipartSend(t, s, owner, g.general, `{"content":`, map[string][]byte{"z.bin": other}), 400, st.Code(50109))
	if after := countFiles(t, filepath.Join(dataDir, "files")); after != before {
		t.Fatalf("refused sends left %d files", after-before)
	}
	// The avatar route takes its larger limit too.
	img := pngOfSize(t, 600, 600) // ~1.4 MB of noise
	ok(t, s.Do(t, "PATCH", "/api/v10/users/@me", owner, map[string]any{"avatar": dataURI("image/png", img)}), 200)
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestChannelLastMessageID(t *testing.T) {
	s := st.Start(t, st.Options{})
	owner := s.Register(t, "owner", "correct horse")
	g := newGuild(t, s, owner, "Last")
	if c := ok(t, s.Do(t, "GET", "/api/v10/channels/"+g.general, owner, nil), 200); c["last_message_id"] != nil {
		t.Fatalf("empty channel's last_message_id = %v", c["last_message_id"])
	}
	m := send(t, s, owner, g.general, map[string]any{"content": "latest"})
	if c := ok(t, s.Do(t, "GET", "/api/v10/channels/"+g.general, owner, nil), 200); c["last_message_id"] != m["id"] {
		t.Fatalf("last_message_id = %v, want %v", c["last_message_id"], m["id"])
	}
}

// TestSweepFiles: the files of deleted messages leave the disk once the
// sweep runs; a file another message still carries, and an avatar, stay.
func TestSweepFiles(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		dataDir := t.TempDir()
		s := st.Start(t, st.Options{Backend: b, DataDir: dataDir})
		owner := s.Register(t, "owner", "correct horse")
		g := newGuild(t, s, owner, "Sweeping")
		shared, lone := []byte("shared bytes"), []byte("bytes of one message only")
		send := func(files map[string][]byte) (id, link string) {
			m := ok(t, multipartSend(t, s, owner, g.general, `{"content":"f"}`, files), 200)
			return m["id"].(string), mustPath(t, m["attachments"].([]any)[0].(map[string]any)["url"].(string))
		}
		first, _ := send(map[string][]byte{"a.txt": shared})
		second, sharedLink := send(map[string][]byte{"b.txt": shared})
		third, _ := send(map[string][]byte{"c.txt": lone})
		uri, _ := pngDataURI(t)
		ok(t, s.Do(t, "PATCH", "/api/v10/users/@me", owner, map[string]any{"avatar": uri}), 200)
		stored := func() int {
			n := 0
			filepath.WalkDir(filepath.Join(dataDir, "files"), func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) != "tmp" {
					n++
				}
				return nil
			})
			return n
		}
		if n := stored(); n != 3 {
			t.Fatalf("%d files stored, want 3 (shared, lone, avatar)", n)
		}
		sweep := func(grace time.Duration) int {
			n, _, err := s.Homeserver().SweepFiles(context.Background(), grace)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, id := range []string{first, third} {
			ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+g.general+"/messages/"+id, owner, nil), 204)
		}
		if n := sweep(homeserver.FileGrace); n != 0 {
			t.Fatalf("a sweep within the grace removed %d files", n)
		}
		if n := sweep(0); n != 1 || stored() != 2 {
			t.Fatalf("sweep removed %d files, %d left; want the lone one gone", n, stored())
		}
		if r := s.Do(t, "GET", sharedLink, "", nil); r.Status != 200 || string(r.Body) != string(shared) {
			t.Fatalf("the file another message carries: %d %q", r.Status, r.Body)
		}
		ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+g.general+"/messages/"+second, owner, nil), 204)
		if n := sweep(0); n != 1 || stored() != 1 {
			t.Fatalf("second sweep removed %d files, %d left; want only the avatar", n, stored())
		}
		me := s.Do(t, "GET", "/api/v10/users/@me", owner, nil).JSON(t)
		if r := s.Do(t, "GET", fmt.Sprintf("/avatars/%s/%s.png", me["id"], me["avatar"]), "", nil); r.Status != 200 {
			t.Fatalf("avatar after the sweeps: %d", r.Status)
		}
	})
}
