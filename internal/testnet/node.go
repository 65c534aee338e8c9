package testnet

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"sotto.dev/key"
	"sotto.dev/ledger"
	"sotto.dev/snode"
	"sotto.dev/snode/relay"
)

// nodeProc is one service node running in this process: the storage
// server with the onion relay mounted on its HTTPS port.
type nodeProc struct {
	node *snode.Node
	fwd  *pinnedForwarder
}

// newNodeProc creates the node (binding its port) and mounts the relay
// unless the node already serves relay.Path itself.
func newNodeProc(cfg snode.Config, deps snode.Deps) (*nodeProc, error) {
	log, view := deps.Logger, deps.View
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n, err := snode.New(cfg, deps)
	if err != nil {
		return nil, err
	}
	p := &nodeProc{node: n}
	if !servesOnion(n.Handler()) {
		dial := deps.Dial
		if host, _, err := net.SplitHostPort(cfg.ListenAddr); dial == nil && err == nil {
			// From the node's own address, as snode dials its peers.
			if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() {
				dial = fromAddr(ip, cfg.Limits.ForwardTimeout.D())
			}
		}
		p.fwd = newPinnedForwarder(cfg.Limits.ForwardTimeout.D(), dial)
		r, err := relay.New(relay.Config{AllowPrivateServers: true}, relay.Deps{
			Logger:        log,
			X25519Private: n.Keys().X25519Private(),
			Directory:     newViewDirectory(view),
			Local:         n,
			Forwarder:     p.fwd,
			Exempt:        n.IsNetworkNode,
		})
		if err != nil {
			n.Close()
			return nil, err
		}
		n.Mount("POST "+relay.Path, r)
	}
	return p, nil
}

// serve runs the node until ctx ends.
func (p *nodeProc) serve(ctx context.Context) error {
	err := p.node.Serve(ctx)
	if p.fwd != nil {
		p.fwd.close()
	}
	return err
}

// servesOnion reports whether the node's handler already routes
// POST /onion_req/v2 somewhere other than its catch-all.
func servesOnion(h http.Handler) bool {
	mux, ok := h.(*http.ServeMux)
	if !ok {
		return true // not ours to extend
	}
	req, err := http.NewRequest(http.MethodPost, "https://node"+relay.Path, nil)
	if err != nil {
		return true
	}
	_, pattern := mux.Handler(req)
	return pattern != "" && pattern != "/"
}

// viewDirectory is the relay's Directory over a ledger view: the address
// of each active node, rebuilt when the snapshot changes.
type viewDirectory struct {
	view ledger.View

	mu   sync.Mutex
	snap *ledger.Snapshot
	byID map[key.NodePublic]netip.AddrPort
}

func newViewDirectory(v ledger.View) *viewDirectory { return &viewDirectory{view: v} }

// Lookup implements relay.Directory.
func (d *viewDirectory) Lookup(id key.NodePublic) (netip.AddrPort, bool) {
	snap := d.view.Current()
	d.mu.Lock()
	defer d.mu.Unlock()
	if snap != d.snap {
		d.byID = make(map[key.NodePublic]netip.AddrPort, len(snap.Nodes))
		for _, n := range snap.Nodes {
			ip, err := netip.ParseAddr(n.PublicIP)
			if err != nil || n.State != ledger.StateActive {
				continue
			}
			d.byID[n.Ed25519] = netip.AddrPortFrom(ip, n.StoragePort)
		}
		d.snap = snap
	}
	ap, ok := d.byID[id]
	return ap, ok
}

// pinnedForwarder forwards onion layers over HTTPS, checking that the next
// node's certificate key is the Ed25519 key the layer names (node
// certificates are self-signed with the ledger key).
type pinnedForwarder struct {
	timeout time.Duration
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)

	mu      sync.Mutex
	clients map[key.NodePublic]*http.Client
}

// newPinnedForwarder dials with dial, or from any address when nil.
func newPinnedForwarder(timeout time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *pinnedForwarder {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	if dial == nil {
		dial = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	}
	return &pinnedForwarder{timeout: timeout, dial: dial, clients: map[key.NodePublic]*http.Client{}}
}

// errPeerKey reports a next hop whose certificate is not its ledger key.
var errPeerKey = errors.New("testnet: next node's certificate key is not its ledger key")

func (f *pinnedForwarder) client(id key.NodePublic) *http.Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients[id]; ok {
		return c
	}
	tlsConf := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by the key pin
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errPeerKey
			}
			pk, ok := cs.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
			if !ok || len(pk) != ed25519.PublicKeySize || key.NodePublic(pk) != id {
				return errPeerKey
			}
			return nil
		},
	}
	dial := f.dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: f.timeout, KeepAlive: 30 * time.Second}).DialContext
	}
	c := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     tlsConf,
		ForceAttemptHTTP2:   true,
		DialContext:         dial,
		TLSHandshakeTimeout: f.timeout,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
		HTTP2:               snode.PeerHTTP2(),
	}}
	f.clients[id] = c
	return c
}

// Forward implements relay.Forwarder.
func (f *pinnedForwarder) Forward(ctx context.Context, next relay.Next, body []byte) (int, []byte, error) {
	fw := relay.HTTPSForwarder{Client: f.client(next.Ed25519)}
	return fw.Forward(ctx, next, body)
}

func (f *pinnedForwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, c := range f.clients {
		c.CloseIdleConnections()
		delete(f.clients, id)
	}
}
