package snode

import (
	"net/netip"
	"sync"
	"time"

	"sotto.dev/internal/iplimit"
	"sotto.dev/key"
	"sotto.dev/ledger"
	"sotto.dev/snode/store"
)

// clientLimits are the per-address bounds of the client endpoints
// (Limits.MaxConnsPerIP, MaxInFlightPerIP): with them a few slow senders
// from one address hold a few connections and request slots, never the
// node's (docs/snode.md, "Limits").
type clientLimits struct {
	conns    *iplimit.Limit // open connections
	requests *iplimit.Limit // storage RPC and /json_rpc requests being read or handled
}

func newClientLimits(l Limits, exempt func(netip.Addr) bool) clientLimits {
	return clientLimits{
		conns:    iplimit.New(l.MaxConnsPerIP, exempt),
		requests: iplimit.New(l.MaxInFlightPerIP, exempt),
	}
}

// nodeAddrs is the set of the network's node addresses at one snapshot.
type nodeAddrs struct {
	snap *ledger.Snapshot
	set  map[netip.Addr]bool
}

// IsNetworkNode reports whether a is the public address of a node in the
// node's current view of the network (any state): such peers relay many
// clients' onion requests and are exempt from the per-address bounds.
func (n *Node) IsNetworkNode(a netip.Addr) bool {
	snap := n.view.Current()
	cur := n.nodeIPs.Load()
	if cur == nil || cur.snap != snap {
		set := make(map[netip.Addr]bool, len(snap.Nodes))
		for _, nd := range snap.Nodes {
			if ip, err := netip.ParseAddr(nd.PublicIP); err == nil {
				set[ip.Unmap()] = true
			}
		}
		cur = &nodeAddrs{snap: snap, set: set}
		n.nodeIPs.Store(cur)
	}
	return cur.set[a.Unmap()]
}

// fwdLimit bounds the operations each swarm peer forwards here (stores in
// batches, and single forwarded requests), per operation rather than per
// request: a batch of 100 stores costs 100 tokens.
//
// The rate is derived from what this node can take. Every store of the
// swarm is written on every member, so no healthy peer forwards more
// stores per second than this node's writer commits in a second; the
// writer's measured rate when busy (operations per second of its busy
// time, Store.Stats) bounds that from above in any interval. The limit is
// twice that rate, measured over the last interval of at least
// fwdLimitWindow (and never below fwdLimitFloor nor the configured
// PeerRate), with a burst of one second: a peer that sends far more than
// the whole swarm could ever store is refused (429, counted as
// snode_dropped_requests_total{kind="peer_stores"}), a hot healthy swarm
// never is. Limits.PeerRate 0 turns it off with the other peer limits.
type fwdLimit struct {
	b       *buckets[key.NodePublic]
	stats   func() store.Stats
	enabled bool
	floor   float64

	mu       sync.Mutex
	last     time.Time
	lastOps  int64
	lastBusy time.Duration
	capacity float64 // operations per busy second, as last measured
}

const (
	// fwdLimitFloor is the capacity assumed until one is measured (a
	// writer that commits once per millisecond, one operation each).
	fwdLimitFloor = 1000
	// fwdLimitWindow is the shortest interval the capacity is measured
	// over; fwdLimitMinBusy the least busy time that makes a measurement.
	fwdLimitWindow  = time.Second
	fwdLimitMinBusy = 20 * time.Millisecond
)

func newFwdLimit(l Limits, stats func() store.Stats) *fwdLimit {
	f := &fwdLimit{stats: stats, enabled: l.PeerRate > 0, floor: max(fwdLimitFloor, l.PeerRate), capacity: fwdLimitFloor}
	rate := 0.0
	if f.enabled {
		rate = f.rateFor(f.capacity)
	}
	f.b = newBuckets[key.NodePublic](rate, rate, 0)
	return f
}

// rateFor is the per-peer rate for a measured capacity.
func (f *fwdLimit) rateFor(capacity float64) float64 { return 2 * max(capacity, f.floor) }

// allow takes n operations of peer's at now, remeasuring the capacity
// once a window has passed.
func (f *fwdLimit) allow(peer key.NodePublic, n int, now time.Time) bool {
	if !f.enabled {
		return true
	}
	f.mu.Lock()
	if f.last.IsZero() {
		st := f.stats()
		f.last, f.lastOps, f.lastBusy = now, st.Ops, st.BusyTime
	} else if now.Sub(f.last) >= fwdLimitWindow {
		st := f.stats()
		if busy := st.BusyTime - f.lastBusy; busy >= fwdLimitMinBusy {
			f.capacity = float64(st.Ops-f.lastOps) / busy.Seconds()
			rate := f.rateFor(f.capacity)
			f.b.setRate(rate, rate)
		}
		f.last, f.lastOps, f.lastBusy = now, st.Ops, st.BusyTime
	}
	f.mu.Unlock()
	return f.b.allowN(peer, n, now)
}

func (f *fwdLimit) sweep(now time.Time) { f.b.sweep(now) }
