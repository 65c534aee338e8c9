package linkem

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// echoServer serves echo on a loopback port until the test ends and
// counts the connections it accepted.
type echoServer struct {
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	accepted int
}

func startEcho(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.accepted++
			s.mu.Unlock()
			s.wg.Go(func() { defer c.Close(); _, _ = io.Copy(c, c) })
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *echoServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// noLeaks checks, when the test and its cleanups are done, that no
// goroutine started during it is left.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// serveProxy starts p and returns a stop that ends Serve and checks its
// result.
func serveProxy(t *testing.T, p *Proxy) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy Serve: %v", err)
		}
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// echo writes msg on c and reads it back.
func echo(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	readAt(t, c, []byte(msg))
}

// TestProxyFrom runs a proxy between two named endpoints over real
// loopback TCP: a plain dialer's connections are on the link From → Name
// (delays are lower bounds), and a partition holds the dial to the
// target until the heal.
func TestProxyFrom(t *testing.T) {
	noLeaks(t)
	const d = 20 * time.Millisecond
	srv := startEcho(t)
	n := New(1, Profile{Delay: d})
	p := n.NewProxy(listen(t), ProxyConfig{Name: "b", From: "a", Target: srv.ln.Addr().String()})
	stop := serveProxy(t, p)
	defer stop()

	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	echo(t, c, "hello")
	if rtt := time.Since(t0); rtt < 4*d {
		t.Errorf("first echo took %v, want at least a handshake and a round trip (%v)", rtt, 4*d)
	}
	c.Close()
	if got := n.Opened(); got["a→b"] != 1 || len(got) != 1 {
		t.Errorf("opened %v, want one connection a→b", got)
	}

	n.Partition([]string{"a"}, []string{"b"})
	c, err = net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	waitTracked(t, p, 1)
	if got := srv.count(); got != 1 {
		t.Errorf("the target accepted %d connections during the partition, want only the first", got)
	}
	n.Heal()
	readAt(t, c, []byte("held"))
	if got := n.Opened()["a→b"]; got != 2 {
		t.Errorf("opened a→b %d, want 2", got)
	}
}

// waitTracked waits until the proxy holds k connections (accepted and
// forwarded ones).
func waitTracked(t *testing.T, p *Proxy, k int) {
	t.Helper()
	for {
		p.mu.Lock()
		got := len(p.conns)
		p.mu.Unlock()
		if got >= k {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("proxy holds %d connections, want %d", got, k)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestProxyListener runs a proxy that is a listener of the network: the
// network's dialers keep their own link to it, other processes are on the
// link from External, and a partition keeps a dialer from reaching it.
func TestProxyListener(t *testing.T) {
	noLeaks(t)
	srv := startEcho(t)
	n := New(1, Profile{Delay: time.Millisecond})
	p := n.NewProxy(listen(t), ProxyConfig{Name: "srv", Target: srv.ln.Addr().String()})
	stop := serveProxy(t, p)
	defer stop()
	addr := p.Addr().String()

	for _, tc := range []struct {
		name, link string
		dial       DialFunc
	}{
		{"emulated dialer", "cli→srv", n.Dialer("cli", nil)},
		{"plain dialer", External + "→srv", (&net.Dialer{}).DialContext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.dial(t.Context(), "tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			echo(t, c, "one")
			echo(t, c, "two")
			if got := n.Opened()[tc.link]; got != 1 {
				t.Errorf("opened %v, want one connection %s", n.Opened(), tc.link)
			}
		})
	}
	if got := n.Opened(); len(got) != 2 {
		t.Errorf("opened %v, want the two links only (each connection emulated once)", got)
	}

	n.Partition([]string{"cli"}, []string{"srv"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := n.Dialer("cli", nil)(ctx, "tcp", addr); !errors.Is(err, context.Canceled) {
		t.Errorf("dial across the partition: %v, want it held until its context ended", err)
	}
	n.Heal()
}

// TestProxyTargetDown: a connection to a proxy whose target does not
// listen is closed.
func TestProxyTargetDown(t *testing.T) {
	noLeaks(t)
	gone := listen(t)
	target := gone.Addr().String()
	gone.Close()
	n := New(1, Profile{})
	p := n.NewProxy(listen(t), ProxyConfig{Name: "srv", Target: target})
	stop := serveProxy(t, p)
	defer stop()
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The listener tells dialers apart by their first bytes.
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("read from a proxy without a target: no error")
	}
}

// TestProxyShutdown ends Serve with connections open, one of them stalled
// across a partition: Serve returns, the clients see their connections
// closed, and no goroutine is left.
func TestProxyShutdown(t *testing.T) {
	noLeaks(t)
	srv := startEcho(t)
	n := New(1, Profile{Delay: time.Millisecond})
	pa := n.NewProxy(listen(t), ProxyConfig{Name: "b", From: "a", Target: srv.ln.Addr().String()})
	pb := n.NewProxy(listen(t), ProxyConfig{Name: "srv", Target: srv.ln.Addr().String()})
	stopA, stopB := serveProxy(t, pa), serveProxy(t, pb)

	ca, err := net.Dial("tcp", pa.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	echo(t, ca, "a")
	cb, err := n.Dialer("cli", nil)(t.Context(), "tcp", pb.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	echo(t, cb, "b")
	cx, err := net.Dial("tcp", pb.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cx.Close()
	echo(t, cx, "x")

	// Data now in flight on a stalled link.
	n.Partition([]string{"a", External}, []string{"b", "srv"})
	if _, err := ca.Write([]byte("stalled")); err != nil {
		t.Fatal(err)
	}
	if _, err := cx.Write([]byte("stalled")); err != nil {
		t.Fatal(err)
	}
	stopA()
	stopB()
	for _, c := range []net.Conn{ca, cx} {
		// Ends with EOF or a reset; what matters is that it ends.
		_, _ = io.ReadAll(c)
	}
	n.Heal()
}
