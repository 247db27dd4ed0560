package gateway

import (
	"context"
	"encoding/json"
	"time"

	"hearth/homeserver/bus"
	"hearth/snowflake"
	"hearth/storage"
)

// Sessions survive a restart: a stopping gateway saves every resumable
// session (its sequence, guilds, the channels it was told of and its
// recent dispatches) and how far it had routed each log; the next process
// restores them as dropped sessions, routes to them what was committed
// after that point, and lets their clients RESUME.

// What is saved of a session's recent dispatches: those not yet written
// to its connection, and the last savedSlack before them, which a dying
// connection may have lost in flight; at most savedBytes of them. A client
// further behind than that identifies again.
const (
	savedSlack = 64
	savedBytes = 1 << 20
)

// restoreWithin is how old a saved state may be and still be restored:
// clients of a server that was down longer have given up resuming.
const restoreWithin = 15 * time.Minute

// saved is a session as the gateway saves it.
type saved struct {
	SignIn  snowflake.ID `json:"sign_in"`
	Intents int64        `json:"intents"`
	Bot     bool         `json:"bot"`
	Seq     int64        `json:"seq"`
	// Dispatches are those of seqs Seq-len+1 .. Seq.
	Dispatches []savedDispatch                 `json:"dispatches"`
	Guilds     []snowflake.ID                  `json:"guilds"`
	Visible    map[snowflake.ID][]snowflake.ID `json:"visible"`
	Presence   presence                        `json:"presence"`
}

// savedDispatch is a dispatch's type and its payload's index in the
// saved state's Payloads.
type savedDispatch struct {
	T string `json:"t"`
	P int    `json:"p"`
}

// save records the sessions that can still resume, for the next process.
// The router has stopped, so they and the cursors agree.
func (g *Gateway) save(ctx context.Context) {
	g.mu.RLock()
	all := make([]*session, 0, len(g.sessions))
	for _, s := range g.sessions {
		all = append(all, s)
	}
	st := storage.GatewayState{Cursors: make(map[snowflake.ID]int64, len(g.routed))}
	for log, seq := range g.routed {
		st.Cursors[log] = seq
	}
	g.mu.RUnlock()
	now := time.Now()
	// Payloads are shared between sessions (one per view of an event), so
	// each is saved once.
	type key struct {
		p *byte
		n int
	}
	payloads := map[key]int{}
	for _, s := range all {
		s.mu.Lock()
		if !s.detached.IsZero() && now.Sub(s.detached) > g.cfg.ResumeWindow {
			s.mu.Unlock()
			continue
		}
		rec := saved{
			SignIn: s.user.Session, Intents: s.intents, Bot: s.bot, Seq: s.seq,
			Visible: make(map[snowflake.ID][]snowflake.ID, len(s.visible)), Presence: s.presence,
		}
		for id := range s.guilds {
			rec.Guilds = append(rec.Guilds, id)
		}
		for gid, set := range s.visible {
			for ch := range set {
				rec.Visible[gid] = append(rec.Visible[gid], ch)
			}
		}
		// The newest kept dispatches, back to the slack before the last
		// written one, the first hole or the bound.
		keep := min(int64(len(s.ring)), s.seq-max(0, s.written-savedSlack))
		first, size := len(s.ring), 0
		for first > len(s.ring)-int(keep) && len(s.ring[first-1].d) > 0 && size+len(s.ring[first-1].d) <= savedBytes {
			first--
			size += len(s.ring[first].d)
		}
		for _, d := range s.ring[first:] {
			k := key{&d.d[0], len(d.d)}
			i, ok := payloads[k]
			if !ok {
				i = len(st.Payloads)
				payloads[k] = i
				st.Payloads = append(st.Payloads, d.d)
			}
			rec.Dispatches = append(rec.Dispatches, savedDispatch{d.t, i})
		}
		id, user := s.id, s.user.User.ID
		s.mu.Unlock()
		b, err := json.Marshal(rec)
		if err != nil {
			g.log.Warn("gateway: session not saved", "session", id, "err", err)
			continue
		}
		st.Sessions = append(st.Sessions, storage.GatewaySession{ID: id, UserID: user, State: b, SavedAt: now})
	}
	if err := g.hs.SaveGatewayState(ctx, st); err != nil {
		g.log.Warn("gateway: sessions not saved; their clients will identify again", "err", err)
		return
	}
	g.log.Info("gateway sessions saved for resuming", "sessions", len(st.Sessions))
}

// restore takes what the last process saved: its sessions come back as
// dropped ones, resumable for the resume window, and sub is set to replay
// what was committed after the last process stopped routing. It returns
// how many events that replay holds.
func (g *Gateway) restore(ctx context.Context, sub *bus.Subscription) int {
	st, err := g.hs.TakeGatewayState(ctx)
	if err != nil {
		g.log.Warn("gateway: saved sessions not read; their clients will identify again", "err", err)
		return 0
	}
	now, restored := time.Now(), 0
	for _, gs := range st.Sessions {
		if now.Sub(gs.SavedAt) > restoreWithin {
			continue
		}
		var rec saved
		if err := json.Unmarshal(gs.State, &rec); err != nil {
			g.log.Warn("gateway: saved session unreadable", "session", gs.ID, "err", err)
			continue
		}
		p, err := g.hs.SignedIn(ctx, gs.UserID, rec.SignIn)
		if err != nil {
			continue // signed out (or gone) meanwhile
		}
		s := &session{
			g: g, id: gs.ID, user: p, intents: rec.Intents, bot: rec.Bot, seq: rec.Seq,
			detached: now, presence: rec.Presence,
			guilds:  make(map[snowflake.ID]bool, len(rec.Guilds)),
			visible: make(map[snowflake.ID]map[snowflake.ID]bool, len(rec.Visible)),
		}
		for _, id := range rec.Guilds {
			s.guilds[id] = true
		}
		for gid, chans := range rec.Visible {
			set := make(map[snowflake.ID]bool, len(chans))
			for _, ch := range chans {
				set[ch] = true
			}
			s.visible[gid] = set
		}
		for _, d := range rec.Dispatches {
			if d.P < 0 || d.P >= len(st.Payloads) {
				s.ring = s.ring[:0] // unreadable: the client identifies again
				break
			}
			s.ring = append(s.ring, entry{d.T, st.Payloads[d.P]})
		}
		g.index(s, rec.Guilds)
		restored++
	}
	if restored == 0 {
		return 0 // nobody to replay to: new sessions start from now
	}
	backlog := 0
	for log, seq := range st.Cursors {
		n, err := sub.CatchUp(ctx, log, seq)
		if err != nil {
			g.log.Warn("gateway: events after the restart not replayed", "log", log, "err", err)
		}
		backlog += n
		// Kept for the next save: a log with no event in this process
		// still has its place (the replay moves it on).
		g.routed[log] = seq
	}
	g.log.Info("gateway sessions restored", "sessions", restored, "replayed_events", backlog)
	return backlog
}
