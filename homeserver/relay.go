package homeserver

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hearth/snowflake"
	"hearth/storage"
)

// relay carries the bus across the processes that share one PostgreSQL
// database (spec/scaling.md). After a commit, a process announces which
// logs grew and to where (log IDs and positions, never an event's body);
// every process listens, reads from the log what it has not seen, drops
// the state it caches about those logs and only then publishes the events
// on its own bus, so that it never serves a permission older than an event
// it delivered. An announcement lost (a process that died between commit
// and NOTIFY, a listening connection that broke) costs latency, not events:
// every poll interval, and whenever listening restarts, the relay compares
// every log's head with what it has read.
//
// With SQLite there is no relay: one process serves the database.
type relay struct {
	b storage.Broadcast
	// self tags this process's announcements, so that it need not read
	// back its own events.
	self string

	mu      sync.Mutex
	pending map[snowflake.ID][]seqSpan // to announce, by log, in order
	revoked []RevokedSessions          // sign-ins ended here, to announce
	eph     []string                   // ephemeral events published here, to announce
	ephSize int                        // bytes of eph, bounded by maxEphQueued
	wake    chan struct{}

	// Counters for /metrics (RelayCounts).
	sent, received, filled, ephDropped atomic.Int64
	// listening is set once this process first listens for the others.
	listening atomic.Bool

	// Owned by RunRelay's loop: how far each log has been read (or
	// published locally, for this process's own events), once the first
	// look at the heads has set it (known is nil before).
	known map[snowflake.ID]int64
}

// seqSpan is a stretch of one log: from and to inclusive.
type seqSpan struct{ from, to int64 }

// logSpan is a stretch of the log id.
type logSpan struct {
	id snowflake.ID
	seqSpan
}

// maxNotify bounds one announcement's text: PostgreSQL's NOTIFY payload
// limit is 8,000 bytes.
const maxNotify = 7900

// maxEphQueued bounds the bytes of ephemeral events waiting to be
// announced: while NOTIFY is slow or failing (each try waits up to 5 s),
// typing and presences keep coming, and they are worthless late; past the
// bound they are dropped (counted in RelayCounts) rather than held.
const maxEphQueued = 16 << 20

func newRelay(b storage.Broadcast, self string) *relay {
	return &relay{b: b, self: self, pending: map[snowflake.ID][]seqSpan{}, wake: make(chan struct{}, 1)}
}

// announce queues the logs that evs (just committed) grew, for the
// announcing goroutine; it never blocks a writer.
func (r *relay) announce(evs []storage.Event) {
	if r == nil {
		return
	}
	r.mu.Lock()
	n := 0
	for _, e := range evs {
		if e.Seq == 0 {
			continue
		}
		// Stretches are joined only where they touch: a gap between two
		// of this process's commits is another's, which the others must
		// not take for read.
		sps := r.pending[e.LogID]
		if k := len(sps) - 1; k >= 0 && e.Seq == sps[k].to+1 {
			sps[k].to = e.Seq
		} else {
			sps = append(sps, seqSpan{e.Seq, e.Seq})
		}
		r.pending[e.LogID] = sps
		n++
	}
	r.mu.Unlock()
	if n > 0 {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// revoke queues sign-ins ended in this process, for the others to close
// their connections and forget them (no event is logged for them).
func (r *relay) revoke(rs RevokedSessions) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.revoked = append(r.revoked, rs)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// share queues ephemeral events (Seq 0: typing, presences, dispatches for
// one user) published here, for the other processes' sessions: "<self>
// eph <log> <type> <payload>". One too long for a notification, or past
// maxEphQueued while NOTIFY lags, is not relayed (counted in
// RelayCounts); the sessions of this process have it.
func (r *relay) share(evs []storage.Event) {
	if r == nil {
		return
	}
	n := 0
	r.mu.Lock()
	for _, e := range evs {
		if e.Seq != 0 || e.Process != "" || strings.ContainsAny(e.Type, " \n") {
			continue
		}
		p := r.self + " eph " + strconv.FormatUint(uint64(e.LogID), 10) + " " + e.Type + " " + string(e.Payload)
		if len(p) > maxNotify || r.ephSize+len(p) > maxEphQueued {
			r.ephDropped.Add(1)
			continue
		}
		r.eph = append(r.eph, p)
		r.ephSize += len(p)
		n++
	}
	r.mu.Unlock()
	if n > 0 {
		poke(r.wake)
	}
}

// parseEphemeral reads an announcement of an ephemeral event; ok is false
// for anything else.
func parseEphemeral(p string) (from string, ev storage.Event, ok bool) {
	parts := strings.SplitN(p, " ", 5)
	if len(parts) != 5 || parts[1] != "eph" || parts[0] == "" || parts[3] == "" {
		return "", ev, false
	}
	id, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		return "", ev, false
	}
	return parts[0], storage.Event{LogID: snowflake.ID(id), Type: parts[3], Payload: []byte(parts[4]), Process: parts[0]}, true
}

// revokedPage bounds the session IDs of one announcement (20 digits and a
// comma each, under maxNotify).
const revokedPage = 300

// payloads turns what is pending into announcements: "<self>
// <log>:<from>:<to> ..." for commits, and "<self> revoke <user> all" or
// "<self> revoke <user> <session>,<session>..." for ended sign-ins.
func (r *relay) payloads() []string {
	r.mu.Lock()
	pending, revoked, eph := r.pending, r.revoked, r.eph
	r.pending, r.revoked, r.eph, r.ephSize = map[snowflake.ID][]seqSpan{}, nil, nil, 0
	r.mu.Unlock()
	var out []string
	for _, rs := range revoked {
		head := r.self + " revoke " + rs.UserID.String() + " "
		if rs.All {
			out = append(out, head+"all")
			continue
		}
		for ids := range slices.Chunk(rs.Sessions, revokedPage) {
			parts := make([]string, len(ids))
			for i, id := range ids {
				parts[i] = id.String()
			}
			out = append(out, head+strings.Join(parts, ","))
		}
	}
	var b strings.Builder
	for id, sps := range pending {
		for _, sp := range sps {
			if b.Len() == 0 {
				b.WriteString(r.self)
			}
			item := " " + strconv.FormatUint(uint64(id), 10) + ":" + strconv.FormatInt(sp.from, 10) + ":" + strconv.FormatInt(sp.to, 10)
			if b.Len()+len(item) > maxNotify {
				out = append(out, b.String())
				b.Reset()
				b.WriteString(r.self)
			}
			b.WriteString(item)
		}
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	// After the commits: an ephemeral event follows the logged ones it
	// describes, on every process as on this one.
	return append(out, eph...)
}

// parseAnnouncement reads an announcement; ok is false for text that is
// not one (another program on the channel).
func parseAnnouncement(p string) (from string, spans []logSpan, ok bool) {
	fields := strings.Fields(p)
	if len(fields) < 2 {
		return "", nil, false
	}
	spans = make([]logSpan, 0, len(fields)-1)
	for _, f := range fields[1:] {
		parts := strings.Split(f, ":")
		if len(parts) != 3 {
			return "", nil, false
		}
		id, err1 := strconv.ParseUint(parts[0], 10, 64)
		a, err2 := strconv.ParseInt(parts[1], 10, 64)
		z, err3 := strconv.ParseInt(parts[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || a < 1 || z < a {
			return "", nil, false
		}
		spans = append(spans, logSpan{snowflake.ID(id), seqSpan{a, z}})
	}
	return fields[0], spans, true
}

// committed is what follows every commit: the cache forgets what the
// events change, the bus carries them (and the ephemeral ones, after the
// logged ones they describe) to this process's subscribers, and the other
// processes are told.
func (h *Homeserver) committed(out, ephemeral []storage.Event) {
	h.cache.changed(out)
	if len(ephemeral) == 0 {
		h.bus.Publish(out...)
	} else {
		h.bus.Publish(append(out, ephemeral...)...)
	}
	h.relay.announce(out)
	h.relay.share(ephemeral)
}

// StartRelay takes the relay's first look at every log's head, from which
// it reads what other processes commit; call it before serving, so that
// no session sees state older than that look. It does nothing with SQLite.
func (h *Homeserver) StartRelay(ctx context.Context) error {
	r := h.relay
	if r == nil {
		return nil
	}
	heads, err := h.store.LogHeads(ctx)
	if err != nil {
		return fmt.Errorf("read the log heads: %w", err)
	}
	r.known = heads
	return nil
}

// RunRelay announces this process's commits and reads the other
// processes' until ctx ends, looking at every log's head each poll
// interval as a backstop; StartRelay must have run. It returns at once
// with SQLite.
func (h *Homeserver) RunRelay(ctx context.Context, poll time.Duration) {
	r := h.relay
	if r == nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	in := make(chan string, 4096)
	recheck := make(chan struct{}, 1)
	wg.Add(2)
	go func() { // owned by RunRelay: ends with ctx
		defer wg.Done()
		_ = r.b.Listen(ctx, func() {
			r.listening.Store(true)
			// Announcements sent while nobody listened are lost: a
			// look at the heads finds what they said.
			poke(recheck)
		}, func(p string) {
			select {
			case in <- p:
			default:
				poke(recheck) // too many at once: the heads tell
			}
		})
	}()
	go func() { // owned by RunRelay: ends with ctx
		defer wg.Done()
		h.announceLoop(ctx)
	}()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-recheck:
			h.relayHeads(ctx)
		case <-t.C:
			h.relayHeads(ctx)
		case p := <-in:
			h.relayAnnouncement(ctx, p)
		}
	}
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// announceLoop sends what announce queued, coalescing what commits while
// a NOTIFY is on its way into the next one.
func (h *Homeserver) announceLoop(ctx context.Context) {
	r := h.relay
	for {
		select {
		case <-ctx.Done():
			// What the stop itself queued (the gateway telling its users
			// offline) goes out while the database is still open.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			for _, p := range r.payloads() {
				if r.b.Notify(fctx, p) == nil {
					r.sent.Add(1)
				}
			}
			cancel()
			return
		case <-r.wake:
		}
		for _, p := range r.payloads() {
			nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := r.b.Notify(nctx, p)
			cancel()
			if err == nil {
				r.sent.Add(1)
			}
			if err != nil && ctx.Err() == nil {
				// The others find these events at their next look at
				// the heads.
				h.log.Warn("commits not announced to the other processes", "err", err)
			}
		}
	}
}

// parseRevocation reads an announcement of ended sign-ins; ok is false
// for anything else.
func parseRevocation(p string) (from string, rs RevokedSessions, ok bool) {
	fields := strings.Fields(p)
	if len(fields) != 4 || fields[1] != "revoke" {
		return "", rs, false
	}
	user, err := snowflake.Parse(fields[2])
	if err != nil || user == 0 {
		return "", rs, false
	}
	rs.UserID = user
	if fields[3] == "all" {
		rs.All = true
		return fields[0], rs, true
	}
	for _, f := range strings.Split(fields[3], ",") {
		id, err := snowflake.Parse(f)
		if err != nil || id == 0 {
			return "", RevokedSessions{}, false
		}
		rs.Sessions = append(rs.Sessions, id)
	}
	return fields[0], rs, true
}

// relayAnnouncement reads and publishes what an announcement says is new.
func (h *Homeserver) relayAnnouncement(ctx context.Context, p string) {
	r := h.relay
	if from, ev, ok := parseEphemeral(p); ok {
		if from != r.self {
			r.received.Add(1)
			ev.CreatedAt = h.now()
			h.bus.Publish(ev)
		}
		return
	}
	if from, rs, ok := parseRevocation(p); ok {
		if from != r.self {
			h.revokedElsewhere(rs)
		}
		return
	}
	from, spans, ok := parseAnnouncement(p)
	if !ok {
		h.log.Debug("not an announcement of commits; ignored", "payload", p)
		return
	}
	if from != r.self {
		r.received.Add(1)
	}
	for _, sp := range spans {
		id, known := sp.id, r.known[sp.id]
		if sp.to <= known {
			continue
		}
		if from == r.self && sp.from == known+1 {
			// Published here at commit, and nothing of the others'
			// lies before it: nothing to read.
			r.known[id] = sp.to
			continue
		}
		h.relayRead(ctx, id, sp.to)
	}
}

// relayHeads reads and publishes whatever the heads show beyond what was
// read: announcements that never came.
func (h *Homeserver) relayHeads(ctx context.Context) {
	heads, err := h.store.LogHeads(ctx)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("log heads not read; other processes' events wait", "err", err)
		}
		return
	}
	for id, head := range heads {
		if known := h.relay.known[id]; head > known {
			h.relayRead(ctx, id, head)
			// What no announcement had told: the backstop filled it.
			h.relay.filled.Add(h.relay.known[id] - known)
		}
	}
}

// relayRead reads log id from where this process has it up to at least
// upTo, drops what the cache holds about the log, and publishes the
// events. A failed read leaves the rest for the next look at the heads.
func (h *Homeserver) relayRead(ctx context.Context, id snowflake.ID, upTo int64) {
	r := h.relay
	for r.known[id] < upTo {
		evs, err := h.store.Events(ctx, id, r.known[id], relayPage)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("other processes' events not read; retried at the next look at the heads", "log", id, "err", err)
			}
			return
		}
		if len(evs) == 0 {
			return
		}
		h.cache.changed(evs)
		h.bus.Publish(evs...)
		r.known[id] = evs[len(evs)-1].Seq
		if len(evs) < relayPage {
			return
		}
	}
}

// relayPage bounds one read of another process's events.
const relayPage = 500

// RelayCounts are the relay's counters since the process started, for
// /metrics: notifications sent and received (another process's), events
// that the look at the log heads read because no announcement had told
// them, and ephemeral events too long to relay.
type RelayCounts struct {
	Sent, Received, BackstopFilled, EphemeralDropped int64
}

// RelayCounts reports the relay's counters; all zero with SQLite.
func (h *Homeserver) RelayCounts() RelayCounts {
	r := h.relay
	if r == nil {
		return RelayCounts{}
	}
	return RelayCounts{Sent: r.sent.Load(), Received: r.received.Load(), BackstopFilled: r.filled.Load(), EphemeralDropped: r.ephDropped.Load()}
}

// publishEphemeral publishes events that are not logged (typing,
// presences, dispatches for one user) on this process's bus and relays
// them to the other processes' sessions.
func (h *Homeserver) publishEphemeral(evs ...storage.Event) {
	h.bus.Publish(evs...)
	h.relay.share(evs)
}

// PresenceElsewhere is the ephemeral event (LogID 0) by which the gateway
// of each process tells the others the presences of the users connected
// to it: a JSON array of SharedPresence. Each process keeps the others'
// (by Event.Process) beside its own sessions' to make a user's presence,
// and forgets those not told again in time (spec/scaling.md).
const PresenceElsewhere = "HEARTH_PRESENCE_ELSEWHERE"

// SharedPresence is one user's presence on the sessions connected to one
// process, as PresenceElsewhere carries it.
type SharedPresence struct {
	UserID     snowflake.ID    `json:"user"`
	Status     string          `json:"status"`
	Activities json.RawMessage `json:"activities,omitempty"`
}

// ShareEphemeral relays to the other processes sharing the database, for
// their gateway sessions, ephemeral events that the gateway made here and
// has told its own sessions (a presence of a user connected here). It does
// nothing with SQLite.
func (h *Homeserver) ShareEphemeral(evs ...storage.Event) { h.relay.share(evs) }

// RelayListening reports whether this process has started listening for
// the other processes' announcements (always false with SQLite). Until it
// has, their ephemeral events (typing, presences) do not reach it; logged
// events do, from the heads.
func (h *Homeserver) RelayListening() bool { return h.relay != nil && h.relay.listening.Load() }

// SharesDatabase reports whether other processes may write this
// homeserver's database (PostgreSQL with the relay running): then what
// they announce can be lost, and long-lived state such as a gateway
// connection checks itself against the database now and then.
func (h *Homeserver) SharesDatabase() bool { return h.relay != nil }
