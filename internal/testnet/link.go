package testnet

import (
	"fmt"
	"net"

	"sotto.dev/internal/linkem"
	"sotto.dev/snode"
)

// NodeEndpoint is node i's endpoint name in Options.Link.
func NodeEndpoint(i int) string { return fmt.Sprintf("node-%02d", i) }

// Link is the network's link emulation (Options.Link), or nil.
func (n *Network) Link() *linkem.Network { return n.opts.Link }

// Dialer is the dial function of a client that is endpoint name of the
// emulated links (for client.Config.Dial), or nil without Options.Link.
func (n *Network) Dialer(name string) linkem.DialFunc {
	if n.opts.Link == nil {
		return nil
	}
	return n.opts.Link.Dialer(name, nil)
}

// linkDeps puts in-process node i on the emulated links: its listener
// and its dials to other nodes (relay hops, replication).
func (n *Network) linkDeps(i int, deps *snode.Deps) {
	l := n.opts.Link
	if l == nil {
		return
	}
	name := NodeEndpoint(i)
	deps.WrapListener = func(ln net.Listener) net.Listener { return l.Listen(name, ln) }
	deps.Dial = l.Dialer(name, deps.Dial) // over the node's own address, if it has one
}
