package fileserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"sotto.dev/onion"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	goleak.VerifyTestMain(m)
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Unix(1_760_000_000, 0)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testSeed is the file server key seed of the tests.
var testSeed = bytes.Repeat([]byte{0x42}, 32)

// harness is a file server on 127.0.0.1 with real HTTP and SQLite.
type harness struct {
	t     testing.TB
	srv   *Server
	clock *testClock
	dir   string
	port  uint16
	cfg   Config

	cancel context.CancelFunc
	done   chan error

	mu      sync.Mutex
	clients map[string]*http.Client
}

func testConfig(dir string) Config {
	cfg := DefaultConfig()
	cfg.Dir = dir
	cfg.Listen = "127.0.0.1:0"
	cfg.Limits = Limits{}
	cfg.Releases = []Release{
		{Platform: "desktop", Version: "v1.16.3", Name: "Session 1.16.3", Assets: []Asset{{Name: "session.AppImage", URL: "https://example.org/s.AppImage"}}},
		{Platform: "desktop", Channel: "prerelease", Version: "v1.17.0-rc1"},
		{Platform: "android", Version: "1.25.0"},
	}
	cfg.ReleasesUpdated = time.Unix(1_759_990_000, 0)
	return cfg
}

func newHarness(t testing.TB, mutate func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, clock: newTestClock(), dir: t.TempDir(), clients: map[string]*http.Client{}}
	h.cfg = testConfig(h.dir)
	if mutate != nil {
		mutate(&h.cfg)
	}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) start() {
	h.t.Helper()
	keys, err := KeysFromSeed(testSeed)
	if err != nil {
		h.t.Fatal(err)
	}
	if h.port != 0 {
		h.cfg.Listen = "127.0.0.1:" + strconv.Itoa(int(h.port))
	}
	h.srv, err = New(h.cfg, Deps{Keys: keys, Clock: h.clock})
	if err != nil {
		h.t.Fatal(err)
	}
	h.port = uint16(h.srv.Addr().(*net.TCPAddr).Port)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.srv.Serve(ctx) }()
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Error(err)
	}
	h.cancel = nil
	h.mu.Lock()
	for _, c := range h.clients {
		c.CloseIdleConnections()
	}
	h.mu.Unlock()
}

// client returns an HTTP client whose connections come from source (a
// 127.0.0.0/8 address): a stand-in for one exit node.
func (h *harness) client(source string) *http.Client {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.clients[source]; c != nil {
		return c
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	h.clients[source] = c
	return c
}

func (h *harness) dest() onion.ServerDest {
	return onion.ServerDest{Host: "127.0.0.1", Port: h.port, Protocol: "http", X25519: h.srv.Keys().X25519Public()}
}

// onionRequest is what the exit node of a path posts to a server
// destination: the whole layer it decrypted, [len][ciphertext]{control},
// whose ciphertext the server opens with its X25519 key. It is built with
// the onion package's client side; the returned key opens the reply.
func onionRequest(t testing.TB, dest onion.ServerDest, c onion.Cipher, info onion.V4RequestInfo, body []byte) ([]byte, *onion.LayerKey) {
	t.Helper()
	req, err := onion.EncodeV4Request(info, body)
	if err != nil {
		t.Fatal(err)
	}
	eph, err := onion.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	lk, err := onion.ClientLayerKey(c, eph, dest.X25519)
	if err != nil {
		t.Fatal(err)
	}
	control := &onion.ServerControl{Host: dest.Host, Port: dest.Port, Protocol: dest.Protocol, Target: onion.TargetV4,
		Method: "POST", Cipher: c, EphemeralKey: eph.Public()}
	frame, err := onion.EncodeHop(lk.Seal(req), control.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	return frame, lk
}

// call sends one request through onion v4 from exit source and returns the
// decrypted v4 response, or the error of an unencrypted reply.
func (h *harness) call(source, method, endpoint string, headers map[string]string, body []byte) (onion.V4Response, error) {
	h.t.Helper()
	ciphers := []onion.Cipher{onion.CipherXChaCha20, onion.CipherAESGCM}
	frame, lk := onionRequest(h.t, h.dest(), ciphers[len(body)%2], onion.V4RequestInfo{Method: method, Endpoint: endpoint, Headers: headers}, body)
	return postFrame(h.client(source), "http://127.0.0.1:"+strconv.Itoa(int(h.port))+onion.TargetV4, frame, lk)
}

func postFrame(c *http.Client, url string, frame []byte, lk *onion.LayerKey) (onion.V4Response, error) {
	resp, err := c.Post(url, "application/octet-stream", bytes.NewReader(frame))
	if err != nil {
		return onion.V4Response{}, err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	if err != nil {
		return onion.V4Response{}, err
	}
	return onion.DecodeServerResponse(lk, resp.StatusCode, reply)
}

// do is call from 127.0.0.1 that fails the test on a transport error.
func (h *harness) do(method, endpoint string, headers map[string]string, body []byte) onion.V4Response {
	h.t.Helper()
	r, err := h.call("127.0.0.1", method, endpoint, headers, body)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, endpoint, err)
	}
	return r
}

// upload posts data to /file and returns the id and expiry.
func (h *harness) upload(data []byte, headers map[string]string) (FileID, float64) {
	h.t.Helper()
	r := h.do("POST", "/file", headers, data)
	if r.Code != 200 {
		h.t.Fatalf("upload of %d bytes: %d %s", len(data), r.Code, r.Body)
	}
	var out struct {
		ID      string  `json:"id"`
		Expires float64 `json:"expires"`
	}
	decode(h.t, r.Body, &out)
	return FileID(out.ID), out.Expires
}

func decode(t testing.TB, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// wantStatus checks a {"status_code": N} error answer.
func wantStatus(t testing.TB, what string, r onion.V4Response, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("%s: code %d, want %d (%s)", what, r.Code, code, r.Body)
	}
	if code >= 400 && string(r.Body) != `{"status_code":`+strconv.Itoa(code)+`}` {
		t.Fatalf("%s: body %s", what, r.Body)
	}
}

// pathStatus returns the status of an unencrypted (refused) reply.
func pathStatus(err error) int {
	var pe *onion.PathError
	if errors.As(err, &pe) {
		return pe.Status
	}
	return 0
}

// payload returns n deterministic bytes that differ by tag.
func payload(tag, n int) []byte {
	b := make([]byte, n)
	x := uint32(tag)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// value reads a counter's value.
func value(t testing.TB, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
