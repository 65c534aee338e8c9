package snode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"

	"sotto.dev/key"
	"sotto.dev/snode/relay"
)

// The onion relay (package snode/relay) is mounted on the node's HTTPS
// port. The node gives it its onion key, its ledger view as the directory
// of next hops, node-to-node TLS pinned to the next hop's ledger key, its
// rate limits, and HandleRPC for requests whose final hop is this node.

// Lookup implements relay.Directory: the address of a listed node.
func (n *Node) Lookup(node key.NodePublic) (netip.AddrPort, bool) {
	nd := n.mem.Load().byKey[node]
	if nd == nil {
		return netip.AddrPort{}, false
	}
	ip, err := netip.ParseAddr(nd.PublicIP)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, nd.StoragePort), true
}

// maxOnionResponse bounds what a next hop may answer (a 10 MB file plus
// onion overhead).
const maxOnionResponse = 16 << 20

// Forward implements relay.Forwarder over node-to-node TLS: the next
// hop's certificate key must be the key the layer names.
func (n *Node) Forward(ctx context.Context, next relay.Next, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+next.Addr.String()+relay.Path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := n.peers.client(next.Ed25519, false).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxOnionResponse+1))
	if err != nil {
		return 0, nil, err
	}
	if len(out) > maxOnionResponse {
		return 0, nil, errors.New("next hop answered too much")
	}
	return resp.StatusCode, out, nil
}

// onionLimiter applies the per-peer bucket to requests from listed nodes
// (inner hops) and the per-IP bucket to everyone else (clients at the
// guard). Session meters no onion requests at all.
type onionLimiter struct{ n *Node }

func (l onionLimiter) Allow(r *http.Request) bool {
	if st := connTLS(r); st != nil {
		if k, ok := peerKeyOf(st.PeerCertificates); ok && l.n.mem.Load().byKey[k] != nil {
			if !l.n.peerRL.allow(k, l.n.now()) {
				l.n.met.rateLimited.WithLabelValues("peer").Inc()
				return false
			}
			return true
		}
	}
	ip, ok := clientAddr(r)
	if !ok || !l.n.clients.allow(ip, l.n.now()) {
		l.n.met.rateLimited.WithLabelValues("client").Inc()
		return false
	}
	return true
}

// EnableOnionRelay builds the onion relay with the node's key, view, TLS
// and limits and mounts it at /onion_req/v2. Call it before Serve.
func (n *Node) EnableOnionRelay(cfg relay.Config) (*relay.Relay, error) {
	r, err := relay.New(cfg, relay.Deps{
		Logger:        n.log.With("component", "relay"),
		X25519Private: n.keys.X25519Private(),
		Directory:     n,
		Local:         n,
		Forwarder:     n,
		Limiter:       onionLimiter{n},
		Exempt:        n.IsNetworkNode,
	})
	if err != nil {
		return nil, fmt.Errorf("snode: onion relay: %w", err)
	}
	n.Mount(relay.Path, r)
	return r, nil
}
