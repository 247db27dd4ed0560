package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	st "hearth/server/servertest"
)

// relEvent is a RELATIONSHIP_ADD or RELATIONSHIP_REMOVE as a client reads
// it.
type relEvent struct {
	T    string
	ID   string `json:"id"`
	Type int    `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	} `json:"user"`
	Since string `json:"since"`
}

// nextRel reads up to the next relationship dispatch: whatever relationship
// event a session got first is the one returned, so a later expected event
// proves that no other came before it.
func (c *client) nextRel() relEvent {
	c.t.Helper()
	for {
		p := c.must(15 * time.Second)
		if p.Op != 0 || (p.T != "RELATIONSHIP_ADD" && p.T != "RELATIONSHIP_REMOVE") {
			continue
		}
		var e relEvent
		if err := json.Unmarshal(p.D, &e); err != nil {
			c.t.Fatalf("%s: %v: %s", p.T, err, p.D)
		}
		e.T = p.T
		return e
	}
}

// expectRel fails unless the next relationship event is t about id with
// the given type.
func (c *client) expectRel(who, t, id string, typ int) relEvent {
	c.t.Helper()
	e := c.nextRel()
	if e.T != t || e.ID != id || e.Type != typ {
		c.t.Fatalf("%s got %s id %s type %d, want %s id %s type %d", who, e.T, e.ID, e.Type, t, id, typ)
	}
	if t == "RELATIONSHIP_ADD" && (e.User.ID != id || e.Since == "") {
		c.t.Fatalf("%s: RELATIONSHIP_ADD without its user or since: %+v", who, e)
	}
	return e
}

// rels is a user's relationships as GET /users/@me/relationships lists
// them: type by other user's ID.
func rels(t *testing.T, s *st.Server, tok string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range st.List(t, s.Do(t, "GET", "/api/v10/users/@me/relationships", tok, nil)) {
		u, _ := r["user"].(map[string]any)
		if u == nil || u["id"] != r["id"] {
			t.Fatalf("relationship without its user: %v", r)
		}
		out[r["id"].(string)] = int(r["type"].(float64))
	}
	return out
}

func readyRels(t *testing.T, ready payload) map[string]int {
	t.Helper()
	var d struct {
		Relationships []struct {
			ID   string `json:"id"`
			Type int    `json:"type"`
		} `json:"relationships"`
	}
	if err := json.Unmarshal(ready.D, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range d.Relationships {
		out[r.ID] = r.Type
	}
	return out
}

func same(a, b map[string]int) bool {
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

// Friends, requests and blocks on one homeserver, over real HTTP and the
// gateway: every session of both people hears of each change (the blocked
// one only that the request ended), READY carries the list after a
// reconnect, bad input gets Discord's codes and changes nothing, a block
// and a friends-only setting refuse DMs with 50007, and a flood of
// requests is limited.
func TestRelationships(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		type person struct {
			tok, id string
		}
		reg := func(name string) person {
			tok := s.Register(t, name, "correct horse")
			return person{tok, do(t, s, "GET", "/api/v10/users/@me", tok, nil)["id"].(string)}
		}
		alice, bob, carol := reg("alice"), reg("bob"), reg("carol")
		a1, a2, b1 := dial(t, s, "?v=10&encoding=json"), dial(t, s, "?v=10&encoding=json"), dial(t, s, "?v=10&encoding=json")
		identify(a1, alice.tok, allIntents)
		identify(a2, alice.tok, allIntents)
		identify(b1, bob.tok, allIntents)
		rel := "/api/v10/users/@me/relationships"
		expect := func(r st.Response, status int, code int) {
			t.Helper()
			if code == 0 {
				st.Expect(t, r, status, nil)
				return
			}
			st.Expect(t, r, status, st.Code(code))
		}

		// A request by name (the discriminator ignored): outgoing for
		// alice on both her sessions, incoming for bob.
		expect(s.Do(t, "POST", rel, alice.tok, map[string]any{"username": "bob", "discriminator": "0"}), http.StatusNoContent, 0)
		a1.expectRel("a1", "RELATIONSHIP_ADD", bob.id, 4)
		a2.expectRel("a2", "RELATIONSHIP_ADD", bob.id, 4)
		if e := b1.expectRel("b1", "RELATIONSHIP_ADD", alice.id, 3); e.User.Username != "alice" {
			t.Fatalf("bob's incoming request names %+v", e.User)
		}
		// Twice in a row: nothing changes, nobody hears anything (the
		// next event each session gets is the next change's).
		expect(s.Do(t, "POST", rel, alice.tok, map[string]any{"username": "bob"}), http.StatusNoContent, 0)
		expect(s.Do(t, "PUT", rel+"/"+bob.id, alice.tok, map[string]any{}), http.StatusNoContent, 0)
		if got := rels(t, s, alice.tok); !same(got, map[string]int{bob.id: 4}) {
			t.Fatalf("alice's relationships after repeats: %v", got)
		}

		// Bad input: Discord's codes, nothing changed.
		for _, tc := range []struct {
			name, method, path string
			body               any
			status, code       int
		}{
			{"self by id", "PUT", rel + "/" + alice.id, map[string]any{}, 400, 80003},
			{"self by name", "POST", rel, map[string]any{"username": "alice"}, 400, 80003},
			{"nobody by name", "POST", rel, map[string]any{"username": "nobody"}, 400, 80004},
			{"nobody by name on a server", "POST", rel, map[string]any{"username": "nobody@" + s.ServerName()}, 400, 80004},
			{"no username", "POST", rel, map[string]any{}, 400, 50035},
			{"nobody by id", "PUT", rel + "/1234567890123", map[string]any{}, 404, 10013},
			{"not an id", "PUT", rel + "/abc", map[string]any{}, 400, 50035},
			{"type 3", "PUT", rel + "/" + bob.id, map[string]any{"type": 3}, 400, 50035},
			{"type as text", "PUT", rel + "/" + bob.id, map[string]any{"type": "x"}, 400, 50035},
			{"malformed JSON", "PUT", rel + "/" + bob.id, []byte("{"), 400, 50109},
			{"block self", "PUT", rel + "/" + alice.id, map[string]any{"type": 2}, 400, 50035},
			{"no token", "GET", rel, nil, 401, -1},
		} {
			tok := alice.tok
			if tc.code == -1 {
				tok = ""
				tc.code = 0
			}
			r := s.Do(t, tc.method, tc.path, tok, tc.body)
			if r.Status != tc.status {
				t.Fatalf("%s: status %d, want %d: %s", tc.name, r.Status, tc.status, r.Body)
			}
			if tc.code != 0 {
				expect(r, tc.status, tc.code)
			}
		}
		if got := rels(t, s, alice.tok); !same(got, map[string]int{bob.id: 4}) {
			t.Fatalf("alice's relationships after bad input: %v", got)
		}

		// Bob accepts: friends on every session of both.
		expect(s.Do(t, "PUT", rel+"/"+alice.id, bob.tok, map[string]any{"type": 1}), http.StatusNoContent, 0)
		a1.expectRel("a1", "RELATIONSHIP_ADD", bob.id, 1)
		a2.expectRel("a2", "RELATIONSHIP_ADD", bob.id, 1)
		b1.expectRel("b1", "RELATIONSHIP_ADD", alice.id, 1)
		expect(s.Do(t, "PUT", rel+"/"+bob.id, alice.tok, map[string]any{"type": 1}), http.StatusBadRequest, 80007)
		expect(s.Do(t, "POST", rel, bob.tok, map[string]any{"username": "ALICE"}), http.StatusBadRequest, 80007)
		if got := rels(t, s, bob.tok); !same(got, map[string]int{alice.id: 1}) {
			t.Fatalf("bob's relationships: %v", got)
		}
		// READY after a reconnect carries them.
		b2 := dial(t, s, "?v=10&encoding=json")
		if got := readyRels(t, identify(b2, bob.tok, allIntents)); !same(got, map[string]int{alice.id: 1}) {
			t.Fatalf("bob's READY relationships: %v", got)
		}

		// A guild both are in: alice's messages there look the same
		// before and after bob blocks her.
		gid, general := newGuild(t, s, bob.tok, "Shared")
		code := do(t, s, "POST", "/api/v10/channels/"+general+"/invites", bob.tok, map[string]any{})["code"].(string)
		do(t, s, "POST", "/api/v10/invites/"+code, alice.tok, nil)
		keysOf := func(m map[string]any) string {
			var ks []string
			for k := range m {
				ks = append(ks, k)
			}
			slices.Sort(ks)
			return strings.Join(ks, ",")
		}
		m1 := do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice.tok, map[string]any{"content": "m1"})
		before := keysOf(m1)
		seenBefore := keysOf(do(t, s, "GET", "/api/v10/channels/"+general+"/messages/"+m1["id"].(string), bob.tok, nil))
		_ = gid

		// A DM while friends works.
		dm := do(t, s, "POST", "/api/v10/users/@me/channels", alice.tok, map[string]any{"recipient_id": bob.id})["id"].(string)
		do(t, s, "POST", "/api/v10/channels/"+dm+"/messages", alice.tok, map[string]any{"content": "hi"})

		// Unfriend: both hear it, as the friendship it was.
		expect(s.Do(t, "DELETE", rel+"/"+bob.id, alice.tok, nil), http.StatusNoContent, 0)
		a1.expectRel("a1", "RELATIONSHIP_REMOVE", bob.id, 1)
		a2.expectRel("a2", "RELATIONSHIP_REMOVE", bob.id, 1)
		b1.expectRel("b1", "RELATIONSHIP_REMOVE", alice.id, 1)
		b2.expectRel("b2", "RELATIONSHIP_REMOVE", alice.id, 1)
		expect(s.Do(t, "DELETE", rel+"/"+bob.id, alice.tok, nil), http.StatusNoContent, 0) // nothing left: nothing told

		// A new request, refused by bob with a block: bob's sessions see
		// the block, alice's only that her request ended.
		expect(s.Do(t, "PUT", rel+"/"+bob.id, alice.tok, nil), http.StatusNoContent, 0)
		a1.expectRel("a1", "RELATIONSHIP_ADD", bob.id, 4)
		b1.expectRel("b1", "RELATIONSHIP_ADD", alice.id, 3)
		expect(s.Do(t, "PUT", rel+"/"+alice.id, bob.tok, map[string]any{"type": 2}), http.StatusNoContent, 0)
		b1.expectRel("b1", "RELATIONSHIP_ADD", alice.id, 2)
		b2.expectRel("b2", "RELATIONSHIP_ADD", alice.id, 3)
		b2.expectRel("b2", "RELATIONSHIP_ADD", alice.id, 2)
		a1.expectRel("a1", "RELATIONSHIP_REMOVE", bob.id, 4)
		a2.expectRel("a2", "RELATIONSHIP_ADD", bob.id, 4)
		a2.expectRel("a2", "RELATIONSHIP_REMOVE", bob.id, 4)
		if got := rels(t, s, alice.tok); len(got) != 0 {
			t.Fatalf("the blocked one sees %v", got)
		}
		if got := rels(t, s, bob.tok); !same(got, map[string]int{alice.id: 2}) {
			t.Fatalf("the blocker sees %v", got)
		}
		// In the guild, nothing of alice's messages shows the block, to
		// her or to bob.
		m2 := do(t, s, "POST", "/api/v10/channels/"+general+"/messages", alice.tok, map[string]any{"content": "m2"})
		if after := keysOf(m2); after != before {
			t.Fatalf("alice's message after the block has fields %s, before %s", after, before)
		}
		if seen := keysOf(do(t, s, "GET", "/api/v10/channels/"+general+"/messages/"+m2["id"].(string), bob.tok, nil)); seen != seenBefore {
			t.Fatalf("bob sees alice's message with fields %s, want %s", seen, seenBefore)
		}
		// The blocked one can neither ask again nor DM; the blocker
		// cannot DM either; the existing DM takes nothing from either.
		expect(s.Do(t, "PUT", rel+"/"+bob.id, alice.tok, nil), http.StatusBadRequest, 80000)
		expect(s.Do(t, "POST", rel, alice.tok, map[string]any{"username": "bob"}), http.StatusBadRequest, 80000)
		expect(s.Do(t, "POST", "/api/v10/users/@me/channels", alice.tok, map[string]any{"recipient_id": bob.id}), http.StatusBadRequest, 50007)
		expect(s.Do(t, "POST", "/api/v10/channels/"+dm+"/messages", alice.tok, map[string]any{"content": "still there?"}), http.StatusBadRequest, 50007)
		expect(s.Do(t, "POST", "/api/v10/channels/"+dm+"/messages", bob.tok, map[string]any{"content": "no"}), http.StatusBadRequest, 50007)
		// The blocker cannot ask the one they blocked either (unblock
		// first): the block stays.
		expect(s.Do(t, "PUT", rel+"/"+alice.id, bob.tok, map[string]any{"type": 1}), http.StatusBadRequest, 80001)
		expect(s.Do(t, "POST", rel, bob.tok, map[string]any{"username": "alice"}), http.StatusBadRequest, 80001)
		if got := rels(t, s, bob.tok); !same(got, map[string]int{alice.id: 2}) {
			t.Fatalf("the blocker sees %v after the refusals", got)
		}
		// Blocking twice changes nothing; the READY of the blocked one
		// holds nothing of it.
		expect(s.Do(t, "PUT", rel+"/"+alice.id, bob.tok, map[string]any{"type": 2}), http.StatusNoContent, 0)
		a3 := dial(t, s, "?v=10&encoding=json")
		if got := readyRels(t, identify(a3, alice.tok, allIntents)); len(got) != 0 {
			t.Fatalf("the blocked one's READY: %v", got)
		}
		// Unblock: only the blocker hears of it; then a request goes
		// through again (the next event alice's session gets).
		expect(s.Do(t, "DELETE", rel+"/"+alice.id, bob.tok, nil), http.StatusNoContent, 0)
		b1.expectRel("b1", "RELATIONSHIP_REMOVE", alice.id, 2)
		expect(s.Do(t, "POST", rel, alice.tok, map[string]any{"username": "bob"}), http.StatusNoContent, 0)
		a1.expectRel("a1", "RELATIONSHIP_ADD", bob.id, 4)
		b1.expectRel("b1", "RELATIONSHIP_ADD", alice.id, 3)
		do(t, s, "POST", "/api/v10/channels/"+dm+"/messages", alice.tok, map[string]any{"content": "back"})

		// Friends-only DMs: carol refuses DMs from anyone but friends.
		st.Expect(t, s.Do(t, "GET", "/api/v10/users/@me/settings", carol.tok, nil), 200, nil)
		set := do(t, s, "PATCH", "/api/v10/users/@me/settings", carol.tok, map[string]any{"dm_friends_only": true})
		if set["dm_friends_only"] != true {
			t.Fatalf("settings after PATCH: %v", set)
		}
		expect(s.Do(t, "PATCH", "/api/v10/users/@me/settings", carol.tok, map[string]any{"dm_friends_only": "yes"}), 400, 50035)
		c1 := dial(t, s, "?v=10&encoding=json")
		var ready struct {
			Settings map[string]any `json:"user_settings"`
		}
		_ = json.Unmarshal(identify(c1, carol.tok, allIntents).D, &ready)
		if ready.Settings["dm_friends_only"] != true {
			t.Fatalf("carol's READY user_settings: %v", ready.Settings)
		}
		expect(s.Do(t, "POST", "/api/v10/users/@me/channels", alice.tok, map[string]any{"recipient_id": carol.id}), 400, 50007)
		expect(s.Do(t, "POST", rel, alice.tok, map[string]any{"username": "carol"}), http.StatusNoContent, 0)
		expect(s.Do(t, "PUT", rel+"/"+alice.id, carol.tok, nil), http.StatusNoContent, 0)
		cdm := do(t, s, "POST", "/api/v10/users/@me/channels", alice.tok, map[string]any{"recipient_id": carol.id})["id"].(string)
		do(t, s, "POST", "/api/v10/channels/"+cdm+"/messages", alice.tok, map[string]any{"content": "friends now"})
		expect(s.Do(t, "DELETE", rel+"/"+alice.id, carol.tok, nil), http.StatusNoContent, 0)
		expect(s.Do(t, "POST", "/api/v10/channels/"+cdm+"/messages", alice.tok, map[string]any{"content": "and now?"}), 400, 50007)

		// Bots have no relationships: a request to one is refused, and a
		// bot may not use the routes.
		app := do(t, s, "POST", "/api/v10/applications", carol.tok, map[string]any{"name": "robot"})["id"].(string)
		botTok := "Bot " + do(t, s, "POST", "/api/v10/applications/"+app+"/bot/reset", carol.tok, nil)["token"].(string)
		expect(s.Do(t, "PUT", rel+"/"+app, carol.tok, nil), 400, 80002)
		expect(s.Do(t, "PUT", rel+"/"+carol.id, botTok, nil), 403, 20001)
		expect(s.Do(t, "POST", rel, botTok, map[string]any{"username": "carol"}), 403, 20001)
		if got := rels(t, s, botTok); len(got) != 0 {
			t.Fatalf("a bot's relationships: %v", got)
		}
		if got := rels(t, s, carol.tok); len(got) != 0 {
			t.Fatalf("carol after the bot's tries: %v", got)
		}

		// A flood of requests from one user is limited (429), and what
		// the limit refused changed nothing.
		dave := reg("dave")
		limited := 0
		for i := range 25 {
			r := s.Do(t, "POST", rel, dave.tok, map[string]any{"username": fmt.Sprintf("ghost%d", i)})
			if r.Status == http.StatusTooManyRequests {
				limited++
				if r.Header.Get("Retry-After") == "" {
					t.Fatalf("429 without Retry-After: %s", r.Body)
				}
			} else {
				expect(r, 400, 80004)
			}
		}
		if limited != 5 {
			t.Fatalf("%d of 25 requests limited, want 5", limited)
		}
		expect(s.Do(t, "POST", rel, dave.tok, map[string]any{"username": "bob"}), http.StatusTooManyRequests, 0)
		if got := rels(t, s, dave.tok); len(got) != 0 {
			t.Fatalf("dave's relationships after the flood: %v", got)
		}
		if got := rels(t, s, bob.tok); !same(got, map[string]int{alice.id: 3}) {
			t.Fatalf("bob's relationships after dave's flood: %v", got)
		}
	})
}

// An unmodified discordgo session of a person hears RELATIONSHIP_ADD and
// RELATIONSHIP_REMOVE as events it does not know (its raw Event handler
// gets them), stays connected, and goes on receiving what follows.
func TestDiscordgoRelationshipEvents(t *testing.T) {
	s := st.Start(t, st.Options{})
	human := s.Register(t, "human", "correct horse")
	friend := s.Register(t, "friend", "correct horse")
	humanID := do(t, s, "GET", "/api/v10/users/@me", human, nil)["id"].(string)
	_, general := newGuild(t, s, human, "Home")

	pointDiscordgo(t, s, "ws"+strings.TrimPrefix(s.URL(), "http")+"/gateway")
	dg, err := discordgo.New(human)
	if err != nil {
		t.Fatal(err)
	}
	dg.Identify.Intents = discordgo.IntentsAll
	ev := &events{new: make(chan struct{}, 1)}
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { ev.add("ready") })
	dg.AddHandler(func(_ *discordgo.Session, d *discordgo.Disconnect) { ev.add("disconnect") })
	dg.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { ev.add("message:" + m.Content) })
	dg.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		if strings.HasPrefix(e.Type, "RELATIONSHIP_") {
			var d struct {
				Type int `json:"type"`
			}
			_ = json.Unmarshal(e.RawData, &d)
			ev.add(fmt.Sprintf("%s:%d", e.Type, d.Type))
		}
	})
	if err := dg.Open(); err != nil {
		t.Fatalf("discordgo Open: %v", err)
	}
	defer dg.Close()
	ev.wait(t, "ready")

	rel := "/api/v10/users/@me/relationships"
	st.Expect(t, s.Do(t, "POST", rel, friend, map[string]any{"username": "human"}), http.StatusNoContent, nil)
	ev.wait(t, "RELATIONSHIP_ADD:3")
	st.Expect(t, s.Do(t, "PUT", rel+"/"+do(t, s, "GET", "/api/v10/users/@me", friend, nil)["id"].(string), human, nil), http.StatusNoContent, nil)
	ev.wait(t, "RELATIONSHIP_ADD:1")
	st.Expect(t, s.Do(t, "DELETE", rel+"/"+humanID, friend, nil), http.StatusNoContent, nil)
	ev.wait(t, "RELATIONSHIP_REMOVE:1")
	do(t, s, "POST", "/api/v10/channels/"+general+"/messages", human, map[string]any{"content": "still here"})
	ev.wait(t, "message:still here")
	if n, d := ev.count("ready"), ev.count("disconnect"); n != 1 || d != 0 {
		t.Fatalf("discordgo identified %d times and disconnected %d times", n, d)
	}
}

// TestFriendNickname: PATCH /users/@me/relationships/{id} {nickname} sets
// the caller's own name for a friend: in their list and READY, told to
// their sessions as RELATIONSHIP_UPDATE, kept when a request becomes a
// friendship, never shown to the friend; cleared by null; refused for
// someone the caller has no relationship with (10013) and when too long.
func TestFriendNickname(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, b st.Backend) {
		s := st.Start(t, st.Options{Backend: b})
		ann, bob, cat := s.Register(t, "ann", "correct horse"), s.Register(t, "bob", "correct horse"), s.Register(t, "cat", "correct horse")
		annID := do(t, s, "GET", "/api/v10/users/@me", ann, nil)["id"].(string)
		bobID := do(t, s, "GET", "/api/v10/users/@me", bob, nil)["id"].(string)
		catID := do(t, s, "GET", "/api/v10/users/@me", cat, nil)["id"].(string)
		rel := "/api/v10/users/@me/relationships/"
		st.Expect(t, s.Do(t, "PUT", rel+bobID, ann, map[string]any{}), http.StatusNoContent, nil)
		live := dial(t, s, "")
		identify(live, ann, allIntents)
		nick := func(tok, id string, body any) st.Response { return s.Do(t, "PATCH", rel+id, tok, body) }
		nickOf := func(tok, id string) any {
			for _, r := range listOf(t, s, "/api/v10/users/@me/relationships", tok) {
				if r["id"] == id {
					return r["nickname"]
				}
			}
			t.Fatalf("no relationship with %s", id)
			return nil
		}
		if n := nickOf(ann, bobID); n != nil {
			t.Fatalf("nickname before one is set: %v", n)
		}
		st.Expect(t, nick(ann, bobID, map[string]any{"nickname": "Bobby"}), http.StatusNoContent, nil)
		p := live.until("RELATIONSHIP_UPDATE")
		var up map[string]any
		if err := json.Unmarshal(p.D, &up); err != nil || up["id"] != bobID || up["nickname"] != "Bobby" || up["type"] != float64(4) {
			t.Fatalf("RELATIONSHIP_UPDATE: %s", p.D)
		}
		// bob accepts: a friendship, the nickname kept; bob sees none.
		st.Expect(t, s.Do(t, "PUT", rel+annID, bob, map[string]any{}), http.StatusNoContent, nil)
		if n := nickOf(ann, bobID); n != "Bobby" {
			t.Fatalf("nickname after the request became a friendship: %v", n)
		}
		if n := nickOf(bob, annID); n != nil {
			t.Fatalf("bob sees a nickname: %v", n)
		}
		var ready struct {
			Relationships []map[string]any `json:"relationships"`
		}
		if err := json.Unmarshal(identify(dial(t, s, ""), ann, allIntents).D, &ready); err != nil || len(ready.Relationships) != 1 || ready.Relationships[0]["nickname"] != "Bobby" {
			t.Fatalf("READY relationships: %v %v", ready.Relationships, err)
		}
		st.Expect(t, nick(ann, bobID, map[string]any{"nickname": strings.Repeat("x", 33)}), 400, st.Code(50035))
		st.Expect(t, nick(ann, catID, map[string]any{"nickname": "Kitty"}), 404, st.Code(10013))
		st.Expect(t, nick(ann, bobID, map[string]any{"nickname": nil}), http.StatusNoContent, nil)
		if n := nickOf(ann, bobID); n != nil {
			t.Fatalf("nickname after clearing: %v", n)
		}
	})
}
