package homeserver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// The log writer batches concurrent writes to one log into one transaction
// (group commit). Every append to a log takes that log's head row lock until
// commit, so writes to one busy guild are serial however many cores there
// are; committing them in batches turns N lock hand-offs and N commits into
// one. There is no writer goroutine to own: the first caller to find a log
// idle becomes its leader, commits batches until the queue is empty, then
// returns.
type logWriter struct {
	mu     sync.Mutex
	queues map[snowflake.ID]*logQueue
}

type logQueue struct {
	jobs    []*writeJob
	leading bool
}

// logWrite is what a hot-path write stores: data, not a closure, so that
// a batch writes all its jobs' rows with a few multi-row statements.
type logWrite struct {
	// scope is the guild or DM channel of the log: every message must be
	// in it. The jobs of one queue share it, being of one log.
	scope    storage.Scope
	messages []storage.Message
	// components are what the messages of a bot carry beyond a person's.
	components []storage.MessageComponents
	events     []storage.Event // Seq unset; LogID, Type, Payload set
	// assign, when set, fills messages and events once the write has its
	// place in the log's queue: the leader calls it in queue order, so
	// that the snowflakes it takes grow in log order (a channel read by
	// ID, here or on a replica, lists messages in the log's order).
	assign func(w *logWrite) error
}

type writeJob struct {
	w    logWrite
	done chan error
	// lead hands the queue's leadership to this job's goroutine.
	lead chan struct{}
	// abandoned: its caller stopped waiting; it is never handed the lead.
	abandoned bool
	// deadline is the caller's, zero for none. A job with a deadline is
	// committed before it or not at all: it is not started past it or
	// once its caller has gone, and its transaction ends at it, so a
	// caller that reports a failure is never contradicted by a write
	// committed afterwards (an act's origin relies on it).
	deadline time.Time
	// taken: a leader has put it in a batch.
	taken bool
	// act is the peer's act the write carries out, named by its events.
	act string
}

// maxBatch bounds one transaction's jobs, and so its lock time.
const maxBatch = 128

// batchTimeout bounds a batch transaction; it runs detached from the
// leader's request so that one client hanging up fails nobody else.
const batchTimeout = 30 * time.Second

// updateLog stores w in a transaction shared with other writes to the same
// log, publishing its events after commit. Everything w depends on is
// checked before. If the shared transaction fails, each job is retried
// alone, so one bad write fails only its own caller.
func (h *Homeserver) updateLog(ctx context.Context, logID snowflake.ID, w logWrite) error {
	job := &writeJob{w: w, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	job.deadline, _ = ctx.Deadline()
	job.act = actOf(ctx)
	lw := &h.writer
	lw.mu.Lock()
	if lw.queues == nil {
		lw.queues = make(map[snowflake.ID]*logQueue)
	}
	q := lw.queues[logID]
	if q == nil {
		q = &logQueue{}
		lw.queues[logID] = q
	}
	q.jobs = append(q.jobs, job)
	lead := !q.leading
	q.leading = true
	lw.mu.Unlock()
	if lead {
		h.lead(logID, q, job)
	}
	for {
		select {
		case err := <-job.done:
			return err
		case <-job.lead:
			h.lead(logID, q, job)
		case <-ctx.Done():
			lw.mu.Lock()
			job.abandoned = true
			inFlight := job.taken && !job.deadline.IsZero()
			lw.mu.Unlock()
			select {
			case <-job.lead:
				// Handed the lead just before giving up: lead anyway,
				// or the queue would stall.
				h.lead(logID, q, job)
			default:
			}
			if inFlight {
				// Its transaction ends at the deadline: wait for the
				// outcome, so as to report what happened.
				return <-job.done
			}
			// Without a deadline the write may still commit; the caller
			// has gone either way. With one, it never will.
			return ctx.Err()
		}
	}
}

// lead commits the queue's batches until its own job (me) is committed,
// then hands the lead to the next waiting job, so that under a steady
// stream of writes no request is kept leading forever. With nobody to hand
// it to, it goes on until the queue is empty.
func (h *Homeserver) lead(logID snowflake.ID, q *logQueue, me *writeJob) {
	w := &h.writer
	mine := false
	for {
		w.mu.Lock()
		if len(q.jobs) == 0 {
			q.leading = false
			delete(w.queues, logID)
			w.mu.Unlock()
			return
		}
		if mine {
			for _, j := range q.jobs {
				if !j.abandoned {
					j.lead <- struct{}{} // buffered: never blocks
					w.mu.Unlock()
					return
				}
			}
		}
		n := min(len(q.jobs), maxBatch)
		batch := q.jobs[:n:n]
		q.jobs = q.jobs[n:]
		now := time.Now()
		var late []*writeJob
		live := batch[:0:0]
		for _, j := range batch {
			mine = mine || j == me
			if !j.deadline.IsZero() && (j.abandoned || !now.Before(j.deadline)) {
				late = append(late, j)
				continue
			}
			j.taken = true
			live = append(live, j)
		}
		w.mu.Unlock()
		for _, j := range late {
			j.done <- fmt.Errorf("log write: not started by its deadline: %w", context.DeadlineExceeded)
		}
		ready := live[:0:0]
		for _, j := range live {
			if j.w.assign != nil {
				if err := j.w.assign(&j.w); err != nil {
					j.done <- err
					continue
				}
				j.w.assign = nil
			}
			for i := range j.w.events {
				j.w.events[i].Act = j.act
			}
			ready = append(ready, j)
		}
		if len(ready) > 0 {
			h.commitBatch(ready)
		}
	}
}

func (h *Homeserver) commitBatch(batch []*writeJob) {
	ctx, cancel := batchContext(batch)
	defer cancel()
	if len(batch) > 1 {
		all := logWrite{scope: batch[0].w.scope}
		for _, j := range batch {
			all.messages = append(all.messages, j.w.messages...)
			all.components = append(all.components, j.w.components...)
			all.events = append(all.events, j.w.events...)
		}
		out, err := h.storeWrite(ctx, all)
		if err == nil {
			h.committed(out, nil)
			for _, j := range batch {
				j.done <- nil
			}
			return
		}
		h.log.Warn("batched write failed; retrying its jobs one by one", "jobs", len(batch), "err", err)
	}
	for _, j := range batch {
		ctx, cancel := batchContext([]*writeJob{j})
		out, err := h.storeWrite(ctx, j.w)
		cancel()
		if err == nil {
			h.committed(out, nil)
		}
		j.done <- err
	}
}

// batchContext bounds a batch's transaction by batchTimeout and by the
// earliest deadline among its jobs.
func batchContext(jobs []*writeJob) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	var first time.Time
	for _, j := range jobs {
		if !j.deadline.IsZero() && (first.IsZero() || j.deadline.Before(first)) {
			first = j.deadline
		}
	}
	if first.IsZero() {
		return ctx, cancel
	}
	dctx, dcancel := context.WithDeadline(ctx, first)
	return dctx, func() { dcancel(); cancel() }
}

func (h *Homeserver) storeWrite(ctx context.Context, w logWrite) ([]storage.Event, error) {
	var out []storage.Event
	err := h.store.Update(ctx, func(tx storage.Tx) error {
		if err := h.checkLogs(ctx, w.events, 0); err != nil {
			return err
		}
		if err := tx.CreateMessages(ctx, w.scope, w.messages); err != nil {
			return err
		}
		for _, c := range w.components {
			if err := tx.SetMessageComponents(ctx, c); err != nil {
				return err
			}
		}
		var err error
		out, err = tx.AppendEvents(ctx, w.events)
		return err
	})
	return out, err
}
