package homeserver

import (
	"fmt"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// RateLimitedError says that an actor has done something too often and
// when they may again.
type RateLimitedError struct {
	RetryAfter time.Duration
}

// Error implements error.
func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limited: retry after %s", e.RetryAfter)
}

// windowLimiter allows limit actions per key in each fixed window. It
// remembers a bounded number of keys (least recently used out first), so
// that a flood of distinct keys costs bounded memory; a forgotten key
// starts afresh.
type windowLimiter struct {
	limit  int
	window time.Duration

	mu      sync.Mutex
	buckets *lru.Cache[string, *windowCount]
}

type windowCount struct {
	start time.Time
	count int
}

func newWindowLimiter(limit int, window time.Duration, maxKeys int) *windowLimiter {
	c, err := lru.New[string, *windowCount](maxKeys)
	if err != nil {
		panic(err) // only for maxKeys < 1, a programming error
	}
	return &windowLimiter{limit: limit, window: window, buckets: c}
}

// take counts one action of key at now, or refuses it with a
// RateLimitedError when the window's allowance is spent.
func (l *windowLimiter) take(key string, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets.Get(key)
	if !ok || now.Sub(b.start) >= l.window || now.Before(b.start) {
		b = &windowCount{start: now}
		l.buckets.Add(key, b)
	}
	if b.count >= l.limit {
		return &RateLimitedError{RetryAfter: b.start.Add(l.window).Sub(now)}
	}
	b.count++
	return nil
}
