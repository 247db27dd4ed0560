package federation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hearth/federation"
	st "hearth/server/servertest"
)

// relsOf is a user's relationships as their homeserver lists them: type by
// the other's local ID.
func relsOf(t *testing.T, u user) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range list(t, u.do(t, "GET", "/api/v10/users/@me/relationships", nil)) {
		out[r["id"].(string)] = int(r["type"].(float64))
	}
	return out
}

func sameRels(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// isRel matches a relationship dispatch about id with type typ.
func isRel(id string, typ int) func(map[string]any) bool {
	return func(d map[string]any) bool { return d["id"] == id && d["type"] == float64(typ) }
}

// Friends across two homeservers, over real HTTP and the gateway: a
// request by name@server, its acceptance, an unfriend, a request ended by
// a block (the blocked person's server hears only that it ended, and a
// request after it is kept from the blocker), READY after a reconnect, and
// every session of both people told of each change.
func TestFederatedRelationships(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		a, b := st.Start(t, st.Options{Backend: backend}), st.Start(t, st.Options{Backend: backend})
		B := b.ServerName()
		ann, bob := register(t, a, "ann"), register(t, b, "bob")
		a1, a2 := dialGateway(t, a, ann.tok), dialGateway(t, a, ann.tok)
		b1, b2 := dialGateway(t, b, bob.tok), dialGateway(t, b, bob.tok)
		rel := "/api/v10/users/@me/relationships"

		// ann asks bob@B: outgoing on her server, incoming on his.
		st.Expect(t, ann.do(t, "POST", rel, map[string]any{"username": "bob@" + B, "discriminator": "0"}), http.StatusNoContent, nil)
		var bobOnA, annOnB string
		for id := range relsOf(t, ann) {
			bobOnA = id
		}
		for id := range relsOf(t, bob) {
			annOnB = id
		}
		if bobOnA == "" || annOnB == "" {
			t.Fatalf("after the request: ann has %v, bob has %v", relsOf(t, ann), relsOf(t, bob))
		}
		for _, c := range []*gatewayClient{a1, a2} {
			if d := c.until(t, "RELATIONSHIP_ADD", isRel(bobOnA, 4)); d["user"].(map[string]any)["username"] == "" {
				t.Fatalf("ann's RELATIONSHIP_ADD: %v", d)
			}
		}
		for _, c := range []*gatewayClient{b1, b2} {
			d := c.until(t, "RELATIONSHIP_ADD", isRel(annOnB, 3))
			if u := d["user"].(map[string]any); u["username"] != "ann" || d["should_notify"] != true {
				t.Fatalf("bob's incoming request: %v", d)
			}
		}
		// Twice in a row changes nothing on either server.
		st.Expect(t, ann.do(t, "POST", rel, map[string]any{"username": "bob@" + B}), http.StatusNoContent, nil)
		if got := relsOf(t, bob); !sameRels(got, map[string]int{annOnB: 3}) {
			t.Fatalf("bob after the repeat: %v", got)
		}

		// bob accepts: his server asks ann's, both are friends.
		st.Expect(t, bob.do(t, "PUT", rel+"/"+annOnB, map[string]any{"type": 1}), http.StatusNoContent, nil)
		for _, c := range []*gatewayClient{a1, a2} {
			c.until(t, "RELATIONSHIP_ADD", isRel(bobOnA, 1))
		}
		for _, c := range []*gatewayClient{b1, b2} {
			c.until(t, "RELATIONSHIP_ADD", isRel(annOnB, 1))
		}
		if got := relsOf(t, ann); !sameRels(got, map[string]int{bobOnA: 1}) {
			t.Fatalf("ann: %v", got)
		}
		st.Expect(t, ann.do(t, "PUT", rel+"/"+bobOnA, nil), http.StatusBadRequest, st.Code(80007))
		// READY after a reconnect, on both servers.
		for _, u := range []struct {
			u     user
			other string
		}{{ann, bobOnA}, {bob, annOnB}} {
			c := dialGatewayReady(t, u.u.s, u.u.tok)
			if rs := c["relationships"].([]any); len(rs) != 1 || rs[0].(map[string]any)["id"] != u.other || rs[0].(map[string]any)["type"] != float64(1) {
				t.Fatalf("READY relationships: %v", rs)
			}
		}

		// ann unfriends: bob's server hears of it.
		st.Expect(t, ann.do(t, "DELETE", rel+"/"+bobOnA, nil), http.StatusNoContent, nil)
		a1.until(t, "RELATIONSHIP_REMOVE", isRel(bobOnA, 1))
		for _, c := range []*gatewayClient{b1, b2} {
			c.until(t, "RELATIONSHIP_REMOVE", isRel(annOnB, 1))
		}
		if got := relsOf(t, bob); len(got) != 0 {
			t.Fatalf("bob after the unfriend: %v", got)
		}

		// bob asks again; ann blocks him. bob's server hears only that
		// his request ended; a request after the block is kept from ann.
		st.Expect(t, bob.do(t, "PUT", rel+"/"+annOnB, nil), http.StatusNoContent, nil)
		a1.until(t, "RELATIONSHIP_ADD", isRel(bobOnA, 3))
		dm := ok(t, bob.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient_id": annOnB}), 200)["id"].(string)
		ok(t, bob.do(t, "POST", "/api/v10/channels/"+dm+"/messages", map[string]any{"content": "before the block"}), 200)
		a1.until(t, "MESSAGE_CREATE", func(d map[string]any) bool { return d["content"] == "before the block" })
		st.Expect(t, ann.do(t, "PUT", rel+"/"+bobOnA, map[string]any{"type": 2}), http.StatusNoContent, nil)
		a1.until(t, "RELATIONSHIP_ADD", isRel(bobOnA, 2))
		for _, c := range []*gatewayClient{b1, b2} {
			c.until(t, "RELATIONSHIP_REMOVE", isRel(annOnB, 4))
		}
		if got := relsOf(t, bob); len(got) != 0 {
			t.Fatalf("the blocked one sees %v", got)
		}
		st.Expect(t, bob.do(t, "PUT", rel+"/"+annOnB, nil), http.StatusNoContent, nil)
		if got := relsOf(t, bob); !sameRels(got, map[string]int{annOnB: 4}) {
			t.Fatalf("the blocked one's new request: %v", got)
		}
		if got := relsOf(t, ann); !sameRels(got, map[string]int{bobOnA: 2}) {
			t.Fatalf("the blocker after the blocked one's request: %v", got)
		}
		// The blocker cannot DM the blocked one; the blocked one's DM
		// messages (from his server, which knows nothing) do not reach
		// her sessions: the next thing they get is her own next change.
		st.Expect(t, ann.do(t, "POST", "/api/v10/users/@me/channels", map[string]any{"recipient_id": bobOnA}), http.StatusBadRequest, st.Code(50007))
		var dmOnA string
		for _, c := range list(t, ann.do(t, "GET", "/api/v10/users/@me/channels", nil)) {
			dmOnA = c["id"].(string)
		}
		st.Expect(t, ann.do(t, "POST", "/api/v10/channels/"+dmOnA+"/messages", map[string]any{"content": "no"}), http.StatusBadRequest, st.Code(50007))
		ok(t, bob.do(t, "POST", "/api/v10/channels/"+dm+"/messages", map[string]any{"content": "after the block"}), 200)
		eventually(t, "ann's server has the DM message", func() string {
			if got := ann.contents(t, dmOnA, 10); strings.Join(got, "|") != "before the block|after the block" {
				return fmt.Sprintf("A has %q", got)
			}
			return ""
		})
		st.Expect(t, ann.do(t, "DELETE", rel+"/"+bobOnA, nil), http.StatusNoContent, nil)
		if typ, d := a1.next(t, "MESSAGE_CREATE", "RELATIONSHIP_ADD", "RELATIONSHIP_REMOVE"); typ != "RELATIONSHIP_REMOVE" || !isRel(bobOnA, 2)(d) {
			t.Fatalf("ann's session got %s %v before the unblock", typ, d)
		}
		if got := relsOf(t, bob); !sameRels(got, map[string]int{annOnB: 4}) {
			t.Fatalf("the unblock was told to bob's server: %v", got)
		}
	})
}

// A rogue peer signs correctly and still oversteps with relationship acts:
// each try is refused and changes nothing; repeats change nothing; a flood
// of requests by one of its users is limited (spec/federation.md §17).
func TestFederationRelationshipOwnership(t *testing.T) {
	a, b, c := st.Start(t, st.Options{}), st.Start(t, st.Options{}), st.Start(t, st.Options{})
	A, B, C := a.ServerName(), b.ServerName(), c.ServerName()
	ann, bob, cat := register(t, a, "ann"), register(t, b, "bob"), register(t, c, "cat")
	bob2 := register(t, b, "bob2")
	act := func(kind, from, name, to string) map[string]any {
		return map[string]any{"kind": kind, "from": map[string]any{"id": from, "username": name}, "to": to}
	}
	catG, bobG, annG := cat.id+"@"+C, bob.id+"@"+B, ann.id+"@"+A

	for _, tc := range []struct {
		name   string
		body   any
		status int
	}{
		{"speaks for another server's user", act("request", annG, "ann", bobG), http.StatusForbidden},
		{"names a user of the receiver as the sender", act("request", bob2.id+"@"+B, "bob2", bobG), http.StatusForbidden},
		{"names a user of a third server as the receiver", act("request", catG, "cat", annG), http.StatusForbidden},
		{"accepts a request that was never made", act("accept", catG, "cat", bobG), http.StatusForbidden},
		{"no such user", act("request", catG, "cat", "12345@"+B), http.StatusNotFound},
		{"not a global ID", act("request", catG, "cat", "bob"), http.StatusBadRequest},
		{"unknown act", act("befriend", catG, "cat", bobG), http.StatusBadRequest},
		{"not JSON", []byte("{"), http.StatusBadRequest},
	} {
		status, body := call(t, c, b, "POST", federation.RelationshipPath, tc.body)
		if status != tc.status {
			t.Fatalf("%s: status %d, want %d: %v", tc.name, status, tc.status, body)
		}
	}
	if got := relsOf(t, bob); len(got) != 0 {
		t.Fatalf("bob after the refused acts: %v", got)
	}
	if got := relsOf(t, bob2); len(got) != 0 {
		t.Fatalf("bob2 after the refused acts: %v", got)
	}

	// A request, repeated: one incoming request, whatever the repeats.
	for range 3 {
		status, body := call(t, c, b, "POST", federation.RelationshipPath, act("request", catG, "cat", bobG))
		if status != http.StatusOK || body["friends"] != false {
			t.Fatalf("request: %d %v", status, body)
		}
	}
	got := relsOf(t, bob)
	if len(got) != 1 {
		t.Fatalf("bob after three requests: %v", got)
	}
	var catOnB string
	for id, typ := range got {
		catOnB = id
		if typ != 3 {
			t.Fatalf("bob's row about cat: %d", typ)
		}
	}
	// Still no acceptance of a request bob never made: his own incoming
	// one is not his request.
	if status, _ := call(t, c, b, "POST", federation.RelationshipPath, act("accept", catG, "cat", bobG)); status != http.StatusForbidden {
		t.Fatalf("accept of an incoming request: %d", status)
	}
	// Removal, repeated.
	for range 2 {
		if status, body := call(t, c, b, "POST", federation.RelationshipPath, act("remove", catG, "cat", bobG)); status != http.StatusOK {
			t.Fatalf("remove: %d %v", status, body)
		}
	}
	if got := relsOf(t, bob); len(got) != 0 {
		t.Fatalf("bob after the removal: %v", got)
	}
	// bob blocks cat: a request from cat is answered as pending and kept
	// from bob, a removal leaves the block.
	st.Expect(t, bob.do(t, "PUT", "/api/v10/users/@me/relationships/"+catOnB, map[string]any{"type": 2}), http.StatusNoContent, nil)
	for _, kind := range []string{"request", "remove"} {
		if status, body := call(t, c, b, "POST", federation.RelationshipPath, act(kind, catG, "cat", bobG)); status != http.StatusOK || body["friends"] != false {
			t.Fatalf("%s after the block: %d %v", kind, status, body)
		}
	}
	if got := relsOf(t, bob); !sameRels(got, map[string]int{catOnB: 2}) {
		t.Fatalf("bob after the blocked one's acts: %v", got)
	}
	st.Expect(t, bob.do(t, "DELETE", "/api/v10/users/@me/relationships/"+catOnB, nil), http.StatusNoContent, nil)

	// A flood of requests by one of the rogue's users: limited (429).
	limited := 0
	for range 25 {
		status, _ := call(t, c, b, "POST", federation.RelationshipPath, act("request", catG, "cat", bob2.id+"@"+B))
		if status == http.StatusTooManyRequests {
			limited++
		} else if status != http.StatusOK {
			t.Fatalf("flood: status %d", status)
		}
	}
	if limited == 0 {
		t.Fatal("a flood of 25 requests from one user was never limited")
	}
	if got := relsOf(t, bob2); len(got) != 1 {
		t.Fatalf("bob2 after the flood: %v", got)
	}

	// A flood of acts from one peer, whoever they name, is limited too:
	// 300 a minute, then 429 for every kind.
	peerLimited := 0
	for i := range 320 {
		kind := []string{"remove", "accept"}[i%2]
		status, _ := call(t, c, b, "POST", federation.RelationshipPath, act(kind, catG, "cat", bobG))
		if status == http.StatusTooManyRequests {
			peerLimited++
		}
	}
	if peerLimited == 0 {
		t.Fatal("a flood of 320 acts from one peer was never limited")
	}
	if got := relsOf(t, bob); len(got) != 0 {
		t.Fatalf("bob after the peer's flood: %v", got)
	}
}

// dialGatewayReady identifies a new session and answers its READY.
func dialGatewayReady(t *testing.T, s *st.Server, tok string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/gateway?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(64 << 20)
	defer ws.CloseNow()
	b, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": tok, "intents": 1<<0 | 1<<12,
		"properties": map[string]string{"os": "linux", "browser": "test", "device": "test"}}})
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	return (&gatewayClient{ws: ws}).until(t, "READY", nil)
}

// next reads up to the next dispatch of one of types and answers its name
// and d.
func (c *gatewayClient) next(t *testing.T, types ...string) (string, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		_, msg, err := c.ws.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %v: %v", types, err)
		}
		var p struct {
			Op int            `json:"op"`
			T  string         `json:"t"`
			D  map[string]any `json:"d"`
		}
		if json.Unmarshal(msg, &p) != nil || p.Op != 0 || !slices.Contains(types, p.T) {
			continue
		}
		return p.T, p.D
	}
}
