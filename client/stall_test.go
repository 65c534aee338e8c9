package client

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// stallDialer dials real connections that it can stall on command: from
// then on nothing more is read from them (a dead link that never resets),
// until they are closed.
type stallDialer struct {
	mu      sync.Mutex
	stalled chan struct{}
}

func newStallDialer() *stallDialer { return &stallDialer{stalled: make(chan struct{})} }

func (d *stallDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return &stallConn{Conn: c, stalled: d.stalled, closed: make(chan struct{})}, nil
}

// stall stalls every connection dialed so far; later ones work.
func (d *stallDialer) stall() {
	d.mu.Lock()
	defer d.mu.Unlock()
	close(d.stalled)
	d.stalled = make(chan struct{})
}

type stallConn struct {
	net.Conn
	stalled <-chan struct{}
	closed  chan struct{}
	once    sync.Once
}

func (c *stallConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	select {
	case <-c.stalled:
		<-c.closed // what came is lost; nothing more comes
		return 0, net.ErrClosed
	default:
		return n, err
	}
}

func (c *stallConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// TestStalledGuardConnection is the regression test of a bug the emulated
// links found (1 % of connections failing held a message 30 s): the
// client's requests to a guard share one HTTP/2 connection, and when that
// connection stalled every retry through the same guard waited on it
// until its timeout (15 s by default: two attempts through one guard held
// a message 30 s). The HTTP/2 health check now closes a stalled
// connection within h2PingAfter + h2PingTimeout, which fails the request
// on it at once, and the retry dials the guard afresh.
func TestStalledGuardConnection(t *testing.T) {
	nw, alice, bob := pair(t)
	d := newStallDialer()
	c, err := Open(Config{
		Home: t.TempDir(), NetworkFile: nw.NetworkFile(), Dial: d.dial,
		// Longer than any test: without the health check the send
		// would wait on the stalled connection until go test's -timeout.
		RequestTimeout: time.Hour, Logger: slog.New(slog.DiscardHandler), DelayMax: -1,
	}, alice.kf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Send(ctx, bob.id(), "before", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := c.net.manager(ctx)
	if err != nil {
		t.Fatal(err)
	}
	guards := m.Guards()
	d.stall()
	if _, err := c.Send(ctx, bob.id(), "after", SendOptions{}); err != nil {
		t.Fatalf("send after the guard connections stalled: %v", err)
	}
	if got := m.Guards(); !slices.Equal(got, guards) {
		t.Errorf("guards %v replaced by %v: the stalled connections were not closed", guards, got)
	}
}
