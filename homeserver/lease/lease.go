// Package lease keeps the named leases through which processes sharing one
// database divide work that must run in one place at a time: one
// federation sender per peer, one process running the sweeps
// (spec/scaling.md). A process that holds a lease renews it while it still
// uses it; one that dies stops renewing, and another takes the lease once
// it has expired.
package lease

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Store is where leases are kept (storage.LeaseStore's named half).
type Store interface {
	TakeLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Keeper takes, renews and gives up one process's leases. It is safe for
// concurrent use.
type Keeper struct {
	store  Store
	holder string
	ttl    time.Duration
	idle   time.Duration
	log    *slog.Logger

	mu   sync.Mutex
	held map[string]*claim
	// refused are the leases this process found held by another (and
	// has not taken since); takeovers counts, by kind, the leases it took
	// after finding them so: another's work that moved here.
	refused   map[string]bool
	takeovers map[string]int64
}

// claim is a lease this process holds: until when, by its own clock read
// before the write that took or renewed it, and when Hold last asked.
type claim struct {
	until, used time.Time
}

// New makes a keeper for holder (a name unique to this process) whose
// leases last ttl unless renewed, and are given up once Hold has not asked
// about them for idle. A held lease stays with its holder while it lives:
// work does not hop between processes for nothing.
func New(store Store, holder string, ttl, idle time.Duration, log *slog.Logger) *Keeper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Keeper{store: store, holder: holder, ttl: ttl, idle: max(idle, ttl), log: log, held: map[string]*claim{},
		refused: map[string]bool{}, takeovers: map[string]int64{}}
}

// Holder is the name this process holds its leases under.
func (k *Keeper) Holder() string { return k.holder }

// TTL is how long a lease lasts unless renewed: the longest a dead
// holder's work waits for another process.
func (k *Keeper) TTL() time.Duration { return k.ttl }

// Hold reports whether this process holds lease name now, taking it when
// it is free or has expired. A lease is trusted only while more than a
// third of its life is left, so that work started under it ends (or is
// idempotent, as a federation transaction is) before another process can
// take it over.
func (k *Keeper) Hold(ctx context.Context, name string) bool {
	now := time.Now()
	k.mu.Lock()
	if c, ok := k.held[name]; ok && now.Before(c.until.Add(-k.ttl/3)) {
		c.used = now
		k.mu.Unlock()
		return true
	}
	k.mu.Unlock()
	ok, err := k.store.TakeLease(ctx, name, k.holder, now, k.ttl)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil || !ok {
		if err != nil && ctx.Err() == nil {
			k.log.Warn("lease not taken", "lease", name, "err", err)
		}
		if err == nil {
			k.refused[name] = true
		}
		delete(k.held, name)
		return false
	}
	if k.refused[name] {
		delete(k.refused, name)
		k.takeovers[Kind(name)]++
		k.log.Info("lease taken over from another process", "lease", name)
	}
	k.held[name] = &claim{until: now.Add(k.ttl), used: now}
	return true
}

// Kind is a lease name's kind, for metrics: the part before the first
// slash ("federation" for "federation/<peer>"), or the whole name.
func Kind(name string) string {
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return name
}

// Held counts the leases this process holds now, by Kind.
func (k *Keeper) Held() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[string]int{}
	for name := range k.held {
		out[Kind(name)]++
	}
	return out
}

// Takeovers counts, by Kind, the leases this process took after finding
// them held by another process (which stopped, or died and let them
// expire).
func (k *Keeper) Takeovers() map[string]int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[string]int64, len(k.takeovers))
	for kind, n := range k.takeovers {
		out[kind] = n
	}
	return out
}

// Run renews the leases held every third of their life, and gives up those
// Hold has not asked about for the idle time, until ctx ends; then it gives
// up every lease, so that another process takes over at once.
func (k *Keeper) Run(ctx context.Context) {
	t := time.NewTicker(k.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			k.releaseAll()
			return
		case <-t.C:
			k.renew(ctx)
		}
	}
}

// renew renews or gives up each lease held.
func (k *Keeper) renew(ctx context.Context) {
	k.mu.Lock()
	names := make([]string, 0, len(k.held))
	var idle []string
	now := time.Now()
	for name, c := range k.held {
		if now.Sub(c.used) > k.idle {
			idle = append(idle, name)
			delete(k.held, name)
			continue
		}
		names = append(names, name)
	}
	k.mu.Unlock()
	for _, name := range idle {
		if err := k.store.ReleaseLease(ctx, name, k.holder); err != nil && ctx.Err() == nil {
			k.log.Warn("idle lease not given up; it expires by itself", "lease", name, "err", err)
		}
	}
	for _, name := range names {
		at := time.Now()
		ok, err := k.store.TakeLease(ctx, name, k.holder, at, k.ttl)
		k.mu.Lock()
		switch c := k.held[name]; {
		case c == nil:
		case err != nil:
			// Kept until it runs out by itself: Hold stops trusting
			// it before then, and tries to take it again.
			if ctx.Err() == nil {
				k.log.Warn("lease not renewed", "lease", name, "err", err)
			}
		case !ok:
			delete(k.held, name)
			k.log.Warn("lease lost to another process", "lease", name)
		default:
			c.until = at.Add(k.ttl)
		}
		k.mu.Unlock()
	}
}

// releaseAll gives up every lease held.
func (k *Keeper) releaseAll() {
	k.mu.Lock()
	names := make([]string, 0, len(k.held))
	for name := range k.held {
		names = append(names, name)
	}
	k.held = map[string]*claim{}
	k.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range names {
		_ = k.store.ReleaseLease(ctx, name, k.holder) // expires by itself otherwise
	}
}
