package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hearth/homeserver/wire"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hearth/homeserver"
	"hearth/homeserver/bus"
	"hearth/homeserver/lease"
	"hearth/snowflake"
	"hearth/storage"
)

// SenderDomain is what the sender needs of the homeserver.
type SenderDomain interface {
	Bus() *bus.Bus
	DeliveryCursors(ctx context.Context) ([]storage.Cursor, error)
	PeerBatch(ctx context.Context, peer string, guildID snowflake.ID, after int64) (wire.EventBatch, error)
	Delivered(ctx context.Context, peer string, guildID snowflake.ID, seq int64) (bool, error)
	SyncReplicas(ctx context.Context)
	PeerEphemeral(ctx context.Context, peer string, ev storage.Event) (wire.EphemeralEvent, bool)
	ReplicaOrigin(ctx context.Context, guildID snowflake.ID) (string, bool)
	FriendServers(ctx context.Context, userID, only snowflake.ID) []string
}

// Retry bounds: the first retry after a failure waits MinBackoff, each
// next one twice as long, up to MaxBackoff, each with ±25% jitter so that
// peers coming back are not all called at once.
const (
	MinBackoff = time.Second
	MaxBackoff = time.Hour
)

// Sender delivers every guild log to each peer with members in it, from
// the peer's cursor: a transaction is the events after the cursor (those
// the peer may see), its ID names the stretch so that a retry is the same
// transaction, and the cursor moves only once the peer has acknowledged
// it. There is no queue besides the log, so a crash or a peer away for a
// week loses nothing. One goroutine per peer, owned by Run.
type Sender struct {
	hs     SenderDomain
	client *Client
	log    *slog.Logger

	mu    sync.Mutex
	peers map[string]*peerQueue
	// logs lists the peers of each delivered log; heads is the newest seq
	// seen of each, for the lag metric.
	logs  map[snowflake.ID][]string
	heads map[snowflake.ID]int64
	// lags is each peer's lag as last set on its gauge: recomputed by
	// each delivery pass, and raised by each new event in between, so
	// that the gauge rises while a peer hangs in a long transaction.
	lags map[string]int64
	run  func(name string) // starts a peer's goroutine; set by Run

	refreshNow chan struct{}
	// leases, when set, make this process one of several sharing the
	// database: it delivers to a peer only while it holds the peer's
	// lease (SetLeases).
	leases *lease.Keeper

	lag      *prometheus.GaugeVec
	txns     *prometheus.CounterVec
	duration prometheus.Histogram
}

type peerQueue struct {
	name string
	// wake says there may be events to deliver; urgent also cuts a
	// retry's wait short (the peer has just shown it is up).
	wake, urgent chan struct{}
	// ephemeral holds typing to send once; full means dropped.
	ephemeral chan storage.Event
}

// NewSender makes a sender and registers its metrics.
func NewSender(hs SenderDomain, client *Client, log *slog.Logger, reg prometheus.Registerer) *Sender {
	s := &Sender{
		hs: hs, client: client, log: log,
		peers: map[string]*peerQueue{}, logs: map[snowflake.ID][]string{}, heads: map[snowflake.ID]int64{},
		lags:       map[string]int64{},
		refreshNow: make(chan struct{}, 1),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hearth_federation_delivery_lag_events",
			Help: "Events of the guild logs a peer receives that it has not acknowledged yet.",
		}, []string{"peer"}),
		txns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_federation_transactions_total",
			Help: "Outbound event transactions, by peer and outcome (ok, error).",
		}, []string{"peer", "outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hearth_federation_transaction_seconds",
			Help:    "Time from sending an event transaction to its acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}),
	}
	reg.MustRegister(s.lag, s.txns, s.duration)
	return s
}

// SetLeases makes the sender share its peers with the other processes of
// one database: a peer's deliveries are made by the one process that holds
// its lease, and when that process dies another takes the lease over once
// it has expired and carries on from the cursors, which only a delivery
// the peer acknowledged moves. Call it before Run.
func (s *Sender) SetLeases(k *lease.Keeper) { s.leases = k }

// peerLease names the lease of deliveries to peer.
func peerLease(peer string) string { return "federation/" + peer }

// errNotHolder is a delivery put off because another process holds the
// peer's lease.
var errNotHolder = errors.New("another process delivers to this peer")

// Refresh reloads the cursors (a peer's user has joined a guild) and
// delivers what is pending.
func (s *Sender) Refresh() {
	select {
	case s.refreshNow <- struct{}{}:
	default:
	}
}

// Wake delivers to peer now, cutting any retry wait short: a request from
// a peer that was down says it is back.
func (s *Sender) Wake(peer string) {
	s.mu.Lock()
	q := s.peers[peer]
	s.mu.Unlock()
	if q != nil {
		poke(q.urgent)
		poke(q.wake)
	}
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, and returns once every peer goroutine has.
func (s *Sender) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	s.mu.Lock()
	s.run = func(name string) {
		q := &peerQueue{name: name, wake: make(chan struct{}, 1), urgent: make(chan struct{}, 1),
			ephemeral: make(chan storage.Event, 64)}
		s.peers[name] = q
		wg.Add(2)
		go func() { // owned by Run: ends with ctx
			defer wg.Done()
			s.deliverLoop(ctx, q)
		}()
		go func() { // owned by Run: ends with ctx
			defer wg.Done()
			s.ephemeralLoop(ctx, q)
		}()
		poke(q.wake)
	}
	s.mu.Unlock()
	sub := s.hs.Bus().Subscribe(1 << 12)
	defer sub.Close()
	events := make(chan storage.Event, 256)
	wg.Add(1)
	go func() { // owned by Run: ends when ctx ends or sub closes
		defer wg.Done()
		defer close(events)
		for {
			ev, err := sub.Next(ctx)
			if errors.Is(err, context.Canceled) || errors.Is(err, bus.ErrClosed) || ctx.Err() != nil {
				return
			}
			if err != nil {
				// A lagging subscription could not catch up: the log is
				// what is delivered anyway, so wake every peer instead.
				s.Refresh()
				continue
			}
			select {
			case events <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Add(1)
	go func() { // owned by Run: one pass over the replicas at start
		defer wg.Done()
		s.hs.SyncReplicas(ctx)
	}()
	s.refresh(ctx)
	// The cursors are read again now and then: a peer joined through
	// another process sharing the database is told to this one by
	// nothing else. Then often enough that a peer whose sender died is
	// taken over within seconds.
	every := 30 * time.Second
	if s.leases != nil {
		every = s.leases.TTL()
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.refreshNow:
			s.refresh(ctx)
		case <-tick.C:
			s.refresh(ctx)
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			s.route(ctx, ev)
		}
	}
}

// route wakes the peers of the event's log.
func (s *Sender) route(ctx context.Context, ev storage.Event) {
	if ev.Type == homeserver.AuditEntryCreated || ev.Type == homeserver.RelationshipAdd || ev.Type == homeserver.RelationshipRemove ||
		ev.Type == homeserver.RelationshipUpdate {
		// Each server keeps its own audit log; a relationship is told
		// to the other person's server by its own signed request.
		return
	}
	if ev.Process != "" {
		// Another process's ephemeral event, relayed for the sessions
		// here: that process told the peers.
		return
	}
	if ev.Type == homeserver.FriendPresenceLocal {
		s.routeFriendPresence(ctx, ev)
		return
	}
	if ev.Seq == 0 {
		// To the peers of one of our guilds; a presence in a replica
		// guild to its origin, which passes it on.
		var origin string
		if ev.Type == homeserver.PresenceLocal {
			origin, _ = s.hs.ReplicaOrigin(ctx, ev.LogID)
		}
		s.mu.Lock()
		peers := s.logs[ev.LogID]
		if origin != "" {
			if _, ok := s.peers[origin]; !ok && s.run != nil {
				s.run(origin)
			}
			peers = []string{origin}
		}
		for _, p := range peers {
			if q := s.peers[p]; q != nil {
				select {
				case q.ephemeral <- ev:
				default: // best effort: a peer that cannot keep up misses typing
				}
			}
		}
		s.mu.Unlock()
		return
	}
	switch ev.Type {
	case "GUILD_MEMBER_ADD", "GUILD_MEMBER_REMOVE", "CHANNEL_CREATE", "CHANNEL_RECIPIENT_ADD":
		// A peer's first member joining is told by the join handler; a
		// last one leaving is seen by the peer's goroutine. Reloading
		// here covers joins by other paths.
		s.refresh(ctx)
	}
	s.mu.Lock()
	var grew int64
	if old := s.heads[ev.LogID]; ev.Seq > old {
		s.heads[ev.LogID] = ev.Seq
		if old > 0 { // unknown before: the next delivery pass counts it
			grew = ev.Seq - old
		}
	}
	var qs []*peerQueue
	for _, p := range s.logs[ev.LogID] {
		if q := s.peers[p]; q != nil {
			qs = append(qs, q)
		}
		if grew > 0 {
			s.lags[p] += grew
			s.lag.WithLabelValues(p).Set(float64(s.lags[p]))
		}
	}
	s.mu.Unlock()
	for _, q := range qs {
		poke(q.wake)
	}
}

// routeFriendPresence queues a user's presence for the servers of their
// friends of other homeservers, which may share no guild with this one:
// the same best-effort ephemeral queue as typing and guild presence.
func (s *Sender) routeFriendPresence(ctx context.Context, ev storage.Event) {
	var fp homeserver.FriendPresence
	if json.Unmarshal(ev.Payload, &fp) != nil {
		return
	}
	servers := s.hs.FriendServers(ctx, ev.LogID, fp.Friend)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range servers {
		if _, ok := s.peers[p]; !ok && s.run != nil {
			s.run(p)
		}
		if q := s.peers[p]; q != nil {
			select {
			case q.ephemeral <- ev:
			default: // best effort, as typing
			}
		}
	}
}

// refresh reloads the cursors, starts goroutines for new peers and wakes
// every peer.
func (s *Sender) refresh(ctx context.Context) {
	cs, err := s.hs.DeliveryCursors(ctx)
	if err != nil {
		s.log.Warn("federation: loading delivery cursors failed", "err", err)
		return
	}
	logs := map[snowflake.ID][]string{}
	for _, c := range cs {
		logs[c.LogID] = append(logs[c.LogID], c.Peer)
	}
	s.mu.Lock()
	s.logs = logs
	for _, c := range cs {
		if _, ok := s.peers[c.Peer]; !ok && s.run != nil {
			s.run(c.Peer)
		}
	}
	qs := make([]*peerQueue, 0, len(s.peers))
	for _, q := range s.peers {
		qs = append(qs, q)
	}
	s.mu.Unlock()
	for _, q := range qs {
		poke(q.wake)
	}
}

// deliverLoop is one peer's goroutine: deliver when woken, back off on
// failure.
func (s *Sender) deliverLoop(ctx context.Context, q *peerQueue) {
	backoff := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		for {
			progressed, err := s.deliver(ctx, q.name)
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, errNotHolder) {
				// Another process delivers; it may die with work left,
				// so look again once its lease could have run out,
				// while the peer is behind.
				if !s.behind(ctx, q.name) {
					break
				}
				timer := time.NewTimer(s.leases.TTL() / 2)
				select {
				case <-ctx.Done():
					timer.Stop()
					return
				case <-timer.C:
				}
				continue
			}
			if err == nil {
				backoff = 0
				if !progressed {
					break
				}
				continue
			}
			backoff = min(max(2*backoff, MinBackoff), MaxBackoff)
			wait := time.Duration(float64(backoff) * (0.75 + 0.5*rand.Float64()))
			s.log.Warn("federation: delivery failed; retrying", "peer", q.name, "in", wait.Round(time.Millisecond), "err", err)
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			case <-q.urgent:
				timer.Stop()
				backoff = 0
			}
		}
	}
}

// deliver sends the peer one transaction per log that has events past its
// cursor; progressed reports whether any cursor moved. A log the peer
// refuses does not hold up the others: its error is returned after they
// have had their turn.
func (s *Sender) deliver(ctx context.Context, peer string) (progressed bool, err error) {
	if s.leases != nil && !s.leases.Hold(ctx, peerLease(peer)) {
		return false, errNotHolder
	}
	cs, err := s.hs.DeliveryCursors(ctx)
	if err != nil {
		return false, err
	}
	var lag int64
	defer func() {
		s.mu.Lock()
		s.lags[peer] = lag
		s.lag.WithLabelValues(peer).Set(float64(lag))
		s.mu.Unlock()
	}()
	var failed error
	for _, c := range cs {
		if c.Peer != peer {
			continue
		}
		// Each transaction begins under a lease with a third of its
		// life left at least; one that outlasts it is sent again by
		// the next holder with the same ID, which the peer accepts once.
		if s.leases != nil && !s.leases.Hold(ctx, peerLease(peer)) {
			return progressed, errors.Join(failed, errNotHolder)
		}
		moved, behind, err := s.deliverLog(ctx, c)
		lag += behind
		progressed = progressed || moved
		if err != nil {
			failed = errors.Join(failed, err)
			if errors.Is(err, errUnreachable) {
				break // the others would fail the same way
			}
		}
	}
	return progressed, failed
}

// behind reports whether the peer has events past a cursor of its, as far
// as this process has seen the logs' heads; unsure counts as behind.
func (s *Sender) behind(ctx context.Context, peer string) bool {
	cs, err := s.hs.DeliveryCursors(ctx)
	if err != nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		if c.Peer == peer && s.heads[c.LogID] > c.Seq {
			return true
		}
	}
	return false
}

// deliverLog sends one transaction of one log, and reports whether the
// cursor moved and how far behind the peer still is.
func (s *Sender) deliverLog(ctx context.Context, c storage.Cursor) (moved bool, behind int64, err error) {
	peer := c.Peer
	batch, err := s.hs.PeerBatch(ctx, peer, c.LogID, c.Seq)
	if err != nil {
		return false, 0, err
	}
	s.mu.Lock()
	head := max(s.heads[c.LogID], batch.To)
	s.mu.Unlock()
	if batch.To == c.Seq {
		return false, head - c.Seq, nil
	}
	// The lag counts from the first event the peer is to get: numbers
	// below it that no event holds (a restore moves every log's head on
	// by 2^32) are no events behind.
	from := c.Seq
	if len(batch.Events) > 0 {
		from = max(from, batch.Events[0].Seq-1)
	}
	txn := fmt.Sprintf("%d.%d.%d", c.LogID, batch.From, batch.To)
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = s.client.Send(tctx, peer, txn, batch)
	cancel()
	if err != nil {
		s.txns.WithLabelValues(peer, "error").Inc()
		return false, head - from, fmt.Errorf("transaction %s: %w", txn, err)
	}
	s.duration.Observe(time.Since(start).Seconds())
	s.txns.WithLabelValues(peer, "ok").Inc()
	keep, err := s.hs.Delivered(ctx, peer, c.LogID, batch.To)
	if err != nil {
		return false, head - from, err
	}
	if !keep {
		s.log.Info("federation: peer has no members left in the log; delivery stops", "peer", peer, "log", c.LogID)
		s.mu.Lock()
		ps := s.logs[c.LogID][:0:0]
		for _, p := range s.logs[c.LogID] {
			if p != peer {
				ps = append(ps, p)
			}
		}
		s.logs[c.LogID] = ps
		s.mu.Unlock()
	}
	return true, head - batch.To, nil
}

// ephemeralLoop sends a peer its typing events, each once, with a short
// timeout: they are worthless late.
func (s *Sender) ephemeralLoop(ctx context.Context, q *peerQueue) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-q.ephemeral:
			e, ok := s.hs.PeerEphemeral(ctx, q.name, ev)
			if !ok {
				continue
			}
			tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := s.client.Ephemeral(tctx, q.name, e); err != nil {
				s.log.Debug("federation: ephemeral event not delivered", "peer", q.name, "err", err)
			}
			cancel()
		}
	}
}
