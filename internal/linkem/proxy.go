package linkem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// ProxyConfig says whom a Proxy stands for and where it forwards.
type ProxyConfig struct {
	// Name is the endpoint the proxy stands for: the target's.
	Name string
	// From, when set, is the endpoint of every connection the proxy
	// accepts: a proxy that one process dials to reach another (a
	// CometBFT validator's persistent peer) puts their connections on the
	// link From → Name. Without it the proxy's address is a listener of
	// the network: connections from its dialers keep the link they were
	// dialed on (they name themselves in the preamble), others are on the
	// link from External to Name (the listener tells them apart by their
	// first bytes, so a client that waits for the server to speak first
	// is held up to preambleTimeout: give such protocols a From).
	From string
	// Target is the address connections are forwarded to (host:port).
	Target string
	// Dial dials Target (nil: a net.Dialer).
	Dial DialFunc
}

// Proxy puts a server that the network cannot wrap in process (a child
// process, a CometBFT node) behind emulated links: it accepts connections
// on its listener and forwards each to the target over the link the
// config names, so that delay, loss, Partition and Heal apply to it.
// Serve runs it; nothing is forwarded before.
type Proxy struct {
	net *Network
	c   ProxyConfig
	ln  net.Listener // the listener, or its wrapping as one of the network's

	wg     sync.WaitGroup // forwarders
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

// NewProxy returns a proxy that owns ln (closed by Serve or Close). Without
// c.From, ln's address is registered at once as endpoint c.Name, so that
// the network's dialers name themselves to it.
func (n *Network) NewProxy(ln net.Listener, c ProxyConfig) *Proxy {
	if c.Dial == nil {
		c.Dial = (&net.Dialer{}).DialContext
	}
	p := &Proxy{net: n, c: c, ln: ln, conns: map[net.Conn]bool{}}
	if c.From == "" {
		p.ln = n.Listen(c.Name, ln)
	}
	return p
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() net.Addr { return p.ln.Addr() }

// Serve forwards the connections it accepts until ctx ends or Close is
// called, then closes the listener and every connection, and returns once
// every goroutine of the proxy has ended.
func (p *Proxy) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { p.ln.Close() })
	defer stop()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			cancel()
			p.shutdown()
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("linkem: proxy %s: %w", p.c.Name, err)
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		p.wg.Go(func() { p.forward(ctx, c) })
	}
}

// Close stops Serve; it does not wait for it.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// shutdown closes every connection and waits for the forwarders.
func (p *Proxy) shutdown() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		if lc, ok := c.(*conn); ok {
			lc.abort()
		} else {
			c.Close()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// track registers c for shutdown; false once the proxy is closing.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = true
	return true
}

// release closes c and waits until what was written to it is delivered
// (or shutdown aborts it).
func (p *Proxy) release(c net.Conn) {
	c.Close()
	if lc, ok := c.(*conn); ok {
		lc.pumps.Wait()
	}
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// forward dials the target for the accepted connection c and carries data
// both ways until both directions end. A dial that fails closes c, which
// its dialer sees as a reset connection.
func (p *Proxy) forward(ctx context.Context, c net.Conn) {
	defer p.release(c)
	var t net.Conn
	var err error
	if p.c.From != "" {
		t, err = p.net.dial(ctx, p.c.From, p.c.Name, false, p.c.Dial, "tcp", p.c.Target)
	} else {
		t, err = p.c.Dial(ctx, "tcp", p.c.Target)
	}
	if err != nil {
		return
	}
	if !p.track(t) {
		t.Close()
		return
	}
	defer p.release(t)
	splice(c, t)
}

// splice copies a to b and b to a. A direction that ends cleanly is
// half-closed where the connection allows it (TCP), so that a response
// still flows; an error, or an end that cannot be half-closed, closes
// both.
func splice(a, b net.Conn) {
	var wg sync.WaitGroup
	half := func(dst, src net.Conn) {
		_, err := io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil {
			if cw.CloseWrite() == nil {
				return
			}
		}
		a.Close()
		b.Close()
	}
	wg.Go(func() { half(b, a) })
	wg.Go(func() { half(a, b) })
	wg.Wait()
}
