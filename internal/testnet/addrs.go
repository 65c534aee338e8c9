package testnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

// AddressMode says where the nodes of a network get their addresses.
type AddressMode string

const (
	// SharedAddress puts every node on Options.Listen, each on its own
	// port (the default).
	SharedAddress AddressMode = ""
	// LoopbackAddresses gives each node its own loopback address,
	// 127.S.S.H (Linux routes all of 127.0.0.0/8 to lo, unprivileged):
	// node i is host H = i%PerSubnet+1 of /24 number S = i/PerSubnet.
	LoopbackAddresses AddressMode = "loopback"
	// NetnsAddresses runs each node's listener in a network namespace of
	// its own (Linux, root, the ip command), on a veth pair to a bridge
	// the network creates, at 10.77.S.H+1 in 10.77.0.0/16 (or the first
	// free 10.N.0.0/16 after it). Close removes the namespaces and the
	// bridge.
	NetnsAddresses AddressMode = "netns"
)

// ParseAddressMode parses "shared" (or ""), "loopback" or "netns".
func ParseAddressMode(s string) (AddressMode, error) {
	switch s {
	case "", "shared":
		return SharedAddress, nil
	case string(LoopbackAddresses), string(NetnsAddresses):
		return AddressMode(s), nil
	}
	return "", fmt.Errorf("address mode %q: want shared, loopback or netns", s)
}

// ErrNetnsUnavailable is returned for NetnsAddresses where network
// namespaces cannot be made (not Linux, not root, no ip command).
var ErrNetnsUnavailable = errors.New("testnet: network namespaces need Linux, root and the ip command")

// EnvAddresses set to "loopback" makes tests use LoopbackAddresses where
// namespaces would work (PickAddressMode, RunInNetns).
const EnvAddresses = "SOTTO_TESTNET_ADDRESSES"

// NetnsAvailable reports whether NetnsAddresses can work here (and is not
// turned off with EnvAddresses).
func NetnsAvailable() bool {
	return os.Getenv(EnvAddresses) != string(LoopbackAddresses) && netnsAvailable()
}

// PickAddressMode is NetnsAddresses where it can work and
// LoopbackAddresses elsewhere; tests log what they got.
func PickAddressMode() AddressMode {
	if NetnsAvailable() {
		return NetnsAddresses
	}
	return LoopbackAddresses
}

// maxSubnets bounds the /24s of an address mode (one octet in netns mode;
// the last is for clients).
const maxSubnets = 254

// nodeAddr is node i's address in mode, within prefix (the netns range).
func nodeAddr(mode AddressMode, prefix netip.Prefix, i, perSubnet int) netip.Addr {
	s, h := i/perSubnet, i%perSubnet+1
	if mode == LoopbackAddresses {
		return netip.AddrFrom4([4]byte{127, byte(1 + s>>8), byte(s), byte(h)})
	}
	b := prefix.Addr().As4()
	return netip.AddrFrom4([4]byte{b[0], b[1], byte(s), byte(h + 1)})
}

// clientAddr is the address of test client k: the /24 after the last
// node subnet a mode can have.
func clientAddr(mode AddressMode, prefix netip.Prefix, k int) netip.Addr {
	if mode == LoopbackAddresses {
		return netip.AddrFrom4([4]byte{127, 254, byte(k >> 8), byte(k%254 + 1)})
	}
	b := prefix.Addr().As4()
	return netip.AddrFrom4([4]byte{b[0], b[1], maxSubnets, byte(k%250 + 1)})
}

// setupAddresses gives a new layout its addresses (Options.Addresses)
// and, in netns mode, makes the namespaces and starts nothing in them yet.
func (n *Network) setupAddresses(ctx context.Context) error {
	mode, per := n.opts.Addresses, max(n.opts.PerSubnet, 1)
	if n.lay.Addresses != SharedAddress {
		if mode != SharedAddress && mode != n.lay.Addresses {
			return &LayoutError{Path: n.dir, Msg: fmt.Sprintf("the network has %s addresses, not %s (use a new directory to change them)", n.lay.Addresses, mode)}
		}
		mode = n.lay.Addresses
	} else if mode != SharedAddress {
		if _, err := os.Stat(n.NetworkFile()); err == nil {
			return &LayoutError{Path: n.dir, Msg: fmt.Sprintf("the network shares one address; it cannot get %s addresses (use a new directory)", mode)}
		}
	}
	if mode == SharedAddress {
		return nil
	}
	if (len(n.lay.Nodes)+per-1)/per > maxSubnets {
		return fmt.Errorf("testnet: %d nodes at %d per subnet need more than %d subnets", len(n.lay.Nodes), per, maxSubnets)
	}
	if mode == NetnsAddresses && n.opts.Subprocess {
		return errors.New("testnet: netns addresses need in-process nodes")
	}
	var prefix netip.Prefix
	if mode == NetnsAddresses {
		var err error
		if prefix, err = freePrivatePrefix(); err != nil {
			return err
		}
	}
	if n.lay.Addresses == SharedAddress || mode == NetnsAddresses {
		// Netns ranges are chosen at each start (the host's may change).
		n.lay.Addresses = mode
		for i := range n.lay.Nodes {
			n.lay.Nodes[i].Addr = nodeAddr(mode, prefix, i, per).String()
		}
		if err := n.lay.save(n.dir); err != nil {
			return fmt.Errorf("testnet: save layout: %w", err)
		}
	}
	n.addrPrefix = prefix
	if mode == LoopbackAddresses {
		return nil
	}
	ns, err := newNetnsNet(ctx, prefix)
	if err != nil {
		return err
	}
	n.netns = ns
	for i := range n.lay.Nodes {
		if err := ns.add(ctx, fmt.Sprintf("n%d", i), n.lay.addr(i)); err != nil {
			return err
		}
	}
	return nil
}

// teardownAddresses removes what setupAddresses made.
func (n *Network) teardownAddresses() error {
	if n.netns == nil {
		return nil
	}
	err := n.netns.close()
	n.netns = nil
	return err
}

// Addresses is how the network's nodes got their addresses.
func (n *Network) Addresses() AddressMode { return n.lay.Addresses }

// nodeDial is how node i opens connections: from its own address.
func (n *Network) nodeDial(i int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if n.netns != nil {
		return n.netns.dialer(fmt.Sprintf("n%d", i), 10*time.Second)
	}
	return fromAddr(n.lay.addr(i), 10*time.Second)
}

// ClientDial returns a dial function whose connections come from test
// client k's own address (k ≥ 0), distinct from every node's and every
// other client's: 127.254.x.y in loopback mode, a namespace of its own in
// netns mode (made on first use). A network whose nodes share one address
// dials from 127.254.x.y too.
func (n *Network) ClientDial(ctx context.Context, k int) (func(ctx context.Context, network, addr string) (net.Conn, error), netip.Addr, error) {
	if k < 0 || k >= 250*256 {
		return nil, netip.Addr{}, fmt.Errorf("testnet: no client %d", k)
	}
	if n.netns == nil {
		a := clientAddr(LoopbackAddresses, netip.Prefix{}, k)
		return fromAddr(a, 10*time.Second), a, nil
	}
	if k >= 250 {
		return nil, netip.Addr{}, fmt.Errorf("testnet: at most 250 clients in netns mode")
	}
	a := clientAddr(NetnsAddresses, n.addrPrefix, k)
	name := fmt.Sprintf("c%d", k)
	if err := n.netns.add(ctx, name, a); err != nil {
		return nil, netip.Addr{}, err
	}
	return n.netns.dialer(name, 10*time.Second), a, nil
}

// fromAddr dials from ip.
func fromAddr(ip netip.Addr, timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0))}
	return d.DialContext
}

// freePrivatePrefix is the first 10.N.0.0/16, N from 77, that no
// interface of this host's namespace has an address in.
func freePrivatePrefix() (netip.Prefix, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("testnet: %w", err)
	}
	for b := 77; b < 255; b++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(b), 0, 0}), 16)
		free := true
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ones, _ := ipn.Mask.Size()
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			other, err := ip.Unmap().Prefix(ones)
			if err == nil && other.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("testnet: no free 10.N.0.0/16 for the namespaces")
}

// ListenAddr is the network's own address (Options.Listen): every node's
// in SharedAddress mode, and where the ledger and a devnet's servers
// listen in the others.
func (n *Network) ListenAddr() netip.Addr { return netip.MustParseAddr(n.lay.Listen) }
