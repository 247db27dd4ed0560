package gateway_test

import (
	"encoding/json"
	"testing"
	"time"

	st "hearth/server/servertest"
)

const presenceIntents = 1<<0 | 1<<8

// presenceOf waits for a PRESENCE_UPDATE and returns its status.
func presenceOf(t *testing.T, c *client) string {
	t.Helper()
	p := c.until("PRESENCE_UPDATE")
	var d struct {
		Status     string `json:"status"`
		Activities []struct {
			State string `json:"state"`
		} `json:"activities"`
	}
	json.Unmarshal(p.D, &d)
	if len(d.Activities) > 0 {
		return d.Status + ":" + d.Activities[0].State
	}
	return d.Status
}

func TestPresence(t *testing.T) {
	s := st.Start(t, st.Options{})
	alice, bob := s.Register(t, "alice", "correct horse"), s.Register(t, "bob", "correct horse")
	_, general := newGuild(t, s, alice, "Here")
	inv := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", alice, map[string]any{})["code"].(string)
	do(t, s, "POST", "/api/v10/invites/"+inv, bob, nil)

	watcher := dial(t, s, "")
	identify(watcher, bob, presenceIntents)
	watcher.until("GUILD_CREATE")

	phone := dial(t, s, "")
	identify(phone, alice, 1)
	if got := presenceOf(t, watcher); got != "online" {
		t.Fatalf("alice connected: %s", got)
	}
	phone.send(3, map[string]any{"status": "dnd", "since": nil, "afk": false,
		"activities": []map[string]any{{"name": "Custom Status", "type": 4, "state": "in a meeting"}}})
	if got := presenceOf(t, watcher); got != "dnd:in a meeting" {
		t.Fatalf("after dnd: %s", got)
	}
	// A second device online: the most present status wins.
	laptop := dial(t, s, "")
	identify(laptop, alice, 1)
	if got := presenceOf(t, watcher); got != "online" {
		t.Fatalf("second device: %s", got)
	}
	laptop.ws.CloseNow()
	if got := presenceOf(t, watcher); got != "dnd:in a meeting" {
		t.Fatalf("second device gone: %s", got)
	}
	// Invisible looks offline to others.
	phone.send(3, map[string]any{"status": "invisible", "activities": []any{}, "afk": false, "since": nil})
	if got := presenceOf(t, watcher); got != "offline" {
		t.Fatalf("invisible: %s", got)
	}
	phone.send(3, map[string]any{"status": "idle", "activities": []any{}, "afk": true, "since": 0})
	if got := presenceOf(t, watcher); got != "idle" {
		t.Fatalf("idle: %s", got)
	}
	// A new session of Bob's sees Alice's presence in GUILD_CREATE.
	late := dial(t, s, "")
	identify(late, bob, presenceIntents)
	p := late.until("GUILD_CREATE")
	var guild struct {
		Presences []struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
			Status string `json:"status"`
		} `json:"presences"`
	}
	json.Unmarshal(p.D, &guild)
	aliceID := do(t, s, "GET", "/api/v10/users/@me", alice, nil)["id"].(string)
	found := false
	for _, pr := range guild.Presences {
		if pr.User.ID == aliceID {
			found = pr.Status == "idle"
		}
	}
	if !found {
		t.Fatalf("alice's presence in GUILD_CREATE = %+v", guild.Presences)
	}
	// Without the intent, no PRESENCE_UPDATE.
	quiet := dial(t, s, "")
	identify(quiet, bob, 1)
	quiet.until("GUILD_CREATE")
	phone.ws.CloseNow()
	if got := presenceOf(t, watcher); got != "offline" {
		t.Fatalf("disconnected: %s", got)
	}
	if p, err := quiet.read(300 * time.Millisecond); err == nil && p.T == "PRESENCE_UPDATE" {
		t.Fatal("PRESENCE_UPDATE sent without GUILD_PRESENCES")
	}
}

// TestFriendPresence: friends who share no guild see each other's presence
// (PRESENCE_UPDATE without guild_id, READY's presences), whatever the
// intents; someone who is not a friend does not.
func TestFriendPresence(t *testing.T) {
	s := st.Start(t, st.Options{})
	alice, bob, carol := s.Register(t, "alice", "correct horse"), s.Register(t, "bob", "correct horse"), s.Register(t, "carol", "correct horse")
	aliceID := do(t, s, "GET", "/api/v10/users/@me", alice, nil)["id"].(string)
	bobID := do(t, s, "GET", "/api/v10/users/@me", bob, nil)["id"].(string)
	do(t, s, "PUT", "/api/v10/users/@me/relationships/"+aliceID, bob, map[string]any{})
	do(t, s, "PUT", "/api/v10/users/@me/relationships/"+bobID, alice, map[string]any{})

	watcher := dial(t, s, "")
	identify(watcher, bob, 1)
	stranger := dial(t, s, "")
	identify(stranger, carol, presenceIntents)

	phone := dial(t, s, "")
	identify(phone, alice, 1)
	p := watcher.until("PRESENCE_UPDATE")
	var d struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		GuildID *string `json:"guild_id"`
		Status  string  `json:"status"`
	}
	json.Unmarshal(p.D, &d)
	if d.User.ID != aliceID || d.Status != "online" || d.GuildID != nil {
		t.Fatalf("friend's presence: %s", p.D)
	}

	// A new session of Bob's finds it in READY.
	late := dial(t, s, "")
	ready := identify(late, bob, 1)
	var r struct {
		Presences []struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
			Status string `json:"status"`
		} `json:"presences"`
	}
	json.Unmarshal(ready.D, &r)
	if len(r.Presences) != 1 || r.Presences[0].User.ID != aliceID || r.Presences[0].Status != "online" {
		t.Fatalf("READY presences: %s", ready.D)
	}

	phone.ws.CloseNow()
	if got := presenceOf(t, watcher); got != "offline" {
		t.Fatalf("friend gone: %s", got)
	}
	// Carol, no friend and no shared guild, heard nothing of it.
	if q, err := stranger.read(300 * time.Millisecond); err == nil && q.T == "PRESENCE_UPDATE" {
		t.Fatalf("a stranger got %s", q.D)
	}
}
