package testnet

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSlowStores runs the attack on three servers: one that refuses each
// request at once (429), one that waits for the bodies until the attack
// stops (0), and one that closes every connection at accept (0).
func TestSlowStores(t *testing.T) {
	const n = 4
	var d net.Dialer
	collect := func(results <-chan int) map[int]int {
		got := map[int]int{}
		for range n {
			got[<-results]++
		}
		return got
	}

	refuse := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/storage_rpc/v1" || r.ContentLength != 5_000_000 {
			t.Errorf("request %s %s of %d bytes", r.Method, r.URL.Path, r.ContentLength)
		}
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer refuse.Close()
	results, stop := SlowStores(refuse.Listener.Addr().String(), d.DialContext, n)
	got := collect(results)
	stop()
	if got[http.StatusTooManyRequests] != n {
		t.Errorf("refused at once: %v, want %d × 429", got, n)
	}

	arrived := make(chan struct{}, n)
	wait := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		_, _ = io.Copy(io.Discard, r.Body) // until the attack closes the connection
	}))
	defer wait.Close()
	results, stop = SlowStores(wait.Listener.Addr().String(), d.DialContext, n)
	for range n {
		<-arrived
	}
	stop()
	if got := collect(results); got[0] != n {
		t.Errorf("bodies waited for, then stopped: %v, want %d × 0", got, n)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	results, stop = SlowStores(ln.Addr().String(), d.DialContext, n)
	got = collect(results)
	stop()
	ln.Close()
	<-accepted
	if got[0] != n {
		t.Errorf("closed at accept: %v, want %d × 0", got, n)
	}
}
