package federation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hearth/homeserver/wire"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hearth/federation"
	st "hearth/server/servertest"
	"hearth/snowflake"
	"hearth/storage"
)

// callBytes posts raw to to's act endpoint, signed as from with a fresh
// Date and signature: a peer re-sending an act it signed before.
func callBytes(t *testing.T, from, to *st.Server, raw []byte) (int, map[string]any) {
	t.Helper()
	status, out, err := postAct(from, to, raw)
	if err != nil {
		t.Fatal(err)
	}
	return status, out
}

// postAct is callBytes for any goroutine.
func postAct(from, to *st.Server, raw []byte) (int, map[string]any, error) {
	key, err := federation.LoadOrCreateKey(filepath.Join(from.Options.DataDir, "signing.key"))
	if err != nil {
		return 0, nil, err
	}
	req, _ := http.NewRequest("POST", to.URL()+federation.ActPath, bytes.NewReader(raw))
	if err := federation.Sign(req, raw, from.ServerName(), key, time.Now()); err != nil {
		return 0, nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out, nil
}

// An act received twice is applied once, one past its deadline or under
// an ID that is not the signer's is refused and changes nothing, a refused
// act leaves no receipt, and receipts are pruned once a repeat would be
// refused as expired anyway. The origin runs on each database.
func TestFederationActsOnce(t *testing.T) {
	st.ForEachBackend(t, testActsOnce)
}

func testActsOnce(t *testing.T, backend st.Backend) {
	ctx := context.Background()
	// The origin's clock runs ahead of the real one by skew, to reach the
	// receipts' pruning without waiting for it; signatures keep the real
	// clock.
	var skew atomic.Int64
	a := st.Start(t, st.Options{Backend: backend, Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	b := st.Start(t, st.Options{})
	ann, bob := register(t, a, "ann"), register(t, b, "bob")
	g := ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Once"}), 201)
	guild := g["id"].(string) + "@" + a.ServerName()
	_, general := ann.guildNamed(t, "Once")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	bGuild, bGeneral := bob.guildNamed(t, "Once")
	secret := ok(t, ann.do(t, "POST", "/api/v10/guilds/"+g["id"].(string)+"/channels", map[string]any{
		"name": "staff", "permission_overwrites": []map[string]any{{"id": g["id"], "type": 0, "deny": "1024"}}}), 201)["id"].(string)
	stamp := newStamper()
	// The test speaks for b's homeserver, which records each act it sends
	// for bob, so that its replica takes the origin's events of them.
	send := func(channel string, data map[string]any) map[string]any {
		act := stamp(b, map[string]any{"user": bob.id + "@" + b.ServerName(), "action": "message.create", "guild": guild,
			"channel": channel + "@" + a.ServerName(), "data": data})
		recordSent(t, b, act, bGuild, bob.id)
		return act
	}
	// count says how many messages of general on the origin have content.
	count := func(content string) int {
		n := 0
		for _, c := range ann.contents(t, general, 100) {
			if c == content {
				n++
			}
		}
		return n
	}

	// The same act twice, byte for byte under fresh signatures: applied
	// once, and the repeat answered as the first.
	first := send(general, map[string]any{"content": "once"})
	raw, _ := json.Marshal(first)
	s1, r1 := callBytes(t, b, a, raw)
	s2, r2 := callBytes(t, b, a, raw)
	if s1 != 200 || s2 != 200 || !reflect.DeepEqual(r1, r2) {
		t.Fatalf("act and repeat answered %d %v and %d %v", s1, r1, s2, r2)
	}
	if n := count("once"); n != 1 {
		t.Fatalf("the act sent twice made %d messages", n)
	}
	// Copies arriving together: one claims the act, the others are
	// answered as repeats (the message, or null while it is being made).
	together, _ := json.Marshal(send(general, map[string]any{"content": "together"}))
	type answer struct {
		status int
		body   map[string]any
		err    error
	}
	answers := make(chan answer, 8)
	for range cap(answers) {
		go func() {
			status, body, err := postAct(b, a, together)
			answers <- answer{status, body, err}
		}()
	}
	for range cap(answers) {
		ans := <-answers
		if ans.err != nil || ans.status != 200 {
			t.Fatalf("a copy of an act sent at once: %d %v %v", ans.status, ans.body, ans.err)
		}
	}
	if n := count("together"); n != 1 {
		t.Fatalf("8 copies of an act sent at once made %d messages", n)
	}

	// Refusals: each changes nothing.
	withID := func(id string) map[string]any {
		act := send(general, map[string]any{"content": "refused"})
		act["id"] = id
		return act
	}
	withDeadline := func(d any) map[string]any {
		act := send(general, map[string]any{"content": "refused"})
		act["deadline"] = d
		return act
	}
	reused := send(general, map[string]any{"content": "refused"})
	reused["id"] = first["id"]
	expired := withDeadline(wire.FormatActDeadline(time.Now().Add(-time.Second)))
	hidden := send(secret, map[string]any{"content": "refused"})
	empty := send(general, map[string]any{"content": " "})
	n := time.Now().UnixNano()
	cases := []struct {
		name   string
		act    map[string]any
		status int
		code   string
	}{
		{"an ID of a third server", withID(fmt.Sprintf("%d@c.example", n)), 403, "FORBIDDEN"},
		{"an ID of the origin's", withID(fmt.Sprintf("%d@%s", n, a.ServerName())), 403, "FORBIDDEN"},
		{"an ID that is not a snowflake", withID("bob-1@" + b.ServerName()), 403, "FORBIDDEN"},
		{"an ID over 64 bits", withID("99999999999999999999@" + b.ServerName()), 403, "FORBIDDEN"},
		{"an ID without a server", withID(fmt.Sprint(n)), 403, "FORBIDDEN"},
		{"no ID", withID(""), 400, "INVALID_FORM_BODY"},
		{"no deadline", withDeadline(""), 400, "INVALID_FORM_BODY"},
		{"a deadline that is not RFC 3339", withDeadline("in a minute"), 400, "INVALID_FORM_BODY"},
		{"a deadline as a number", withDeadline(time.Now().Add(time.Second).UnixMilli()), 400, "INVALID_FORM_BODY"},
		{"a deadline too far ahead", withDeadline(wire.FormatActDeadline(time.Now().Add(wire.ActDeadlineMax + time.Minute))), 400, "INVALID_FORM_BODY"},
		{"a deadline past", expired, 408, "EXPIRED"},
		{"an ID used for another act", reused, 403, "FORBIDDEN"},
		{"a write the member may not make", hidden, 403, "MISSING_ACCESS"},
		{"a write the domain refuses", empty, 400, "EMPTY_MESSAGE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, b, a, "POST", federation.ActPath, tc.act)
			if status != tc.status || body["code"] != tc.code {
				t.Fatalf("%d %v, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
	if n := count("refused"); n != 0 {
		t.Fatalf("refused acts made %d messages", n)
	}
	// The ID of an act the domain refused (after its receipt was claimed)
	// is free again: nothing was kept under it.
	again := send(general, map[string]any{"content": "after a refusal"})
	again["id"] = empty["id"]
	if status, body := call(t, b, a, "POST", federation.ActPath, again); status != 200 {
		t.Fatalf("an act under the ID of a refused one: %d %v", status, body)
	}

	// Two acts with one nonce (a client retrying after an ambiguous
	// failure, through its server): one message, and both answered with it.
	nonce := fmt.Sprint(time.Now().UnixNano())
	_, m1 := call(t, b, a, "POST", federation.ActPath, send(general, map[string]any{"content": "retried", "nonce": nonce}))
	_, m2 := call(t, b, a, "POST", federation.ActPath, send(general, map[string]any{"content": "retried", "nonce": nonce}))
	id1, _ := m1["result"].(map[string]any)["id"].(string)
	if id2, _ := m2["result"].(map[string]any)["id"].(string); id1 == "" || id1 != id2 || count("retried") != 1 {
		t.Fatalf("two sends with one nonce: %v and %v, %d messages", m1, m2, count("retried"))
	}
	// And so through the member server's client API.
	nonce = fmt.Sprint(time.Now().UnixNano())
	c1 := ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", map[string]any{"content": "client retry", "nonce": nonce}), 200)
	c2 := ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", map[string]any{"content": "client retry", "nonce": nonce}), 200)
	if c1["id"] != c2["id"] || count("client retry") != 1 {
		t.Fatalf("a client's retry with its nonce: %v then %v, %d messages on the origin", c1["id"], c2["id"], count("client retry"))
	}

	// The IDs that were not the signer's, and the reused one, are counted
	// as a peer overstepping.
	const forbidden = `hearth_federation_inbound_rejected_total{reason="forbidden"} `
	counted := 0
	for _, line := range strings.Split(string(a.Do(t, "GET", "/metrics", "", nil).Body), "\n") {
		if v, found := strings.CutPrefix(line, forbidden); found {
			counted, _ = strconv.Atoi(v)
		}
	}
	if counted < 6 {
		t.Errorf("%d forbidden requests counted, want the 6 refused act IDs at least", counted)
	}

	// In the origin's database: the accepted act's answer, and nothing for
	// the acts refused.
	a = a.RestartWith(t, func(db storage.Store) {
		rc, err := db.ActReceipt(ctx, first["id"].(string))
		if err != nil || !rc.Done || rc.Peer != b.ServerName() || rc.Seq != int64(r1["seq"].(float64)) {
			t.Errorf("receipt of the accepted act = %+v, %v", rc, err)
		}
		for _, act := range []map[string]any{expired, hidden} {
			if rc, err := db.ActReceipt(ctx, act["id"].(string)); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("receipt kept for refused act %v: %+v, %v", act["id"], rc, err)
			}
		}
	})
	ann.s = a

	// Pruning: once the origin's clock is well past the deadlines, the
	// receipts go, and a repeat of the first act is refused as expired
	// rather than applied again.
	skew.Store(int64(wire.ActTimeout + 11*time.Minute))
	pruned, err := a.Homeserver().PruneActReceipts(ctx)
	if err != nil || pruned < 4 {
		t.Fatalf("PruneActReceipts = %d, %v; want the 4 acts' receipts or more", pruned, err)
	}
	if status, body := callBytes(t, b, a, raw); status != 408 || body["code"] != "EXPIRED" {
		t.Fatalf("a repeat after pruning: %d %v", status, body)
	}
	skew.Store(0)
	if n := count("once"); n != 1 {
		t.Fatalf("after the repeat past pruning there are %d messages", n)
	}
}

// The member server waits for an act's answer longer than the act's
// deadline, so that the origin never applies an act after the member
// server has given up on it.
func TestActWaitOutlastsDeadline(t *testing.T) {
	tr, ok := federation.NewClient(true).Transport.(*http.Transport)
	if !ok {
		t.Fatal("NewClient's transport is not an *http.Transport")
	}
	if wait := min(tr.ResponseHeaderTimeout, federation.NewClient(true).Timeout); wait < wire.ActTimeout+wire.ActGrace {
		t.Fatalf("an act's answer is waited for %s, less than its deadline %s and grace %s", wait, wire.ActTimeout, wire.ActGrace)
	}
}

// An act whose deadline falls while the origin carries it out is either
// done and answered 200, or answered EXPIRED and never done: the answer
// never contradicts what happens. The origin's clock is set so that each
// act arrives with a little less time left than the one before.
func TestFederationActDeadlineHolds(t *testing.T) {
	st.ForEachBackend(t, testActDeadlineHolds)
}

func testActDeadlineHolds(t *testing.T, backend st.Backend) {
	var skew atomic.Int64
	a := st.Start(t, st.Options{Backend: backend, Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	b := st.Start(t, st.Options{})
	ann, bob := register(t, a, "ann"), register(t, b, "bob")
	g := ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Deadlines"}), 201)
	_, general := ann.guildNamed(t, "Deadlines")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	stamp := newStamper()
	answered := map[string]int{}
	for i := range 40 {
		content := fmt.Sprintf("late %d", i)
		left := time.Duration(i) * time.Millisecond
		skew.Store(int64(wire.ActTimeout - left))
		status, body := call(t, b, a, "POST", federation.ActPath, stamp(b, map[string]any{"user": bob.id + "@" + b.ServerName(),
			"action": "message.create", "guild": g["id"].(string) + "@" + a.ServerName(), "channel": general + "@" + a.ServerName(),
			"data": map[string]any{"content": content}}))
		if status != 200 && (status != 408 || body["code"] != "EXPIRED") {
			t.Fatalf("act with %s left: %d %v", left, status, body)
		}
		answered[content] = status
	}
	skew.Store(0)
	// The log's writes are queued in order: once a later one is in, every
	// act before it is either in or dropped for good.
	ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "marker"}), 200)
	have := map[string]int{}
	for _, c := range ann.contents(t, general, 100) {
		have[c]++
	}
	expired := 0
	for content, status := range answered {
		want := 1
		if status == 408 {
			want, expired = 0, expired+1
		}
		if have[content] != want {
			t.Errorf("%q answered %d, and the origin has it %d times", content, status, have[content])
		}
	}
	t.Logf("%d of %d acts expired", expired, len(answered))
}

// An act's deadline is written in the origin's clock, as the member server
// learnt it from the Date of the origin's answers (spec/federation.md
// §7.3, "Clocks"): a member server whose clock lags the origin's by more
// than the act's 15 s still gets its acts carried out, and one whose clock
// runs ahead never gives the origin a deadline later than 15 s by the
// origin's clock, so an act is never carried out after the member server
// stopped waiting for it.
func TestFederationActsUnderClockSkew(t *testing.T) {
	st.ForEachBackend(t, func(t *testing.T, backend st.Backend) {
		for _, skew := range []time.Duration{30 * time.Second, -30 * time.Second} {
			t.Run(fmt.Sprint("origin ", skew), func(t *testing.T) { testActsUnderClockSkew(t, backend, skew) })
		}
	})
}

func testActsUnderClockSkew(t *testing.T, backend st.Backend, skew time.Duration) {
	ctx := context.Background()
	aNow := func() time.Time { return time.Now().Add(skew) }
	a := st.Start(t, st.Options{Backend: backend, Now: aNow})
	b := st.Start(t, st.Options{Backend: backend})
	ann, bob := register(t, a, "ann"), register(t, b, "bob")
	g := ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Skewed"}), 201)["id"].(string)
	_, general := ann.guildNamed(t, "Skewed")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	_, bGeneral := bob.guildNamed(t, "Skewed")
	sent := ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", map[string]any{"content": "across the skew"}), 200)
	ok(t, bob.do(t, "PATCH", "/api/v10/channels/"+bGeneral+"/messages/"+sent["id"].(string), map[string]any{"content": "edited across the skew"}), 200)
	if got := ann.contents(t, general, 10); strings.Join(got, "|") != "edited across the skew" {
		t.Fatalf("A has %q", got)
	}
	// Every act of bob's the origin carried out had a deadline at most
	// ActTimeout ahead of the origin's clock when it arrived.
	guild, err := strconv.ParseUint(g, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := a.Store().Events(ctx, snowflake.ID(guild), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	acts := 0
	for _, e := range evs {
		if e.Act == "" {
			continue
		}
		rc, err := a.Store().ActReceipt(ctx, e.Act)
		if err != nil {
			t.Fatalf("receipt of act %s: %v", e.Act, err)
		}
		if ahead := rc.Deadline.Sub(e.CreatedAt); ahead > wire.ActTimeout {
			t.Errorf("act %s: deadline %s ahead of the origin's clock when it was logged, over %s", e.Act, ahead, wire.ActTimeout)
		}
		acts++
	}
	if acts != 2 {
		t.Fatalf("the origin logged %d events of acts, want 2 (the send and the edit)", acts)
	}
}

// recordSent records act as sent by from's homeserver for its user in its
// replica (what it does before sending one itself), for a test that sends
// the act by hand in its name.
func recordSent(t *testing.T, from *st.Server, act map[string]any, replica, user string) {
	t.Helper()
	id := func(s string) snowflake.ID {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return snowflake.ID(n)
	}
	sa := storage.SentAct{ID: act["id"].(string), LogID: id(replica), UserID: id(user), Action: act["action"].(string),
		Expires: time.Now().Add(time.Hour)}
	if err := from.Store().Update(context.Background(), func(tx storage.Tx) error { return tx.RecordSentAct(context.Background(), sa) }); err != nil {
		t.Fatal(err)
	}
}
