// Package gateway is the client API's real-time face: Discord's Gateway
// (v9/v10, JSON, optional zlib-stream) over WebSocket at /gateway. It takes
// committed events from the homeserver's bus and dispatches each to exactly
// the sessions that may see it, in log order, and keeps recent dispatches so
// that a dropped connection can RESUME without losing any.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"hearth/homeserver"
	"hearth/homeserver/bus"
	"hearth/snowflake"
	"hearth/storage"
)

// Config is what a Gateway is built from.
type Config struct {
	Homeserver *homeserver.Homeserver
	Log        *slog.Logger
	// URL is the WebSocket URL clients are told to connect to.
	URL string
	// HeartbeatInterval is announced in HELLO; zero means 41.25 s.
	HeartbeatInterval time.Duration
	// ResumeWindow is how long a dropped session can be resumed; zero
	// means two minutes.
	ResumeWindow time.Duration
	// PresenceRefresh is how often the presences of the users connected
	// here are told again to the other processes sharing the database
	// (presence.go); zero means 20 s.
	PresenceRefresh time.Duration
	// Metrics, when not nil, is where the gateway's instruments
	// (metrics.go) register.
	Metrics prometheus.Registerer
}

// Gateway owns the sessions. Run routes events to them; ServeHTTP accepts
// connections.
type Gateway struct {
	cfg Config
	hs  *homeserver.Homeserver
	log *slog.Logger

	mu       sync.RWMutex
	sessions map[string]*session
	byGuild  map[snowflake.ID]map[*session]struct{}
	byUser   map[snowflake.ID]map[*session]struct{}
	// presences are users' aggregated presences, other than offline.
	presences map[snowflake.ID]presence
	// elsewhere are the presences of users connected to other processes
	// sharing the database, by user and process, as those told; shared
	// is what this process last told them of its own users' (presence.go).
	elsewhere map[snowflake.ID]map[string]elsewhereEntry
	shared    map[snowflake.ID]presence
	// greeted are the users of other servers, by guild, whose presence
	// this server has answered with its own users' (announcePresences).
	greeted map[snowflake.ID]map[snowflake.ID]bool
	// friendGreeted are the users of other servers whose presence, come
	// for their friends here, this server has answered with those
	// friends' presences (remoteFriendPresence).
	friendGreeted map[snowflake.ID]bool
	closing       bool
	conns         sync.WaitGroup
	running       atomic.Bool
	// barriers are the markers settle waits for, by token.
	barriers sync.Map
	metrics  *gatewayMetrics

	// owner names this process in the sessions' records (live.go).
	owner string
	// dirty are the sessions with something new to record, gone the
	// records to delete; persistWake wakes the persister for them.
	dirtyMu     sync.Mutex
	dirty       map[*session]struct{}
	gone        []string
	persistWake chan struct{}
	// persistMu makes one write of the records at a time; seen, under
	// it, says the process has recorded itself as alive.
	persistMu sync.Mutex
	seen      bool
	// cur is the log event being routed; owned by the routing goroutine.
	cur origin
	// moves are the presences other processes told (or stopped telling)
	// that are still to be recomputed here; owned by the routing
	// goroutine, which makes them when no event waits (movePresences).
	moves []presenceMove
	// replaying marks the router of one session being rebuilt
	// (replayer): it routes to that session only, with no side effects.
	replaying bool
}

// New makes a gateway; call Run to start routing events.
func New(cfg Config) *Gateway {
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = 41250 * time.Millisecond
	}
	if cfg.PresenceRefresh == 0 {
		cfg.PresenceRefresh = defaultPresenceRefresh
	}
	if cfg.ResumeWindow == 0 {
		cfg.ResumeWindow = 2 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{
		cfg: cfg, hs: cfg.Homeserver, log: cfg.Log,
		sessions:    make(map[string]*session),
		owner:       newSessionID(),
		dirty:       make(map[*session]struct{}),
		persistWake: make(chan struct{}, 1),
	}
	g.makeIndexes()
	g.metrics = newMetrics(g, cfg.Metrics)
	return g
}

// makeIndexes makes the router's empty indexes of sessions and presences,
// for a new router and for a replayer alike.
func (g *Gateway) makeIndexes() {
	g.byGuild = make(map[snowflake.ID]map[*session]struct{})
	g.byUser = make(map[snowflake.ID]map[*session]struct{})
	g.presences = make(map[snowflake.ID]presence)
	g.elsewhere = make(map[snowflake.ID]map[string]elsewhereEntry)
	g.shared = make(map[snowflake.ID]presence)
	g.greeted = make(map[snowflake.ID]map[snowflake.ID]bool)
	g.friendGreeted = make(map[snowflake.ID]bool)
}

// Running reports whether the router is delivering events (for /readyz).
func (g *Gateway) Running() bool { return g.running.Load() }

// URL is where clients connect.
func (g *Gateway) URL() string { return g.cfg.URL }

// Run routes bus events to sessions until ctx ends; then it routes what
// was published before the end, asks every client to reconnect (op 7),
// closes the connections and records the sessions as detached, for their
// clients to resume on any process. While it runs, sessions are recorded
// as they live (live.go).
func (g *Gateway) Run(ctx context.Context) error {
	sub := g.hs.Bus().Subscribe(1 << 16)
	defer sub.Close()
	// The persister outlives ctx by the shutdown's last write.
	persistCtx, stopPersisting := context.WithCancel(context.WithoutCancel(ctx))
	persisted := make(chan struct{})
	go func() { defer close(persisted); g.persistLoop(persistCtx) }() // owned by Run: stopped below
	defer func() { stopPersisting(); <-persisted }()
	g.running.Store(true)
	defer g.running.Store(false)
	if g.hs.SharesDatabase() {
		checkCtx, stopChecking := context.WithCancel(ctx)
		checked := make(chan struct{})
		go func() { defer close(checked); g.recheckSignIns(checkCtx) }() // owned by Run: stopped below
		defer func() { stopChecking(); <-checked }()
	}
	sweep := time.NewTicker(10 * time.Second)
	defer sweep.Stop()
	// Presences are told to the other processes again every
	// PresenceRefresh; nil (never ready) with one process.
	var refresh <-chan time.Time
	if g.hs.SharesDatabase() {
		t := time.NewTicker(g.cfg.PresenceRefresh)
		defer t.Stop()
		refresh = t.C
	}
	// Routing outlives ctx by the final drain, so it has its own context.
	routeCtx, stopRouting := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRouting()
	events := make(chan storage.Event, 256)
	go func() { // owned by Run: ends when sub is closed or routeCtx ends
		defer close(events)
		for {
			ev, err := sub.Next(routeCtx)
			if errors.Is(err, context.Canceled) || errors.Is(err, bus.ErrClosed) {
				return
			}
			if err != nil {
				// Catching up from the log failed (the database is away):
				// keep the subscription, which keeps what it owes and
				// spaces its own retries, rather than stop real-time
				// delivery for good.
				g.log.Warn("gateway: reading events failed; retrying", "err", err)
				continue
			}
			events <- ev
		}
	}()
	// Presences told by, or expired with, other processes are recomputed
	// a batch at a time when no event waits (a channel that stays ready
	// while some are pending), and at least one batch every movesEvery
	// however busy routing is. Taking turns at random with events instead
	// left a message behind each of a burst's presence notifications and
	// a batch after each: 2 s in BenchmarkDeadProcessExpiry.
	alwaysReady := make(chan struct{})
	close(alwaysReady)
	lastMoves := time.Now()
	route := func(ev storage.Event) {
		g.cur = origin{}
		if ev.Seq > 0 {
			g.cur = origin{ev.LogID, ev.Seq}
		}
		g.route(routeCtx, ev)
		g.cur = origin{}
	}
	// routeOrEnd routes what was taken from events, or, events closed
	// (the subscription ended), ends routing and reports false.
	routeOrEnd := func(ev storage.Event, ok bool) bool {
		if !ok {
			g.shutdown()
			return false
		}
		route(ev)
		return true
	}
	for {
		var moves <-chan struct{}
		if len(g.moves) > 0 {
			if time.Since(lastMoves) >= movesEvery {
				g.movePresences(routeCtx)
				lastMoves = time.Now()
				continue
			}
			moves = alwaysReady
			// Whatever else is ready goes first (the end, below, too).
			if ctx.Err() == nil {
				select {
				case ev, ok := <-events:
					if !routeOrEnd(ev, ok) {
						return nil
					}
					continue
				case <-sweep.C:
					g.sweep()
					continue
				case <-refresh:
					g.refreshPresences()
					continue
				default:
				}
			}
		}
		select {
		case ev, ok := <-events:
			if !routeOrEnd(ev, ok) {
				return nil
			}
		case <-sweep.C:
			g.sweep()
		case <-refresh:
			g.refreshPresences()
		case <-moves:
			g.movePresences(routeCtx)
			lastMoves = time.Now()
		case <-ctx.Done():
			// What was published before the end reaches the sessions (and
			// so their records), as far as a moment allows.
			done, release := g.barrier()
			wait := time.NewTimer(2 * time.Second)
		drain:
			for {
				select {
				case ev, ok := <-events:
					if !ok {
						break drain
					}
					route(ev)
				case <-done:
					break drain
				case <-wait.C:
					break drain
				}
			}
			wait.Stop()
			release()
			stopRouting()
			sub.Close()
			for range events {
			}
			g.shutdown()
			return nil
		}
	}
}

// shutdown sends RECONNECT to every connected session, waits for the
// connections to close and records the sessions as detached.
func (g *Gateway) shutdown() {
	g.mu.Lock()
	g.closing = true
	all := make([]*session, 0, len(g.sessions))
	for _, s := range g.sessions {
		all = append(all, s)
	}
	// The other processes stop showing this one's users (they would
	// otherwise wait for elsewhereTTL); where they resume, they show again.
	var gone []homeserver.SharedPresence
	for id := range g.shared {
		gone = append(gone, homeserver.SharedPresence{UserID: id, Status: "offline"})
	}
	g.shared = map[snowflake.ID]presence{}
	g.mu.Unlock()
	g.sharePresences(gone)
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Add(1)
		go func() { defer wg.Done(); s.reconnect() }() // each bounded by its close timeout
	}
	wg.Wait()
	done := make(chan struct{})
	go func() { g.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	// Bounded so that the whole stop (requests, drain, RECONNECT, write)
	// fits in the 30 s a supervisor usually grants after SIGTERM.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := time.Now()
	for _, s := range all {
		s.mu.Lock()
		if s.detached.IsZero() {
			s.detached, s.rowDirty = now, true // its connection may still be closing
		}
		s.mu.Unlock()
		g.markDirty(s)
	}
	if err := g.persist(ctx, true); err != nil {
		g.log.Warn("gateway: sessions not recorded on stop; their clients may identify again", "err", err)
		return
	}
	g.log.Info("gateway sessions recorded for resuming", "sessions", len(all))
}

// sweep forgets sessions whose connection dropped longer ago than the
// resume window.
func (g *Gateway) sweep() {
	now := time.Now()
	var expired []string
	g.mu.Lock()
	for id, s := range g.sessions {
		if at := s.detachedAt(); !at.IsZero() && now.Sub(at) > g.cfg.ResumeWindow {
			g.metrics.dropped.WithLabelValues(dropNotResumed).Inc()
			delete(g.sessions, id)
			g.unindexLocked(s)
			expired = append(expired, id)
		}
	}
	g.mu.Unlock()
	g.forget(expired...)
}

func (g *Gateway) index(s *session, guilds []snowflake.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sessions[s.id] = s
	for _, id := range guilds {
		g.addGuildLocked(s, id)
	}
	set := g.byUser[s.user.User.ID]
	if set == nil {
		set = make(map[*session]struct{})
		g.byUser[s.user.User.ID] = set
	}
	set[s] = struct{}{}
}

func (g *Gateway) addGuildLocked(s *session, guildID snowflake.ID) {
	set := g.byGuild[guildID]
	if set == nil {
		set = make(map[*session]struct{})
		g.byGuild[guildID] = set
	}
	set[s] = struct{}{}
}

func (g *Gateway) removeGuild(s *session, guildID snowflake.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if set := g.byGuild[guildID]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(g.byGuild, guildID)
		}
	}
}

func (g *Gateway) unindexLocked(s *session) {
	for guildID, set := range g.byGuild {
		delete(set, s)
		if len(set) == 0 {
			delete(g.byGuild, guildID)
		}
	}
	if set := g.byUser[s.user.User.ID]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(g.byUser, s.user.User.ID)
		}
	}
}

// ServeHTTP accepts a gateway connection: /gateway with or without a
// trailing slash, ?v=9|10, encoding=json, compress=zlib-stream.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := websocket.Accept(smallBuffers{w}, r, &websocket.AcceptOptions{
		// Tokens travel in IDENTIFY, never in cookies: any origin may
		// connect, as any may call the REST API.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return
	}
	c.SetReadLimit(maxFrame)
	if v := q.Get("v"); v != "" && v != "9" && v != "10" {
		c.Close(closeInvalidVersion, "Invalid API version")
		return
	}
	if enc := q.Get("encoding"); enc != "" && enc != "json" {
		c.Close(closeDecodeError, "Only encoding=json is supported")
		return
	}
	g.mu.RLock()
	closing := g.closing
	g.mu.RUnlock()
	if closing {
		c.Close(websocket.StatusGoingAway, "server is shutting down")
		return
	}
	version := 10
	if q.Get("v") == "9" {
		version = 9
	}
	conn := newConn(c, q.Get("compress") == "zlib-stream", version)
	// The session runs on a goroutine of the gateway's, and the handler
	// returns: net/http's connection (its request, its 4 KiB buffers, the
	// deep stack that parsed the handshake) is then garbage instead of
	// being held for as long as the session lives. The request's context
	// ends when the handler returns, so only its values are kept.
	g.conns.Add(1)
	go func() { // owned by the gateway: shutdown closes c and waits on conns
		defer g.conns.Done()
		g.metrics.connections.Inc()
		defer g.metrics.connections.Dec()
		defer conn.ws.CloseNow() // whatever ended the session; a no-op if closed
		defer func() {
			// net/http's own recovery does not reach this goroutine: a
			// fault in one session must not end the process (and with it
			// everyone's sessions).
			if v := recover(); v != nil {
				g.log.Error("gateway: panic serving a session", "panic", v, "stack", string(debug.Stack()))
				c.CloseNow()
			}
		}()
		g.serve(context.WithoutCancel(r.Context()), conn)
	}()
}

// Frame sizes: Discord caps client payloads at 4 KiB; a little more is
// allowed for IDENTIFY's properties.
const maxFrame = 16 << 10

// Close codes, Discord's.
const (
	closeUnknownError       = 4000
	closeUnknownOpcode      = 4001
	closeDecodeError        = 4002
	closeNotAuthenticated   = 4003
	closeAuthFailed         = 4004
	closeAlreadyAuth        = 4005
	closeInvalidSeq         = 4007
	closeRateLimited        = 4008
	closeSessionTimedOut    = 4009
	closeInvalidVersion     = 4012
	closeInvalidIntents     = 4013
	closeDisallowedIntents  = 4014
	commandsPerMinute       = 120
	helloHeartbeatTolerance = 3 // missed intervals before 4009... see serve
)

// Opcodes.
const (
	opDispatch            = 0
	opHeartbeat           = 1
	opIdentify            = 2
	opPresenceUpdate      = 3
	opVoiceStateUpdate    = 4
	opResume              = 6
	opReconnect           = 7
	opRequestGuildMembers = 8
	opInvalidSession      = 9
	opHello               = 10
	opHeartbeatACK        = 11
)

// frame is a gateway payload as received.
type frame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s"`
	T  *string         `json:"t"`
}

func encodeFrame(op int, d any) []byte {
	b, _ := json.Marshal(struct {
		Op int     `json:"op"`
		D  any     `json:"d"`
		S  *int64  `json:"s"`
		T  *string `json:"t"`
	}{Op: op, D: d})
	return b
}

// appendDispatch appends an op 0 frame around an already encoded d: a
// payload is encoded once however many sessions receive it, and each
// session's frame is built only as it is written.
func appendDispatch(b []byte, seq int64, t string, d []byte) []byte {
	b = append(b, `{"op":0,"s":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"t":"`...)
	b = append(b, t...)
	b = append(b, `","d":`...)
	b = append(b, d...)
	return append(b, '}')
}

// barrierEvent is the bus marker of settle.
const barrierEvent = "HEARTH_GATEWAY_BARRIER"

// settle waits until the router has routed every event published before
// the call (at most a second): a RESUME that follows a REST call must find
// that call's events in the session's buffer.
func (g *Gateway) settle(ctx context.Context) {
	if !g.running.Load() {
		return
	}
	done, release := g.barrier()
	defer release()
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
}

// barrier publishes a marker on the bus and returns a channel closed when
// the router reaches it: the bus keeps publication order, so everything
// published before has then been routed. release forgets the marker.
func (g *Gateway) barrier() (done <-chan struct{}, release func()) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	ch := make(chan struct{})
	g.barriers.Store(token, ch)
	g.hs.Bus().Publish(storage.Event{Type: barrierEvent, Payload: []byte(token), CreatedAt: time.Now()})
	return ch, func() { g.barriers.Delete(token) }
}
