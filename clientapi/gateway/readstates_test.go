package gateway_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	st "hearth/server/servertest"
)

// readyState is what a fresh READY says of a user's read states and guild
// settings.
type readyState struct {
	ReadState struct {
		Version int64 `json:"version"`
		Partial bool  `json:"partial"`
		Entries []struct {
			ID            string `json:"id"`
			LastMessageID string `json:"last_message_id"`
			MentionCount  int    `json:"mention_count"`
		} `json:"entries"`
	} `json:"read_state"`
	UserGuildSettings struct {
		Version int64            `json:"version"`
		Partial bool             `json:"partial"`
		Entries []map[string]any `json:"entries"`
	} `json:"user_guild_settings"`
}

// readyOf identifies a new session of tok and returns its READY's read
// states and settings; the session is closed afterwards.
func readyOf(t *testing.T, s *st.Server, tok string) readyState {
	t.Helper()
	c := dial(t, s, "")
	defer c.ws.CloseNow()
	var r readyState
	if err := json.Unmarshal(identify(c, tok, allIntents).D, &r); err != nil {
		t.Fatal(err)
	}
	if r.ReadState.Partial || r.UserGuildSettings.Partial || r.ReadState.Entries == nil || r.UserGuildSettings.Entries == nil {
		t.Fatalf("READY read_state/user_guild_settings not whole: %+v", r)
	}
	return r
}

// entry is one channel's read state in r: its last acked message ("" for
// none) and mention count; ok false when READY has no entry for it.
func (r readyState) entry(channel string) (last string, mentions int, ok bool) {
	for _, e := range r.ReadState.Entries {
		if e.ID == channel {
			if e.LastMessageID == "0" {
				e.LastMessageID = ""
			}
			return e.LastMessageID, e.MentionCount, true
		}
	}
	return "", 0, false
}

func mentionsIn(t *testing.T, s *st.Server, tok, channel string) int {
	t.Helper()
	_, n, _ := readyOf(t, s, tok).entry(channel)
	return n
}

// TestMentionCounts: each way of mentioning a user counts once where
// Discord counts it (direct, held mentionable role, any role or
// @everyone only from those allowed (@here: TestHereCountsOnlyPresent), a reply that pings, every DM
// message), not in a channel they cannot see nor where their settings
// suppress it, and drops when the message is deleted or bulk deleted.
func TestMentionCounts(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		alice := s.Register(t, "alice", "correct horse") // owner: may mention everyone
		bob := s.Register(t, "bob", "correct horse")
		carol := s.Register(t, "carol", "correct horse") // plain member
		gid, general := newGuild(t, s, alice, "Pings")
		inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", alice, map[string]any{})["code"].(string)
		do(t, s, "POST", "/api/v10/invites/"+inv, bob, nil)
		do(t, s, "POST", "/api/v10/invites/"+inv, carol, nil)
		bobID := do(t, s, "GET", "/api/v10/users/@me", bob, nil)["id"].(string)
		pingers := do(t, s, "POST", "/api/v10/guilds/"+gid+"/roles", alice, map[string]any{"name": "pingers", "mentionable": true})["id"].(string)
		quiet := do(t, s, "POST", "/api/v10/guilds/"+gid+"/roles", alice, map[string]any{"name": "quiet"})["id"].(string)
		for _, r := range []string{pingers, quiet} {
			do(t, s, "PUT", "/api/v10/guilds/"+gid+"/members/"+bobID+"/roles/"+r, alice, nil)
		}
		secret := do(t, s, "POST", "/api/v10/guilds/"+gid+"/channels", alice, map[string]any{"name": "secret"})["id"].(string)
		do(t, s, "PUT", "/api/v10/channels/"+secret+"/permissions/"+gid, alice, map[string]any{"type": 0, "deny": "1024"})
		bobsOwn := do(t, s, "POST", "/api/v10/channels/"+general+"/messages", bob, map[string]any{"content": "my message <@" + bobID + ">"})["id"].(string)

		send := func(tok, channel string, body map[string]any) string {
			return do(t, s, "POST", "/api/v10/channels/"+channel+"/messages", tok, body)["id"].(string)
		}
		msg := func(content string) map[string]any { return map[string]any{"content": content} }
		reply := func(content string, ping *bool) map[string]any {
			m := map[string]any{"content": content, "message_reference": map[string]any{"message_id": bobsOwn}}
			if ping != nil {
				m["allowed_mentions"] = map[string]any{"replied_user": *ping}
			}
			return m
		}
		no, yes := false, true
		cases := []struct {
			name    string
			tok     string
			channel string
			body    map[string]any
			counts  int
		}{
			{"plain message", carol, general, msg("hello"), 0},
			{"direct mention", carol, general, msg("hi <@" + bobID + ">"), 1},
			{"mentionable role", carol, general, msg("hi <@&" + pingers + ">"), 1},
			{"unmentionable role by a member", carol, general, msg("hi <@&" + quiet + ">"), 0},
			{"unmentionable role by the owner", alice, general, msg("hi <@&" + quiet + ">"), 1},
			{"@everyone without permission", carol, general, msg("@everyone look"), 0},
			{"@everyone", alice, general, msg("@everyone look"), 1},
			{"reply pings by default", carol, general, reply("answer", nil), 1},
			{"reply with replied_user", carol, general, reply("answer", &yes), 1},
			{"reply without ping", carol, general, reply("quiet answer", &no), 0},
			{"several ways at once count once", alice, general, msg("<@" + bobID + "> <@&" + pingers + "> @everyone"), 1},
			{"own mention", bob, general, msg("me <@" + bobID + ">"), 0},
			{"channel bob cannot see", alice, secret, msg("<@" + bobID + "> @everyone"), 0},
		}
		want := 0
		var mentioning []string
		for _, c := range cases {
			id := send(c.tok, c.channel, c.body)
			want += c.counts
			if c.counts > 0 {
				mentioning = append(mentioning, id)
			}
			if got := mentionsIn(t, s, bob, general); got != want {
				t.Fatalf("%s: bob has %d mentions, want %d", c.name, got, want)
			}
		}
		if _, _, ok := readyOf(t, s, bob).entry(secret); ok {
			t.Fatal("READY has a read state of a channel bob cannot see")
		}
		if got := mentionsIn(t, s, alice, secret); got != 0 {
			t.Fatalf("alice's own message counts for her: %d", got)
		}

		// Deleting mentioning messages takes their mentions away.
		do(t, s, "DELETE", "/api/v10/channels/"+general+"/messages/"+mentioning[0], alice, nil)
		if got := mentionsIn(t, s, bob, general); got != want-1 {
			t.Fatalf("after a delete: %d, want %d", got, want-1)
		}
		do(t, s, "POST", "/api/v10/channels/"+general+"/messages/bulk-delete", alice, map[string]any{"messages": mentioning[1:3]})
		want -= 3
		if got := mentionsIn(t, s, bob, general); got != want {
			t.Fatalf("after a bulk delete: %d, want %d", got, want)
		}

		// Settings: suppressed @everyone/@here and roles stop counting;
		// direct mentions still count.
		do(t, s, "PATCH", "/api/v10/users/@me/guilds/"+gid+"/settings", bob, map[string]any{"suppress_everyone": true, "suppress_roles": true})
		withSuppressed := mentionsIn(t, s, bob, general)
		if withSuppressed >= want {
			t.Fatalf("suppressing @everyone and roles left %d of %d mentions", withSuppressed, want)
		}
		send(alice, general, msg("@everyone again"))
		send(carol, general, msg("<@&"+pingers+"> again"))
		send(carol, general, msg("<@"+bobID+"> again"))
		if got := mentionsIn(t, s, bob, general); got != withSuppressed+1 {
			t.Fatalf("with suppressed @everyone and roles: %d, want %d", got, withSuppressed+1)
		}
		do(t, s, "PATCH", "/api/v10/users/@me/guilds/"+gid+"/settings", bob, map[string]any{"suppress_everyone": false, "suppress_roles": false})
		if got := mentionsIn(t, s, bob, general); got != want+3 {
			t.Fatalf("unsuppressed again: %d, want %d", got, want+3)
		}

		// A thread has a read state of its own.
		thread := do(t, s, "POST", "/api/v10/channels/"+general+"/threads", carol, map[string]any{"name": "side talk", "type": 11})["id"].(string)
		send(carol, thread, msg("in the thread <@"+bobID+">"))
		if got := mentionsIn(t, s, bob, thread); got != 1 {
			t.Fatalf("thread mentions: %d, want 1", got)
		}

		// DMs: every message of the other person counts.
		dm := do(t, s, "POST", "/api/v10/users/@me/channels", alice, map[string]any{"recipient_id": bobID})["id"].(string)
		d1 := send(alice, dm, msg("one"))
		send(alice, dm, msg("two"))
		send(bob, dm, msg("mine"))
		if got := mentionsIn(t, s, bob, dm); got != 2 {
			t.Fatalf("DM mentions: %d, want 2", got)
		}
		do(t, s, "DELETE", "/api/v10/channels/"+dm+"/messages/"+d1, alice, nil)
		if got := mentionsIn(t, s, bob, dm); got != 1 {
			t.Fatalf("DM mentions after a delete: %d, want 1", got)
		}
	})
}

// TestHereCountsOnlyPresent: @here counts as a mention for the members
// present when it was sent (online, idle or dnd; invisible is offline to
// others), as on Discord; @everyone for every member.
func TestHereCountsOnlyPresent(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		alice := s.Register(t, "alice", "correct horse")
		bob, carol, dan := s.Register(t, "bob", "correct horse"), s.Register(t, "carol", "correct horse"), s.Register(t, "dan", "correct horse")
		_, general := newGuild(t, s, alice, "Here")
		inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", alice, map[string]any{})["code"].(string)
		for _, tok := range []string{bob, carol, dan} {
			do(t, s, "POST", "/api/v10/invites/"+inv, tok, nil)
		}
		aliceLive := dial(t, s, "")
		identify(aliceLive, alice, allIntents|1<<8) // GUILD_PRESENCES
		aliceLive.until("GUILD_CREATE")
		bobLive := dial(t, s, "")
		identify(bobLive, bob, allIntents)
		// Bob is present once the gateway tells his guild (his READY comes
		// first): alice's session hears it.
		aliceLive.until("PRESENCE_UPDATE")
		danLive := dial(t, s, "")
		danLive.must(30 * time.Second) // HELLO
		danLive.send(2, map[string]any{"token": dan, "intents": allIntents, "properties": map[string]string{"os": "linux"},
			"presence": map[string]any{"status": "invisible", "afk": false, "activities": []any{}}})
		if r := danLive.must(30 * time.Second); r.T != "READY" {
			t.Fatalf("dan's IDENTIFY: %s %s", r.T, r.D)
		}
		// carol is offline.
		do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": "@here look"})
		bobLive.until("MESSAGE_CREATE")
		danLive.until("MESSAGE_CREATE")
		for name, c := range map[string]struct {
			tok  string
			want int
		}{"bob (online)": {bob, 1}, "carol (offline)": {carol, 0}, "dan (invisible)": {dan, 0}} {
			if got := mentionsIn(t, s, c.tok, general); got != c.want {
				t.Fatalf("@here: %s has %d mentions, want %d", name, got, c.want)
			}
		}
		do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": "@everyone and @here"})
		bobLive.until("MESSAGE_CREATE")
		for name, c := range map[string]struct {
			tok  string
			want int
		}{"bob": {bob, 2}, "carol": {carol, 1}, "dan": {dan, 1}} {
			if got := mentionsIn(t, s, c.tok, general); got != c.want {
				t.Fatalf("@everyone: %s has %d mentions, want %d", name, got, c.want)
			}
		}
	})
}

// TestAcks: an ack moves the read marker forward only, resets the count of
// what it covers, reaches the user's other sessions as MESSAGE_ACK, and is
// in READY after reconnecting; a bulk ack marks a guild read; bad acks
// change nothing.
func TestAcks(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		alice := s.Register(t, "alice", "correct horse")
		bob := s.Register(t, "bob", "correct horse")
		gid, general := newGuild(t, s, alice, "Acks")
		inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", alice, map[string]any{})["code"].(string)
		do(t, s, "POST", "/api/v10/invites/"+inv, bob, nil)
		bobID := do(t, s, "GET", "/api/v10/users/@me", bob, nil)["id"].(string)
		other := do(t, s, "POST", "/api/v10/guilds/"+gid+"/channels", alice, map[string]any{"name": "other"})["id"].(string)
		secret := do(t, s, "POST", "/api/v10/guilds/"+gid+"/channels", alice, map[string]any{"name": "secret"})["id"].(string)
		do(t, s, "PUT", "/api/v10/channels/"+secret+"/permissions/"+gid, alice, map[string]any{"type": 0, "deny": "1024"})
		hidden := do(t, s, "POST", "/api/v10/channels/"+secret+"/messages", alice, map[string]any{"content": "hidden"})["id"].(string)
		var ids []string
		for i := range 3 {
			ids = append(ids, do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice,
				map[string]any{"content": fmt.Sprintf("<@%s> %d", bobID, i)})["id"].(string))
		}
		inOther := do(t, s, "POST", "/api/v10/channels/"+other+"/messages", alice, map[string]any{"content": "<@" + bobID + "> there"})["id"].(string)

		phone, laptop := dial(t, s, ""), dial(t, s, "")
		identify(phone, bob, allIntents)
		identify(laptop, bob, allIntents)
		r := s.Do(t, "POST", "/api/v10/channels/"+general+"/messages/"+ids[1]+"/ack", bob, map[string]any{"token": nil})
		if got := st.OK(t, r, 200); len(got) != 1 || got["token"] != nil {
			t.Fatalf("ack answered %s", r.Body)
		}
		for _, c := range []*client{phone, laptop} {
			var ack struct {
				ChannelID    string `json:"channel_id"`
				MessageID    string `json:"message_id"`
				Version      int64  `json:"version"`
				MentionCount int    `json:"mention_count"`
			}
			if err := json.Unmarshal(c.until("MESSAGE_ACK").D, &ack); err != nil {
				t.Fatal(err)
			}
			if ack.ChannelID != general || ack.MessageID != ids[1] || ack.Version != 1 || ack.MentionCount != 1 {
				t.Fatalf("MESSAGE_ACK %+v", ack)
			}
		}
		if last, n, _ := readyOf(t, s, bob).entry(general); last != ids[1] || n != 1 {
			t.Fatalf("READY after ack: last %s mentions %d, want %s and 1", last, n, ids[1])
		}
		// Backwards: answered, nothing moves.
		dm := do(t, s, "POST", "/api/v10/users/@me/channels", alice, map[string]any{"recipient_id": bobID})["id"].(string)
		inDM := do(t, s, "POST", "/api/v10/channels/"+dm+"/messages", alice, map[string]any{"content": "psst"})["id"].(string)
		st.OK(t, s.Do(t, "POST", "/api/v10/channels/"+general+"/messages/"+ids[0]+"/ack", bob, nil), 200)
		before := readyOf(t, s, bob)
		if last, n, _ := before.entry(general); last != ids[1] || n != 1 {
			t.Fatalf("an older ack moved the marker: %s %d", last, n)
		}

		// Bad acks: Discord's codes, nothing changed.
		bad := []struct {
			name, method, path string
			body               any
			status, code       int
		}{
			{"message of another channel", "POST", "/channels/" + general + "/messages/" + inDM + "/ack", nil, 404, 10008},
			{"unknown message", "POST", "/channels/" + general + "/messages/12345/ack", nil, 404, 10008},
			{"channel bob cannot see", "POST", "/channels/" + secret + "/messages/" + hidden + "/ack", nil, 403, 50001},
			{"unknown channel", "POST", "/channels/12345/messages/" + ids[2] + "/ack", nil, 404, 10003},
			{"bad id", "POST", "/channels/x/messages/" + ids[2] + "/ack", nil, 404, 10003},
			{"bulk with one bad", "POST", "/read-states/ack-bulk", map[string]any{"read_states": []any{
				map[string]any{"channel_id": general, "message_id": ids[2]},
				map[string]any{"channel_id": secret, "message_id": hidden}}}, 403, 50001},
			{"bulk without read_states", "POST", "/read-states/ack-bulk", map[string]any{}, 400, 50035},
			{"bulk empty", "POST", "/read-states/ack-bulk", map[string]any{"read_states": []any{}}, 400, 50035},
			{"bulk missing message", "POST", "/read-states/ack-bulk", map[string]any{"read_states": []any{
				map[string]any{"channel_id": general}}}, 400, 50035},
			{"bulk wrong type", "POST", "/read-states/ack-bulk", map[string]any{"read_states": "all"}, 400, 50035},
		}
		for _, c := range bad {
			r := s.Do(t, c.method, "/api/v10"+c.path, bob, c.body)
			if c.name == "bad id" {
				if r.Status < 400 || r.Status >= 500 {
					t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
				}
				continue
			}
			st.Expect(t, r, c.status, st.Code(c.code))
		}
		after := readyOf(t, s, bob)
		if fmt.Sprint(after.ReadState) != fmt.Sprint(before.ReadState) {
			t.Fatalf("bad acks changed read states:\n%+v\n%+v", before.ReadState, after.ReadState)
		}

		// Marking the guild read: one bulk ack of its channels.
		r = s.Do(t, "POST", "/api/v10/read-states/ack-bulk", bob, map[string]any{"read_states": []any{
			map[string]any{"channel_id": general, "message_id": ids[2]},
			map[string]any{"channel_id": other, "message_id": inOther}}})
		st.Expect(t, r, 204, nil)
		seen := map[string]bool{}
		for len(seen) < 2 {
			var ack struct {
				ChannelID    string `json:"channel_id"`
				MentionCount int    `json:"mention_count"`
			}
			_ = json.Unmarshal(laptop.until("MESSAGE_ACK").D, &ack)
			if ack.MentionCount != 0 {
				t.Fatalf("bulk ack left %d mentions in %s", ack.MentionCount, ack.ChannelID)
			}
			seen[ack.ChannelID] = true
		}
		rs := readyOf(t, s, bob)
		for ch, last := range map[string]string{general: ids[2], other: inOther} {
			if got, n, _ := rs.entry(ch); got != last || n != 0 {
				t.Fatalf("after marking the guild read, %s: last %s mentions %d", ch, got, n)
			}
		}
		if rs.ReadState.Version <= before.ReadState.Version {
			t.Fatalf("read_state version did not grow: %d then %d", before.ReadState.Version, rs.ReadState.Version)
		}
		// The DM is still unread, and alice's own state is hers alone.
		if _, n, _ := rs.entry(dm); n != 1 {
			t.Fatalf("DM mentions %d, want 1", n)
		}
		if _, _, ok := readyOf(t, s, alice).entry(general); ok {
			t.Fatal("bob's ack shows in alice's read states")
		}
		// Kept across a restart of the server.
		s2 := s.Restart(t)
		if again := readyOf(t, s2, bob); fmt.Sprint(again.ReadState) != fmt.Sprint(rs.ReadState) {
			t.Fatalf("after a restart:\n%+v\n%+v", rs.ReadState, again.ReadState)
		}
	})
}

// TestGuildSettings: PATCH changes what it names, answers and tells the
// user's sessions with USER_GUILD_SETTINGS_UPDATE, GET and READY carry
// the result; bad values get Discord's codes and change nothing.
func TestGuildSettings(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		alice := s.Register(t, "alice", "correct horse")
		bob := s.Register(t, "bob", "correct horse")
		gid, general := newGuild(t, s, alice, "Settings")
		otherGuild, elsewhere := newGuild(t, s, alice, "Not bob's")
		inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", alice, map[string]any{})["code"].(string)
		do(t, s, "POST", "/api/v10/invites/"+inv, bob, nil)
		path := "/api/v10/users/@me/guilds/" + gid + "/settings"

		defaults := do(t, s, "GET", path, bob, nil)
		if defaults["muted"] != false || defaults["message_notifications"] != float64(0) || defaults["version"] != float64(0) {
			t.Fatalf("defaults: %v", defaults)
		}
		if n := len(readyOf(t, s, bob).UserGuildSettings.Entries); n != 0 {
			t.Fatalf("READY has %d settings before any were set", n)
		}
		laptop := dial(t, s, "")
		identify(laptop, bob, allIntents)
		end := "2999-01-01T00:00:00Z"
		got := do(t, s, "PATCH", path, bob, map[string]any{
			"muted": true, "mute_config": map[string]any{"end_time": end, "selected_time_window": 3600},
			"message_notifications": 1, "suppress_everyone": true,
			"channel_overrides": map[string]any{general: map[string]any{"muted": true, "message_notifications": 2}},
		})
		check := func(what string, s map[string]any) {
			t.Helper()
			mc, _ := s["mute_config"].(map[string]any)
			ov, _ := s["channel_overrides"].([]any)
			if s["guild_id"] != gid || s["muted"] != true || mc == nil || mc["end_time"] == nil || s["message_notifications"] != float64(1) ||
				s["suppress_everyone"] != true || s["suppress_roles"] != false || s["version"] != float64(1) || len(ov) != 1 {
				t.Fatalf("%s: %v", what, s)
			}
			o := ov[0].(map[string]any)
			if o["channel_id"] != general || o["muted"] != true || o["message_notifications"] != float64(2) {
				t.Fatalf("%s: override %v", what, o)
			}
		}
		check("PATCH answer", got)
		var update map[string]any
		if err := json.Unmarshal(laptop.until("USER_GUILD_SETTINGS_UPDATE").D, &update); err != nil {
			t.Fatal(err)
		}
		check("USER_GUILD_SETTINGS_UPDATE", update)
		check("GET", do(t, s, "GET", path, bob, nil))
		rs := readyOf(t, s, bob)
		if len(rs.UserGuildSettings.Entries) != 1 || rs.UserGuildSettings.Version != 1 {
			t.Fatalf("READY settings %+v", rs.UserGuildSettings)
		}
		check("READY", rs.UserGuildSettings.Entries[0])

		bad := []struct {
			name         string
			path         string
			body         any
			status, code int
		}{
			{"notifications out of range", path, map[string]any{"message_notifications": 7}, 400, 50035},
			{"notifications negative", path, map[string]any{"message_notifications": -1}, 400, 50035},
			{"notifications of wrong type", path, map[string]any{"message_notifications": "all"}, 400, 50035},
			{"muted of wrong type", path, map[string]any{"muted": "yes", "suppress_roles": true}, 400, 50035},
			{"bad end time", path, map[string]any{"muted": true, "mute_config": map[string]any{"end_time": "tomorrow"}}, 400, 50035},
			{"override level out of range", path, map[string]any{"channel_overrides": map[string]any{general: map[string]any{"message_notifications": 9}}}, 400, 50035},
			{"override of a channel elsewhere", path, map[string]any{"suppress_roles": true, "channel_overrides": map[string]any{elsewhere: map[string]any{"muted": true}}}, 404, 10003},
			{"override key not an id", path, map[string]any{"channel_overrides": map[string]any{"general": map[string]any{"muted": true}}}, 400, 50035},
			{"overrides of wrong type", path, map[string]any{"channel_overrides": 5}, 400, 50035},
			{"guild bob is not in", "/api/v10/users/@me/guilds/" + otherGuild + "/settings", map[string]any{"muted": true}, 404, 10004},
			{"unknown guild", "/api/v10/users/@me/guilds/12345/settings", map[string]any{"muted": true}, 404, 10004},
			{"malformed JSON", path, []byte(`{"muted": tru`), 400, 50109},
		}
		for _, c := range bad {
			st.Expect(t, s.Do(t, "PATCH", c.path, bob, c.body), c.status, st.Code(c.code))
		}
		check("after bad input", do(t, s, "GET", path, bob, nil))

		// A mute that has ended reads as none; unmuting clears the end.
		got = do(t, s, "PATCH", path, bob, map[string]any{"mute_config": map[string]any{"end_time": "2001-01-01T00:00:00Z"}})
		if got["muted"] != false || got["mute_config"] != nil || got["version"] != float64(2) {
			t.Fatalf("ended mute: %v", got)
		}
		got = do(t, s, "PATCH", path, bob, map[string]any{"muted": false, "channel_overrides": []any{
			map[string]any{"channel_id": general, "muted": false, "message_notifications": 3}}})
		ov := got["channel_overrides"].([]any)[0].(map[string]any)
		if got["muted"] != false || ov["muted"] != false || ov["message_notifications"] != float64(3) || got["suppress_everyone"] != true {
			t.Fatalf("unmuted: %v", got)
		}
	})
}

// TestMarkUnread: Discord's "Mark Unread" — a manual ack of an older
// message sets the read state back there: the messages after it are
// unread again (their mentions count again), the user's sessions hear
// MESSAGE_ACK with manual set, and READY shows it; an ordinary ack of
// an older message still changes nothing.
func TestMarkUnread(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		alice, bob := s.Register(t, "alice", "correct horse"), s.Register(t, "bob", "correct horse")
		_, general := newGuild(t, s, alice, "Unread")
		inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", alice, map[string]any{})["code"].(string)
		do(t, s, "POST", "/api/v10/invites/"+inv, bob, nil)
		bobID := do(t, s, "GET", "/api/v10/users/@me", bob, nil)["id"].(string)
		var ids []string
		for _, content := range []string{"one", "two <@" + bobID + ">", "three <@" + bobID + ">"} {
			ids = append(ids, do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice, map[string]any{"content": content})["id"].(string))
		}
		ack := func(msg string, body map[string]any) {
			t.Helper()
			st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+general+"/messages/"+msg+"/ack", bob, body), 200, nil)
		}
		ack(ids[2], map[string]any{})
		if last, n, _ := readyOf(t, s, bob).entry(general); last != ids[2] || n != 0 {
			t.Fatalf("read to the end: last %s, %d mentions", last, n)
		}
		ack(ids[0], map[string]any{})
		if last, _, _ := readyOf(t, s, bob).entry(general); last != ids[2] {
			t.Fatalf("an ordinary ack of an older message moved the state to %s", last)
		}
		live := dial(t, s, "")
		identify(live, bob, allIntents)
		ack(ids[0], map[string]any{"manual": true, "mention_count": 7})
		d := live.until("MESSAGE_ACK")
		var got map[string]any
		if err := json.Unmarshal(d.D, &got); err != nil || got["message_id"] != ids[0] || got["manual"] != true || got["mention_count"] != float64(2) {
			t.Fatalf("MESSAGE_ACK of a mark unread: %s", d.D)
		}
		if last, n, _ := readyOf(t, s, bob).entry(general); last != ids[0] || n != 2 {
			t.Fatalf("marked unread from two: last %s, %d mentions, want %s and 2", last, n, ids[0])
		}
		// Marking unread a message not in the channel: refused.
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+general+"/messages/1/ack", bob, map[string]any{"manual": true}), 404, st.Code(10008))
	})
}
