package linkem

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// chunkSize is the most one read moves at once.
const chunkSize = 32 << 10

// conn is an emulated connection: the application holds one end of a
// pipe; two pumps carry its data to and from the real connection, each
// chunk released after its transmission time and one-way delay.
type conn struct {
	net.Conn // the application's end of the pipe
	raw      net.Conn
	inner    net.Conn // the pumps' end of the pipe
	lk       *link

	done    chan struct{} // closed when the connection is reset, fails or is closed while stalled
	once    sync.Once
	total   atomic.Int64 // bytes delivered, both directions
	stalled atomic.Bool
	closed  atomic.Bool
	pumps   sync.WaitGroup // the two writers
}

// wrap emulates lk over raw; dialer says which end of the link this is.
func wrap(raw net.Conn, lk *link, dialer bool) net.Conn {
	app, inner := net.Pipe()
	c := &conn{Conn: app, raw: raw, inner: inner, lk: lk, done: make(chan struct{})}
	out, in := uint64(1), uint64(2)
	if !dialer {
		out, in = in, out
	}
	lk.net.track(c, true)
	c.pumps.Add(2)
	c.pump(inner, raw, lk.rand(out))
	c.pump(raw, inner, lk.rand(in))
	go func() {
		c.pumps.Wait()
		lk.net.track(c, false)
	}()
	return c
}

func (c *conn) LocalAddr() net.Addr  { return c.raw.LocalAddr() }
func (c *conn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

// Close closes the application's end; data already written is still
// delivered, then the real connection closes.
func (c *conn) Close() error {
	err := c.Conn.Close()
	c.closed.Store(true)
	if c.stalled.Load() {
		c.stop()
	}
	return err
}

func (c *conn) stop() { c.once.Do(func() { close(c.done) }) }

// abort ends the connection at once, dropping what is still on the link
// (a proxy shutting down); its pumps end soon after.
func (c *conn) abort() {
	c.Conn.Close()
	c.raw.Close()
	c.inner.Close()
	c.stop()
}

// reset fails the connection at both ends.
func (c *conn) reset() {
	if tc, ok := c.raw.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // send RST, as a reset connection does
	}
	c.raw.Close()
	c.inner.Close()
	c.stop()
}

type chunk struct {
	b  []byte
	at time.Time
}

// pump carries src to dst: a reader stamps each chunk with its release
// time, a writer delivers it then. When src ends, dst is closed after the
// last chunk.
func (c *conn) pump(src, dst net.Conn, r *rand.Rand) {
	ch := make(chan chunk, 64)
	p := c.lk.p
	go func() {
		defer close(ch)
		var txFree, last time.Time
		for {
			buf := make([]byte, chunkSize)
			k, err := src.Read(buf)
			if k > 0 {
				now := time.Now()
				start := now
				if txFree.After(start) {
					start = txFree
				}
				txFree = start
				if p.Bandwidth > 0 {
					txFree = start.Add(time.Duration(int64(k) * int64(time.Second) / p.Bandwidth))
				}
				at := txFree.Add(oneWay(p, r))
				if at.Before(last) {
					at = last // in order, as TCP delivers
				}
				last = at
				select {
				case ch <- chunk{buf[:k], at}:
				case <-c.done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer c.pumps.Done()
		defer func() {
			dst.Close()
			for range ch { // let the reader finish
			}
		}()
		for ck := range ch {
			if !c.wait(ck.at) || !c.lk.net.waitJoined(c.lk.from, c.lk.to, c.done) {
				return
			}
			b := ck.b
			if c.lk.failAt >= 0 {
				n := c.total.Add(int64(len(b)))
				if over := n - c.lk.failAt; over > 0 {
					if keep := int64(len(b)) - over; keep > 0 {
						_, _ = dst.Write(b[:keep])
					}
					c.fail()
					return
				}
			}
			if c.stalled.Load() {
				<-c.done
				return
			}
			if _, err := dst.Write(b); err != nil {
				return
			}
		}
	}()
}

// fail applies the connection's failure: a reset, or a stall that lasts
// until the application closes the connection.
func (c *conn) fail() {
	if !c.lk.stall {
		c.reset()
		return
	}
	c.stalled.Store(true)
	if c.closed.Load() { // Close ran before stalled was set
		c.stop()
	}
	<-c.done
	c.raw.Close()
}

// wait blocks until at, or false when the connection is stopped first.
func (c *conn) wait(at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
		return false
	}
}
