package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"sotto.dev/internal/testnet/relaynet"
	"sotto.dev/key"
	"sotto.dev/onion"
)

// tap wraps a relay's forwarder and records every layer it sends to the
// next node and every reply it gets back, before the relay adds its own
// reply layer: what the next node put on the wire. mutate, if set,
// changes a 200 reply as a dishonest next hop would.
type tap struct {
	fwd    Forwarder
	mu     sync.Mutex
	sent   [][]byte
	got    [][]byte
	mutate func([]byte) []byte
}

func (tp *tap) Forward(ctx context.Context, next Next, body []byte) (int, []byte, error) {
	status, resp, err := tp.fwd.Forward(ctx, next, body)
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.sent = append(tp.sent, bytes.Clone(body))
	if err == nil {
		tp.got = append(tp.got, bytes.Clone(resp))
		if tp.mutate != nil && status == http.StatusOK {
			resp = tp.mutate(resp)
		}
	}
	return status, resp, err
}

func (tp *tap) last() (sent, got []byte) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.sent[len(tp.sent)-1], tp.got[len(tp.got)-1]
}

// blobStorage answers {"method":"blob","params":{"n":N}} with N bytes of
// 'a' and everything else as relaynet.Storage does.
type blobStorage struct{ relaynet.Storage }

func (s blobStorage) HandleRPC(ctx context.Context, body []byte) (int, []byte) {
	var req struct {
		Method string `json:"method"`
		Params struct {
			N int `json:"n"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &req) == nil && req.Method == "blob" {
		return http.StatusOK, bytes.Repeat([]byte("a"), req.Params.N)
	}
	return s.Storage.HandleRPC(ctx, body)
}

// newSottoNet starts n relays whose forwarders are tapped; the relays at
// the indexes in old relay only Session's form, as a Session node does.
func newSottoNet(t *testing.T, n int, old ...int) (*testNet, []*tap) {
	t.Helper()
	taps := make([]*tap, n)
	nw := relaynet.Start(t, n, func(i int, d relaynet.Deps) (*Relay, error) {
		taps[i] = &tap{fwd: &HTTPSForwarder{Client: d.Client}}
		return New(Config{SessionOnly: slices.Contains(old, i)}, Deps{
			X25519Private: d.X25519Private, Directory: d.Directory, Local: blobStorage{d.Local},
			Forwarder: taps[i], ServerClient: d.Client,
		})
	})
	return &testNet{Network: nw, t: t}, taps
}

// sottoRequest sends payload in the Sotto form through path to dest.
func (tn *testNet) sottoRequest(path []onion.Hop, dest onion.Hop, c onion.Cipher, payload string) (int, []byte, *onion.SottoReply) {
	tn.t.Helper()
	body, rep, err := onion.BuildSottoSnodeRequest(path, dest, []byte(payload), c)
	if err != nil {
		tn.t.Fatal(err)
	}
	tn.t.Cleanup(rep.Destroy)
	first := dest
	if len(path) > 0 {
		first = path[0]
	}
	status, reply := tn.post(first, body)
	return status, reply, rep
}

func blobPayload(n int) string { return fmt.Sprintf(`{"method":"blob","params":{"n":%d}}`, n) }

func TestSottoThreeHops(t *testing.T) {
	tn, _ := newSottoNet(t, 5)
	for _, c := range ciphers {
		for _, route := range [][]int{{0, 1, 2, 3}, {4, 3, 2, 1}} {
			status, reply, rep := tn.sottoRequest(tn.Hops(route[:3]...), tn.Nodes[route[3]].Hop, c, `{"method":"info","params":{}}`)
			resp, err := onion.DecodeSottoSnodeResponse(rep, status, reply)
			want := fmt.Sprintf(`{"method":"info","node":"node%d"}`, route[3])
			if err != nil || resp.Status != 200 || string(resp.Body) != want {
				t.Fatalf("%s %v: %+v %v", c, route, resp, err)
			}
			if len(reply) != 1024 {
				t.Fatalf("%s: reply of %d bytes, want the 1 KiB class", c, len(reply))
			}
		}
		// No path: the client talks to the destination directly.
		status, reply, rep := tn.sottoRequest(nil, tn.Nodes[2].Hop, c, `{"method":"info","params":{}}`)
		if resp, err := onion.DecodeSottoSnodeResponse(rep, status, reply); err != nil || string(resp.Body) != `{"method":"info","node":"node2"}` {
			t.Fatalf("%s direct: %+v %v", c, resp, err)
		}
	}
	for i, n := range tn.Nodes {
		if st := n.Relay.Stats(); st.Sotto == 0 || st.BadReply != 0 {
			t.Fatalf("node %d stats %+v", i, st)
		}
	}
	// The destination's RPC status travels inside, as in Session's form.
	status, reply, rep := tn.sottoRequest(tn.Hops(0, 1, 2), tn.Nodes[3].Hop, onion.CipherXChaCha20, `{"params":{}}`)
	if resp, err := onion.DecodeSottoSnodeResponse(rep, status, reply); err != nil || resp.Status != 400 {
		t.Fatalf("bad RPC: %+v %v", resp, err)
	}
}

// commonSubstring reports whether a and b share a run of n bytes.
func commonSubstring(a, b []byte, n int) bool {
	if len(a) < n || len(b) < n {
		return false
	}
	seen := make(map[string]struct{}, len(a))
	for i := 0; i+n <= len(a); i++ {
		seen[string(a[i:i+n])] = struct{}{}
	}
	for i := 0; i+n <= len(b); i++ {
		if _, ok := seen[string(b[i:i+n])]; ok {
			return true
		}
	}
	return false
}

// TestSottoGuardAndExitCannotMatchReply captures the reply as the
// destination, the exit and the guard each put it on the wire. In
// Session's form the exit's and the guard's bytes are the same; in the
// Sotto form no two of them share 16 bytes, and they have the same size,
// which is a size class: replies of different lengths in one class are
// the same size at every hop.
func TestSottoGuardAndExitCannotMatchReply(t *testing.T) {
	tn, taps := newSottoNet(t, 4)
	path, dest := tn.Hops(0, 1, 2), tn.Nodes[3].Hop

	// Before: Session's form.
	body, key, err := onion.BuildSnodeRequest(path, dest, []byte(blobPayload(300)), onion.CipherXChaCha20)
	if err != nil {
		t.Fatal(err)
	}
	_, guardOut := tn.post(path[0], body)
	_, exitOut := taps[1].last()
	if !bytes.Equal(guardOut, exitOut) {
		t.Fatal("Session's form: the guard's and the exit's reply should be the same bytes")
	}
	if _, err := onion.DecodeSnodeResponse(key, 200, guardOut); err != nil {
		t.Fatal(err)
	}

	// After: the Sotto form.
	for _, c := range ciphers {
		sizes := map[int]bool{}
		for _, n := range []int{10, 300, 900} {
			status, guardOut, rep := tn.sottoRequest(path, dest, c, blobPayload(n))
			resp, err := onion.DecodeSottoSnodeResponse(rep, status, guardOut)
			if err != nil || len(resp.Body) != n {
				t.Fatalf("%s n=%d: %v", c, n, err)
			}
			_, exitOut := taps[1].last()   // what the exit returned to the middle
			_, destOut := taps[2].last()   // what the destination returned to the exit
			_, middleOut := taps[0].last() // what the middle returned to the guard
			outs := [][]byte{destOut, exitOut, middleOut, guardOut}
			for i := range outs {
				if len(outs[i]) != len(guardOut) || !onion.IsSizeClass(len(outs[i])) {
					t.Fatalf("%s n=%d: hop %d reply is %d bytes, guard's %d", c, n, i, len(outs[i]), len(guardOut))
				}
				for j := range i {
					if commonSubstring(outs[i], outs[j], 16) {
						t.Fatalf("%s n=%d: replies at hops %d and %d share 16 bytes", c, n, j, i)
					}
				}
			}
			sizes[len(guardOut)] = true

			// The request: each hop's layer is the innermost class plus
			// hopBudget per hop outside it, whatever the payload's length.
			// (The frames' JSON differs only in its keys' values.)
			middleIn, _ := taps[0].last()
			exitIn, _ := taps[1].last()
			mf, err1 := onion.ParseHop(middleIn)
			ef, err2 := onion.ParseHop(exitIn)
			if err1 != nil || err2 != nil || commonSubstring(mf.Blob, ef.Blob, 16) || len(mf.Blob) != len(ef.Blob)+512 {
				t.Fatalf("%s: the middle's and the exit's request layers share 16 bytes or are not 512 bytes apart (%d, %d)", c, len(mf.Blob), len(ef.Blob))
			}
		}
		if len(sizes) != 1 {
			t.Fatalf("%s: replies in one class have sizes %v", c, sizes)
		}
	}
	// Requests of different lengths in one class are the same size at
	// every hop.
	var reqSizes [][2]int
	for _, n := range []int{0, 200} {
		pad := strings.Repeat("x", n)
		tn.sottoRequest(path, dest, onion.CipherXChaCha20, `{"method":"info","params":{"pad":"`+pad+`"}}`)
		g, _ := taps[0].last()
		e, _ := taps[1].last()
		reqSizes = append(reqSizes, [2]int{len(g), len(e)})
	}
	if reqSizes[0] != reqSizes[1] {
		t.Fatalf("request sizes differ within a class: %v", reqSizes)
	}
}

// TestSottoSizeClassEdges sends replies whose padded length is exactly a
// class and one byte more, through three hops, for the classes up to 512
// KiB (onion's unit tests cover all classes).
func TestSottoSizeClassEdges(t *testing.T) {
	tn, _ := newSottoNet(t, 4)
	wrap, err := replyJSON(200, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	c := onion.CipherXChaCha20
	fixed := 4 + c.Overhead() + len(wrap) // padded length of an empty body
	for _, class := range []int{1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 512 << 10} {
		for _, extra := range []int{0, 1} {
			n := class + extra - fixed
			status, reply, rep := tn.sottoRequest(tn.Hops(0, 1, 2), tn.Nodes[3].Hop, c, blobPayload(n))
			resp, err := onion.DecodeSottoSnodeResponse(rep, status, reply)
			if err != nil || len(resp.Body) != n || strings.Trim(string(resp.Body), "a") != "" {
				t.Fatalf("class %d%+d: %v", class, extra, err)
			}
			want := class
			if extra > 0 {
				want, _ = onion.SizeClass(class + 1)
			}
			if len(reply) != want {
				t.Fatalf("class %d%+d: reply of %d bytes, want %d", class, extra, len(reply), want)
			}
		}
	}
}

func TestSottoServerDestination(t *testing.T) {
	tn, taps := newSottoNet(t, 3)
	dest, _ := v4Server(t, false)
	for _, c := range ciphers {
		req, err := onion.EncodeV4Request(onion.V4RequestInfo{Method: "GET", Endpoint: "/room/lobby"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, rep, err := onion.BuildSottoServerRequest(tn.Hops(0, 1, 2), dest, req, c)
		if err != nil {
			t.Fatal(err)
		}
		status, guardOut := tn.post(tn.Nodes[0].Hop, body)
		resp, err := onion.DecodeSottoServerResponse(rep, status, guardOut)
		rep.Destroy()
		if err != nil || resp.Code != 200 || string(resp.Body) != `{"token":"lobby"}` {
			t.Fatalf("%s: %+v %v", c, resp, err)
		}
		_, exitOut := taps[1].last()
		if len(exitOut) != len(guardOut) || !onion.IsSizeClass(len(guardOut)) || commonSubstring(exitOut, guardOut, 16) {
			t.Fatalf("%s: exit %d bytes, guard %d bytes, or they share 16 bytes", c, len(exitOut), len(guardOut))
		}
	}
}

// TestSottoTamperedReply: a hop that alters the reply it passes back, at
// any place (content, length, padding) or by its size, is detected by the
// client.
func TestSottoTamperedReply(t *testing.T) {
	tn, taps := newSottoNet(t, 4)
	flip := func(at func(n int) int) func([]byte) []byte {
		return func(b []byte) []byte { b[at(len(b))] ^= 0x01; return b }
	}
	cases := []struct {
		name   string
		mutate func([]byte) []byte
	}{
		{"length", flip(func(int) int { return 0 })},
		{"content", flip(func(int) int { return 40 })},
		{"padding", flip(func(n int) int { return n - 1 })},
		{"grown to the next class", func(b []byte) []byte { return append(b, make([]byte, 3*1024)...) }},
		{"grown", func(b []byte) []byte { return append(b, 0) }},
		{"cut", func(b []byte) []byte { return b[:len(b)-1] }},
	}
	for _, tc := range cases {
		taps[1].mu.Lock()
		taps[1].mutate = tc.mutate // the middle hop alters what the exit returned
		taps[1].mu.Unlock()
		status, reply, rep := tn.sottoRequest(tn.Hops(0, 1, 2), tn.Nodes[3].Hop, onion.CipherXChaCha20, blobPayload(100))
		_, err := onion.DecodeSottoSnodeResponse(rep, status, reply)
		var pe *onion.PathError
		switch {
		case tc.name == "cut" || tc.name == "grown":
			// Not a size class: the middle hop itself refuses to pass it on.
			if !errors.As(err, &pe) || pe.Status != http.StatusBadGateway {
				t.Fatalf("%s: %v", tc.name, err)
			}
		case !errors.Is(err, onion.ErrDecrypt):
			t.Fatalf("%s: tampering not detected: %v", tc.name, err)
		}
	}
	taps[1].mu.Lock()
	taps[1].mutate = nil
	taps[1].mu.Unlock()
	// The guard altering its own output: the client sees it too.
	status, reply, rep := tn.sottoRequest(tn.Hops(0, 1, 2), tn.Nodes[3].Hop, onion.CipherXChaCha20, blobPayload(100))
	reply[len(reply)/2] ^= 0x80
	if _, err := onion.DecodeSottoSnodeResponse(rep, status, reply); !errors.Is(err, onion.ErrDecrypt) {
		t.Fatalf("guard tampering: %v", err)
	}
}

// TestSottoMixedPath: relays that speak only Session's form in a path.
// Session's form works through any mix; a Sotto-form request that meets
// an old relay gets an error the client reports (no panic, no wrong
// answer), and every relay keeps serving.
func TestSottoMixedPath(t *testing.T) {
	tn, _ := newSottoNet(t, 5, 1, 4) // nodes 1 and 4 are old
	for _, route := range [][]int{{1, 2, 3, 0}, {2, 1, 3, 0}, {2, 3, 4, 0}, {2, 3, 0, 1}} {
		for _, c := range ciphers {
			resp, err := tn.snodeRequest(tn.Hops(route[:3]...), tn.Nodes[route[3]].Hop, c, "info")
			if err != nil || resp.Status != 200 {
				t.Fatalf("Session form %v: %+v %v", route, resp, err)
			}
			status, reply, rep := tn.sottoRequest(tn.Hops(route[:3]...), tn.Nodes[route[3]].Hop, c, `{"method":"info","params":{}}`)
			if _, err := onion.DecodeSottoSnodeResponse(rep, status, reply); err == nil {
				t.Fatalf("Sotto form through old relay %v decoded", route)
			}
		}
	}
	// A new relay behind an old one gets the layer without "sotto" (the
	// old relay writes the next LayerInfo without the key): its padded
	// content is malformed in Session's form, answered with Session's
	// encrypted "Invalid json", which the client cannot take for a reply.
	c := onion.CipherAESGCM
	inner, rep, err := onion.BuildSottoSnodeRequest(tn.Hops(2, 3), tn.Nodes[0].Hop, []byte(`{"method":"info","params":{}}`), c)
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Destroy()
	f, err := onion.ParseHop(inner)
	if err != nil {
		t.Fatal(err)
	}
	li, err := onion.ParseLayerInfo(f.Control)
	if err != nil {
		t.Fatal(err)
	}
	body := wrapFor(t, c, tn.Hops(1), tn.Nodes[2].Hop.Node, f.Blob, li.EphemeralKey) // the old guard, Session's form
	before := tn.Nodes[2].Relay.Stats().InvalidJSON
	status, reply := tn.post(tn.Nodes[1].Hop, body)
	if _, err := onion.DecodeSottoSnodeResponse(rep, status, reply); err == nil {
		t.Fatal("a Session-form error decoded as a Sotto reply")
	}
	if tn.Nodes[2].Relay.Stats().InvalidJSON != before+1 {
		t.Fatal("the new relay behind an old one did not answer Invalid json")
	}
	for _, c := range ciphers {
		tn.expectWorking(c)
	}
}

// TestSottoMalformed: an unknown version is refused in the clear; a Sotto
// layer whose padding is malformed gets an encrypted "Invalid json" in
// the Sotto form.
func TestSottoMalformed(t *testing.T) {
	tn, _ := newSottoNet(t, 4)
	dest := tn.Nodes[0].Hop
	c := onion.CipherXChaCha20
	frame, err := onion.EncodeHop([]byte(`{"method":"info","params":{}}`), []byte(`{"headers":""}`))
	if err != nil {
		t.Fatal(err)
	}
	good, err := onion.Pad(frame, 1024-c.Overhead())
	if err != nil {
		t.Fatal(err)
	}
	send := func(plain []byte, version int) (int, []byte, *onion.LayerKey) {
		ct, eph, lk := layerTo(t, c, dest, plain)
		body, err := onion.EncodeHop(ct, onion.LayerInfo{EphemeralKey: eph, Cipher: c, Sotto: version}.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		status, reply := tn.post(dest, body)
		return status, reply, lk
	}
	if status, reply, _ := send(good, 2); status != 400 || !strings.Contains(string(reply), "unsupported Sotto onion version") {
		t.Fatalf("version 2: %d %q", status, reply)
	}
	status, reply, lk := send(good, 1)
	pt, err := openOneHop(lk, status, reply)
	if err != nil || !strings.Contains(string(pt), `node0`) {
		t.Fatalf("good layer: %q %v", pt, err)
	}
	bad := map[string][]byte{
		"length past the end": append([]byte{0xff, 0xff, 0, 0}, good[4:]...),
		"non-zero padding":    append(bytes.Clone(good[:len(good)-1]), 1),
		"empty":               {},
		"short":               {1, 0},
	}
	for name, plain := range bad {
		before := tn.Nodes[0].Relay.Stats().InvalidJSON
		status, reply, lk := send(plain, 1)
		pt, err := openOneHop(lk, status, reply)
		if err != nil || !strings.Contains(string(pt), onion.ErrBodyInvalidJSON) || tn.Nodes[0].Relay.Stats().InvalidJSON != before+1 {
			t.Fatalf("%s: %q %v", name, pt, err)
		}
	}
	tn.expectWorking(c)
}

// openOneHop reads a Sotto reply of a single-hop request whose layer key
// is lk: the hop's reply layer, the padding, the layer's AEAD.
func openOneHop(lk *onion.LayerKey, status int, reply []byte) ([]byte, error) {
	if status != 200 || !onion.IsSizeClass(len(reply)) {
		return nil, fmt.Errorf("status %d, %d bytes", status, len(reply))
	}
	lk.ReplyKey().Apply(reply)
	content, err := onion.Unpad(reply)
	if err != nil {
		return nil, err
	}
	return lk.Open(content)
}

// fuzzLocal answers every RPC with its own request.
type fuzzLocal struct{}

func (fuzzLocal) HandleRPC(_ context.Context, body []byte) (int, []byte) { return 200, body }

// failTransport refuses every request: the fuzzed server routes go nowhere.
type failTransport struct{}

func (failTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no servers in this test")
}

type noDirectory struct{}

func (noDirectory) Lookup(key.NodePublic) (netip.AddrPort, bool) { return netip.AddrPort{}, false }

// FuzzSottoLayer feeds arbitrary plaintext, inside a layer that opens, to
// a relay in the Sotto form: it must answer a size class (its own
// encrypted answer) or a clear path error, and never panic.
func FuzzSottoLayer(f *testing.F) {
	frame, _ := onion.EncodeHop([]byte(`{"method":"info"}`), []byte(`{"headers":""}`))
	good, _ := onion.Pad(frame, 200)
	f.Add(good)
	route, _ := onion.EncodeHop([]byte("x"), []byte(`{"destination":"`+strings.Repeat("ab", 32)+`","ephemeral_key":"`+strings.Repeat("cd", 32)+`"}`))
	f.Add(func() []byte { b, _ := onion.Pad(route, 300); return b }())
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{})
	priv := key.OnionPrivate{9, 9}
	r, err := New(Config{}, Deps{X25519Private: priv, Directory: noDirectory{}, Local: fuzzLocal{},
		HTTPClient: http.DefaultClient, ServerClient: &http.Client{Transport: failTransport{}}})
	if err != nil {
		f.Fatal(err)
	}
	dest := onion.Hop{X25519: r.X25519Public()}
	f.Fuzz(func(t *testing.T, plain []byte) {
		ct, eph, lk := layerTo(t, onion.CipherAESGCM, dest, plain)
		defer lk.Destroy()
		body, err := onion.EncodeHop(ct, onion.LayerInfo{EphemeralKey: eph, Cipher: onion.CipherAESGCM, Sotto: onion.SottoVersion}.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		status, _, resp := r.handle(context.Background(), body, func() {})
		switch {
		case status == 200:
			if !onion.IsSizeClass(len(resp)) {
				t.Fatalf("200 reply of %d bytes", len(resp))
			}
			if _, err := openOneHop(lk, status, resp); err != nil {
				t.Fatalf("own answer does not open: %v", err)
			}
		case status < 400:
			t.Fatalf("status %d", status)
		}
	})
}
