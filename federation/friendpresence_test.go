package federation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hearth/federation"
	st "hearth/server/servertest"
)

// befriend makes x and y friends across their servers through the client
// API (x asks y@server, y accepts) and answers each one's ID on the
// other's server.
func befriend(t *testing.T, x, y user) (yOnX, xOnY string) {
	t.Helper()
	rel := "/api/v10/users/@me/relationships"
	name := ok(t, y.do(t, "GET", "/api/v10/users/@me", nil), 200)["username"].(string)
	beforeX, beforeY := relsOf(t, x), relsOf(t, y)
	st.Expect(t, x.do(t, "POST", rel, map[string]any{"username": name + "@" + y.s.ServerName()}), http.StatusNoContent, nil)
	for id := range relsOf(t, y) {
		if _, old := beforeY[id]; !old {
			xOnY = id
		}
	}
	if xOnY == "" {
		t.Fatalf("%s has no new request: %v", name, relsOf(t, y))
	}
	st.Expect(t, y.do(t, "PUT", rel+"/"+xOnY, map[string]any{"type": 1}), http.StatusNoContent, nil)
	for id, typ := range relsOf(t, x) {
		if _, old := beforeX[id]; !old && typ == 1 {
			yOnX = id
		}
	}
	if yOnX == "" {
		t.Fatalf("no friendship with %s: %v", name, relsOf(t, x))
	}
	return yOnX, xOnY
}

// setStatus sends op 3 (presence update) on a session.
func (c *gatewayClient) setStatus(t *testing.T, status string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, _ := json.Marshal(map[string]any{"op": 3, "d": map[string]any{"status": status, "activities": []any{}, "afk": false, "since": nil}})
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// friendPresence matches a PRESENCE_UPDATE of no guild about id in status.
func friendPresence(id, status string) func(map[string]any) bool {
	return func(d map[string]any) bool {
		_, guild := d["guild_id"]
		return !guild && d["status"] == status && d["user"].(map[string]any)["id"] == id
	}
}

// Friends of two homeservers who share no guild see each other's presence
// (spec/federation.md §17.5): each learns the other's on becoming friends,
// then every change (idle, offline, online again), and READY lists it; once
// they are friends no more, none flows, while a remaining friend on the
// same server still sees it.
func TestFederatedFriendPresence(t *testing.T) {
	a, b := st.Start(t, st.Options{}), st.Start(t, st.Options{})
	ann, bob, bea := register(t, a, "ann"), register(t, b, "bob"), register(t, b, "bea")
	annGW := dialGateway(t, a, ann.tok)
	bobGW, beaGW := dialGateway(t, b, bob.tok), dialGateway(t, b, bea.tok)

	bobOnA, annOnB := befriend(t, ann, bob)
	// Both online before the friendship: each learns the other's now.
	bobGW.until(t, "PRESENCE_UPDATE", friendPresence(annOnB, "online"))
	annGW.until(t, "PRESENCE_UPDATE", friendPresence(bobOnA, "online"))
	_, annOnB2 := befriend(t, ann, bea)
	if annOnB2 != annOnB {
		t.Fatalf("ann is %s to bob and %s to bea", annOnB, annOnB2)
	}
	beaGW.until(t, "PRESENCE_UPDATE", friendPresence(annOnB, "online"))

	annGW.setStatus(t, "idle")
	bobGW.until(t, "PRESENCE_UPDATE", friendPresence(annOnB, "idle"))
	bobGW.setStatus(t, "dnd")
	annGW.until(t, "PRESENCE_UPDATE", friendPresence(bobOnA, "dnd"))

	// ann's only session goes: offline; a new one: online again, and the
	// READY of a new session of bob's lists her.
	annGW.ws.Close(websocket.StatusNormalClosure, "")
	bobGW.until(t, "PRESENCE_UPDATE", friendPresence(annOnB, "offline"))
	annGW = dialGateway(t, a, ann.tok)
	bobGW.until(t, "PRESENCE_UPDATE", friendPresence(annOnB, "online"))
	ready := dialGatewayReady(t, b, bob.tok)
	found := false
	for _, p := range ready["presences"].([]any) {
		found = found || friendPresence(annOnB, "online")(p.(map[string]any))
	}
	if !found {
		t.Fatalf("READY presences: %v", ready["presences"])
	}

	// bob unfriends ann: her next change reaches bea, not bob. bob's own
	// friend request to bea, made after bea has seen it, marks the point
	// by which it would have reached him.
	st.Expect(t, bob.do(t, "DELETE", "/api/v10/users/@me/relationships/"+annOnB, nil), http.StatusNoContent, nil)
	annGW.until(t, "RELATIONSHIP_REMOVE", isRel(bobOnA, 1))
	annGW.setStatus(t, "dnd")
	beaGW.until(t, "PRESENCE_UPDATE", friendPresence(annOnB, "dnd"))
	st.Expect(t, bob.do(t, "PUT", "/api/v10/users/@me/relationships/"+bea.id, nil), http.StatusNoContent, nil)
	for {
		typ, d := bobGW.next(t, "PRESENCE_UPDATE", "RELATIONSHIP_ADD")
		if typ == "RELATIONSHIP_ADD" {
			break
		}
		if friendPresence(annOnB, "dnd")(d) {
			t.Fatalf("bob saw ann's presence after the unfriend: %v", d)
		}
	}
	if p := dialGatewayReady(t, b, bob.tok)["presences"].([]any); len(p) != 0 {
		t.Fatalf("bob's READY presences after the unfriend: %v", p)
	}
}

// A rogue peer that signs correctly claims presences it may not: of a user
// of the receiver, of a third server's user, of its own users who are no
// friend of anyone there (a stranger, a pending request, a blocked one).
// Each is refused (403) and counted, and nothing reaches the receiver's
// sessions before its own friend's presence, which is taken.
func TestFederationFriendPresenceRogue(t *testing.T) {
	st.ForEachBackend(t, testFriendPresenceRogue)
}

func testFriendPresenceRogue(t *testing.T, backend st.Backend) {
	a, b, c := st.Start(t, st.Options{Backend: backend}), st.Start(t, st.Options{Backend: backend}), st.Start(t, st.Options{Backend: backend})
	A, B, C := a.ServerName(), b.ServerName(), c.ServerName()
	ann, bob, bob2 := register(t, a, "ann"), register(t, b, "bob"), register(t, b, "bob2")
	cat, cal, cid := register(t, c, "cat"), register(t, c, "cal"), register(t, c, "cid")
	_, catOnB := befriend(t, cat, bob)
	_, annOnB := befriend(t, ann, bob)
	// cal only asks (pending); cid is blocked by bob after asking.
	st.Expect(t, cal.do(t, "POST", "/api/v10/users/@me/relationships", map[string]any{"username": "bob@" + B}), http.StatusNoContent, nil)
	st.Expect(t, cid.do(t, "POST", "/api/v10/users/@me/relationships", map[string]any{"username": "bob@" + B}), http.StatusNoContent, nil)
	rels := relsOf(t, bob)
	if len(rels) != 4 {
		t.Fatalf("bob's relationships: %v", rels)
	}
	for id, typ := range rels {
		if typ == 3 && ok(t, bob.do(t, "GET", "/api/v10/users/"+id, nil), 200)["username"] == "cid" {
			st.Expect(t, bob.do(t, "PUT", "/api/v10/users/@me/relationships/"+id, map[string]any{"type": 2}), http.StatusNoContent, nil)
		}
	}
	bobGW := dialGateway(t, b, bob.tok)

	pres := func(user, status string) map[string]any {
		return map[string]any{"type": "PRESENCE_UPDATE", "d": map[string]any{
			"user": map[string]any{"id": user}, "status": status, "activities": []any{}, "client_status": map[string]any{"web": status}}}
	}
	forbidden := `hearth_federation_inbound_rejected_total{reason="forbidden"}`
	before := max(b.Metric(t, forbidden), 0)
	cases := []struct {
		name   string
		body   any
		status int
	}{
		{"a user of the receiver", pres(bob2.id+"@"+B, "online"), http.StatusForbidden},
		{"a user of the receiver who is the rogue's user's friend", pres(bob.id+"@"+B, "online"), http.StatusForbidden},
		{"a third server's user, a friend there", pres(ann.id+"@"+A, "online"), http.StatusForbidden},
		{"its own user, a stranger there", pres("12345@"+C, "online"), http.StatusForbidden},
		{"its own user with a pending request", pres(cal.id+"@"+C, "online"), http.StatusForbidden},
		{"its own user, blocked", pres(cid.id+"@"+C, "online"), http.StatusForbidden},
	}
	for _, tc := range cases {
		if status, body := call(t, c, b, "PUT", federation.EphemeralPath, tc.body); status != tc.status {
			t.Fatalf("%s: status %d, want %d: %v", tc.name, status, tc.status, body)
		}
	}
	if got := b.Metric(t, forbidden); got != before+float64(len(cases)) {
		t.Fatalf("%s = %v, want %v", forbidden, got, before+float64(len(cases)))
	}
	// Malformed: a guild_id, or two users, is no friend's presence (400).
	withGuild := pres(cat.id+"@"+C, "online")
	withGuild["d"].(map[string]any)["guild_id"] = "1@" + C
	twoUsers := pres(cat.id+"@"+C, "online")
	twoUsers["d"].(map[string]any)["user_id"] = bob.id + "@" + B
	for name, body := range map[string]any{"guild_id": withGuild, "user_id": twoUsers} {
		if status, resp := call(t, c, b, "PUT", federation.EphemeralPath, body); status != http.StatusBadRequest {
			t.Fatalf("%s: status %d: %v", name, status, resp)
		}
	}

	// The rogue's own friend of bob: taken, and the first presence bob's
	// session sees that is not cat's (or ann's, from her real server) is
	// none: nothing refused reached it.
	if status, body := call(t, c, b, "PUT", federation.EphemeralPath, pres(cat.id+"@"+C, "dnd")); status != http.StatusOK {
		t.Fatalf("cat's presence: %d %v", status, body)
	}
	for {
		_, d := bobGW.next(t, "PRESENCE_UPDATE")
		id := d["user"].(map[string]any)["id"]
		if id != catOnB && id != annOnB {
			t.Fatalf("bob saw a refused presence: %v", d)
		}
		if friendPresence(catOnB, "dnd")(d) {
			break
		}
	}
}
