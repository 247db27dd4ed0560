package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"time"

	"hearth/homeserver"
	"hearth/snowflake"
	"hearth/storage"
)

// Sessions live in the database as well as in memory, so that a RESUME
// reaching any process that shares the database (another one behind the
// load balancer, or this one's successor after a crash) can rebuild the
// session and replay from the event log what its client has not had.
//
// What is recorded is where the session is in each log, as a function of
// its sequence numbers: a base (the position in each log once the client
// has seq Base) and, after it, a mark per log event that gave the session
// dispatches (seqs First..Last came from event Pos of log Log). A client
// resuming with seq N has every event of a mark with Last <= N; the replay
// starts after those, continues the client's numbering from N+1 and skips
// the dispatches of an event the client had only part of.
//
// A dispatch that came from a log reaches the connection only once its
// mark is in the database (the session's durable seq): the client can
// never hold a seq the record cannot place, however the process dies.
// Marks are small rows appended in batches, one transaction for every
// session that has new ones, by one persister per process; the session's
// own row is written only when its meta, base or detachment changes. The
// client's heartbeats (which carry the last seq it received) let the
// record fold old marks into the base.

// origin is the log event a dispatch came from; zero for dispatches that
// come from no log (typing, presence, READY, member chunks).
type origin struct {
	log snowflake.ID
	pos int64
}

// mark says that the session's seqs First..Last came from event Pos of
// log Log.
type mark struct {
	First int64        `json:"f"`
	Last  int64        `json:"l"`
	Log   snowflake.ID `json:"g"`
	Pos   int64        `json:"p"`
}

// place is a session's recorded place in the logs.
type place struct {
	// Base is the seq from which a client may resume; P is the position
	// in each log once the client has it.
	Base int64                  `json:"b"`
	P    map[snowflake.ID]int64 `json:"p"`
	// M are the marks after Base, in seq order: rows of their own.
	M []mark `json:"-"`
}

// liveMeta is the slow-changing part of a recorded session.
type liveMeta struct {
	SignIn   snowflake.ID                    `json:"sign_in"`
	Intents  int64                           `json:"intents"`
	Bot      bool                            `json:"bot"`
	Guilds   []snowflake.ID                  `json:"guilds"`
	Visible  map[snowflake.ID][]snowflake.ID `json:"visible"`
	Presence presence                        `json:"presence"`
}

// at is where a client that has seq n is in each log, and the event it had
// only part of (its first skip dispatches), if any; false when n is older
// than the record reaches.
func (p place) at(n int64) (pos map[snowflake.ID]int64, partial origin, skip int64, ok bool) {
	if n < p.Base {
		return nil, origin{}, 0, false
	}
	pos = maps.Clone(p.P)
	if pos == nil {
		pos = map[snowflake.ID]int64{}
	}
	for _, m := range joinMarks(p.M) {
		switch {
		case m.Last <= n:
			pos[m.Log] = max(pos[m.Log], m.Pos)
		case m.First <= n:
			pos[m.Log] = max(pos[m.Log], m.Pos-1)
			partial, skip = origin{m.Log, m.Pos}, n-m.First+1
		default:
			if _, known := pos[m.Log]; !known {
				pos[m.Log] = m.Pos - 1 // a log first met after n
			}
		}
	}
	return pos, partial, skip, true
}

// metAfter lists the logs that a client with seq n had not met: neither in
// the base nor in a mark it had (wholly or in part). Guilds among them
// were joined after n, so the client has no GUILD_CREATE of them yet,
// whatever the recorded meta (written later) says.
func (p place) metAfter(n int64) map[snowflake.ID]bool {
	out := map[snowflake.ID]bool{}
	seen := map[snowflake.ID]bool{}
	for _, m := range joinMarks(p.M) {
		if _, base := p.P[m.Log]; base || seen[m.Log] {
			continue
		}
		seen[m.Log] = true
		if m.First > n {
			out[m.Log] = true
		}
	}
	return out
}

// joinMarks joins the marks of one event that were written in parts (the
// event's first dispatches in one write, the rest in the next; or the part
// a client had before a take-over, whose mark reaches one past it, and the
// rest).
func joinMarks(ms []mark) []mark {
	out := make([]mark, 0, len(ms))
	for _, m := range ms {
		if n := len(out); n > 0 && out[n-1].Log == m.Log && out[n-1].Pos == m.Pos && out[n-1].Last+1 >= m.First {
			out[n-1].Last = max(out[n-1].Last, m.Last)
			continue
		}
		out = append(out, m)
	}
	return out
}

// Bounds of a session's record: marks older than what the client has
// acknowledged by heartbeat, or than foldSlack before what was written to
// its connection, are folded into the base (a client further behind than
// that identifies again), foldBatch at a time so that the row is
// rewritten seldom; at most maxMarks are kept.
const (
	foldSlack = 256
	foldBatch = 64
	maxMarks  = 2048
)

// How the persister paces itself: it writes whenever there is something
// new (one transaction for everything new since its last write), records
// its process as seen at least every touchEvery, and sweeps expired rows
// every sweepEvery. After a failed write it waits, up to retryMax, and
// warns when the failure begins and every failLogEvery while it lasts.
const (
	touchEvery = 5 * time.Second
	sweepEvery = time.Minute
	retryMin   = 50 * time.Millisecond
	retryMax   = 2 * time.Second
	// failLogEvery paces the warnings of a lasting failure to write.
	failLogEvery = 30 * time.Second
)

// maxReplay bounds the events a rebuilt session replays from the logs;
// past it the client identifies again.
const maxReplay = 20000

// noteLocked records that seq s.seq came from o; s.mu is held.
func (s *session) noteLocked(o origin) {
	// A mark already written is not extended: the rest of its event is a
	// mark of its own (joinMarks).
	if n := len(s.marks); n > s.savedMarks && s.marks[n-1].Log == o.log && s.marks[n-1].Pos == o.pos && s.marks[n-1].Last == s.seq-1 {
		s.marks[n-1].Last = s.seq
	} else {
		s.marks = append(s.marks, mark{First: s.seq, Last: s.seq, Log: o.log, Pos: o.pos})
	}
	s.g.markDirty(s)
}

// foldLocked folds the marks a client can no longer need into the base,
// once there are foldBatch of them or too many marks, and reports whether
// it did; s.mu is held.
func (s *session) foldLocked() bool {
	to := max(s.acked, s.written-foldSlack)
	// An event whose dispatches go on in the next mark (written in two
	// parts) is folded whole or not at all.
	whole := func(i int) bool {
		m := s.marks[i]
		return i+1 == len(s.marks) || s.marks[i+1].Log != m.Log || s.marks[i+1].Pos != m.Pos || s.marks[i+1].Last <= to
	}
	i := 0
	for i < len(s.marks) && s.marks[i].Last <= to && whole(i) {
		i++
	}
	if i < foldBatch && len(s.marks) <= maxMarks {
		return false
	}
	i = 0
	for i < len(s.marks) && (s.marks[i].Last <= to && whole(i) || len(s.marks)-i > maxMarks) {
		m := s.marks[i]
		if s.basePos == nil {
			s.basePos = map[snowflake.ID]int64{}
		}
		s.basePos[m.Log] = max(s.basePos[m.Log], m.Pos)
		s.base = max(s.base, m.Last)
		i++
	}
	s.base = max(s.base, min(to, s.seq))
	s.marks = append(s.marks[:0:0], s.marks[i:]...)
	s.savedMarks = max(0, s.savedMarks-i)
	return true
}

// metaLocked is the session's liveMeta; s.mu is held.
func (s *session) metaLocked() liveMeta {
	m := liveMeta{SignIn: s.user.Session, Intents: s.intents, Bot: s.bot, Presence: s.presence,
		Visible: make(map[snowflake.ID][]snowflake.ID, len(s.visible))}
	for id := range s.guilds {
		m.Guilds = append(m.Guilds, id)
	}
	for gid, set := range s.visible {
		for ch := range set {
			m.Visible[gid] = append(m.Visible[gid], ch)
		}
	}
	return m
}

// markDirty queues s for the persister.
func (g *Gateway) markDirty(s *session) {
	g.dirtyMu.Lock()
	g.dirty[s] = struct{}{}
	g.dirtyMu.Unlock()
	select {
	case g.persistWake <- struct{}{}:
	default:
	}
}

// persistLoop writes what sessions have new until ctx ends; Run owns it.
func (g *Gateway) persistLoop(ctx context.Context) {
	touch := time.NewTicker(touchEvery)
	defer touch.Stop()
	lastSweep := time.Now()
	backoff := time.Duration(0)
	// A failure that lasts (a full disk, the database away) is logged when
	// it begins and then every failLogEvery, with the count of failures
	// between, not at every retry.
	var lastWarn time.Time
	failures := 0
	for {
		ticked := false
		select {
		case <-ctx.Done():
			return
		case <-g.persistWake:
		case <-touch.C:
			ticked = true
		}
		if err := g.persist(ctx, ticked); err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, retryMin), retryMax)
			failures++
			if failures == 1 || time.Since(lastWarn) >= failLogEvery {
				msg := "gateway: sessions not recorded; their dispatches wait"
				if errors.Is(err, homeserver.ErrStorageFull) {
					msg = "gateway: sessions not recorded, the disk is full; their dispatches wait until space is freed"
				}
				g.log.Warn(msg, "err", err, "retry_in", backoff, "failures", failures)
				lastWarn = time.Now()
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			select {
			case g.persistWake <- struct{}{}:
			default:
			}
			continue
		}
		if failures > 0 {
			g.log.Info("gateway: sessions recorded again", "failures", failures)
			failures = 0
		}
		backoff = 0
		if time.Since(lastSweep) > sweepEvery {
			lastSweep = time.Now()
			if n, err := g.hs.SweepLiveSessions(ctx, g.cfg.ResumeWindow+touchEvery); err != nil {
				g.log.Warn("gateway: expired sessions not swept", "err", err)
			} else if n > 0 {
				g.log.Debug("gateway: expired sessions swept", "sessions", n)
			}
		}
	}
}

// persist writes every session with something new in one transaction,
// then lets their connections have the dispatches it made durable. With
// touch it writes (recording the process as seen) even when nothing is
// new.
func (g *Gateway) persist(ctx context.Context, touch bool) error {
	g.persistMu.Lock()
	defer g.persistMu.Unlock()
	g.dirtyMu.Lock()
	dirty := make([]*session, 0, len(g.dirty))
	for s := range g.dirty {
		dirty = append(dirty, s)
	}
	clear(g.dirty)
	gone := g.gone
	g.gone = nil
	g.dirtyMu.Unlock()
	if len(gone) > 0 {
		if err := g.hs.DeleteLiveSessions(ctx, gone); err != nil {
			g.dirtyMu.Lock()
			g.gone = append(g.gone, gone...)
			g.dirtyMu.Unlock()
			return err
		}
	}
	type pending struct {
		s     *session
		upto  int64
		marks int // how many of its marks are saved once this write is
		// written says the write carries something of it (a row, new
		// marks, a fold): only then can it learn the session was lost.
		row, written bool
	}
	var w storage.LiveWrite
	done := make([]pending, 0, len(dirty))
	for _, s := range dirty {
		s.mu.Lock()
		if s.holding || s.ended {
			// Being identified or rebuilt (it is written once that is
			// over), or gone.
			s.mu.Unlock()
			continue
		}
		p := pending{s: s, upto: s.seq}
		if s.foldLocked() {
			p.written = true
			s.placeDirty = true
			if w.Folded == nil {
				w.Folded = map[string]int64{}
			}
			w.Folded[s.id] = s.base
		}
		var err error
		if !s.recorded || s.metaDirty || s.placeDirty || s.rowDirty {
			rec := storage.LiveSession{ID: s.id, UserID: s.user.User.ID, DetachedAt: s.detached, New: !s.recorded}
			if !s.recorded || s.placeDirty {
				rec.Place, err = json.Marshal(place{Base: s.base, P: s.basePos})
			}
			if err == nil && (!s.recorded || s.metaDirty) {
				rec.Meta, err = json.Marshal(s.metaLocked())
			}
			if err == nil {
				w.Sessions = append(w.Sessions, rec)
				p.row, p.written = true, true
			}
		}
		for _, m := range s.marks[s.savedMarks:] {
			w.Marks = append(w.Marks, storage.LiveMark{Session: s.id, First: m.First, Last: m.Last, Log: m.Log, Pos: m.Pos})
			p.written = true
		}
		p.marks = len(s.marks)
		if p.row {
			s.metaDirty, s.placeDirty, s.rowDirty = false, false, false
		}
		s.mu.Unlock()
		if err != nil {
			g.log.Warn("gateway: session not recorded", "session", s.id, "err", err)
			continue
		}
		done = append(done, p)
	}
	if len(done) == 0 && !touch {
		return nil
	}
	// The process is recorded as alive before its first session is.
	touch = touch || !g.seen
	ids, err := g.hs.PutLiveSessions(ctx, g.owner, w, touch)
	if err != nil {
		for _, p := range done {
			if p.row {
				p.s.mu.Lock()
				// Written again whole: which part changed is not kept.
				p.s.metaDirty, p.s.placeDirty, p.s.rowDirty = true, true, true
				p.s.mu.Unlock()
			}
			g.markDirty(p.s)
		}
		return err
	}
	g.seen = g.seen || touch
	ok := make(map[string]bool, len(ids))
	for _, id := range ids {
		ok[id] = true
	}
	for _, p := range done {
		if p.written && !ok[p.s.id] {
			g.lost(p.s)
			continue
		}
		p.s.durableTo(p.upto, p.marks)
	}
	return nil
}

// durableTo lets the connection have the dispatches up to seq, and those
// after it that came from no log and follow no undurable one.
func (s *session) durableTo(seq int64, marks int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recorded = true
	// Marks folded since the write was built have left the front.
	s.savedMarks = max(s.savedMarks, min(marks, len(s.marks)))
	s.durable = max(s.durable, seq)
	if n := len(s.marks); n == 0 || s.marks[n-1].Last <= s.durable {
		s.durable = s.seq
	}
	s.flushLocked()
}

// lost forgets a session another process has taken over: its client
// resumed there.
func (g *Gateway) lost(s *session) {
	g.mu.Lock()
	if g.sessions[s.id] == s {
		delete(g.sessions, s.id)
	}
	g.unindexLocked(s)
	g.mu.Unlock()
	s.mu.Lock()
	s.ended = true
	c := s.c
	s.mu.Unlock()
	if c != nil {
		c.ws.CloseNow()
	}
}

// forget queues the rows of sessions that ended for deletion.
func (g *Gateway) forget(ids ...string) {
	if len(ids) == 0 {
		return
	}
	g.dirtyMu.Lock()
	g.gone = append(g.gone, ids...)
	g.dirtyMu.Unlock()
	select {
	case g.persistWake <- struct{}{}:
	default:
	}
}

// logHeads is where each of a new session's logs stands before the
// session starts: its base.
func (g *Gateway) logHeads(ctx context.Context, p homeserver.Principal, guilds []snowflake.ID) (map[snowflake.ID]int64, error) {
	dms, err := g.hs.DMChannels(ctx, p)
	if err != nil {
		return nil, err
	}
	logs := append([]snowflake.ID(nil), guilds...)
	for _, c := range dms {
		logs = append(logs, c.ID)
	}
	heads := make(map[snowflake.ID]int64, len(logs))
	for _, id := range logs {
		n, err := g.hs.LogHead(ctx, id)
		if err != nil {
			return nil, err
		}
		heads[id] = n
	}
	return heads, nil
}

// errNotResumable is a recorded session that cannot be resumed here: the
// client is told INVALID_SESSION.
var errNotResumable = errors.New("gateway: session not resumable")

// takeOver rebuilds, on this process, a session that another process
// recorded (it may have died), and replays from the logs what the client
// has not had, numbered from its seq on.
func (g *Gateway) takeOver(ctx context.Context, kick context.CancelFunc, c *conn, p homeserver.Principal, r resume,
	rec storage.LiveSession, seen time.Time) (*session, error) {
	gone := rec.DetachedAt
	if gone.IsZero() {
		gone = seen // attached when its process was last seen
	}
	if rec.UserID != p.User.ID || rec.Meta == nil || gone.IsZero() || time.Since(gone) > g.cfg.ResumeWindow {
		return nil, errNotResumable
	}
	var meta liveMeta
	var pl place
	if json.Unmarshal(rec.Meta, &meta) != nil || json.Unmarshal(rec.Place, &pl) != nil {
		return nil, errNotResumable
	}
	for _, m := range rec.Marks {
		pl.M = append(pl.M, mark{First: m.First, Last: m.Last, Log: m.Log, Pos: m.Pos})
	}
	if _, err := g.hs.SignedIn(ctx, p.User.ID, meta.SignIn); err != nil {
		return nil, errNotResumable // signed out meanwhile
	}
	// As for a session resumed here: a privileged intent switched off
	// since it identified is not resumed.
	allowed, _, err := g.hs.AllowedIntents(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	if meta.Intents&homeserver.PrivilegedIntents&^allowed != 0 {
		c.close(closeDisallowedIntents, "Disallowed intent(s).")
		return nil, errors.New("disallowed intents on resume")
	}
	pos, partial, skip, ok := pl.at(r.Seq)
	if !ok {
		return nil, errNotResumable
	}
	// The new record starts at the client's seq; an event it had part of
	// stays a mark (reaching one past the seq: not complete), so that a
	// second take-over skips the same part.
	np := place{Base: r.Seq, P: pos}
	var claimed []storage.LiveMark
	if skip > 0 {
		np.M = []mark{{First: r.Seq - skip + 1, Last: r.Seq + 1, Log: partial.log, Pos: partial.pos}}
		claimed = []storage.LiveMark{{First: r.Seq - skip + 1, Last: r.Seq + 1, Log: partial.log, Pos: partial.pos}}
	}
	b, _ := json.Marshal(np)
	if ok, err := g.hs.ClaimLiveSession(ctx, r.SessionID, rec.Owner, g.owner, b, claimed); err != nil {
		return nil, err
	} else if !ok {
		return nil, errNotResumable // another process took it first
	}
	s := &session{
		g: g, id: r.SessionID, user: p, intents: meta.Intents, bot: meta.Bot, presence: meta.Presence,
		seq: r.Seq, durable: r.Seq, written: r.Seq, acked: r.Seq, base: r.Seq, basePos: maps.Clone(pos),
		marks: np.M, savedMarks: len(np.M), recorded: true, holding: true, floor: maps.Clone(pos),
		guilds:  make(map[snowflake.ID]bool, len(meta.Guilds)),
		visible: make(map[snowflake.ID]map[snowflake.ID]bool, len(meta.Visible)),
	}
	if skip > 0 {
		s.skip, s.skipN = partial, skip
	}
	// A guild the record met after the client's seq is not the client's
	// yet: the replay of its join gives it whole (GUILD_CREATE).
	later := pl.metAfter(r.Seq)
	for _, id := range meta.Guilds {
		if !later[id] {
			s.guilds[id] = true
		}
	}
	for gid, chans := range meta.Visible {
		if later[gid] {
			continue
		}
		set := make(map[snowflake.ID]bool, len(chans))
		for _, ch := range chans {
			set[ch] = true
		}
		s.visible[gid] = set
	}
	s.mu.Lock()
	s.attachLocked(ctx, c, kick)
	s.mu.Unlock()
	// Indexed before the logs are read: what is routed meanwhile is held,
	// and what the replay also read is dropped as it is released (floor).
	g.index(s, meta.Guilds)
	read, err := g.withNewDMs(ctx, p, pos)
	if err != nil {
		g.unindex(s)
		return nil, err
	}
	evs, err := g.readSince(ctx, read)
	if err != nil {
		g.unindex(s)
		return nil, err
	}
	s.mu.Lock()
	s.limit = 2*len(evs) + sendQueue // replayed whole, however many
	s.mu.Unlock()
	rg := g.replayer(s)
	for _, ev := range evs {
		rg.cur = origin{ev.LogID, ev.Seq}
		rg.route(ctx, ev)
		s.mu.Lock()
		s.floor[ev.LogID] = max(s.floor[ev.LogID], ev.Seq)
		s.mu.Unlock()
	}
	// A guild joined after anything the record tells (its process died
	// before it routed the join) is given whole now, from its state at
	// its head: the client has had none of its log. It is indexed first,
	// so that what is routed meanwhile is held (and what the state
	// already has is dropped, floor).
	if member, err := g.hs.GuildIDs(ctx, p.User.ID); err == nil {
		for _, gid := range member {
			if s.inGuild(gid) {
				continue
			}
			s.mu.Lock()
			s.guilds[gid] = true
			s.mu.Unlock()
			g.mu.Lock()
			g.addGuildLocked(s, gid)
			g.mu.Unlock()
			head, err := g.hs.LogHead(ctx, gid)
			var st homeserver.GuildState
			if err == nil {
				st, err = g.hs.GuildState(ctx, s.user, gid)
			}
			if err != nil {
				s.mu.Lock()
				delete(s.guilds, gid) // the client learns it at its next IDENTIFY
				s.mu.Unlock()
				continue
			}
			st.Presences = g.presencesOf(memberIDs(st.Members), gid)
			s.setVisible(gid, st.Channels)
			b, _ := json.Marshal(st)
			rg.cur = origin{gid, head}
			rg.deliver(s, "GUILD_CREATE", b)
			// Then the floor: what is held of the log up to its head
			// is in the state given (raised before, it would have
			// dropped the GUILD_CREATE itself, which is marked as of
			// the head).
			s.mu.Lock()
			s.floor[gid] = max(s.floor[gid], head)
			s.mu.Unlock()
		}
	}
	// The replay may have joined or left guilds: index what it ended with.
	s.mu.Lock()
	guilds := make([]snowflake.ID, 0, len(s.guilds))
	for id := range s.guilds {
		guilds = append(guilds, id)
	}
	s.metaDirty = true
	s.mu.Unlock()
	g.mu.Lock()
	g.unindexLocked(s)
	g.mu.Unlock()
	g.index(s, guilds)
	s.release()
	s.send(origin{}, "RESUMED", []byte(`{}`), true)
	g.markDirty(s)
	g.log.Debug("gateway session taken over", "session", s.id, "from", rec.Owner, "replayed_events", len(evs))
	return s, nil
}

// withNewDMs adds to a rebuilt session's log positions the DMs it has no
// place in: those opened (or joined) after the client's seq, of which no
// event reached the client, so that no process may have routed any to it.
// Each is read from where the user came in: its start, or the last
// CHANNEL_RECIPIENT_ADD of the user in a group DM (what came before is
// not theirs to be told live; the history is there to fetch).
func (g *Gateway) withNewDMs(ctx context.Context, p homeserver.Principal, pos map[snowflake.ID]int64) (map[snowflake.ID]int64, error) {
	dms, err := g.hs.DMChannels(ctx, p)
	if err != nil {
		return nil, err
	}
	read, cloned := pos, false
	for _, c := range dms {
		if _, ok := pos[c.ID]; ok {
			continue
		}
		from, err := g.cameIn(ctx, c.ID, p.User.ID)
		if err != nil {
			return nil, err
		}
		if !cloned {
			read, cloned = maps.Clone(pos), true // pos is the session's: not written
		}
		read[c.ID] = from
	}
	return read, nil
}

// cameIn is the position in a DM's log just before user was last added
// to it, 0 when they never were (they were there from its start).
func (g *Gateway) cameIn(ctx context.Context, dm, user snowflake.ID) (int64, error) {
	var from, after int64
	for read := 0; ; {
		page, err := g.hs.LogEvents(ctx, dm, after, 500)
		if err != nil {
			return 0, err
		}
		for _, ev := range page {
			if ev.Type != "CHANNEL_RECIPIENT_ADD" {
				continue
			}
			var add struct {
				User struct {
					ID snowflake.ID `json:"id"`
				} `json:"user"`
			}
			if json.Unmarshal(ev.Payload, &add) == nil && add.User.ID == user {
				from = ev.Seq - 1
			}
		}
		if read += len(page); read > maxReplay {
			return 0, errNotResumable
		}
		if len(page) < 500 {
			return from, nil
		}
		after = page[len(page)-1].Seq
	}
}

// readSince reads each log after its position, merged into one stream in
// the order the events were written (each log's own order kept).
func (g *Gateway) readSince(ctx context.Context, pos map[snowflake.ID]int64) ([]storage.Event, error) {
	var logs [][]storage.Event
	total := 0
	for id, after := range pos {
		var evs []storage.Event
		for {
			page, err := g.hs.LogEvents(ctx, id, after, 500)
			if err != nil {
				return nil, err
			}
			evs = append(evs, page...)
			if total += len(page); total > maxReplay {
				return nil, errNotResumable
			}
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].Seq
		}
		if len(evs) > 0 {
			logs = append(logs, evs)
		}
	}
	out := make([]storage.Event, 0, total)
	for len(logs) > 0 {
		best := 0
		for i := range logs {
			if logs[i][0].CreatedAt.Before(logs[best][0].CreatedAt) {
				best = i
			}
		}
		out = append(out, logs[best][0])
		if logs[best] = logs[best][1:]; len(logs[best]) == 0 {
			logs = append(logs[:best], logs[best+1:]...)
		}
	}
	return out, nil
}

// replayer is a router of its own for one session being rebuilt: the
// replay reaches that session only, and has none of routing's side
// effects on others (mentions recorded, presences announced).
func (g *Gateway) replayer(s *session) *Gateway {
	rg := &Gateway{
		cfg: g.cfg, hs: g.hs, log: g.log, metrics: g.metrics, replaying: true,
		sessions: map[string]*session{s.id: s},
	}
	rg.makeIndexes()
	s.mu.Lock()
	guilds := make([]snowflake.ID, 0, len(s.guilds))
	for id := range s.guilds {
		guilds = append(guilds, id)
	}
	s.mu.Unlock()
	rg.index(s, guilds)
	return rg
}
