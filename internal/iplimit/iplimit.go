// Package iplimit bounds what one remote address may hold at once on a
// server: open connections, or requests in flight. It is the per-address
// part of a node's defence against cheap denial of service (docs/snode.md,
// "Limits"): a few slow senders from one address must not be able to hold
// every connection or every request slot of a node.
package iplimit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Limit counts holdings per address and refuses more than Max at once.
// Addresses for which Exempt returns true (a network's own nodes, whose
// connections carry many clients' traffic) are not counted. The zero
// Limit, or a Max of 0, refuses nothing.
type Limit struct {
	max    int
	exempt func(netip.Addr) bool

	mu   sync.Mutex
	held map[netip.Addr]int

	refused atomic.Uint64
}

// New returns a Limit of max holdings per address; exempt may be nil.
func New(max int, exempt func(netip.Addr) bool) *Limit {
	return &Limit{max: max, exempt: exempt, held: map[netip.Addr]int{}}
}

// Acquire takes one holding for a and reports whether it may proceed; a
// successful Acquire must be paired with one Release.
func (l *Limit) Acquire(a netip.Addr) bool {
	if l == nil || l.max <= 0 {
		return true
	}
	a = a.Unmap()
	if l.exempt != nil && l.exempt(a) {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[a] >= l.max {
		l.refused.Add(1)
		return false
	}
	l.held[a]++
	return true
}

// Release gives back a holding that Acquire granted.
func (l *Limit) Release(a netip.Addr) {
	if l == nil || l.max <= 0 {
		return
	}
	a = a.Unmap()
	if l.exempt != nil && l.exempt(a) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch n := l.held[a]; {
	case n > 1:
		l.held[a] = n - 1
	case n == 1:
		delete(l.held, a)
	}
}

// Held is how many holdings a has now.
func (l *Limit) Held(a netip.Addr) int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held[a.Unmap()]
}

// Refused counts the refused Acquires.
func (l *Limit) Refused() uint64 {
	if l == nil {
		return 0
	}
	return l.refused.Load()
}

// Listener wraps ln so that each remote address holds at most l's maximum
// of open connections: Accept closes a connection beyond it at once and
// waits for the next. Exempt addresses aren't counted, and an exemption
// is decided when a connection opens; Release runs when it closes.
func Listener(ln net.Listener, l *Limit) net.Listener {
	return &listener{Listener: ln, l: l}
}

type listener struct {
	net.Listener
	l *Limit
}

func (ln *listener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		a, ok := remoteAddr(c)
		if !ok {
			return c, nil
		}
		if ln.l.Acquire(a) {
			return &conn{Conn: c, release: func() { ln.l.Release(a) }}, nil
		}
		c.Close()
	}
}

func remoteAddr(c net.Conn) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// conn releases its holding once, at the first Close.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
