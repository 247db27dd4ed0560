package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	st "hearth/server/servertest"
)

// arrivals reports when each message of a content set is committed on a
// server, from its bus: the moment it exists there.
func arrivals(t testing.TB, s *st.Server) (func(content string) time.Time, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sub := s.Homeserver().Bus().Subscribe(1 << 14)
	seen := make(chan [2]any, 1<<14)
	done := make(chan struct{})
	go func() { // owned by the returned stop
		defer close(done)
		for {
			ev, err := sub.Next(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil || ev.Type != "MESSAGE_CREATE" {
				continue
			}
			var m struct {
				Content string `json:"content"`
			}
			if json.Unmarshal(ev.Payload, &m) == nil {
				seen <- [2]any{m.Content, time.Now()}
			}
		}
	}()
	got := map[string]time.Time{}
	wait := func(content string) time.Time {
		deadline := time.After(2 * time.Minute)
		for {
			if at, ok := got[content]; ok {
				return at
			}
			select {
			case x := <-seen:
				got[x[0].(string)] = x[1].(time.Time)
			case <-deadline:
				t.Fatalf("%q never arrived", content)
			}
		}
	}
	return wait, func() { cancel(); sub.Close(); <-done }
}

// BenchmarkBridge measures the bridge between a Hearth homeserver playing
// Discord (D) and bob's homeserver (H), SQLite, one process: the latency
// a message takes to cross each way (from the POST on one side to its
// commit on the other), against D's own answer to the same POST, and the
// messages per second relayed each way when HEARTH_BENCH_MESSAGES are
// sent back to back. Run with -test.benchtime 1x (docs/benchmarks.md).
func BenchmarkBridge(b *testing.B) {
	n := 200
	if v := os.Getenv("HEARTH_BENCH_MESSAGES"); v != "" {
		fmt.Sscan(v, &n)
	}
	e := linked(b, st.SQLite, 0)
	onD, stopD := arrivals(b, e.d.Server)
	defer stopD()
	onH, stopH := arrivals(b, e.h)
	defer stopH()
	post := func(s *st.Server, tok, channel, content string) time.Duration {
		t0 := time.Now()
		st.OK(b, s.Do(b, "POST", "/api/v10/channels/"+channel+"/messages", tok, map[string]any{"content": content}), http.StatusOK)
		return time.Since(t0)
	}
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	const probes = 30
	var own, dh, hd []time.Duration
	for i := range probes {
		c := fmt.Sprintf("d2h latency %d", i)
		t0 := time.Now()
		own = append(own, post(e.d.Server, e.d.alice, e.d.general, c))
		dh = append(dh, onH(c).Sub(t0))
		c = fmt.Sprintf("h2d latency %d", i)
		t0 = time.Now()
		post(e.h, e.bob, e.mirror, c)
		hd = append(hd, onD(c).Sub(t0))
	}
	b.ReportMetric(float64(median(own).Microseconds())/1000, "ms-discord-own-answer")
	b.ReportMetric(float64(median(dh).Microseconds())/1000, "ms-discord-to-hearth")
	b.ReportMetric(float64(median(hd).Microseconds())/1000, "ms-hearth-to-discord")

	t0 := time.Now()
	for i := range n {
		post(e.d.Server, e.d.alice, e.d.general, fmt.Sprintf("d2h %d", i))
	}
	onH(fmt.Sprintf("d2h %d", n-1))
	b.ReportMetric(float64(n)/time.Since(t0).Seconds(), "msg/s-discord-to-hearth")
	t0 = time.Now()
	for i := range n {
		post(e.h, e.bob, e.mirror, fmt.Sprintf("h2d %d", i))
	}
	onD(fmt.Sprintf("h2d %d", n-1))
	b.ReportMetric(float64(n)/time.Since(t0).Seconds(), "msg/s-hearth-to-discord")
}
