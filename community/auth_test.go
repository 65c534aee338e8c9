package community

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"sotto.dev/identity"
	"sotto.dev/internal/vectors"
	"sotto.dev/onion"
	"sotto.dev/sessionproto"
)

// vectorHeaders returns the http.Header of a vector's expected X-SOGS-*
// values (the unblinded vectors name only pubkey and signature).
func vectorHeaders(t *testing.T, v vectors.Vector, blinded map[string]string) http.Header {
	t.Helper()
	h := http.Header{}
	h.Set(headerTimestamp, strings.TrimSpace(string(v.Inputs["timestamp"])))
	h.Set(headerNonce, v.InString(t, "nonce_b64"))
	for name := range v.Expected {
		h.Set(name, v.OutString(t, name))
	}
	for name, val := range blinded {
		if h.Get(name) == "" {
			h.Set(name, val)
		}
	}
	return h
}

// TestVerifyAuthVectors verifies the spec's X-SOGS-* header vectors
// (session-desktop, both nonce derivations, with and without a body):
// each is accepted once, then refused as a replay; changing any signed
// part makes it a 401.
func TestVerifyAuthVectors(t *testing.T) {
	base := vectors.Get(t, "sogs.auth_headers.blinded_no_body")
	blindedOut := map[string]string{}
	for name := range base.Expected {
		blindedOut[name] = base.OutString(t, name)
	}
	type tc struct {
		name   string
		h      http.Header
		body   []byte
		server [32]byte
		method string
		path   string
		ts     int64
	}
	var cases []tc
	for _, v := range vectors.WithPrefix(t, "sogs.auth_headers.") {
		var ts int64
		v.In(t, "timestamp", &ts)
		cases = append(cases, tc{v.Name, vectorHeaders(t, v, blindedOut), nil, [32]byte(v.InHex(t, "server_pk")),
			v.InString(t, "method"), v.InString(t, "path"), ts})
	}
	raw, err := os.ReadFile("testdata/sogs-body.json")
	if err != nil {
		t.Fatal(err)
	}
	var bv struct {
		ServerPK string `json:"server_pk"`
		TS       int64  `json:"timestamp"`
		Method   string `json:"method"`
		Path     string `json:"path"`
		Nonce    string `json:"nonce_b64"`
		Body     string `json:"body_utf8"`
		Cases    []struct {
			Blinded   bool   `json:"blinded"`
			Signature string `json:"signature"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &bv); err != nil {
		t.Fatal(err)
	}
	spk, _ := hex.DecodeString(bv.ServerPK)
	unblinded := vectors.Get(t, "sogs.auth_headers.unblinded_no_body").OutString(t, "X-SOGS-Pubkey")
	for _, c := range bv.Cases {
		h := http.Header{}
		h.Set(headerTimestamp, "1642472103")
		h.Set(headerNonce, bv.Nonce)
		h.Set(headerSignature, c.Signature)
		h.Set(headerPubkey, blindedOut[headerPubkey])
		name := "body_blinded"
		if !c.Blinded {
			h.Set(headerPubkey, unblinded)
			name = "body_unblinded"
		}
		cases = append(cases, tc{name, h, []byte(bv.Body), [32]byte(spk), bv.Method, bv.Path, bv.TS})
	}
	if len(cases) != 5 {
		t.Fatalf("%d vectors, want 5", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := time.Unix(c.ts, 0).Add(23 * time.Hour)
			req := authRequest{method: c.method, path: c.path, body: c.body}
			sg, ok, err := verifyAuth(c.h, req, c.server, now, false, newNonceCache(10))
			want := c.h.Get(headerPubkey)
			if want[:2] == "00" {
				// The vectors' account, known by its Session ID (pysogs'
				// test key).
				want = "0588672ccb97f40bb57238989226cf429b575ba355443f47bc76c5ab144a96c65b"
			}
			if err != nil || !ok || sg.id != want {
				t.Fatalf("verify: %v, %v, %q", err, ok, sg.id)
			}
			nonces := newNonceCache(10)
			if _, _, err := verifyAuth(c.h, req, c.server, now, false, nonces); err != nil {
				t.Fatal(err)
			}
			wantAuthStatus(t, "replay", c.h, req, c.server, now, nonces, http.StatusTooEarly)
			for _, mut := range []struct {
				what string
				req  authRequest
				pk   [32]byte
			}{
				{"method", authRequest{"POST", c.path, c.body}, c.server},
				{"path", authRequest{c.method, c.path + "0", c.body}, c.server},
				{"body", authRequest{c.method, c.path, append([]byte("x"), c.body...)}, c.server},
				{"server", req, [32]byte{1}},
			} {
				wantAuthStatus(t, mut.what, c.h, mut.req, mut.pk, now, newNonceCache(10), http.StatusUnauthorized)
			}
			// The nonce of a request that failed is not spent.
			fresh := newNonceCache(10)
			wantAuthStatus(t, "bad path", c.h, authRequest{c.method, "/x", nil}, c.server, now, fresh, http.StatusUnauthorized)
			if _, _, err := verifyAuth(c.h, req, c.server, now, false, fresh); err != nil {
				t.Fatalf("after a failed request: %v", err)
			}
			// ±24 h.
			for _, d := range []time.Duration{24*time.Hour + time.Second, -24*time.Hour - time.Second} {
				wantAuthStatus(t, "clock", c.h, req, c.server, time.Unix(c.ts, 0).Add(d), newNonceCache(10), http.StatusTooEarly)
			}
			if c.h.Get(headerPubkey)[:2] == "00" {
				wantAuthStatus(t, "unblinded refused", c.h, req, c.server, now, newNonceCache(10), http.StatusBadRequest)
			}
		})
	}
}

func wantAuthStatus(t *testing.T, what string, h http.Header, req authRequest, pk [32]byte, now time.Time, nc *nonceCache, code int) {
	t.Helper()
	_, _, err := verifyAuth(h, req, pk, now, strings.HasPrefix(what, "unblinded"), nc)
	ae, ok := err.(*authError)
	if !ok || ae.status != code {
		t.Fatalf("%s: %v, want status %d", what, err, code)
	}
}

// TestNoAuth: no X-SOGS-* header at all is an anonymous request.
func TestNoAuth(t *testing.T) {
	if _, ok, err := verifyAuth(http.Header{}, authRequest{"GET", "/rooms", nil}, [32]byte{}, time.Now(), true, newNonceCache(1)); ok || err != nil {
		t.Fatalf("no headers: %v, %v", ok, err)
	}
}

// TestNonceCache: nonces expire with their hour's set once it has left the
// window, and the bound refuses new ones until then.
func TestNonceCache(t *testing.T) {
	c := newNonceCache(2)
	now := time.Unix(1_760_000_000, 0)
	ts := now.Unix()
	if c.use([16]byte{1}, ts, now) != nonceFresh || c.use([16]byte{1}, ts+5000, now) != nonceReused {
		t.Fatal("reuse across hours not caught")
	}
	if c.use([16]byte{2}, ts-3600, now) != nonceFresh || c.use([16]byte{3}, ts, now) != nonceFull {
		t.Fatal("bound not applied")
	}
	later := now.Add(authWindow + 2*time.Hour)
	if got := c.use([16]byte{3}, later.Unix(), later); got != nonceFresh || c.n != 1 {
		t.Fatalf("after expiry: %v, %d held", got, c.n)
	}
}

// TestNonceSurvivesRestart: the nonce of a post is refused by the next
// server on the same directory.
func TestNonceSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	clock := newTestClock()
	open := func() *Server {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Dir = dir
		s, err := New(cfg, Deps{Keys: testKeys(t), Clock: clock, Listener: ln})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	if _, err := s.Store().AddRoom(t.Context(), "lobby", "", nil, clock.Now()); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clock: clock, pk: s.keys.Public()}
	u := h.newUser(sessionproto.SOGSOptions{})
	body := postBodyFor(u, []byte("once"))
	hs := u.headers(http.MethodPost, "/room/lobby/message", body)
	send := func(s *Server) int {
		req := httptest.NewRequest(http.MethodPost, "/room/lobby/message", bytes.NewReader(body))
		for k, v := range hs {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		return w.Code
	}
	if code := send(s); code != http.StatusCreated {
		t.Fatalf("post: %d", code)
	}
	if code := send(s); code != http.StatusTooEarly {
		t.Fatalf("replay: %d", code)
	}
	s.Close()
	s = open()
	defer s.Close()
	if code := send(s); code != http.StatusTooEarly {
		t.Fatalf("replay after a restart: %d", code)
	}
	ms, err := s.Store().Messages(t.Context(), mustRoom(t, s, "lobby"), nil, false, Query{Recent: true, Limit: 10})
	if err != nil || len(ms) != 1 {
		t.Fatalf("%d posts, %v", len(ms), err)
	}
}

func mustRoom(t *testing.T, s *Server, token string) *Room {
	t.Helper()
	r, err := s.Store().Room(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRequestRateLimit: a source address beyond its burst gets 429 before
// anything else runs; time refills it.
func TestRequestRateLimit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AddrRate, c.AddrBurst = 1, 3 })
	for i := range 3 {
		wantCode(t, "request "+itoa(int64(i)), h.do(http.MethodGet, "/capabilities", nil, nil), http.StatusOK)
	}
	wantCode(t, "over the burst", h.do(http.MethodGet, "/capabilities", nil, nil), http.StatusTooManyRequests)
	h.viaV4 = true
	wantCode(t, "onion request over the burst", reply{code: func() int {
		req := httptest.NewRequest(http.MethodPost, onion.TargetV4, nil)
		req.RemoteAddr = "127.0.0.1:9"
		w := httptest.NewRecorder()
		h.srv.Handler().ServeHTTP(w, req)
		return w.Code
	}()}, http.StatusTooManyRequests)
	h.viaV4 = false
	h.clock.Add(time.Second)
	wantCode(t, "after a second", h.do(http.MethodGet, "/capabilities", nil, nil), http.StatusOK)
	var m dto.Metric
	if err := h.srv.m.rateLimited.WithLabelValues("addr").Write(&m); err != nil || m.GetCounter().GetValue() != 2 {
		t.Fatalf("rate_limited{addr} = %v, %v", m.GetCounter().GetValue(), err)
	}
}

// TestUnblindedSignerIsSessionID: a request signed with an unblinded (00)
// key is made by the account's Session ID (05 and the X25519 key), as
// session-pysogs records it, so moderators and clients name that user as
// Session does.
func TestUnblindedSignerIsSessionID(t *testing.T) {
	keys, _, err := identity.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	var server [32]byte
	server[0] = 1
	now := time.Now()
	req := authRequest{"GET", "/capabilities", nil}
	var nonce [16]byte
	nonce[0] = 7
	h, err := sessionproto.SOGSHeaders(keys, server, now.Unix(), nonce, req.method, req.path, nil, sessionproto.SOGSOptions{Unblinded: true})
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{}
	for k, v := range h {
		hdr.Set(k, v)
	}
	sg, ok, err := verifyAuth(hdr, req, server, now, false, newNonceCache(4))
	if err != nil || !ok {
		t.Fatalf("verifyAuth: %v %v", ok, err)
	}
	if want := keys.SessionID().String(); sg.id != want {
		t.Fatalf("signer %s, want %s", sg.id, want)
	}
}
