package homeserver

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// ttlLRU is a bounded LRU whose entries also expire. It checks expiry when
// read rather than with a janitor goroutine (golang-lru's expirable cache
// starts one per cache that nothing can stop), so it owns no goroutine.
type ttlLRU[K comparable, V any] struct {
	c   *lru.Cache[K, ttlEntry[V]]
	ttl time.Duration
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func newTTL[K comparable, V any](size int, ttl time.Duration) *ttlLRU[K, V] {
	c, _ := lru.New[K, ttlEntry[V]](max(size, 1)) // fails only for size < 1
	return &ttlLRU[K, V]{c: c, ttl: ttl}
}

// Get returns a live entry.
func (t *ttlLRU[K, V]) Get(k K) (V, bool) {
	e, ok := t.c.Get(k)
	if !ok || time.Now().After(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Add stores v for the TTL.
func (t *ttlLRU[K, V]) Add(k K, v V) { t.c.Add(k, ttlEntry[V]{v: v, expires: time.Now().Add(t.ttl)}) }

// Remove drops k.
func (t *ttlLRU[K, V]) Remove(k K) { t.c.Remove(k) }

// RemoveIf drops every entry whose value drop matches.
func (t *ttlLRU[K, V]) RemoveIf(drop func(V) bool) {
	for _, k := range t.c.Keys() {
		if e, ok := t.c.Peek(k); ok && drop(e.v) {
			t.c.Remove(k)
		}
	}
}
