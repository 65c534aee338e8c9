package relay

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"sotto.dev/internal/testnet/relaynet"
	"sotto.dev/key"
	"sotto.dev/onion"
)

// TestSlowSendersHoldNoSlots performs the cheap denial of service: many
// requests from one address whose bodies never finish arriving. They hold
// at most MaxInFlightPerIP places of their own address and none of the
// relay's shared slots, so another client is still served; the network's
// nodes, exempt from the per-address bound, are not refused.
func TestSlowSendersHoldNoSlots(t *testing.T) {
	node := netip.MustParseAddr("127.0.0.1")
	r, err := New(Config{MaxInFlight: 4, MaxInFlightPerIP: 2}, Deps{
		X25519Private: key.OnionPrivate{1}, Directory: &relaynet.Directory{}, Local: relaynet.Storage{}, HTTPClient: http.DefaultClient,
		Exempt: func(a netip.Addr) bool { return a == node },
	})
	if err != nil {
		t.Fatal(err)
	}
	// slow starts a request from addr whose body never ends until its
	// writer is closed; its status arrives on answered.
	type answer struct {
		from string
		code int
	}
	answered := make(chan answer, 32)
	var writers []*io.PipeWriter
	slow := func(addr string) {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		req := httptest.NewRequest(http.MethodPost, Path, pr)
		req.RemoteAddr = addr
		go func() {
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			answered <- answer{addr, rec.Code}
		}()
	}
	defer func() {
		for _, w := range writers {
			w.CloseWithError(io.ErrUnexpectedEOF)
		}
	}()

	for range 10 {
		slow("127.0.0.2:4000")
	}
	// All but MaxInFlightPerIP are refused at once, before their bodies.
	for range 8 {
		if a := <-answered; a.code != http.StatusTooManyRequests {
			t.Fatalf("a slow request was answered %d before its body ended", a.code)
		}
	}
	// The nodes are not bounded per address: five slow senders from a
	// node's address are all still being read.
	for range 5 {
		slow("127.0.0.1:5000")
	}

	// Seven slow readers hold no slot: a client's request goes through.
	dest := onion.Hop{X25519: r.X25519Public()}
	body, _, err := onion.BuildSnodeRequest(nil, dest, []byte(`{"method":"info","params":{}}`), onion.CipherAESGCM)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
		req.RemoteAddr = "127.0.0.3:6000"
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("a client behind slow senders got %d: %s", rec.Code, rec.Body)
		}
	}
	// Only the eight refusals were answered: two slow requests of the
	// attacker and five of the node are still being read.
	select {
	case a := <-answered:
		t.Fatalf("slow request from %s answered %d", a.from, a.code)
	default:
	}
	if got := r.perIP.Held(netip.MustParseAddr("127.0.0.2")); got != 2 {
		t.Errorf("the attacker holds %d places, want 2", got)
	}
}
