package onion

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"sotto.dev/key"
)

// MaxServerRequestSize bounds the body V4Handler reads: a 10 MB file
// server upload (Session's limit) plus onion overhead.
const MaxServerRequestSize = 16 << 20

type onionKey struct{}

// FromOnion reports whether r is an inner request V4Handler unwrapped from
// an onion request. Its RemoteAddr is then the last path hop, not the client.
func FromOnion(r *http.Request) bool {
	v, _ := r.Context().Value(onionKey{}).(bool)
	return v
}

// V4Handler makes h reachable as an onion destination (§4.3): POSTs to
// /oxen/v4/lsrpc (and the deprecated /loki/v3/lsrpc, /oxen/v3/lsrpc) are
// opened with priv, the inner request runs against h, and the reply is
// encoded and encrypted with the same layer key. Every other request goes
// to h unchanged. A body that does not open gets an unencrypted 400.
func V4Handler(h http.Handler, priv key.OnionPrivate) http.Handler {
	kp, err := NewKeyPair(priv)
	if err != nil {
		// Every 32-byte value is a valid X25519 scalar.
		panic(err)
	}
	return &v4Handler{next: h, kp: kp}
}

type v4Handler struct {
	next http.Handler
	kp   *KeyPair
}

func (v *v4Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v4 := r.URL.Path == TargetV4
	v3 := r.URL.Path == TargetV3 || r.URL.Path == targetV3Alt
	if !v4 && !v3 {
		v.next.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxServerRequestSize))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	o, err := Open(v.kp, body)
	if err != nil {
		http.Error(w, ErrBodyInvalidCiphertext, http.StatusBadRequest)
		return
	}
	defer o.Key.Destroy()
	var reply []byte
	if v4 {
		reply = o.Key.Seal(v.serveV4(r, o.Payload))
	} else {
		ct := o.Key.Seal(v.serveV3(r, o.Payload))
		reply = []byte(base64.StdEncoding.EncodeToString(ct))
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(reply)
}

// serveV4 runs one v4 request against next and returns the encoded v4
// response; a request that does not decode gets pysogs' 400 answer.
func (v *v4Handler) serveV4(outer *http.Request, payload []byte) []byte {
	info, body, err := DecodeV4Request(payload)
	if err != nil {
		return v4BadRequest()
	}
	rec, err := v.run(outer, info.Method, info.Endpoint, info.Headers, body)
	if err != nil {
		return v4BadRequest()
	}
	hdr := make(map[string]string, len(rec.header))
	for k, vs := range rec.header {
		hdr[k] = strings.Join(vs, ", ")
	}
	return EncodeV4Response(rec.status(), hdr, rec.body.Bytes())
}

func v4BadRequest() []byte {
	return EncodeV4Response(http.StatusBadRequest,
		map[string]string{"content-type": "text/plain; charset=utf-8"}, []byte(v4BadRequestBody))
}

// serveV3 runs a deprecated v3 request ({"endpoint","method","body",
// "headers"} JSON) and returns the body of a 200 answer or
// {"status_code": N} otherwise (pysogs handle_v3_onionreq_plaintext).
func (v *v4Handler) serveV3(outer *http.Request, payload []byte) []byte {
	var req struct {
		Endpoint string            `json:"endpoint"`
		Method   string            `json:"method"`
		Body     *string           `json:"body"`
		Headers  map[string]string `json:"headers"`
	}
	status := func(code int) []byte {
		b, _ := json.Marshal(map[string]int{"status_code": code})
		return b
	}
	if !isJSONObject(payload) || json.Unmarshal(payload, &req) != nil || req.Method == "" || !strings.HasPrefix(req.Endpoint, "/") {
		return status(http.StatusBadRequest)
	}
	var body []byte
	if req.Body != nil && (req.Method == http.MethodPost || req.Method == http.MethodPut) {
		body = []byte(*req.Body)
	}
	rec, err := v.run(outer, req.Method, req.Endpoint, req.Headers, body)
	if err != nil {
		return status(http.StatusBadRequest)
	}
	if rec.status() != http.StatusOK {
		return status(rec.status())
	}
	return rec.body.Bytes()
}

// run executes one inner request against next.
func (v *v4Handler) run(outer *http.Request, method, endpoint string, headers map[string]string, body []byte) (*recorder, error) {
	u, err := url.ParseRequestURI(endpoint)
	if err != nil {
		return nil, err
	}
	ctx := context.WithValue(outer.Context(), onionKey{}, true)
	inner, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, val := range headers {
		if strings.EqualFold(k, "Content-Length") {
			continue
		}
		inner.Header.Set(k, val)
	}
	inner.ContentLength = int64(len(body))
	if body == nil {
		inner.Body = http.NoBody
	}
	inner.Host = outer.Host
	inner.RemoteAddr = outer.RemoteAddr
	inner.RequestURI = endpoint
	inner.Proto, inner.ProtoMajor, inner.ProtoMinor = outer.Proto, outer.ProtoMajor, outer.ProtoMinor
	rec := &recorder{header: http.Header{}}
	v.next.ServeHTTP(rec, inner)
	return rec, nil
}

// recorder collects an inner handler's response in memory.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if r.header.Get("Content-Type") == "" && r.body.Len() == 0 {
		r.header.Set("Content-Type", http.DetectContentType(b))
	}
	return r.body.Write(b)
}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
