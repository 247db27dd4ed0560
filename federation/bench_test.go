package federation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"hearth/homeserver"
	st "hearth/server/servertest"
	"hearth/snowflake"
)

// benchPair starts an origin and a member homeserver (the backend from
// HEARTH_BENCH_BACKEND, SQLite by default) with a guild on the origin that
// a user of the member has joined. It returns the origin's guild and
// channel, the member's copy of the guild, and a principal that writes on
// the origin.
type benchPair struct {
	a, b           *st.Server
	guild, channel snowflake.ID
	replica        snowflake.ID
	writer         homeserver.Principal
}

func newBenchPair(b *testing.B) *benchPair {
	backend := st.Backend(os.Getenv("HEARTH_BENCH_BACKEND"))
	a := st.Start(b, st.Options{Backend: backend})
	m := st.Start(b, st.Options{Backend: backend})
	ann := a.Register(b, "ann", "correct horse")
	bob := m.Register(b, "bob", "correct horse")
	g := a.Do(b, "POST", "/api/v10/guilds", ann, map[string]any{"name": "Bench"}).JSON(b)
	gid, _ := strconv.ParseUint(g["id"].(string), 10, 64)
	var general string
	for _, c := range jsonList(b, a.Do(b, "GET", "/api/v10/guilds/"+g["id"].(string)+"/channels", ann, nil).Body) {
		if c["type"] == float64(0) {
			general = c["id"].(string)
		}
	}
	code := a.Do(b, "POST", "/api/v10/channels/"+general+"/invites", ann, map[string]any{}).JSON(b)["code"].(string)
	inv := m.Do(b, "POST", "/api/v10/invites/"+code+"@"+a.ServerName(), bob, nil).JSON(b)
	rid, _ := strconv.ParseUint(inv["guild"].(map[string]any)["id"].(string), 10, 64)
	cid, _ := strconv.ParseUint(general, 10, 64)
	p, err := a.Homeserver().Authenticate(context.Background(), ann)
	if err != nil {
		b.Fatal(err)
	}
	return &benchPair{a: a, b: m, guild: snowflake.ID(gid), channel: snowflake.ID(cid), replica: snowflake.ID(rid), writer: p}
}

// produce sends n messages on the origin from 8 goroutines.
func (p *benchPair) produce(b *testing.B, n int) {
	var wg sync.WaitGroup
	per := n / 8
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				_, err := p.a.Homeserver().SendMessage(context.Background(), p.writer, p.channel,
					homeserver.MessageCreate{Content: fmt.Sprintf("message %d of writer %d", i, w)})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// waitCaughtUp waits until the member's replica has applied the origin's
// whole log.
func (p *benchPair) waitCaughtUp(b *testing.B, m *st.Server) {
	ctx := context.Background()
	head, err := p.a.Homeserver().LogHead(ctx, p.guild)
	if err != nil {
		b.Fatal(err)
	}
	for {
		seq, err := m.Homeserver().ReplicaPosition(ctx, p.replica)
		if err == nil && seq >= head {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkFederationLive: messages written on the origin as fast as it
// takes them reach the member homeserver; events/s is the rate at which the
// member has applied them (production and delivery overlap).
func BenchmarkFederationLive(b *testing.B) {
	p := newBenchPair(b)
	n := 20000
	b.ResetTimer()
	start := time.Now()
	p.produce(b, n)
	produced := time.Since(start)
	p.waitCaughtUp(b, p.b)
	elapsed := time.Since(start)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(n)/produced.Seconds(), "produced/s")
}

// BenchmarkFederationCatchUp: the member homeserver is down while the
// origin takes HEARTH_BENCH_EVENTS messages (default 100,000); the time from
// its restart until its replica has them all.
func BenchmarkFederationCatchUp(b *testing.B) {
	p := newBenchPair(b)
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("HEARTH_BENCH_EVENTS")); err == nil {
		n = v
	}
	p.b.Stop()
	p.produce(b, n)
	b.ResetTimer()
	start := time.Now()
	m := p.b.Restart(b)
	p.waitCaughtUp(b, m)
	elapsed := time.Since(start)
	b.ReportMetric(elapsed.Seconds(), "s")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
}

func jsonList(b *testing.B, raw []byte) []map[string]any {
	var out []map[string]any
	if err := jsonUnmarshal(raw, &out); err != nil {
		b.Fatal(err)
	}
	return out
}

var jsonUnmarshal = json.Unmarshal
