package snode

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"sotto.dev/key"
	"sotto.dev/ledger"
	"sotto.dev/storagerpc"
)

// Node-to-node traffic is Sotto's own protocol (docs/snode.md): HTTPS on
// the storage port, paths under /sotto/v1/, JSON bodies, and mutual TLS in
// which each side's certificate key must be the Ed25519 key the ledger
// lists for that node.
const (
	pathForward = "/sotto/v1/forward"
	// pathForwardStores takes batches of stores in a binary body
	// (fwdwire.go).
	pathForwardStores = "/sotto/v1/forward/stores"
	pathAEBuckets     = "/sotto/v1/ae/buckets"
	pathAEHeaders     = "/sotto/v1/ae/headers"
	pathAEFetch       = "/sotto/v1/ae/fetch"
	pathAEPush        = "/sotto/v1/ae/push"
	pathHandoff       = "/sotto/v1/handoff"
	maxPeerBody       = 8 << 20
	maxPeerRespErr    = 256
)

// Requests one peer may have in progress at once on one endpoint: a busy
// entry node forwards every client write to each peer, while a peer runs
// one anti-entropy round with us at a time (a few while syncing).
const (
	peerForwardSlots = 256
	peerAESlots      = 4
	peerTestSlots    = 2
)

// peerSlots bounds the requests each peer has in progress on one endpoint.
type peerSlots struct {
	size int
	mu   sync.Mutex
	m    map[key.NodePublic]int // peers with requests in progress only
}

func newPeerSlots(size int) *peerSlots {
	return &peerSlots{size: size, m: make(map[key.NodePublic]int)}
}

func (s *peerSlots) acquire(k key.NodePublic) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[k] >= s.size {
		return false
	}
	s.m[k]++
	return true
}

func (s *peerSlots) release(k key.NodePublic) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[k]--; s.m[k] <= 0 {
		delete(s.m, k)
	}
}

// PeerHTTP2 is the HTTP/2 health check of node-to-node connections (relay
// hops, replication): every request to a peer shares one connection, and
// one that stalls (a dead link that never resets) would hold each of them
// until its timeout. A connection that received nothing for 3 s is
// pinged, and closed when the ping is not answered within 2 s; the next
// request dials afresh.
func PeerHTTP2() *http.HTTP2Config {
	return &http.HTTP2Config{SendPingTimeout: 3 * time.Second, PingTimeout: 2 * time.Second}
}

// peerH1Idle is how long an HTTP/1.1 connection to a peer stays open
// unused.
const peerH1Idle = 30 * time.Second

// peerClients keeps two HTTP clients per peer, each pinned to the peer's
// ledger key: one on HTTP/2, which every kind of request shares, and one
// on HTTP/1.1 for batches of forwarded stores, which the peer's fast
// path serves (fastServer.serveForward): a batch and its answer are then
// one write and one read on each side, where HTTP/2 through net/http took
// several (docs/PERFORMANCE.md, "The swarm's forwards on the fast path").
type peerClients struct {
	cert    tls.Certificate
	timeout time.Duration
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)

	mu sync.Mutex
	m  map[peerClientKey]*http.Client
}

type peerClientKey struct {
	key key.NodePublic
	h1  bool
}

func newPeerClients(cert tls.Certificate, timeout time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *peerClients {
	return &peerClients{cert: cert, timeout: timeout, dial: dial, m: make(map[peerClientKey]*http.Client)}
}

// sourceDialer dials from the IP of listen when it is a concrete address
// (not 0.0.0.0, ::, or a host name).
func sourceDialer(listen string, timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if host, _, err := net.SplitHostPort(listen); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() {
			d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0))
		}
	}
	return d.DialContext
}

// client is the HTTP/2 client of the peer with ledger key k, or with h1
// its HTTP/1.1 client. A request on HTTP/1.1 holds a connection of its
// own; one that times out closes it.
func (pc *peerClients) client(k key.NodePublic, h1 bool) *http.Client {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	ck := peerClientKey{k, h1}
	if c, ok := pc.m[ck]; ok {
		return c
	}
	dial := pc.dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: pc.timeout, KeepAlive: 30 * time.Second}).DialContext
	}
	tr := &http.Transport{
		TLSClientConfig:     peerTLS(pc.cert, k, h1),
		DialContext:         dial,
		TLSHandshakeTimeout: pc.timeout,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	if h1 {
		// A non-nil empty map turns HTTP/2 off.
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		// A POST is not sent again on a fresh connection when the one it
		// went out on was closed by the peer as idle at that moment, so
		// we close ours first: the node's idle timeout is 2 minutes.
		tr.IdleConnTimeout = peerH1Idle
	} else {
		tr.ForceAttemptHTTP2 = true
		tr.HTTP2 = PeerHTTP2()
	}
	c := &http.Client{Transport: tr}
	pc.m[ck] = c
	return c
}

func (pc *peerClients) close() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for k, c := range pc.m {
		c.CloseIdleConnections()
		delete(pc.m, k)
	}
}

// peerURL is the HTTPS URL of path on a ledger node.
func peerURL(p *ledger.Node, path string) string {
	return "https://" + net.JoinHostPort(p.PublicIP, strconv.Itoa(int(p.StoragePort))) + path
}

// post sends a node-to-node request with a JSON body and returns the
// status and body.
func (n *Node) post(ctx context.Context, p *ledger.Node, path string, body []byte) (int, []byte, error) {
	return n.postType(ctx, p, path, "application/json", false, body)
}

// postBinary is post with a binary body (batches of stores), on the
// peer's HTTP/1.1 client, which its fast path serves.
func (n *Node) postBinary(ctx context.Context, p *ledger.Node, path string, body []byte) (int, []byte, error) {
	return n.postType(ctx, p, path, "application/octet-stream", true, body)
}

func (n *Node) postType(ctx context.Context, p *ledger.Node, path, contentType string, h1 bool, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, peerURL(p, path), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := n.peers.client(p.Ed25519, h1).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxPeerBody+1))
	if err != nil {
		return 0, nil, err
	}
	if len(out) > maxPeerBody {
		return 0, nil, errors.New("peer response too large")
	}
	return resp.StatusCode, out, nil
}

// postJSON sends in as JSON and decodes a 200 answer into out.
func (n *Node) postJSON(ctx context.Context, p *ledger.Node, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	st, resp, err := n.post(ctx, p, path, body)
	if err != nil {
		return err
	}
	if st != http.StatusOK {
		return fmt.Errorf("peer answered %d: %.*s", st, maxPeerRespErr, resp)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp, out); err != nil {
		return fmt.Errorf("peer answer: %w", err)
	}
	return nil
}

// peerFunc handles a node-to-node request from the node with key peer.
type peerFunc func(ctx context.Context, peer key.NodePublic, body []byte) (int, any, error)

// peerHandler authenticates a node-to-node request (TLS client
// certificate key listed in the ledger view), applies the per-peer rate
// limit, the per-peer bound of slots requests in progress (503 beyond) and
// the body limit, and runs f.
func (n *Node) peerHandler(name string, slots int, f peerFunc) http.HandlerFunc {
	return n.peerEndpoint(name, newPeerSlots(slots), true, n.jsonPeerFunc(f))
}

// jsonPeerFunc adapts f to peerEndpoint: JSON or plain-text answers.
func (n *Node) jsonPeerFunc(f peerFunc) func(ctx context.Context, w http.ResponseWriter, peer key.NodePublic, body []byte) int {
	return func(ctx context.Context, w http.ResponseWriter, peer key.NodePublic, body []byte) int {
		st, val, err := f(ctx, peer, body)
		st, out, isJSON := encodeReply(st, val, err)
		writeReply(w, st, out, isJSON)
		return st
	}
}

// peerEndpoint is peerHandler for a handler that writes its own answer
// and returns its status; rateLimit applies the per-peer request bucket
// (endpoints that meter themselves otherwise go without).
func (n *Node) peerEndpoint(name string, inProgress *peerSlots, rateLimit bool, f func(ctx context.Context, w http.ResponseWriter, peer key.NodePublic, body []byte) int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		peer, release, no := n.admitPeer(connTLS(r), name, inProgress, rateLimit, start)
		if no != nil {
			http.Error(w, no.msg, no.status)
			return
		}
		defer release()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPeerBody))
		if err != nil {
			n.met.request(name, http.StatusRequestEntityTooLarge, time.Since(start).Seconds())
			http.Error(w, "Request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), n.cfg.Limits.RequestTimeout.D())
		defer cancel()
		st := f(ctx, w, peer, body)
		n.met.request(name, st, time.Since(start).Seconds())
	}
}

// admitPeer admits a node-to-node request on a connection with TLS state
// st: the client certificate's key must be a node of the ledger view
// (403), within its request rate when rateLimit (429), with a free slot
// in inProgress (503). It returns the peer's key and a release func.
func (n *Node) admitPeer(st *tls.ConnectionState, name string, inProgress *peerSlots, rateLimit bool, start time.Time) (peer key.NodePublic, release func(), no *refusal) {
	var ok bool
	if st != nil {
		peer, ok = peerKeyOf(st.PeerCertificates)
	}
	if !ok || n.mem.Load().byKey[peer] == nil {
		return peer, nil, n.refuse(name, http.StatusForbidden, "not a service node", start)
	}
	if rateLimit && !n.peerRL.allow(peer, n.now()) {
		n.met.rateLimited.WithLabelValues("peer").Inc()
		return peer, nil, n.refuse(name, http.StatusTooManyRequests, "Too many requests", start)
	}
	if !inProgress.acquire(peer) {
		n.met.rateLimited.WithLabelValues("peer_busy").Inc()
		return peer, nil, n.refuse(name, http.StatusServiceUnavailable, "Too many requests in progress", start)
	}
	return peer, func() { inProgress.release(peer) }, nil
}

// forwardStoresHandler serves pathForwardStores: binary in and out, plain
// text for a refused batch. Stores are metered by fwdLimit, per store, in
// handleForwardStores. (Senders use HTTP/1.1, which the fast path serves:
// fastServer.serveForward; this serves HTTP/2 and what the fast path
// hands over.)
func (n *Node) forwardStoresHandler() http.HandlerFunc {
	return n.peerEndpoint("peer_forward_stores", n.fwdSlots, false, func(ctx context.Context, w http.ResponseWriter, peer key.NodePublic, body []byte) int {
		st, out := n.forwardStores(ctx, peer, body)
		if st == http.StatusOK {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.Itoa(len(out)))
			w.WriteHeader(st)
			_, _ = w.Write(out)
		} else {
			writeReply(w, st, out, false)
		}
		return st
	})
}

// writeReply writes a status and a JSON or plain-text body.
func writeReply(w http.ResponseWriter, status int, body []byte, isJSON bool) {
	if isJSON {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// ---- forwarding of recursive requests ----

// forwardEnvelope carries a client's recursive request to a swarm peer,
// with the operation time the entry node assigned.
type forwardEnvelope struct {
	Op     int64           `json:"op"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// maxOpSkew bounds how far a forwarded operation time may be from our
// clock: a peer with a wild clock must not pin rows far in the future.
const maxOpSkew = 5 * time.Minute

// lateForwardMargin is how much later than the forward timeout a
// forwarded change other than a store may still arrive: the clocks of two
// members may differ by that much. A change that arrives later (a
// connection that stalled, then delivered what it held, as TCP does when a
// partition heals) is refused: its entry node already reported this member
// timed out, and the change, applied now at its old operation time, would
// also act on rows that arrived since. A delete_all would delete messages
// stored after it within its mtime quantum, and other members would then
// take those deletes from this one. What the members that answered did
// reaches this node by anti-entropy, row by row. A late store only adds
// what its owner asked for, so it is still applied.
const lateForwardMargin = 10 * time.Second

func (n *Node) handleForward(ctx context.Context, peer key.NodePublic, body []byte) (int, any, error) {
	m := n.mem.Load()
	if !m.isPeer(peer) {
		return 0, nil, storagerpc.Forbidden("not a member of this swarm")
	}
	if !n.fwdLimit.allow(peer, 1, n.now()) {
		n.met.rateLimited.WithLabelValues("peer_stores").Inc()
		return 0, nil, storagerpc.TooManyRequests()
	}
	var env forwardEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return 0, nil, storagerpc.BadRequest("invalid forward envelope")
	}
	if !isRecursive(env.Method) {
		return 0, nil, storagerpc.BadRequest("invalid request: received invalid forwarded non-forwardable request")
	}
	req, err := storagerpc.ParseParams(env.Method, env.Params)
	if err != nil {
		return 0, nil, err
	}
	now := n.now()
	age := time.Duration(now.UnixMilli()-env.Op) * time.Millisecond
	if age > maxOpSkew || age < -maxOpSkew {
		return 0, nil, storagerpc.BadRequest("operation time too far from our clock")
	}
	if env.Method != storagerpc.MethodStore && age > n.cfg.Limits.ForwardTimeout.D()+lateForwardMargin {
		n.met.rateLimited.WithLabelValues("late_forward").Inc()
		return 0, nil, storagerpc.BadRequest("forwarded operation arrived after the entry node's timeout")
	}
	n.met.replLag.Observe(max(0, age.Seconds()))
	return n.dispatch(ctx, &call{now: now, op: env.Op, fwd: true, mem: m}, req)
}

func isRecursive(method string) bool {
	switch method {
	case storagerpc.MethodStore, storagerpc.MethodDelete, storagerpc.MethodDeleteAll, storagerpc.MethodDeleteBefore,
		storagerpc.MethodExpire, storagerpc.MethodExpireAll, storagerpc.MethodRevokeSubaccount, storagerpc.MethodUnrevokeSubaccount:
		return true
	}
	return false
}

// recursive executes a recursive request. For a forwarded copy it applies
// it locally and returns this node's entry as direct. For a client
// request it forwards the request to every swarm peer, applies it locally
// meanwhile, and collects every member's entry under "swarm".
func recursive[T any](ctx context.Context, n *Node, c *call, req storagerpc.Request,
	local func() (*T, *storagerpc.NodeFailure)) (*storagerpc.SwarmResponse[T], any) {
	if c.fwd {
		return recursiveWith(ctx, n, c, local, nil)
	}
	var body []byte
	var err error
	if len(c.mem.peers()) > 0 {
		var params []byte
		if params, err = req.MarshalJSON(); err == nil {
			body, err = json.Marshal(forwardEnvelope{Op: c.op, Method: req.Method(), Params: params})
		}
	}
	return recursiveWith(ctx, n, c, local, func(ctx context.Context, p *ledger.Node) storagerpc.NodeResult[T] {
		if err != nil {
			return storagerpc.NodeResult[T]{Failure: &storagerpc.NodeFailure{Failed: true, Reason: "could not encode request"}}
		}
		return forward[T](ctx, n, p, body)
	})
}

// recursiveWith is recursive with send forwarding the request to one peer.
func recursiveWith[T any](ctx context.Context, n *Node, c *call, local func() (*T, *storagerpc.NodeFailure),
	send func(ctx context.Context, p *ledger.Node) storagerpc.NodeResult[T]) (*storagerpc.SwarmResponse[T], any) {
	if c.fwd {
		ok, fail := local()
		return nil, storagerpc.NodeResult[T]{OK: ok, Failure: fail}
	}
	peers := c.mem.peers()
	results := make([]storagerpc.NodeResult[T], len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Go(func() { results[i] = send(ctx, p) })
	}
	ok, fail := local()
	wg.Wait()
	resp := &storagerpc.SwarmResponse[T]{Swarm: make(map[string]storagerpc.NodeResult[T], len(peers)+1), NodeTime: n.nodeTime(c.now)}
	resp.Swarm[n.me.String()] = storagerpc.NodeResult[T]{OK: ok, Failure: fail}
	for i, p := range peers {
		resp.Swarm[p.Ed25519.String()] = results[i]
	}
	return resp, nil
}

// forward sends one forwarded copy and turns the answer into the peer's
// entry, with Session's failure keys.
func forward[T any](ctx context.Context, n *Node, p *ledger.Node, body []byte) storagerpc.NodeResult[T] {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Limits.ForwardTimeout.D())
	defer cancel()
	fail := func(f storagerpc.NodeFailure, result string) storagerpc.NodeResult[T] {
		n.met.forwards.WithLabelValues(result).Inc()
		f.Failed = true
		return storagerpc.NodeResult[T]{Failure: &f}
	}
	st, out, err := n.post(ctx, p, pathForward, body)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fail(storagerpc.NodeFailure{Timeout: true}, "timeout")
		}
		return fail(storagerpc.NodeFailure{Reason: "peer unreachable"}, "failed")
	}
	if st != http.StatusOK {
		if len(out) > maxPeerRespErr {
			out = out[:maxPeerRespErr]
		}
		return fail(storagerpc.NodeFailure{Code: st, Reason: string(out)}, "failed")
	}
	var r storagerpc.NodeResult[T]
	if err := json.Unmarshal(out, &r); err != nil || (r.OK == nil && r.Failure == nil) {
		return fail(storagerpc.NodeFailure{BadPeerResponse: true}, "failed")
	}
	if r.Failure != nil {
		n.met.forwards.WithLabelValues("failed").Inc()
		r.Failure.Failed = true
		return r
	}
	n.met.forwards.WithLabelValues("ok").Inc()
	return r
}
