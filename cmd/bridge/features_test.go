package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	pngenc "image/png"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"hearth/homeserver"
	"hearth/homeserver/permission"
	"hearth/server"
	st "hearth/server/servertest"
	"hearth/snowflake"
)

// avatarPNG is a small PNG, distinct per shade, and its data URI.
func avatarPNG(t *testing.T, shade uint8) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(2, 1, color.RGBA{G: shade, A: 255})
	if err := pngenc.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestBridgeAvatarsAndBridgedMark: avatars cross both ways with the
// protocol's remote avatars. alice's Discord avatar is her puppet's, and
// bob's homeserver shows it (copied from the bridge) with the bridged
// mark; bob's Hearth avatar reaches the bridge with his act, and his
// relayed message on Discord carries it as the webhook's avatar_url (the
// bridge's copy, fetched from bob's server). bob is not marked bridged.
func TestBridgeAvatarsAndBridgedMark(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 0)
		alicePNG, aliceURI := avatarPNG(t, 100)
		bobPNG, bobURI := avatarPNG(t, 200)
		st.OK(t, e.d.Do(t, "PATCH", "/api/v10/users/@me", e.d.alice, map[string]any{"avatar": aliceURI}), http.StatusOK)
		st.OK(t, e.h.Do(t, "PATCH", "/api/v10/users/@me", e.bob, map[string]any{"avatar": bobURI}), http.StatusOK)

		// Discord to Hearth.
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice,
			map[string]any{"content": "my face"}), http.StatusOK)
		var author map[string]any
		st.WaitFor(t, "alice's message on Hearth with her avatar", wait, func() string {
			for _, m := range history(t, e.h, e.bob, e.mirror) {
				if m["content"] == "my face" {
					author = m["author"].(map[string]any)
					if author["avatar"] == sha(alicePNG) {
						return ""
					}
					return "author " + author["username"].(string) + " without her avatar"
				}
			}
			return "not yet"
		})
		if author["hearth_bridged"] != true {
			t.Fatalf("alice's puppet on bob's server is not marked bridged: %v", author)
		}
		if got := fetch(t, e.h.URL()+"/avatars/"+author["id"].(string)+"/"+sha(alicePNG)+".png"); !bytes.Equal(got, alicePNG) {
			t.Fatalf("bob's server serves %d bytes as alice's avatar, want her %d", len(got), len(alicePNG))
		}

		// Hearth to Discord.
		st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob,
			map[string]any{"content": "my face too"}), http.StatusOK)
		m := find(t, waitContents(t, "bob's message on Discord", e.d.Server, e.d.alice, e.d.general, has("my face too")), "my face too")
		bobOnDiscord := m["author"].(map[string]any)
		if bobOnDiscord["avatar"] != sha(bobPNG) {
			t.Fatalf("bob's message on Discord has avatar %v, want his %s", bobOnDiscord["avatar"], sha(bobPNG))
		}
		if got := fetch(t, e.d.URL()+"/avatars/"+bobOnDiscord["id"].(string)+"/"+sha(bobPNG)+".png"); !bytes.Equal(got, bobPNG) {
			t.Fatalf("Discord serves %d bytes as bob's avatar, want his %d", len(got), len(bobPNG))
		}
		for _, m := range history(t, e.h, e.bob, e.mirror) {
			if m["content"] == "my face too" && m["author"].(map[string]any)["hearth_bridged"] != nil {
				t.Fatalf("bob is marked bridged: %v", m["author"])
			}
		}
	})
}

// threadNamed is the ID of the thread of that name tok's holder sees in a
// guild (active or archived under parent), "" when there is none.
func threadNamed(t *testing.T, s *st.Server, tok, guild, parent, name string) (string, map[string]any) {
	t.Helper()
	active := st.OK(t, s.Do(t, "GET", "/api/v10/guilds/"+guild+"/threads/active", tok, nil), http.StatusOK)
	archived := st.OK(t, s.Do(t, "GET", "/api/v10/channels/"+parent+"/threads/archived/public", tok, nil), http.StatusOK)
	for _, list := range []map[string]any{active, archived} {
		ts, _ := list["threads"].([]any)
		for _, th := range ts {
			th := th.(map[string]any)
			if th["name"] == name {
				return th["id"].(string), th
			}
		}
	}
	return "", nil
}

// waitThread waits for a thread of that name and returns its ID.
func waitThread(t *testing.T, what string, s *st.Server, tok, guild, parent, name string) string {
	t.Helper()
	var id string
	st.WaitFor(t, what, wait, func() string {
		if id, _ = threadNamed(t, s, tok, guild, parent, name); id == "" {
			return "not yet"
		}
		return ""
	})
	return id
}

// waitArchived waits until a thread of that name is archived (or not).
func waitArchived(t *testing.T, what string, s *st.Server, tok, guild, parent, name string, want bool) {
	t.Helper()
	st.WaitFor(t, what, wait, func() string {
		_, th := threadNamed(t, s, tok, guild, parent, name)
		if th == nil {
			return "no thread"
		}
		if md, _ := th["thread_metadata"].(map[string]any); md["archived"] != want {
			return "thread_metadata " + fmt.Sprint(md)
		}
		return ""
	})
}

// mirrorGuild is bob's local ID of the mirror guild.
func mirrorGuild(t *testing.T, e world) string {
	t.Helper()
	for _, g := range st.List(t, e.h.Do(t, "GET", "/api/v10/users/@me/guilds", e.bob, nil)) {
		if g["name"] == "Discordia" {
			return g["id"].(string)
		}
	}
	t.Fatal("bob is not in the mirror")
	return ""
}

// TestBridgeThreads: threads cross both ways. alice starts a thread on
// Discord from her message: it is a thread of its counterpart on Hearth,
// and messages cross both ways in it (bob's through the parent's webhook,
// naming the thread), and her archiving it archives it on Hearth. bob
// starts a thread on Hearth: the bot starts it on Discord, and messages
// cross in it both ways; his archiving it archives it on Discord. Nothing
// is echoed: each message once on each side, and no second thread.
func TestBridgeThreads(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 0)
		hg := mirrorGuild(t, e)

		// Discord to Hearth.
		root := st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice,
			map[string]any{"content": "thread root"}), http.StatusOK)["id"].(string)
		rootOnHearth := find(t, waitContents(t, "the root on Hearth", e.h, e.bob, e.mirror, has("thread root")), "thread root")["id"].(string)
		dThread := st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages/"+root+"/threads", e.d.alice,
			map[string]any{"name": "from discord"}), http.StatusCreated)["id"].(string)
		hThread := waitThread(t, "alice's thread on Hearth", e.h, e.bob, hg, e.mirror, "from discord")
		if hThread != rootOnHearth {
			t.Fatalf("alice's thread on Hearth is %s, want one started from the root %s", hThread, rootOnHearth)
		}
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+dThread+"/messages", e.d.alice,
			map[string]any{"content": "in discord's thread"}), http.StatusOK)
		waitContents(t, "alice's thread message on Hearth", e.h, e.bob, hThread, has("in discord's thread"))
		st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+hThread+"/messages", e.bob,
			map[string]any{"content": "bob in discord's thread"}), http.StatusOK)
		m := find(t, waitContents(t, "bob's thread message on Discord", e.d.Server, e.d.alice, dThread, has("bob in discord's thread")),
			"bob in discord's thread")
		if m["webhook_id"] == nil {
			t.Fatalf("bob's message in the thread on Discord is not the webhook's: %v", m)
		}
		// An edit of it reaches the thread's message too.
		bobsID := find(t, history(t, e.h, e.bob, hThread), "bob in discord's thread")["id"].(string)
		st.OK(t, e.h.Do(t, "PATCH", "/api/v10/channels/"+hThread+"/messages/"+bobsID, e.bob,
			map[string]any{"content": "bob in discord's thread (edited)"}), http.StatusOK)
		waitContents(t, "bob's thread edit on Discord", e.d.Server, e.d.alice, dThread, has("bob in discord's thread (edited)"))
		st.OK(t, e.d.Do(t, "PATCH", "/api/v10/channels/"+dThread, e.d.alice, map[string]any{"archived": true}), http.StatusOK)
		waitArchived(t, "alice's thread archived on Hearth", e.h, e.bob, hg, e.mirror, "from discord", true)

		// Hearth to Discord.
		hThread2 := st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/threads", e.bob,
			map[string]any{"name": "from hearth", "type": 11}), http.StatusCreated)["id"].(string)
		dThread2 := waitThread(t, "bob's thread on Discord", e.d.Server, e.d.alice, e.d.guild, e.d.general, "from hearth")
		st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+hThread2+"/messages", e.bob,
			map[string]any{"content": "in hearth's thread"}), http.StatusOK)
		waitContents(t, "bob's message in his thread on Discord", e.d.Server, e.d.alice, dThread2, has("in hearth's thread"))
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+dThread2+"/messages", e.d.alice,
			map[string]any{"content": "alice in hearth's thread"}), http.StatusOK)
		onHearth := waitContents(t, "alice in bob's thread on Hearth", e.h, e.bob, hThread2, has("alice in hearth's thread"))
		st.OK(t, e.h.Do(t, "PATCH", "/api/v10/channels/"+hThread2, e.bob, map[string]any{"archived": true}), http.StatusOK)
		waitArchived(t, "bob's thread archived on Discord", e.d.Server, e.d.alice, e.d.guild, e.d.general, "from hearth", true)

		// No echoes: a message after each shows the echo had its chance.
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice,
			map[string]any{"content": "thread sentinel"}), http.StatusOK)
		waitContents(t, "the sentinel on Hearth", e.h, e.bob, e.mirror, has("thread sentinel"))
		onHearth = history(t, e.h, e.bob, hThread2)
		if n := count(onHearth, "in hearth's thread"); n != 1 {
			t.Fatalf("bob's thread message is %d times on Hearth: %q", n, contents(onHearth))
		}
		onDiscord := history(t, e.d.Server, e.d.alice, dThread2)
		if n := count(onDiscord, "alice in hearth's thread"); n != 1 {
			t.Fatalf("alice's thread message is %d times on Discord: %q", n, contents(onDiscord))
		}
		for _, name := range []string{"from hearth", "from discord"} {
			n := 0
			for _, s := range []struct {
				s             *st.Server
				tok, g, paren string
			}{{e.h, e.bob, hg, e.mirror}, {e.d.Server, e.d.alice, e.d.guild, e.d.general}} {
				if id, _ := threadNamed(t, s.s, s.tok, s.g, s.paren, name); id != "" {
					n++
				}
			}
			if n != 2 {
				t.Fatalf("thread %q is on %d sides", name, n)
			}
		}
		// The thread stays archived on Discord: its state did not come back
		// as a change.
		waitArchived(t, "bob's thread still archived on Discord", e.d.Server, e.d.alice, e.d.guild, e.d.general, "from hearth", true)
	})
}

// openBridge opens the bridge's data (the bridge stopped) as the admin
// commands do.
func openBridge(t *testing.T, e world) (*homeserver.Homeserver, func() error) {
	t.Helper()
	cfg := server.Config{ServerName: e.bridgeName}
	for i := 0; i+1 < len(e.flags); i++ {
		switch e.flags[i] {
		case "--data":
			cfg.DataDir = e.flags[i+1]
		case "--database":
			cfg.Database = e.flags[i+1]
		}
	}
	hs, done, err := server.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return hs, done
}

// grantBob gives bob a role of the mirror with perms, made by its owner
// while the bridge is stopped (the mirror's roles are Discord's to give;
// this stands in for that), and restarts the bridge; it waits until bob's
// server has the role.
func grantBob(t *testing.T, e *world, perms permission.Set) {
	t.Helper()
	ctx := context.Background()
	e.br.stop()
	botID := st.OK(t, e.d.Do(t, "GET", "/api/v10/users/@me", "Bot "+e.d.botToken, nil), http.StatusOK)["id"].(string)
	hs, done := openBridge(t, *e)
	guild, err := hs.Bridge().LocalID(ctx, homeserver.BridgeGuild, e.d.guild)
	if err != nil {
		t.Fatal(err)
	}
	ownerID, err := hs.Bridge().LocalID(ctx, homeserver.BridgeUser, botID)
	if err != nil {
		t.Fatal(err)
	}
	owner, err := hs.User(ctx, ownerID)
	if err != nil {
		t.Fatal(err)
	}
	p := homeserver.Principal{User: owner}
	members, err := hs.Members(ctx, p, guild, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var bob snowflake.ID
	for _, m := range members {
		if m.User != nil && m.User.Username == "bob" {
			bob = m.User.ID
		}
	}
	role, err := hs.CreateRole(ctx, p, guild, homeserver.RoleFields{Name: homeserver.Optional[string]{Set: true, Value: "hearth mods"},
		Permissions: homeserver.Optional[permission.Set]{Set: true, Value: perms}})
	if err != nil {
		t.Fatal(err)
	}
	if err := hs.AddMemberRole(ctx, p, guild, bob, role.ID); err != nil {
		t.Fatal(err)
	}
	if err := done(); err != nil {
		t.Fatal(err)
	}
	e.br = startBridge(t, e.flags, e.d)
	hg := mirrorGuild(t, *e)
	bobID := st.OK(t, e.h.Do(t, "GET", "/api/v10/users/@me", e.bob, nil), http.StatusOK)["id"].(string)
	st.WaitFor(t, "bob's role on his server", wait, func() string {
		m := st.OK(t, e.h.Do(t, "GET", "/api/v10/guilds/"+hg+"/members/"+bobID, e.bob, nil), http.StatusOK)
		if rs, _ := m["roles"].([]any); len(rs) == 0 {
			return "no role yet"
		}
		return ""
	})
}

// reactionIDs is a message's custom emoji IDs by name, as tok's holder
// reads them.
func reactionIDs(t *testing.T, s *st.Server, tok, channel, message string) map[string]string {
	t.Helper()
	m := st.OK(t, s.Do(t, "GET", "/api/v10/channels/"+channel+"/messages/"+message, tok, nil), http.StatusOK)
	out := map[string]string{}
	rs, _ := m["reactions"].([]any)
	for _, r := range rs {
		em := r.(map[string]any)["emoji"].(map[string]any)
		if id, ok := em["id"].(string); ok {
			out[em["name"].(string)] = id
		}
	}
	return out
}

// TestBridgeCustomEmojiAndClears: a Discord custom emoji crosses as the
// mirror's copy of it: alice's reaction with it is her puppet's on Hearth,
// and bob's with the copy is the bot's with the original on Discord (and
// taken back with his). A moderator's clear of one emoji's reactions, or of
// all, crosses both ways: alice's on Discord, and bob's on Hearth once the
// mirror lets him manage messages.
func TestBridgeCustomEmojiAndClears(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 0)
		img, _ := avatarPNG(t, 50)
		party := st.OK(t, e.d.Do(t, "POST", "/api/v10/guilds/"+e.d.guild+"/emojis", e.d.alice, map[string]any{"name": "party",
			"image": "data:image/png;base64," + base64.StdEncoding.EncodeToString(img)}), http.StatusCreated)["id"].(string)
		const fire, thumbs = "\U0001F525", "\U0001F44D"
		react := func(s *st.Server, tok, channel, message, emoji, method string) {
			t.Helper()
			st.Expect(t, s.Do(t, method, "/api/v10/channels/"+channel+"/messages/"+message+"/reactions/"+url.PathEscape(emoji)+"/@me", tok, nil),
				http.StatusNoContent, nil)
		}
		clear := func(s *st.Server, tok, channel, message, emoji string) {
			t.Helper()
			path := "/api/v10/channels/" + channel + "/messages/" + message + "/reactions"
			if emoji != "" {
				path += "/" + url.PathEscape(emoji)
			}
			st.Expect(t, s.Do(t, "DELETE", path, tok, nil), http.StatusNoContent, nil)
		}
		hid := st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob,
			map[string]any{"content": "react custom"}), http.StatusOK)["id"].(string)
		did := find(t, waitContents(t, "bob's message on Discord", e.d.Server, e.d.alice, e.d.general, has("react custom")), "react custom")["id"].(string)

		// The custom emoji, both ways.
		react(e.d.Server, e.d.alice, e.d.general, did, "party:"+party, "PUT")
		waitReaction(t, "alice's custom reaction on Hearth", e.h, e.bob, e.mirror, hid, "party", 1)
		copyID := reactionIDs(t, e.h, e.bob, e.mirror, hid)["party"]
		if copyID == "" || copyID == party {
			t.Fatalf("the party emoji on Hearth has ID %q", copyID)
		}
		if r := e.h.Do(t, "GET", "/emojis/"+copyID+".png", "", nil); r.Status != http.StatusOK || !bytes.Equal(r.Body, img) {
			t.Fatalf("bob's server serves the party emoji: %d, %d bytes", r.Status, len(r.Body))
		}
		react(e.h, e.bob, e.mirror, hid, "party:"+copyID, "PUT")
		waitReaction(t, "bob's custom reaction on Discord", e.d.Server, e.d.alice, e.d.general, did, "party", 2)
		react(e.h, e.bob, e.mirror, hid, "party:"+copyID, "DELETE")
		waitReaction(t, "bob's custom reaction gone from Discord", e.d.Server, e.d.alice, e.d.general, did, "party", 1)

		// Discord's clears, of one emoji then of all.
		react(e.d.Server, e.d.alice, e.d.general, did, fire, "PUT")
		react(e.h, e.bob, e.mirror, hid, thumbs, "PUT")
		waitReaction(t, "alice's fire on Hearth", e.h, e.bob, e.mirror, hid, fire, 1)
		waitReaction(t, "bob's thumbs on Discord", e.d.Server, e.d.alice, e.d.general, did, thumbs, 1)
		clear(e.d.Server, e.d.alice, e.d.general, did, "party:"+party)
		waitReaction(t, "the party cleared on Hearth", e.h, e.bob, e.mirror, hid, "party", 0)
		if got := reactions(t, e.h, e.bob, e.mirror, hid); got[fire] != 1 || got[thumbs] != 1 {
			t.Fatalf("Hearth's reactions after Discord cleared the party: %v", got)
		}
		clear(e.d.Server, e.d.alice, e.d.general, did, "")
		st.WaitFor(t, "every reaction cleared on Hearth", wait, func() string {
			if got := reactions(t, e.h, e.bob, e.mirror, hid); len(got) != 0 {
				return fmt.Sprint(got)
			}
			return ""
		})

		// Hearth's clears, by bob once he may manage messages.
		grantBob(t, &e, permission.ManageMessages|permission.ViewChannel|permission.SendMessages|permission.ReadMessageHistory|permission.AddReactions)
		react(e.d.Server, e.d.alice, e.d.general, did, fire, "PUT")
		react(e.d.Server, e.d.alice, e.d.general, did, "party:"+party, "PUT")
		waitReaction(t, "alice's fire again on Hearth", e.h, e.bob, e.mirror, hid, fire, 1)
		waitReaction(t, "alice's party again on Hearth", e.h, e.bob, e.mirror, hid, "party", 1)
		clear(e.h, e.bob, e.mirror, hid, fire)
		waitReaction(t, "bob's clear of fire on Discord", e.d.Server, e.d.alice, e.d.general, did, fire, 0)
		if got := reactions(t, e.d.Server, e.d.alice, e.d.general, did); got["party"] != 1 {
			t.Fatalf("Discord's reactions after bob cleared fire: %v", got)
		}
		clear(e.h, e.bob, e.mirror, hid, "")
		st.WaitFor(t, "bob's clear of all on Discord", wait, func() string {
			if got := reactions(t, e.d.Server, e.d.alice, e.d.general, did); len(got) != 0 {
				return fmt.Sprint(got)
			}
			return ""
		})
		// A clear after the echoes: Discord's word of bob's clears left
		// no mark that would keep the next one from crossing.
		react(e.d.Server, e.d.alice, e.d.general, did, fire, "PUT")
		waitReaction(t, "alice's fire a third time on Hearth", e.h, e.bob, e.mirror, hid, fire, 1)
		clear(e.h, e.bob, e.mirror, hid, fire)
		waitReaction(t, "bob's second clear of fire on Discord", e.d.Server, e.d.alice, e.d.general, did, fire, 0)
	})
}

// roleNamed is the ID of a guild's role of that name, as tok's holder
// lists them.
func roleNamed(t *testing.T, s *st.Server, tok, guild, name string) string {
	t.Helper()
	for _, r := range st.List(t, s.Do(t, "GET", "/api/v10/guilds/"+guild+"/roles", tok, nil)) {
		if r["name"] == name {
			return r["id"].(string)
		}
	}
	return ""
}

// ids is a message's mention_roles.
func mentionRoles(m map[string]any) []string {
	var out []string
	rs, _ := m["mention_roles"].([]any)
	for _, r := range rs {
		out = append(out, r.(string))
	}
	return out
}

// TestBridgeRoleAndEveryoneMentions: role mentions cross as each side's
// roles, and each side pings only what its rules let the author ping.
// alice (Discord's owner) pings @everyone and a role nobody may mention:
// both ping on Hearth. dave, who may not, writes the same: nothing pings
// on Hearth. bob, who may not either, writes @everyone and both roles on
// Hearth: on Discord only the mentionable role pings; once the mirror
// lets him mention everyone, his @everyone and the other role ping too.
func TestBridgeRoleAndEveryoneMentions(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 0)
		crew := st.OK(t, e.d.Do(t, "POST", "/api/v10/guilds/"+e.d.guild+"/roles", e.d.alice,
			map[string]any{"name": "crew", "mentionable": false}), http.StatusOK)["id"].(string)
		fans := st.OK(t, e.d.Do(t, "POST", "/api/v10/guilds/"+e.d.guild+"/roles", e.d.alice,
			map[string]any{"name": "fans", "mentionable": true}), http.StatusOK)["id"].(string)
		dave := e.d.Register(t, "dave", "correct horse battery")
		code := st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/invites", e.d.alice, map[string]any{}), http.StatusOK)["code"].(string)
		st.OK(t, e.d.Do(t, "POST", "/api/v10/invites/"+code, dave, nil), http.StatusOK)
		hg := mirrorGuild(t, e)

		// Discord to Hearth: alice may ping, dave may not.
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice,
			map[string]any{"content": "@everyone alice calls <@&" + crew + "> and <@&" + fans + ">"}), http.StatusOK)
		fromAlice := find(t, waitContents(t, "alice's pings on Hearth", e.h, e.bob, e.mirror, func(got []string) bool {
			for _, c := range got {
				if len(c) > 10 && c[:10] == "@everyone " {
					return true
				}
			}
			return false
		}), "@everyone alice calls <@&"+roleNamed(t, e.h, e.bob, hg, "crew")+"> and <@&"+roleNamed(t, e.h, e.bob, hg, "fans")+">")
		hCrew, hFans := roleNamed(t, e.h, e.bob, hg, "crew"), roleNamed(t, e.h, e.bob, hg, "fans")
		if fromAlice["mention_everyone"] != true || len(mentionRoles(fromAlice)) != 2 {
			t.Fatalf("alice's message on Hearth pings everyone %v and roles %v, want both roles", fromAlice["mention_everyone"], fromAlice["mention_roles"])
		}
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", dave,
			map[string]any{"content": "@everyone dave calls <@&" + crew + ">"}), http.StatusOK)
		want := "@everyone dave calls <@&" + hCrew + ">"
		fromDave := find(t, waitContents(t, "dave's message on Hearth", e.h, e.bob, e.mirror, has(want)), want)
		if fromDave["mention_everyone"] != false || len(mentionRoles(fromDave)) != 0 {
			t.Fatalf("dave's message on Hearth pings everyone %v and roles %v, want nothing", fromDave["mention_everyone"], fromDave["mention_roles"])
		}

		// Hearth to Discord: bob may ping the mentionable role only.
		st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob,
			map[string]any{"content": "@everyone bob calls <@&" + hCrew + "> and <@&" + hFans + ">"}), http.StatusOK)
		want = "@everyone bob calls <@&" + crew + "> and <@&" + fans + ">"
		fromBob := find(t, waitContents(t, "bob's message on Discord", e.d.Server, e.d.alice, e.d.general, has(want)), want)
		if fromBob["mention_everyone"] != false || !slices.Equal(mentionRoles(fromBob), []string{fans}) {
			t.Fatalf("bob's message on Discord pings everyone %v and roles %v, want fans only", fromBob["mention_everyone"], fromBob["mention_roles"])
		}
		grantBob(t, &e, permission.MentionEveryone|permission.ViewChannel|permission.SendMessages|permission.ReadMessageHistory)
		st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob,
			map[string]any{"content": "@everyone bob may call <@&" + hCrew + ">"}), http.StatusOK)
		want = "@everyone bob may call <@&" + crew + ">"
		fromBob = find(t, waitContents(t, "bob's allowed pings on Discord", e.d.Server, e.d.alice, e.d.general, has(want)), want)
		if fromBob["mention_everyone"] != true || !slices.Equal(mentionRoles(fromBob), []string{crew}) {
			t.Fatalf("bob's allowed message on Discord pings everyone %v and roles %v, want crew", fromBob["mention_everyone"], fromBob["mention_roles"])
		}
	})
}

// typingOf waits on a gateway connection for a TYPING_START in channel by
// someone other than self (whose own typing their gateway echoes), and
// returns its user's ID.
func typingOf(ctx context.Context, t *testing.T, c *websocket.Conn, channel, self string) string {
	t.Helper()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for typing in %s: %v", channel, err)
		}
		var p struct {
			T string `json:"t"`
			D struct {
				ChannelID string `json:"channel_id"`
				UserID    string `json:"user_id"`
			} `json:"d"`
		}
		if json.Unmarshal(b, &p) == nil && p.T == "TYPING_START" && p.D.ChannelID == channel && p.D.UserID != self {
			return p.D.UserID
		}
	}
}

// gateway opens a gateway connection for tok, after READY, with the
// guild, message and typing intents.
func gateway(ctx context.Context, t *testing.T, s *st.Server, tok string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, strings.Replace(s.URL(), "http", "ws", 1)+"/gateway?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	c.SetReadLimit(16 << 20)
	id, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": tok, "intents": 1 | 1<<9 | 1<<11,
		"properties": map[string]string{"os": "linux"}}})
	if err := c.Write(ctx, websocket.MessageText, id); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for READY: %v", err)
		}
		var p struct {
			T string `json:"t"`
		}
		if json.Unmarshal(b, &p) == nil && p.T == "READY" {
			return c
		}
	}
}

// TestBridgeTyping: alice typing on Discord is her puppet typing on
// Hearth, and bob typing on Hearth is the bot typing on Discord; neither
// comes back.
func TestBridgeTyping(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 0)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		// alice's puppet exists once she has written.
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/messages", e.d.alice,
			map[string]any{"content": "about to type"}), http.StatusOK)
		puppet := find(t, waitContents(t, "alice's message on Hearth", e.h, e.bob, e.mirror, has("about to type")),
			"about to type")["author"].(map[string]any)["id"].(string)
		bobID := st.OK(t, e.h.Do(t, "GET", "/api/v10/users/@me", e.bob, nil), http.StatusOK)["id"].(string)
		aliceID := st.OK(t, e.d.Do(t, "GET", "/api/v10/users/@me", e.d.alice, nil), http.StatusOK)["id"].(string)
		bobGW := gateway(ctx, t, e.h, e.bob)
		aliceGW := gateway(ctx, t, e.d.Server, e.d.alice)

		st.Expect(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/typing", e.d.alice, nil), http.StatusNoContent, nil)
		if who := typingOf(ctx, t, bobGW, e.mirror, bobID); who != puppet {
			t.Fatalf("bob saw %s typing, want alice's puppet %s", who, puppet)
		}
		botID := st.OK(t, e.d.Do(t, "GET", "/api/v10/users/@me", "Bot "+e.d.botToken, nil), http.StatusOK)["id"].(string)
		st.Expect(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/typing", e.bob, nil), http.StatusNoContent, nil)
		if who := typingOf(ctx, t, aliceGW, e.d.general, aliceID); who != botID {
			t.Fatalf("alice saw %s typing, want the bot %s", who, botID)
		}
		// The bot's typing did not come back to Hearth as anyone's: the
		// next typing bob sees is alice's again.
		st.Expect(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/typing", e.d.alice, nil), http.StatusNoContent, nil)
		if who := typingOf(ctx, t, bobGW, e.mirror, bobID); who != puppet {
			t.Fatalf("bob then saw %s typing, want alice's puppet %s", who, puppet)
		}
	})
}
