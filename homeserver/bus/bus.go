// Package bus carries committed events from the writers that appended them to
// the parts of the process that react live: gateway sessions and the
// federation sender.
//
// Publishing never blocks. Each subscription has a bounded queue; when it is
// full the bus only notes, per log, which sequence numbers it dropped, and
// the subscriber reads those from the event log itself. A subscriber also
// fills from the log any gap it sees (events of one log can be published in
// a different order than their commits by racing writers), so it always
// receives each log's events in sequence order, without gap or duplicate,
// from the point it started.
//
// Ephemeral events (typing, presence) have Seq 0: they are not in any log,
// are delivered as they come and, when a queue is full, are lost.
//
// A read from the log that fails (the database is away) loses nothing: the
// subscription keeps what it still has to read, Next reports the error, and
// a later Next tries again once a backoff timer of the subscription's own
// has run out.
package bus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// Log is where a subscriber catches up from: the event log in storage.
type Log interface {
	Events(ctx context.Context, logID snowflake.ID, after int64, limit int) ([]storage.Event, error)
}

// Bus fans committed events out to subscriptions.
type Bus struct {
	log  Log
	mu   sync.RWMutex
	subs map[*Subscription]struct{}
}

// New makes a bus whose subscribers catch up from log.
func New(log Log) *Bus {
	return &Bus{log: log, subs: make(map[*Subscription]struct{})}
}

// Publish hands committed events to every subscription. Call it after the
// transaction that appended them has committed, never before.
func (b *Bus) Publish(events ...storage.Event) {
	if len(events) == 0 {
		return
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.subs {
		s.offer(events)
	}
}

// Subscribe starts a subscription that sees events published from now on.
// queue bounds how many events wait in memory before the subscriber has to
// read from the log instead.
func (b *Bus) Subscribe(queue int) *Subscription {
	if queue < 1 {
		queue = 1
	}
	s := &Subscription{
		bus:    b,
		since:  time.Now(),
		max:    queue,
		wake:   make(chan struct{}, 1),
		last:   make(map[snowflake.ID]int64),
		behind: make(map[snowflake.ID]span),
	}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("bus: subscription closed")

// span is a range of sequence numbers a subscription dropped for one log.
// A span whose to is openEnd runs to the log's current end (a catch-up that
// failed before it found the end).
type span struct{ from, to int64 }

// openEnd marks a span that ends wherever the log ends.
const openEnd = math.MaxInt64

// merge widens the dropped span of logID to cover sp; s.mu is held.
func (s *Subscription) merge(logID snowflake.ID, sp span) {
	if cur, ok := s.behind[logID]; ok {
		sp.from = min(sp.from, cur.from)
		sp.to = max(sp.to, cur.to)
	}
	s.behind[logID] = sp
}

// errMissing is a gap the log cannot fill (events it no longer holds):
// retrying would fail the same way, so the gap is given up, not kept.
var errMissing = errors.New("events are missing from the log")

// Subscription is one subscriber's ordered view of the bus. Next is meant to
// be called from one goroutine.
type Subscription struct {
	bus   *Bus
	since time.Time
	max   int
	wake  chan struct{}

	mu     sync.Mutex
	queue  []storage.Event
	behind map[snowflake.ID]span
	closed bool

	// Owned by the goroutine calling Next.
	last  map[snowflake.ID]int64
	ready []storage.Event
	// After a failed read from the log, no read is tried before retryAt;
	// backoff is the pause that set it, doubled on each failure in a row
	// up to maxBackoff and cleared by a read that succeeds.
	retryAt time.Time
	backoff time.Duration
}

// The pause after a failed read from the log starts at minBackoff and grows
// to maxBackoff: a database that is away is not hammered, and one that is
// back delivers what waited within maxBackoff. Attempts are not counted out:
// what is kept meanwhile is bounded (one span per log, the queue), and giving
// up would lose events for good.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// readFailed arms the backoff timer after a failed read from the log.
func (s *Subscription) readFailed() {
	s.backoff = min(max(2*s.backoff, minBackoff), maxBackoff)
	s.retryAt = time.Now().Add(s.backoff)
}

// readSucceeded clears the backoff after a read from the log worked.
func (s *Subscription) readSucceeded() {
	s.backoff = 0
	s.retryAt = time.Time{}
}

// offer queues events or, when the queue is full, records them as dropped.
func (s *Subscription) offer(events []storage.Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	for _, e := range events {
		if len(s.queue) < s.max {
			s.queue = append(s.queue, e)
			continue
		}
		if e.Seq == 0 {
			continue // ephemeral: not in the log, so dropped for good
		}
		s.merge(e.LogID, span{e.Seq, e.Seq})
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Start tells the subscription that the subscriber has seen log logID up to
// seq, so that anything after it that the bus does not deliver is read from
// the log. Call it before Next.
func (s *Subscription) Start(logID snowflake.ID, seq int64) {
	s.last[logID] = seq
}

// CatchUp queues, ahead of anything published, the events of log logID
// after seq up to its current end, and has the subscription carry on from
// there; it returns how many it queued. A subscriber that had stopped at
// seq (a process before a restart) thus misses nothing of that log. Call
// it before Next.
//
// When a read fails, the error is returned and the rest of the log is kept
// for Next to read later: delayed, not lost.
func (s *Subscription) CatchUp(ctx context.Context, logID snowflake.ID, seq int64) (int, error) {
	s.last[logID] = seq
	n := 0
	for {
		evs, err := s.bus.log.Events(ctx, logID, seq, catchUpPage)
		if err != nil {
			s.mu.Lock()
			s.merge(logID, span{seq + 1, openEnd})
			s.mu.Unlock()
			s.readFailed()
			return n, fmt.Errorf("bus: catch up log %d after %d: %w", logID, seq, err)
		}
		s.readSucceeded()
		s.ready = append(s.ready, evs...)
		n += len(evs)
		if len(evs) < catchUpPage {
			return n, nil
		}
		seq = evs[len(evs)-1].Seq
	}
}

// Lagging reports whether the subscription has dropped events it has yet to
// read back from the log.
func (s *Subscription) Lagging() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.behind) > 0
}

// catchUpPage bounds one read from the log.
const catchUpPage = 500

// Next returns the next event, waiting for one if needed. An error other
// than ErrClosed or ctx's means a read from the log failed; nothing is lost,
// and a later Next tries again after a pause.
func (s *Subscription) Next(ctx context.Context) (storage.Event, error) {
	for {
		if len(s.ready) > 0 {
			e := s.ready[0]
			s.ready = s.ready[1:]
			if e.Seq <= s.last[e.LogID] {
				continue
			}
			s.last[e.LogID] = e.Seq
			return e, nil
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return storage.Event{}, ErrClosed
		}
		// While backing off, only what needs no read goes on; the rest
		// waits for the timer (a publish only re-runs this check).
		pause := time.Until(s.retryAt)
		paused := !s.retryAt.IsZero() && pause > 0
		if len(s.queue) > 0 && (!paused || s.needsNoRead(s.queue[0])) {
			e := s.queue[0]
			s.queue[0] = storage.Event{}
			s.queue = s.queue[1:]
			if len(s.queue) == 0 {
				s.queue = nil // let the backing array go
			}
			s.mu.Unlock()
			if e.Seq == 0 {
				return e, nil
			}
			if err := s.admit(ctx, e); err != nil {
				if errors.Is(err, errMissing) {
					return storage.Event{}, err
				}
				// Back at the head, so that it and what follows keep
				// their order once the log can be read again.
				s.mu.Lock()
				if !s.closed {
					s.queue = append([]storage.Event{e}, s.queue...)
				}
				s.mu.Unlock()
				s.readFailed()
				return storage.Event{}, err
			}
			continue
		}
		if !paused {
			if logID, sp, ok := s.takeBehind(); ok {
				s.mu.Unlock()
				if err := s.fill(ctx, logID, sp.from-1, sp.to); err != nil {
					if errors.Is(err, errMissing) {
						return storage.Event{}, err
					}
					s.mu.Lock()
					s.merge(logID, sp) // kept until a read succeeds
					s.mu.Unlock()
					s.readFailed()
					return storage.Event{}, err
				}
				continue
			}
		}
		pending := paused && (len(s.queue) > 0 || len(s.behind) > 0)
		s.mu.Unlock()
		if err := s.wait(ctx, pending, pause); err != nil {
			return storage.Event{}, err
		}
	}
}

// wait blocks until something is published, the subscription closes, ctx
// ends or, when a read is pending, the backoff pause is over.
func (s *Subscription) wait(ctx context.Context, pending bool, pause time.Duration) error {
	var retry <-chan time.Time
	if pending {
		t := time.NewTimer(pause)
		defer t.Stop()
		retry = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.wake:
	case <-retry:
		s.retryAt = time.Time{} // the backoff itself grows until a read works
	}
	return nil
}

// needsNoRead reports whether e can be delivered without reading the log:
// it is ephemeral or follows the last event seen of its log; s.mu is held.
func (s *Subscription) needsNoRead(e storage.Event) bool {
	if e.Seq == 0 {
		return true
	}
	last, seen := s.last[e.LogID]
	return seen && e.Seq <= last+1
}

// takeBehind removes one log's dropped span; s.mu is held.
func (s *Subscription) takeBehind() (snowflake.ID, span, bool) {
	for id, sp := range s.behind {
		delete(s.behind, id)
		return id, sp, true
	}
	return 0, span{}, false
}

// admit puts e on the ready list, reading first from the log whatever lies
// between the last event seen of its log and e.
func (s *Subscription) admit(ctx context.Context, e storage.Event) error {
	last, seen := s.last[e.LogID]
	if !seen {
		// Events of this log were dropped before the first one arrived:
		// they too were published after Subscribe, so start before them.
		s.mu.Lock()
		sp, dropped := s.behind[e.LogID]
		s.mu.Unlock()
		if dropped && sp.from < e.Seq {
			last, seen = sp.from-1, true
			s.last[e.LogID] = last
		}
	}
	if !seen && e.Seq > 1 {
		// The first event seen of a log may have overtaken an earlier
		// one committed after Subscribe but published later (publishes
		// race their commits); that one would then look old and be
		// dropped. So the log's recent predecessors are read, and those
		// written since the subscription began (with a margin for the
		// time between an event's stamp and its commit) go first.
		prev, err := s.bus.log.Events(ctx, e.LogID, max(0, e.Seq-1-lookBack), int(min(e.Seq-1, lookBack)))
		if err != nil {
			return fmt.Errorf("bus: predecessors of log %d: %w", e.LogID, err)
		}
		s.readSucceeded()
		start := e.Seq - 1
		for _, p := range prev {
			if !p.CreatedAt.Before(s.since.Add(-commitMargin)) {
				start = min(start, p.Seq-1)
			}
		}
		last, seen = start, true
		s.last[e.LogID] = last
	}
	if seen && e.Seq > last+1 {
		if err := s.fill(ctx, e.LogID, last, e.Seq-1); err != nil {
			if errors.Is(err, errMissing) {
				// The gap cannot be filled, ever: e itself still goes.
				s.ready = append(s.ready, e)
			}
			return err
		}
	}
	s.ready = append(s.ready, e)
	return nil
}

// lookBack bounds how far before a log's first seen event a subscription
// looks for overtaken events; commitMargin is how much older than the
// subscription such an event's stamp may be (it is stamped when its
// transaction starts, not when it commits).
const (
	lookBack     = 64
	commitMargin = 5 * time.Second
)

// fill reads events (after, upTo] of one log onto the ready list. Where the
// subscriber has seen the log further than after, it starts there instead.
func (s *Subscription) fill(ctx context.Context, logID snowflake.ID, after, upTo int64) error {
	if last, ok := s.last[logID]; ok && last > after {
		after = last
	}
	for _, r := range s.ready {
		if r.LogID == logID && r.Seq > after && r.Seq <= upTo {
			upTo = r.Seq - 1 // already on its way
		}
	}
	for after < upTo {
		limit := int(min(catchUpPage, upTo-after))
		evs, err := s.bus.log.Events(ctx, logID, after, limit)
		if err != nil {
			return fmt.Errorf("bus: catch up log %d after %d: %w", logID, after, err)
		}
		s.readSucceeded()
		if upTo == openEnd && len(evs) < limit {
			s.ready = append(s.ready, evs...)
			return nil // the end of the log
		}
		if len(evs) == 0 {
			return fmt.Errorf("bus: catch up log %d: events %d to %d: %w", logID, after+1, upTo, errMissing)
		}
		s.ready = append(s.ready, evs...)
		after = evs[len(evs)-1].Seq
	}
	return nil
}

// Close ends the subscription; a blocked Next returns ErrClosed.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.queue = nil
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
