package iplimit

import (
	"net"
	"net/netip"
	"sync"
	"testing"
)

func TestLimit(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	node := netip.MustParseAddr("198.51.100.7")
	l := New(2, func(x netip.Addr) bool { return x == node })
	for i := range 2 {
		if !l.Acquire(a) {
			t.Fatalf("holding %d refused", i+1)
		}
	}
	if l.Acquire(a) {
		t.Fatal("third holding of one address granted")
	}
	if !l.Acquire(b) {
		t.Fatal("another address refused")
	}
	// The IPv4-mapped form is the same address.
	if l.Acquire(netip.AddrFrom16(a.As16())) {
		t.Fatal("mapped address counted apart")
	}
	for range 100 {
		if !l.Acquire(node) {
			t.Fatal("exempt address refused")
		}
	}
	l.Release(a)
	if !l.Acquire(a) {
		t.Fatal("released holding not given back")
	}
	if l.Refused() != 2 || l.Held(a) != 2 || l.Held(node) != 0 {
		t.Errorf("refused %d, held %d/%d", l.Refused(), l.Held(a), l.Held(node))
	}
	l.Release(a)
	l.Release(a)
	l.Release(a) // one too many: no negative count
	if l.Held(a) != 0 {
		t.Errorf("held %d after extra releases", l.Held(a))
	}
	granted := 0
	for range 3 {
		if l.Acquire(a) {
			granted++
		}
	}
	if granted != 2 {
		t.Errorf("%d of 3 granted after extra releases, want 2", granted)
	}
	var off *Limit
	if !off.Acquire(a) || !New(0, nil).Acquire(a) {
		t.Error("a nil or zero limit refused")
	}
}

func TestLimitConcurrent(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.1")
	l := New(5, nil)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 100 {
				if l.Acquire(a) {
					if h := l.Held(a); h > 5 {
						t.Errorf("held %d > 5", h)
					}
					l.Release(a)
				}
			}
		})
	}
	wg.Wait()
	if l.Held(a) != 0 {
		t.Errorf("held %d after all released", l.Held(a))
	}
}

// TestListener opens more connections from one address than allowed: the
// excess is closed at once, and a closed connection frees its place.
func TestListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(2, nil)
	ln := Listener(inner, l)
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1, c2 := dial(), dial()
	s1, s2 := <-accepted, <-accepted
	c3 := dial()
	// The third is closed by the server: a read sees EOF.
	if _, err := c3.Read(make([]byte, 1)); err == nil {
		t.Fatal("third connection from one address was served")
	}
	if l.Refused() != 1 {
		t.Errorf("refused %d", l.Refused())
	}
	s1.Close()
	s1.Close() // a second Close releases nothing more
	c4 := dial()
	s4 := <-accepted
	if l.Held(netip.MustParseAddr("127.0.0.1")) != 2 {
		t.Errorf("held %d, want 2", l.Held(netip.MustParseAddr("127.0.0.1")))
	}
	for _, c := range []net.Conn{c1, c2, c3, c4, s2, s4} {
		c.Close()
	}
}
