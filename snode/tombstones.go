package snode

import (
	"context"
	"sync"
	"time"

	"sotto.dev/key"
	"sotto.dev/snode/store"
)

// What a node keeps of when things happened (docs/snode.md, "What a node
// keeps"). Anti-entropy needs a row's mtime only to order the changes of
// one message the same way on every member, and the proofs need it only
// to bind a change to the minute its owner signed it in (their clock
// window is a minute wide anyway), so the store keeps operation times to
// mtimeQuantum: the quantum's start, plus one per later change of the row
// within it; a tombstone takes the quantum's last millisecond, and an
// expiry change keeps the quantum of the row's store, so that a delete
// wins over every expiry change of the row made elsewhere
// (store.Options.TimeQuantum, docs/snode.md "Coarse mtimes").
const mtimeQuantum = time.Minute

// quantumStart returns the start of the quantum of an mtime.
func quantumStart(mt int64) int64 {
	q := mtimeQuantum.Milliseconds()
	return mt - ((mt%q)+q)%q
}

// A tombstone is kept only until every member of the swarm holds it:
// from then on no member can bring the message back (each would need a
// newer state than the tombstone, which only its owner's store can make).
// tombKeeper learns, round by round, which peers hold each of this node's
// tombstones (their digests agree with ours on its key, or their headers
// show it, or they report they dropped it themselves), and drops it once
// every current peer does. A dropped tombstone is remembered in memory
// (hash, state, key; no proof) until the message's expiry, so that a peer
// that still holds it does not give it back, and so that peers learn it
// was dropped ("gone" in the headers answer). After a restart that memory
// is gone: a tombstone a peer still holds comes back by anti-entropy and
// is dropped again, at worst once more.
type tombKeeper struct {
	mu      sync.Mutex
	held    map[string]*heldTomb
	dropped map[string]store.Tomb
}

// heldTomb is a tombstone in the store with the peers that hold it too.
type heldTomb struct {
	t    store.Tomb
	have map[key.NodePublic]bool
}

func newTombKeeper() *tombKeeper {
	return &tombKeeper{held: make(map[string]*heldTomb), dropped: make(map[string]store.Tomb)}
}

// wasDropped reports whether this node dropped a tombstone of the message
// in a state at least as new as (mtime, deleted, expiry).
func (k *tombKeeper) wasDropped(hash string, mtime int64, deleted bool, expiry int64) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	d, ok := k.dropped[hash]
	return ok && !store.Newer(mtime, deleted, expiry, d.MTime, true, d.Expiry)
}

// gone returns the tombstones this node dropped in the given keys, by key.
func (k *tombKeeper) gone(keys map[store.DigestKey]bool) map[store.DigestKey][]string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out map[store.DigestKey][]string
	for h, t := range k.dropped {
		if keys[t.Key] {
			if out == nil {
				out = make(map[store.DigestKey][]string)
			}
			out[t.Key] = append(out[t.Key], h)
		}
	}
	return out
}

// observe records what one round with peer p showed: tombs is this node's
// tombstones (of accounts of the swarm) from before the round, differing
// the keys whose digests differed (p holds the same rows of every other
// key), and same the hashes of differing keys whose tombstone p holds or
// dropped. It returns the tombstones every peer in peers now holds.
func (k *tombKeeper) observe(p key.NodePublic, tombs []store.Tomb, differing map[store.DigestKey]bool, same map[string]bool, peers []key.NodePublic, now int64) []store.Tomb {
	k.mu.Lock()
	defer k.mu.Unlock()
	held := make(map[string]*heldTomb, len(tombs))
	var ready []store.Tomb
	for _, t := range tombs {
		e := k.held[t.Hash]
		if e == nil || e.t != t {
			e = &heldTomb{t: t, have: make(map[key.NodePublic]bool)}
		}
		held[t.Hash] = e
		if !differing[t.Key] || same[t.Hash] {
			e.have[p] = true
		} else {
			delete(e.have, p) // the peer lacks it now, or holds another state
		}
		all := true
		for _, q := range peers {
			all = all && e.have[q]
		}
		if all {
			ready = append(ready, t)
		}
	}
	k.held = held
	for h, d := range k.dropped {
		if d.Expiry <= now {
			delete(k.dropped, h)
		}
	}
	return ready
}

// forget notes tombstones dropped from the store.
func (k *tombKeeper) forget(ts []store.Tomb) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, t := range ts {
		delete(k.held, t.Hash)
		k.dropped[t.Hash] = t
	}
}

// ownedTombstones returns the store's tombstones of accounts of the swarm.
func (n *Node) ownedTombstones(ctx context.Context, m *membership) ([]store.Tomb, error) {
	ts, err := n.store.Tombstones(ctx)
	if err != nil {
		return nil, err
	}
	out := ts[:0]
	for _, t := range ts {
		if owned(m, t.Key.Account) {
			out = append(out, t)
		}
	}
	return out, nil
}

// dropHeldTombstones drops the tombstones every peer holds.
func (n *Node) dropHeldTombstones(ctx context.Context, ready []store.Tomb) error {
	if len(ready) == 0 {
		return nil
	}
	dropped, err := n.store.DropTombstones(ctx, ready)
	if err != nil {
		return err
	}
	n.tombs.forget(ready)
	n.met.tombsDropped.Add(float64(dropped))
	return nil
}
