package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"sotto.dev/internal/testnet/relaynet"
	"sotto.dev/key"
	"sotto.dev/onion"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testNet is a relaynet network of relays with the tests' helpers.
type testNet struct {
	*relaynet.Network[*Relay]
	t *testing.T
}

// newTestNet starts n relays with configuration cfg.
func newTestNet(t *testing.T, n int, cfg Config) *testNet {
	t.Helper()
	nw := relaynet.Start(t, n, func(_ int, d relaynet.Deps) (*Relay, error) {
		return New(cfg, Deps{X25519Private: d.X25519Private, Directory: d.Directory, Local: d.Local, HTTPClient: d.Client, ServerClient: d.Client})
	})
	return &testNet{Network: nw, t: t}
}

// post sends an onion body to the first hop.
func (tn *testNet) post(first onion.Hop, body []byte) (int, []byte) {
	tn.t.Helper()
	return tn.Post(first.Node, body)
}

// snodeRequest sends a storage RPC through path to dest and decodes it.
func (tn *testNet) snodeRequest(path []onion.Hop, dest onion.Hop, c onion.Cipher, method string) (onion.SnodeResponse, error) {
	tn.t.Helper()
	body, key, err := onion.BuildSnodeRequest(path, dest, []byte(`{"method":"`+method+`","params":{}}`), c)
	if err != nil {
		tn.t.Fatal(err)
	}
	status, reply := tn.post(path[0], body)
	return onion.DecodeSnodeResponse(key, status, reply)
}

func (tn *testNet) expectWorking(c onion.Cipher) {
	tn.t.Helper()
	resp, err := tn.snodeRequest(tn.Hops(0, 1, 2), tn.Nodes[3].Hop, c, "info")
	if err != nil || resp.Status != 200 || string(resp.Body) != `{"method":"info","node":"node3"}` {
		tn.t.Fatalf("network no longer serves: %+v %v", resp, err)
	}
}

var ciphers = []onion.Cipher{onion.CipherAESGCM, onion.CipherXChaCha20}

func TestThreeHopsToSnode(t *testing.T) {
	tn := newTestNet(t, 6, Config{})
	for _, c := range ciphers {
		for _, route := range [][]int{{0, 1, 2, 3}, {5, 4, 3, 0}, {2, 0, 4, 1}} {
			resp, err := tn.snodeRequest(tn.Hops(route[:3]...), tn.Nodes[route[3]].Hop, c, "retrieve")
			if err != nil {
				t.Fatalf("%s %v: %v", c, route, err)
			}
			want := fmt.Sprintf(`{"method":"retrieve","node":"node%d"}`, route[3])
			if resp.Status != 200 || string(resp.Body) != want {
				t.Fatalf("%s %v: %d %s", c, route, resp.Status, resp.Body)
			}
		}
	}
	// The destination's storage RPC status travels inside the encrypted reply.
	body, key, _ := onion.BuildSnodeRequest(tn.Hops(0, 1, 2), tn.Nodes[3].Hop, []byte(`{"params":{}}`), onion.CipherXChaCha20)
	status, reply := tn.post(tn.Nodes[0].Hop, body)
	resp, err := onion.DecodeSnodeResponse(key, status, reply)
	if err != nil || resp.Status != 400 || !strings.HasPrefix(string(resp.Body), "invalid json") {
		t.Fatalf("bad RPC: %+v %v", resp, err)
	}
	st := tn.Nodes[3].Relay.Stats()
	if st.Final == 0 || tn.Nodes[1].Relay.Stats().Relayed == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestMalformedLayerAtEachHop encrypts one layer to the wrong key, at each
// position in turn: that hop answers 400 "Invalid ciphertext" in the
// clear, the earlier hops pass it back, and every relay keeps serving.
func TestMalformedLayerAtEachHop(t *testing.T) {
	tn := newTestNet(t, 4, Config{})
	stranger, err := onion.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ciphers {
		for bad := range 4 {
			hops := tn.Hops(0, 1, 2, 3)
			hops[bad].X25519 = stranger.Public()
			body, key, err := onion.BuildSnodeRequest(hops[:3], hops[3], []byte(`{"method":"info","params":{}}`), c)
			if err != nil {
				t.Fatal(err)
			}
			status, reply := tn.post(hops[0], body)
			_, err = onion.DecodeSnodeResponse(key, status, reply)
			var pe *onion.PathError
			if !errors.As(err, &pe) || pe.Status != 400 || string(pe.Body) != onion.ErrBodyInvalidCiphertext {
				t.Fatalf("%s bad hop %d: %v", c, bad, err)
			}
			tn.expectWorking(c)
		}
	}
	// A truncated and a bit-flipped outer body.
	body, _, _ := onion.BuildSnodeRequest(tn.Hops(0, 1, 2), tn.Nodes[3].Hop, []byte(`{}`), onion.CipherAESGCM)
	flipped := bytes.Clone(body)
	flipped[10] ^= 1
	if status, reply := tn.post(tn.Nodes[0].Hop, flipped); status != 400 || string(reply) != onion.ErrBodyInvalidCiphertext {
		t.Fatalf("flipped: %d %q", status, reply)
	}
	for _, cut := range []int{0, 3, 8, len(body) - 5} {
		status, reply := tn.post(tn.Nodes[0].Hop, body[:cut])
		if status != 400 || !strings.HasPrefix(string(reply), "Error parsing onion request") {
			t.Fatalf("cut at %d: %d %q", cut, status, reply)
		}
	}
	tn.expectWorking(onion.CipherAESGCM)
}

// layerTo encrypts plain for hop h and returns the ciphertext, the
// ephemeral key and the layer key.
func layerTo(t *testing.T, c onion.Cipher, h onion.Hop, plain []byte) ([]byte, key.OnionPublic, *onion.LayerKey) {
	t.Helper()
	eph, err := onion.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	key, err := onion.ClientLayerKey(c, eph, h.X25519)
	if err != nil {
		t.Fatal(err)
	}
	return key.Seal(plain), eph.Public(), key
}

// wrapFor wraps the ciphertext ct (for path[len-1]'s successor, or for
// path's last hop when last is nil) in relay layers for path.
func wrapFor(t *testing.T, c onion.Cipher, path []onion.Hop, next key.NodePublic, ct []byte, eph key.OnionPublic) []byte {
	t.Helper()
	for i := len(path) - 1; i >= 0; i-- {
		dest := next
		if i < len(path)-1 {
			dest = path[i+1].Node
		}
		plain, err := onion.EncodeHop(ct, (&onion.RelayControl{Destination: dest, EphemeralKey: eph, Cipher: c}).Marshal())
		if err != nil {
			t.Fatal(err)
		}
		ct, eph, _ = layerTo(t, c, path[i], plain)
	}
	body, err := onion.EncodeHop(ct, onion.LayerInfo{EphemeralKey: eph, Cipher: c}.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestMalformedContentAtEachHop puts a layer that decrypts but holds no
// valid frame or control object at each hop: that hop answers the
// encrypted {"status":400,"body":"Invalid json"}.
func TestMalformedContentAtEachHop(t *testing.T) {
	tn := newTestNet(t, 4, Config{})
	contents := map[string][]byte{
		"no frame":         []byte("xy"),
		"bad json":         append([]byte{0, 0, 0, 0}, "{oops"...),
		"no destination":   append([]byte{0, 0, 0, 0}, `{"ephemeral_key":"00"}`...),
		"bad cipher":       append([]byte{0, 0, 0, 0}, `{"destination":"`+tn.Nodes[0].Hop.Node.String()+`","ephemeral_key":"`+tn.Nodes[0].Hop.X25519.String()+`","enc_type":"rot13"}`...),
		"json flag string": append([]byte{0, 0, 0, 0}, `{"headers":"","json":"yes"}`...),
	}
	for _, c := range ciphers {
		for bad := range 4 {
			for name, content := range contents {
				path := tn.Hops(0, 1, 2, 3)[:bad]
				ct, eph, key := layerTo(t, c, tn.Nodes[bad].Hop, content)
				var body []byte
				if bad == 0 {
					body, _ = onion.EncodeHop(ct, onion.LayerInfo{EphemeralKey: eph, Cipher: c}.Marshal())
				} else {
					body = wrapFor(t, c, path, tn.Nodes[bad].Hop.Node, ct, eph)
				}
				status, reply := tn.post(tn.Nodes[0].Hop, body)
				resp, err := onion.DecodeSnodeResponse(key, status, reply)
				if err != nil || resp.Status != 400 || string(resp.Body) != onion.ErrBodyInvalidJSON {
					t.Fatalf("%s hop %d %s: %+v %v", c, bad, name, resp, err)
				}
			}
		}
	}
	tn.expectWorking(onion.CipherXChaCha20)
	if tn.Nodes[2].Relay.Stats().InvalidJSON == 0 {
		t.Fatal("invalid JSON not counted")
	}
}

func TestUnknownNextNode(t *testing.T) {
	tn := newTestNet(t, 4, Config{})
	var ghost key.NodePublic
	ghost[5] = 9
	hops := tn.Hops(0, 1, 2)
	for _, tc := range []struct {
		path []onion.Hop
		dest onion.Hop
	}{
		{[]onion.Hop{hops[0], {Node: ghost, X25519: hops[1].X25519}, hops[2]}, tn.Nodes[3].Hop},
		{hops, onion.Hop{Node: ghost, X25519: tn.Nodes[3].Hop.X25519}},
	} {
		body, key, _ := onion.BuildSnodeRequest(tc.path, tc.dest, []byte(`{}`), onion.CipherXChaCha20)
		status, reply := tn.post(hops[0], body)
		_, err := onion.DecodeSnodeResponse(key, status, reply)
		var pe *onion.PathError
		if !errors.As(err, &pe) {
			t.Fatalf("err %v", err)
		}
		if id, ok := pe.NextNodeNotFound(); !ok || id != ghost {
			t.Fatalf("502 body %q", pe.Body)
		}
	}
	tn.expectWorking(onion.CipherXChaCha20)
}

func TestDeadNextNodeTimesOut(t *testing.T) {
	tn := newTestNet(t, 4, Config{})
	tn.Nodes[2].Server.Close()
	body, key, _ := onion.BuildSnodeRequest(tn.Hops(0, 1, 2), tn.Nodes[3].Hop, []byte(`{}`), onion.CipherAESGCM)
	status, reply := tn.post(tn.Nodes[0].Hop, body)
	_, err := onion.DecodeSnodeResponse(key, status, reply)
	var pe *onion.PathError
	if !errors.As(err, &pe) || pe.Status != 504 || string(pe.Body) != onion.ErrBodyTimeout {
		t.Fatalf("err %v", err)
	}
	if tn.Nodes[1].Relay.Stats().ForwardFailed != 1 {
		t.Fatalf("stats %+v", tn.Nodes[1].Relay.Stats())
	}
}

func TestHopLimit(t *testing.T) {
	tn := newTestNet(t, 2, Config{MaxHops: 3})
	// A path that relays among two nodes more often than MaxHops allows.
	var path []onion.Hop
	for i := range 5 {
		path = append(path, tn.Nodes[i%2].Hop)
	}
	body, key, _ := onion.BuildSnodeRequest(path, tn.Nodes[1].Hop, []byte(`{"method":"x","params":{}}`), onion.CipherXChaCha20)
	status, reply := tn.post(path[0], body)
	_, err := onion.DecodeSnodeResponse(key, status, reply)
	var pe *onion.PathError
	if !errors.As(err, &pe) || pe.Status != 400 || string(pe.Body) != bodyHopLimit {
		t.Fatalf("err %v", err)
	}
	// A forged starting hop number is refused too.
	f, _ := onion.ParseHop(body)
	li, _ := onion.ParseLayerInfo(f.Control)
	li.HopNo = 4
	forged, _ := onion.EncodeHop(f.Blob, li.Marshal())
	if status, reply := tn.post(path[0], forged); status != 400 || string(reply) != bodyHopLimit {
		t.Fatalf("forged hop_no: %d %q", status, reply)
	}
	// Within the limit it works.
	body, key, _ = onion.BuildSnodeRequest(path[:3], tn.Nodes[1].Hop, []byte(`{"method":"x","params":{}}`), onion.CipherXChaCha20)
	status, reply = tn.post(path[0], body)
	if resp, err := onion.DecodeSnodeResponse(key, status, reply); err != nil || resp.Status != 200 {
		t.Fatalf("3 hops: %+v %v", resp, err)
	}
}

func TestLimits(t *testing.T) {
	tn := newTestNet(t, 1, Config{MaxBodySize: 4096})
	status, reply := tn.post(tn.Nodes[0].Hop, make([]byte, 5000))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversize: %d %q", status, reply)
	}
	resp, err := tn.Client.Get("https://" + tn.Nodes[0].Addr.String() + Path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	if tn.Nodes[0].Relay.Stats().TooLarge != 1 {
		t.Fatal("oversize not counted")
	}
}

type denyAll struct{}

func (denyAll) Allow(*http.Request) bool { return false }

// blockingLocal holds final-hop requests until released.
type blockingLocal struct {
	entered chan struct{}
	release chan struct{}
}

func (b blockingLocal) HandleRPC(ctx context.Context, _ []byte) (int, []byte) {
	b.entered <- struct{}{}
	<-b.release
	return 200, []byte("{}")
}

func TestRateLimitAndOverload(t *testing.T) {
	priv := [32]byte{1}
	r, err := New(Config{}, Deps{X25519Private: priv, Directory: &relaynet.Directory{}, Local: relaynet.Storage{}, HTTPClient: http.DefaultClient, Limiter: denyAll{}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Path, strings.NewReader("x")))
	if rec.Code != http.StatusTooManyRequests || r.Stats().RateLimited != 1 {
		t.Fatalf("rate limit: %d", rec.Code)
	}

	// A request held at the node (a long poll) gives its work slot back:
	// with one work slot, a second request is still worked on and waits
	// too; a third finds every waiting slot taken.
	bl := blockingLocal{entered: make(chan struct{}), release: make(chan struct{})}
	r, err = New(Config{MaxInFlight: 1, MaxWaiting: 2}, Deps{X25519Private: priv, Directory: &relaynet.Directory{}, Local: bl, HTTPClient: http.DefaultClient})
	if err != nil {
		t.Fatal(err)
	}
	dest := onion.Hop{X25519: r.X25519Public()}
	body, _, _ := onion.BuildSnodeRequest(nil, dest, []byte(`{}`), onion.CipherAESGCM)
	done := make(chan int, 2)
	for range 2 {
		go func() {
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body)))
			done <- rec.Code
		}()
		<-bl.entered
	}
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body)))
	if rec.Code != http.StatusServiceUnavailable || r.Stats().Overloaded != 1 {
		t.Fatalf("third request while every waiting slot is taken: %d", rec.Code)
	}
	close(bl.release)
	for range 2 {
		if code := <-done; code != 200 {
			t.Fatalf("held request: %d", code)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  Config
		deps Deps
	}{
		"no directory": {Config{}, Deps{Local: relaynet.Storage{}, HTTPClient: http.DefaultClient}},
		"no local":     {Config{}, Deps{Directory: &relaynet.Directory{}, HTTPClient: http.DefaultClient}},
		"no client":    {Config{}, Deps{Directory: &relaynet.Directory{}, Local: relaynet.Storage{}}},
		"tiny body":    {Config{MaxBodySize: 10}, Deps{Directory: &relaynet.Directory{}, Local: relaynet.Storage{}, HTTPClient: http.DefaultClient}},
		"neg timeout":  {Config{ServerTimeout: -1}, Deps{Directory: &relaynet.Directory{}, Local: relaynet.Storage{}, HTTPClient: http.DefaultClient}},
	} {
		if _, err := New(tc.cfg, tc.deps); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}
