package snowflake

import (
	"encoding/json"
	"sync"
	"testing"
	"time"
)

func TestTimeRoundTrip(t *testing.T) {
	// The example from Discord's reference docs.
	id := ID(175928847299117063)
	if got := id.Time().UnixMilli(); got != 1462015105796 {
		t.Fatalf("time of %d = %d, want 1462015105796", id, got)
	}
	at := time.UnixMilli(1462015105796)
	if FromTime(at)>>22 != id>>22 {
		t.Fatalf("FromTime does not round-trip")
	}
}

func TestJSON(t *testing.T) {
	cases := []struct {
		in      string
		want    ID
		wantErr bool
	}{
		{`"175928847299117063"`, 175928847299117063, false},
		{`175928847299117063`, 175928847299117063, false},
		{`null`, 0, false},
		{`"abc"`, 0, true},
		{`""`, 0, true},
		{`"-1"`, 0, true},
		{`"99999999999999999999999"`, 0, true},
	}
	for _, c := range cases {
		var id ID
		err := json.Unmarshal([]byte(c.in), &id)
		if (err != nil) != c.wantErr || (err == nil && id != c.want) {
			t.Errorf("Unmarshal(%s) = %d, %v", c.in, id, err)
		}
	}
	b, _ := json.Marshal(struct{ ID ID }{175928847299117063})
	if string(b) != `{"ID":"175928847299117063"}` {
		t.Fatalf("Marshal = %s", b)
	}
}

func TestMonotonicUnderConcurrency(t *testing.T) {
	g := NewGenerator(1)
	const workers, each = 8, 20000
	out := make([][]ID, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := make([]ID, each)
			for i := range ids {
				ids[i] = g.Next()
			}
			out[w] = ids
		}()
	}
	wg.Wait()
	seen := make(map[ID]bool, workers*each)
	for _, ids := range out {
		for i, id := range ids {
			if seen[id] {
				t.Fatalf("duplicate ID %d", id)
			}
			seen[id] = true
			if i > 0 && id <= ids[i-1] {
				t.Fatalf("IDs not increasing within one goroutine: %d after %d", id, ids[i-1])
			}
		}
	}
}

func TestClockStepsBack(t *testing.T) {
	g := NewGenerator(3)
	now := time.UnixMilli(Epoch + 1_000_000)
	g.now = func() time.Time { return now }
	a := g.Next()
	now = now.Add(-time.Hour)
	b := g.Next()
	if b <= a {
		t.Fatalf("ID went back with the clock: %d then %d", a, b)
	}
	// Exhaust one millisecond: the generator borrows the next.
	for range 5000 {
		c := g.Next()
		if c <= b {
			t.Fatalf("not increasing: %d then %d", b, c)
		}
		b = c
	}
	if (b>>12)&0x3FF != 3 {
		t.Fatalf("node bits lost: %d", (b>>12)&0x3FF)
	}
}

func BenchmarkNext(b *testing.B) {
	g := NewGenerator(0)
	for b.Loop() {
		g.Next()
	}
}

// A process whose ID lands on the reserved node still never makes an ID
// of it: those are kept for backfilled messages.
func TestGeneratorAvoidsBackfillNode(t *testing.T) {
	for _, node := range []uint16{BackfillNode, BackfillNode | 0x400, 0, 1, BackfillNode - 1} {
		g := NewGenerator(node)
		for range 3 {
			if id := g.Next(); id.Node() == BackfillNode {
				t.Fatalf("NewGenerator(%d) made %d on the reserved node", node, id)
			}
		}
	}
	if got := NewGenerator(5).Next().Node(); got != 5 {
		t.Fatalf("node = %d, want 5", got)
	}
}

func TestBackfill(t *testing.T) {
	now := time.Now()
	live := NewGenerator(7).Next()
	cases := []struct {
		name  string
		at    time.Time
		limit ID
		ok    bool
	}{
		{"an old time below a live limit", now.Add(-time.Hour), live, true},
		{"a time past the limit is clamped to it", now.Add(time.Hour), live, true},
		{"the limit's own millisecond", live.Time(), live, true},
		{"a limit in the middle of the reserved range", now, ID(uint64(live>>22)<<22 | uint64(BackfillNode)<<12 | 5), true},
		{"a limit at the reserved range's base", now, ID(uint64(live>>22)<<22 | uint64(BackfillNode)<<12), true},
		{"before the epoch", time.UnixMilli(0), live, true},
		{"nothing below the first reserved ID", now, ID(uint64(BackfillNode) << 12), false},
		{"nothing below zero", now, 0, false},
	}
	for _, c := range cases {
		id, ok := Backfill(c.at, c.limit)
		if ok != c.ok {
			t.Errorf("%s: ok = %v", c.name, ok)
			continue
		}
		if !ok {
			continue
		}
		if id >= c.limit || id.Node() != BackfillNode {
			t.Errorf("%s: Backfill = %d (node %d), limit %d", c.name, id, id.Node(), c.limit)
		}
		if c.at.After(c.limit.Time()) && id>>22 != c.limit>>22 && id>>22 != c.limit>>22-1 {
			t.Errorf("%s: %d is not clamped next to the limit", c.name, id)
		}
		if !c.at.After(c.limit.Time()) && c.at.UnixMilli() >= Epoch && id.Time().After(c.at) {
			t.Errorf("%s: %d is later than %s", c.name, id, c.at)
		}
	}
	// Walking down keeps the order of the walk, even when every message
	// claims the same millisecond.
	limit := live
	for i := range 5000 {
		id, ok := Backfill(now.Add(time.Hour), limit)
		if !ok || id >= limit || id.Node() != BackfillNode {
			t.Fatalf("step %d: Backfill = %d, %v below %d", i, id, ok, limit)
		}
		limit = id
	}
}
