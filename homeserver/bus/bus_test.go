package bus_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hearth/homeserver/bus"
	"hearth/snowflake"
	"hearth/storage"
	"hearth/storage/sqlite"
)

func openStore(t *testing.T) storage.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "bus.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// appendAndPublish commits one event and publishes it, as the domain does.
// It may run on a goroutine of the test's: it reports with Error.
func appendAndPublish(t *testing.T, s storage.Store, b *bus.Bus, logID snowflake.ID, i int) {
	t.Helper()
	ev, err := commitEvent(s, logID, i)
	if err != nil {
		t.Error(err)
		return
	}
	b.Publish(ev)
}

// commitEvent commits one test event to a log.
func commitEvent(s storage.Store, logID snowflake.ID, i int) (storage.Event, error) {
	var ev storage.Event
	err := s.Update(context.Background(), func(tx storage.Tx) error {
		var err error
		ev, err = tx.AppendEvent(context.Background(), storage.Event{LogID: logID, Type: "TEST", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		return err
	})
	return ev, err
}

// collect reads n events and checks each log arrives complete and in order.
func collect(t *testing.T, sub *bus.Subscription, n int, logs map[snowflake.ID]int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		e, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d events: %v", i, err)
		}
		if want := logs[e.LogID] + 1; e.Seq != want {
			t.Fatalf("log %d: got seq %d, want %d", e.LogID, e.Seq, want)
		}
		logs[e.LogID] = e.Seq
	}
}

func TestInOrder(t *testing.T) {
	s := openStore(t)
	b := bus.New(s)
	sub := b.Subscribe(100)
	defer sub.Close()
	logs := map[snowflake.ID]int64{1: 0, 2: 0}
	for i := range 20 {
		appendAndPublish(t, s, b, snowflake.ID(1+i%2), i)
	}
	collect(t, sub, 20, logs)
	if logs[1] != 10 || logs[2] != 10 {
		t.Fatalf("got %v", logs)
	}
}

// TestSlowSubscriberCatchesUpFromLog: writers finish although the subscriber
// reads nothing and its queue holds only 4 events; it then gets every event
// from the log, in order.
func TestSlowSubscriberCatchesUpFromLog(t *testing.T) {
	s := openStore(t)
	b := bus.New(s)
	slow := b.Subscribe(4)
	defer slow.Close()
	const writers, each = 4, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				appendAndPublish(t, s, b, snowflake.ID(10+w%2), i)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("writers blocked by a subscriber that does not read")
	}
	if !slow.Lagging() {
		t.Fatal("a 4-event queue took 200 events without lagging")
	}
	logs := map[snowflake.ID]int64{10: 0, 11: 0}
	collect(t, slow, writers*each, logs)
	if logs[10] != 100 || logs[11] != 100 {
		t.Fatalf("got %v", logs)
	}
	if slow.Lagging() {
		t.Fatal("still lagging after catching up")
	}
}

// TestOutOfOrderPublishFilledFromLog: seq 2 is published before seq 1 (two
// writers racing between commit and publish); the subscriber still sees 1
// then 2, and the late 1 is not delivered twice.
func TestOutOfOrderPublishFilledFromLog(t *testing.T) {
	s := openStore(t)
	b := bus.New(s)
	sub := b.Subscribe(10)
	defer sub.Close()
	sub.Start(5, 0)
	var evs []storage.Event
	for i := range 3 {
		_ = s.Update(context.Background(), func(tx storage.Tx) error {
			e, err := tx.AppendEvent(context.Background(), storage.Event{LogID: 5, Type: "TEST", Payload: []byte(fmt.Sprint(i))})
			evs = append(evs, e)
			return err
		})
	}
	b.Publish(evs[1])
	b.Publish(evs[0])
	b.Publish(evs[2])
	logs := map[snowflake.ID]int64{5: 0}
	collect(t, sub, 3, logs)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if e, err := sub.Next(ctx); err == nil {
		t.Fatalf("duplicate delivered: %+v", e)
	}
}

func TestCloseWakesNext(t *testing.T) {
	b := bus.New(openStore(t))
	sub := b.Subscribe(1)
	errc := make(chan error, 1)
	go func() {
		_, err := sub.Next(context.Background())
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	sub.Close()
	select {
	case err := <-errc:
		if err != bus.ErrClosed {
			t.Fatalf("Next = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return after Close")
	}
	b.Publish(storage.Event{LogID: 1, Seq: 1}) // must not panic or block
}

func BenchmarkPublish(b *testing.B) {
	bs := bus.New(nil)
	subs := make([]*bus.Subscription, 100)
	for i := range subs {
		subs[i] = bs.Subscribe(1 << 20)
	}
	ev := storage.Event{LogID: 1, Type: "MESSAGE_CREATE", Payload: []byte(`{}`)}
	for b.Loop() {
		ev.Seq++
		bs.Publish(ev)
	}
}

func TestEphemeralEvents(t *testing.T) {
	s := openStore(t)
	b := bus.New(s)
	sub := b.Subscribe(2)
	defer sub.Close()
	sub.Start(7, 0)
	b.Publish(storage.Event{LogID: 7, Type: "TYPING_START"})
	appendAndPublish(t, s, b, 7, 0)
	b.Publish(storage.Event{LogID: 7, Type: "TYPING_START"}) // queue full: lost, not caught up
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e1, err := sub.Next(ctx)
	if err != nil || e1.Type != "TYPING_START" || e1.Seq != 0 {
		t.Fatalf("first = %+v, %v", e1, err)
	}
	e2, err := sub.Next(ctx)
	if err != nil || e2.Seq != 1 {
		t.Fatalf("second = %+v, %v", e2, err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if e, err := sub.Next(short); err == nil {
		t.Fatalf("a dropped ephemeral event came back: %+v", e)
	}
	if sub.Lagging() {
		t.Fatal("a dropped ephemeral event marked the subscription lagging")
	}
}

// TestFirstSeenOutOfOrder: with no Start, the first two events of a log
// published in reverse order are both delivered, in order.
func TestFirstSeenOutOfOrder(t *testing.T) {
	s := openStore(t)
	b := bus.New(s)
	// An event from well before the subscription: not delivered.
	_ = s.Update(context.Background(), func(tx storage.Tx) error {
		_, err := tx.AppendEvent(context.Background(), storage.Event{LogID: 9, Type: "OLD", Payload: []byte(`{}`), CreatedAt: time.Now().Add(-time.Minute)})
		return err
	})
	sub := b.Subscribe(10)
	defer sub.Close()
	var evs []storage.Event
	for i := range 2 {
		_ = s.Update(context.Background(), func(tx storage.Tx) error {
			e, err := tx.AppendEvent(context.Background(), storage.Event{LogID: 9, Type: "TEST", Payload: []byte(fmt.Sprint(i)), CreatedAt: time.Now()})
			evs = append(evs, e)
			return err
		})
	}
	b.Publish(evs[1])
	b.Publish(evs[0])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []int64
	for range 2 {
		e, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Seq)
	}
	if got[0] != 2 || got[1] != 3 {
		t.Fatalf("got seqs %v, want [2 3]", got)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if e, err := sub.Next(short); err == nil {
		t.Fatalf("extra event delivered: %+v", e)
	}
}

// TestCatchUp: a subscriber that stopped at seq 3 of a log (an earlier
// process) gets 4 onwards, then what is published live, each once, even
// when an event it read from the log is also published.
func TestCatchUp(t *testing.T) {
	s := openStore(t)
	b := bus.New(s)
	const logA, logB = snowflake.ID(1), snowflake.ID(2)
	for i := range 600 { // more than one page
		appendAndPublish(t, s, b, logA, i)
	}
	sub := b.Subscribe(16)
	defer sub.Close()
	appendAndPublish(t, s, b, logA, 600) // published after Subscribe: read and queued both
	n, err := sub.CatchUp(context.Background(), logA, 3)
	if err != nil || n != 598 {
		t.Fatalf("CatchUp = %d, %v; want 598", n, err)
	}
	if n, err := sub.CatchUp(context.Background(), logB, 0); err != nil || n != 0 {
		t.Fatalf("CatchUp of an empty log = %d, %v", n, err)
	}
	appendAndPublish(t, s, b, logA, 601)
	appendAndPublish(t, s, b, logB, 0)
	collect(t, sub, 600, map[snowflake.ID]int64{logA: 3, logB: 0})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if e, err := sub.Next(ctx); err == nil {
		t.Fatalf("an event twice: log %d seq %d", e.LogID, e.Seq)
	}
}

// flakyLog is the real event log whose reads fail while failing is set, as
// they do while the database is away.
type flakyLog struct {
	bus.Log
	failing atomic.Bool
	failed  atomic.Int64
}

var errDatabaseAway = errors.New("database away")

func (f *flakyLog) Events(ctx context.Context, logID snowflake.ID, after int64, limit int) ([]storage.Event, error) {
	if f.failing.Load() {
		f.failed.Add(1)
		return nil, errDatabaseAway
	}
	return f.Log.Events(ctx, logID, after, limit)
}

// TestFailedReadKeepsWhatIsOwed: when reading the log fails, what the
// subscription still owes its subscriber (dropped events, a gap before a
// queued event, the rest of a catch-up) is kept, and once the log can be read
// again it is delivered with nothing more published: the last message of a
// quiet channel is not lost to a database error.
func TestFailedReadKeepsWhatIsOwed(t *testing.T) {
	const logID = snowflake.ID(3)
	cases := []struct {
		name  string
		queue int
		// owe runs while reads fail and leaves the subscription owing
		// seqs 1 to 3; it returns the first seq Next gives before the
		// failure, or 0.
		owe func(t *testing.T, s storage.Store, b *bus.Bus, sub *bus.Subscription) int64
	}{
		{"dropped when the queue was full", 1, func(t *testing.T, s storage.Store, b *bus.Bus, sub *bus.Subscription) int64 {
			sub.Start(logID, 0)
			for i := range 3 {
				appendAndPublish(t, s, b, logID, i) // 1 is queued, 2 and 3 dropped
			}
			return 1
		}},
		{"gap before a queued event", 10, func(t *testing.T, s storage.Store, b *bus.Bus, sub *bus.Subscription) int64 {
			sub.Start(logID, 0)
			var last storage.Event
			for i := range 3 {
				last = appendEvent(t, s, logID, i)
			}
			b.Publish(last) // 1 and 2 not published yet: read from the log
			return 0
		}},
		{"catch-up after a restart", 10, func(t *testing.T, s storage.Store, b *bus.Bus, sub *bus.Subscription) int64 {
			for i := range 3 {
				appendEvent(t, s, logID, i)
			}
			if n, err := sub.CatchUp(context.Background(), logID, 0); err == nil || n != 0 {
				t.Fatalf("CatchUp with the log away = %d, %v; want an error", n, err)
			}
			return 0
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := openStore(t)
			log := &flakyLog{Log: s}
			b := bus.New(log)
			sub := b.Subscribe(c.queue)
			defer sub.Close()
			log.failing.Store(true)
			first := c.owe(t, s, b, sub)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if first > 0 {
				if e, err := sub.Next(ctx); err != nil || e.Seq != first {
					t.Fatalf("Next = seq %d, %v; want seq %d", e.Seq, err, first)
				}
			}
			if log.failed.Load() == 0 || first > 0 {
				if e, err := sub.Next(ctx); !errors.Is(err, errDatabaseAway) {
					t.Fatalf("Next with the log away = seq %d, %v; want its error", e.Seq, err)
				}
			}
			if c.queue == 1 && !sub.Lagging() {
				t.Fatal("the dropped events were forgotten after a failed read")
			}
			log.failing.Store(false)
			collect(t, sub, int(3-first), map[snowflake.ID]int64{logID: first})
			if sub.Lagging() {
				t.Fatal("still lagging after the log was read")
			}
		})
	}
}

// TestFailedReadsBackOff: a subscriber that calls Next again at once after
// each failure (as the federation sender does) does not make the bus read a
// log that is away in a tight loop; the pause grows between attempts.
func TestFailedReadsBackOff(t *testing.T) {
	s := openStore(t)
	log := &flakyLog{Log: s}
	b := bus.New(log)
	sub := b.Subscribe(1)
	defer sub.Close()
	sub.Start(4, 0)
	log.failing.Store(true)
	for i := range 2 {
		appendAndPublish(t, s, b, 4, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if e, err := sub.Next(ctx); err != nil || e.Seq != 1 {
		t.Fatalf("Next = %d, %v", e.Seq, err)
	}
	var gaps []time.Duration
	prev := time.Now()
	for range 4 {
		if _, err := sub.Next(ctx); !errors.Is(err, errDatabaseAway) {
			t.Fatalf("Next with the log away = %v", err)
		}
		now := time.Now()
		gaps = append(gaps, now.Sub(prev))
		prev = now
	}
	if n := log.failed.Load(); n != 4 {
		t.Fatalf("%d reads for 4 calls of Next", n)
	}
	// The first attempt is immediate; then the pause starts at 100 ms and
	// doubles (lower bounds only: a loaded machine makes them longer).
	for i, least := range []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		if gaps[i] < least {
			t.Fatalf("attempt %d came %v after the one before, want at least %v (all: %v)", i+1, gaps[i], least, gaps)
		}
	}
	log.failing.Store(false)
	collect(t, sub, 1, map[snowflake.ID]int64{4: 1})
}

// appendEvent commits one event without publishing it.
func appendEvent(t *testing.T, s storage.Store, logID snowflake.ID, i int) storage.Event {
	t.Helper()
	ev, err := commitEvent(s, logID, i)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
