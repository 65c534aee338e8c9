package snode

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"sotto.dev/storagerpc"
)

func (n *Node) routes() {
	n.mux.HandleFunc("POST /storage_rpc/v1", n.handleStorageRPC)
	n.mux.HandleFunc("POST /json_rpc", n.handleJSONRPC)
	n.mux.HandleFunc("POST /ping_test/v1", n.handlePing)
	n.mux.HandleFunc("GET /get_stats/v1", func(w http.ResponseWriter, _ *http.Request) {
		writeReply(w, http.StatusOK, []byte(`{"version":"`+versionString()+`"}`), true)
	})
	n.mux.HandleFunc("POST "+pathForward, n.peerEndpoint("peer_forward", newPeerSlots(peerForwardSlots), false, n.jsonPeerFunc(n.handleForward)))
	n.mux.HandleFunc("POST "+pathForwardStores, n.forwardStoresHandler())
	n.mux.HandleFunc("POST "+pathAEBuckets, n.peerHandler("peer_ae_buckets", peerAESlots, n.handleAEBuckets))
	n.mux.HandleFunc("POST "+pathAEHeaders, n.peerHandler("peer_ae_headers", peerAESlots, n.handleAEHeaders))
	n.mux.HandleFunc("POST "+pathAEFetch, n.peerHandler("peer_ae_fetch", peerAESlots, n.handleAEFetch))
	n.mux.HandleFunc("POST "+pathAEPush, n.peerHandler("peer_ae_push", peerAESlots, n.handleAEPush))
	n.mux.HandleFunc("POST "+pathHandoff, n.peerHandler("peer_handoff", peerAESlots, n.handleHandoff))
	n.mux.HandleFunc("POST "+pathStorageTest, n.peerHandler("peer_storage_test", peerTestSlots, n.handleStorageTest))
	n.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeReply(w, http.StatusNotFound, []byte(r.Method+" "+r.URL.Path+" Not Found"), false)
	})
}

func versionString() string {
	b := make([]byte, 0, 12)
	for i, v := range storageVersion {
		if i > 0 {
			b = append(b, '.')
		}
		b = appendInt(b, v)
	}
	return string(b)
}

func appendInt(b []byte, v int) []byte {
	if v >= 10 {
		b = appendInt(b, v/10)
	}
	return append(b, byte('0'+v%10))
}

// clientAddr is the IPv4 address of a request's remote end; false for
// anything else (Session serves IPv4 clients only).
func clientAddr(r *http.Request) (netip.Addr, bool) { return addrOf(r.RemoteAddr) }

// addrOf is the IPv4 address of a remote end ("host:port").
func addrOf(remote string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		host, _, herr := net.SplitHostPort(remote)
		if herr != nil {
			return netip.Addr{}, false
		}
		a, aerr := netip.ParseAddr(host)
		if aerr != nil {
			return netip.Addr{}, false
		}
		ap = netip.AddrPortFrom(a, 0)
	}
	a := ap.Addr().Unmap()
	return a, a.Is4()
}

// refusal is a request turned away before its handler: the status and
// Session's text, already counted in the metrics. net/http handlers
// write it with write; the fast path writes its own answer.
type refusal struct {
	status int
	msg    string
}

func (no *refusal) write(w http.ResponseWriter) {
	writeReply(w, no.status, []byte(no.msg), false)
}

// refuse counts a refused request of the endpoint name.
func (n *Node) refuse(name string, status int, msg string, start time.Time) *refusal {
	n.met.request(name, status, time.Since(start).Seconds())
	return &refusal{status, msg}
}

// admitClient applies the per-IP rate limit and the per-IP bound on
// requests in flight to a client at ip (ok: an IPv4 address, else 400);
// it returns a release func when admitted. The node-wide slot is taken
// later, by takeSlot, once the body has been read: a slow sender holds
// its own address's places, never the node's.
func (n *Node) admitClient(ip netip.Addr, ok bool, name string, start time.Time) (release func(), no *refusal) {
	if !ok {
		return nil, n.refuse(name, http.StatusBadRequest, "Bad Request", start)
	}
	if !n.clients.allow(ip, n.now()) || !n.perIP.requests.Acquire(ip) {
		// The address is not logged: the counter is the record.
		n.log.Debug("rate limiting a client")
		n.met.rateLimited.WithLabelValues("client").Inc()
		st, msg := storagerpc.StatusOf(storagerpc.TooManyRequests())
		return nil, n.refuse(name, st, msg, start)
	}
	return func() { n.perIP.requests.Release(ip) }, nil
}

// takeSlot takes one of the node's MaxConcurrentRequests slots, or
// refuses with Session's 503.
func (n *Node) takeSlot(name string, start time.Time) (release func(), no *refusal) {
	if n.sem == nil {
		return func() {}, nil
	}
	select {
	case n.sem <- struct{}{}:
		return func() { <-n.sem }, nil
	default:
		n.met.rateLimited.WithLabelValues("busy").Inc()
		return nil, n.refuse(name, http.StatusServiceUnavailable, "Service node is busy", start)
	}
}

// preallocBody is the largest announced body read into a buffer allocated
// up front.
const preallocBody = 64 << 10

// readBody reads a request body up to the configured limit; false after
// writing Session's 413.
func (n *Node) readBody(w http.ResponseWriter, r *http.Request, name string, start time.Time) ([]byte, bool) {
	limit := n.cfg.Limits.MaxBodyBytes
	if r.ContentLength > limit {
		n.tooLarge(w, name, start)
		return nil, false
	}
	var body []byte
	var err error
	if r.ContentLength > 0 && r.ContentLength <= preallocBody {
		// The usual case: read into a buffer of the announced size
		// rather than growing one (io.ReadAll starts at 512 bytes).
		// Larger bodies grow as they arrive, so that announcing a size
		// costs a client nothing it does not send.
		body = make([]byte, r.ContentLength)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			n.tooLarge(w, name, start)
		} else {
			n.met.request(name, http.StatusBadRequest, time.Since(start).Seconds())
			writeReply(w, http.StatusBadRequest, []byte("could not read request body"), false)
		}
		return nil, false
	}
	return body, true
}

func (n *Node) tooLarge(w http.ResponseWriter, name string, start time.Time) {
	st, msg := storagerpc.StatusOf(storagerpc.PayloadTooLarge())
	n.met.request(name, st, time.Since(start).Seconds())
	writeReply(w, st, []byte(msg), false)
}

// handleStorageRPC serves POST /storage_rpc/v1.
func (n *Node) handleStorageRPC(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ip, ok := clientAddr(r)
	release, no := n.admitClient(ip, ok, "storage_rpc", start)
	if no != nil {
		no.write(w)
		return
	}
	defer release()
	if r.Header.Get("X-Loki-Long-Poll") != "" {
		st, msg := storagerpc.StatusOf(storagerpc.Gone("long polling is no longer supported, client upgrade required"))
		n.met.request("storage_rpc", st, time.Since(start).Seconds())
		writeReply(w, st, []byte(msg), false)
		return
	}
	body, ok := n.readBody(w, r, "storage_rpc", start)
	if !ok {
		return
	}
	slot, no := n.takeSlot("storage_rpc", start)
	if no != nil {
		no.write(w)
		return
	}
	defer slot()
	ctx, cancel := context.WithTimeout(r.Context(), n.cfg.Limits.RequestTimeout.D())
	defer cancel()
	method, st, out, isJSON := n.handleRPC(ctx, body)
	n.met.request(method, st, time.Since(start).Seconds())
	writeReply(w, st, out, isJSON)
}

// handlePing serves Session's reachability test: 200 with the node's key.
func (n *Node) handlePing(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Oxen-Snode-Pubkey", base64.StdEncoding.EncodeToString(n.me[:]))
	writeReply(w, http.StatusOK, nil, false)
}
