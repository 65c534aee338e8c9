package testnet

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// SlowStores is the slow-sender attack, the cheap denial of service that
// a node's connection and request limits must withstand: n connections through dial (a client
// address's, Network.ClientDial) to the node at addr, each a TLS
// connection sending the headers of a large storage RPC store and one
// byte of its body, and nothing more. For each connection the node
// settles, its result arrives on the channel (which holds all n): the
// status the node answered with (429: refused), or 0 when the node closed
// the connection unanswered (at accept, during the handshake or after the
// headers). stop closes every connection; what a connection gets after
// that is 0.
func SlowStores(addr string, dial func(ctx context.Context, network, addr string) (net.Conn, error), n int) (results <-chan int, stop func()) {
	out := make(chan int, n)
	var (
		mu      sync.Mutex
		conns   []net.Conn
		stopped atomic.Bool
	)
	for range n {
		go func() {
			c, err := dialTLS(dial, addr)
			if err != nil {
				out <- 0 // refused at accept, during the handshake
				return
			}
			mu.Lock()
			conns = append(conns, c)
			if stopped.Load() {
				c.Close() // dialed after stop
			}
			mu.Unlock()
			_, err = io.WriteString(c, "POST /storage_rpc/v1 HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{")
			if err != nil {
				out <- 0
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			switch {
			case stopped.Load():
				// stop closes the connection: a TLS close sends its alert
				// first, and the node's answer to that end of the body can
				// still arrive before the socket closes. Not the attack's
				// result.
				out <- 0
			case err != nil:
				out <- 0
			default:
				out <- resp.StatusCode
			}
		}()
	}
	return out, func() {
		stopped.Store(true)
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
}

// dialTLS opens a TLS connection (HTTP/1.1) through dial.
func dialTLS(dial func(ctx context.Context, network, addr string) (net.Conn, error), addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}
