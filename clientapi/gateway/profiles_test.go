package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	st "hearth/server/servertest"
)

// profilePNG is a w×h PNG as a data URI.
func profilePNG(t *testing.T, w, h int) string {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// dispatchOf waits for a dispatch named typ and decodes it.
func dispatchOf(t *testing.T, c *client, typ string) map[string]any {
	t.Helper()
	p := c.until(typ)
	var d map[string]any
	if err := json.Unmarshal(p.D, &d); err != nil {
		t.Fatalf("%s: %v: %s", typ, err, p.D)
	}
	return d
}

// badgeIDs lists a profile's badge ids, and their descriptions.
func badgeIDs(v any) (ids, descs []string) {
	list, _ := v.([]any)
	for _, b := range list {
		m := b.(map[string]any)
		ids = append(ids, m["id"].(string))
		descs = append(descs, m["description"].(string))
	}
	return ids, descs
}

// Profiles on one homeserver over real HTTP and the gateway: PATCH
// /users/@me sets a banner (served at /banners, scaled on ?size) and
// pronouns, and the user's sessions hear USER_UPDATE; GET
// /users/{id}/profile shows bio, banner, pronouns, badges, mutual guilds
// and friends, and the member of ?guild_id with "server owner", only what
// the asker may see; an administrator grants and revokes badges.
func TestProfiles(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		type person struct{ tok, id string }
		reg := func(name string) person {
			tok := s.Register(t, name, "correct horse")
			return person{tok, do(t, s, "GET", "/api/v10/users/@me", tok, nil)["id"].(string)}
		}
		// alice registers first: she administers the homeserver.
		alice, bob, carol, dave := reg("alice"), reg("bob"), reg("carol"), reg("dave")
		guild, general := newGuild(t, s, alice.tok, "Home")
		inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", alice.tok, map[string]any{})["code"].(string)
		do(t, s, "POST", "/api/v10/invites/"+inv, bob.tok, nil)
		do(t, s, "POST", "/api/v10/invites/"+inv, carol.tok, nil)
		a1 := dial(t, s, "?v=10&encoding=json")
		identify(a1, alice.tok, allIntents)

		// Banner and pronouns; bad ones are refused and change nothing.
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/users/@me", alice.tok, map[string]any{"pronouns": strings.Repeat("x", 41)}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/users/@me", alice.tok, map[string]any{"banner": "data:image/png;base64,bm90IGFuIGltYWdl"}), 400, st.Code(50035))
		me := do(t, s, "PATCH", "/api/v10/users/@me", alice.tok, map[string]any{"banner": profilePNG(t, 200, 100),
			"pronouns": "she/her", "bio": "hello", "accent_color": 0x123456})
		banner, _ := me["banner"].(string)
		if banner == "" || me["pronouns"] != "she/her" || me["bio"] != "hello" {
			t.Fatalf("PATCH /users/@me = %v", me)
		}
		upd := dispatchOf(t, a1, "USER_UPDATE")
		if upd["id"] != alice.id || upd["banner"] != banner || upd["pronouns"] != "she/her" {
			t.Fatalf("USER_UPDATE = %v", upd)
		}
		r := s.Do(t, "GET", "/banners/"+alice.id+"/"+banner+".png", "", nil)
		if r.Status != 200 || r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("banner: %d %s", r.Status, r.Header.Get("Content-Type"))
		}
		small := s.Do(t, "GET", "/banners/"+alice.id+"/"+banner+".png?size=64", "", nil)
		if small.Status != 200 {
			t.Fatalf("banner ?size=64: %d", small.Status)
		}
		if img, err := png.DecodeConfig(bytes.NewReader(small.Body)); err != nil || img.Width > 64 {
			t.Fatalf("banner ?size=64 is %dx%d (%v)", img.Width, img.Height, err)
		}
		st.Expect(t, s.Do(t, "GET", "/banners/"+alice.id+"/0000.png", "", nil), 404, nil)
		st.Expect(t, s.Do(t, "GET", "/banners/"+bob.id+"/"+banner+".png", "", nil), 404, nil)

		// carol is friends with both alice and bob.
		for _, p := range []person{alice, bob} {
			do(t, s, "PUT", "/api/v10/users/@me/relationships/"+p.id, carol.tok, map[string]any{})
			do(t, s, "PUT", "/api/v10/users/@me/relationships/"+carol.id, p.tok, map[string]any{})
		}
		profile := func(asker person, of, query string) map[string]any {
			t.Helper()
			return do(t, s, "GET", "/api/v10/users/"+of+"/profile"+query, asker.tok, nil)
		}
		full := "?with_mutual_guilds=true&with_mutual_friends=true&guild_id=" + guild
		p := profile(bob, alice.id, full)
		up := p["user_profile"].(map[string]any)
		if p["user"].(map[string]any)["id"] != alice.id || up["bio"] != "hello" || up["pronouns"] != "she/her" ||
			up["banner"] != banner || up["accent_color"] != float64(0x123456) || p["premium_type"] != nil {
			t.Fatalf("bob's view of alice = %v", p)
		}
		mg := p["mutual_guilds"].([]any)
		if len(mg) != 1 || mg[0].(map[string]any)["id"] != guild {
			t.Fatalf("mutual_guilds = %v", mg)
		}
		mf := p["mutual_friends"].([]any)
		if len(mf) != 1 || mf[0].(map[string]any)["id"] != carol.id || p["mutual_friends_count"] != float64(1) {
			t.Fatalf("mutual_friends = %v, count %v", mf, p["mutual_friends_count"])
		}
		gm, _ := p["guild_member"].(map[string]any)
		if gm == nil || gm["user"].(map[string]any)["id"] != alice.id || p["guild_member_profile"] == nil {
			t.Fatalf("guild_member = %v", p["guild_member"])
		}
		if ids, _ := badgeIDs(p["guild_badges"]); strings.Join(ids, ",") != "guild_owner" {
			t.Fatalf("alice's guild badges = %v", p["guild_badges"])
		}
		if ids, _ := badgeIDs(profile(alice, bob.id, "?guild_id="+guild)["guild_badges"]); len(ids) != 0 {
			t.Fatalf("bob owns no guild, has guild badges %v", ids)
		}
		// Without the query, none of the lists.
		if p := profile(bob, alice.id, ""); p["mutual_guilds"] != nil || p["mutual_friends"] != nil || p["guild_member"] != nil {
			t.Fatalf("plain profile = %v", p)
		}
		// dave shares nothing with alice, and may not ask about a guild he
		// is not in.
		if p := profile(dave, alice.id, "?with_mutual_guilds=true&with_mutual_friends=true"); len(p["mutual_guilds"].([]any)) != 0 ||
			p["mutual_friends_count"] != float64(0) {
			t.Fatalf("dave's view of alice = %v", p)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/"+alice.id+"/profile?guild_id="+guild, dave.tok, nil), 404, st.Code(10004))
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/1/profile", dave.tok, nil), 404, st.Code(10013))
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/nope/profile", dave.tok, nil), 400, st.Code(50035))
		if p := profile(alice, "@me", ""); p["user"].(map[string]any)["id"] != alice.id {
			t.Fatalf("/users/@me/profile = %v", p)
		}
		// Someone alice blocked sees neither her guilds nor her friends.
		do(t, s, "PUT", "/api/v10/users/@me/relationships/"+bob.id, alice.tok, map[string]any{"type": 2})
		if p := profile(bob, alice.id, full); len(p["mutual_guilds"].([]any)) != 0 || len(p["mutual_friends"].([]any)) != 0 ||
			p["mutual_friends_count"] != float64(0) {
			t.Fatalf("blocked bob's view of alice = %v", p)
		}
		do(t, s, "DELETE", "/api/v10/users/@me/relationships/"+bob.id, alice.tok, nil)

		// Badges: granted by the administrator, seen by bob's session and
		// in his profile, as public_flags bits.
		b1 := dial(t, s, "?v=10&encoding=json")
		identify(b1, bob.tok, allIntents)
		badge := "/api/v10/admin/users/" + bob.id + "/badges/"
		st.Expect(t, s.Do(t, "PUT", badge+"staff", bob.tok, nil), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "PUT", badge+"emperor", alice.tok, nil), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "PUT", "/api/v10/admin/users/1/badges/staff", alice.tok, nil), 404, st.Code(10013))
		got := do(t, s, "PUT", badge+"staff", alice.tok, nil)
		do(t, s, "PUT", badge+"early-adopter", alice.tok, nil)
		do(t, s, "PUT", badge+"contributor", alice.tok, nil)
		if ids, descs := badgeIDs(got["badges"]); len(ids) != 1 || ids[0] != "staff" || descs[0] != "Staff of "+s.ServerName() {
			t.Fatalf("grant answered %v", got)
		}
		for {
			u := dispatchOf(t, b1, "USER_UPDATE")
			if u["public_flags"] == float64(1|1<<9|1<<48) {
				break
			}
		}
		p = profile(carol, bob.id, "")
		if ids, _ := badgeIDs(p["badges"]); strings.Join(ids, ",") != "staff,hearth_contributor,early_supporter" ||
			p["user"].(map[string]any)["public_flags"] != float64(1|1<<9|1<<48) {
			t.Fatalf("bob's badges = %v, flags %v", p["badges"], p["user"])
		}
		do(t, s, "DELETE", badge+"staff", alice.tok, nil)
		if ids, _ := badgeIDs(profile(carol, bob.id, "")["badges"]); strings.Join(ids, ",") != "hearth_contributor,early_supporter" {
			t.Fatalf("bob's badges after revoke = %v", ids)
		}
	})
}

// User settings over real HTTP and the gateway: stored per user, given to
// every device in READY, changed by PATCH with USER_SETTINGS_UPDATE to the
// user's sessions; the status setting is the presence others see, and a
// new session starts with it; a custom status that ends clears itself.
func TestUserSettings(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		// A clock the test moves, for the custom status's end.
		var offset atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		s := st.Start(t, st.Options{Backend: b, Now: now})
		alice, bob := s.Register(t, "alice", "correct horse"), s.Register(t, "bob", "correct horse")
		_, general := newGuild(t, s, alice, "Here")
		inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", alice, map[string]any{})["code"].(string)
		do(t, s, "POST", "/api/v10/invites/"+inv, bob, nil)

		def := do(t, s, "GET", "/api/v10/users/@me/settings", bob, nil)
		if def["status"] != "online" || def["theme"] != "dark" || def["locale"] != "en-US" || def["custom_status"] != nil ||
			def["dm_friends_only"] != false || def["render_embeds"] != true {
			t.Fatalf("default settings = %v", def)
		}
		watcher := dial(t, s, "")
		identify(watcher, alice, presenceIntents)
		watcher.until("GUILD_CREATE")
		b1, b2 := dial(t, s, ""), dial(t, s, "")
		identify(b1, bob, 1)
		identify(b2, bob, 1)
		if got := presenceOf(t, watcher); got != "online" {
			t.Fatalf("bob connected: %s", got)
		}

		for _, bad := range []map[string]any{
			{"status": "away"}, {"theme": 3}, {"locale": "en US!"}, {"developer_mode": "yes"},
			{"custom_status": map[string]any{"text": strings.Repeat("x", 129)}},
			{"custom_status": map[string]any{"text": "hi", "expires_at": "tomorrow"}},
			{"timezone_offset": 5000}, {"guild_positions": []string{"x"}},
		} {
			st.Expect(t, s.Do(t, "PATCH", "/api/v10/users/@me/settings", bob, bad), 400, st.Code(50035))
		}
		if got := do(t, s, "GET", "/api/v10/users/@me/settings", bob, nil); !sameJSON(got, def) {
			t.Fatalf("refused PATCHes changed the settings: %v", got)
		}

		ends := now().Add(time.Hour).UTC()
		set := do(t, s, "PATCH", "/api/v10/users/@me/settings", bob, map[string]any{"status": "dnd", "theme": "light",
			"developer_mode": true, "locale": "fr", "unknown_discord_setting": 7,
			"custom_status": map[string]any{"text": "busy", "emoji_name": "🔥", "expires_at": ends.Format(time.RFC3339)}})
		cs, _ := set["custom_status"].(map[string]any)
		if set["status"] != "dnd" || set["theme"] != "light" || set["developer_mode"] != true || set["locale"] != "fr" ||
			cs == nil || cs["text"] != "busy" || cs["emoji_name"] != "🔥" {
			t.Fatalf("PATCH settings = %v", set)
		}
		for _, c := range []*client{b1, b2} {
			if d := dispatchOf(t, c, "USER_SETTINGS_UPDATE"); d["status"] != "dnd" || d["theme"] != "light" {
				t.Fatalf("USER_SETTINGS_UPDATE = %v", d)
			}
		}
		if got := presenceOf(t, watcher); got != "dnd" {
			t.Fatalf("after the status setting: %s", got)
		}

		// Every new device gets the settings in READY and starts with the
		// stored status.
		b1.ws.CloseNow()
		b2.ws.CloseNow()
		if got := presenceOf(t, watcher); got != "offline" {
			t.Fatalf("bob gone: %s", got)
		}
		b3 := dial(t, s, "")
		ready := identify(b3, bob, 1)
		var d struct {
			Settings map[string]any `json:"user_settings"`
		}
		if err := json.Unmarshal(ready.D, &d); err != nil {
			t.Fatal(err)
		}
		if d.Settings["status"] != "dnd" || d.Settings["theme"] != "light" || d.Settings["custom_status"] == nil {
			t.Fatalf("READY user_settings = %v", d.Settings)
		}
		if got := presenceOf(t, watcher); got != "dnd" {
			t.Fatalf("a new session of bob's: %s", got)
		}

		// The custom status ends: reads drop it at once, and the sweep
		// tells bob's sessions.
		offset.Store(int64(2 * time.Hour))
		if got := do(t, s, "GET", "/api/v10/users/@me/settings", bob, nil); got["custom_status"] != nil || got["status"] != "dnd" {
			t.Fatalf("settings after the custom status ended = %v", got)
		}
		if _, err := s.Homeserver().EndCustomStatuses(context.Background()); err != nil {
			t.Fatal(err)
		}
		for {
			d := dispatchOf(t, b3, "USER_SETTINGS_UPDATE")
			if _, has := d["custom_status"]; has && d["custom_status"] == nil {
				break
			}
		}
		if n, err := s.Homeserver().EndCustomStatuses(context.Background()); err != nil || n != 0 {
			t.Fatalf("a second sweep cleared %d (%v)", n, err)
		}
		// An end already past clears the custom status.
		past := do(t, s, "PATCH", "/api/v10/users/@me/settings", bob, map[string]any{
			"custom_status": map[string]any{"text": "gone", "expires_at": now().Add(-time.Minute).Format(time.RFC3339)}})
		if past["custom_status"] != nil {
			t.Fatalf("a custom status that already ended = %v", past["custom_status"])
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me/settings", "", nil), http.StatusUnauthorized, st.Code(0))
	})
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
