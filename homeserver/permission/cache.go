package permission

import lru "github.com/hashicorp/golang-lru/v2"

// Key identifies one computation. Version must change whenever anything the
// result depends on changes (callers pass the guild's event-log sequence
// number), which is what makes the cache need no invalidation: a stale entry
// is simply never asked for again and ages out. Channel is 0 for a Base
// result.
//
// A timeout ends without any event, so callers must not cache the result for
// a timed-out member, or must bump Version when the timeout expires.
type Key struct {
	Guild, User, Channel uint64
	Version              int64
}

// Cache remembers computed permission sets, least recently used first out.
// It is safe for concurrent use.
//
// A hit costs more than Channel itself (the LRU takes a lock and hashes the
// key; see the benchmarks), so the cache pays only where it spares the
// caller gathering an Input, that is loading roles and overwrites.
type Cache struct {
	lru *lru.Cache[Key, Set]
}

// NewCache makes a cache of at most size entries. A size below 1 is raised
// to 1, so that a misconfigured size degrades the hit rate rather than the
// server's start-up.
func NewCache(size int) *Cache {
	c, err := lru.New[Key, Set](max(size, 1))
	if err != nil {
		// lru.New fails only for a size below 1, excluded above.
		panic(err)
	}
	return &Cache{lru: c}
}

// Get returns the set stored for k, if any.
func (c *Cache) Get(k Key) (Set, bool) { return c.lru.Get(k) }

// Add stores s for k.
func (c *Cache) Add(k Key, s Set) { c.lru.Add(k, s) }
