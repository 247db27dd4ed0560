package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	st "hearth/server/servertest"
)

// TestRestoredServerCatchesUpFromPeers: B, a member server of a guild on
// A, is restored from a backup older than the messages A sent it since
// (A's delivery cursor for B is past what the restored B holds). Started
// on its old address, B asks A for what follows its own position
// (spec/federation.md §9.4) and has every message; its gateway then
// carries on live, and its user's sends still reach A.
func TestRestoredServerCatchesUpFromPeers(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		needDumpTools(t, backend)
		a := st.Start(t, st.Options{})
		bDir := t.TempDir()
		b := st.Start(t, st.Options{Backend: backend, DataDir: bDir})

		annTok := a.Register(t, "ann", "correct horse")
		_, general, code := a.Guild(t, annTok, "Restored")
		bobTok := b.Register(t, "bob", "correct horse")
		inv := mustCall(t, "POST", b.URL()+"/api/v10/invites/"+code+"@"+a.ServerName(), bobTok, nil, 200)
		bGeneral := textChannel(t, b.URL(), bobTok, inv["guild"].(map[string]any)["id"].(string))

		var sent []string
		// said is what people wrote in a channel (join notices left out).
		said := func(base, tok, channel string) ([]string, error) {
			got, err := contents(t, base, tok, channel)
			return slices.DeleteFunc(got, func(c string) bool { return c == "" }), err
		}
		send := func(content string) {
			t.Helper()
			mustCall(t, "POST", a.URL()+"/api/v10/channels/"+general+"/messages", annTok, map[string]any{"content": content}, 200)
			sent = append(sent, content)
		}
		// waitOnB waits until B's replica has exactly what A sent.
		waitOnB := func(base, what string) {
			t.Helper()
			st.WaitFor(t, what, 60*time.Second, func() string {
				got, err := said(base, bobTok, bGeneral)
				if err != nil || !slices.Equal(got, sent) {
					return fmt.Sprintf("B has %q (%v), A sent %q", got, err, sent)
				}
				return ""
			})
		}
		for i := range 3 {
			send(fmt.Sprintf("before the backup %d", i))
		}
		waitOnB(b.URL(), "B's replica has the messages sent before the backup")

		backupDir := filepath.Join(t.TempDir(), "backup")
		backUp(t, b, bDir, backupDir)
		// A delivers these to B, and its cursor for B moves past what
		// the backup holds.
		for i := range 5 {
			send(fmt.Sprintf("after the backup %d", i))
		}
		waitOnB(b.URL(), "B's replica has the messages sent after the backup")
		b.Stop()

		r := restoreAs(t, b, backupDir)
		waitOnB(r.URL(), "the restored B catches up with what A sent after the backup")

		// Its gateway carries on: a message sent on A now reaches bob's
		// session on the restored B.
		gw := dialGateway(t, r.URL())
		gw.send(t, 2, map[string]any{"token": bobTok, "intents": 1<<0 | 1<<9 | 1<<15, "properties": map[string]string{}})
		st.WaitFor(t, "READY on the restored B", 30*time.Second, func() string {
			frames, _, err := gw.snapshot()
			for _, f := range frames {
				if f.T == "READY" {
					return ""
				}
			}
			return fmt.Sprintf("%d frames, %v", len(frames), err)
		})
		send("after the restore")
		st.WaitFor(t, "the new message on the restored B's gateway", 60*time.Second, func() string {
			frames, _, err := gw.snapshot()
			for _, f := range frames {
				if f.T == "MESSAGE_CREATE" && contentOf(f) == "after the restore" {
					return ""
				}
			}
			onB, _ := said(r.URL(), bobTok, bGeneral)
			var ts []string
			for _, f := range frames {
				ts = append(ts, f.T)
			}
			return fmt.Sprintf("frames %v, %v; B's replica has %q", ts, err, onB)
		})
		// And bob's own sends from the restored B reach A.
		mustCall(t, "POST", r.URL()+"/api/v10/channels/"+bGeneral+"/messages", bobTok, map[string]any{"content": "bob is back"}, 200)
		sent = append(sent, "bob is back")
		st.WaitFor(t, "bob's message on A", 60*time.Second, func() string {
			got, err := said(a.URL(), annTok, general)
			if err != nil || !slices.Equal(got, sent) {
				return fmt.Sprintf("A has %q (%v)", strings.Join(got, " | "), err)
			}
			return ""
		})
		waitOnB(r.URL(), "the restored B has bob's message once, in A's order")
	})
}

// TestRestoredOriginReachesPeersAgain: B, the origin of a guild with a
// member on A, is restored from a backup older than messages A received
// from it. The messages logged after the backup are lost with B (A keeps
// its copies), but what B's people send after the restore reaches A: the
// restore moves B's logs past the numbers A has seen, so A does not take
// the new events for ones it applied (server.RestoreSeqSkip). A is down
// while B is restored: B's lag gauge for A counts the events A is behind,
// not the numbers the restore skipped.
func TestRestoredOriginReachesPeersAgain(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		needDumpTools(t, backend)
		aDir := t.TempDir()
		a := st.Start(t, st.Options{DataDir: aDir})
		bDir := t.TempDir()
		b := st.Start(t, st.Options{Backend: backend, DataDir: bDir})
		bobTok := b.Register(t, "bob", "correct horse")
		_, general, code := b.Guild(t, bobTok, "Own")
		annTok := a.Register(t, "ann", "correct horse")
		inv := mustCall(t, "POST", a.URL()+"/api/v10/invites/"+code+"@"+b.ServerName(), annTok, nil, 200)
		aGeneral := textChannel(t, a.URL(), annTok, inv["guild"].(map[string]any)["id"].(string))
		send := func(base, content string) {
			t.Helper()
			mustCall(t, "POST", base+"/api/v10/channels/"+general+"/messages", bobTok, map[string]any{"content": content}, 200)
		}
		waitOnA := func(what string, want []string) {
			t.Helper()
			st.WaitFor(t, what, 60*time.Second, func() string {
				got, err := contents(t, a.URL(), annTok, aGeneral)
				got = slices.DeleteFunc(got, func(c string) bool { return c == "" })
				if err != nil || !slices.Equal(got, want) {
					return fmt.Sprintf("A has %q (%v), want %q", got, err, want)
				}
				return ""
			})
		}
		send(b.URL(), "before the backup")
		waitOnA("A has the message sent before the backup", []string{"before the backup"})
		backupDir := filepath.Join(t.TempDir(), "backup")
		backUp(t, b, bDir, backupDir)
		lost := []string{"after the backup 0", "after the backup 1", "after the backup 2"}
		for _, c := range lost {
			send(b.URL(), c)
		}
		waitOnA("A has the messages B will lose", append([]string{"before the backup"}, lost...))
		b.Stop()
		a.Stop()

		r := restoreAs(t, b, backupDir)
		// Fewer new messages than were lost: without the skip, every one
		// of them would be numbered as one A has applied.
		kept := []string{"after the restore 0", "after the restore 1"}
		for _, c := range kept {
			send(r.URL(), c)
		}
		// Two events behind (the messages), and maybe their side events;
		// before the lag counted from the first event, it read 2^32 and
		// more, the skip included.
		lag := `hearth_federation_delivery_lag_events{peer="` + a.ServerName() + `"}`
		st.WaitFor(t, "B's delivery to A fails and its lag is told", 60*time.Second, func() string {
			if v := r.Metric(t, lag); v < float64(len(kept)) {
				return fmt.Sprintf("%s = %v", lag, v)
			}
			return ""
		})
		if v := r.Metric(t, lag); v > 10 {
			t.Fatalf("%s = %v after %d messages", lag, v, len(kept))
		}
		a = st.Start(t, st.Options{DataDir: aDir, Listen: a.Addr(), ServerName: a.ServerName()})
		waitOnA("A has what B sent after the restore", append(append([]string{"before the backup"}, lost...), kept...))
	})
}

// backUp takes a backup of server b, whose data dir is dir, into to.
func backUp(t *testing.T, b *st.Server, dir, to string) {
	t.Helper()
	args := []string{"backup", "--data", dir, "--to", to}
	if b.Options.Backend == st.Postgres {
		args = append(args, "--database", b.Options.Database)
	}
	if out, err := runTool(t, args...); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
}

// restoreAs restores backupDir into a fresh data dir (and database), and
// starts it as b was: same server name and address, where peers find it.
func restoreAs(t *testing.T, b *st.Server, backupDir string) *st.Server {
	t.Helper()
	target := filepath.Join(t.TempDir(), "restored")
	args := []string{"restore", "--data", target, "--from", backupDir}
	var restoredDB string
	if b.Options.Backend == st.Postgres {
		restoredDB = emptyDatabase(t, b.Options.Database)
		args = append(args, "--database", restoredDB)
	}
	if out, err := runTool(t, args...); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	return st.Start(t, st.Options{Backend: b.Options.Backend, DataDir: target, Database: restoredDB,
		ServerName: b.ServerName(), Listen: b.Addr()})
}
