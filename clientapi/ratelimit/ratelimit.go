// Package ratelimit counts requests per key in fixed windows, the model
// behind Discord's X-RateLimit-* headers: a bucket allows Limit requests,
// and resets at a known moment.
package ratelimit

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Result is the state of a bucket after one request was counted.
type Result struct {
	Allowed   bool
	Limit     int
	Remaining int
	// Reset is when the bucket refills.
	Reset time.Time
}

// RetryAfter is how long until the bucket refills, from now.
func (r Result) RetryAfter(now time.Time) time.Duration {
	if d := r.Reset.Sub(now); d > 0 {
		return d
	}
	return 0
}

// Limiter allows Limit requests per key in each Window. It remembers a
// bounded number of keys (least recently used first out), so that a flood
// of distinct keys costs bounded memory; a forgotten key starts afresh,
// which errs towards letting a request through.
type Limiter struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	buckets *lru.Cache[string, *bucket]
}

type bucket struct {
	start time.Time
	count int
}

// New makes a limiter that remembers at most maxKeys keys.
func New(limit int, window time.Duration, maxKeys int) *Limiter {
	c, _ := lru.New[string, *bucket](maxKeys) // only fails for a size < 1
	if c == nil {
		c, _ = lru.New[string, *bucket](1)
	}
	return &Limiter{limit: limit, window: window, now: time.Now, buckets: c}
}

// Take counts one request for key.
func (l *Limiter) Take(key string) Result {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets.Get(key)
	if !ok || now.Sub(b.start) >= l.window {
		b = &bucket{start: now}
		l.buckets.Add(key, b)
	}
	res := Result{Limit: l.limit, Reset: b.start.Add(l.window)}
	if b.count >= l.limit {
		return res
	}
	b.count++
	res.Allowed = true
	res.Remaining = l.limit - b.count
	return res
}

// Limit is the number of requests a window allows.
func (l *Limiter) Limit() int { return l.limit }

// Window is the length of a window.
func (l *Limiter) Window() time.Duration { return l.window }

// Exhausted reports, without counting a request, whether key has no request
// left in its window.
func (l *Limiter) Exhausted(key string) (Result, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets.Peek(key)
	if !ok || now.Sub(b.start) >= l.window {
		return Result{Allowed: true, Limit: l.limit, Remaining: l.limit, Reset: now.Add(l.window)}, false
	}
	res := Result{Limit: l.limit, Remaining: l.limit - b.count, Reset: b.start.Add(l.window)}
	return res, b.count >= l.limit
}

// Refund gives back one request of key's current window: for limits that
// count only failures, where a request is counted before it is known to
// fail (so that concurrent attempts cannot all pass the check) and given
// back when it succeeds.
func (l *Limiter) Refund(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets.Peek(key); ok && b.count > 0 {
		b.count--
	}
}
