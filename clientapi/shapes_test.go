package clientapi_test

import (
	"encoding/json"
	"testing"

	st "hearth/server/servertest"
)

// Fields that discord-api-docs documents as always present (no "?"; null
// allowed), per object. Libraries read them without a guard.
var (
	userKeys    = []string{"id", "username", "discriminator", "global_name", "avatar"}
	memberKeys  = []string{"roles", "joined_at", "deaf", "mute", "flags"}
	roleKeys    = []string{"id", "name", "color", "colors", "hoist", "position", "permissions", "managed", "mentionable", "flags"}
	colorsKeys  = []string{"primary_color", "secondary_color", "tertiary_color"}
	guildKeys   = []string{"id", "name", "icon", "splash", "discovery_splash", "owner_id", "afk_channel_id", "afk_timeout", "verification_level", "default_message_notifications", "explicit_content_filter", "roles", "emojis", "features", "mfa_level", "application_id", "system_channel_id", "system_channel_flags", "rules_channel_id", "vanity_url_code", "description", "banner", "premium_tier", "preferred_locale", "public_updates_channel_id", "nsfw_level", "premium_progress_bar_enabled", "safety_alerts_channel_id", "incidents_data"}
	channelKeys = []string{"id", "type"}
	messageKeys = []string{"id", "channel_id", "author", "content", "timestamp", "edited_timestamp", "tts", "mention_everyone", "mentions", "mention_roles", "attachments", "embeds", "pinned", "type"}
	emojiKeys   = []string{"id", "name"}
	inviteKeys  = []string{"type", "code", "channel", "expires_at"}
	inviteMeta  = []string{"uses", "max_uses", "max_age", "temporary", "created_at"}
	appKeys     = []string{"id", "name", "icon", "description", "bot_public", "bot_require_code_grant", "verify_key", "team"}
	reactKeys   = []string{"count", "count_details", "me", "me_burst", "emoji", "burst_colors"}
)

func hasKeys(t *testing.T, what string, obj any, keys []string) {
	t.Helper()
	m, isObj := obj.(map[string]any)
	if !isObj {
		t.Errorf("%s is not an object: %v", what, obj)
		return
	}
	for _, k := range keys {
		if _, present := m[k]; !present {
			t.Errorf("%s lacks %q: %v", what, k, m)
		}
	}
}

// TestObjectShapes decodes the objects the REST API answers with and
// checks the fields discord-api-docs documents as always present, nested
// objects included (a role's colors, a message's author).
func TestObjectShapes(t *testing.T) {
	s := st.Start(t, st.Options{})
	owner, member := s.Register(t, "owner", "correct horse"), s.Register(t, "member", "correct horse")
	g := newGuild(t, s, owner, "Shapes")
	code := invite(t, s, owner, g.general, member)
	memberID := userID(t, s, member)
	role := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/roles", owner, map[string]any{"name": "gradient", "colors": map[string]any{"primary_color": 0x112233}}), 200)
	emoji := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/emojis", owner, map[string]any{"name": "blob", "image": dataURI("image/png", pngOfSize(t, 16, 16))}), 201)
	msg := ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/messages", owner, map[string]any{"content": "shapes"}), 200)
	ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/messages/"+msg["id"].(string)+"/reactions/%F0%9F%91%8D/@me", owner, nil), 204)
	app := ok(t, s.Do(t, "POST", "/api/v10/applications", owner, map[string]any{"name": "Shaper"}), 201)
	get := func(path string) any {
		r := s.Do(t, "GET", "/api/v10"+path, owner, nil)
		st.Expect(t, r, 200, nil)
		var v any
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return v
	}
	first := func(v any) any {
		l, _ := v.([]any)
		if len(l) == 0 {
			t.Fatalf("empty list: %v", v)
		}
		return l[0]
	}
	guild := get("/guilds/" + g.id).(map[string]any)
	message := get("/channels/" + g.general + "/messages/" + msg["id"].(string)).(map[string]any)
	cases := []struct {
		what string
		obj  any
		keys []string
	}{
		{"user (me)", get("/users/@me"), userKeys},
		{"user", get("/users/" + memberID), userKeys},
		{"member", get("/guilds/" + g.id + "/members/" + memberID), memberKeys},
		{"member's user", get("/guilds/" + g.id + "/members/" + memberID).(map[string]any)["user"], userKeys},
		{"members list entry", first(get("/guilds/" + g.id + "/members?limit=5")), memberKeys},
		{"created role", role, roleKeys},
		{"created role's colors", role["colors"], colorsKeys},
		{"role list entry", first(get("/guilds/" + g.id + "/roles")), roleKeys},
		{"guild", guild, guildKeys},
		{"guild's role", first(guild["roles"]), roleKeys},
		{"guild's role's colors", first(guild["roles"]).(map[string]any)["colors"], colorsKeys},
		{"guild's emoji", first(guild["emojis"]), emojiKeys},
		{"channel", get("/channels/" + g.general), channelKeys},
		{"channel list entry", first(get("/guilds/" + g.id + "/channels")), channelKeys},
		{"message", message, messageKeys},
		{"message's author", message["author"], userKeys},
		{"message's reaction", first(message["reactions"]), reactKeys},
		{"history entry", first(get("/channels/" + g.general + "/messages?limit=1")), messageKeys},
		{"emoji", emoji, emojiKeys},
		{"emoji list entry", first(get("/guilds/" + g.id + "/emojis")), emojiKeys},
		{"invite", get("/invites/" + code), inviteKeys},
		{"invite with metadata", first(get("/channels/" + g.general + "/invites")), append(append([]string{}, inviteKeys...), inviteMeta...)},
		{"application", app, appKeys},
		{"application (get)", get("/applications/" + app["id"].(string)), appKeys},
	}
	for _, c := range cases {
		hasKeys(t, c.what, c.obj, c.keys)
	}
	if colors := role["colors"].(map[string]any); colors["primary_color"] != float64(0x112233) || role["color"] != float64(0x112233) ||
		colors["secondary_color"] != nil || colors["tertiary_color"] != nil {
		t.Errorf("role made with colors.primary_color: %v", role)
	}
	patched := ok(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/roles/"+role["id"].(string), owner, map[string]any{"color": 0x445566}), 200)
	if patched["colors"].(map[string]any)["primary_color"] != float64(0x445566) {
		t.Errorf("patched role's colors: %v", patched)
	}
	st.Expect(t, s.Do(t, "PATCH", "/api/v10/guilds/"+g.id+"/roles/"+role["id"].(string), owner, map[string]any{"colors": map[string]any{"primary_color": "red"}}), 400, st.Code(50035))
}
