package ledger

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sotto.dev/ledger/state"
)

// countingForwarder accepts TCP connections on a loopback port, counts
// them and forwards each to target.
type countingForwarder struct {
	ln     net.Listener
	target string
	opened atomic.Int64
	wg     sync.WaitGroup
}

func newCountingForwarder(t *testing.T, target string) *countingForwarder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &countingForwarder{ln: ln, target: target}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.opened.Add(1)
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { io.Copy(up, c); up.Close() }()
				io.Copy(c, up)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

// TestRPCClientReusesConnections: a node following a ledger over RPC polls
// it every second and asks for its duties besides, often several requests
// at once. CometBFT's default HTTP client keeps only two idle connections
// per host, so the third of three concurrent requests opened a new TCP
// connection each time and closed it after (found through the link
// emulator: 80 connections in 7 s from five children). Dial keeps enough
// idle connections for the client's own concurrency.
func TestRPCClientReusesConnections(t *testing.T) {
	rpc := freeRPCAddr(t)
	e, err := NewEmbedded(EmbeddedConfig{
		Dir: t.TempDir(), ChainID: "sotto-rpc-test", Genesis: testGenesis(state.DevnetParams(), nil),
		Home: HomeConfig{RPCListen: "tcp://" + rpc},
	})
	if err != nil {
		t.Fatal(err)
	}
	serveEmbedded(t, e)
	fwd := newCountingForwarder(t, rpc)
	c, err := Dial("tcp://" + fwd.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const concurrent, rounds = 6, 20
	for range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, concurrent)
		for range concurrent {
			wg.Go(func() {
				if _, err := c.Status(ctx); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("status: %v", err)
		}
	}
	// One connection per concurrent request, and slack for a request that
	// starts before the transport has put a finished connection back.
	if got, limit := fwd.opened.Load(), int64(2*concurrent); got > limit {
		t.Errorf("%d rounds of %d concurrent requests opened %d connections, want at most %d", rounds, concurrent, got, limit)
	}
}

func freeRPCAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
