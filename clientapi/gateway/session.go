package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/snowflake"
)

// ringSize is how many recent dispatches a session keeps for RESUME.
const ringSize = 4096

// sendQueue bounds the frames waiting for a slow client; past it the
// connection is closed (the session can resume) so that nobody else waits.
// It is small because every idle session pays for it.
const sendQueue = 128

// entry is one dispatch of a session: its type and payload. The payload
// is shared with every session that received the same view of the event,
// so that keeping it for RESUME costs a session a slice header, not a copy.
type entry struct {
	t string
	d []byte
}

// queued is a dispatch waiting to be written, with its sequence number.
type queued struct {
	seq int64
	entry
}

// session is an identified gateway session. It outlives its connection by
// the resume window.
type session struct {
	g       *Gateway
	id      string
	user    homeserver.Principal
	intents int64
	bot     bool

	mu  sync.Mutex
	seq int64
	// written is the last seq written to a connection: the client has it
	// unless that connection died with it in flight.
	written int64
	// ring holds the dispatches of seqs seq-len(ring)+1 .. seq, at most
	// 2*ringSize of them; a dispatch with nil d was not kept. It grows as
	// dispatches come, so that an idle session costs little.
	ring []entry
	// c is the attached connection (nil when dropped); pending are
	// dispatches queued for it, written by a flusher goroutine that runs
	// only while there is something to write, so an idle session costs
	// one goroutine (its connection's reader).
	c       *conn
	connCtx context.Context
	kick    context.CancelFunc // ends the attached connection's serve loop
	pending []queued
	// holding is set while a new session's READY and GUILD_CREATEs are
	// being sent: the session is indexed first (so that nothing committed
	// meanwhile is missed), and the dispatches routed to it meanwhile wait
	// in held, so that READY is the first dispatch, as clients expect.
	holding     bool
	held        []heldEntry
	limit       int // how long pending may grow before the client is dropped
	flushingFor *conn
	detached    time.Time
	guilds      map[snowflake.ID]bool
	presence    presence
	// visible is, per guild, the channels the session was told of, so
	// that a permission change can be told as CHANNEL_CREATE or
	// CHANNEL_DELETE.
	visible map[snowflake.ID]map[snowflake.ID]bool

	// The session's record in the database (live.go). durable is the
	// last seq the connection may have: past it, a dispatch from a log
	// waits until its mark is written. marks are the log events of the
	// seqs after base, basePos where the logs stand at base; acked is
	// the last seq the client's heartbeat reported.
	durable   int64
	acked     int64
	base      int64
	basePos   map[snowflake.ID]int64
	marks     []mark
	recorded  bool // written at least once (with its meta)
	metaDirty bool
	// savedMarks of marks are in the database; placeDirty says base has
	// moved, rowDirty that detached has changed, since the last write.
	savedMarks int
	placeDirty bool
	rowDirty   bool
	ended      bool
	// A session rebuilt from its record drops what its replay already
	// gave (floor, per log) and the first skipN dispatches of the event
	// skip, which its client had part of.
	floor map[snowflake.ID]int64
	skip  origin
	skipN int64
}

// heldEntry is a dispatch held while READY is sent, with its origin.
type heldEntry struct {
	o origin
	entry
}

// setVisible records the channels a GUILD_CREATE told of.
func (s *session) setVisible(guildID snowflake.ID, chans []discord.Channel) {
	set := make(map[snowflake.ID]bool, len(chans))
	for _, c := range chans {
		set[c.ID] = true
	}
	s.mu.Lock()
	if s.visible == nil {
		s.visible = make(map[snowflake.ID]map[snowflake.ID]bool)
	}
	s.visible[guildID] = set
	s.metaDirty = true
	s.mu.Unlock()
}

// sees reports, and with set updates, whether the session knows a channel.
func (s *session) sees(guildID, channelID snowflake.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.visible[guildID][channelID]
}

func (s *session) markVisible(guildID, channelID snowflake.ID, v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.visible == nil {
		s.visible = make(map[snowflake.ID]map[snowflake.ID]bool)
	}
	set := s.visible[guildID]
	if set == nil {
		set = make(map[snowflake.ID]bool)
		s.visible[guildID] = set
	}
	if v != set[channelID] {
		s.metaDirty = true
	}
	if v {
		set[channelID] = true
	} else {
		delete(set, channelID)
	}
}

func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *session) detachedAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.detached
}

func (s *session) inGuild(id snowflake.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.guilds[id]
}

// dispatch numbers a dispatch that comes from no log, keeps it for
// RESUME and queues it for the connection, if there is one.
func (s *session) dispatch(t string, d []byte) { s.dispatchFrom(origin{}, t, d) }

// dispatchFrom is dispatch of one that came from log event o.
func (s *session) dispatchFrom(o origin, t string, d []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holding {
		s.held = append(s.held, heldEntry{o, entry{t, d}})
		return
	}
	s.sendLocked(o, t, d, true)
}

// release sends the dispatches held while READY was being sent, in order,
// and lets the next ones through.
func (s *session) release() {
	for {
		s.mu.Lock()
		held := s.held
		s.held = nil
		if len(held) == 0 {
			s.holding = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for _, e := range held {
			s.send(e.o, e.t, e.d, true)
		}
	}
}

// send numbers and queues a dispatch; keep false leaves a hole in the ring
// instead of the dispatch. READY and the first GUILD_CREATEs are not kept:
// they are the bulk of an idle session's memory, and a client that lost
// them identifies again rather than resumes.
func (s *session) send(o origin, t string, d []byte, keep bool) {
	s.mu.Lock()
	s.sendLocked(o, t, d, keep)
	s.mu.Unlock()
}

// sendLocked is send with s.mu held.
func (s *session) sendLocked(o origin, t string, d []byte, keep bool) {
	if o.pos > 0 {
		if o.pos <= s.floor[o.log] {
			return // a rebuilt session's replay gave it already
		}
		if s.skipN > 0 && s.skip == o {
			s.skipN-- // its client had this part of the event
			return
		}
	}
	s.seq++
	if keep {
		s.keep(entry{t, d})
	} else {
		s.keep(entry{})
	}
	if o.pos > 0 {
		s.noteLocked(o)
	} else if s.durable == s.seq-1 {
		s.durable = s.seq // from no log, and nothing before it waits
	}
	s.queueLocked(queued{s.seq, entry{t, d}})
}

// queueLocked queues a dispatch for the attached connection and starts its
// flusher if none runs; s.mu is held.
// undurableFactor bounds a session's queue, counting what waits for its
// mark, at this many times its send queue.
const undurableFactor = 4

func (s *session) queueLocked(q queued) {
	if s.c == nil {
		return
	}
	// What waits for its mark to be written is not the client's delay;
	// but while marks cannot be written at all (the database is down) the
	// wait has a bound too, or memory grows with sessions × event rate.
	limit := int64(max(s.limit, sendQueue))
	if int64(len(s.pending))-(s.seq-s.durable) >= limit || int64(len(s.pending)) >= undurableFactor*limit {
		// A client that does not read loses its connection, not the
		// others' time: the connection's own loop closes it, and the
		// session can resume from the ring.
		s.pending = nil
		if s.kick != nil {
			s.g.metrics.dropped.WithLabelValues(dropSlowConsumer).Inc()
			s.kick()
		}
		return
	}
	s.pending = append(s.pending, q)
	s.flushLocked()
}

// flushLocked starts the attached connection's flusher if it has durable
// dispatches waiting and none runs; s.mu is held.
func (s *session) flushLocked() {
	if s.c == nil || len(s.pending) == 0 || s.pending[0].seq > s.durable || s.flushingFor == s.c {
		return
	}
	s.flushingFor = s.c
	go s.flush(s.connCtx, s.c) // ends when nothing durable waits or c fails
}

// flush writes the queued durable dispatches to c until there are none.
func (s *session) flush(ctx context.Context, c *conn) {
	defer func() {
		// Its own goroutine: a fault here must cost one connection, not
		// the process.
		if v := recover(); v != nil {
			s.g.log.Error("gateway: panic writing to a session", "panic", v, "stack", string(debug.Stack()))
			c.ws.CloseNow()
		}
	}()
	var frame []byte
	for {
		s.mu.Lock()
		n := 0
		for n < len(s.pending) && s.pending[n].seq <= s.durable {
			n++
		}
		if s.c != c || n == 0 {
			if s.flushingFor == c {
				s.flushingFor = nil
			}
			s.mu.Unlock()
			return
		}
		batch := s.pending[:n:n]
		if s.pending = s.pending[n:]; len(s.pending) == 0 {
			s.pending, s.limit = nil, sendQueue
		}
		s.mu.Unlock()
		for i, q := range batch {
			frame = appendDispatch(frame[:0], q.seq, q.t, q.d)
			err := c.write(ctx, frame)
			if err == nil && i == len(batch)-1 {
				s.mu.Lock()
				s.written = max(s.written, q.seq)
				s.mu.Unlock()
			}
			if err != nil {
				s.mu.Lock()
				if s.flushingFor == c {
					s.flushingFor = nil
				}
				kick := s.kick
				if s.c != c {
					kick = nil
				}
				s.mu.Unlock()
				if kick != nil {
					kick()
				}
				return
			}
		}
	}
}

// attachLocked makes c the session's connection; s.mu is held.
func (s *session) attachLocked(ctx context.Context, c *conn, kick context.CancelFunc) {
	s.c, s.connCtx, s.kick, s.pending, s.detached = c, ctx, kick, nil, time.Time{}
	s.flushingFor, s.rowDirty = nil, true
}

// keep adds a dispatch to the ring; s.mu is held.
func (s *session) keep(d entry) {
	if len(s.ring) == 2*ringSize {
		// Drop the older half at once: amortised O(1) per dispatch.
		n := copy(s.ring, s.ring[ringSize:])
		clear(s.ring[n:])
		s.ring = s.ring[:n]
	}
	s.ring = append(s.ring, d)
}

// missedSince returns the dispatches after seq, or false when the ring no
// longer holds them all; s.mu is held.
func (s *session) missedSince(seq int64) ([]queued, bool) {
	n := s.seq - seq
	if n < 0 || n > int64(len(s.ring)) || n > ringSize {
		return nil, false
	}
	missed := make([]queued, 0, n)
	for i, d := range s.ring[int64(len(s.ring))-n:] {
		if d.d == nil {
			return nil, false // one that was not kept
		}
		missed = append(missed, queued{seq + 1 + int64(i), d})
	}
	return missed, true
}

// reconnect asks the client to come back (op 7) and closes the connection.
func (s *session) reconnect() {
	s.mu.Lock()
	c := s.c
	s.mu.Unlock()
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = c.write(ctx, encodeFrame(opReconnect, nil))
	cancel()
	c.close(websocket.StatusServiceRestart, "reconnect")
}

// unindex forgets a session that never became usable.
func (g *Gateway) unindex(s *session) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.sessions, s.id)
	g.unindexLocked(s)
}

// identify is IDENTIFY's d.
type identify struct {
	Token    string          `json:"token"`
	Intents  *int64          `json:"intents"`
	Shard    []int           `json:"shard"`
	Presence *presenceUpdate `json:"presence"`
}

// resume is RESUME's d.
type resume struct {
	Token     string `json:"token"`
	SessionID string `json:"session_id"`
	Seq       int64  `json:"seq"`
}

// knownIntents are the intent bits Discord defines.
const knownIntents = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 |
	1<<12 | 1<<13 | 1<<14 | 1<<15 | 1<<16 | 1<<20 | 1<<21 | 1<<24 | 1<<25

// serve runs one connection: HELLO, then IDENTIFY or RESUME, then the
// session until the connection ends. The goroutine serving the connection
// is its reader; writes of dispatches happen in the session's flusher.
func (g *Gateway) serve(ctx context.Context, c *conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	interval := g.cfg.HeartbeatInterval
	if err := c.write(ctx, encodeFrame(opHello, map[string]any{"heartbeat_interval": interval.Milliseconds()})); err != nil {
		return
	}
	var s *session
	defer func() {
		if s != nil {
			s.mu.Lock()
			if s.c == c {
				s.c, s.connCtx, s.kick, s.pending, s.detached = nil, nil, nil, nil, time.Now()
				s.rowDirty = true
			}
			s.mu.Unlock()
			g.markDirty(s) // its record says since when it can be resumed
			// Temporary memberships end before the presence is told, so
			// that others see the user go offline only in guilds they
			// are still in.
			g.lastDisconnect(context.WithoutCancel(ctx), s.user.User.ID)
			g.presenceChanged(context.WithoutCancel(ctx), s.user.User.ID)
		}
	}()
	watch := newHeartbeatWatch(interval, func() {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_ = c.write(ctx, encodeFrame(opHeartbeat, nil))
	}, func() {
		g.metrics.dropped.WithLabelValues(dropHeartbeat).Inc()
		c.close(closeSessionTimedOut, "Session timed out.")
		cancel()
	})
	defer watch.stop()
	window, commands := time.Now(), 0
	for {
		typ, msg, err := c.ws.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				c.ws.CloseNow() // kicked (slow consumer) or shut down
			}
			return
		}
		var f frame
		if typ != websocket.MessageText || json.Unmarshal(msg, &f) != nil {
			c.close(closeDecodeError, "Error while decoding payload.")
			return
		}
		if time.Since(window) > time.Minute {
			window, commands = time.Now(), 0
		}
		if commands++; commands > commandsPerMinute {
			c.close(closeRateLimited, "You are being rate limited.")
			return
		}
		switch f.Op {
		case opHeartbeat:
			watch.beat()
			// d is the last seq the client has: its record may forget
			// what came before.
			var seq int64
			if s != nil && json.Unmarshal(f.D, &seq) == nil && seq > 0 {
				s.mu.Lock()
				s.acked = max(s.acked, min(seq, s.seq))
				s.mu.Unlock()
			}
			if err := c.write(ctx, encodeFrame(opHeartbeatACK, nil)); err != nil {
				return
			}
		case opIdentify:
			if s != nil {
				c.close(closeAlreadyAuth, "You sent more than one identify payload.")
				return
			}
			if s, err = offStack(func() (*session, error) { return g.identify(ctx, cancel, c, f.D) }); err != nil {
				s = nil
				return
			}
			g.presenceChanged(ctx, s.user.User.ID)
		case opResume:
			if s != nil {
				c.close(closeAlreadyAuth, "Already authenticated.")
				return
			}
			if s, err = offStack(func() (*session, error) { return g.resume(ctx, cancel, c, f.D) }); err != nil {
				s = nil
				return
			}
			// s is nil after INVALID_SESSION: the client may IDENTIFY.
			if s != nil {
				g.presenceChanged(ctx, s.user.User.ID)
			}
		case opPresenceUpdate:
			if s == nil {
				c.close(closeNotAuthenticated, "You sent a payload prior to identifying.")
				return
			}
			var pu presenceUpdate
			if json.Unmarshal(f.D, &pu) != nil {
				c.close(closeDecodeError, "Error while decoding payload.")
				return
			}
			s.mu.Lock()
			s.presence = pu.clean()
			s.mu.Unlock()
			g.presenceChanged(ctx, s.user.User.ID)
		case opVoiceStateUpdate:
			if s == nil {
				c.close(closeNotAuthenticated, "You sent a payload prior to identifying.")
				return
			}
			// Accepted; voice is not carried.
		case opRequestGuildMembers:
			if s == nil {
				c.close(closeNotAuthenticated, "You sent a payload prior to identifying.")
				return
			}
			g.requestMembers(ctx, s, f.D)
		default:
			c.close(closeUnknownOpcode, "Unknown opcode.")
			return
		}
	}
}

// offStack runs fn on a goroutine of its own and waits for it. IDENTIFY
// goes deep (database driver, JSON of whole guilds) and a goroutine's stack
// never shrinks back while it is idle, so doing it on the connection's
// long-lived goroutine would leave every idle session holding a deep
// stack; this way that stack is freed when fn returns.
func offStack(fn func() (*session, error)) (*session, error) {
	type result struct {
		s   *session
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- result{nil, fmt.Errorf("gateway: panic: %v\n%s", v, debug.Stack())}
			}
		}()
		s, err := fn()
		done <- result{s, err}
	}()
	r := <-done
	return r.s, r.err
}

func stripBot(token string) string {
	for _, p := range []string{"Bot ", "Bearer "} {
		token = strings.TrimPrefix(token, p)
	}
	return strings.TrimSpace(token)
}

// identify authenticates a new session and sends READY and its guilds.
func (g *Gateway) identify(ctx context.Context, kick context.CancelFunc, c *conn, raw json.RawMessage) (*session, error) {
	var id identify
	if err := json.Unmarshal(raw, &id); err != nil {
		c.close(closeDecodeError, "Error while decoding payload.")
		return nil, err
	}
	p, err := g.hs.Authenticate(ctx, stripBot(id.Token))
	if err != nil {
		c.close(closeAuthFailed, "Authentication failed.")
		return nil, err
	}
	allowed, appFlags, err := g.hs.AllowedIntents(ctx, p.User.ID)
	if err != nil {
		c.close(closeUnknownError, "Unknown error.")
		return nil, err
	}
	// Without intents, a session gets every one it may have.
	intents := knownIntents &^ (homeserver.PrivilegedIntents &^ allowed)
	if id.Intents != nil {
		intents = *id.Intents
		if intents < 0 || intents&^knownIntents != 0 {
			c.close(closeInvalidIntents, "Invalid intent(s).")
			return nil, errors.New("invalid intents")
		}
		if intents&homeserver.PrivilegedIntents&^allowed != 0 {
			c.close(closeDisallowedIntents, "Disallowed intent(s).")
			return nil, errors.New("disallowed intents")
		}
	}
	guilds, err := g.hs.GuildIDs(ctx, p.User.ID)
	if err != nil {
		c.close(closeUnknownError, "Unknown error.")
		return nil, err
	}
	// The user's settings: READY carries them, and the session's first
	// status may be theirs.
	settings, err := g.hs.Settings(ctx, p)
	if err != nil {
		c.close(closeUnknownError, "Unknown error.")
		return nil, err
	}
	// Where the session's logs stand before it starts: its record's base
	// (read before it is indexed, so that nothing routed to it is older).
	heads, err := g.logHeads(ctx, p, guilds)
	if err != nil {
		c.close(closeUnknownError, "Unknown error.")
		return nil, err
	}
	s := &session{
		g: g, id: newSessionID(), user: p, intents: intents, bot: p.User.Bot,
		guilds:   make(map[snowflake.ID]bool),
		presence: presence{Status: "online", Activities: []activity{}},
		holding:  true, basePos: heads,
	}
	s.attachLocked(ctx, c, kick) // not yet shared: no lock needed
	if id.Presence != nil {
		s.presence = id.Presence.clean()
	}
	// A session that names no status starts with the one the user set in
	// their settings (discordgo, for one, sends an empty status).
	if id.Presence == nil || id.Presence.Status == "" {
		s.presence.Status = settings.Status
	}
	for _, gid := range guilds {
		s.guilds[gid] = true
	}
	// Indexed before READY is built, so that no event committed meanwhile
	// is missed; one that arrives twice (in a GUILD_CREATE and as a
	// dispatch) is harmless, one lost is not.
	g.index(s, guilds)
	ready, err := g.ready(ctx, s, c.version, guilds, id.Shard, appFlags, settings)
	if err != nil {
		g.unindex(s)
		c.close(closeUnknownError, "Unknown error.")
		return nil, err
	}
	s.send(origin{}, "READY", ready, false)
	for _, gid := range guilds {
		if st, err := g.hs.GuildState(ctx, p, gid); err == nil {
			st.Presences = g.presencesOf(memberIDs(st.Members), gid)
			s.setVisible(gid, st.Channels)
			b, _ := json.Marshal(st)
			s.send(origin{}, "GUILD_CREATE", b, false)
		}
	}
	s.release()
	g.markDirty(s)
	g.log.Debug("gateway session identified", "user_id", p.User.ID, "session", s.id, "guilds", len(guilds))
	return s, nil
}

// readyUser is the private user object of READY.
type readyUser struct {
	ID            snowflake.ID `json:"id"`
	Username      string       `json:"username"`
	Discriminator string       `json:"discriminator"`
	GlobalName    *string      `json:"global_name"`
	Avatar        *string      `json:"avatar"`
	Banner        *string      `json:"banner"`
	AccentColor   *int         `json:"accent_color"`
	Bio           string       `json:"bio"`
	Pronouns      string       `json:"pronouns"`
	Bot           bool         `json:"bot"`
	MFAEnabled    bool         `json:"mfa_enabled"`
	Verified      bool         `json:"verified"`
	Email         *string      `json:"email"`
	Flags         int64        `json:"flags"`
	Locale        string       `json:"locale"`
	PremiumType   int          `json:"premium_type"`
}

func (g *Gateway) ready(ctx context.Context, s *session, version int, guilds []snowflake.ID, shard []int, appFlags int64, userSettings homeserver.UserSettings) ([]byte, error) {
	dms, err := g.hs.DMChannels(ctx, s.user)
	if err != nil {
		return nil, err
	}
	rels, err := g.hs.Relationships(ctx, s.user)
	if err != nil {
		return nil, err
	}
	// Read states and guild settings live in guilds and DMs: a user in
	// neither (a new account, most bots) has none, and costs no query for
	// them.
	readStates := homeserver.ReadStates{Entries: []homeserver.ReadStateEntry{}}
	guildSettings := homeserver.AllGuildSettings{Entries: []homeserver.GuildSettings{}}
	if len(guilds) > 0 || len(dms) > 0 {
		if readStates, err = g.hs.ReadStates(ctx, s.user); err != nil {
			return nil, err
		}
		if guildSettings, err = g.hs.AllGuildSettings(ctx, s.user); err != nil {
			return nil, err
		}
	}
	u := s.user.User.Discord()
	stubs := make([]map[string]any, 0, len(guilds))
	for _, id := range guilds {
		stubs = append(stubs, map[string]any{"id": id, "unavailable": true})
	}
	r := map[string]any{
		"v": version,
		"user": readyUser{
			ID: u.ID, Username: u.Username, Discriminator: "0", GlobalName: u.GlobalName, Avatar: u.Avatar,
			Banner: u.Banner, AccentColor: u.AccentColor, Bio: s.user.User.Bio, Pronouns: s.user.User.Pronouns,
			Bot: s.bot, Verified: true, Flags: u.PublicFlags, Locale: "en-US",
		},
		"guilds":              stubs,
		"session_id":          s.id,
		"session_type":        "normal",
		"resume_gateway_url":  g.cfg.URL,
		"application":         map[string]any{"id": u.ID, "flags": appFlags},
		"private_channels":    dms,
		"relationships":       rels,
		"presences":           g.friendPresences(rels),
		"guild_join_requests": []any{},
		"user_settings":       userSettings,
		"read_state":          readStates,
		"user_guild_settings": guildSettings,
	}
	if len(shard) == 2 {
		r["shard"] = shard
	}
	return json.Marshal(r)
}

// resume re-attaches a dropped session and replays what it missed; when it
// cannot, it sends INVALID_SESSION (d false) and returns nil, nil.
func (g *Gateway) resume(ctx context.Context, kick context.CancelFunc, c *conn, raw json.RawMessage) (*session, error) {
	var r resume
	if err := json.Unmarshal(raw, &r); err != nil {
		c.close(closeDecodeError, "Error while decoding payload.")
		return nil, err
	}
	invalid := func() (*session, error) {
		return nil, c.write(ctx, encodeFrame(opInvalidSession, false))
	}
	p, err := g.hs.Authenticate(ctx, stripBot(r.Token))
	if err != nil {
		c.close(closeAuthFailed, "Authentication failed.")
		return nil, err
	}
	g.settle(ctx)
	g.mu.RLock()
	s := g.sessions[r.SessionID]
	g.mu.RUnlock()
	// The record says which process serves the session: another one's
	// (or a dead one's) is rebuilt here, and a copy this process still
	// has is stale (its client went elsewhere since). One of this
	// process's that it no longer holds (a rebuild that failed half way)
	// is rebuilt too.
	rec, seen, err := g.hs.LiveSession(ctx, r.SessionID)
	switch {
	case err == nil && (rec.Owner != g.owner || s == nil):
		if s != nil {
			g.lost(s)
		}
		s, err := g.takeOver(ctx, kick, c, p, r, rec, seen)
		if errors.Is(err, errNotResumable) {
			return invalid()
		}
		if err != nil {
			c.close(closeUnknownError, "Unknown error.") // may be retried
			return nil, err
		}
		return s, nil
	case err != nil && !errors.Is(err, homeserver.ErrNotFound):
		c.close(closeUnknownError, "Unknown error.") // may be retried
		return nil, err
	}
	if s == nil || s.user.User.ID != p.User.ID {
		return invalid()
	}
	// A privileged intent switched off since the session identified (its
	// application's owner did, before a drop or a restart) is not resumed.
	allowed, _, err := g.hs.AllowedIntents(ctx, p.User.ID)
	if err != nil {
		c.close(closeUnknownError, "Unknown error.") // may be retried
		return nil, err
	}
	if s.intents&homeserver.PrivilegedIntents&^allowed != 0 {
		c.close(closeDisallowedIntents, "Disallowed intent(s).")
		return nil, errors.New("disallowed intents on resume")
	}
	s.mu.Lock()
	if old := s.c; old != nil {
		// Still attached to a connection the client considers dead:
		// take over, as Discord does. Dropped, not closed politely: a
		// close handshake with a dead peer would hold the session's
		// lock, and with it the router, for seconds.
		old.ws.CloseNow()
	}
	if r.Seq > s.seq {
		s.mu.Unlock()
		c.close(closeInvalidSeq, "Invalid seq.")
		return nil, errors.New("invalid seq")
	}
	missed, ok := s.missedSince(r.Seq)
	if !ok {
		s.mu.Unlock()
		return invalid()
	}
	s.attachLocked(ctx, c, kick)
	s.pending = missed // replayed whole, however many: they were kept for this
	s.limit = len(missed) + sendQueue
	s.sendLocked(origin{}, "RESUMED", []byte(`{}`), true)
	s.flushLocked()
	s.mu.Unlock()
	g.markDirty(s) // attached again
	return s, nil
}

// requestMembers answers REQUEST_GUILD_MEMBERS with GUILD_MEMBERS_CHUNK
// dispatches of up to 1,000 members.
func (g *Gateway) requestMembers(ctx context.Context, s *session, raw json.RawMessage) {
	var req struct {
		GuildID json.RawMessage `json:"guild_id"`
		Query   string          `json:"query"`
		Limit   int             `json:"limit"`
		UserIDs []snowflake.ID  `json:"user_ids"`
		Nonce   string          `json:"nonce"`
	}
	if json.Unmarshal(raw, &req) != nil {
		return
	}
	var ids []snowflake.ID
	if json.Unmarshal(req.GuildID, &ids) != nil {
		var one snowflake.ID
		if json.Unmarshal(req.GuildID, &one) != nil {
			return
		}
		ids = []snowflake.ID{one}
	}
	for _, gid := range ids {
		ms, err := g.hs.GuildMembers(ctx, s.user, gid, req.Query, req.UserIDs, req.Limit)
		if err != nil {
			continue
		}
		chunks := max(1, (len(ms)+999)/1000)
		for i := 0; i < chunks; i++ {
			part := ms[i*1000 : min(len(ms), (i+1)*1000)]
			if part == nil {
				part = []discord.Member{} // libraries iterate it: never null
			}
			b, _ := json.Marshal(map[string]any{
				"guild_id": gid, "members": part, "chunk_index": i, "chunk_count": chunks, "nonce": req.Nonce,
				"not_found": []any{},
			})
			s.dispatch("GUILD_MEMBERS_CHUNK", b)
		}
	}
}

func memberIDs(ms []discord.Member) []snowflake.ID {
	out := make([]snowflake.ID, 0, len(ms))
	for _, m := range ms {
		if m.User != nil {
			out = append(out, m.User.ID)
		}
	}
	return out
}

// heartbeatWatch asks a client whose heartbeat is overdue (an interval and
// a little: the first may come up to one interval after HELLO) for one
// with op 1, as Discord does; half an interval later without one, the
// session times out. Its timer runs no goroutine until it fires.
type heartbeatWatch struct {
	interval, overdue time.Duration
	ask, expire       func()

	mu    sync.Mutex
	t     *time.Timer
	due   time.Time // when the armed timer is meant to fire
	asked bool
	done  bool
}

func newHeartbeatWatch(interval time.Duration, ask, expire func()) *heartbeatWatch {
	w := &heartbeatWatch{interval: interval, overdue: interval + min(5*time.Second, interval/4), ask: ask, expire: expire}
	w.mu.Lock()
	w.due = time.Now().Add(w.overdue) // before arming: fire compares with it
	w.t = time.AfterFunc(w.overdue, w.fire)
	w.mu.Unlock()
	return w
}

// beat records a heartbeat from the client.
func (w *heartbeatWatch) beat() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	w.asked = false
	w.due = time.Now().Add(w.overdue)
	w.t.Reset(w.overdue)
}

func (w *heartbeatWatch) fire() {
	w.mu.Lock()
	if w.done || time.Now().Before(w.due) {
		// Stopped, or re-armed by a heartbeat while this firing waited
		// for the lock: not overdue.
		w.mu.Unlock()
		return
	}
	if !w.asked {
		w.asked = true
		w.due = time.Now().Add(w.interval / 2)
		w.t.Reset(w.interval / 2)
		w.mu.Unlock()
		w.ask()
		return
	}
	w.done = true
	w.mu.Unlock()
	w.expire()
}

// stop ends the watch; no callback runs after it returns, except one that
// had already begun.
func (w *heartbeatWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	w.t.Stop()
}
