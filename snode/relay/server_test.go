package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"sotto.dev/internal/testnet/relaynet"
	"sotto.dev/key"
	"sotto.dev/onion"
)

// v4Server starts an onion destination (a stand-in community server) and
// returns its ServerDest.
func v4Server(t *testing.T, tlsOn bool) (onion.ServerDest, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /room/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token":%q}`, r.PathValue("name"))
	})
	mux.HandleFunc("POST /file", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"size":%d}`, len(b))
	})
	// /slow answers after 2 s whatever happens to the request: the relay
	// must give up on it at its ServerTimeout, even if the server notices
	// the relay's disconnection late or early.
	stop := make(chan struct{})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-time.After(2 * time.Second):
		}
	})
	priv := key.OnionPrivate{0x77, 1}
	kp, err := onion.NewKeyPair(priv)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(onion.V4Handler(mux, priv))
	proto := "http"
	if tlsOn {
		srv.StartTLS()
		proto = "https"
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: lets /slow return
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	return onion.ServerDest{Host: ap.Addr().String(), Port: ap.Port(), Protocol: proto, X25519: kp.Public()}, srv
}

func (tn *testNet) serverRequest(path []onion.Hop, dest onion.ServerDest, c onion.Cipher, info onion.V4RequestInfo, body []byte) (onion.V4Response, error) {
	tn.t.Helper()
	req, err := onion.EncodeV4Request(info, body)
	if err != nil {
		tn.t.Fatal(err)
	}
	outer, key, err := onion.BuildServerRequest(path, dest, req, c)
	if err != nil {
		tn.t.Fatal(err)
	}
	status, reply := tn.post(path[0], outer)
	return onion.DecodeServerResponse(key, status, reply)
}

func TestServerDestinationThroughV4Handler(t *testing.T) {
	tn := newTestNet(t, 3, Config{})
	for _, tlsOn := range []bool{true, false} {
		dest, _ := v4Server(t, tlsOn)
		for _, c := range ciphers {
			resp, err := tn.serverRequest(tn.Hops(0, 1, 2), dest, c, onion.V4RequestInfo{Method: "GET", Endpoint: "/room/lobby"}, nil)
			if err != nil || resp.Code != 200 || string(resp.Body) != `{"token":"lobby"}` || resp.Headers["content-type"] != "application/json" {
				t.Fatalf("%s tls=%v GET: %+v %v", c, tlsOn, resp, err)
			}
			resp, err = tn.serverRequest(tn.Hops(2, 0, 1), dest, c,
				onion.V4RequestInfo{Method: "POST", Endpoint: "/file", Headers: map[string]string{"Content-Type": "application/octet-stream"}}, make([]byte, 100_000))
			if err != nil || resp.Code != 201 || string(resp.Body) != `{"size":100000}` {
				t.Fatalf("%s tls=%v POST: %+v %v", c, tlsOn, resp, err)
			}
		}
	}
	if tn.Nodes[2].Relay.Stats().Proxied == 0 {
		t.Fatal("proxy not counted")
	}
}

func TestServerDestinationErrors(t *testing.T) {
	tn := newTestNet(t, 3, Config{ServerTimeout: 300 * time.Millisecond})
	dest, srv := v4Server(t, true)

	// The server does not answer in time: 504 from the last hop.
	_, err := tn.serverRequest(tn.Hops(0, 1, 2), dest, onion.CipherXChaCha20, onion.V4RequestInfo{Method: "GET", Endpoint: "/slow"}, nil)
	var pe *onion.PathError
	if !errors.As(err, &pe) || pe.Status != 504 {
		t.Fatalf("slow server: %v", err)
	}

	// A target relays refuse: the last hop answers an encrypted 400 "Invalid url".
	last := tn.Nodes[2].Hop
	route := &onion.ServerControl{Host: dest.Host, Port: dest.Port, Protocol: "https", Target: "/admin/reset", Method: "POST", Cipher: onion.CipherAESGCM}
	inner, _ := onion.EncodeHop([]byte("x"), route.Marshal())
	ct, eph, key := layerTo(t, onion.CipherAESGCM, last, inner)
	body := wrapFor(t, onion.CipherAESGCM, tn.Hops(0, 1), last.Node, ct, eph)
	status, reply := tn.post(tn.Nodes[0].Hop, body)
	resp, err := onion.DecodeSnodeResponse(key, status, reply)
	if err != nil || resp.Status != 400 || string(resp.Body) != onion.ErrBodyInvalidURL {
		t.Fatalf("bad target: %+v %v", resp, err)
	}

	// The server is gone: 502.
	srv.Close()
	_, err = tn.serverRequest(tn.Hops(0, 1, 2), dest, onion.CipherAESGCM, onion.V4RequestInfo{Method: "GET", Endpoint: "/room/x"}, nil)
	if !errors.As(err, &pe) || pe.Status != 502 {
		t.Fatalf("server down: %v", err)
	}
}

func TestDefaultServerClientRefusesPrivateAddresses(t *testing.T) {
	dest, _ := v4Server(t, false)
	r, err := New(Config{}, Deps{X25519Private: [32]byte{3}, Directory: &relaynet.Directory{}, Local: relaynet.Storage{}, HTTPClient: http.DefaultClient})
	if err != nil {
		t.Fatal(err)
	}
	hop := onion.Hop{X25519: r.X25519Public()}
	req, _ := onion.EncodeV4Request(onion.V4RequestInfo{Method: "GET", Endpoint: "/room/x"}, nil)
	body, _, err := onion.BuildServerRequest([]onion.Hop{hop}, dest, req, onion.CipherAESGCM)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := serve(r, body)
	if code != http.StatusBadGateway {
		t.Fatalf("private destination: %d", code)
	}
	// With AllowPrivateServers the same request goes through.
	r, _ = New(Config{AllowPrivateServers: true}, Deps{X25519Private: [32]byte{3}, Directory: &relaynet.Directory{}, Local: relaynet.Storage{}, HTTPClient: http.DefaultClient})
	if code, _ := serve(r, body); code != http.StatusOK {
		t.Fatalf("allowed private destination: %d", code)
	}
	r.servers.CloseIdleConnections()
}

func serve(h http.Handler, body []byte) (int, []byte) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, Path, io.NopCloser(bytesReader(body)))
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func TestPublicAddr(t *testing.T) {
	for s, want := range map[string]bool{
		"1.1.1.1": true, "2a00:1450::1": true, "127.0.0.1": false, "10.1.2.3": false, "192.168.0.1": false,
		"172.16.0.1": false, "169.254.1.1": false, "100.64.0.1": false, "100.128.0.1": true, "0.0.0.0": false,
		"::1": false, "fe80::1": false, "fc00::1": false, "224.0.0.1": false,
	} {
		if got := publicAddr(netip.MustParseAddr(s)); got != want {
			t.Errorf("%s: %v", s, got)
		}
	}
}
