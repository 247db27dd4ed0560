package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"hearth/homeserver/permission"
	st "hearth/server/servertest"
)

// TestBridgeAuthority: Discord decides what Hearth people see and do in
// the mirror. "Discord" is a members-only guild: @everyone may view
// nothing, and the bridge runs with --hearth-role Hearth (by name, or by ID
// in HEARTH_BRIDGE_HEARTH_ROLE), a role that may
// send but view only where an overwrite lets it (#general, and #rules,
// where it may not send). So bob, on his own homeserver, sees #general
// and #rules only (#staff and #later are never mirrored); is refused
// 403/50013 sending in #rules; sees #later appear when Discord opens it
// to the role and disappear when it closes it again, and #staff appear
// and disappear as @everyone's guild-wide View Channel comes and goes
// (a role change re-evaluates mirrored channels); is refused in #general
// once Discord denies the role sending there, while alice's messages
// still come. A change the bridge keeps
// for Discord (a new channel) is refused to him with the bridge's own
// message, through his server's forwarding.
func TestBridgeAuthority(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		var role, later string
		view := fmt.Sprint(int64(permission.ViewChannel))
		send := fmt.Sprint(int64(permission.SendMessages))
		// The role by name in a flag on SQLite, by ID in the environment
		// on PostgreSQL.
		var flags []string
		env := map[string]string{}
		if backend == st.SQLite {
			flags = []string{"--hearth-role", "hearth"}
		}
		e := linkedWith(t, backend, 0, flags, env, func(d *discordSide) {
			role = st.OK(t, d.Do(t, "POST", "/api/v10/guilds/"+d.guild+"/roles", d.alice, map[string]any{"name": "Hearth",
				"permissions": fmt.Sprint(int64(permission.SendMessages | permission.ReadMessageHistory | permission.AddReactions))}), http.StatusOK)["id"].(string)
			st.OK(t, d.Do(t, "PATCH", "/api/v10/guilds/"+d.guild+"/roles/"+d.guild, d.alice, map[string]any{"permissions": "0"}), http.StatusOK)
			st.OK(t, d.Do(t, "PUT", "/api/v10/channels/"+d.general+"/permissions/"+role, d.alice,
				map[string]any{"type": 0, "allow": view, "deny": "0"}), http.StatusNoContent)
			mk := func(name string, over ...map[string]any) string {
				return st.OK(t, d.Do(t, "POST", "/api/v10/guilds/"+d.guild+"/channels", d.alice,
					map[string]any{"name": name, "type": 0, "permission_overwrites": over}), http.StatusCreated)["id"].(string)
			}
			if backend != st.SQLite {
				env["HEARTH_BRIDGE_HEARTH_ROLE"] = role
			}
			mk("staff")
			later = mk("later")
			mk("rules", map[string]any{"id": role, "type": 0, "allow": view, "deny": send})
		})
		d := e.d
		mirrorRules := channelNamed(t, e, "rules")
		if mirrorRules == "" {
			t.Fatal("#rules, which the Hearth role may view, is not in the mirror")
		}
		for _, name := range []string{"staff", "later"} {
			if channelNamed(t, e, name) != "" {
				t.Fatalf("#%s, hidden from the Hearth role, reached bob's server", name)
			}
		}

		// Discord denies the role sending in #rules: so does the mirror.
		refused := func(what, channel string) {
			t.Helper()
			st.Expect(t, e.h.Do(t, "POST", "/api/v10/channels/"+channel+"/messages", e.bob, map[string]any{"content": "may I?"}),
				http.StatusForbidden, st.Code(50013))
		}
		refused("bob sending in #rules", mirrorRules)
		st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob, map[string]any{"content": "hello from bob"}), http.StatusOK)
		waitContents(t, "bob's message on Discord", d.Server, d.alice, d.general, has("hello from bob"))

		appears := func(what, name string, want bool) {
			t.Helper()
			st.WaitFor(t, what, wait, func() string {
				if got := channelNamed(t, e, name) != ""; got != want {
					return fmt.Sprintf("#%s on bob's server: %v", name, got)
				}
				return ""
			})
		}
		// An overwrite opening #later to the role mirrors it, with what
		// alice writes there; closing it takes it away.
		st.OK(t, d.Do(t, "PUT", "/api/v10/channels/"+later+"/permissions/"+role, d.alice,
			map[string]any{"type": 0, "allow": view, "deny": "0"}), http.StatusNoContent)
		appears("#later opened to the Hearth role", "later", true)
		st.OK(t, d.Do(t, "POST", "/api/v10/channels/"+later+"/messages", d.alice, map[string]any{"content": "now you see me"}), http.StatusOK)
		waitContents(t, "alice's message in #later on bob's server", e.h, e.bob, channelNamed(t, e, "later"), has("now you see me"))
		st.OK(t, d.Do(t, "PUT", "/api/v10/channels/"+later+"/permissions/"+role, d.alice,
			map[string]any{"type": 0, "allow": "0", "deny": view}), http.StatusNoContent)
		appears("#later closed to the Hearth role", "later", false)

		// @everyone's guild-wide View Channel shows #staff; taken back,
		// #staff goes, and #general stays (its overwrite lets the role in).
		st.OK(t, d.Do(t, "PATCH", "/api/v10/guilds/"+d.guild+"/roles/"+d.guild, d.alice, map[string]any{"permissions": view}), http.StatusOK)
		appears("#staff shown by @everyone's View Channel", "staff", true)
		st.OK(t, d.Do(t, "PATCH", "/api/v10/guilds/"+d.guild+"/roles/"+d.guild, d.alice, map[string]any{"permissions": "0"}), http.StatusOK)
		appears("#staff hidden again", "staff", false)
		if got := channelNamed(t, e, "general"); got != e.mirror {
			t.Fatalf("#general is %q on bob's server, want %s: it left the mirror with @everyone's View Channel", got, e.mirror)
		}

		// Denying the role sending in #general refuses bob there too.
		st.OK(t, d.Do(t, "PUT", "/api/v10/channels/"+d.general+"/permissions/"+role, d.alice,
			map[string]any{"type": 0, "allow": view, "deny": send}), http.StatusNoContent)
		st.WaitFor(t, "bob refused in #general", wait, func() string {
			res := e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/messages", e.bob, map[string]any{"content": "still here?"})
			if res.Status == http.StatusForbidden && strings.Contains(string(res.Body), `"code":50013`) {
				return ""
			}
			return fmt.Sprintf("%d %s", res.Status, res.Body)
		})

		// What Discord lets alice write still comes: puppets are not held
		// to what Hearth people may do.
		st.OK(t, d.Do(t, "POST", "/api/v10/channels/"+d.general+"/messages", d.alice, map[string]any{"content": "alice may"}), http.StatusOK)
		waitContents(t, "alice's message in #general after the role lost sending", e.h, e.bob, e.mirror, has("alice may"))

		// The bridge's refusal of a change Discord keeps reaches bob with
		// its message through his server's forwarding.
		res := e.h.Do(t, "POST", "/api/v10/guilds/"+mirrorGuild(t, e)+"/channels", e.bob, map[string]any{"name": "mine", "type": 0})
		st.Expect(t, res, http.StatusForbidden, st.Code(50013))
		if msg, _ := res.JSON(t)["message"].(string); !strings.Contains(msg, "Discord") {
			t.Fatalf("bob making a channel in the mirror is refused with %q, want the bridge's word that Discord decides", msg)
		}
	})
}
