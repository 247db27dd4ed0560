package federation_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/federation"
	st "hearth/server/servertest"
)

// Partitions are made with the kernel's packet filter, not by stopping
// processes: a peer behind a cut is alive, its connections hang and its
// packets vanish, as on a real network. Each homeserver of these tests
// listens on its own loopback address, and a cut drops what other
// homeservers send to it (their requests leave from 127.0.0.1), so the
// servers stay up and readable by the test itself through the address it
// binds its own requests to.

// netfilter reports whether the tests may cut the network here: iptables
// is present and usable (root). CI must cut: there it fails instead.
func netfilter(t *testing.T) {
	t.Helper()
	err := exec.Command("iptables", "-w", "-L", "INPUT", "-n").Run()
	if err == nil {
		clearStaleCuts(t)
		return
	}
	if os.Getenv("CI") != "" || os.Getenv("HEARTH_TEST_NETFILTER") != "" {
		t.Fatalf("partition tests need iptables as root (apt-get install -y iptables): %v", err)
	}
	t.Skipf("partition tests skipped: iptables is not usable here (%v); CI runs them", err)
}

// cutComment marks the rules the tests insert, so that a run killed
// before it healed its cuts (a timeout's panic skips cleanups) does not
// leave a dropped address to the next run.
const cutComment = "hearth-partition-test"

// clearStaleCuts deletes the rules an earlier, killed run left.
func clearStaleCuts(t *testing.T) {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "-S", "INPUT").Output()
	if err != nil {
		t.Fatalf("list rules: %v", err)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		rule, ok := strings.CutPrefix(line, "-A ")
		if !ok || !strings.Contains(rule, cutComment) {
			continue
		}
		// The rule as iptables prints it, fields without quotes (the
		// comment has no spaces).
		args := append([]string{"-w", "-D"}, strings.Fields(rule)...)
		if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
			t.Fatalf("clear a stale cut %q: %v: %s", rule, err, out)
		}
		t.Logf("cleared a cut left by an earlier run: %s", rule)
	}
}

// cut drops every packet that reaches addr's IP from 127.0.0.1 (where the
// homeservers' requests come from) until heal is called or the test ends.
type cut struct {
	t    *testing.T
	rule []string
	once sync.Once
}

func newCut(t *testing.T, s *st.Server) *cut {
	t.Helper()
	host := s.ServerName()[:strings.LastIndex(s.ServerName(), ":")]
	c := &cut{t: t, rule: []string{"INPUT", "-p", "tcp", "-s", "127.0.0.1", "-d", host, "-m", "comment", "--comment", cutComment, "-j", "DROP"}}
	if out, err := exec.Command("iptables", append([]string{"-w", "-I"}, c.rule...)...).CombinedOutput(); err != nil {
		t.Fatalf("cut %s: %v: %s", host, err, out)
	}
	t.Cleanup(c.heal)
	return c
}

func (c *cut) heal() {
	c.once.Do(func() {
		if out, err := exec.Command("iptables", append([]string{"-w", "-D"}, c.rule...)...).CombinedOutput(); err != nil {
			c.t.Errorf("heal: %v: %s", err, out)
		}
	})
}

// testSource makes the test's own HTTP requests leave from 127.0.0.99, so
// that a cut, which drops what comes from 127.0.0.1, leaves the test able
// to read every server. The servers' outbound clients are their own.
func testSource(t *testing.T) {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 99)}, Timeout: 5 * time.Second}).DialContext
	old := http.DefaultClient.Transport
	http.DefaultClient.Transport = tr
	t.Cleanup(func() {
		http.DefaultClient.Transport = old
		tr.CloseIdleConnections()
	})
}

// lagOf reads an origin's delivery lag gauge for a peer.
func lagOf(t *testing.T, s *st.Server, peer string) float64 {
	return s.Metric(t, `hearth_federation_delivery_lag_events{peer="`+peer+`"}`)
}

// A peer that hangs (its packets dropped) holds up nobody else: the
// origin goes on delivering to the other peers, its lag gauge for the cut
// peer rises while the cut lasts and falls after, and the cut peer's
// replica catches up once the network heals.
func TestPartitionedPeerHoldsUpNobody(t *testing.T) {
	netfilter(t)
	testSource(t)
	a := st.Start(t, st.Options{Listen: "127.0.0.21:0"})
	b := st.Start(t, st.Options{Listen: "127.0.0.22:0"})
	c := st.Start(t, st.Options{Listen: "127.0.0.23:0"})
	ann, bob, cat := register(t, a, "ann"), register(t, b, "bob"), register(t, c, "cat")
	ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Cut"}), 201)
	_, general := ann.guildNamed(t, "Cut")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{"max_age": 0}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	ok(t, cat.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	_, bGeneral := bob.guildNamed(t, "Cut")
	_, cGeneral := cat.guildNamed(t, "Cut")
	ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "before"}), 200)
	for _, v := range []struct {
		u  user
		ch string
	}{{bob, bGeneral}, {cat, cGeneral}} {
		eventually(t, "the first message on "+v.u.s.ServerName(), func() string {
			if got := v.u.contents(t, v.ch, 10); len(got) != 1 {
				return fmt.Sprintf("%q", got)
			}
			return ""
		})
	}
	eventually(t, "no lag before the cut", func() string {
		if l := lagOf(t, a, b.ServerName()); l != 0 {
			return fmt.Sprintf("lag %v", l)
		}
		return ""
	})

	cb := newCut(t, b)
	const n = 5
	for i := range n {
		ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": fmt.Sprint("during ", i)}), 200)
	}
	eventually(t, "C receives while B hangs", func() string {
		if got := cat.contents(t, cGeneral, 10); len(got) != n+1 {
			return fmt.Sprintf("C has %q", got)
		}
		return ""
	})
	eventually(t, "the lag for B rises", func() string {
		if l := lagOf(t, a, b.ServerName()); l < n {
			return fmt.Sprintf("lag %v", l)
		}
		return ""
	})
	if got := bob.contents(t, bGeneral, 10); len(got) != 1 {
		t.Fatalf("B has %q behind the cut", got)
	}
	// The cut lasts until A has given up on a transaction at least once
	// (its request deadline), so that what follows the heal is A's retry,
	// not a stalled request's packets getting through.
	st.WaitFor(t, "A to fail a transaction to B", time.Minute, func() string {
		if n := a.Metric(t, `hearth_federation_transactions_total{outcome="error",peer="`+b.ServerName()+`"}`); n < 1 {
			return fmt.Sprintf("%v failed", n)
		}
		return ""
	})

	cb.heal()
	healed := time.Now()
	eventually(t, "B catches up after the heal", func() string {
		if got := bob.contents(t, bGeneral, 10); len(got) != n+1 {
			return fmt.Sprintf("B has %q", got)
		}
		return ""
	})
	t.Logf("B converged %v after the heal", time.Since(healed).Round(time.Millisecond))
	eventually(t, "the lag for B falls", func() string {
		if l := lagOf(t, a, b.ServerName()); l != 0 {
			return fmt.Sprintf("lag %v", l)
		}
		return ""
	})
}

// A write whose act is caught in a partition is never applied after its
// author was told it failed: bob's send through B reaches A only after B
// has answered 503 (its request sat in TCP behind the cut), and A refuses
// it as past its deadline. Bob's retry with the same nonce then makes one
// message, wherever the first copy went.
func TestPartitionedActNeverContradictsItsAnswer(t *testing.T) {
	netfilter(t)
	testSource(t)
	a := st.Start(t, st.Options{Listen: "127.0.0.31:0"})
	b := st.Start(t, st.Options{Listen: "127.0.0.32:0"})
	ann, bob := register(t, a, "ann"), register(t, b, "bob")
	ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Acts"}), 201)
	_, general := ann.guildNamed(t, "Acts")
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{"max_age": 0}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	_, bGeneral := bob.guildNamed(t, "Acts")
	send := map[string]any{"content": "through the storm", "nonce": "storm-1", "enforce_nonce": true}
	expired := func() float64 {
		return a.Metric(t, `hearth_http_requests_total{method="POST",route="/_hearth/federation/v1/act",status="408"}`)
	}

	ca := newCut(t, a)
	res := bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", send)
	if res.Status != 503 {
		t.Fatalf("send behind the cut answered %d %s, want 503", res.Status, res.Body)
	}
	ca.heal()
	// The act that sat in TCP reaches A once the network heals (the
	// kernel retransmits it), and A refuses it as past its deadline.
	st.WaitFor(t, "A to refuse the late act", 2*time.Minute, func() string {
		if n := expired(); n < 1 {
			return fmt.Sprintf("%v acts refused as expired", n)
		}
		return ""
	})
	if got := ann.contents(t, general, 10); len(got) != 0 {
		t.Fatalf("A applied the act its author was told had failed: %q", got)
	}
	// The retry makes the message once; a second retry finds it.
	first := ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", send), 200)
	again := ok(t, bob.do(t, "POST", "/api/v10/channels/"+bGeneral+"/messages", send), 200)
	if first["id"] != again["id"] {
		t.Fatalf("two retries with one nonce made %v and %v", first["id"], again["id"])
	}
	if got := ann.contents(t, general, 10); strings.Join(got, "|") != "through the storm" {
		t.Fatalf("A has %q after the retries", got)
	}
}

// historyFetches reads a server's gauge of older-history fetches in flight.
func historyFetches(t *testing.T, s *st.Server) float64 {
	return s.Metric(t, "hearth_federation_history_fetches_in_flight")
}

// A read of older history on a replica whose origin is cut off answers
// from what the replica holds within about a second (not after a connect
// timeout), while one fetch per channel goes on in the background, and
// the replica has the older messages once the network heals. What must
// cross (the join, the live message) crosses before the cut.
func TestFederationHistoryReadUnderPartition(t *testing.T) {
	netfilter(t)
	testSource(t)
	a := st.Start(t, st.Options{Listen: "127.0.0.41:0"})
	b := st.Start(t, st.Options{Listen: "127.0.0.42:0"})
	ann, bob := register(t, a, "ann"), register(t, b, "bob")
	ok(t, ann.do(t, "POST", "/api/v10/guilds", map[string]any{"name": "Far"}), 201)
	_, general := ann.guildNamed(t, "Far")
	var want []string
	for i := range 5 {
		want = append(want, fmt.Sprintf("old %d", i))
		ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": want[i]}), 200)
	}
	code := ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/invites", map[string]any{"max_age": 0}), 200)["code"].(string)
	ok(t, bob.do(t, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), nil), 200)
	_, bGeneral := bob.guildNamed(t, "Far")
	ok(t, ann.do(t, "POST", "/api/v10/channels/"+general+"/messages", map[string]any{"content": "new"}), 200)
	want = append(want, "new")
	// Waiting for the live message with after= reads what B holds without
	// starting a fetch (only reads that reach the bottom of what is held
	// fetch), so that the older history is still A's alone at the cut.
	eventually(t, "the live message on B", func() string {
		if got, _, _ := pageMessages(t, bob, bGeneral, "after=1&limit=50"); strings.Join(got, "|") != "new" {
			return fmt.Sprintf("B holds %q", got)
		}
		return ""
	})
	if n := historyFetches(t, b); n != 0 {
		t.Fatalf("B fetches older history before any read reached it: %v in flight", n)
	}
	histories := func() float64 {
		return a.Metric(t, `hearth_http_requests_total{method="GET",route="`+federation.HistoryPath+`",status="200"}`)
	}
	if n := histories(); n > 0 {
		t.Fatalf("A answered %v history requests before any read reached the older history", n)
	}

	ca := newCut(t, a)
	for reads := 0; reads < 3; reads++ {
		start := time.Now()
		got, _, _ := pageMessages(t, bob, bGeneral, "limit=50")
		// A read that waited on the cut origin would take a connect
		// timeout (10 s) or the backfill timeout (30 s); the read's own
		// budget is a second, and a loaded machine adds to it.
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("a history read took %s while the origin is cut off", took)
		}
		if strings.Join(got, "|") != "new" {
			t.Fatalf("B answered %q while the origin is cut off, want what it holds", got)
		}
		// The fetch the first read started outlives it: reads join it, so
		// there is never more than one for the channel.
		if n := historyFetches(t, b); n > 1 {
			t.Fatalf("%v history fetches in flight for one channel", n)
		}
	}
	eventually(t, "the fetch going on in the background", func() string {
		if n := historyFetches(t, b); n != 1 {
			// A fetch that timed out on the cut gave its slot back; the
			// next read starts another.
			pageMessages(t, bob, bGeneral, "limit=50")
			return fmt.Sprintf("%v history fetches in flight, want one", n)
		}
		return ""
	})
	if n := histories(); n > 0 {
		t.Fatalf("A answered %v history requests through the cut", n)
	}

	ca.heal()
	eventually(t, "the older history on B once the network heals", func() string {
		if got, _, _ := pageMessages(t, bob, bGeneral, "limit=50"); strings.Join(got, "|") != strings.Join(want, "|") {
			return fmt.Sprintf("B has %q", got)
		}
		return ""
	})
	if n := histories(); n < 1 {
		t.Fatalf("B has the older history but A answered %v history requests", n)
	}
}
