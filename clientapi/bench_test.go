package clientapi_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	st "hearth/server/servertest"
	"hearth/snowflake"
	"hearth/storage"
	"hearth/storage/postgres"
	"hearth/storage/sqlite"
)

// BenchmarkLargeChannel fills one channel with HEARTH_BENCH_MESSAGES
// messages (default 1,000,000) straight into the database of a real
// homeserver, then measures, over HTTP, the latency of history pages at
// random depths and of searches. It reports p50 and p99 per kind; b.N is
// not used for timing. Run one backend at a time:
//
//	go test ./clientapi -run '^$' -bench 'LargeChannel/sqlite' -benchtime 1x -timeout 60m
func BenchmarkLargeChannel(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("HEARTH_BENCH_MESSAGES")); err == nil && v > 0 {
		n = v
	}
	for _, backend := range st.Backends {
		b.Run(string(backend), func(b *testing.B) {
			dir := b.TempDir()
			s := st.Start(b, st.Options{Backend: backend, DataDir: dir})
			tok := s.Register(b, "reader", "correct horse")
			g := ok(&testing.T{}, s.Do(b, "POST", "/api/v10/guilds", tok, map[string]any{"name": "Big"}), 201)
			channel := ""
			for _, c := range listB(b, s.Do(b, "GET", "/api/v10/guilds/"+g["id"].(string)+"/channels", tok, nil)) {
				if c["type"] == float64(0) {
					channel = c["id"].(string)
				}
			}
			me := s.Do(b, "GET", "/api/v10/users/@me", tok, nil).JSON(b)
			author, _ := snowflake.Parse(me["id"].(string))
			chID, _ := snowflake.Parse(channel)
			guildID, _ := snowflake.Parse(g["id"].(string))

			var store storage.Store
			var err error
			if backend == st.SQLite {
				store, err = sqlite.Open(context.Background(), filepath.Join(dir, "hearth.db"), nil)
			} else {
				store, err = postgres.Open(context.Background(), s.Options.Database, nil)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			start := time.Now()
			fill(b, store, guildID, chID, author, n)
			b.Logf("%s: filled %d messages in %s", backend, n, time.Since(start).Round(time.Second))
			if backend == st.Postgres {
				// What autovacuum does within a minute of a bulk load: the
				// planner's statistics, which text search leans on, then
				// describe the table as a server in service has them.
				if err := analyze(store); err != nil {
					b.Fatal(err)
				}
			}

			pageLat := measure(b, 300, func(i int) {
				before := snowflake.FromTime(time.Now().Add(-time.Duration(rand.IntN(n)) * time.Millisecond))
				r := s.Do(b, "GET", fmt.Sprintf("/api/v10/channels/%s/messages?limit=50&before=%d", channel, before), tok, nil)
				if r.Status != 200 {
					b.Fatalf("history: %d %s", r.Status, r.Body)
				}
			})
			searchLat := measure(b, 100, func(i int) {
				word := fmt.Sprintf("topic%d", rand.IntN(1000))
				r := s.Do(b, "GET", "/api/v10/guilds/"+g["id"].(string)+"/messages/search?content="+word, tok, nil)
				if r.Status != 200 {
					b.Fatalf("search: %d %s", r.Status, r.Body)
				}
			})
			commonLat := measure(b, 50, func(i int) {
				r := s.Do(b, "GET", "/api/v10/guilds/"+g["id"].(string)+"/messages/search?content=weather+"+fmt.Sprint("mood", rand.IntN(7)), tok, nil)
				if r.Status != 200 {
					b.Fatalf("search: %d %s", r.Status, r.Body)
				}
			})
			report(b, "page", pageLat)
			report(b, "search_rare", searchLat)
			report(b, "search_common", commonLat)
		})
	}
}

var words = []string{"weather", "lunch", "release", "meeting", "garden", "music", "travel"}

// fill writes n messages ending now, one per millisecond back, in
// transactions of 1,000, with words to search for: one of 1,000 topics
// (about n/1,000 hits each) and common words (n/7 and n/49 hits).
func fill(b *testing.B, store storage.Store, guild, channel, author snowflake.ID, n int) {
	b.Helper()
	now := time.Now().Add(-time.Minute)
	for done := 0; done < n; {
		batch := make([]storage.Message, 0, 1000)
		for i := 0; i < 1000 && done < n; i++ {
			at := now.Add(-time.Duration(done) * time.Millisecond)
			id := snowflake.FromTime(at) | snowflake.ID(done&0x3FFFFF)
			content := fmt.Sprintf("message %d about topic%d, %s and mood%d, as people write them", done, done%1000, words[done%7], (done/7)%7)
			batch = append(batch, storage.Message{ID: id, ChannelID: channel, GuildID: guild, AuthorID: author, Content: content, CreatedAt: at})
			done++
		}
		if err := store.Update(context.Background(), func(tx storage.Tx) error {
			return tx.CreateMessages(context.Background(), storage.InGuild(guild), batch)
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func measure(b *testing.B, n int, fn func(int)) []time.Duration {
	out := make([]time.Duration, n)
	for i := range n {
		t0 := time.Now()
		fn(i)
		out[i] = time.Since(t0)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func report(b *testing.B, name string, lat []time.Duration) {
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), name+"_p50_ms")
	b.ReportMetric(p(0.99), name+"_p99_ms")
	b.Logf("%s: p50 %.2f ms, p99 %.2f ms, max %.2f ms over %d requests", name, p(0.5), p(0.99), p(1), len(lat))
}

func listB(b *testing.B, r st.Response) []map[string]any {
	var out []map[string]any
	if err := jsonUnmarshal(r.Body, &out); err != nil {
		b.Fatalf("not a list: %s", r.Body)
	}
	return out
}

// analyze refreshes PostgreSQL's statistics of the messages table.
func analyze(store storage.Store) error {
	for _, db := range store.Pools() {
		_, err := db.ExecContext(context.Background(), "ANALYZE messages")
		return err
	}
	return nil
}
