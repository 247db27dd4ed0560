package bots_test

import (
	"testing"

	st "hearth/server/servertest"
)

// Fixtures over the REST API, as a person would make them.

func newGuild(t *testing.T, s *st.Server, tok, name string) (guild, general string) {
	t.Helper()
	g := st.OK(t, s.Do(t, "POST", "/api/v10/guilds", tok, map[string]any{"name": name}), 201)
	for _, c := range st.List(t, s.Do(t, "GET", "/api/v10/guilds/"+g["id"].(string)+"/channels", tok, nil)) {
		if c["type"] == float64(0) {
			general = c["id"].(string)
		}
	}
	return g["id"].(string), general
}

// newBot makes an application owned by owner, adds its bot to guild and
// returns its token and user id.
func newBot(t *testing.T, s *st.Server, owner, name, guild string) (token, id string) {
	t.Helper()
	app := st.OK(t, s.Do(t, "POST", "/api/v10/applications", owner, map[string]any{"name": name}), 201)
	token = st.OK(t, s.Do(t, "POST", "/api/v10/applications/"+app["id"].(string)+"/bot/reset", owner, nil), 200)["token"].(string)
	st.OK(t, s.Do(t, "POST", "/api/v10/oauth2/authorize?client_id="+app["id"].(string)+"&scope=bot&permissions=0", owner,
		map[string]any{"guild_id": guild, "authorize": true}), 200)
	return token, app["bot"].(map[string]any)["id"].(string)
}

// TestDiscordJSReply runs an unmodified discord.js v14 bot that connects
// (REST base from its rest.api option, gateway URL from GET /gateway/bot),
// reads its application and the guild, and answers a person's message:
// a reply, a reaction and an edit of its reply.
func TestDiscordJSReply(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		human := s.Register(t, "human", "correct horse")
		gid, general := newGuild(t, s, human, "Bots welcome")
		tok, botID := newBot(t, s, human, "jsbot", gid)

		bot := runDiscordJS(t, s, "Bot "+tok, "reply", map[string]any{"trigger": "ping", "guild": gid})
		ready := bot.expect("ready")
		if ready["user"] != botID || ready["guilds"] != float64(1) {
			t.Fatalf("ready = %v, want bot %s in 1 guild", ready, botID)
		}
		started := bot.expect("started")
		if started["guild"] != "Bots welcome" || started["everyone_color"] != float64(0) || started["channels"] == float64(0) {
			t.Fatalf("started = %v", started)
		}

		ping := st.OK(t, s.Do(t, "POST", "/api/v10/channels/"+general+"/messages", human, map[string]any{"content": "ping"}), 200)
		if got := bot.expect("received"); got["id"] != ping["id"] || got["author"] != "human" || got["channel"] != general {
			t.Fatalf("received = %v, want message %v", got, ping["id"])
		}
		replied := bot.expect("replied")
		if replied["reference"] != ping["id"] {
			t.Fatalf("reply = %v, want a reference to %v", replied, ping["id"])
		}
		bot.expect("reacted")
		if edited := bot.expect("edited"); edited["content"] != "pong (edited)" || edited["edited"] != true {
			t.Fatalf("edited = %v", edited)
		}
		bot.finish()

		// What the person sees afterwards, over REST.
		reply := st.OK(t, s.Do(t, "GET", "/api/v10/channels/"+general+"/messages/"+replied["id"].(string), human, nil), 200)
		if reply["content"] != "pong (edited)" || reply["edited_timestamp"] == nil || reply["author"].(map[string]any)["id"] != botID ||
			reply["message_reference"].(map[string]any)["message_id"] != ping["id"] {
			t.Fatalf("the bot's reply = %v", reply)
		}
		users := st.List(t, s.Do(t, "GET", "/api/v10/channels/"+general+"/messages/"+ping["id"].(string)+"/reactions/%F0%9F%91%8D", human, nil))
		if len(users) != 1 || users[0]["id"] != botID {
			t.Fatalf("reactions on ping = %v", users)
		}
	})
}
