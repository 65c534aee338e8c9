package community

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/blake2b"

	"sotto.dev/identity"
	"sotto.dev/key"
	"sotto.dev/onion"
	"sotto.dev/sessionproto"
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

// testSeed is the server key seed of the tests.
var testSeed = bytes.Repeat([]byte{0x42}, 32)

func testKeys(t testing.TB) *Keys {
	t.Helper()
	k, err := KeysFromSeed(testSeed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// harness is a community server on 127.0.0.1 with real HTTP and SQLite.
type harness struct {
	t     testing.TB
	srv   *Server
	clock *testClock
	base  string
	port  uint16
	pk    [32]byte
	viaV4 bool // send requests through onion v4 instead of directly
	// client sends direct requests (nil: http.DefaultClient).
	client *http.Client
}

func newHarness(t testing.TB, mutate func(*Config)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Dir = t.TempDir()
	if mutate != nil {
		mutate(&cfg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clock: newTestClock()}
	if h.srv, err = New(cfg, Deps{Keys: testKeys(t), Clock: h.clock, Listener: ln}); err != nil {
		ln.Close()
		t.Fatal(err)
	}
	h.pk = h.srv.keys.Public()
	h.port = uint16(ln.Addr().(*net.TCPAddr).Port)
	h.base = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		http.DefaultClient.CloseIdleConnections()
	})
	return h
}

// now is the server's time: its test clock, or the system's for a child
// process.
func (h *harness) now() time.Time {
	if h.clock == nil {
		return time.Now()
	}
	return h.clock.Now()
}

// addRoom creates a room through the store (as the operator CLI does).
func (h *harness) addRoom(token string) *Room {
	h.t.Helper()
	r, err := h.srv.Store().AddRoom(context.Background(), token, "Room "+token, nil, h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// user is a Session account talking to the harness.
type user struct {
	h    *harness
	keys *identity.Keys
	opts sessionproto.SOGSOptions
	b25  bool   // sign as the 25-blinded key (SOGSHeaders has no 25 option)
	id   string // the id the server sees
}

// newUser25 is a user signing with its 25-blinded key.
func (h *harness) newUser25() *user {
	h.t.Helper()
	u := h.newUser(sessionproto.SOGSOptions{})
	kp, err := u.keys.Blind25(h.pk)
	if err != nil {
		h.t.Fatal(err)
	}
	u.b25, u.id = true, kp.ID().String()
	return u
}

func (h *harness) newUser(opts sessionproto.SOGSOptions) *user {
	h.t.Helper()
	keys, _, err := identity.NewKeys()
	if err != nil {
		h.t.Fatal(err)
	}
	u := &user{h: h, keys: keys, opts: opts}
	if opts.Unblinded {
		// The server knows an unblinded user by its Session ID
		// (signerID), as pysogs does.
		u.id = keys.SessionID().String()
	} else {
		kp, err := keys.Blind15(h.pk)
		if err != nil {
			h.t.Fatal(err)
		}
		u.id = kp.ID().String()
	}
	return u
}

// sign signs data as u posts it (with the key it authenticates with).
func (u *user) sign(data []byte) []byte {
	u.h.t.Helper()
	if u.opts.Unblinded {
		s := u.keys.Sign(data)
		return s[:]
	}
	if u.b25 {
		s, err := u.keys.Blind25Sign(u.h.pk, data)
		if err != nil {
			u.h.t.Fatal(err)
		}
		return s[:]
	}
	s, err := u.keys.Blind15Sign(u.h.pk, data, u.opts.Nonce)
	if err != nil {
		u.h.t.Fatal(err)
	}
	return s[:]
}

func (u *user) headers(method, path string, body []byte) map[string]string {
	u.h.t.Helper()
	var nonce [16]byte
	rand.Read(nonce[:])
	ts := u.h.now().Unix()
	if u.b25 {
		// §5.4 with the 25 key: the same message, signed as §5.2.
		msg := append(append(append([]byte{}, u.h.pk[:]...), nonce[:]...), strconv.FormatInt(ts, 10)+method+path...)
		if len(body) > 0 {
			hb := blake2b.Sum512(body)
			msg = append(msg, hb[:]...)
		}
		return map[string]string{
			headerPubkey: u.id, headerTimestamp: strconv.FormatInt(ts, 10),
			headerNonce: base64.StdEncoding.EncodeToString(nonce[:]), headerSignature: base64.StdEncoding.EncodeToString(u.sign(msg)),
		}
	}
	hs, err := sessionproto.SOGSHeaders(u.keys, u.h.pk, ts, nonce, method, path, body, u.opts)
	if err != nil {
		u.h.t.Fatal(err)
	}
	return hs
}

// reply is a response: status and body.
type reply struct {
	code int
	body []byte
}

func (r reply) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d %q: %v", r.code, r.body, err)
	}
}

// do sends a request with headers (nil: none) directly or through onion v4.
func (h *harness) do(method, path string, headers map[string]string, body []byte) reply {
	h.t.Helper()
	if h.viaV4 {
		return h.doV4(method, path, headers, body)
	}
	req, err := http.NewRequest(method, h.base+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := h.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return reply{resp.StatusCode, b}
}

func (h *harness) doV4(method, path string, headers map[string]string, body []byte) reply {
	h.t.Helper()
	if method == http.MethodGet || method == http.MethodDelete {
		body = nil
	}
	req, err := onion.EncodeV4Request(onion.V4RequestInfo{Method: method, Endpoint: path, Headers: headers}, body)
	if err != nil {
		h.t.Fatal(err)
	}
	eph, err := onion.GenerateKeyPair()
	if err != nil {
		h.t.Fatal(err)
	}
	lk, err := onion.ClientLayerKey(onion.CipherXChaCha20, eph, key.OnionPublic(h.pk))
	if err != nil {
		h.t.Fatal(err)
	}
	control := &onion.ServerControl{Host: "127.0.0.1", Port: h.port, Protocol: "http", Target: onion.TargetV4,
		Method: "POST", Cipher: onion.CipherXChaCha20, EphemeralKey: eph.Public()}
	frame, err := onion.EncodeHop(lk.Seal(req), control.Marshal())
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := http.Post(h.base+onion.TargetV4, "application/octet-stream", bytes.NewReader(frame))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	r, err := onion.DecodeServerResponse(lk, resp.StatusCode, b)
	if err != nil {
		h.t.Fatal(err)
	}
	return reply{r.Code, r.Body}
}

// call sends a request signed by u.
func (u *user) call(method, path string, body []byte) reply {
	u.h.t.Helper()
	return u.h.do(method, path, u.headers(method, path, body), body)
}

func wantCode(t testing.TB, what string, r reply, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: status %d (%q), want %d", what, r.code, r.body, code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
