package storagerpc

import (
	"container/list"
	"sync"

	"sotto.dev/key"
)

// KeyCache remembers, for the pubkey_ed25519 keys of 05 accounts that
// passed authentication, their X25519 image, so that a client polling with
// the same key is not converted again at every request. It holds at most
// its size in entries and drops the least recently used beyond. Only keys
// whose request then verified are added, so that requests with junk keys
// cannot push out the keys of real clients. It is safe for concurrent use.
//
// A node passes one in CheckOptions.Keys. The entries are public keys; a
// cache is per process and needs no wiping.
type KeyCache struct {
	mu    sync.Mutex
	max   int
	m     map[key.AccountPublic]*list.Element
	order list.List // front: most recently used; values are keyPair

	hits, misses uint64
}

type keyPair struct {
	ed key.AccountPublic
	x  [32]byte
}

// NewKeyCache returns a cache of at most size entries (at least 1).
func NewKeyCache(size int) *KeyCache {
	size = max(size, 1)
	return &KeyCache{max: size, m: make(map[key.AccountPublic]*list.Element, min(size, 1<<12))}
}

// get returns the cached image of ed.
func (c *KeyCache) get(ed *key.AccountPublic) ([32]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[*ed]
	if !ok {
		c.misses++
		return [32]byte{}, false
	}
	c.hits++
	c.order.MoveToFront(e)
	return e.Value.(keyPair).x, true
}

// add records a verified pair.
func (c *KeyCache) add(ed *key.AccountPublic, x [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[*ed]; ok {
		c.order.MoveToFront(e)
		return
	}
	if c.order.Len() >= c.max {
		old := c.order.Back()
		delete(c.m, old.Value.(keyPair).ed)
		c.order.Remove(old)
	}
	c.m[*ed] = c.order.PushFront(keyPair{ed: *ed, x: x})
}

// KeyCacheStats are a cache's counters.
type KeyCacheStats struct {
	Len          int    // entries held
	Hits, Misses uint64 // lookups answered and not
}

// Stats returns the cache's counters.
func (c *KeyCache) Stats() KeyCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return KeyCacheStats{Len: c.order.Len(), Hits: c.hits, Misses: c.misses}
}
