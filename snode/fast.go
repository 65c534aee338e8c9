package snode

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"sotto.dev/internal/h1"
)

// The node's HTTPS listener has a fast path for the request a client
// makes most, POST /storage_rpc/v1 (docs/snode.md, "The fast path").
// net/http spends about as much CPU on a store's request and answer as
// the node's own handling without the signature; the fast path reads
// the head (internal/h1), the body by its Content-Length, and writes the
// status line, three headers and the answer in one write. Any other
// request, and every later request on its connection, goes to net/http
// (n.srv) through fastServer.handoff with the bytes not yet consumed, so
// that net/http parses it from its first byte as if it had accepted the
// connection itself. HTTP/2 connections go to net/http before any byte.
//
// The fast path keeps what net/http and handleStorageRPC enforce: the
// header timeout, the read timeout from the request's first byte, the
// write and idle timeouts, the per-address request limits and rate, the
// node's concurrent request slots, the request timeout, the body limit
// (a larger Content-Length goes to net/http, which answers 413) and the
// metrics; X-Loki-Long-Poll goes to net/http, which answers 410.

// fastBuf is the size of a fast connection's read buffer: a request head
// that does not fit goes to net/http, which allows up to MaxHeaderBytes.
const fastBuf = 4 << 10

// fastServer serves the node's HTTPS connections.
type fastServer struct {
	n       *Node
	rules   h1.Rules
	handoff *handoffListener

	mu      sync.Mutex
	conns   map[*fastConn]struct{}
	closing bool
	active  sync.WaitGroup

	date atomic.Pointer[dateLine]
}

// The fast path's routes (indexes of fastServer.rules.Routes).
const (
	routeRPC           = iota // a client's storage RPC
	routeForwardStores        // a swarm peer's batch of stores
)

// fastConn is a connection on the fast path.
type fastConn struct {
	c    *tls.Conn
	br   *bufio.Reader
	idle bool // waiting for a request (fastServer.mu)
}

func newFastServer(n *Node, addr net.Addr) *fastServer {
	return &fastServer{
		n: n,
		rules: h1.Rules{
			Method: http.MethodPost,
			Routes: []h1.Route{
				routeRPC:           {Path: "/storage_rpc/v1", MaxBody: n.cfg.Limits.MaxBodyBytes},
				routeForwardStores: {Path: pathForwardStores, MaxBody: maxPeerBody},
			},
			Refuse: []string{"x-loki-long-poll"},
		},
		handoff: newHandoffListener(addr),
		conns:   make(map[*fastConn]struct{}),
	}
}

// serve accepts TLS connections from l until it is closed. Like
// net/http, it waits and tries again after any other failure (no file
// descriptors left, a connection reset before it was accepted): a node
// must not stop serving for a moment's shortage.
func (s *fastServer) serve(l net.Listener) error {
	var wait time.Duration
	for {
		c, err := l.Accept()
		if errors.Is(err, net.ErrClosed) {
			return err
		}
		if err != nil {
			wait = min(max(2*wait, 5*time.Millisecond), time.Second)
			s.n.log.Warn("accept failed; trying again", "err", err, "in", wait)
			time.Sleep(wait)
			continue
		}
		wait = 0
		go s.serveConn(c.(*tls.Conn))
	}
}

// serveConn serves one connection until it closes or goes to net/http.
func (s *fastServer) serveConn(c *tls.Conn) {
	lim := s.n.cfg.Limits
	if !s.handshake(c) {
		return
	}
	if c.ConnectionState().NegotiatedProtocol == "h2" {
		_ = c.SetDeadline(time.Time{})
		s.give(c, nil)
		return
	}
	fc := &fastConn{c: c, br: bufio.NewReaderSize(c, fastBuf)}
	if !s.track(fc) {
		_ = c.Close()
		return
	}
	defer s.untrack(fc)
	ip, ipOK := addrOf(c.RemoteAddr().String())
	first := true
	for {
		// Wait for the next request: the idle timeout (the header
		// timeout for the first, whose handshake already counted).
		if !first {
			var dl time.Time
			if d := idleTimeout(lim.IdleTimeout.D(), lim.ReadTimeout.D()); d > 0 {
				dl = time.Now().Add(d)
			}
			_ = c.SetReadDeadline(dl)
		}
		if _, err := fc.br.Peek(1); err != nil {
			_ = c.Close()
			return
		}
		start := time.Now()
		if !first {
			_ = c.SetReadDeadline(start.Add(headerTimeout))
		}
		first = false
		h, res := s.readHead(fc.br)
		if res == h1.More { // the connection failed or timed out in the head
			_ = c.Close()
			return
		}
		if res == h1.Other {
			// net/http answers a body over the limit with 413, a long
			// poll with 410, and so on.
			_ = c.SetDeadline(time.Time{})
			s.give(c, fc.br)
			return
		}
		// A connection counts as serving once it holds a whole head:
		// shutting down waits for it, and closes one still sending its
		// head (which net/http would wait for).
		if !s.activate(fc) {
			_ = c.Close()
			return
		}
		ok := s.serveRequest(fc, h, start, ip, ipOK)
		if !s.done(fc) || !ok {
			_ = c.Close()
			return
		}
	}
}

// handshake runs c's TLS handshake as net/http does: bounded by the
// shortest of the header, read and write timeouts; a client that spoke
// plain HTTP gets net/http's 400; a failure is logged through the
// server's ErrorLog, which takes the address out (redact.go). It closes
// c on failure.
func (s *fastServer) handshake(c *tls.Conn) bool {
	lim := s.n.cfg.Limits
	d := headerTimeout
	for _, t := range []time.Duration{lim.ReadTimeout.D(), lim.WriteTimeout.D()} {
		if t > 0 && t < d {
			d = t
		}
	}
	_ = c.SetDeadline(time.Now().Add(d))
	err := c.Handshake()
	if err == nil {
		_ = c.SetWriteDeadline(time.Time{})
		return true
	}
	reason := err.Error()
	var re tls.RecordHeaderError
	if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
		_, _ = io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		reason = "client sent an HTTP request to an HTTPS server"
	}
	s.n.srv.ErrorLog.Printf("http: TLS handshake error from %s: %v", c.RemoteAddr(), reason)
	_ = c.Close()
	return false
}

// looksLikeHTTP reports whether the first bytes of a connection are those
// of an HTTP request (net/http's test for a client speaking plain HTTP).
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// headerTimeout is net/http's ReadHeaderTimeout for the node (newServers).
const headerTimeout = 10 * time.Second

// idleTimeout is how long a kept-alive connection may wait for its next
// request, 0 for no limit: net/http's rule (IdleTimeout, else
// ReadTimeout).
func idleTimeout(idle, read time.Duration) time.Duration {
	if idle > 0 {
		return idle
	}
	return read
}

// readHead reads until br holds a whole head, or one that cannot be fast.
// More means the connection failed first.
func (s *fastServer) readHead(br *bufio.Reader) (h1.Head, h1.Result) {
	for {
		b, _ := br.Peek(br.Buffered())
		h, res := s.rules.Parse(b)
		if res != h1.More {
			return h, res
		}
		if br.Buffered() == br.Size() {
			return h1.Head{}, h1.Other // a head larger than fastBuf
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			return h1.Head{}, h1.More
		}
	}
}

// serveRequest answers one fast request whose head br still holds; false
// when the connection must close.
func (s *fastServer) serveRequest(fc *fastConn, h h1.Head, start time.Time, ip netip.Addr, ipOK bool) bool {
	if _, err := fc.br.Discard(h.Len); err != nil {
		return false
	}
	if rt := s.n.cfg.Limits.ReadTimeout.D(); rt > 0 {
		_ = fc.c.SetReadDeadline(start.Add(rt))
	}
	if h.Route == routeForwardStores {
		return s.serveForward(fc, h, start)
	}
	return s.serveRPC(fc, h, start, ip, ipOK)
}

// serveRPC is handleStorageRPC on the fast path.
func (s *fastServer) serveRPC(fc *fastConn, h h1.Head, start time.Time, ip netip.Addr, ipOK bool) bool {
	n, lim := s.n, s.n.cfg.Limits
	const name = "storage_rpc"
	// Admission comes before the body, as in handleStorageRPC: a request
	// being read counts against its address's limit.
	release, no := n.admitClient(ip, ipOK, name, start)
	if no != nil {
		return s.refuse(fc, h, no)
	}
	defer release()
	body, ok := s.readBody(fc, h, name, start)
	if !ok {
		return false
	}
	slot, no := n.takeSlot(name, start)
	if no != nil {
		return s.reply(fc.c, no.status, []byte(no.msg), ctypeText)
	}
	defer slot()
	ctx, cancel := context.WithTimeout(context.Background(), lim.RequestTimeout.D())
	method, st, out, isJSON := n.handleRPC(ctx, body)
	cancel()
	n.met.request(method, st, time.Since(start).Seconds())
	ctype := ctypeText
	if isJSON {
		ctype = ctypeJSON
	}
	return s.reply(fc.c, st, out, ctype)
}

// serveForward is forwardStoresHandler on the fast path: the sender must
// be a node of the ledger (its TLS client certificate), with no more
// than fwdPeerSlots batches in progress.
func (s *fastServer) serveForward(fc *fastConn, h h1.Head, start time.Time) bool {
	n := s.n
	const name = "peer_forward_stores"
	cs := fc.c.ConnectionState()
	peer, release, no := n.admitPeer(&cs, name, n.fwdSlots, false, start)
	if no != nil && no.status == http.StatusForbidden {
		// Not a node: no reason to read on.
		s.reply(fc.c, no.status, []byte(no.msg), ctypeText)
		return false
	}
	if no != nil {
		return s.refuse(fc, h, no)
	}
	defer release()
	body, ok := s.readBody(fc, h, name, start)
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Limits.RequestTimeout.D())
	st, out := n.forwardStores(ctx, peer, body)
	cancel()
	n.met.request(name, st, time.Since(start).Seconds())
	ctype := ctypeText
	if st == http.StatusOK {
		ctype = ctypeBinary
	}
	return s.reply(fc.c, st, out, ctype)
}

// readBody reads a fast request's body; on failure it answers 400 and
// the connection must close.
func (s *fastServer) readBody(fc *fastConn, h h1.Head, name string, start time.Time) ([]byte, bool) {
	body := make([]byte, h.ContentLength)
	if _, err := io.ReadFull(fc.br, body); err != nil {
		s.n.met.request(name, http.StatusBadRequest, time.Since(start).Seconds())
		s.reply(fc.c, http.StatusBadRequest, []byte("could not read request body"), ctypeText)
		return nil, false
	}
	return body, true
}

// refuse answers a request whose body is still unread. It skips the body
// to keep the connection, as net/http does for a body a handler left
// unread, up to the same 256 KiB; beyond that the connection closes.
func (s *fastServer) refuse(fc *fastConn, h h1.Head, no *refusal) bool {
	if h.ContentLength > 256<<10 {
		s.reply(fc.c, no.status, []byte(no.msg), ctypeText)
		return false
	}
	if _, err := fc.br.Discard(int(h.ContentLength)); err != nil {
		return false
	}
	return s.reply(fc.c, no.status, []byte(no.msg), ctypeText)
}

// Content types of the fast path's answers.
const (
	ctypeText   = "text/plain; charset=utf-8"
	ctypeJSON   = "application/json"
	ctypeBinary = "application/octet-stream"
)

// reply writes a whole answer in one write; false if that failed.
func (s *fastServer) reply(c *tls.Conn, status int, body []byte, ctype string) bool {
	if wt := s.n.cfg.Limits.WriteTimeout.D(); wt > 0 {
		_ = c.SetWriteDeadline(time.Now().Add(wt))
	}
	b := make([]byte, 0, 128+len(body))
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, ctype...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\nDate: "...)
	b = append(b, s.now()...)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	_, err := c.Write(b)
	return err == nil
}

// dateLine is a Date header's value, made once a second.
type dateLine struct {
	sec  int64
	text string
}

// now returns the Date header for this second (RFC 9110 §6.6.1).
func (s *fastServer) now() string {
	t := time.Now()
	if d := s.date.Load(); d != nil && d.sec == t.Unix() {
		return d.text
	}
	d := &dateLine{sec: t.Unix(), text: t.UTC().Format(http.TimeFormat)}
	s.date.Store(d)
	return d.text
}

// give hands c to net/http; br holds the bytes already read from it.
func (s *fastServer) give(c *tls.Conn, br *bufio.Reader) {
	var hc net.Conn = c
	if br != nil {
		hc = &readConn{Conn: c, r: br}
	}
	if !s.handoff.push(hc) {
		_ = c.Close()
	}
}

// track adds fc to the open connections; false once the server closes.
func (s *fastServer) track(fc *fastConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	fc.idle = true
	s.conns[fc] = struct{}{}
	return true
}

func (s *fastServer) untrack(fc *fastConn) {
	s.mu.Lock()
	delete(s.conns, fc)
	s.mu.Unlock()
}

// activate marks fc as serving a request; false once the server closes.
func (s *fastServer) activate(fc *fastConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	fc.idle = false
	s.active.Add(1)
	return true
}

// done marks fc as idle again; false if the server is closing (fc must
// then close: shutdown closed the connections idle when it began).
func (s *fastServer) done(fc *fastConn) bool {
	s.mu.Lock()
	fc.idle = true
	closing := s.closing
	s.mu.Unlock()
	s.active.Done()
	return !closing
}

// shutdown closes the idle connections, waits until ctx for the requests
// being served, then closes the rest. The listener is closed by the caller.
func (s *fastServer) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for fc := range s.conns {
		if fc.idle {
			_ = fc.c.Close()
		}
	}
	s.mu.Unlock()
	waited := make(chan struct{})
	go func() { s.active.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for fc := range s.conns {
			_ = fc.c.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// readConn is a connection whose first bytes were read into r.
type readConn struct {
	*tls.Conn
	r *bufio.Reader
}

func (c *readConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// handoffListener is the listener net/http serves: the connections the
// fast path gives it.
type handoffListener struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// push gives c to net/http; false if the listener is closed.
func (l *handoffListener) push(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// connTLS returns the TLS state of r's connection: r.TLS, or for a
// connection the fast path gave net/http (which then sees no *tls.Conn),
// the state newServers' ConnContext kept.
func connTLS(r *http.Request) *tls.ConnectionState {
	if r.TLS != nil {
		return r.TLS
	}
	if st, ok := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok {
		return st
	}
	return nil
}

type tlsStateKey struct{}

// connContext keeps the TLS state of a connection the fast path gave
// net/http where connTLS finds it.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if rc, ok := c.(*readConn); ok {
		st := rc.ConnectionState()
		return context.WithValue(ctx, tlsStateKey{}, &st)
	}
	return ctx
}
