package federation_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hearth/homeserver/wire"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hearth/federation"
	"hearth/homeserver"
	st "hearth/server/servertest"
	"hearth/snowflake"
)

// The federation tests run several real homeservers in one process, each on
// its own loopback port, talking signed HTTP to each other.

var (
	ok   = st.OK
	list = st.List
)

// eventually retries check until it returns "" or the deadline passes.
// Generous: under the race detector on a loaded 2-core machine a catch-up
// of a thousand events takes tens of seconds; a passing check returns at
// once.
func eventually(t *testing.T, what string, check func() string) {
	t.Helper()
	st.WaitFor(t, what, 90*time.Second, check)
}

// user is an account on one homeserver.
type user struct {
	s   *st.Server
	tok string
	id  string
}

func register(t *testing.T, s *st.Server, name string) user {
	tok := s.Register(t, name, "correct horse")
	return user{s: s, tok: tok, id: ok(t, s.Do(t, "GET", "/api/v10/users/@me", tok, nil), 200)["id"].(string)}
}

func (u user) do(t *testing.T, method, path string, body any) st.Response {
	t.Helper()
	return u.s.Do(t, method, path, u.tok, body)
}

// guildNamed finds the user's guild of that name (its local ID on the
// user's homeserver) and its text channel.
func (u user) guildNamed(t *testing.T, name string) (guild, channel string) {
	t.Helper()
	for _, g := range list(t, u.do(t, "GET", "/api/v10/users/@me/guilds", nil)) {
		if g["name"] == name {
			guild = g["id"].(string)
		}
	}
	if guild == "" {
		return "", ""
	}
	for _, c := range list(t, u.do(t, "GET", "/api/v10/guilds/"+guild+"/channels", nil)) {
		if c["type"] == float64(0) {
			channel = c["id"].(string)
		}
	}
	return guild, channel
}

// contents lists a channel's messages as the user sees them, oldest first.
func (u user) contents(t *testing.T, channel string, limit int) []string {
	t.Helper()
	var out []string
	ms := list(t, u.do(t, "GET", fmt.Sprintf("/api/v10/channels/%s/messages?limit=%d", channel, limit), nil))
	for i := len(ms) - 1; i >= 0; i-- {
		out = append(out, ms[i]["content"].(string))
	}
	return out
}

func TestFederatedGuild(t *testing.T) {
	// The origin on SQLite; the busiest replica on PostgreSQL, where a
	// failed statement ends its transaction.
	a := st.Start(t, st.Options{Backend: st.SQLite})
	b := st.Start(t, st.Options{Backend: st.Postgres})
	c := st.Start(t, st.Options{Backend: st.SQLite})
	ann, bob, cat := register(t, a, "ann"), register(t, b, "bob"), register(t, c, "cat")

	g := ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Hearth Club"}), 201)
	_, general := ann.guildNamed(t, "Hearth Club")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{"max_age": 0}), 200)["code"].(string)
	remoteCode := code + "@" + a.ServerName()

	// Bob's gateway session on B hears of the guild as soon as he joins.
	gw := dialGateway(t, b, bob.tok)

	// Bob previews the invite through his own server first; only a
	// signed-in user may have B ask A.
	pre := ok(t, bob.do(t, "GET", "/api/v10/invites/"+remoteCode+"?with_counts=true", nil), 200)
	preGuild, _ := pre["guild"].(map[string]any)
	if pre["code"] != remoteCode || preGuild == nil || preGuild["name"] != "Hearth Club" || preGuild["id"] == g["id"] ||
		pre["approximate_member_count"] != float64(1) || pre["inviter"].(map[string]any)["username"] != "ann" {
		t.Fatalf("preview on B = %v", pre)
	}
	st.Expect(t, b.Do(t, "GET", "/api/v10/invites/"+remoteCode, "", nil), 401, st.Code(0))
	st.Expect(t, bob.do(t, "GET", "/api/v10/invites/nosuchcode@"+a.ServerName(), nil), 404, st.Code(10006))

	inv := ok(t, bob.do(t, "POST", "/api/v10/invites/"+remoteCode, nil), 200)
	bGuild, bGeneral := bob.guildNamed(t, "Hearth Club")
	if bGuild == "" || bGeneral == "" || bGuild == g["id"] {
		t.Fatalf("bob's guilds on B: guild %q channel %q (origin's id %v)", bGuild, bGeneral, g["id"])
	}
	// The first preview kept nothing (its IDs were provisional); one of a
	// guild B holds shows it under B's ID.
	if again := ok(t, bob.do(t, "GET", "/api/v10/invites/"+remoteCode, nil), 200); again["guild"].(map[string]any)["id"] != bGuild {
		t.Fatalf("preview after the join names guild %v, want B's %s", again["guild"], bGuild)
	}
	if inv["guild"].(map[string]any)["id"] != bGuild {
		t.Fatalf("invite answer names guild %v, want B's %s", inv["guild"], bGuild)
	}
	created := gw.until(t, "GUILD_CREATE", func(d map[string]any) bool { return d["id"] == bGuild })
	if created["name"] != "Hearth Club" || len(created["channels"].([]any)) == 0 {
		t.Fatalf("GUILD_CREATE on B = %v", created)
	}
	ok(t, cat.do(t, "POST", "/api/v10/invites/"+remoteCode, nil), 200)
	_, cGeneral := cat.guildNamed(t, "Hearth Club")

	// The origin sees both as members, under its own IDs.
	members := list(t, ann.do(t, "GET", "/api/v10/guilds/"+g["id"].(string)+"/members?limit=10", nil))
	if len(members) != 3 {
		t.Fatalf("origin members = %d, want 3: %v", len(members), members)
	}

	// Messages from all three homeservers, in one order everywhere.
	ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "one from A"}), 200)
	bm := ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", map[string]any{"content": "two from B"}), 200)
	if bm["channel_id"] != bGeneral || bm["author"].(map[string]any)["id"] != bob.id || bm["content"] != "two from B" {
		t.Fatalf("B's answer to bob's send = %v", bm)
	}
	ok(t, cat.do(t, "POST", "/api/v10/channels/"+cGeneral+"/messages", map[string]any{"content": "three from C"}), 200)
	want := []string{"one from A", "two from B", "three from C"}
	for _, v := range []struct {
		u  user
		ch string
	}{{ann, general}, {bob, bGeneral}, {cat, cGeneral}} {
		eventually(t, "history on "+v.u.s.ServerName(), func() string {
			if got := v.u.contents(t, v.ch, 50); strings.Join(got, "|") != strings.Join(want, "|") {
				return fmt.Sprintf("got %q, want %q", got, want)
			}
			return ""
		})
	}
	live := gw.until(t, "MESSAGE_CREATE", func(d map[string]any) bool { return d["content"] == "three from C" })
	if live["channel_id"] != bGeneral {
		t.Fatalf("MESSAGE_CREATE on B names channel %v, want %s", live["channel_id"], bGeneral)
	}
	// Presence crosses servers: ann's from the origin, cat's from C through
	// the origin.
	names := map[string]string{}
	for _, m := range list(t, bob.do(t, "GET", "/api/v10/guilds/"+bGuild+"/members?limit=10", nil)) {
		u := m["user"].(map[string]any)
		names[u["id"].(string)] = u["username"].(string)
	}
	// Each waits for its own user's update: one who came online earlier may
	// be announced again (from its home and through the origin), which is
	// not an error.
	for _, who := range []user{ann, cat} {
		name := ok(t, who.do(t, "GET", "/api/v10/users/@me", nil), 200)["username"]
		dialGateway(t, who.s, who.tok)
		p := gw.until(t, "PRESENCE_UPDATE", func(d map[string]any) bool {
			return d["status"] == "online" && names[d["user"].(map[string]any)["id"].(string)] == name
		})
		if p["guild_id"] != bGuild {
			t.Fatalf("PRESENCE_UPDATE on B = %v (members %v)", p, names)
		}
	}
	// Typing on C shows on B: through the origin, best effort, unlogged.
	ok(t, cat.do(t, "POST", "/api/v10/channels/"+cGeneral+"/typing", nil), 204)
	typing := gw.until(t, "TYPING_START", nil)
	if typing["channel_id"] != bGeneral || typing["guild_id"] != bGuild || typing["member"].(map[string]any)["user"].(map[string]any)["username"] != "cat" {
		t.Fatalf("TYPING_START on B = %v", typing)
	}

	// Mentions name the same user on every server, each under its own ID.
	annOnB := ""
	for _, m := range list(t, bob.do(t, "GET", "/api/v10/guilds/"+bGuild+"/members?limit=10", nil)) {
		if m["user"].(map[string]any)["username"] == "ann" {
			annOnB = m["user"].(map[string]any)["id"].(string)
		}
	}
	mention := ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", map[string]any{"content": "hey <@" + annOnB + ">"}), 200)
	if ms := mention["mentions"].([]any); mention["content"] != "hey <@"+annOnB+">" || len(ms) != 1 || ms[0].(map[string]any)["id"] != annOnB {
		t.Fatalf("mention on B = %v", mention)
	}
	eventually(t, "mention on A", func() string {
		ms := list(t, ann.do(t, "GET", "/api/v10/channels/"+general+"/messages?limit=1", nil))
		if len(ms) != 1 || ms[0]["content"] != "hey <@"+ann.id+">" {
			return fmt.Sprintf("A's newest message is %v", ms)
		}
		return ""
	})
	ok(t, bob.do(t, "DELETE", "/api/v10/channels/"+bGeneral+"/messages/"+mention["id"].(string), nil), 204)

	// The origin's refusals reach the member's client as Discord errors.
	long := strings.Repeat("x", 4001)
	r := bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", map[string]any{"content": long})
	st.Expect(t, r, 400, st.Code(50035))
	if !strings.Contains(string(r.Body), "BASE_TYPE_MAX_LENGTH") {
		t.Fatalf("field errors lost on the way: %s", r.Body)
	}
	// Managing the guild goes to the origin, which refuses a member
	// without the permission; what is not carried to the origin yet is
	// refused, not done to the replica alone.
	st.Expect(t, bob.do(t, "POST", "/api/v10/guilds/"+bGuild+"/channels", map[string]any{"name": "mine"}), 403, st.Code(50013))
	st.Expect(t, bob.do(t, "PATCH", "/api/v10/guilds/"+bGuild+"/channels", []map[string]any{{"id": bGeneral, "position": 3}}), 403, st.Code(50013))
	st.Expect(t, bob.do(t, "DELETE", "/api/v10/guilds/"+bGuild, nil), 403, st.Code(50001))

	// A channel appears on the replicas, then is hidden from their members
	// and disappears.
	news := ok(t, ann.do(t, "POST", "/api/v10/guilds/"+g["id"].(string)+"/channels", map[string]any{"name": "news"}), 201)["id"].(string)
	hasNews := func(u user, guild string) bool {
		for _, c := range list(t, u.do(t, "GET", "/api/v10/guilds/"+guild+"/channels", nil)) {
			if c["name"] == "news" {
				return true
			}
		}
		return false
	}
	eventually(t, "news on B", func() string {
		if !hasNews(bob, bGuild) {
			return "B has no news channel"
		}
		return ""
	})
	ok(t, ann.do(t, "PATCH", "/api/v10/channels/"+news, map[string]any{
		"permission_overwrites": []map[string]any{{"id": g["id"], "type": 0, "deny": "1024"}}}), 200)
	eventually(t, "news hidden on B", func() string {
		if hasNews(bob, bGuild) {
			return "B still lists the news channel"
		}
		return ""
	})

	// Files: bob's upload goes to the origin through his homeserver; each
	// server serves it from its own links, the member server fetching it
	// from the origin on first use.
	img := testPNG(t)
	r = b.SendFiles(t, bob.tok, bGeneral, `{"content":"a picture"}`, map[string][]byte{"pic.png": img})
	st.Expect(t, r, 200, nil)
	pic := r.JSON(t)
	atts := pic["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("bob's file message on B = %s", r.Body)
	}
	att := atts[0].(map[string]any)
	if !strings.HasPrefix(att["url"].(string), b.URL()+"/attachments/") || att["content_type"] != "image/png" || att["width"] != float64(2) {
		t.Fatalf("attachment on B = %v", att)
	}
	fetch := func(url string) []byte {
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", url, res.StatusCode, body)
		}
		return body
	}
	if got := fetch(att["url"].(string)); !bytes.Equal(got, img) {
		t.Fatalf("B served %d bytes, want the %d uploaded", len(got), len(img))
	}
	onAPic := list(t, ann.do(t, "GET", "/api/v10/channels/"+general+"/messages?limit=1", nil))[0]
	aURL := onAPic["attachments"].([]any)[0].(map[string]any)["url"].(string)
	if onAPic["content"] != "a picture" || !strings.HasPrefix(aURL, a.URL()) || !bytes.Equal(fetch(aURL), img) {
		t.Fatalf("file on A: %v", onAPic)
	}
	eventually(t, "file on C", func() string {
		ms := list(t, cat.do(t, "GET", "/api/v10/channels/"+cGeneral+"/messages?limit=1", nil))
		if len(ms) == 0 || ms[0]["content"] != "a picture" || len(ms[0]["attachments"].([]any)) != 1 {
			return fmt.Sprintf("C's newest message is %v", ms)
		}
		if url := ms[0]["attachments"].([]any)[0].(map[string]any)["url"].(string); !bytes.Equal(fetch(url), img) {
			return "C serves other bytes"
		}
		return ""
	})
	ok(t, bob.do(t, "DELETE", "/api/v10/channels/"+bGeneral+"/messages/"+pic["id"].(string), nil), 204)

	// Custom emoji of the origin are served by the member server too.
	emoji := ok(t, ann.do(t, "POST", "/api/v10/guilds/"+g["id"].(string)+"/emojis", map[string]any{"name": "hearth",
		"image": "data:image/png;base64," + base64.StdEncoding.EncodeToString(img)}), 201)
	var bEmoji string
	eventually(t, "emoji on B", func() string {
		for _, e := range ok(t, bob.do(t, "GET", "/api/v10/guilds/"+bGuild, nil), 200)["emojis"].([]any) {
			if e.(map[string]any)["name"] == "hearth" {
				bEmoji = e.(map[string]any)["id"].(string)
				return ""
			}
		}
		return "B has no emoji"
	})
	if bEmoji == emoji["id"] || !bytes.Equal(fetch(b.URL()+"/emojis/"+bEmoji+".png"), img) {
		t.Fatalf("emoji on B: %s (origin's %v)", bEmoji, emoji["id"])
	}

	// IDs of the same messages on each server.
	idsOf := func(u user, ch string) map[string]string {
		out := map[string]string{}
		for _, m := range list(t, u.do(t, "GET", "/api/v10/channels/"+ch+"/messages?limit=50", nil)) {
			out[m["content"].(string)] = m["id"].(string)
		}
		return out
	}
	onA, onB, onC := idsOf(ann, general), idsOf(bob, bGeneral), idsOf(cat, cGeneral)

	// Reactions from a replica reach the origin and the other replica.
	ok(t, bob.do(t, "PUT", "/api/v10/channels/"+bGeneral+"/messages/"+onB["one from A"]+"/reactions/%F0%9F%94%A5/@me", nil), 204)
	reactions := func(u user, ch, id string) string {
		m := ok(t, u.do(t, "GET", "/api/v10/channels/"+ch+"/messages/"+id, nil), 200)
		rs, _ := m["reactions"].([]any)
		var parts []string
		for _, r := range rs {
			r := r.(map[string]any)
			parts = append(parts, fmt.Sprintf("%s:%v:%v", r["emoji"].(map[string]any)["name"], r["count"], r["me"]))
		}
		return strings.Join(parts, ",")
	}
	for _, v := range []struct {
		u      user
		ch, id string
		want   string
	}{{ann, general, onA["one from A"], "🔥:1:false"}, {bob, bGeneral, onB["one from A"], "🔥:1:true"}, {cat, cGeneral, onC["one from A"], "🔥:1:false"}} {
		eventually(t, "reaction on "+v.u.s.ServerName(), func() string {
			if got := reactions(v.u, v.ch, v.id); got != v.want {
				return fmt.Sprintf("reactions %q, want %q", got, v.want)
			}
			return ""
		})
	}
	ok(t, bob.do(t, "DELETE", "/api/v10/channels/"+bGeneral+"/messages/"+onB["one from A"]+"/reactions/%F0%9F%94%A5/@me", nil), 204)
	eventually(t, "reaction removed on C", func() string {
		if got := reactions(cat, cGeneral, onC["one from A"]); got != "" {
			return "reactions " + got
		}
		return ""
	})

	// Pins: the origin decides who may pin; every replica lists the pin.
	st.Expect(t, bob.do(t, "PUT", "/api/v10/channels/"+bGeneral+"/pins/"+onB["two from B"], nil), 403, st.Code(50013))
	ok(t, ann.do(t, "PUT", "/api/v10/channels/"+general+"/pins/"+onA["two from B"], nil), 204)
	eventually(t, "pin on C", func() string {
		pins := list(t, cat.do(t, "GET", "/api/v10/channels/"+cGeneral+"/pins", nil))
		if len(pins) != 1 || pins[0]["id"] != onC["two from B"] || pins[0]["pinned"] != true {
			return fmt.Sprintf("C's pins: %v", pins)
		}
		return ""
	})
	ok(t, ann.do(t, "DELETE", "/api/v10/channels/"+general+"/pins/"+onA["two from B"], nil), 204)
	eventually(t, "unpin on C", func() string {
		if pins := list(t, cat.do(t, "GET", "/api/v10/channels/"+cGeneral+"/pins", nil)); len(pins) != 0 {
			return fmt.Sprintf("C's pins: %v", pins)
		}
		return ""
	})
	// The pin's notice (type 6) went everywhere too; the owner removes it
	// from the conversation compared below.
	notice := list(t, ann.do(t, "GET", "/api/v10/channels/"+general+"/messages?limit=1", nil))[0]
	if notice["type"] != float64(6) {
		t.Fatalf("newest message on A after a pin = %v", notice)
	}
	ok(t, ann.do(t, "DELETE", "/api/v10/channels/"+general+"/messages/"+notice["id"].(string), nil), 204)

	// Threads: bob starts one from ann's message through B; it takes the
	// message's ID on every server, as on Discord; cat writes in it from C.
	th := ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages/"+onB["one from A"]+"/threads", map[string]any{"name": "about one"}), 201)
	if th["id"] != onB["one from A"] || th["type"] != float64(11) || th["parent_id"] != bGeneral {
		t.Fatalf("thread on B = %v", th)
	}
	var cThread string
	eventually(t, "thread on C", func() string {
		active := ok(t, cat.do(t, "GET", "/api/v10/guilds/"+ok(t, cat.do(t, "GET", "/api/v10/channels/"+cGeneral, nil), 200)["guild_id"].(string)+"/threads/active", nil), 200)
		for _, x := range active["threads"].([]any) {
			if x.(map[string]any)["name"] == "about one" {
				cThread = x.(map[string]any)["id"].(string)
				return ""
			}
		}
		return fmt.Sprintf("C's active threads: %v", active)
	})
	if cThread != onC["one from A"] {
		t.Fatalf("thread on C is %s, want the message's ID %s", cThread, onC["one from A"])
	}
	ok(t, cat.do(t, "POST", "/api/v10/channels/"+cThread+"/messages", map[string]any{"content": "in the thread"}), 200)
	eventually(t, "thread message on B", func() string {
		if got := bob.contents(t, onB["one from A"], 10); strings.Join(got, "|") != "in the thread" {
			return fmt.Sprintf("B's thread holds %q", got)
		}
		return ""
	})
	archived := ok(t, bob.do(t, "PATCH", "/api/v10/channels/"+onB["one from A"], map[string]any{"archived": true}), 200)
	if archived["thread_metadata"].(map[string]any)["archived"] != true {
		t.Fatalf("archive answer = %v", archived)
	}
	if m := ok(t, ann.do(t, "GET", "/api/v10/channels/"+onA["one from A"], nil), 200)["thread_metadata"].(map[string]any); m["archived"] != true {
		t.Fatalf("thread on A = %v", m)
	}

	// Edits and deletes: the author edits through their homeserver; the
	// origin's moderator deletes someone else's message.
	edited := ok(t, bob.do(t, "PATCH", "/api/v10/channels/"+bGeneral+"/messages/"+onB["two from B"], map[string]any{"content": "two from B, edited"}), 200)
	if edited["content"] != "two from B, edited" || edited["edited_timestamp"] == nil || edited["id"] != onB["two from B"] {
		t.Fatalf("edit answer = %v", edited)
	}
	st.Expect(t, cat.do(t, "PATCH", "/api/v10/channels/"+cGeneral+"/messages/"+onC["two from B"], map[string]any{"content": "not yours"}), 403, st.Code(50005))
	ok(t, ann.do(t, "DELETE", "/api/v10/channels/"+general+"/messages/"+onA["three from C"], nil), 204)
	want = []string{"one from A", "two from B, edited"}
	for _, v := range []struct {
		u  user
		ch string
	}{{ann, general}, {bob, bGeneral}, {cat, cGeneral}} {
		eventually(t, "edit and delete on "+v.u.s.ServerName(), func() string {
			if got := v.u.contents(t, v.ch, 50); strings.Join(got, "|") != strings.Join(want, "|") {
				return fmt.Sprintf("got %q, want %q", got, want)
			}
			return ""
		})
	}
	// Permissions are the origin's: a member without MANAGE_MESSAGES on a
	// replica cannot delete another's message.
	st.Expect(t, cat.do(t, "DELETE", "/api/v10/channels/"+cGeneral+"/messages/"+onC["one from A"], nil), 403, st.Code(50013))

	// A kick on the origin takes the member off their homeserver's copy.
	catOnA := ""
	for _, m := range list(t, ann.do(t, "GET", "/api/v10/guilds/"+g["id"].(string)+"/members?limit=10", nil)) {
		if m["user"].(map[string]any)["username"] == "cat" {
			catOnA = m["user"].(map[string]any)["id"].(string)
		}
	}
	ok(t, ann.do(t, "DELETE", "/api/v10/guilds/"+g["id"].(string)+"/members/"+catOnA, nil), 204)
	eventually(t, "kick seen on C", func() string {
		for _, g := range list(t, cat.do(t, "GET", "/api/v10/users/@me/guilds", nil)) {
			if g["name"] == "Hearth Club" {
				return "cat still has the guild"
			}
		}
		return ""
	})
	st.Expect(t, cat.do(t, "POST", "/api/v10/channels/"+cGeneral+"/messages", map[string]any{"content": "still here?"}), 404, st.Code(10003))

	// A ban: bob is removed and cannot come back.
	bobOnA := ""
	for _, m := range list(t, ann.do(t, "GET", "/api/v10/guilds/"+g["id"].(string)+"/members?limit=10", nil)) {
		if m["user"].(map[string]any)["username"] == "bob" {
			bobOnA = m["user"].(map[string]any)["id"].(string)
		}
	}
	ok(t, ann.do(t, "PUT", "/api/v10/guilds/"+g["id"].(string)+"/bans/"+bobOnA, map[string]any{}), 204)
	gw.until(t, "GUILD_DELETE", func(d map[string]any) bool { return d["id"] == bGuild })
	st.Expect(t, bob.do(t, "POST", "/api/v10/invites/"+remoteCode, nil), 403, st.Code(40007))

	// A DM across servers: ann's homeserver is the channel's origin.
	dm := ok(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient": "bob@" + b.ServerName()}), 200)
	if rs := dm["recipients"].([]any); len(rs) != 1 || rs[0].(map[string]any)["username"] != "bob" {
		t.Fatalf("DM on A = %v", dm)
	}
	ok(t, ann.do(t, "POST", "/api/v10/channels/"+dm["id"].(string)+"/messages", map[string]any{"content": "hi bob"}), 200)
	opened := gw.until(t, "CHANNEL_CREATE", func(d map[string]any) bool { return d["type"] == float64(1) })
	bDM := opened["id"].(string)
	if rs := opened["recipients"].([]any); len(rs) == 0 {
		t.Fatalf("CHANNEL_CREATE on B = %v", opened)
	}
	gw.until(t, "MESSAGE_CREATE", func(d map[string]any) bool { return d["content"] == "hi bob" && d["channel_id"] == bDM })
	// Bob answers on his homeserver; naming ann finds the same channel.
	again := ok(t, bob.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient": "ann@" + a.ServerName()}), 200)
	if again["id"] != bDM {
		t.Fatalf("bob's DM with ann is %v, want the replica %s", again["id"], bDM)
	}
	ok(t, bob.do(t, "POST", "/api/v10/channels/"+bDM+"/messages", map[string]any{"content": "hi ann"}), 200)
	want = []string{"hi bob", "hi ann"}
	for _, v := range []struct {
		u  user
		ch string
	}{{ann, dm["id"].(string)}, {bob, bDM}} {
		eventually(t, "DM on "+v.u.s.ServerName(), func() string {
			if got := v.u.contents(t, v.ch, 10); strings.Join(got, "|") != strings.Join(want, "|") {
				return fmt.Sprintf("got %q, want %q", got, want)
			}
			return ""
		})
	}
	st.Expect(t, bob.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient": "nobody@" + a.ServerName()}), 404, st.Code(10013))

	// A group DM across three servers; C joins it after it was made and
	// gets it whole.
	grp := ok(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipients": []string{bobOnA}, "name": "trio"}), 200)
	ok(t, ann.do(t, "POST", "/api/v10/channels/"+grp["id"].(string)+"/messages", map[string]any{"content": "before cat"}), 200)
	ok(t, ann.do(t, "PUT", "/api/v10/channels/"+grp["id"].(string)+"/recipients/"+catOnA, nil), 204)
	ok(t, ann.do(t, "POST", "/api/v10/channels/"+grp["id"].(string)+"/messages", map[string]any{"content": "hello trio"}), 200)
	eventually(t, "group DM on C", func() string {
		for _, ch := range list(t, cat.do(t, "GET", "/api/v10/users/@me/channels", nil)) {
			if ch["name"] == "trio" {
				if got := cat.contents(t, ch["id"].(string), 10); strings.Join(got, "|") != "before cat|hello trio" {
					return fmt.Sprintf("C's group DM holds %q", got)
				}
				return ""
			}
		}
		return "C has no group DM"
	})
	ok(t, ann.do(t, "PATCH", "/api/v10/channels/"+grp["id"].(string), map[string]any{"name": "renamed trio"}), 200)
	eventually(t, "group DM renamed on C", func() string {
		for _, ch := range list(t, cat.do(t, "GET", "/api/v10/users/@me/channels", nil)) {
			if ch["name"] == "renamed trio" {
				return ""
			}
		}
		return "C's group DM keeps its old name"
	})
}

// gatewayClient is a bare gateway session.
type gatewayClient struct {
	ws      *websocket.Conn
	session string
}

func dialGateway(t *testing.T, s *st.Server, tok string) *gatewayClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/gateway?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(64 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	c := &gatewayClient{ws: ws}
	b, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": tok, "intents": 1<<0 | 1<<1 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12 | 1<<15,
		"properties": map[string]string{"os": "linux", "browser": "test", "device": "test"}}})
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	ready := c.until(t, "READY", nil)
	c.session, _ = ready["session_id"].(string)
	return c
}

// until reads dispatches until one named typ for which match (if given)
// holds, and returns its d.
func (c *gatewayClient) until(t *testing.T, typ string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		_, msg, err := c.ws.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var p struct {
			Op int            `json:"op"`
			T  string         `json:"t"`
			D  map[string]any `json:"d"`
		}
		if json.Unmarshal(msg, &p) != nil || p.Op != 0 || p.T != typ {
			continue
		}
		if match == nil || match(p.D) {
			return p.D
		}
	}
}

// history reads a whole channel as the user sees it, oldest first.
func (u user) history(t *testing.T, channel string) []string {
	t.Helper()
	var out []string
	before := ""
	for {
		path := "/api/v10/channels/" + channel + "/messages?limit=100"
		if before != "" {
			path += "&before=" + before
		}
		page := list(t, u.do(t, "GET", path, nil))
		for _, m := range page {
			out = append(out, m["content"].(string))
		}
		if len(page) < 100 {
			break
		}
		before = page[len(page)-1]["id"].(string)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// A member homeserver that was down while 1,000 events happened catches up
// in order, with nothing twice, once it is back.
func TestFederationCatchUp(t *testing.T) {
	a := st.Start(t, st.Options{})
	b := st.Start(t, st.Options{})
	ann, bob := register(t, a, "ann"), register(t, b, "bob")
	ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Busy"}), 201)
	_, general := ann.guildNamed(t, "Busy")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	_, bGeneral := bob.guildNamed(t, "Busy")

	b.Stop()
	var want []string
	for i := range 1000 {
		want = append(want, fmt.Sprintf("n%d", i))
		ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": want[i]}), 200)
	}
	b = b.Restart(t)
	bob.s = b
	eventually(t, "B caught up", func() string {
		got := bob.history(t, bGeneral)
		if len(got) != len(want) || strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Sprintf("B has %d messages (want %d); first %v", len(got), len(want), got[:min(3, len(got))])
		}
		return ""
	})
}

// call sends a request signed as from (with its own key) to to.
func call(t *testing.T, from, to *st.Server, method, path string, body any) (int, map[string]any) {
	t.Helper()
	key, err := federation.LoadOrCreateKey(filepath.Join(from.Options.DataDir, "signing.key"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(body)
	if body == nil {
		raw = nil
	}
	req, _ := http.NewRequest(method, to.URL()+path, bytes.NewReader(raw))
	if err := federation.Sign(req, raw, from.ServerName(), key, time.Now()); err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// newStamper returns stamp, which gives an act a new ID of from's and a
// deadline ActTimeout ahead, as a member server does.
func newStamper() func(from *st.Server, act map[string]any) map[string]any {
	ids := snowflake.NewGenerator(1000)
	return func(from *st.Server, act map[string]any) map[string]any {
		act["id"] = ids.Next().String() + "@" + from.ServerName()
		act["deadline"] = wire.FormatActDeadline(time.Now().Add(wire.ActTimeout))
		return act
	}
}

// Each way a peer could overstep is refused, says why, and changes nothing.
func TestFederationRefusesForgeries(t *testing.T) {
	a, b, c := st.Start(t, st.Options{}), st.Start(t, st.Options{}), st.Start(t, st.Options{})
	ann, bob := register(t, a, "ann"), register(t, b, "bob")
	g := ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Guarded"}), 201)
	guild := g["id"].(string) + "@" + a.ServerName()
	_, general := ann.guildNamed(t, "Guarded")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	_, bGeneral := bob.guildNamed(t, "Guarded")
	secret := ok(t, ann.do(t, "POST", "/api/v10/guilds/"+g["id"].(string)+"/channels", map[string]any{
		"name": "staff", "permission_overwrites": []map[string]any{{"id": g["id"], "type": 0, "deny": "1024"}}}), 201)["id"].(string)
	ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "hello"}), 200)
	eventually(t, "B has the message", func() string {
		if got := bob.contents(t, bGeneral, 10); len(got) != 1 {
			return fmt.Sprintf("B has %q", got)
		}
		return ""
	})
	bobGlobal := bob.id + "@" + b.ServerName()
	stamp := newStamper()
	send := func(from *st.Server, channel string) map[string]any {
		return stamp(from, map[string]any{"user": bobGlobal, "action": "message.create", "guild": guild,
			"channel": channel + "@" + a.ServerName(), "data": map[string]any{"content": "forged"}})
	}
	cases := []struct {
		name     string
		from, to *st.Server
		method   string
		path     string
		body     any
		status   int
		code     string
	}{
		{"act for a user of another server", c, a, "POST", federation.ActPath, send(c, general), 403, "FORBIDDEN"},
		{"act for a user who never joined", b, a, "POST", federation.ActPath, stamp(b, map[string]any{"user": "42@" + b.ServerName(),
			"action": "message.create", "guild": guild, "channel": general + "@" + a.ServerName(), "data": map[string]any{"content": "x"}}), 404, "UNKNOWN_USER"},
		{"write where the member may not", b, a, "POST", federation.ActPath, send(b, secret), 403, "MISSING_ACCESS"},
		{"events of a guild the peer has no members in", c, a, "GET", "/_hearth/federation/v1/guilds/" + guild + "/events?after=0", nil, 403, "FORBIDDEN"},
		{"events for a guild from a server that is not its origin", c, b, "PUT", federation.SendPath + "x", map[string]any{
			"guild": guild, "from": 0, "to": 99, "events": []map[string]any{{"seq": 99, "type": "MESSAGE_CREATE", "d": map[string]any{"content": "forged"}}}}, 403, "FORBIDDEN"},
		{"join through an invite of a third server", b, a, "POST", federation.JoinPath, map[string]any{"invite": code + "@" + c.ServerName(),
			"user": map[string]any{"id": bobGlobal, "username": "bob"}}, 404, "UNKNOWN_INVITE"},
		{"join for a user of another server", c, a, "POST", federation.JoinPath, map[string]any{"invite": code,
			"user": map[string]any{"id": bobGlobal, "username": "bob"}}, 403, "FORBIDDEN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, tc.from, tc.to, tc.method, tc.path, tc.body)
			if status != tc.status || body["code"] != tc.code {
				t.Fatalf("%d %v, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
	// The secret channel's existence did not reach B: no member there may
	// see it.
	for _, ch := range list(t, bob.do(t, "GET", "/api/v10/guilds/"+ok(t, bob.do(t, "GET", "/api/v10/channels/"+bGeneral, nil), 200)["guild_id"].(string)+"/channels", nil)) {
		if ch["name"] == "staff" {
			t.Fatalf("B holds the staff channel: %v", ch)
		}
	}
	// A replayed (here: forged, already covered) transaction from the
	// real origin changes nothing.
	status, _ := call(t, a, b, "PUT", federation.SendPath+"replay", map[string]any{"guild": guild, "from": 0, "to": 1,
		"events": []map[string]any{{"seq": 1, "type": "MESSAGE_CREATE", "d": map[string]any{"id": "1@" + a.ServerName(), "content": "replayed"}}}})
	if status != 200 {
		t.Fatalf("replay answered %d", status)
	}
	if got := bob.contents(t, bGeneral, 10); strings.Join(got, "|") != "hello" {
		t.Fatalf("after the replay B has %q", got)
	}
	for _, s := range []*st.Server{a, b} {
		m := string(s.Do(t, "GET", "/metrics", "", nil).Body)
		if !strings.Contains(m, `hearth_federation_inbound_rejected_total{reason="forbidden"}`) {
			t.Errorf("%s counts no forbidden request", s.ServerName())
		}
	}
}

// A guild bigger than a join's snapshot reaches the member homeserver
// whole: the first page with the join, the rest page by page after.
func TestFederationMemberPages(t *testing.T) {
	st.ForEachBackend(t, testMemberPages)
}

// testMemberPages runs with the replica on backend.
func testMemberPages(t *testing.T, backend st.Backend) {
	a, b := st.Start(t, st.Options{}), st.Start(t, st.Options{Backend: backend})
	ctx := context.Background()
	hs := a.Homeserver()
	ann := register(t, a, "ann")
	ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Crowd"}), 201)
	_, general := ann.guildNamed(t, "Crowd")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
	const extra = homeserver.MemberPageSize + 150
	for i := range extra {
		tok, _, err := hs.Register(ctx, homeserver.Registration{Username: fmt.Sprintf("m%d", i), Password: "correct horse"})
		if err != nil {
			t.Fatal(err)
		}
		p, err := hs.Authenticate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hs.AcceptInvite(ctx, p, code); err != nil {
			t.Fatal(err)
		}
	}
	bob := register(t, b, "bob")
	inv := ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	guild := inv["guild"].(map[string]any)["id"].(string)
	want := extra + 2 // ann and bob
	eventually(t, "members on B", func() string {
		n, after := 0, "0"
		for {
			page := list(t, bob.do(t, "GET", "/api/v10/guilds/"+guild+"/members?limit=1000&after="+after, nil))
			n += len(page)
			if len(page) < 1000 {
				break
			}
			after = page[len(page)-1]["user"].(map[string]any)["id"].(string)
		}
		if n != want {
			return fmt.Sprintf("B lists %d members, want %d", n, want)
		}
		return ""
	})
}

// testPNG is a 2×2 PNG.
func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	img.Pix[0], img.Pix[3] = 200, 255
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// History from before a member server's replica began is fetched from the
// origin as its users page back, once, and sorts before what came live.
func TestFederationBackfill(t *testing.T) {
	a, b := st.Start(t, st.Options{}), st.Start(t, st.Options{Backend: st.Postgres})
	ann, bob := register(t, a, "ann"), register(t, b, "bob")
	ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Old"}), 201)
	_, general := ann.guildNamed(t, "Old")
	var want []string
	for i := range 120 {
		want = append(want, fmt.Sprintf("old %d", i))
		ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": want[i]}), 200)
	}
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	_, bGeneral := bob.guildNamed(t, "Old")
	ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "new"}), 200)
	want = append(want, "new")
	eventually(t, "the new message on B", func() string {
		if got := bob.contents(t, bGeneral, 1); len(got) != 1 || got[0] != "new" {
			return fmt.Sprintf("B's newest: %q", got)
		}
		return ""
	})
	// A read waits a moment for the origin, then answers with what B
	// holds: the history is whole once every page has come.
	eventually(t, "B's whole history", func() string {
		if got := bob.history(t, bGeneral); strings.Join(got, "|") != strings.Join(want, "|") {
			return fmt.Sprintf("B's history has %d messages: %q...", len(got), got[:min(5, len(got))])
		}
		return ""
	})
	// Paged back once, it is B's own from then on, in the same order.
	if got := bob.history(t, bGeneral); len(got) != len(want) {
		t.Fatalf("second read: %d messages", len(got))
	}
}

// A peer that answers with an endless body or never answers costs a join
// a bounded read and a bounded wait, not the server's memory.
func TestFederationBoundsPeerAnswers(t *testing.T) {
	endless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"seq": 1, "guild": "`))
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer endless.Close()
	b := st.Start(t, st.Options{})
	bob := register(t, b, "bob")
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	r := bob.do(t, "POST", "/api/v10/invites/abc@"+strings.TrimPrefix(endless.URL, "http://"), nil)
	if r.Status != 503 || time.Since(start) > 20*time.Second {
		t.Fatalf("join through an endless peer: %d %s after %s", r.Status, r.Body, time.Since(start))
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 200<<20 {
		t.Fatalf("the heap grew by %d MiB reading one answer", grown>>20)
	}
}

// Once a peer's last member has left, the peer gets that departure and
// then nothing more of the guild.
func TestFederationStopsAfterLastMember(t *testing.T) {
	a, b := st.Start(t, st.Options{}), st.Start(t, st.Options{})
	ann, bob := register(t, a, "ann"), register(t, b, "bob")
	join := func(name string) (guildOnA, channelOnA string, inv map[string]any) {
		guildOnA = ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": name}), 201)["id"].(string)
		_, channelOnA = ann.guildNamed(t, name)
		code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+channelOnA+"/invites", map[string]any{}), 200)["code"].(string)
		return guildOnA, channelOnA, ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	}
	passing, general, inv := join("Passing")
	// Bob stays in a second guild of A's: its messages reaching B show
	// that A's delivery to B has run its course (below).
	_, staying, _ := join("Staying")
	_, bStaying := bob.guildNamed(t, "Staying")
	replica, _ := strconv.ParseUint(inv["guild"].(map[string]any)["id"].(string), 10, 64)
	passingID, _ := strconv.ParseUint(passing, 10, 64)
	ok(t, bob.do(t, "DELETE", "/api/v10/users/@me/guilds/"+inv["guild"].(map[string]any)["id"].(string), nil), 204)
	ctx := context.Background()
	// A drops B's delivery cursor of the guild once B has acknowledged
	// everything up to the departure: from then on A has nothing to
	// deliver B from that log.
	eventually(t, "the departure delivered and B's cursor gone on A", func() string {
		for _, g := range list(t, bob.do(t, "GET", "/api/v10/users/@me/guilds", nil)) {
			if g["name"] == "Passing" {
				return "bob still has the guild"
			}
		}
		cs, err := a.Homeserver().DeliveryCursors(ctx)
		if err != nil {
			return err.Error()
		}
		for _, c := range cs {
			if c.Peer == b.ServerName() && c.LogID == snowflake.ID(passingID) {
				return fmt.Sprintf("A still delivers the guild to B from %d", c.Seq)
			}
		}
		return ""
	})
	left, err := b.Homeserver().ReplicaPosition(ctx, snowflake.ID(replica))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "after"}), 200)
	}
	// A delivers to B in passes, one after the other, each over every log
	// B has a cursor for. The pass that carries the first witness began
	// after the five messages were written; the second witness comes in a
	// later pass, so once it is on B the first pass is over, and it would
	// have carried the five had A still delivered the guild.
	for _, w := range []string{"witness one", "witness two"} {
		ok(t, ann.do(t, "POST", "/api/v10/channels/"+staying+"/messages", map[string]any{"content": w}), 200)
		eventually(t, w+" on B", func() string {
			if got := bob.contents(t, bStaying, 1); len(got) != 1 || got[0] != w {
				return fmt.Sprintf("B's newest: %q", got)
			}
			return ""
		})
	}
	if seq, _ := b.Homeserver().ReplicaPosition(ctx, snowflake.ID(replica)); seq != left {
		t.Fatalf("B's replica moved from %d to %d after its last member left", left, seq)
	}
	if m := string(a.Do(t, "GET", "/metrics", "", nil).Body); !strings.Contains(m, `hearth_federation_transactions_total{outcome="ok",peer="`+b.ServerName()+`"}`) {
		t.Fatalf("no transaction metric for B")
	}
}

// A member server's moderator moderates a guild of another server through
// it: clearing reactions, bulk deletes, removing others from and deleting
// threads, all decided by the origin.
func TestFederationModeration(t *testing.T) {
	a, b := st.Start(t, st.Options{}), st.Start(t, st.Options{})
	ann, bob := register(t, a, "ann"), register(t, b, "bob")
	g := ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Moderated"}), 201)["id"].(string)
	_, general := ann.guildNamed(t, "Moderated")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	bGuild, bGeneral := bob.guildNamed(t, "Moderated")
	var m []string
	for _, c := range []string{"one", "two", "three"} {
		m = append(m, ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": c}), 200)["id"].(string))
	}
	ok(t, ann.do(t, "PUT", "/api/v10/channels/"+general+"/messages/"+m[0]+"/reactions/%F0%9F%94%A5/@me", nil), 204)
	var onB map[string]string
	eventually(t, "messages on B", func() string {
		onB = map[string]string{}
		for _, x := range list(t, bob.do(t, "GET", "/api/v10/channels/"+bGeneral+"/messages?limit=10", nil)) {
			onB[x["content"].(string)] = x["id"].(string)
		}
		if len(onB) != 3 {
			return fmt.Sprintf("B has %v", onB)
		}
		return ""
	})
	// Without the permission, the origin refuses.
	st.Expect(t, bob.do(t, "DELETE", "/api/v10/channels/"+bGeneral+"/messages/"+onB["one"]+"/reactions", nil), 403, st.Code(50013))
	// Made a moderator on the origin, bob may.
	bobOnA := ""
	for _, x := range list(t, ann.do(t, "GET", "/api/v10/guilds/"+g+"/members?limit=10", nil)) {
		if x["user"].(map[string]any)["username"] == "bob" {
			bobOnA = x["user"].(map[string]any)["id"].(string)
		}
	}
	role := ok(t, ann.do(t, "POST", "/api/v10/guilds/"+g+"/roles", map[string]any{"name": "mods", "permissions": fmt.Sprint(1<<0 | 1<<1 | 1<<2 | 1<<4 | 1<<5 | 1<<13 | 1<<27 | 1<<28 | 1<<30 | 1<<34 | 1<<40)}), 200)["id"].(string)
	ok(t, ann.do(t, "PUT", "/api/v10/guilds/"+g+"/members/"+bobOnA+"/roles/"+role, nil), 204)
	ok(t, bob.do(t, "DELETE", "/api/v10/channels/"+bGeneral+"/messages/"+onB["one"]+"/reactions", nil), 204)
	if rs := ok(t, ann.do(t, "GET", "/api/v10/channels/"+general+"/messages/"+m[0], nil), 200)["reactions"]; rs != nil {
		t.Fatalf("reactions on A after bob cleared them: %v", rs)
	}
	ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages/bulk-delete", map[string]any{"messages": []string{onB["one"], onB["two"]}}), 204)
	if got := ann.contents(t, general, 10); strings.Join(got, "|") != "three" {
		t.Fatalf("A after bob's bulk delete: %q", got)
	}
	// bob pins: the notice the origin logs is authored by bob and names
	// his act, so B takes it (spec/federation.md §14, "Writes in a user's
	// name").
	ok(t, bob.do(t, "PUT", "/api/v10/channels/"+bGeneral+"/pins/"+onB["three"], nil), 204)
	notice := list(t, bob.do(t, "GET", "/api/v10/channels/"+bGeneral+"/messages?limit=1", nil))
	if len(notice) != 1 || notice[0]["type"] != float64(6) || notice[0]["author"].(map[string]any)["id"] != bob.id {
		t.Fatalf("B's newest message after bob's pin = %v, want his pin notice", notice)
	}
	th := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages/"+m[2]+"/threads", map[string]any{"name": "talk"}), 201)["id"].(string)
	eventually(t, "thread on B", func() string {
		if r := bob.do(t, "GET", "/api/v10/channels/"+onB["three"], nil); r.Status != 200 {
			return fmt.Sprintf("B: %d", r.Status)
		}
		return ""
	})
	annOnB := ""
	for _, x := range list(t, bob.do(t, "GET", "/api/v10/guilds/"+bGuild+"/members?limit=10", nil)) {
		if x["user"].(map[string]any)["username"] == "ann" {
			annOnB = x["user"].(map[string]any)["id"].(string)
		}
	}
	ok(t, bob.do(t, "DELETE", "/api/v10/channels/"+onB["three"]+"/thread-members/"+annOnB, nil), 204)
	if ms := list(t, ann.do(t, "GET", "/api/v10/channels/"+th+"/thread-members", nil)); len(ms) != 0 {
		t.Fatalf("thread members on A after bob removed ann: %v", ms)
	}
	ok(t, bob.do(t, "DELETE", "/api/v10/channels/"+onB["three"], nil), 200)
	st.Expect(t, ann.do(t, "GET", "/api/v10/channels/"+th, nil), 404, st.Code(10003))

	// Invites made through the member server join from anywhere; the
	// member server's moderator gives roles, kicks and bans.
	inv := ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/invites", map[string]any{"max_age": 0}), 200)
	if !strings.HasSuffix(inv["code"].(string), "@"+a.ServerName()) || inv["guild"].(map[string]any)["id"] != bGuild {
		t.Fatalf("invite made through B = %v", inv)
	}
	dee := register(t, b, "dee")
	ok(t, dee.do(t, "POST", "/api/v10/invites/"+inv["code"].(string), nil), 200)
	fans := ok(t, ann.do(t, "POST", "/api/v10/guilds/"+g+"/roles", map[string]any{"name": "fans"}), 200)["id"].(string)
	list(t, ann.do(t, "PATCH", "/api/v10/guilds/"+g+"/roles", []map[string]any{{"id": role, "position": 2}, {"id": fans, "position": 1}}))
	var deeOnB, fansOnB string
	eventually(t, "dee and fans on B", func() string {
		for _, x := range list(t, bob.do(t, "GET", "/api/v10/guilds/"+bGuild+"/members?limit=10", nil)) {
			if x["user"].(map[string]any)["username"] == "dee" {
				deeOnB = x["user"].(map[string]any)["id"].(string)
			}
		}
		for _, r := range list(t, bob.do(t, "GET", "/api/v10/guilds/"+bGuild+"/roles", nil)) {
			if r["name"] == "fans" {
				fansOnB = r["id"].(string)
			}
		}
		if deeOnB == "" || fansOnB == "" {
			return "not yet"
		}
		return ""
	})
	ok(t, bob.do(t, "PUT", "/api/v10/guilds/"+bGuild+"/members/"+deeOnB+"/roles/"+fansOnB, nil), 204)
	deeOnA := ""
	for _, x := range list(t, ann.do(t, "GET", "/api/v10/guilds/"+g+"/members?limit=10", nil)) {
		if x["user"].(map[string]any)["username"] == "dee" {
			deeOnA = x["user"].(map[string]any)["id"].(string)
			if rs := x["roles"].([]any); len(rs) != 1 || rs[0] != fans {
				t.Fatalf("dee's roles on A = %v", rs)
			}
		}
	}
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	edited := ok(t, bob.do(t, "PATCH", "/api/v10/guilds/"+bGuild+"/members/"+deeOnB, map[string]any{"nick": "d", "communication_disabled_until": until}), 200)
	if edited["nick"] != "d" || edited["communication_disabled_until"] == nil {
		t.Fatalf("member edit answered by B = %v", edited)
	}
	if m := ok(t, ann.do(t, "GET", "/api/v10/guilds/"+g+"/members/"+deeOnA, nil), 200); m["nick"] != "d" || m["communication_disabled_until"] == nil {
		t.Fatalf("dee on A after bob's edit = %v", m)
	}
	ok(t, bob.do(t, "DELETE", "/api/v10/guilds/"+bGuild+"/members/"+deeOnB, nil), 204)
	st.Expect(t, ann.do(t, "GET", "/api/v10/guilds/"+g+"/members/"+deeOnA, nil), 404, st.Code(10007))
	ok(t, bob.do(t, "PUT", "/api/v10/guilds/"+bGuild+"/bans/"+deeOnB, map[string]any{}), 204)
	ok(t, ann.do(t, "GET", "/api/v10/guilds/"+g+"/bans/"+deeOnA, nil), 200)
	st.Expect(t, dee.do(t, "POST", "/api/v10/invites/"+inv["code"].(string), nil), 403, st.Code(40007))
	ok(t, bob.do(t, "DELETE", "/api/v10/guilds/"+bGuild+"/bans/"+deeOnB, nil), 204)
	ok(t, dee.do(t, "POST", "/api/v10/invites/"+inv["code"].(string), nil), 200)

	// Channels and roles, managed through the member server.
	ch := ok(t, bob.do(t, "POST", "/api/v10/guilds/"+bGuild+"/channels", map[string]any{"name": "from-b", "topic": "made on B"}), 201)
	if ch["name"] != "from-b" || ch["guild_id"] != bGuild {
		t.Fatalf("channel made through B = %v", ch)
	}
	fromB := ""
	for _, c := range list(t, ann.do(t, "GET", "/api/v10/guilds/"+g+"/channels", nil)) {
		if c["name"] == "from-b" {
			fromB = c["id"].(string)
		}
	}
	if fromB == "" {
		t.Fatal("the channel made through B is not on A")
	}
	ok(t, bob.do(t, "PATCH", "/api/v10/channels/"+ch["id"].(string), map[string]any{"topic": "edited on B"}), 200)
	if c := ok(t, ann.do(t, "GET", "/api/v10/channels/"+fromB, nil), 200); c["topic"] != "edited on B" {
		t.Fatalf("channel on A after the edit = %v", c)
	}
	helpers := ok(t, bob.do(t, "POST", "/api/v10/guilds/"+bGuild+"/roles", map[string]any{"name": "helpers"}), 200)
	found := false
	for _, r := range list(t, ann.do(t, "GET", "/api/v10/guilds/"+g+"/roles", nil)) {
		found = found || r["name"] == "helpers"
	}
	if !found || helpers["name"] != "helpers" {
		t.Fatalf("role made through B: %v; on A: %v", helpers, found)
	}
	// An overwrite set through B is the origin's.
	ok(t, bob.do(t, "PUT", "/api/v10/channels/"+ch["id"].(string)+"/permissions/"+helpers["id"].(string), map[string]any{"type": 0, "allow": "1024", "deny": "2048"}), 204)
	if ows := ok(t, ann.do(t, "GET", "/api/v10/channels/"+fromB, nil), 200)["permission_overwrites"].([]any); len(ows) != 1 || ows[0].(map[string]any)["deny"] != "2048" {
		t.Fatalf("overwrites on A = %v", ows)
	}
	ok(t, bob.do(t, "DELETE", "/api/v10/guilds/"+bGuild+"/roles/"+helpers["id"].(string), nil), 204)
	// Guild settings and custom emoji too.
	if got := ok(t, bob.do(t, "PATCH", "/api/v10/guilds/"+bGuild, map[string]any{"name": "Moderated well"}), 200); got["name"] != "Moderated well" || got["id"] != bGuild {
		t.Fatalf("guild edit answered by B = %v", got)
	}
	if got := ok(t, ann.do(t, "GET", "/api/v10/guilds/"+g, nil), 200)["name"]; got != "Moderated well" {
		t.Fatalf("guild name on A = %v", got)
	}
	e := ok(t, bob.do(t, "POST", "/api/v10/guilds/"+bGuild+"/emojis", map[string]any{"name": "bee",
		"image": "data:image/png;base64," + base64.StdEncoding.EncodeToString(testPNG(t))}), 201)
	if e["name"] != "bee" {
		t.Fatalf("emoji made through B = %v", e)
	}
	if es := list(t, ann.do(t, "GET", "/api/v10/guilds/"+g+"/emojis", nil)); len(es) != 1 || es[0]["name"] != "bee" {
		t.Fatalf("emoji on A = %v", es)
	}
	ok(t, bob.do(t, "DELETE", "/api/v10/guilds/"+bGuild+"/emojis/"+e["id"].(string), nil), 204)
	ok(t, bob.do(t, "PATCH", "/api/v10/guilds/"+bGuild+"/channels", []map[string]any{{"id": ch["id"], "position": 7}}), 204)
	if c := ok(t, ann.do(t, "GET", "/api/v10/channels/"+fromB, nil), 200); c["position"] != float64(7) {
		t.Fatalf("channel on A after bob's reorder = %v", c["position"])
	}
	ok(t, bob.do(t, "DELETE", "/api/v10/channels/"+ch["id"].(string), nil), 200)
	st.Expect(t, ann.do(t, "GET", "/api/v10/channels/"+fromB, nil), 404, st.Code(10003))
}

// TestFederatedPresenceAfterJoin: presence is told only when it changes,
// yet a member who joins another server's guild shows present there at
// once, and sees who is present there, with no change of status on
// either side.
func TestFederatedPresenceAfterJoin(t *testing.T) {
	a, b := st.Start(t, st.Options{}), st.Start(t, st.Options{})
	ann, bob := register(t, a, "ann"), register(t, b, "bob")
	annGW := dialGateway(t, a, ann.tok)
	ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Lantern"}), 201)
	g, general := ann.guildNamed(t, "Lantern")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{"max_age": 0}), 200)["code"].(string)
	bobGW := dialGateway(t, b, bob.tok)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	bGuild, _ := bob.guildNamed(t, "Lantern")

	idOn := func(u user, guild, name string) string {
		for _, m := range list(t, u.do(t, "GET", "/api/v10/guilds/"+guild+"/members?limit=10", nil)) {
			if usr := m["user"].(map[string]any); usr["username"] == name {
				return usr["id"].(string)
			}
		}
		t.Fatalf("no member %s in %s", name, guild)
		return ""
	}
	bobOnA := idOn(ann, g, "bob")
	annGW.until(t, "PRESENCE_UPDATE", func(d map[string]any) bool {
		return d["guild_id"] == g && d["status"] == "online" && d["user"].(map[string]any)["id"] == bobOnA
	})
	annOnB := idOn(bob, bGuild, "ann")
	bobGW.until(t, "PRESENCE_UPDATE", func(d map[string]any) bool {
		return d["guild_id"] == bGuild && d["status"] == "online" && d["user"].(map[string]any)["id"] == annOnB
	})
}
