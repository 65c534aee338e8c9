package client

import (
	"net/netip"

	"sotto.dev/key"
)

// NetworkStatus is what a user interface shows of the client's network:
// whether one is configured, how many nodes it knows and its current
// onion paths.
type NetworkStatus struct {
	// Configured: the client has a network file.
	Configured bool
	// Connected: the node list is bootstrapped and at least one onion
	// path is built.
	Connected bool
	// Nodes is the number of service nodes in the node list.
	Nodes int
	// Paths are the current onion paths, guard first.
	Paths [][]PathNode
}

// PathNode is one hop of an onion path.
type PathNode struct {
	Key  key.NodePublic
	Addr netip.AddrPort
}

// NetworkStatus returns the network's state as of now.
func (c *Client) NetworkStatus() NetworkStatus {
	st := NetworkStatus{Configured: c.net != nil}
	if c.net == nil {
		return st
	}
	m := c.net.paths.Load()
	if m == nil {
		return st
	}
	st.Nodes = len(m.Nodes())
	for _, p := range m.Paths() {
		hops := make([]PathNode, len(p.Hops))
		for i, h := range p.Hops {
			hops[i] = PathNode{Key: h.Ed25519, Addr: h.Addr()}
		}
		st.Paths = append(st.Paths, hops)
	}
	st.Connected = len(st.Paths) > 0
	return st
}
