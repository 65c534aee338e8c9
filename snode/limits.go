package snode

import (
	"net/netip"

	"sotto.dev/internal/iplimit"
	"sotto.dev/ledger"
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
