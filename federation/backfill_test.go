package federation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	st "hearth/server/servertest"
	"hearth/snowflake"
	"hearth/storage"
)

// front stands where a homeserver's name points, in front of a real
// homeserver: everything passes through, except history answers, which it
// can rewrite (a rogue origin; answers are not signed, so whoever answers
// at the origin's name is the origin). An origin cut off from its peers is
// made with the packet filter instead (partition_test.go).
type front struct {
	srv *httptest.Server

	mu      sync.Mutex
	proxy   *httputil.ReverseProxy
	rewrite func(page []any) []any

	histories atomic.Int64 // history answers given
}

func newFront(t *testing.T) *front {
	f := &front{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// name is the server name the origin behind the front takes.
func (f *front) name() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *front) to(s *st.Server) {
	u, _ := url.Parse(s.URL())
	f.mu.Lock()
	f.proxy = httputil.NewSingleHostReverseProxy(u)
	f.mu.Unlock()
}

// answer rewrites the history pages the origin gives; nil passes them on.
func (f *front) answer(fn func(page []any) []any) {
	f.mu.Lock()
	f.rewrite = fn
	f.mu.Unlock()
}

func (f *front) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	proxy, rewrite := f.proxy, f.rewrite
	f.mu.Unlock()
	history := strings.HasPrefix(r.URL.Path, "/_hearth/federation/v1/channels/") && strings.HasSuffix(r.URL.Path, "/messages")
	if !history {
		proxy.ServeHTTP(w, r)
		return
	}
	defer f.histories.Add(1)
	if rewrite == nil {
		proxy.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	proxy.ServeHTTP(rec, r)
	var page []any
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
		http.Error(w, "the origin did not answer a page", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rewrite(page))
}

// pageMessages reads a channel page: contents and IDs, oldest first.
func pageMessages(t *testing.T, u user, channel, query string) (contents []string, ids []snowflake.ID, ms []map[string]any) {
	t.Helper()
	ms = list(t, u.do(t, "GET", "/api/v10/channels/"+channel+"/messages?"+query, nil))
	for i := len(ms) - 1; i >= 0; i-- {
		contents = append(contents, ms[i]["content"].(string))
		n, _ := strconv.ParseUint(ms[i]["id"].(string), 10, 64)
		ids = append(ids, snowflake.ID(n))
	}
	return contents, ids, ms
}

// Backfilled messages take snowflakes of the replica's own, never the
// origin's numbers, and still sort before every live message in the
// origin's order, over several pages; replies to them resolve, whether the
// reply came in the same page or live before the message was fetched.
func TestFederationBackfillLocalIDs(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		f := newFront(t)
		b := st.Start(t, st.Options{Backend: backend})
		a := st.Start(t, st.Options{ServerName: f.name()})
		f.to(a)
		ann, bob := register(t, a, "ann"), register(t, b, "bob")
		ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Old"}), 201)
		_, general := ann.guildNamed(t, "Old")
		const old = 230 // three pages of 100
		var want []string
		originIDs := map[string]string{}
		for i := range old {
			body := map[string]any{"content": fmt.Sprintf("old %d", i)}
			if i == 10 {
				body["message_reference"] = map[string]any{"message_id": originIDs["old 5"]}
			}
			m := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", body), 200)
			want = append(want, body["content"].(string))
			originIDs[want[i]] = m["id"].(string)
		}
		code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
		ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
		_, bGeneral := bob.guildNamed(t, "Old")
		ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "new"}), 200)
		ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "live reply",
			"message_reference": map[string]any{"message_id": originIDs["old 3"]}}), 200)
		want = append(want, "new", "live reply")
		eventually(t, "the live messages on B", func() string {
			if got, _, _ := pageMessages(t, bob, bGeneral, "limit=2"); strings.Join(got, "|") != "new|live reply" {
				return fmt.Sprintf("B's newest: %q", got)
			}
			return ""
		})
		// Each read waits a moment for the origin; the history is whole
		// once every page has come.
		eventually(t, "B's whole history", func() string {
			if got := bob.history(t, bGeneral); strings.Join(got, "|") != strings.Join(want, "|") {
				return fmt.Sprintf("%d of %d messages", len(got), len(want))
			}
			return ""
		})
		if n := f.histories.Load(); n < 3 {
			t.Fatalf("the origin answered %d history pages, want at least 3", n)
		}
		// Read back page by page, the IDs ascend, the old ones are the
		// replica's own, none is the origin's number.
		var ids []snowflake.ID
		var ms []map[string]any
		before := ""
		for {
			q := "limit=100"
			if before != "" {
				q += "&before=" + before
			}
			_, pageIDs, page := pageMessages(t, bob, bGeneral, q)
			ids, ms = append(pageIDs, ids...), append(page, ms...)
			if len(page) < 100 {
				break
			}
			before = pageIDs[0].String()
		}
		if len(ids) != len(want) {
			t.Fatalf("paged %d messages, want %d", len(ids), len(want))
		}
		for i, id := range ids {
			if i > 0 && id <= ids[i-1] {
				t.Fatalf("message %d (%q) has ID %d, not above %d", i, want[i], id, ids[i-1])
			}
			backfilled := i < old
			if got := id.Node() == snowflake.BackfillNode; got != backfilled {
				t.Fatalf("message %q has ID %d on node %d", want[i], id, id.Node())
			}
			if backfilled && id.String() == originIDs[want[i]] {
				t.Fatalf("message %q kept the origin's ID %s", want[i], id)
			}
		}
		// Replies: newest first in ms.
		byContent := map[string]map[string]any{}
		for _, m := range ms {
			byContent[m["content"].(string)] = m
		}
		for reply, to := range map[string]string{"old 10": "old 5", "live reply": "old 3"} {
			ref, _ := byContent[reply]["referenced_message"].(map[string]any)
			if ref == nil || ref["content"] != to {
				t.Fatalf("%q replies to %v, want %q", reply, byContent[reply]["referenced_message"], to)
			}
			if ref["id"] != byContent[to]["id"] {
				t.Fatalf("%q replies to ID %v, but %q has ID %v", reply, ref["id"], to, byContent[to]["id"])
			}
		}
	})
}

// An origin's history answer may name only its own objects in the asked
// channel, below the point asked for; a page that names the receiver's
// objects, a third server's, another channel, or a bare local ID is
// refused whole and leaves nothing behind. A page whose message IDs are
// the numbers of the receiver's own user, role and message is stored
// under IDs of the replica's own, and maps nothing onto those objects.
func TestFederationRefusesHostileHistory(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		ctx := context.Background()
		f := newFront(t)
		b := st.Start(t, st.Options{Backend: backend})
		a := st.Start(t, st.Options{ServerName: f.name()})
		f.to(a)
		bob := register(t, b, "bob")
		// Bob's own objects on B, made before the origin's history.
		home := ok(t, bob.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Home"}), 201)["id"].(string)
		_, homeChannel := bob.guildNamed(t, "Home")
		role := ok(t, bob.do(t, "POST", "/api/v10/guilds/"+home+"/roles", map[string]any{"name": "keepers"}), 200)["id"].(string)
		private := ok(t, bob.do(t, "POST", "/api/v10/channels/"+homeChannel+"/messages", map[string]any{"content": "private"}), 200)["id"].(string)

		ann := register(t, a, "ann")
		ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Rogue"}), 201)
		rogueGuild := mustGuild(t, ann, "Rogue")
		general := channelNamed(t, ann, rogueGuild, "general")
		side := ok(t, ann.do(t, "POST", "/api/v10/guilds/"+rogueGuild+"/channels", map[string]any{"name": "side"}), 201)["id"].(string)
		var oldIDs []string
		for i := range 3 {
			oldIDs = append(oldIDs, ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages",
				map[string]any{"content": fmt.Sprintf("old %d", i)}), 200)["id"].(string))
		}
		code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
		ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
		bGeneral := channelNamed(t, bob, mustGuild(t, bob, "Rogue"), "general")
		newID := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "new"}), 200)["id"].(string)
		bChannel, _ := strconv.ParseUint(bGeneral, 10, 64)
		// Read from B's database: a read through the API would fetch
		// history already.
		eventually(t, "the live message on B", func() string {
			if got, err := b.Store().Messages(ctx, snowflake.ID(bChannel), storage.MessageQuery{Limit: 5}); err != nil || len(got) != 1 || got[0].Content != "new" {
				return fmt.Sprintf("B holds %v, %v", got, err)
			}
			return ""
		})
		floor, err := b.Store().HistoryFloor(ctx, snowflake.ID(bChannel))
		if err != nil {
			t.Fatalf("no history floor on B: %v", err)
		}

		onB := func(id string) string { return id + "@" + b.ServerName() }
		onA := func(id string) string { return id + "@" + a.ServerName() }
		first := func(fn func(m map[string]any)) func([]any) []any {
			return func(page []any) []any {
				if len(page) > 0 {
					fn(page[0].(map[string]any))
				}
				return page
			}
		}
		// A page of its first message alone: IDs older than the others
		// keep it in order.
		only := func(fn func(m map[string]any)) func([]any) []any {
			return func(page []any) []any { return first(fn)(page)[:1] }
		}
		cases := []struct {
			name    string
			rewrite func([]any) []any
		}{
			{"a message of the receiver", first(func(m map[string]any) { m["id"] = onB(private) })},
			{"a message of a third server", first(func(m map[string]any) { m["id"] = "1@c.example" })},
			{"a message of another channel", first(func(m map[string]any) { m["channel_id"] = onA(side) })},
			{"a message in a channel of the receiver", first(func(m map[string]any) { m["channel_id"] = onB(homeChannel) })},
			{"a message in a guild of the receiver", first(func(m map[string]any) { m["guild_id"] = onB(home) })},
			{"a mention of the receiver's role", first(func(m map[string]any) { m["mention_roles"] = []any{onB(role)} })},
			{"a content mention of the receiver's role", first(func(m map[string]any) { m["content"] = "hi <@&" + onB(role) + ">" })},
			{"a reply to the receiver's private message", first(func(m map[string]any) {
				m["message_reference"] = map[string]any{"message_id": onB(private), "channel_id": onB(homeChannel)}
			})},
			{"the receiver's role as author", first(func(m map[string]any) { m["author"].(map[string]any)["id"] = onB(role) })},
			{"a bare local ID as author", first(func(m map[string]any) { m["author"].(map[string]any)["id"] = bob.id })},
			{"no author", first(func(m map[string]any) { delete(m, "author") })},
			{"a webhook message of the receiver's user", first(func(m map[string]any) {
				m["webhook_id"] = onB(bob.id)
				m["author"].(map[string]any)["id"] = onB(bob.id)
			})},
			{"a webhook message its webhook did not write", first(func(m map[string]any) { m["webhook_id"] = onA(side) })},
			{"a number as author", first(func(m map[string]any) { m["author"].(map[string]any)["id"] = json.Number(bob.id) })},
			{"a message said to be by the receiver's user, who never wrote it", first(func(m map[string]any) {
				m["author"] = map[string]any{"id": onB(bob.id), "username": "bob"}
			})},
			{"a message that is the origin's guild", only(func(m map[string]any) { m["id"] = onA(rogueGuild) })},
			{"a message that is the origin's user", only(func(m map[string]any) { m["id"] = onA(ann.id) })},
			{"a second name for a message", first(func(m map[string]any) { m["id"] = "0" + m["id"].(string) })},
			{"a message newer than asked", first(func(m map[string]any) { m["id"] = onA(newID) })},
			{"a page out of order", func(page []any) []any {
				page[0], page[1] = page[1], page[0]
				return page
			}},
			{"a page with one message twice", func(page []any) []any { return append([]any{page[0]}, page...) }},
			{"an object instead of a page", func(page []any) []any { return []any{"not a message"} }},
		}
		wantGlobals := make([]storage.GlobalID, len(oldIDs))
		for i, id := range oldIDs {
			wantGlobals[i] = storage.GlobalID{Origin: a.ServerName(), OriginID: id}
		}
		// A page naming what the origin does not own is refused as
		// forbidden; one that is not the page asked for, as refused_history.
		refusedHistory := func() float64 {
			return max(0, b.Metric(t, `hearth_federation_inbound_rejected_total{reason="refused_history"}`)) +
				max(0, b.Metric(t, `hearth_federation_inbound_rejected_total{reason="forbidden"}`))
		}
		for _, tc := range cases {
			f.answer(tc.rewrite)
			counted := refusedHistory()
			// One fetch per channel at a time: a second answer given
			// means the first was handled.
			n := f.histories.Load()
			eventually(t, tc.name+": two pages answered", func() string {
				got, _, _ := pageMessages(t, bob, bGeneral, "limit=50")
				if strings.Join(got, "|") != "new" {
					t.Fatalf("%s: B shows %q", tc.name, got)
				}
				if f.histories.Load() < n+2 {
					return "waiting for the origin's answers"
				}
				return ""
			})
			if got, err := b.Store().FederatedIDs(ctx, wantGlobals); err != nil || len(got) != 0 {
				t.Fatalf("%s: the refused page left mappings %v, %v", tc.name, got, err)
			}
			if got, err := b.Store().HistoryFloor(ctx, snowflake.ID(bChannel)); err != nil || got != floor {
				t.Fatalf("%s: the floor moved to %v, %v", tc.name, got, err)
			}
			if got := refusedHistory(); got <= counted {
				t.Fatalf("%s: refusals counted %v before and %v after the refused pages", tc.name, counted, got)
			}
		}

		// The old aliasing: old messages whose numbers are the receiver's
		// user, role and message. Stored, but as the replica's own IDs.
		aliases := []string{bob.id, role, private}
		for _, id := range aliases {
			if n, _ := strconv.ParseUint(id, 10, 64); snowflake.ID(n) > floor {
				t.Fatalf("bob's object %s is not below the floor %d", id, floor)
			}
		}
		f.answer(func(page []any) []any {
			out := []any{}
			for i, id := range []string{private, role, bob.id} { // newest first
				var m map[string]any
				raw, _ := json.Marshal(page[0])
				_ = json.Unmarshal(raw, &m)
				m["id"], m["content"] = onA(id), fmt.Sprintf("alias %d", i)
				out = append(out, m)
			}
			return out
		})
		eventually(t, "the aliasing page stored", func() string {
			if got, _, _ := pageMessages(t, bob, bGeneral, "limit=50"); strings.Join(got, "|") != "alias 2|alias 1|alias 0|new" {
				return fmt.Sprintf("B shows %q", got)
			}
			return ""
		})
		for _, id := range aliases {
			m, err := b.Store().FederatedID(ctx, a.ServerName(), id)
			local := m.Local
			if err != nil || local.String() == id || local.Node() != snowflake.BackfillNode {
				t.Fatalf("%s@%s maps to %v, %v: want a backfill ID of B's own", id, a.ServerName(), local, err)
			}
		}
		if _, err := b.Store().HistoryFloor(ctx, snowflake.ID(bChannel)); err == nil {
			t.Fatalf("a short page left the floor")
		}
		me := ok(t, bob.do(t, "GET", "/api/v10/users/@me", nil), 200)
		if me["id"] != bob.id || me["username"] != "bob" {
			t.Fatalf("bob is now %v", me)
		}
		if got, _, _ := pageMessages(t, bob, homeChannel, "limit=10"); strings.Join(got, "|") != "private" {
			t.Fatalf("bob's own channel now holds %q", got)
		}
		if roles := list(t, bob.do(t, "GET", "/api/v10/guilds/"+home+"/roles", nil)); !hasRole(roles, role, "keepers") {
			t.Fatalf("bob's role changed: %v", roles)
		}
	})
}

func hasRole(roles []map[string]any, id, name string) bool {
	for _, r := range roles {
		if r["id"] == id && r["name"] == name {
			return true
		}
	}
	return false
}

func mustGuild(t *testing.T, u user, name string) string {
	t.Helper()
	g, _ := u.guildNamed(t, name)
	if g == "" {
		t.Fatalf("%s has no guild %q", u.id, name)
	}
	return g
}

func channelNamed(t *testing.T, u user, guild, name string) string {
	t.Helper()
	for _, c := range list(t, u.do(t, "GET", "/api/v10/guilds/"+guild+"/channels", nil)) {
		if c["name"] == name {
			return c["id"].(string)
		}
	}
	t.Fatalf("guild %s has no channel %q", guild, name)
	return ""
}

// TestHistoryShowsOnlyRecordedOwnMessages: a history page may show a
// message as written by one of the receiver's users only when the receiver
// recorded that user's act making it (storage.Tx.RecordAuthor, kept for
// good, unlike the act), as a live batch must name the act; a page that
// says so of any other message is refused whole (spec/federation.md §14,
// "Writes in a user's name"). The origin is a real homeserver behind a
// front that rewrites its history pages.
func TestHistoryShowsOnlyRecordedOwnMessages(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		ctx := context.Background()
		f := newFront(t)
		b := st.Start(t, st.Options{Backend: backend})
		a := st.Start(t, st.Options{ServerName: f.name()})
		f.to(a)
		bob, ann := register(t, b, "bob"), register(t, a, "ann")
		ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Club"}), 201)
		club := mustGuild(t, ann, "Club")
		general := channelNamed(t, ann, club, "general")
		var old []string
		for i := range 2 {
			old = append(old, ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages",
				map[string]any{"content": fmt.Sprintf("old %d", i)}), 200)["id"].(string))
		}
		code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
		ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
		bGeneral := channelNamed(t, bob, mustGuild(t, bob, "Club"), "general")
		bobG := map[string]any{"id": bob.id + "@" + b.ServerName(), "username": "bob"}
		asBob := func(id string) func([]any) []any {
			return func(page []any) []any {
				for _, m := range page {
					if m := m.(map[string]any); m["id"] == id+"@"+a.ServerName() {
						m["author"] = bobG
					}
				}
				return page
			}
		}
		// "old 1" said to be bob's, who never wrote it: refused whole.
		f.answer(asBob(old[1]))
		n := f.histories.Load()
		eventually(t, "the page answered", func() string {
			if got, _, _ := pageMessages(t, bob, bGeneral, "limit=50"); len(got) != 0 {
				t.Fatalf("B shows %q", got)
			}
			if f.histories.Load() < n+2 {
				return "waiting for the origin's answers"
			}
			return ""
		})
		// Recorded as bob's (as the live batch of his act would have): the
		// same page is taken, "old 1" as bob's.
		err := b.Store().Update(ctx, func(tx storage.Tx) error {
			n, _ := strconv.ParseUint(bob.id, 10, 64)
			return tx.RecordAuthor(ctx, a.ServerName(), old[1], snowflake.ID(n))
		})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "the page taken", func() string {
			got, _, ms := pageMessages(t, bob, bGeneral, "limit=50")
			if strings.Join(got, "|") != "old 0|old 1" {
				return fmt.Sprintf("B shows %q", got)
			}
			if au := ms[0]["author"].(map[string]any); au["id"] != bob.id {
				t.Fatalf("old 1 is by %v, want bob %s", au, bob.id)
			}
			return ""
		})
	})
}
