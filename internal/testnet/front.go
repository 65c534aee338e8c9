package testnet

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"

	"sotto.dev/internal/linkem"
)

// Endpoint names, in Options.Link, of the servers the harness puts behind
// link-emulating proxies (linkem.Proxy): the CometBFT ledger's RPC, and
// the file and community servers of the network file.
const LedgerEndpoint = "ledger"

// FileServerEndpoint is the endpoint of the network file's file server i.
func FileServerEndpoint(i int) string { return fmt.Sprintf("fileserver-%02d", i) }

// CommunityEndpoint is the endpoint of the network file's community
// server i.
func CommunityEndpoint(i int) string { return fmt.Sprintf("community-%02d", i) }

// front is a proxy the network runs in front of a server.
type front struct {
	target string // the server's host:port
	addr   netip.AddrPort
	stop   context.CancelFunc
	done   chan struct{}
}

func (f *front) close() {
	f.stop()
	<-f.done
}

// listenFront listens on addr, or on a free port of addr's IP when its
// port is 0.
func listenFront(addr netip.AddrPort) (net.Listener, error) {
	if addr.Port() == 0 {
		ports, err := freePorts(addr.Addr(), 1)
		if err != nil {
			return nil, err
		}
		addr = netip.AddrPortFrom(addr.Addr(), ports[0])
	}
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, fmt.Errorf("testnet: proxy: %w", err)
	}
	return ln, nil
}

// startFront serves a proxy named name in front of target, listening on
// addr (port 0: a free one), until ctx ends or the front is closed.
func startFront(ctx context.Context, l *linkem.Network, addr netip.AddrPort, name, target string) (*front, error) {
	ln, err := listenFront(addr)
	if err != nil {
		return nil, err
	}
	p := l.NewProxy(ln, linkem.ProxyConfig{Name: name, Target: target})
	ctx, stop := context.WithCancel(ctx)
	f := &front{target: target, addr: netip.MustParseAddrPort(p.Addr().String()), stop: stop, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		_ = p.Serve(ctx)
	}()
	return f, nil
}

// frontURL returns u with its host:port replaced by that of a proxy named
// name (started, or kept when it already forwards to the same server),
// or u itself without Options.Link. u's host must be an IPv4 address.
func (n *Network) frontURL(name, u string) (string, error) {
	l := n.opts.Link
	if l == nil {
		return u, nil
	}
	pu, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("testnet: %s url: %w", name, err)
	}
	target, err := netip.ParseAddrPort(pu.Host)
	if err != nil {
		return "", fmt.Errorf("testnet: %s url %q: want http://ip:port", name, u)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return "", ErrClosed
	}
	f := n.fronts[name]
	if f == nil || f.target != target.String() {
		if f != nil {
			f.close()
		}
		if f, err = startFront(n.bg, l, netip.AddrPortFrom(target.Addr(), 0), name, target.String()); err != nil {
			return "", err
		}
		n.fronts[name] = f
	}
	pu.Host = net.JoinHostPort(f.addr.Addr().String(), strconv.Itoa(int(f.addr.Port())))
	return pu.String(), nil
}

// closeFronts stops every proxy of frontURL and of the child nodes.
func (n *Network) closeFronts() {
	n.mu.Lock()
	fronts := n.fronts
	n.fronts = nil
	n.mu.Unlock()
	for _, f := range fronts {
		f.close()
	}
}

// frontChild puts child node m behind a proxy on its announced address,
// the first time it starts with Options.Link: the child then listens on
// a free port of its own (and announces the proxy's); called with m.mu
// held.
func (n *Network) frontChild(m *member) error {
	l := n.opts.Link
	if l == nil {
		return nil
	}
	name := NodeEndpoint(m.info.Index)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fronts[name] != nil {
		return nil
	}
	ports, err := freePorts(m.info.Addr.Addr(), 1)
	if err != nil {
		return err
	}
	own := netip.AddrPortFrom(m.info.Addr.Addr(), ports[0])
	f, err := startFront(n.bg, l, m.info.Addr, name, own.String())
	if err != nil {
		return err
	}
	n.fronts[name] = f
	m.cfg.ListenAddr, m.cfg.PublicPort = own.String(), m.info.Addr.Port()
	return nil
}
