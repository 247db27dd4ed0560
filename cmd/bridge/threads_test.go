package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"hearth/homeserver/permission"
	st "hearth/server/servertest"
)

// threadsNamed counts the threads of that name tok's holder sees in a
// guild (active, or archived under parent).
func threadsNamed(t *testing.T, s *st.Server, tok, guild, parent, name string) int {
	t.Helper()
	n := 0
	active := st.OK(t, s.Do(t, "GET", "/api/v10/guilds/"+guild+"/threads/active", tok, nil), http.StatusOK)
	archived := st.OK(t, s.Do(t, "GET", "/api/v10/channels/"+parent+"/threads/archived/public", tok, nil), http.StatusOK)
	for _, list := range []map[string]any{active, archived} {
		ts, _ := list["threads"].([]any)
		for _, th := range ts {
			if th.(map[string]any)["name"] == name {
				n++
			}
		}
	}
	return n
}

// waitFailpoint waits until the bridge process logged that it reached
// the named pause point.
func waitFailpoint(t *testing.T, proc *binProc, point string) {
	t.Helper()
	st.WaitFor(t, "the bridge at "+point, wait, func() string {
		if strings.Contains(proc.stderr.String(), "failpoint="+point) {
			return ""
		}
		return "not yet"
	})
}

// startPaused stops the world's bridge and runs the built binary in its
// place, set to pause at point; it waits until the process is ready.
func startPaused(t *testing.T, e world, point string) *binProc {
	t.Helper()
	e.br.stop()
	proc := startBinary(t, e.flags, e.d, "HEARTH_BRIDGE_FAILPOINT=pause:"+point)
	st.WaitFor(t, "the bridge process ready", wait, func() string {
		res, err := http.Get(e.br.url + "/readyz")
		if err != nil {
			return err.Error()
		}
		res.Body.Close()
		return map[bool]string{true: "", false: res.Status}[res.StatusCode == http.StatusOK]
	})
	return proc
}

// TestBridgeThreadSIGKILL kills the bridge with SIGKILL while a thread
// crosses, after one side made it and before its mapping was saved: a
// Hearth person's thread started on Discord by the relay
// (relay-after-thread), and a Discord thread not started from a message
// imported into the mirror (import-thread-after-start). Restarted, the
// bridge makes no second thread on either side, and messages cross in
// the one thread (on Discord, those alice wrote in hers while the bridge
// was down).
func TestBridgeThreadSIGKILL(t *testing.T) {
	bridgeBinary(t) // built before the clocks of the waits start
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		t.Run("relay-after-thread", func(t *testing.T) {
			e := linked(t, backend, 0)
			proc := startPaused(t, e, "relay-after-thread")
			hThread := st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/threads", e.bob,
				map[string]any{"name": "bob's crash thread", "type": 11}), http.StatusCreated)["id"].(string)
			waitFailpoint(t, proc, "relay-after-thread")
			proc.kill(t)
			startBridge(t, e.flags, e.d)
			st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+hThread+"/messages", e.bob,
				map[string]any{"content": "after the crash"}), http.StatusOK)
			dThread := waitThread(t, "bob's thread on Discord", e.d.Server, e.d.alice, e.d.guild, e.d.general, "bob's crash thread")
			waitContents(t, "bob's message in the thread on Discord", e.d.Server, e.d.alice, dThread, has("after the crash"))
			if n := threadsNamed(t, e.d.Server, e.d.alice, e.d.guild, e.d.general, "bob's crash thread"); n != 1 {
				t.Fatalf("bob's thread is %d times on Discord", n)
			}
		})
		t.Run("import-thread-after-start", func(t *testing.T) {
			e := linked(t, backend, 0)
			hg := mirrorGuild(t, e)
			proc := startPaused(t, e, "import-thread-after-start")
			dThread := st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/threads", e.d.alice,
				map[string]any{"name": "alice's crash thread", "type": 11}), http.StatusCreated)["id"].(string)
			waitFailpoint(t, proc, "import-thread-after-start")
			proc.kill(t)
			st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+dThread+"/messages", e.d.alice,
				map[string]any{"content": "while the bridge was down"}), http.StatusOK)
			startBridge(t, e.flags, e.d)
			hThread := waitThread(t, "alice's thread on Hearth", e.h, e.bob, hg, e.mirror, "alice's crash thread")
			waitContents(t, "the missed message in the thread on Hearth", e.h, e.bob, hThread, has("while the bridge was down"))
			st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+dThread+"/messages", e.d.alice,
				map[string]any{"content": "after the restart"}), http.StatusOK)
			waitContents(t, "a live message in the thread on Hearth", e.h, e.bob, hThread, has("after the restart"))
			if n := threadsNamed(t, e.h, e.bob, hg, e.mirror, "alice's crash thread"); n != 1 {
				t.Fatalf("alice's thread is %d times on Hearth", n)
			}
		})
	})
}

// grantBot gives the bridge's bot a role on Discord with perms, made by
// alice, the guild's owner.
func grantBot(t *testing.T, d discordSide, perms permission.Set) {
	t.Helper()
	bot := st.OK(t, d.Do(t, "GET", "/api/v10/users/@me", "Bot "+d.botToken, nil), http.StatusOK)["id"].(string)
	role := st.OK(t, d.Do(t, "POST", "/api/v10/guilds/"+d.guild+"/roles", d.alice,
		map[string]any{"name": "bridge extras", "permissions": fmt.Sprint(uint64(perms))}), http.StatusOK)["id"].(string)
	st.Expect(t, d.Do(t, "PUT", "/api/v10/guilds/"+d.guild+"/members/"+bot+"/roles/"+role, d.alice, nil), http.StatusNoContent, nil)
}

// TestBridgeThreadDeletes: a thread deleted on one side is deleted on
// the other, both ways: bob (MANAGE_THREADS in the mirror) deletes his
// thread on Hearth and the bot deletes it on Discord; alice deletes hers
// on Discord and it goes from the mirror.
func TestBridgeThreadDeletes(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 0)
		grantBot(t, e.d, permission.ManageThreads)
		grantBob(t, &e, permission.ManageThreads)
		hg := mirrorGuild(t, e)

		hThread := st.OK(t, e.h.Do(t, "POST", "/api/v10/channels/"+e.mirror+"/threads", e.bob,
			map[string]any{"name": "bob's doomed thread", "type": 11}), http.StatusCreated)["id"].(string)
		waitThread(t, "bob's thread on Discord", e.d.Server, e.d.alice, e.d.guild, e.d.general, "bob's doomed thread")
		st.OK(t, e.h.Do(t, "DELETE", "/api/v10/channels/"+hThread, e.bob, nil), http.StatusOK)
		st.WaitFor(t, "bob's thread gone from Discord", wait, func() string {
			if n := threadsNamed(t, e.d.Server, e.d.alice, e.d.guild, e.d.general, "bob's doomed thread"); n != 0 {
				return fmt.Sprintf("%d left", n)
			}
			return ""
		})

		dThread := st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/threads", e.d.alice,
			map[string]any{"name": "alice's doomed thread", "type": 11}), http.StatusCreated)["id"].(string)
		waitThread(t, "alice's thread on Hearth", e.h, e.bob, hg, e.mirror, "alice's doomed thread")
		st.OK(t, e.d.Do(t, "DELETE", "/api/v10/channels/"+dThread, e.d.alice, nil), http.StatusOK)
		st.WaitFor(t, "alice's thread gone from Hearth", wait, func() string {
			if n := threadsNamed(t, e.h, e.bob, hg, e.mirror, "alice's doomed thread"); n != 0 {
				return fmt.Sprintf("%d left", n)
			}
			return ""
		})
		if got := metric(t, e.br, `hearth_bridge_relay_total{outcome="failed",type="THREAD_DELETE"}`); got != "" && got != "0" {
			t.Fatalf("failed thread deletes relayed: %s", got)
		}
	})
}

// TestBridgeCatchUpThreads: while the bridge is down, alice writes in a
// mirrored thread and starts a new thread with a message in it. On start
// the catch-up brings both threads' messages, and the new thread, to the
// mirror.
func TestBridgeCatchUpThreads(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		e := linked(t, backend, 0)
		hg := mirrorGuild(t, e)
		known := st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/threads", e.d.alice,
			map[string]any{"name": "known thread", "type": 11}), http.StatusCreated)["id"].(string)
		hKnown := waitThread(t, "the known thread on Hearth", e.h, e.bob, hg, e.mirror, "known thread")

		e.br.stop()
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+known+"/messages", e.d.alice,
			map[string]any{"content": "missed in the known thread"}), http.StatusOK)
		fresh := st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+e.d.general+"/threads", e.d.alice,
			map[string]any{"name": "thread made while away", "type": 11}), http.StatusCreated)["id"].(string)
		st.OK(t, e.d.Do(t, "POST", "/api/v10/channels/"+fresh+"/messages", e.d.alice,
			map[string]any{"content": "missed in the new thread"}), http.StatusOK)

		e.br = startBridge(t, e.flags, e.d)
		waitContents(t, "the known thread's missed message", e.h, e.bob, hKnown, has("missed in the known thread"))
		hFresh := waitThread(t, "the new thread on Hearth", e.h, e.bob, hg, e.mirror, "thread made while away")
		onHearth := waitContents(t, "the new thread's missed message", e.h, e.bob, hFresh, has("missed in the new thread"))
		if n := count(onHearth, "missed in the new thread"); n != 1 {
			t.Fatalf("the new thread's message is %d times on Hearth", n)
		}
	})
}
