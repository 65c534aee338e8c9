package storagerpc

import (
	"container/list"
	"sync"

	"sotto.dev/key"
)

// lru is a bounded map that drops its least recently used entry beyond
// its size. It is safe for concurrent use.
type lru[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	m     map[K]*list.Element
	order list.List // front: most recently used; values are lruEntry

	hits, misses uint64
}

type lruEntry[K comparable, V any] struct {
	k K
	v V
}

func newLRU[K comparable, V any](size int) *lru[K, V] {
	size = max(size, 1)
	return &lru[K, V]{max: size, m: make(map[K]*list.Element, min(size, 1<<12))}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		c.misses++
		var zero V
		return zero, false
	}
	c.hits++
	c.order.MoveToFront(e)
	return e.Value.(lruEntry[K, V]).v, true
}

func (c *lru[K, V]) add(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.order.MoveToFront(e)
		return
	}
	if c.order.Len() >= c.max {
		old := c.order.Back()
		delete(c.m, old.Value.(lruEntry[K, V]).k)
		c.order.Remove(old)
	}
	c.m[k] = c.order.PushFront(lruEntry[K, V]{k: k, v: v})
}

func (c *lru[K, V]) stats() KeyCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return KeyCacheStats{Len: c.order.Len(), Hits: c.hits, Misses: c.misses}
}

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
	c *lru[key.AccountPublic, [32]byte]
}

// NewKeyCache returns a cache of at most size entries (at least 1).
func NewKeyCache(size int) *KeyCache {
	return &KeyCache{c: newLRU[key.AccountPublic, [32]byte](size)}
}

// get returns the cached image of ed.
func (c *KeyCache) get(ed *key.AccountPublic) ([32]byte, bool) { return c.c.get(*ed) }

// add records a verified pair.
func (c *KeyCache) add(ed *key.AccountPublic, x [32]byte) { c.c.add(*ed, x) }

// KeyCacheStats are a cache's counters.
type KeyCacheStats struct {
	Len          int    // entries held
	Hits, Misses uint64 // lookups answered and not
}

// Stats returns the cache's counters.
func (c *KeyCache) Stats() KeyCacheStats { return c.c.stats() }

// grant is a subaccount grant as an account signed it: the account's key,
// the token and the account's signature of the token.
type grant struct {
	acct  [32]byte
	token SubaccountToken
	sig   Signature
}

// GrantCache remembers the subaccount grants (token and the account's
// signature of it) that verified, so that a closed group's members, who
// poll four namespaces at every long poll, cost one signature check per
// request instead of two. A grant's validity depends only on its bytes and
// the account key, which the cache key holds in full; revocation is checked
// before the cache, at every request. Only grants whose whole request then
// verified are added. It is safe for concurrent use.
type GrantCache struct{ c *lru[grant, struct{}] }

// NewGrantCache returns a cache of at most size grants (at least 1).
func NewGrantCache(size int) *GrantCache {
	return &GrantCache{c: newLRU[grant, struct{}](size)}
}

func (c *GrantCache) has(g *grant) bool {
	_, ok := c.c.get(*g)
	return ok
}

func (c *GrantCache) add(g *grant) { c.c.add(*g, struct{}{}) }

// Stats returns the cache's counters.
func (c *GrantCache) Stats() KeyCacheStats { return c.c.stats() }
