package clientapi_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/homeserver/permission"
	st "hearth/server/servertest"
)

// Permission bits the tests use, as the strings the API takes.
func perms(p permission.Set) string { return p.String() }

// ok and list check an answer's status and decode it.
var (
	ok   = st.OK
	list = st.List
)

type guildFixture struct {
	id, general, category string
}

func newGuild(t *testing.T, s *st.Server, tok, name string) guildFixture {
	t.Helper()
	g := ok(t, s.Do(t, "POST", "/api/v10/guilds", tok, map[string]any{"name": name}), 201)
	id := g["id"].(string)
	var f guildFixture
	f.id = id
	for _, c := range list(t, s.Do(t, "GET", "/api/v10/guilds/"+id+"/channels", tok, nil)) {
		switch c["type"].(float64) {
		case 0:
			f.general = c["id"].(string)
		case 4:
			f.category = c["id"].(string)
		}
	}
	return f
}

// invite makes an invite on channel and has each token join by it.
func invite(t *testing.T, s *st.Server, ownerTok, channel string, joiners ...string) string {
	t.Helper()
	inv := ok(t, s.Do(t, "POST", "/api/v10/channels/"+channel+"/invites", ownerTok, map[string]any{"max_age": 0, "unique": true}), 200)
	code := inv["code"].(string)
	for _, j := range joiners {
		ok(t, s.Do(t, "POST", "/api/v10/invites/"+code, j, nil), 200)
	}
	return code
}

func userID(t *testing.T, s *st.Server, tok string) string {
	t.Helper()
	return ok(t, s.Do(t, "GET", "/api/v10/users/@me", tok, nil), 200)["id"].(string)
}

func TestGuildLifecycle(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner := s.Register(t, "owner", "correct horse")
		other := s.Register(t, "other", "correct horse")

		r := s.Do(t, "POST", "/api/v10/guilds", owner, map[string]any{"name": "Hearth Club"})
		g := ok(t, r, 201)
		id := g["id"].(string)
		roles := g["roles"].([]any)
		everyone := roles[0].(map[string]any)
		if len(roles) != 1 || everyone["id"] != id || everyone["name"] != "@everyone" || everyone["position"] != float64(0) {
			t.Fatalf("roles = %v", roles)
		}
		if _, isString := everyone["permissions"].(string); !isString {
			t.Fatalf("permissions not a string: %v", everyone)
		}
		if g["owner_id"] != userID(t, s, owner) || g["system_channel_id"] == nil {
			t.Fatalf("guild = %s", r.Body)
		}
		chans := list(t, s.Do(t, "GET", "/api/v10/guilds/"+id+"/channels", owner, nil))
		if len(chans) != 2 {
			t.Fatalf("channels = %v", chans)
		}
		var cat, gen map[string]any
		for _, c := range chans {
			if c["type"] == float64(4) {
				cat = c
			} else {
				gen = c
			}
		}
		if cat["name"] != "Text Channels" || gen["name"] != "general" || gen["parent_id"] != cat["id"] || g["system_channel_id"] != gen["id"] {
			t.Fatalf("channels = %v", chans)
		}
		for _, c := range chans {
			if _, ok := c["position"].(float64); !ok {
				t.Fatalf("channel without position: %v", c)
			}
		}

		withCounts := ok(t, s.Do(t, "GET", "/api/v10/guilds/"+id+"?with_counts=true", owner, nil), 200)
		if withCounts["approximate_member_count"] != float64(1) {
			t.Fatalf("with_counts = %v", withCounts)
		}
		mine := list(t, s.Do(t, "GET", "/api/v10/users/@me/guilds", owner, nil))
		if len(mine) != 1 || mine[0]["owner"] != true || mine[0]["permissions"] != permission.All.String() {
			t.Fatalf("my guilds = %v", mine)
		}

		// A non-member learns nothing; a member sees it after joining.
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+id, other, nil), 404, st.Code(10004))
		st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+gen["id"].(string), other, nil), 404, st.Code(10003))
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+id+"/members?limit=10", other, nil), 404, st.Code(10004))
		invite(t, s, owner, gen["id"].(string), other)
		ok(t, s.Do(t, "GET", "/api/v10/guilds/"+id, other, nil), 200)
		members := list(t, s.Do(t, "GET", "/api/v10/guilds/"+id+"/members?limit=10", owner, nil))
		if len(members) != 2 {
			t.Fatalf("members = %v", members)
		}

		// Modify: name, description, verification level.
		up := ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+id, owner, map[string]any{"name": "Renamed", "description": "A place", "verification_level": 2}), 200)
		if up["name"] != "Renamed" || up["description"] != "A place" || up["verification_level"] != float64(2) {
			t.Fatalf("patched = %v", up)
		}
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+id, other, map[string]any{"name": "Mine now"}), 403, st.Code(50013))

		// The owner cannot leave; a member can, and comes back by invite.
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/users/@me/guilds/"+id, owner, nil), 400, nil)
		ok(t, s.Do(t, "DELETE", "/api/v10/users/@me/guilds/"+id, other, nil), 204)
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+id, other, nil), 404, st.Code(10004))
		invite(t, s, owner, gen["id"].(string), other)

		// Transfer ownership; then only the new owner may delete.
		otherID := userID(t, s, other)
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+id, other, map[string]any{"owner_id": otherID}), 403, st.Code(50013))
		ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+id, owner, map[string]any{"owner_id": otherID}), 200)
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/guilds/"+id, owner, nil), 403, st.Code(50013))
		ok(t, s.Do(t, "DELETE", "/api/v10/guilds/"+id, other, nil), 204)
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+id, other, nil), 404, st.Code(10004))
		if left := list(t, s.Do(t, "GET", "/api/v10/users/@me/guilds", owner, nil)); len(left) != 0 {
			t.Fatalf("deleted guild still listed: %v", left)
		}
	})
}

// TestPermissionMatrix checks routes against owner, admin role, plain
// member, a member denied a channel by overwrite and one allowed into a
// private channel by a role overwrite.
func TestPermissionMatrix(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		toks := map[string]string{}
		for _, n := range []string{"owner", "admin", "plain", "denied", "vip", "outsider"} {
			toks[n] = s.Register(t, n, "correct horse")
		}
		g := newGuild(t, s, toks["owner"], "Matrix")
		invite(t, s, toks["owner"], g.general, toks["admin"], toks["plain"], toks["denied"], toks["vip"])

		adminRole := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", toks["owner"], map[string]any{"name": "admin", "permissions": perms(permission.Administrator)}), 200)["id"].(string)
		vipRole := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", toks["owner"], map[string]any{"name": "vip"}), 200)["id"].(string)
		ok(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/members/"+userID(t, s, toks["admin"])+"/roles/"+adminRole, toks["owner"], nil), 204)
		ok(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/members/"+userID(t, s, toks["vip"])+"/roles/"+vipRole, toks["owner"], nil), 204)

		// A private channel: @everyone denied VIEW_CHANNEL, vip allowed.
		private := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/channels", toks["owner"], map[string]any{
			"name": "Private Room", "permission_overwrites": []map[string]any{
				{"id": g.id, "type": 0, "allow": "0", "deny": perms(permission.ViewChannel)},
				{"id": vipRole, "type": 0, "allow": perms(permission.ViewChannel), "deny": "0"},
			},
		}), 201)
		if private["name"] != "private-room" || len(private["permission_overwrites"].([]any)) != 2 {
			t.Fatalf("private channel = %v", private)
		}
		privateID := private["id"].(string)
		// general: the "denied" member is denied by a member overwrite.
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/permissions/"+userID(t, s, toks["denied"]), toks["owner"],
			map[string]any{"type": 1, "allow": "0", "deny": perms(permission.ViewChannel)}), 204)

		type want map[string]int
		cases := []struct {
			name         string
			method, path string
			body         func() any
			want         want // status per actor; missing actors are not tried
		}{
			{"view general", "GET", "/api/v10/channels/" + g.general, nil,
				want{"owner": 200, "admin": 200, "plain": 200, "denied": 403, "vip": 200, "outsider": 404}},
			{"view private", "GET", "/api/v10/channels/" + privateID, nil,
				want{"owner": 200, "admin": 200, "plain": 403, "denied": 403, "vip": 200, "outsider": 404}},
			{"create channel", "POST", "/api/v10/guilds/" + g.id + "/channels", func() any { return map[string]any{"name": "x"} },
				want{"owner": 201, "admin": 201, "plain": 403, "vip": 403, "outsider": 404}},
			{"create role", "POST", "/api/v10/guilds/" + g.id + "/roles", func() any { return map[string]any{"name": "r"} },
				want{"owner": 200, "admin": 200, "plain": 403, "outsider": 404}},
			{"audit log", "GET", "/api/v10/guilds/" + g.id + "/audit-logs", nil,
				want{"owner": 200, "admin": 200, "plain": 403, "outsider": 404}},
			{"list bans", "GET", "/api/v10/guilds/" + g.id + "/bans", nil,
				want{"owner": 200, "admin": 200, "plain": 403, "outsider": 404}},
			{"guild invites", "GET", "/api/v10/guilds/" + g.id + "/invites", nil,
				want{"owner": 200, "admin": 200, "plain": 403, "outsider": 404}},
			{"channel invites", "GET", "/api/v10/channels/" + g.general + "/invites", nil,
				want{"owner": 200, "admin": 200, "plain": 403, "denied": 403, "outsider": 404}},
			{"invite to private", "POST", "/api/v10/channels/" + privateID + "/invites", func() any { return map[string]any{} },
				want{"owner": 200, "vip": 200, "plain": 403}},
			{"edit general", "PATCH", "/api/v10/channels/" + g.general, func() any { return map[string]any{"topic": "hi"} },
				want{"owner": 200, "admin": 200, "plain": 403, "denied": 403, "outsider": 404}},
			{"edit guild", "PATCH", "/api/v10/guilds/" + g.id, func() any { return map[string]any{"description": "d"} },
				want{"owner": 200, "admin": 200, "plain": 403, "outsider": 404}},
			{"members", "GET", "/api/v10/guilds/" + g.id + "/members?limit=100", nil,
				want{"owner": 200, "plain": 200, "outsider": 404}},
		}
		for _, c := range cases {
			for actor, status := range c.want {
				t.Run(c.name+"/"+actor, func(t *testing.T) {
					var body any
					if c.body != nil {
						body = c.body()
					}
					r := s.Do(t, c.method, c.path, toks[actor], body)
					if r.Status != status {
						t.Fatalf("%s %s as %s: %d, want %d: %s", c.method, c.path, actor, r.Status, status, r.Body)
					}
					if status == 403 && !bytes.Contains(r.Body, []byte(`"code":500`)) {
						t.Fatalf("403 without 50001/50013: %s", r.Body)
					}
				})
			}
		}

		// Channel lists hide what one cannot see.
		count := func(actor string) int {
			return len(list(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/channels", toks[actor], nil)))
		}
		if o, p, v := count("owner"), count("plain"), count("vip"); !(o == v && p == o-1) {
			t.Fatalf("visible channels: owner %d, plain %d, vip %d", o, p, v)
		}

		// Permissions in /users/@me/guilds reflect roles.
		for actor, want := range map[string]string{"admin": permission.All.String(), "plain": permission.Default.String()} {
			gs := list(t, s.Do(t, "GET", "/api/v10/users/@me/guilds", toks[actor], nil))
			if len(gs) != 1 || gs[0]["permissions"] != want || gs[0]["owner"] != false {
				t.Fatalf("%s guilds = %v", actor, gs)
			}
		}
	})
}

func TestRoleHierarchy(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, mod, plain := s.Register(t, "owner", "correct horse"), s.Register(t, "mod", "correct horse"), s.Register(t, "plain", "correct horse")
		g := newGuild(t, s, owner, "Ranks")
		invite(t, s, owner, g.general, mod, plain)
		modPerms := permission.ManageRoles | permission.KickMembers | permission.BanMembers | permission.ViewChannel
		helper := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", owner, map[string]any{"name": "helper"}), 200)["id"].(string)
		modRole := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", owner, map[string]any{"name": "mod", "permissions": perms(modPerms)}), 200)
		if modRole["position"] != float64(1) {
			t.Fatalf("new role position = %v", modRole["position"])
		}
		roles := list(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/roles", owner, nil))
		pos := map[string]float64{}
		for _, r := range roles {
			pos[r["name"].(string)] = r["position"].(float64)
		}
		if pos["@everyone"] != 0 || pos["mod"] != 1 || pos["helper"] != 2 {
			t.Fatalf("positions = %v", pos)
		}
		// Put mod above helper.
		list(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/roles", owner, []map[string]any{{"id": modRole["id"], "position": 2}}))
		modID, plainID := userID(t, s, mod), userID(t, s, plain)
		ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/members/"+modID, owner, map[string]any{"roles": []string{modRole["id"].(string)}}), 200)

		// Below one's highest role: allowed; at or above: refused.
		ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/roles/"+helper, mod, map[string]any{"color": 0xff0000}), 200)
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/roles/"+modRole["id"].(string), mod, map[string]any{"color": 1}), 403, st.Code(50013))
		// Nobody grants what they lack.
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/roles/"+helper, mod, map[string]any{"permissions": perms(permission.Administrator)}), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", mod, map[string]any{"name": "x", "permissions": perms(permission.ManageGuild)}), 403, st.Code(50013))
		ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/roles/"+helper, mod, map[string]any{"permissions": perms(permission.KickMembers)}), 200)
		// Assigning: helper yes, mod no.
		ok(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/members/"+plainID+"/roles/"+helper, mod, nil), 204)
		st.Expect(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/members/"+plainID+"/roles/"+modRole["id"].(string), mod, nil), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/members/"+plainID+"/roles/123456789", mod, nil), 404, st.Code(10011))
		m := ok(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/members/"+plainID, mod, nil), 200)
		if rs := m["roles"].([]any); len(rs) != 1 || rs[0] != helper {
			t.Fatalf("plain's roles = %v", rs)
		}
		// Reorder above oneself: refused.
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/roles", mod, []map[string]any{{"id": helper, "position": 2}}), 403, st.Code(50013))
		// Kicks and bans follow the hierarchy; the owner is untouchable.
		ownerID := userID(t, s, owner)
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/members/"+ownerID, mod, nil), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/bans/"+ownerID, mod, nil), 403, st.Code(50013))
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/members/"+modID, plain, nil), 403, st.Code(50013))
		ok(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/members/"+plainID, mod, nil), 204)
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/members/"+plainID, mod, nil), 404, st.Code(10007))
		// The @everyone role cannot be deleted or renamed.
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/roles/"+g.id, owner, nil), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/roles/"+g.id, owner, map[string]any{"name": "all"}), 400, st.Code(50035))
		// Deleting a role takes it from members.
		ok(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/roles/"+modRole["id"].(string), owner, nil), 204)
		if rs := ok(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/members/"+modID, owner, nil), 200)["roles"].([]any); len(rs) != 0 {
			t.Fatalf("deleted role still held: %v", rs)
		}
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/roles/"+helper, mod, map[string]any{"color": 1}), 403, st.Code(50013))
	})
}

func TestTimeoutKeepsOnlyReading(t *testing.T) {
	s := st.Start(t, st.Options{})
	owner, mod := s.Register(t, "owner", "correct horse"), s.Register(t, "mod", "correct horse")
	g := newGuild(t, s, owner, "Quiet")
	invite(t, s, owner, g.general, mod)
	role := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", owner, map[string]any{"name": "chan", "permissions": perms(permission.ManageChannels | permission.ViewChannel)}), 200)["id"].(string)
	modID := userID(t, s, mod)
	ok(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/members/"+modID+"/roles/"+role, owner, nil), 204)
	ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/channels", mod, map[string]any{"name": "before"}), 201)

	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	m := ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/members/"+modID, owner, map[string]any{"communication_disabled_until": until}), 200)
	if m["communication_disabled_until"] == nil {
		t.Fatalf("timeout not set: %v", m)
	}
	st.Expect(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/channels", mod, map[string]any{"name": "during"}), 403, st.Code(50013))
	ok(t, s.Do(t, "GET", "/api/v10/channels/"+g.general, mod, nil), 200)
	st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/members/"+modID, owner,
		map[string]any{"communication_disabled_until": time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)}), 400, st.Code(50035))
	ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/members/"+modID, owner, map[string]any{"communication_disabled_until": nil}), 200)
	ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/channels", mod, map[string]any{"name": "after"}), 201)
	// Nobody times out the owner.
	st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/members/"+userID(t, s, owner), owner, map[string]any{"communication_disabled_until": until}), 403, st.Code(50013))
}

func TestChannels(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner := s.Register(t, "owner", "correct horse")
		g := newGuild(t, s, owner, "Chans")
		base := "/api/v10/guilds/" + g.id + "/channels"
		voice := ok(t, s.Do(t, "POST", base, owner, map[string]any{"name": "Voice Chat", "type": 2, "user_limit": 5}), 201)
		if voice["name"] != "Voice Chat" || voice["bitrate"] != float64(64000) || voice["user_limit"] != float64(5) {
			t.Fatalf("voice = %v", voice)
		}
		cat2 := ok(t, s.Do(t, "POST", base, owner, map[string]any{"name": "More", "type": 4}), 201)["id"].(string)
		news := ok(t, s.Do(t, "POST", base, owner, map[string]any{"name": "news", "type": 5, "parent_id": cat2, "topic": "t"}), 201)
		if news["parent_id"] != cat2 || news["topic"] != "t" {
			t.Fatalf("news = %v", news)
		}
		up := ok(t, s.Do(t, "PATCH", "/api/v10/channels/"+g.general, owner, map[string]any{"name": "Chat Here", "topic": "Be nice", "nsfw": true, "rate_limit_per_user": 10, "parent_id": nil}), 200)
		if up["name"] != "chat-here" || up["topic"] != "Be nice" || up["nsfw"] != true || up["rate_limit_per_user"] != float64(10) || up["parent_id"] != nil {
			t.Fatalf("updated = %v", up)
		}

		// Bad input changes nothing.
		bad := []struct {
			name   string
			method string
			path   string
			body   any
			status int
			code   int
		}{
			{"name too long", "POST", base, map[string]any{"name": strings.Repeat("n", 101)}, 400, 50035},
			{"empty name", "POST", base, map[string]any{"name": ""}, 400, 50035},
			{"unknown type", "POST", base, map[string]any{"name": "x", "type": 13}, 400, 50035},
			{"parent not a category", "POST", base, map[string]any{"name": "x", "parent_id": g.general}, 400, 50035},
			{"category in category", "POST", base, map[string]any{"name": "x", "type": 4, "parent_id": cat2}, 400, 50035},
			{"unknown parent", "POST", base, map[string]any{"name": "x", "parent_id": "1234"}, 400, 50035},
			{"slowmode too long", "PATCH", "/api/v10/channels/" + g.general, map[string]any{"rate_limit_per_user": 21601}, 400, 50035},
			{"text into category", "PATCH", "/api/v10/channels/" + g.general, map[string]any{"type": 4}, 400, 50035},
			{"reorder into non-category", "PATCH", base, []map[string]any{{"id": g.general, "parent_id": voice["id"]}}, 400, 50035},
			{"reorder category into category", "PATCH", base, []map[string]any{{"id": cat2, "parent_id": g.category}}, 400, 50035},
			{"reorder unknown channel", "PATCH", base, []map[string]any{{"id": "99", "position": 1}}, 400, 50035},
			{"reorder not an array", "PATCH", base, map[string]any{"id": g.general}, 400, 50109},
			{"unknown channel", "GET", "/api/v10/channels/12345", nil, 404, 10003},
			{"overwrite bad type", "PUT", "/api/v10/channels/" + g.general + "/permissions/" + g.id, map[string]any{"type": 7, "allow": "0"}, 400, 50035},
			{"overwrite bad bits", "PUT", "/api/v10/channels/" + g.general + "/permissions/" + g.id, map[string]any{"type": 0, "allow": "abc"}, 400, 50035},
			{"overwrite unknown role", "PUT", "/api/v10/channels/" + g.general + "/permissions/987654321", map[string]any{"type": 0, "allow": "0"}, 404, 10011},
			{"delete missing overwrite", "DELETE", "/api/v10/channels/" + g.general + "/permissions/987654321", nil, 404, 10009},
		}
		before := s.Do(t, "GET", base, owner, nil).Body
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) {
				st.Expect(t, s.Do(t, c.method, c.path, owner, c.body), c.status, st.Code(c.code))
			})
		}
		if after := s.Do(t, "GET", base, owner, nil).Body; !bytes.Equal(before, after) {
			t.Fatalf("bad requests changed the channels:\n%s\n%s", before, after)
		}

		// Bulk reorder moves positions and parents together.
		st.Expect(t, s.Do(t, "PATCH", base, owner, []map[string]any{
			{"id": g.general, "position": 3, "parent_id": cat2},
			{"id": voice["id"], "position": 0, "parent_id": cat2},
		}), 204, nil)
		got := map[string]map[string]any{}
		for _, c := range list(t, s.Do(t, "GET", base, owner, nil)) {
			got[c["id"].(string)] = c
		}
		if got[g.general]["parent_id"] != cat2 || got[g.general]["position"] != float64(3) || got[voice["id"].(string)]["parent_id"] != cat2 {
			t.Fatalf("after reorder: %v", got)
		}
		// Deleting a category moves its channels to the top level.
		ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+cat2, owner, nil), 200)
		for _, c := range list(t, s.Do(t, "GET", base, owner, nil)) {
			if c["parent_id"] == cat2 {
				t.Fatalf("channel still in deleted category: %v", c)
			}
		}
		// Overwrites: set, replace, delete.
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/permissions/"+g.id, owner, map[string]any{"type": 0, "deny": perms(permission.SendMessages)}), 204)
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/permissions/"+g.id, owner, map[string]any{"type": "role", "deny": perms(permission.AddReactions)}), 204)
		ows := ok(t, s.Do(t, "GET", "/api/v10/channels/"+g.general, owner, nil), 200)["permission_overwrites"].([]any)
		if len(ows) != 1 || ows[0].(map[string]any)["deny"] != perms(permission.AddReactions) {
			t.Fatalf("overwrites = %v", ows)
		}
		ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+g.general+"/permissions/"+g.id, owner, nil), 204)
		ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+g.general, owner, nil), 200)
		st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+g.general, owner, nil), 404, st.Code(10003))
	})
}

// TestSyncedChannelsFollowTheirCategory: a channel whose overwrites are its
// category's follows every change of the category's overwrites (set, delete,
// replace by PATCH); one with overwrites of its own keeps them.
func TestSyncedChannelsFollowTheirCategory(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner := s.Register(t, "owner", "correct horse")
		member := s.Register(t, "member", "correct horse")
		g := newGuild(t, s, owner, "Sync")
		invite(t, s, owner, g.general, member)
		base := "/api/v10/guilds/" + g.id + "/channels"
		cat := ok(t, s.Do(t, "POST", base, owner, map[string]any{"name": "Staff", "type": 4}), 201)["id"].(string)
		synced := ok(t, s.Do(t, "POST", base, owner, map[string]any{"name": "synced", "parent_id": cat}), 201)["id"].(string)
		own := ok(t, s.Do(t, "POST", base, owner, map[string]any{"name": "own", "parent_id": cat}), 201)["id"].(string)
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+own+"/permissions/"+g.id, owner, map[string]any{"type": 0, "deny": perms(permission.AddReactions)}), 204)
		outside := ok(t, s.Do(t, "POST", base, owner, map[string]any{"name": "outside"}), 201)["id"].(string)

		denies := func(id string) []string {
			t.Helper()
			var out []string
			for _, o := range ok(t, s.Do(t, "GET", "/api/v10/channels/"+id, owner, nil), 200)["permission_overwrites"].([]any) {
				out = append(out, o.(map[string]any)["id"].(string)+":"+o.(map[string]any)["deny"].(string))
			}
			return out
		}
		want := func(step, id string, w ...string) {
			t.Helper()
			if got := denies(id); fmt.Sprint(got) != fmt.Sprint(w) {
				t.Fatalf("%s: overwrites of %s = %v, want %v", step, id, got, w)
			}
		}
		hidden := perms(permission.ViewChannel)
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+cat+"/permissions/"+g.id, owner, map[string]any{"type": 0, "deny": hidden}), 204)
		want("set", synced, g.id+":"+hidden)
		want("set", own, g.id+":"+perms(permission.AddReactions))
		want("set", outside)
		st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+synced, member, nil), 403, st.Code(50001))
		ok(t, s.Do(t, "GET", "/api/v10/channels/"+own, member, nil), 200)

		ok(t, s.Do(t, "PATCH", "/api/v10/channels/"+cat, owner, map[string]any{"permission_overwrites": []any{}}), 200)
		want("patch", synced)
		ok(t, s.Do(t, "GET", "/api/v10/channels/"+synced, member, nil), 200)

		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+cat+"/permissions/"+g.id, owner, map[string]any{"type": 0, "deny": hidden}), 204)
		ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+cat+"/permissions/"+g.id, owner, nil), 204)
		want("delete", synced)
		want("delete", own, g.id+":"+perms(permission.AddReactions))
	})
}

func TestRoleLimit(t *testing.T) {
	s := st.Start(t, st.Options{})
	owner := s.Register(t, "owner", "correct horse")
	g := newGuild(t, s, owner, "Many roles")
	for i := 1; i < 250; i++ {
		ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", owner, map[string]any{"name": "r" + strconv.Itoa(i)}), 200)
	}
	st.Expect(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", owner, map[string]any{"name": "one too many"}), 400, st.Code(30005))
	if n := len(list(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/roles", owner, nil))); n != 250 {
		t.Fatalf("%d roles", n)
	}
}

func TestBansKicksAndInvites(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		var mu sync.Mutex
		now := time.Now()
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		s := st.Start(t, st.Options{Backend: b, Now: clock})
		owner, alice, bob := s.Register(t, "owner", "correct horse"), s.Register(t, "alice", "correct horse"), s.Register(t, "bob", "correct horse")
		g := newGuild(t, s, owner, "Gate")
		code := invite(t, s, owner, g.general, alice)
		aliceID, bobID := userID(t, s, alice), userID(t, s, bob)

		// Preview without a token: guild, channel, inviter, counts.
		pv := ok(t, s.Do(t, "GET", "/api/v10/invites/"+code+"?with_counts=true", "", nil), 200)
		if pv["code"] != code || pv["guild"].(map[string]any)["name"] != "Gate" || pv["channel"].(map[string]any)["id"] != g.general ||
			pv["inviter"].(map[string]any)["username"] != "owner" || pv["approximate_member_count"] != float64(2) {
			t.Fatalf("preview = %v", pv)
		}
		if _, has := pv["uses"]; has {
			t.Fatalf("preview shows metadata: %v", pv)
		}
		// code@server of this server works for anyone; another server's
		// is previewed for signed-in users only.
		ok(t, s.Do(t, "GET", "/api/v10/invites/"+code+"@"+s.ServerName(), "", nil), 200)
		st.Expect(t, s.Do(t, "GET", "/api/v10/invites/"+code+"@elsewhere.example", "", nil), 401, st.Code(0))

		// Ban: the member is removed and cannot come back by any invite.
		ok(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/bans/"+aliceID, owner, map[string]any{"delete_message_seconds": 3600}), 204)
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id, alice, nil), 404, st.Code(10004))
		st.Expect(t, s.Do(t, "POST", "/api/v10/invites/"+code, alice, nil), 403, st.Code(40007))
		fresh := ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/invites", owner, map[string]any{"unique": true}), 200)["code"].(string)
		st.Expect(t, s.Do(t, "POST", "/api/v10/invites/"+fresh, alice, nil), 403, st.Code(40007))
		bans := list(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/bans", owner, nil))
		if len(bans) != 1 || bans[0]["user"].(map[string]any)["id"] != aliceID {
			t.Fatalf("bans = %v", bans)
		}
		ok(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/bans/"+aliceID, owner, nil), 200)
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/bans/"+bobID, owner, nil), 404, st.Code(10026))
		st.Expect(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/bans/"+bobID, owner, map[string]any{"delete_message_seconds": 604801}), 400, st.Code(50035))
		ok(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/bans/"+aliceID, owner, nil), 204)
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/bans/"+aliceID, owner, nil), 404, st.Code(10026))
		ok(t, s.Do(t, "POST", "/api/v10/invites/"+fresh, alice, nil), 200)
		// A non-member can be banned pre-emptively.
		ok(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/bans/"+bobID, owner, nil), 204)
		st.Expect(t, s.Do(t, "POST", "/api/v10/invites/"+fresh, bob, nil), 403, st.Code(40007))
		ok(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/bans/"+bobID, owner, nil), 204)

		// max_uses: one use, then it is gone.
		once := ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/invites", owner, map[string]any{"max_uses": 1, "unique": true}), 200)["code"].(string)
		ok(t, s.Do(t, "POST", "/api/v10/invites/"+once, bob, nil), 200)
		ok(t, s.Do(t, "DELETE", "/api/v10/users/@me/guilds/"+g.id, bob, nil), 204)
		st.Expect(t, s.Do(t, "POST", "/api/v10/invites/"+once, bob, nil), 404, st.Code(10006))
		// Kicked members can rejoin.
		ok(t, s.Do(t, "POST", "/api/v10/invites/"+fresh, bob, nil), 200)
		ok(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/members/"+bobID, owner, nil), 204)
		ok(t, s.Do(t, "POST", "/api/v10/invites/"+fresh, bob, nil), 200)

		// max_age: expired after its time.
		short := ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/invites", owner, map[string]any{"max_age": 60, "unique": true}), 200)
		if short["expires_at"] == nil || short["max_age"] != float64(60) {
			t.Fatalf("invite = %v", short)
		}
		mu.Lock()
		now = now.Add(2 * time.Minute)
		mu.Unlock()
		st.Expect(t, s.Do(t, "GET", "/api/v10/invites/"+short["code"].(string), "", nil), 404, st.Code(10006))

		// unique=false hands back the same live invite.
		a1 := ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/invites", owner, map[string]any{"max_age": 300}), 200)["code"]
		a2 := ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/invites", owner, map[string]any{"max_age": 300}), 200)["code"]
		if a1 != a2 {
			t.Fatalf("non-unique invites differ: %v %v", a1, a2)
		}
		// Revoke: only a manager; then unknown.
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/invites/"+fresh, bob, nil), 403, st.Code(50013))
		ok(t, s.Do(t, "DELETE", "/api/v10/invites/"+fresh, owner, nil), 200)
		st.Expect(t, s.Do(t, "GET", "/api/v10/invites/"+fresh, "", nil), 404, st.Code(10006))
		st.Expect(t, s.Do(t, "POST", "/api/v10/invites/nosuchcode", bob, nil), 404, st.Code(10006))
		// Lists carry metadata.
		for _, inv := range list(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/invites", owner, nil)) {
			if _, has := inv["uses"]; !has || inv["code"] == fresh {
				t.Fatalf("guild invite = %v", inv)
			}
		}
		// Bad invite input.
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/invites", owner, map[string]any{"max_age": 604801}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/invites", owner, map[string]any{"max_uses": 101}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+g.category+"/invites", owner, map[string]any{}), 400, st.Code(50035))
	})
}

func TestDiscovery(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, visitor := s.Register(t, "owner", "correct horse"), s.Register(t, "visitor", "correct horse")
		pub := newGuild(t, s, owner, "Open Knitting Circle")
		priv := newGuild(t, s, owner, "Secret Knitting Society")
		ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+pub.id, owner, map[string]any{"discoverable": true}), 200)
		found := list(t, s.Do(t, "GET", "/api/v10/discovery/guilds?query=knit", visitor, nil))
		if len(found) != 1 || found[0]["id"] != pub.id || found[0]["approximate_member_count"] != float64(1) {
			t.Fatalf("discovery = %v", found)
		}
		if none := list(t, s.Do(t, "GET", "/api/v10/discovery/guilds?query=100%25_", visitor, nil)); len(none) != 0 {
			t.Fatalf("wildcards matched: %v", none)
		}
		ok(t, s.Do(t, "PUT", "/api/v10/guilds/"+pub.id+"/members/@me", visitor, nil), 200)
		ok(t, s.Do(t, "GET", "/api/v10/guilds/"+pub.id, visitor, nil), 200)
		st.Expect(t, s.Do(t, "PUT", "/api/v10/guilds/"+priv.id+"/members/@me", visitor, nil), 404, st.Code(10004))
		// Features toggle it too, as Discord clients send them.
		ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+pub.id, owner, map[string]any{"features": []string{}}), 200)
		if left := list(t, s.Do(t, "GET", "/api/v10/discovery/guilds", visitor, nil)); len(left) != 0 {
			t.Fatalf("private guild listed: %v", left)
		}
	})
}

func pngOfSize(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32()) // noise: does not compress
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func dataURI(mime string, b []byte) string {
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(b)
}

func TestEmoji(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, member := s.Register(t, "owner", "correct horse"), s.Register(t, "member", "correct horse")
		g := newGuild(t, s, owner, "Emoji")
		invite(t, s, owner, g.general, member)
		img := pngOfSize(t, 32, 32)
		e := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/emojis", owner, map[string]any{"name": "party_blob", "image": dataURI("image/png", img)}), 201)
		id := e["id"].(string)
		if e["name"] != "party_blob" || e["animated"] != false || e["user"].(map[string]any)["username"] != "owner" {
			t.Fatalf("emoji = %v", e)
		}
		res := s.Do(t, "GET", "/emojis/"+id+".png", "", nil)
		st.Expect(t, res, 200, nil)
		if !bytes.Equal(res.Body, img) || res.Header.Get("Content-Type") != "image/png" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("served %d bytes as %q", len(res.Body), res.Header.Get("Content-Type"))
		}
		if es := list(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/emojis", member, nil)); len(es) != 1 {
			t.Fatalf("emojis = %v", es)
		}
		if gg := ok(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id, member, nil), 200); len(gg["emojis"].([]any)) != 1 {
			t.Fatalf("guild emojis = %v", gg["emojis"])
		}
		// A member may not touch someone else's emoji; the owner may.
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/emojis/"+id, member, map[string]any{"name": "mine"}), 403, st.Code(50013))
		if r := ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/emojis/"+id, owner, map[string]any{"name": "blob"}), 200); r["name"] != "blob" {
			t.Fatalf("renamed = %v", r)
		}
		bad := []struct {
			name string
			body map[string]any
			code string
		}{
			{"svg disguised as png", map[string]any{"name": "svg", "image": dataURI("image/png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))}, "IMAGE_INVALID"},
			{"html", map[string]any{"name": "html", "image": dataURI("image/png", []byte("<html><body>x</body></html>"))}, "IMAGE_INVALID"},
			{"oversized", map[string]any{"name": "big", "image": dataURI("image/png", pngOfSize(t, 300, 300))}, "BINARY_TYPE_MAX_SIZE"},
			{"bad name", map[string]any{"name": "no spaces!", "image": dataURI("image/png", img)}, "BASE_TYPE_BAD_LENGTH"},
			{"not a data uri", map[string]any{"name": "url", "image": "https://example.com/a.png"}, "IMAGE_INVALID"},
		}
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) {
				r := s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/emojis", owner, c.body)
				st.Expect(t, r, 400, st.Code(50035))
				if !bytes.Contains(r.Body, []byte(c.code)) {
					t.Fatalf("want %s: %s", c.code, r.Body)
				}
			})
		}
		ok(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/emojis/"+id, owner, nil), 204)
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/emojis/"+id, owner, nil), 404, st.Code(10014))
		st.Expect(t, s.Do(t, "GET", "/emojis/"+id+".png", "", nil), 404, st.Code(0))
	})
}

func TestAuditLogAndReason(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, member := s.Register(t, "owner", "correct horse"), s.Register(t, "member", "correct horse")
		g := newGuild(t, s, owner, "Audited")
		invite(t, s, owner, g.general, member)
		ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", owner, map[string]any{"name": "r"}), 200)
		req, _ := http.NewRequest("PUT", s.URL()+"/api/v10/guilds/"+g.id+"/bans/"+userID(t, s, member), strings.NewReader("{}"))
		req.Header.Set("Authorization", owner)
		req.Header.Set("X-Audit-Log-Reason", "spamming%20links")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 204 {
			t.Fatalf("ban: %v %v", res, err)
		}
		res.Body.Close()
		log := ok(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/audit-logs", owner, nil), 200)
		entries := log["audit_log_entries"].([]any)
		var types []float64
		for _, e := range entries {
			types = append(types, e.(map[string]any)["action_type"].(float64))
		}
		// Newest first: ban, role create, invite create.
		if fmt.Sprint(types) != "[22 30 40]" {
			t.Fatalf("action types = %v", types)
		}
		ban := entries[0].(map[string]any)
		if ban["reason"] != "spamming links" || ban["user_id"] != userID(t, s, owner) || ban["target_id"] != userID(t, s, member) {
			t.Fatalf("ban entry = %v", ban)
		}
		if users := log["users"].([]any); len(users) != 2 {
			t.Fatalf("users = %v", users)
		}
		only := ok(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/audit-logs?action_type=30", owner, nil), 200)["audit_log_entries"].([]any)
		if len(only) != 1 {
			t.Fatalf("filtered = %v", only)
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/audit-logs?limit=0", owner, nil), 400, st.Code(50035))
	})
}

// TestGuildEventsAreLogged: every change above is an event in the guild's
// log, with its Discord dispatch name and gapless sequence numbers.
func TestGuildEventsAreLogged(t *testing.T) {
	s := st.Start(t, st.Options{})
	sub := s.Homeserver().Bus().Subscribe(1000)
	defer sub.Close()
	owner, member := s.Register(t, "owner", "correct horse"), s.Register(t, "member", "correct horse")
	g := newGuild(t, s, owner, "Logged")
	code := invite(t, s, owner, g.general, member)
	role := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", owner, map[string]any{"name": "r"}), 200)["id"].(string)
	ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/roles/"+role, owner, map[string]any{"name": "r2"}), 200)
	ok(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/members/"+userID(t, s, member)+"/roles/"+role, owner, nil), 204)
	ch := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/channels", owner, map[string]any{"name": "c"}), 201)["id"].(string)
	ok(t, s.Do(t, "PATCH", "/api/v10/channels/"+ch, owner, map[string]any{"topic": "t"}), 200)
	ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+ch, owner, nil), 200)
	ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/emojis", owner, map[string]any{"name": "e1", "image": dataURI("image/png", pngOfSize(t, 8, 8))}), 201)
	ok(t, s.Do(t, "DELETE", "/api/v10/invites/"+code, owner, nil), 200)
	ok(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/bans/"+userID(t, s, member), owner, nil), 204)
	ok(t, s.Do(t, "DELETE", "/api/v10/guilds/"+g.id+"/roles/"+role, owner, nil), 204)
	ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id, owner, map[string]any{"name": "L2"}), 200)

	want := []string{"GUILD_CREATE", "INVITE_CREATE", "GUILD_MEMBER_ADD", "GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE",
		"GUILD_MEMBER_UPDATE", "CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE", "GUILD_EMOJIS_UPDATE",
		"INVITE_DELETE", "GUILD_MEMBER_REMOVE", "GUILD_BAN_ADD", "GUILD_ROLE_DELETE", "GUILD_UPDATE"}
	ctx, cancel := contextTimeout(5 * time.Second)
	defer cancel()
	for i, name := range want {
		e, err := sub.Next(ctx)
		for err == nil && e.Seq == 0 { // told live, not logged (audit entries)
			e, err = sub.Next(ctx)
		}
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if e.Type != name || e.Seq != int64(i+1) || e.LogID.String() != g.id {
			t.Fatalf("event %d = %s seq %d log %d; want %s seq %d", i, e.Type, e.Seq, e.LogID, name, i+1)
		}
	}
}

func TestMembersPagesNicksAndIcon(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner := s.Register(t, "owner", "correct horse")
		g := newGuild(t, s, owner, "Pages")
		var toks []string
		for i := range 5 {
			toks = append(toks, s.Register(t, fmt.Sprintf("m%d", i), "correct horse"))
		}
		invite(t, s, owner, g.general, toks...)
		var seen []string
		after := "0"
		for {
			page := list(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/members?limit=2&after="+after, owner, nil))
			if len(page) == 0 {
				break
			}
			if len(page) > 2 {
				t.Fatalf("page of %d", len(page))
			}
			for _, m := range page {
				after = m["user"].(map[string]any)["id"].(string)
				seen = append(seen, after)
			}
		}
		if len(seen) != 6 {
			t.Fatalf("paged through %d members, want 6", len(seen))
		}
		for i := 1; i < len(seen); i++ {
			a, _ := strconv.ParseUint(seen[i-1], 10, 64)
			b, _ := strconv.ParseUint(seen[i], 10, 64)
			if b <= a {
				t.Fatalf("members not in ID order: %v", seen)
			}
		}
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/members?limit=1001", owner, nil), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/members?limit=x", owner, nil), 400, st.Code(50035))

		// Nicknames: one's own with CHANGE_NICKNAME, others' with MANAGE_NICKNAMES.
		m := ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/members/@me", toks[0], map[string]any{"nick": "Zero"}), 200)
		if m["nick"] != "Zero" {
			t.Fatalf("nick = %v", m)
		}
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/members/"+userID(t, s, toks[1]), toks[0], map[string]any{"nick": "x"}), 403, st.Code(50013))
		ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/members/"+userID(t, s, toks[1]), owner, map[string]any{"nick": "One"}), 200)
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/members/@me", toks[0], map[string]any{"nick": strings.Repeat("n", 33)}), 400, st.Code(50035))

		// Guild icon and role icon, served by hash.
		img := pngOfSize(t, 16, 16)
		up := ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id, owner, map[string]any{"icon": dataURI("image/png", img)}), 200)
		hash, _ := up["icon"].(string)
		res := s.Do(t, "GET", "/icons/"+g.id+"/"+hash+".png", "", nil)
		if res.Status != 200 || !bytes.Equal(res.Body, img) {
			t.Fatalf("icon: %d, %d bytes", res.Status, len(res.Body))
		}
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id, owner, map[string]any{"icon": dataURI("image/png", []byte("<svg/>"))}), 400, st.Code(50035))
		r := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", owner, map[string]any{"name": "star", "unicode_emoji": "⭐", "color": 0xffd700, "hoist": true, "mentionable": true}), 200)
		if r["unicode_emoji"] != "⭐" || r["hoist"] != true || r["mentionable"] != true || r["color"] != float64(0xffd700) {
			t.Fatalf("role = %v", r)
		}
	})
}

// TestConcurrentRoleChangesKeepBoth: bots often add several roles at once;
// none of the changes may undo another.
func TestConcurrentRoleChangesKeepBoth(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, member := s.Register(t, "owner", "correct horse"), s.Register(t, "member", "correct horse")
		g := newGuild(t, s, owner, "Roles at once")
		invite(t, s, owner, g.general, member)
		memberID := userID(t, s, member)
		var roles []string
		for i := range 6 {
			roles = append(roles, ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", owner, map[string]any{"name": fmt.Sprint("r", i)}), 200)["id"].(string))
		}
		var wg sync.WaitGroup
		for _, r := range roles {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st.Expect(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/members/"+memberID+"/roles/"+r, owner, nil), 204, nil)
			}()
		}
		wg.Wait()
		if got := ok(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/members/"+memberID, owner, nil), 200)["roles"].([]any); len(got) != len(roles) {
			t.Fatalf("member has %d of %d roles added at once", len(got), len(roles))
		}
	})
}
