package federation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
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
	start, cpu0 := time.Now(), processCPU(b)
	m := p.b.Restart(b)
	p.waitCaughtUp(b, m)
	elapsed, cpu := time.Since(start), processCPU(b)-cpu0
	b.ReportMetric(elapsed.Seconds(), "s")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	// Both servers' CPU (this process; PostgreSQL's own not counted):
	// what a delivered event costs, sender and receiver together.
	b.ReportMetric(float64(n)/cpu.Seconds(), "events/cpu-s")
}

func jsonList(b *testing.B, raw []byte) []map[string]any {
	var out []map[string]any
	if err := jsonUnmarshal(raw, &out); err != nil {
		b.Fatal(err)
	}
	return out
}

var jsonUnmarshal = json.Unmarshal

// BenchmarkFederationJoin: a user of the member homeserver joins, by
// invite, a guild of the origin with HEARTH_BENCH_MEMBERS members (default
// 10,000) and 200 channels; the time of the join request, from the client's
// POST until the answer (the replica is then in place).
func BenchmarkFederationJoin(b *testing.B) {
	backend := st.Backend(os.Getenv("HEARTH_BENCH_BACKEND"))
	a := st.Start(b, st.Options{Backend: backend})
	m := st.Start(b, st.Options{Backend: backend})
	members := 10000
	if v, err := strconv.Atoi(os.Getenv("HEARTH_BENCH_MEMBERS")); err == nil {
		members = v
	}
	ctx := context.Background()
	hs := a.Homeserver()
	ann := a.Register(b, "ann", "correct horse")
	owner, err := hs.Authenticate(ctx, ann)
	if err != nil {
		b.Fatal(err)
	}
	g, err := hs.CreateGuild(ctx, owner, homeserver.GuildCreate{Name: "Big"})
	if err != nil {
		b.Fatal(err)
	}
	var general snowflake.ID
	for i := range 200 {
		c, err := hs.CreateChannel(ctx, owner, g.ID, homeserver.ChannelFields{Name: homeserver.Optional[string]{Set: true, Value: fmt.Sprintf("room-%d", i)}})
		if err != nil {
			b.Fatal(err)
		}
		general = c.ID
	}
	inv, err := hs.CreateInvite(ctx, owner, general, homeserver.InviteCreate{})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < members-1; i += 4 {
				tok, _, err := hs.Register(ctx, homeserver.Registration{Username: fmt.Sprintf("member%d", i), Password: "correct horse"})
				if err != nil {
					b.Error(err)
					return
				}
				p, err := hs.Authenticate(ctx, tok)
				if err == nil {
					_, err = hs.AcceptInvite(ctx, p, inv.Code)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	bob := m.Register(b, "bob", "correct horse")
	b.ResetTimer()
	start := time.Now()
	r := m.Do(b, "POST", "/api/v10/invites/"+inv.Code+"@"+a.ServerName(), bob, nil)
	elapsed := time.Since(start)
	if r.Status != 200 {
		b.Fatalf("join: %d %s", r.Status, r.Body)
	}
	b.ReportMetric(elapsed.Seconds()*1000, "ms/join")
	// The rest of the members arrive in pages after the join.
	rid, _ := strconv.ParseUint(r.JSON(b)["guild"].(map[string]any)["id"].(string), 10, 64)
	pb, err := m.Homeserver().Authenticate(ctx, bob)
	if err != nil {
		b.Fatal(err)
	}
	for {
		g, err := m.Homeserver().Guild(ctx, pb, snowflake.ID(rid), homeserver.GuildOptions{WithCounts: true})
		if err == nil && g.ApproximateMemberCount != nil && *g.ApproximateMemberCount >= members+1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportMetric(time.Since(start).Seconds()*1000, "ms/all-members")
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
