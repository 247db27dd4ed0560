package clientapi_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"hearth/homeserver/permission"
	st "hearth/server/servertest"
)

func TestThreads(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, alice, bob := s.Register(t, "owner", "correct horse"), s.Register(t, "alice", "correct horse"), s.Register(t, "bob", "correct horse")
		g := newGuild(t, s, owner, "Threads")
		invite(t, s, owner, g.general, alice, bob)
		aliceID, bobID := userID(t, s, alice), userID(t, s, bob)

		// From a message: the thread takes the message's ID.
		m := send(t, s, alice, g.general, map[string]any{"content": "let's discuss"})
		th := ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/messages/"+m["id"].(string)+"/threads", alice, map[string]any{"name": "Discussion", "auto_archive_duration": 60}), 201)
		tid := th["id"].(string)
		meta := th["thread_metadata"].(map[string]any)
		if tid != m["id"] || th["type"] != float64(11) || th["parent_id"] != g.general || th["owner_id"] != aliceID ||
			meta["archived"] != false || meta["auto_archive_duration"] != float64(60) || th["member_count"] != float64(1) {
			t.Fatalf("thread = %v", th)
		}
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/messages/"+m["id"].(string)+"/threads", bob, map[string]any{"name": "again"}), 400, st.Code(160004))
		// Send in it like a channel; history is its own.
		send(t, s, bob, tid, map[string]any{"content": "in the thread"})
		if h := list(t, s.Do(t, "GET", "/api/v10/channels/"+tid+"/messages", owner, nil)); len(h) != 1 {
			t.Fatalf("thread history = %v", h)
		}
		// Threads are not guild channels; they are listed as active threads.
		for _, c := range list(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/channels", owner, nil)) {
			if c["id"] == tid {
				t.Fatal("thread listed among guild channels")
			}
		}
		active := ok(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/threads/active", alice, nil), 200)
		if ts := active["threads"].([]any); len(ts) != 1 || len(active["members"].([]any)) != 1 {
			t.Fatalf("active = %v", active)
		}
		// Members: join, add, list, leave; removing others needs MANAGE_THREADS.
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+tid+"/thread-members/@me", bob, nil), 204)
		if ms := list(t, s.Do(t, "GET", "/api/v10/channels/"+tid+"/thread-members", owner, nil)); len(ms) != 2 {
			t.Fatalf("thread members = %v", ms)
		}
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/channels/"+tid+"/thread-members/"+aliceID, bob, nil), 403, st.Code(50013))
		ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+tid+"/thread-members/@me", bob, nil), 204)
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+tid+"/thread-members/"+bobID, alice, nil), 204)

		// Archive: listed as archived, not active.
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/channels/"+tid, bob, map[string]any{"archived": true}), 403, st.Code(50013))
		arch := ok(t, s.Do(t, "PATCH", "/api/v10/channels/"+tid, alice, map[string]any{"archived": true, "name": "Done"}), 200)
		if arch["thread_metadata"].(map[string]any)["archived"] != true || arch["name"] != "Done" {
			t.Fatalf("archived = %v", arch)
		}
		pub := ok(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/threads/archived/public", bob, nil), 200)
		if ts := pub["threads"].([]any); len(ts) != 1 || pub["has_more"] != false {
			t.Fatalf("archived = %v", pub)
		}
		if ts := ok(t, s.Do(t, "GET", "/api/v10/guilds/"+g.id+"/threads/active", alice, nil), 200)["threads"].([]any); len(ts) != 0 {
			t.Fatalf("archived thread still active: %v", ts)
		}
		// Locked by a moderator: neither the owner nor a message reopens it.
		ok(t, s.Do(t, "PATCH", "/api/v10/channels/"+tid, owner, map[string]any{"locked": true}), 200)
		st.Expect(t, s.Do(t, "PATCH", "/api/v10/channels/"+tid, alice, map[string]any{"archived": false}), 403, st.Code(160005))
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+tid+"/messages", bob, map[string]any{"content": "late"}), 403, st.Code(50013))
		// Unlocked but still archived: a message reopens it, as on Discord.
		ok(t, s.Do(t, "PATCH", "/api/v10/channels/"+tid, owner, map[string]any{"locked": false}), 200)
		for _, r := range []st.Response{
			s.Do(t, "POST", "/api/v10/channels/"+tid+"/messages", bob, map[string]any{"content": " "}),
			s.Do(t, "POST", "/api/v10/channels/"+tid+"/messages", bob, map[string]any{"content": "re", "message_reference": map[string]any{"message_id": "1"}}),
			s.SendFiles(t, bob, tid, `{"content": `, map[string][]byte{"a.txt": []byte("a")}),
		} {
			if r.Status != 400 {
				t.Fatalf("a bad send answered %d %s", r.Status, r.Body)
			}
			if th := ok(t, s.Do(t, "GET", "/api/v10/channels/"+tid, bob, nil), 200); th["thread_metadata"].(map[string]any)["archived"] != true {
				t.Fatalf("a rejected send (%s) reopened the thread", r.Body)
			}
		}
		send(t, s, bob, tid, map[string]any{"content": "open again"})
		if th := ok(t, s.Do(t, "GET", "/api/v10/channels/"+tid, bob, nil), 200); th["thread_metadata"].(map[string]any)["archived"] != false {
			t.Fatalf("after a message in an archived thread: %v", th["thread_metadata"])
		}

		// A private thread: invisible to non-members, visible to MANAGE_THREADS.
		priv := ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/threads", alice, map[string]any{"name": "secret", "type": 12, "invitable": false}), 201)
		pid := priv["id"].(string)
		st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+pid, bob, nil), 403, st.Code(50001))
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+pid+"/messages", bob, map[string]any{"content": "hi"}), 403, st.Code(50001))
		ok(t, s.Do(t, "GET", "/api/v10/channels/"+pid, owner, nil), 200)
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+pid+"/thread-members/"+bobID, alice, nil), 204)
		send(t, s, bob, pid, map[string]any{"content": "now I'm in"})
		st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/threads/archived/private", bob, nil), 403, st.Code(50013))

		// SEND_MESSAGES_IN_THREADS governs threads, not SEND_MESSAGES.
		ok(t, s.Do(t, "PUT", "/api/v10/channels/"+g.general+"/permissions/"+bobID, owner,
			map[string]any{"type": 1, "deny": perms(permission.SendMessagesInThreads)}), 204)
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+tid+"/messages", bob, map[string]any{"content": "x"}), 403, st.Code(50013))
		send(t, s, bob, g.general, map[string]any{"content": "still fine in the channel"})
		// Bad input; threads take no invites and no overwrites of their own.
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+pid+"/invites", alice, map[string]any{}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "PUT", "/api/v10/channels/"+tid+"/permissions/"+g.id, owner, map[string]any{"type": 0, "deny": "1024"}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/threads", alice, map[string]any{"name": "x", "auto_archive_duration": 5}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+g.category+"/threads", alice, map[string]any{"name": "x"}), 400, st.Code(50035))
		st.Expect(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/threads", alice, map[string]any{"name": ""}), 400, st.Code(50035))
		// Deleting: MANAGE_THREADS.
		st.Expect(t, s.Do(t, "DELETE", "/api/v10/channels/"+tid, alice, nil), 403, st.Code(50013))
		ok(t, s.Do(t, "DELETE", "/api/v10/channels/"+tid, owner, nil), 200)
		st.Expect(t, s.Do(t, "GET", "/api/v10/channels/"+tid, owner, nil), 404, st.Code(10003))
	})
}

func TestBanDeletesRecentMessages(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		owner, spammer := s.Register(t, "owner", "correct horse"), s.Register(t, "spammer", "correct horse")
		g := newGuild(t, s, owner, "Clean")
		invite(t, s, owner, g.general, spammer)
		keep := send(t, s, owner, g.general, map[string]any{"content": "legit"})
		var spam []string
		for i := range 3 {
			spam = append(spam, send(t, s, spammer, g.general, map[string]any{"content": "buy now " + string(rune('a'+i))})["id"].(string))
		}
		ok(t, s.Do(t, "PUT", "/api/v10/guilds/"+g.id+"/bans/"+userID(t, s, spammer), owner, map[string]any{"delete_message_seconds": 3600}), 204)
		h := list(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages", owner, nil))
		if len(h) != 1 || h[0]["id"] != keep["id"] {
			t.Fatalf("after ban: %v", h)
		}
		if rev := list(t, s.Do(t, "GET", "/api/v10/channels/"+g.general+"/messages/"+spam[0]+"/history", owner, nil)); len(rev) != 1 || rev[0]["deleted"] != true {
			t.Fatalf("deleted spam not kept in history: %v", rev)
		}
	})
}

// TestThreadsArchiveWhenIdleAndSendersJoin: a thread quiet for longer than
// its auto-archive duration is archived by the maintenance pass; writing in
// a thread makes the writer a member.
func TestThreadsArchiveWhenIdleAndSendersJoin(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := st.Start(t, st.Options{Now: clock})
	owner, bob := s.Register(t, "owner", "correct horse"), s.Register(t, "bob", "correct horse")
	g := newGuild(t, s, owner, "Quiet threads")
	invite(t, s, owner, g.general, bob)
	th := ok(t, s.Do(t, "POST", "/api/v10/channels/"+g.general+"/threads", owner, map[string]any{"name": "short", "type": 11, "auto_archive_duration": 60}), 201)
	tid := th["id"].(string)
	send(t, s, bob, tid, map[string]any{"content": "I'm in"})
	if ms := list(t, s.Do(t, "GET", "/api/v10/channels/"+tid+"/thread-members", owner, nil)); len(ms) != 2 {
		t.Fatalf("thread members after bob wrote = %v", ms)
	}
	n, err := s.Homeserver().ArchiveIdleThreads(context.Background())
	if err != nil || n != 0 {
		t.Fatalf("archived %d fresh threads, %v", n, err)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if n, err := s.Homeserver().ArchiveIdleThreads(context.Background()); err != nil || n != 1 {
		t.Fatalf("archived %d idle threads, %v", n, err)
	}
	got := ok(t, s.Do(t, "GET", "/api/v10/channels/"+tid, owner, nil), 200)
	if got["thread_metadata"].(map[string]any)["archived"] != true {
		t.Fatalf("thread = %v", got)
	}
}
