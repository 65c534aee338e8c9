package onion

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"sotto.dev/key"
)

// testNet is an in-memory stand-in for relays: it peels layers the way a
// node does so that the builders and decoders can be checked end to end
// without the relay package.
type testNet struct {
	t      *testing.T
	nodes  map[key.NodePublic]*KeyPair
	server http.Handler // destination of ServerControl layers
	seen   []int        // hop numbers, in order
}

func newTestNet(t *testing.T, r io.Reader, n int) (*testNet, []Hop) {
	tn := &testNet{t: t, nodes: map[key.NodePublic]*KeyPair{}}
	var hops []Hop
	for i := range n {
		kp, err := generateKeyPair(r)
		if err != nil {
			t.Fatal(err)
		}
		var id key.NodePublic
		id[0], id[1] = byte(i), 0xee
		tn.nodes[id] = kp
		hops = append(hops, Hop{Node: id, X25519: kp.Public()})
	}
	return tn, hops
}

// send delivers body to node and returns the HTTP status and body the
// client would see.
func (tn *testNet) send(node key.NodePublic, body []byte) (int, []byte) {
	kp, ok := tn.nodes[node]
	if !ok {
		return 502, []byte(ErrBodyNextNodeNotFound + node.String())
	}
	o, err := Open(kp, body)
	if err != nil {
		return 400, []byte(ErrBodyInvalidCiphertext)
	}
	tn.seen = append(tn.seen, o.Info.HopNo)
	f, err := ParseHop(o.Payload)
	if err != nil {
		return 400, []byte("Invalid json")
	}
	ctl, err := ParseControl(f.Control)
	if err != nil {
		return 400, []byte("Invalid json")
	}
	switch c := ctl.(type) {
	case *RelayControl:
		next, err := EncodeHop(f.Blob, LayerInfo{EphemeralKey: c.EphemeralKey, Cipher: c.Cipher, HopNo: o.Info.HopNo + 1}.Marshal())
		if err != nil {
			tn.t.Fatal(err)
		}
		return tn.send(c.Destination, next)
	case *SnodeControl:
		reply, _ := json.Marshal(map[string]any{"status": 200, "body": "echo:" + string(f.Blob)})
		ct := o.Key.Seal(reply)
		if !c.Base64 {
			return 200, ct
		}
		return 200, []byte(base64.StdEncoding.EncodeToString(ct))
	case *ServerControl:
		if !c.Allowed() {
			return 400, nil
		}
		req := httptest.NewRequest(http.MethodPost, c.Target, bytes.NewReader(o.Payload))
		rec := httptest.NewRecorder()
		tn.server.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes()
	}
	tn.t.Fatalf("unknown control %T", ctl)
	return 0, nil
}

func TestBuildSnodeRequestThroughPath(t *testing.T) {
	r := rand.NewChaCha8([32]byte{1})
	for _, c := range []Cipher{CipherAESGCM, CipherXChaCha20} {
		for _, pathLen := range []int{0, 1, 3, MaxHops} {
			t.Run(fmt.Sprintf("%s/%d", c, pathLen), func(t *testing.T) {
				tn, hops := newTestNet(t, r, pathLen+1)
				path, dest := hops[:pathLen], hops[pathLen]
				payload := []byte(`{"method":"info","params":{}}`)
				body, key, err := buildSnode(r, path, dest, payload, c)
				if err != nil {
					t.Fatal(err)
				}
				entry := dest.Node
				if pathLen > 0 {
					entry = path[0].Node
				}
				status, reply := tn.send(entry, body)
				resp, err := DecodeSnodeResponse(key, status, reply)
				if err != nil {
					t.Fatal(err)
				}
				if resp.Status != 200 || string(resp.Body) != "echo:"+string(payload) {
					t.Fatalf("response %d %q", resp.Status, resp.Body)
				}
				for i, h := range tn.seen {
					if h != i {
						t.Fatalf("hop numbers %v", tn.seen)
					}
				}
			})
		}
	}
}

func TestBuildSnodeRequestUnknownNextNode(t *testing.T) {
	r := rand.NewChaCha8([32]byte{2})
	tn, hops := newTestNet(t, r, 4)
	missing := hops[2]
	delete(tn.nodes, missing.Node)
	body, key, err := buildSnode(r, hops[:3], hops[3], []byte(`{}`), CipherXChaCha20)
	if err != nil {
		t.Fatal(err)
	}
	status, reply := tn.send(hops[0].Node, body)
	_, err = DecodeSnodeResponse(key, status, reply)
	var pe *PathError
	if !errors.As(err, &pe) {
		t.Fatalf("err %v, want *PathError", err)
	}
	if id, ok := pe.NextNodeNotFound(); !ok || id != missing.Node {
		t.Fatalf("NextNodeNotFound = %v %v", id, ok)
	}
}

func TestBuildLimits(t *testing.T) {
	r := rand.NewChaCha8([32]byte{3})
	_, hops := newTestNet(t, r, MaxHops+2)
	if _, _, err := BuildSnodeRequest(hops[:MaxHops+1], hops[MaxHops+1], nil, CipherAESGCM); err == nil {
		t.Error("built a path longer than MaxHops")
	}
	if _, _, err := BuildSnodeRequest(hops[:3], hops[3], nil, Cipher(9)); err == nil {
		t.Error("built with an unknown cipher")
	}
	if _, _, err := BuildServerRequest(nil, ServerDest{Host: "h"}, nil, CipherAESGCM); err == nil {
		t.Error("built a server request with no path")
	}
	if _, _, err := BuildServerRequest(hops[:3], ServerDest{Host: "h", Target: "/admin"}, nil, CipherAESGCM); err == nil {
		t.Error("built a server request to a target relays refuse")
	}
}

func TestDecodeSnodeResponseForms(t *testing.T) {
	r := rand.NewChaCha8([32]byte{4})
	server, _ := generateKeyPair(r)
	client, _ := generateKeyPair(r)
	for _, c := range []Cipher{CipherAESGCM, CipherXChaCha20} {
		ck, _ := ClientLayerKey(c, client, server.Public())
		sk, _ := ServerLayerKey(c, server, client.Public())
		plain := []byte(`{"body":"{\"t\":1}","status":421}`)
		embedded := []byte(`{"status_code":200,"body":{"t":1}}`)
		ct := sk.Seal(plain)
		b64 := base64.StdEncoding.EncodeToString(ct)
		forms := map[string][]byte{
			"base64":     []byte(b64),
			"raw base64": []byte(base64.RawStdEncoding.EncodeToString(ct)),
			"raw":        ct,
			"result":     []byte(`{"result":"` + b64 + `"}`),
		}
		for name, body := range forms {
			got, err := DecodeSnodeResponse(ck, 200, body)
			if err != nil || got.Status != 421 || string(got.Body) != `{"t":1}` {
				t.Errorf("%s/%s: %+v %v", c, name, got, err)
			}
		}
		got, err := DecodeSnodeResponse(ck, 200, []byte(base64.StdEncoding.EncodeToString(sk.Seal(embedded))))
		if err != nil || got.Status != 200 || string(got.Body) != `{"t":1}` {
			t.Errorf("%s/embedded: %+v %v", c, got, err)
		}
		if _, err := DecodeSnodeResponse(ck, 200, []byte("bm90IGEgY2lwaGVydGV4dA==")); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s/garbage: %v", c, err)
		}
		var re *ResponseError
		if _, err := DecodeSnodeResponse(ck, 200, sk.Seal([]byte(`{"body":"x"}`))); !errors.As(err, &re) {
			t.Errorf("%s/no status: %v", c, err)
		}
		if _, err := DecodeSnodeResponse(ck, 200, sk.Seal([]byte(`[1]`))); !errors.As(err, &re) {
			t.Errorf("%s/not object: %v", c, err)
		}
		if _, err := DecodeSnodeResponse(ck, 200, nil); !errors.As(err, &re) {
			t.Errorf("%s/empty: %v", c, err)
		}
		var pe *PathError
		if _, err := DecodeSnodeResponse(ck, 504, []byte(ErrBodyTimeout)); !errors.As(err, &pe) || pe.Status != 504 {
			t.Errorf("%s/504: %v", c, err)
		}
	}
}

func TestServerRequestThroughV4Handler(t *testing.T) {
	r := rand.NewChaCha8([32]byte{5})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /room/{name}", func(w http.ResponseWriter, req *http.Request) {
		if !FromOnion(req) {
			t.Error("inner request not marked as from onion")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Seen", req.Header.Get("X-SOGS-Pubkey"))
		fmt.Fprintf(w, `{"room":%q}`, req.PathValue("name"))
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "%d %s", len(b), req.Header.Get("Content-Type"))
	})
	mux.HandleFunc("GET /direct", func(w http.ResponseWriter, req *http.Request) { io.WriteString(w, "direct") })
	var sk key.OnionPrivate
	if _, err := io.ReadFull(r, sk[:]); err != nil {
		t.Fatal(err)
	}
	serverKey, err := NewKeyPair(sk)
	if err != nil {
		t.Fatal(err)
	}
	h := V4Handler(mux, sk)

	for _, c := range []Cipher{CipherAESGCM, CipherXChaCha20} {
		tn, path := newTestNet(t, r, 3)
		tn.server = h
		dest := ServerDest{Host: "sogs.example", X25519: serverKey.Public()}
		cases := []struct {
			info V4RequestInfo
			body []byte
			code int
			want string
		}{
			{V4RequestInfo{Method: "GET", Endpoint: "/room/lobby", Headers: map[string]string{"X-SOGS-Pubkey": "15aa"}}, nil, 200, `{"room":"lobby"}`},
			{V4RequestInfo{Method: "POST", Endpoint: "/upload", Headers: map[string]string{"Content-Type": "application/octet-stream"}}, bytes.Repeat([]byte{7}, 5000), 201, "5000 application/octet-stream"},
			{V4RequestInfo{Method: "GET", Endpoint: "/nowhere"}, nil, 404, "404 page not found\n"},
		}
		for _, tc := range cases {
			req, err := EncodeV4Request(tc.info, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			body, key, err := buildServer(r, path, dest, req, c)
			if err != nil {
				t.Fatal(err)
			}
			status, reply := tn.send(path[0].Node, body)
			resp, err := DecodeServerResponse(key, status, reply)
			if err != nil {
				t.Fatalf("%s %s: %v", c, tc.info.Endpoint, err)
			}
			if resp.Code != tc.code || string(resp.Body) != tc.want {
				t.Fatalf("%s %s: %d %q", c, tc.info.Endpoint, resp.Code, resp.Body)
			}
			if tc.info.Endpoint == "/room/lobby" && (resp.Headers["x-seen"] != "15aa" || resp.Headers["content-type"] != "application/json") {
				t.Fatalf("headers %v", resp.Headers)
			}
		}
	}

	// A garbled v4 payload gets pysogs' encrypted 400.
	client, _ := generateKeyPair(r)
	key, _ := ClientLayerKey(CipherXChaCha20, client, serverKey.Public())
	payload, _ := EncodeHop(key.Seal([]byte("not bencode")), LayerInfo{EphemeralKey: client.Public(), Cipher: CipherXChaCha20}.Marshal())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, TargetV4, bytes.NewReader(payload)))
	resp, err := DecodeServerResponse(key, rec.Code, rec.Body.Bytes())
	if err != nil || resp.Code != 400 || string(resp.Body) != v4BadRequestBody {
		t.Fatalf("garbled v4: %+v %v", resp, err)
	}

	// A body that does not open gets an unencrypted 400.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, TargetV4, bytes.NewReader(payload[:20])))
	if rec.Code != 400 {
		t.Fatalf("truncated payload: %d", rec.Code)
	}
	// Other paths and methods.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/direct", nil))
	if rec.Body.String() != "direct" {
		t.Fatalf("direct request: %q", rec.Body.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, TargetV4, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET lsrpc: %d", rec.Code)
	}
}

func TestV3Handler(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /legacy", func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		w.Write(append([]byte("got "), b...))
	})
	var sk key.OnionPrivate
	sk[0] = 1
	h := V4Handler(mux, sk)
	server, _ := NewKeyPair(sk)
	client, _ := GenerateKeyPair()
	key, _ := ClientLayerKey(CipherAESGCM, client, server.Public())
	for _, tc := range []struct{ req, want string }{
		{`{"endpoint":"/legacy","method":"POST","body":"hi","headers":{}}`, "got hi"},
		{`{"endpoint":"/missing","method":"GET"}`, `{"status_code":404}`},
		{`not json`, `{"status_code":400}`},
	} {
		payload, _ := EncodeHop(key.Seal([]byte(tc.req)), LayerInfo{EphemeralKey: client.Public(), Cipher: CipherAESGCM}.Marshal())
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, TargetV3, bytes.NewReader(payload)))
		ct, err := base64.StdEncoding.DecodeString(rec.Body.String())
		if err != nil {
			t.Fatal(err)
		}
		pt, err := key.Open(ct)
		if err != nil || string(pt) != tc.want {
			t.Fatalf("%s: %q %v", tc.req, pt, err)
		}
	}
}
