// Package relay is a service node's onion request endpoint, POST
// /onion_req/v2 (shared/spec session-protocol.md §4, service-node-network
// §5.8). It peels one layer with the node's X25519 key and then, as the
// layer's control object says, forwards the inner blob to the next node,
// runs the request against the node's own storage RPC (final snode
// destination), or proxies the payload to an HTTP(S) server destination.
//
// Errors on the path are returned unencrypted with Session's statuses
// (400 "Invalid ciphertext", 502 "Next node not found: <key>", 504
// "Request time out"); errors after the layer opened are encrypted for the
// client. The relay logs no addresses, keys or request contents: per
// request it only counts outcomes (Stats), so nothing about the previous
// or next hop ever sits next to anything about the request.
package relay

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"sotto.dev/internal/iplimit"
	"sotto.dev/key"
	"sotto.dev/onion"
)

// Path is where the relay is mounted on the node's HTTPS listener.
const Path = "/onion_req/v2"

// Config holds the relay's limits. Zero values take the defaults.
type Config struct {
	// MaxHops is the highest hop number accepted (default onion.MaxHops, 15).
	MaxHops int
	// MaxBodySize bounds a request body and any response the relay reads
	// (default 16 MiB: a 10 MB file upload plus onion overhead).
	MaxBodySize int64
	// MaxInFlight bounds the onion requests being worked on (a layer
	// parsed and decrypted) at once; more get 503 (default 512). A request
	// takes its slot once its body has been read, and gives it back while
	// it waits (MaxWaiting).
	MaxInFlight int
	// MaxWaiting bounds the requests waiting at once on the next hop, a
	// server or the node's own storage RPC (a held long poll waits up to
	// 25 s); more get 503 (default 8192). A waiting request costs memory
	// and a goroutine, not CPU, so that many long polls cannot take the
	// slots that bound the relay's work.
	MaxWaiting int
	// MaxInFlightPerIP bounds the requests of one client address being
	// read or handled at once; more get 429 (default 64; -1: no bound).
	// Addresses for which Deps.Exempt is true (the network's nodes, which
	// relay many clients' requests) are not bounded. With it, slow
	// senders or held long polls from one address cannot take the slots
	// that everyone shares.
	MaxInFlightPerIP int
	// ForwardTimeout bounds forwarding to the next node and waiting for
	// its answer (default 30 s, the storage server's hop timeout).
	ForwardTimeout time.Duration
	// ServerTimeout bounds a proxied server request (default 25 s,
	// ONION_URL_TIMEOUT).
	ServerTimeout time.Duration
	// AllowPrivateServers lets the default server client connect to
	// loopback, private and link-local addresses (devnets and tests). Off,
	// a server destination cannot be used to reach the node's own network.
	AllowPrivateServers bool
	// SessionOnly makes the relay ignore the Sotto form (the "sotto" key),
	// exactly as a Session relay does: a node that has not announced
	// onion.CapSottoOnion, and tests of mixed paths.
	SessionOnly bool
}

func (c Config) withDefaults() Config {
	c.MaxHops = cmp.Or(c.MaxHops, onion.MaxHops)
	c.MaxBodySize = cmp.Or(c.MaxBodySize, 16<<20)
	c.MaxInFlight = cmp.Or(c.MaxInFlight, 512)
	c.MaxWaiting = cmp.Or(c.MaxWaiting, 8192)
	c.MaxInFlightPerIP = cmp.Or(c.MaxInFlightPerIP, 64)
	c.ForwardTimeout = cmp.Or(c.ForwardTimeout, 30*time.Second)
	c.ServerTimeout = cmp.Or(c.ServerTimeout, 25*time.Second)
	return c
}

func (c Config) validate() error {
	switch {
	case c.MaxHops < 1:
		return errors.New("relay: MaxHops must be positive")
	case c.MaxBodySize < 1024:
		return errors.New("relay: MaxBodySize must be at least 1 KiB")
	case c.MaxInFlight < 1 || c.MaxWaiting < 1:
		return errors.New("relay: MaxInFlight and MaxWaiting must be positive")
	case c.ForwardTimeout < 0 || c.ServerTimeout < 0:
		return errors.New("relay: timeouts must not be negative")
	}
	return nil
}

// Directory finds the next hop: the address of the active node with the
// given Ed25519 key (the node implements it from its ledger view).
type Directory interface {
	Lookup(node key.NodePublic) (netip.AddrPort, bool)
}

// Local is the node's storage RPC entry point; a final-hop request is
// handed to it as the raw {"method","params"} JSON body.
type Local interface {
	HandleRPC(ctx context.Context, body []byte) (status int, resp []byte)
}

// Next is the node a layer is forwarded to.
type Next struct {
	Ed25519 key.NodePublic
	Addr    netip.AddrPort
}

// Forwarder sends a framed onion request ([len][blob]{"ephemeral_key",
// "enc_type","hop_no"}) to the next node and returns its HTTP status and
// body. An error means no answer (connection failure or timeout).
type Forwarder interface {
	Forward(ctx context.Context, next Next, body []byte) (status int, resp []byte, err error)
}

// Limiter decides whether a request may proceed (per-client rate limits,
// shared with the node's direct endpoints). Nil allows everything.
type Limiter interface {
	Allow(r *http.Request) bool
}

// Deps are the relay's collaborators.
type Deps struct {
	Logger        *slog.Logger
	X25519Private key.OnionPrivate // the node's onion key
	Directory     Directory
	Local         Local
	// Forwarder sends layers to the next node. Nil means HTTPSForwarder
	// over HTTPClient.
	Forwarder Forwarder
	// HTTPClient carries node-to-node requests (its TLS is configured by
	// the node). Required when Forwarder is nil.
	HTTPClient *http.Client
	// ServerClient carries proxied server requests. Nil means a client with
	// normal TLS verification, no redirects, no proxy, ServerTimeout, and
	// (unless Config.AllowPrivateServers) no connections to private
	// addresses. A caller-supplied client is used as is.
	ServerClient *http.Client
	// Limiter, if set, is asked before any work is done.
	Limiter Limiter
	// Exempt, if set, names the addresses that MaxInFlightPerIP does not
	// bound (the network's nodes).
	Exempt func(netip.Addr) bool
}

// Relay is the /onion_req/v2 handler. It is safe for concurrent use and
// owns no goroutines.
type Relay struct {
	cfg      Config
	log      *slog.Logger
	keys     *onion.KeyPair
	dir      Directory
	local    Local
	fwd      Forwarder
	servers  *http.Client
	limiter  Limiter
	perIP    *iplimit.Limit
	inFlight chan struct{}
	waiting  chan struct{}
	stats    counters
}

// New builds a relay.
func New(cfg Config, deps Deps) (*Relay, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.Directory == nil || deps.Local == nil {
		return nil, errors.New("relay: Directory and Local are required")
	}
	kp, err := onion.NewKeyPair(deps.X25519Private)
	if err != nil {
		return nil, fmt.Errorf("relay: onion key: %w", err)
	}
	r := &Relay{
		cfg: cfg, log: deps.Logger, keys: kp, dir: deps.Directory, local: deps.Local,
		fwd: deps.Forwarder, servers: deps.ServerClient, limiter: deps.Limiter,
		inFlight: make(chan struct{}, cfg.MaxInFlight),
		waiting:  make(chan struct{}, cfg.MaxWaiting),
		perIP:    iplimit.New(max(cfg.MaxInFlightPerIP, 0), deps.Exempt),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.fwd == nil {
		if deps.HTTPClient == nil {
			return nil, errors.New("relay: HTTPClient is required when Forwarder is nil")
		}
		r.fwd = &HTTPSForwarder{Client: deps.HTTPClient, MaxResponse: cfg.MaxBodySize}
	}
	if r.servers == nil {
		r.servers = newServerClient(cfg.AllowPrivateServers)
	}
	return r, nil
}

// X25519Public is the relay's onion public key.
func (r *Relay) X25519Public() key.OnionPublic { return r.keys.Public() }

// Error bodies the relay sends in the clear besides onion's ErrBody*.
const (
	bodyHopLimit    = "onion request max path length exceeded"
	bodyTooLarge    = "Request too large"
	bodyOverloaded  = "Service unavailable"
	bodyRateLimited = "Too many requests"
	bodyBadGateway  = "Bad gateway"
)

// ServeHTTP handles POST /onion_req/v2.
func (r *Relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		plain(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	if r.limiter != nil && !r.limiter.Allow(req) {
		r.stats.rateLimited.Add(1)
		plain(w, http.StatusTooManyRequests, bodyRateLimited)
		return
	}
	if ip, ok := remoteIP(req); ok {
		if !r.perIP.Acquire(ip) {
			r.stats.rateLimited.Add(1)
			plain(w, http.StatusTooManyRequests, bodyRateLimited)
			return
		}
		defer r.perIP.Release(ip)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.cfg.MaxBodySize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			r.stats.tooLarge.Add(1)
			plain(w, http.StatusRequestEntityTooLarge, bodyTooLarge)
			return
		}
		r.stats.badRequest.Add(1)
		plain(w, http.StatusBadRequest, "Error reading request")
		return
	}
	select {
	case r.inFlight <- struct{}{}:
	default:
		r.stats.overloaded.Add(1)
		plain(w, http.StatusServiceUnavailable, bodyOverloaded)
		return
	}
	work := sync.OnceFunc(func() { <-r.inFlight })
	defer work()
	r.stats.requests.Add(1)
	status, ctype, resp := r.handle(req.Context(), body, work)
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = w.Write(resp)
}

// remoteIP is the address of a request's remote end.
func remoteIP(req *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(req.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

const (
	textPlain   = "text/plain; charset=utf-8"
	octetStream = "application/octet-stream"
)

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", textPlain)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// handle processes one onion request body and returns the HTTP answer.
// work gives back the request's work slot; handle calls it (through
// await) before it waits.
func (r *Relay) handle(ctx context.Context, body []byte, work func()) (int, string, []byte) {
	// The outer frame and its JSON are readable by anyone; a problem there
	// gets the storage server's "Error parsing onion request" 400.
	f, err := onion.ParseHop(body)
	if err != nil {
		r.stats.badRequest.Add(1)
		return http.StatusBadRequest, textPlain, []byte("Error parsing onion request: " + err.Error())
	}
	info, err := onion.ParseLayerInfo(f.Control)
	if err != nil {
		r.stats.badRequest.Add(1)
		return http.StatusBadRequest, textPlain, []byte("Error parsing onion request: " + err.Error())
	}
	if info.HopNo > r.cfg.MaxHops {
		r.stats.hopLimit.Add(1)
		return http.StatusBadRequest, textPlain, []byte(bodyHopLimit)
	}
	if r.cfg.SessionOnly {
		info.Sotto = 0
	}
	if info.Sotto != 0 && info.Sotto != onion.SottoVersion {
		r.stats.badRequest.Add(1)
		return http.StatusBadRequest, textPlain, []byte(fmt.Sprintf("Error parsing onion request: unsupported Sotto onion version %d", info.Sotto))
	}
	key, err := onion.ServerLayerKey(info.Cipher, r.keys, info.EphemeralKey)
	if err != nil {
		r.stats.invalidCiphertext.Add(1)
		return http.StatusBadRequest, textPlain, []byte(onion.ErrBodyInvalidCiphertext)
	}
	defer key.Destroy()
	payload, err := key.Open(f.Blob)
	if err != nil {
		r.stats.invalidCiphertext.Add(1)
		return http.StatusBadRequest, textPlain, []byte(onion.ErrBodyInvalidCiphertext)
	}
	// A Sotto-form layer is padded; its reply gets this hop's reply layer.
	var rk *onion.ReplyKey
	if info.Sotto != 0 {
		r.stats.sotto.Add(1)
		rk = key.ReplyKey()
		defer rk.Destroy()
		payload, err = onion.Unpad(payload)
	}
	var inner onion.Frame
	if err == nil {
		inner, err = onion.ParseHop(payload)
	}
	var ctl onion.Control
	if err == nil {
		ctl, err = onion.ParseControl(inner.Control)
	}
	if err != nil {
		r.stats.invalidJSON.Add(1)
		return r.answer(key, rk, http.StatusBadRequest, []byte(onion.ErrBodyInvalidJSON), false, true)
	}
	var (
		status int
		ctype  string
		resp   []byte
	)
	switch c := ctl.(type) {
	case *onion.RelayControl:
		if !r.await(work, func() { status, ctype, resp = r.relay(ctx, info, c, inner.Blob) }) {
			return http.StatusServiceUnavailable, textPlain, []byte(bodyOverloaded)
		}
		return r.passBack(rk, status, ctype, resp, false)
	case *onion.SnodeControl:
		r.stats.final.Add(1)
		if !r.await(work, func() { status, resp = r.local.HandleRPC(ctx, inner.Blob) }) {
			return http.StatusServiceUnavailable, textPlain, []byte(bodyOverloaded)
		}
		return r.answer(key, rk, status, resp, c.JSON, c.Base64)
	case *onion.ServerControl:
		if !c.Allowed() {
			r.stats.invalidURL.Add(1)
			return r.answer(key, rk, http.StatusBadRequest, []byte(onion.ErrBodyInvalidURL), false, true)
		}
		if !r.await(work, func() { status, ctype, resp = r.proxy(ctx, c, payload) }) {
			return http.StatusServiceUnavailable, textPlain, []byte(bodyOverloaded)
		}
		return r.passBack(rk, status, ctype, resp, true)
	}
	return http.StatusInternalServerError, textPlain, []byte("Internal error")
}

// await runs fn, which waits on the network or the node, in one of the
// MaxWaiting slots after giving back the request's work slot; false,
// without running fn, when every waiting slot is taken.
func (r *Relay) await(work func(), fn func()) bool {
	select {
	case r.waiting <- struct{}{}:
	default:
		r.stats.overloaded.Add(1)
		return false
	}
	defer func() { <-r.waiting }()
	work()
	fn()
	return true
}

// relay forwards the inner blob to the next node (in the form it came in)
// and returns its answer: a path error, or a reply encrypted for the
// client (handle adds this hop's reply layer in the Sotto form).
func (r *Relay) relay(ctx context.Context, info onion.LayerInfo, c *onion.RelayControl, blob []byte) (int, string, []byte) {
	addr, ok := r.dir.Lookup(c.Destination)
	if !ok {
		r.stats.nextNotFound.Add(1)
		return http.StatusBadGateway, textPlain, []byte(onion.ErrBodyNextNodeNotFound + c.Destination.String())
	}
	next := onion.LayerInfo{EphemeralKey: c.EphemeralKey, Cipher: c.Cipher, HopNo: info.HopNo + 1, Sotto: info.Sotto}
	framed, err := onion.EncodeHop(blob, next.Marshal())
	if err != nil {
		r.stats.badRequest.Add(1)
		return http.StatusBadRequest, textPlain, []byte("Error parsing onion request: " + err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ForwardTimeout)
	defer cancel()
	status, resp, err := r.fwd.Forward(ctx, Next{Ed25519: c.Destination, Addr: addr}, framed)
	if err != nil {
		r.stats.forwardFailed.Add(1)
		r.log.Debug("onion forward failed", "error_kind", errorKind(err))
		return http.StatusGatewayTimeout, textPlain, []byte(onion.ErrBodyTimeout)
	}
	r.stats.relayed.Add(1)
	return status, octetStream, resp
}

// proxy POSTs the entire decrypted payload (frame and JSON included, as
// the storage server does) to the server and passes its answer back.
func (r *Relay) proxy(ctx context.Context, c *onion.ServerControl, payload []byte) (int, string, []byte) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ServerTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL(), bytesReader(payload))
	if err != nil {
		r.stats.invalidURL.Add(1)
		return http.StatusBadRequest, textPlain, []byte(onion.ErrBodyInvalidURL)
	}
	req.Header.Set("Content-Type", octetStream)
	req.Header.Set("User-Agent", "Sotto relay")
	resp, err := r.servers.Do(req)
	if err != nil {
		r.stats.proxyFailed.Add(1)
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return http.StatusGatewayTimeout, textPlain, []byte(onion.ErrBodyTimeout)
		}
		return http.StatusBadGateway, textPlain, []byte(bodyBadGateway)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, r.cfg.MaxBodySize+1))
	if err != nil || int64(len(b)) > r.cfg.MaxBodySize {
		r.stats.proxyFailed.Add(1)
		if isTimeout(err) {
			return http.StatusGatewayTimeout, textPlain, []byte(onion.ErrBodyTimeout)
		}
		return http.StatusBadGateway, textPlain, []byte(bodyBadGateway)
	}
	r.stats.proxied.Add(1)
	ctype := resp.Header.Get("Content-Type")
	if ctype == "" {
		ctype = octetStream
	}
	return resp.StatusCode, ctype, b
}

// passBack returns a next node's or a server's answer. In the Sotto form
// (rk set) a 200 answer gets this hop's reply layer: a server's reply is
// first padded to its size class (pad), a next node's must already be one.
// Errors on the path pass unchanged, as in Session's form.
func (r *Relay) passBack(rk *onion.ReplyKey, status int, ctype string, resp []byte, pad bool) (int, string, []byte) {
	if rk == nil || status != http.StatusOK {
		return status, ctype, resp
	}
	if pad {
		var err error
		if resp, err = onion.PadReply(resp); err != nil {
			r.stats.badReply.Add(1)
			return http.StatusBadGateway, textPlain, []byte(onion.ErrBodyBadGateway)
		}
	} else if !onion.IsSizeClass(len(resp)) {
		// A next hop that answers outside the classes could tag the reply
		// by its size; refuse to pass that on.
		r.stats.badReply.Add(1)
		return http.StatusBadGateway, textPlain, []byte(onion.ErrBodyBadGateway)
	}
	rk.Apply(resp)
	return http.StatusOK, octetStream, resp
}

// answer is this node's own encrypted answer: wrapReply in Session's form,
// and in the Sotto form (rk set) the sealed {"body","status"} padded to
// its size class under this hop's reply layer.
func (r *Relay) answer(key *onion.LayerKey, rk *onion.ReplyKey, status int, body []byte, embedJSON, b64 bool) (int, string, []byte) {
	if rk == nil {
		return r.wrapReply(key, status, body, embedJSON, b64)
	}
	wrapped, err := replyJSON(status, body, embedJSON)
	if err != nil {
		return http.StatusInternalServerError, textPlain, []byte("Internal error")
	}
	out, err := onion.SealSottoReply(rk, key.Seal(wrapped))
	if err != nil {
		r.stats.badReply.Add(1)
		return http.StatusInternalServerError, textPlain, []byte("Internal error")
	}
	return http.StatusOK, octetStream, out
}

// wrapReply builds {"body":...,"status":N} (keys sorted, as the storage
// server's nlohmann dump writes them), encrypts it with the layer key and
// base64-encodes it unless asked not to (§4.3; wrap_proxy_response). With
// embedJSON a body that is valid JSON is embedded instead of quoted.
func (r *Relay) wrapReply(key *onion.LayerKey, status int, body []byte, embedJSON, b64 bool) (int, string, []byte) {
	wrapped, err := replyJSON(status, body, embedJSON)
	if err != nil {
		return http.StatusInternalServerError, textPlain, []byte("Internal error")
	}
	ct := key.Seal(wrapped)
	if !b64 {
		return http.StatusOK, octetStream, ct
	}
	return http.StatusOK, textPlain, []byte(base64.StdEncoding.EncodeToString(ct))
}

// replyJSON is {"body":...,"status":N}, the body embedded when embedJSON
// and it is valid JSON, else quoted.
func replyJSON(status int, body []byte, embedJSON bool) ([]byte, error) {
	var inner json.RawMessage
	if embedJSON && json.Valid(body) {
		inner = body
	} else {
		inner, _ = json.Marshal(string(body)) // a string always marshals
	}
	return json.Marshal(struct {
		Body   json.RawMessage `json:"body"`
		Status int             `json:"status"`
	}{inner, status})
}

// Stats are the relay's outcome counters since start.
type Stats struct {
	Requests          uint64 // bodies read (after rate and concurrency limits)
	Relayed           uint64 // forwarded, answer passed back
	Final             uint64 // run against the local storage RPC
	Proxied           uint64 // proxied to a server, answer passed back
	BadRequest        uint64 // unreadable outer frame or JSON
	InvalidCiphertext uint64
	InvalidJSON       uint64 // layer opened but its content is malformed
	InvalidURL        uint64 // server destination refused
	HopLimit          uint64
	NextNotFound      uint64
	ForwardFailed     uint64 // next node did not answer
	ProxyFailed       uint64
	TooLarge          uint64
	Overloaded        uint64
	RateLimited       uint64
	Sotto             uint64 // layers opened in the Sotto form
	BadReply          uint64 // Sotto form: a reply not a size class, or too large to pad
}

type counters struct {
	requests, relayed, final, proxied, badRequest, invalidCiphertext, invalidJSON, invalidURL,
	hopLimit, nextNotFound, forwardFailed, proxyFailed, tooLarge, overloaded, rateLimited, sotto, badReply atomic.Uint64
}

// Stats returns a snapshot of the counters (for the node's metrics).
func (r *Relay) Stats() Stats {
	c := &r.stats
	return Stats{
		Requests: c.requests.Load(), Relayed: c.relayed.Load(), Final: c.final.Load(), Proxied: c.proxied.Load(),
		BadRequest: c.badRequest.Load(), InvalidCiphertext: c.invalidCiphertext.Load(), InvalidJSON: c.invalidJSON.Load(),
		InvalidURL: c.invalidURL.Load(), HopLimit: c.hopLimit.Load(), NextNotFound: c.nextNotFound.Load(),
		ForwardFailed: c.forwardFailed.Load(), ProxyFailed: c.proxyFailed.Load(), TooLarge: c.tooLarge.Load(),
		Overloaded: c.overloaded.Load(), RateLimited: c.rateLimited.Load(), Sotto: c.sotto.Load(), BadReply: c.badReply.Load(),
	}
}
