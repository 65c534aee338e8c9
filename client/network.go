package client

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"sotto.dev/client/path"
	"sotto.dev/client/store"
	"sotto.dev/key"
	"sotto.dev/nodeproof"
	"sotto.dev/onion"
	"sotto.dev/storagerpc"
)

// RPCError is a storage RPC failure reported by the destination node
// (the request reached it): its HTTP status and body.
type RPCError struct {
	Method string
	Status int
	Body   string
}

func (e *RPCError) Error() string {
	body := e.Body
	if len(body) > 200 {
		body = body[:200] + "…"
	}
	return fmt.Sprintf("client: %s: node answered %d %s", e.Method, e.Status, body)
}

// UnreachableError means the network could not be reached at all: no
// seed answered, or no path could be built.
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return "client: network unreachable: " + e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return e.Err }

// seedFields are the node-list fields the client asks for
// (session-protocol.md §3.7).
var seedFields = map[string]bool{
	"public_ip": true, "storage_port": true, "pubkey_x25519": true, "pubkey_ed25519": true,
	"capabilities":     true, // does it relay the Sotto onion form (onion.SpeaksSotto)
	"operator_address": true, // who runs it (path.Node.Operator)
}

// network is the client's view of the service-node network and its way of
// talking to it: the node list (bootstrapped from the seeds, refreshed
// through onion requests), the onion path manager, the swarm cache and the
// network-time offset.
type network struct {
	net     *Network
	log     *slog.Logger
	clock   Clock
	timeout time.Duration
	length  int

	direct *http.Client // guards: TLS certificates are not checked (onion layers protect what is sent)
	seeds  *http.Client // seeds: each certificate must be the one the network file pins
	sender *path.Sender

	bootMu    sync.Mutex
	paths     atomic.Pointer[path.Manager] // nil until bootstrapped
	lastReset time.Time
	restored  bool // the kept node list was tried (bootMu)
	// unproven is the manager built on the kept node list until a request
	// through it succeeds or its list is replaced (network.do).
	unproven atomic.Pointer[keptManager]

	// keep, when set, is where the node list and the guards are kept
	// between runs (nodes.go); kept is what was last written there.
	keep   *store.Store
	keepMu sync.Mutex
	kept   keptState

	rndMu sync.Mutex
	rnd   *rand.Rand

	offset offsetEstimator

	// trust, when the network file has a ledger, is what node lists are
	// verified against (docs/nodeproof.md); trustErr says why a ledger
	// section cannot be used. proven is the height of the newest list
	// accepted: an older one is refused.
	trust    *nodeproof.Trust
	trustErr error
	proven   atomic.Uint64

	swarmMu  sync.Mutex
	swarms   map[key.SessionID]*swarmEntry
	swarmTTL time.Duration
	failures map[key.NodePublic]int // consecutive failures as a destination
}

type swarmEntry struct {
	nodes   []path.Node
	fetched time.Time
}

func newNetwork(cfg Config, nw *Network) *network {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	// Service nodes present self-signed certificates that Session clients
	// do not verify when they are guards (session-protocol.md §3.1, desktop
	// rejectUnauthorized false): what is sent through them is
	// onion-encrypted. Seeds are pinned (seedTransport).
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // see above
		DialContext:         dial,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
		// Every request to a guard shares one HTTP/2 connection: one
		// that stalls (a dead link that never resets) would hang each
		// of them until its timeout. A ping unanswered closes it, so the
		// retries dial afresh.
		HTTP2: &http.HTTP2Config{SendPingTimeout: h2PingAfter, PingTimeout: h2PingTimeout},
	}
	direct := &http.Client{Transport: tr}
	var trust *nodeproof.Trust
	var trustErr error
	if nw != nil && nw.Ledger != nil {
		trust, trustErr = nw.Ledger.trust()
	}
	n := &network{
		trust: trust, trustErr: trustErr,
		net: nw, log: cfg.Logger, clock: cfg.Clock, timeout: cfg.RequestTimeout, length: cfg.PathLength,
		direct:   direct,
		seeds:    &http.Client{Transport: seedTransport(nw, cfg.Dial)},
		sender:   &path.Sender{Client: direct},
		rnd:      rand.New(rand.NewChaCha8(seed)),
		swarms:   map[key.SessionID]*swarmEntry{},
		swarmTTL: cfg.SwarmCacheTTL,
		failures: map[key.NodePublic]int{},
	}
	n.sender.Known = n.knownNode
	return n
}

// knownNode is what the node list says about a node (its Sotto onion form).
func (n *network) knownNode(id key.NodePublic) (path.Node, bool) {
	if m := n.paths.Load(); m != nil {
		return m.Lookup(id)
	}
	return path.Node{}, false
}

func (n *network) close() {
	n.direct.CloseIdleConnections()
	n.seeds.CloseIdleConnections()
}

// The HTTP/2 health check of the client's connections to guards: a
// connection that received nothing for h2PingAfter is pinged, and closed
// when the ping is not answered within h2PingTimeout.
const (
	h2PingAfter   = 3 * time.Second
	h2PingTimeout = 2 * time.Second
)

// seedTransport talks to the network file's seeds, each only when it
// presents the certificate whose SHA-256 the file pins for its host:port
// (Session's seed pinning, session-protocol.md §3.7). The certificate's
// own signature and names mean nothing for a self-signed node certificate;
// the pin is the whole check.
func seedTransport(nw *Network, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	pins := map[string][32]byte{}
	if nw != nil {
		for _, s := range nw.SeedNodes {
			if u, err := url.Parse(s.URL); err == nil {
				pins[u.Host] = s.pin()
			}
		}
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if dial == nil {
		dial = dialer.DialContext
	}
	return &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			pin, ok := pins[addr]
			if !ok {
				return nil, fmt.Errorf("%s is not a seed of the network file", addr)
			}
			cfg := &tls.Config{
				MinVersion:         tls.VersionTLS12,
				InsecureSkipVerify: true, //nolint:gosec // replaced by the pin below
				VerifyConnection: func(cs tls.ConnectionState) error {
					if len(cs.PeerCertificates) == 0 {
						return &SeedPinError{Addr: addr, Want: pin}
					}
					if got := sha256.Sum256(cs.PeerCertificates[0].Raw); got != pin {
						return &SeedPinError{Addr: addr, Got: got, Want: pin}
					}
					return nil
				},
			}
			ctx, cancel := context.WithTimeout(ctx, dialer.Timeout) // bounds the handshake too, as tls.Dialer does
			defer cancel()
			raw, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(raw, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				raw.Close()
				return nil, err
			}
			return tc, nil
		},
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}
}

// SeedPinError reports a seed whose certificate is not the pinned one: an
// attacker on the path, or a seed whose key changed without a new network
// file.
type SeedPinError struct {
	Addr      string
	Got, Want [32]byte
}

func (e *SeedPinError) Error() string {
	if e.Got == ([32]byte{}) {
		return fmt.Sprintf("seed %s presented no certificate; the network file pins %x", e.Addr, e.Want)
	}
	return fmt.Sprintf("seed %s presented certificate SHA-256 %x, but the network file pins %x: refusing its node list", e.Addr, e.Got, e.Want)
}

// now is the network time: the local clock corrected by the offset seen
// in the nodes' answers.
func (n *network) now() time.Time { return n.clock.Now().Add(n.offset.get()) }

// manager returns the path manager, bootstrapping the node list from the
// seeds the first time.
func (n *network) manager(ctx context.Context) (*path.Manager, error) {
	if m := n.paths.Load(); m != nil {
		return m, nil
	}
	n.bootMu.Lock()
	defer n.bootMu.Unlock()
	if m := n.paths.Load(); m != nil {
		return m, nil
	}
	// The first bootstrap of a run starts from the node list and the
	// guards kept by the last one; the seeds are asked only when nothing
	// usable was kept, or after every node failed (resetPaths).
	var nodes []path.Node
	var fetched time.Time
	var guards []key.NodePublic
	if !n.restored {
		n.restored = true
		nodes, fetched, guards = n.loadKept(ctx)
	}
	kept := len(nodes) >= n.length+1
	if !kept {
		var err error
		if nodes, err = n.fromSeeds(ctx); err != nil {
			return nil, &UnreachableError{Err: err}
		}
		fetched = n.clock.Now()
		n.log.Debug("bootstrapped node list from a seed", "nodes", len(nodes))
	} else {
		n.log.Debug("node list kept from the last run", "nodes", len(nodes), "guards", len(guards))
	}
	// The manager refreshes the list when fewer than MinNodes nodes are
	// usable. Session's 12 suits its 2000-node network; a small devnet
	// would refresh before every request, so it scales with the list.
	minNodes := min(12, max(n.length+1, len(nodes)/2))
	m, err := path.New(path.Config{Length: n.length, AllowSameSubnet: n.net.AllowSameSubnet, MaxAttempts: 2, MinNodes: minNodes},
		path.Deps{Now: n.clock.Now, Refresh: n.refreshNodes, Logger: n.log})
	if err != nil {
		return nil, err
	}
	m.Restore(nodes, fetched, guards)
	if kept {
		n.unproven.Store(&keptManager{m: m, fetched: m.Fetched()})
	} else {
		n.unproven.Store(nil)
	}
	n.paths.Store(m)
	n.persist(ctx, m)
	return m, nil
}

// refreshNodes is the path manager's refresh hook: ask refreshSources
// nodes for the list, each through an onion path, and keep what they agree
// on (intersectNodeLists), drawing other nodes up to refreshTries times;
// the seeds only when that fails or no path can be built. It must not call
// Manager.Do (the manager holds its refresh lock).
//
// This is Session desktop's refresh (ts/session/apis/snode_api/snodePool.ts
// forceRefreshRandomSnodePool and tryToGetConsensusWithSnodesWithRetries:
// three random snodes, 1 + 3 tries, then a seed).
func (n *network) refreshNodes(ctx context.Context) ([]path.Node, error) {
	if m := n.paths.Load(); m != nil {
		if nodes := m.Nodes(); len(nodes) >= refreshSources {
			if paths := m.ReadyPaths(); len(paths) > 0 {
				var err error
				for range refreshTries {
					var list []path.Node
					if list, err = n.nodesFromSnodes(ctx, paths, n.pickSources(nodes)); err == nil {
						return list, nil
					}
					if ctx.Err() != nil {
						break
					}
				}
				n.log.Debug("node list from the nodes refused; asking the seeds", "error", err)
			}
		}
	}
	return n.fromSeeds(ctx)
}

// refreshSources is how many nodes a refresh asks for the node list, and
// refreshTries how many draws of them it makes before it asks a seed
// (Session desktop: 3, and 1 + 3 retries).
const (
	refreshSources = 3
	refreshTries   = 4
)

// pickSources draws refreshSources distinct nodes at random.
func (n *network) pickSources(nodes []path.Node) []path.Node {
	n.rndMu.Lock()
	defer n.rndMu.Unlock()
	idx := n.rnd.Perm(len(nodes))[:refreshSources]
	out := make([]path.Node, len(idx))
	for i, j := range idx {
		out[i] = nodes[j]
	}
	return out
}

// nodesFromSnodes asks each of dests for the node list, each through a
// random path that does not contain it, and returns what all the lists
// agree on (intersectNodeLists).
func (n *network) nodesFromSnodes(ctx context.Context, paths []path.Path, dests []path.Node) ([]path.Node, error) {
	if n.proving() {
		return n.provenFromSnodes(ctx, paths, dests)
	}
	lists := make([][]path.Node, len(dests))
	errs := make([]error, len(dests))
	var wg sync.WaitGroup
	for i, dest := range dests {
		p := n.pathAvoiding(paths, dest)
		wg.Go(func() {
			lists[i], errs[i] = n.nodesFromSnode(ctx, p, dest)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("node %s: %w", dest.Ed25519, errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return intersectNodeLists(lists)
}

// pathAvoiding draws one of paths, preferring one that does not pass
// through dest.
func (n *network) pathAvoiding(paths []path.Path, dest path.Node) path.Path {
	p := paths[n.intN(len(paths))]
	for range 8 {
		if !slices.ContainsFunc(p.Hops, func(h path.Node) bool { return h.Ed25519 == dest.Ed25519 }) {
			break
		}
		p = paths[n.intN(len(paths))]
	}
	return p
}

// minCommonNodes is how many nodes the refresh lists must share (Session
// desktop's rule, session-protocol.md §3.7); a network smaller than that
// must give the same list from every node.
const minCommonNodes = 24

// NodeListError reports node lists that a client refused.
type NodeListError struct{ Reason string }

func (e *NodeListError) Error() string { return "client: node list refused: " + e.Reason }

// intersectNodeLists returns the nodes (keys, address and port alike) that
// every list holds, in the first list's order. It refuses a result of
// fewer than minCommonNodes nodes unless the lists are all exactly that
// result, so that one lying node among those asked can neither add nodes
// of its own nor, on a small network, change a node's keys or address.
func intersectNodeLists(lists [][]path.Node) ([]path.Node, error) {
	if len(lists) == 0 {
		return nil, &NodeListError{Reason: "no lists"}
	}
	count := map[path.Node]int{}
	for _, l := range lists {
		seen := map[path.Node]bool{}
		for _, nd := range l {
			if !seen[nd] {
				seen[nd] = true
				count[nd]++
			}
		}
	}
	var common []path.Node
	for _, nd := range lists[0] {
		if count[nd] == len(lists) {
			common = append(common, nd)
			count[nd] = 0 // once, even if the first list repeats it
		}
	}
	if len(common) >= minCommonNodes {
		return common, nil
	}
	for _, l := range lists {
		if len(l) != len(common) {
			return nil, &NodeListError{Reason: fmt.Sprintf("the %d lists agree on only %d nodes (need %d, or all of a smaller network)", len(lists), len(common), minCommonNodes)}
		}
	}
	if len(common) == 0 {
		return nil, &NodeListError{Reason: "empty lists"}
	}
	return common, nil
}

func (n *network) nodesFromSnode(ctx context.Context, p path.Path, dest path.Node) ([]path.Node, error) {
	fields, _ := json.Marshal(map[string]any{"active_only": true, "fields": seedFields})
	payload, err := storagerpc.EncodeRequest(&storagerpc.OxendRequestParams{Endpoint: storagerpc.OxendGetServiceNodes, Params: fields})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	resp, err := n.sender.Snode(ctx, p, dest, payload)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, &RPCError{Method: "oxend_request", Status: resp.Status, Body: string(resp.Body)}
	}
	var out storagerpc.OxendResponse
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("client: oxend_request: %w", err)
	}
	return parseNodeStates(out.Result)
}

// fromSeeds asks the seeds, in random order, for the node list: a direct
// HTTPS POST /json_rpc get_n_service_nodes (session-protocol.md §3.7), or,
// when the network file has a ledger, sotto_service_nodes_proof, whose
// proof is verified.
func (n *network) fromSeeds(ctx context.Context) ([]path.Node, error) {
	seeds := slices.Clone(n.net.SeedNodes)
	n.rndMu.Lock()
	n.rnd.Shuffle(len(seeds), func(i, j int) { seeds[i], seeds[j] = seeds[j], seeds[i] })
	n.rndMu.Unlock()
	body, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": 0, "method": "get_n_service_nodes",
		"params": map[string]any{"active_only": true, "fields": seedFields},
	})
	if n.proving() {
		body, _ = json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 0, "method": nodeproof.Endpoint})
	}
	var errs []error
	for _, seed := range seeds {
		nodes, err := n.askSeed(ctx, seed.URL, body)
		if err == nil && len(nodes) == 0 {
			err = errors.New("empty node list")
		}
		if err == nil {
			return nodes, nil
		}
		errs = append(errs, fmt.Errorf("seed %s: %w", seed.URL, err))
		if ctx.Err() != nil {
			break
		}
	}
	// The first few failures say why; fifteen seeds refusing one forged
	// list the same way need not fill a screen.
	if len(errs) > maxSeedErrors {
		errs = append(errs[:maxSeedErrors], fmt.Errorf("and %d more seeds", len(errs)-maxSeedErrors))
	}
	return nil, errors.Join(errs...)
}

// maxSeedErrors is how many seeds' failures a bootstrap error names.
const maxSeedErrors = 3

func (n *network) askSeed(ctx context.Context, seed string, body []byte) ([]path.Node, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	url := trimSlash(seed) + "/json_rpc"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.seeds.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	if out.Error != nil {
		return nil, fmt.Errorf("json_rpc error: %s", out.Error.Message)
	}
	if n.proving() {
		list, height, err := n.verifyList(out.Result)
		if err != nil {
			return nil, err
		}
		return list, n.accept(height)
	}
	return parseNodeStates(out.Result)
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// parseNodeStates reads {"service_node_states": [...]} with the fields of
// seedFields; entries without a usable address or keys are dropped, as
// Session clients do.
func parseNodeStates(raw json.RawMessage) ([]path.Node, error) {
	var res struct {
		States []struct {
			PublicIP      string          `json:"public_ip"`
			StoragePort   int             `json:"storage_port"`
			PubkeyX25519  string          `json:"pubkey_x25519"`
			PubkeyEd25519 string          `json:"pubkey_ed25519"`
			Caps          json.RawMessage `json:"capabilities"`
			Operator      json.RawMessage `json:"operator_address"`
		} `json:"service_node_states"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("bad node list: %w", err)
	}
	var out []path.Node
	for _, s := range res.States {
		node, err := makeNode(s.PublicIP, s.StoragePort, s.PubkeyEd25519, s.PubkeyX25519)
		if err != nil {
			continue
		}
		node.Sotto = speaksSotto(s.Caps)
		node.Operator = operatorName(s.Operator)
		out = append(out, node)
	}
	return out, nil
}

// speaksSotto reads a node's get_service_nodes capabilities (a 32-bit
// integer, Sotto's field): does it relay the Sotto onion form. A missing
// field (Session's nodes, an old genesis file) or one in another shape
// means no (and does not spoil the rest of the list): the client then
// uses Session's form, which every node relays. The announced version is
// not read (docs/onion.md "Negotiation").
func speaksSotto(raw json.RawMessage) bool {
	var caps uint32
	if json.Unmarshal(raw, &caps) != nil {
		return false
	}
	return onion.SpeaksSotto(caps)
}

// maxOperatorName bounds an operator_address the client keeps: Sotto's are
// 64 hex digits, Oxen's wallet addresses about 100 characters.
const maxOperatorName = 128

// operatorName reads a node's get_service_nodes operator_address (a
// string: Sotto's ledger account in hex, or on Session's network oxend's
// operator wallet address) as path.Node.Operator; "" (unknown, which
// keeps no node apart) when it is missing, empty, not a string or too
// long.
func operatorName(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil || len(s) > maxOperatorName {
		return ""
	}
	return s
}

func makeNode(ip string, port int, ed, x string) (path.Node, error) {
	addr, err := netip.ParseAddr(ip)
	if err != nil || addr.IsUnspecified() {
		return path.Node{}, fmt.Errorf("bad ip %q", ip)
	}
	if port <= 0 || port > 65535 {
		return path.Node{}, fmt.Errorf("bad port %d", port)
	}
	edKey, err := key.ParseNodePublic(ed)
	if err != nil {
		return path.Node{}, err
	}
	xKey, err := key.ParseOnionPublic(x)
	if err != nil {
		return path.Node{}, err
	}
	return path.Node{Ed25519: edKey, X25519: xKey, IP: addr.Unmap(), Port: uint16(port)}, nil
}

func nodeFromInfo(s storagerpc.SnodeInfo) (path.Node, error) {
	return makeNode(s.IP, s.PortHTTPS, s.PubkeyEd25519, s.PubkeyX25519)
}

func (n *network) intN(k int) int {
	n.rndMu.Lock()
	defer n.rndMu.Unlock()
	return n.rnd.IntN(k)
}

// rpc sends a storage RPC payload to dest through an onion path (retried
// on another path by the manager) and returns the node's answer.
//
// A relay answers 504 both when a later hop of the path and when the
// destination itself does not answer. Blaming the path for a dead
// destination would strike healthy nodes out of every path (with a whole
// swarm down, all of them), so a 504 is followed by a probe: the same
// path to another node. If that works, the destination is at fault and
// the error is a *destError the path manager does not count.
func (n *network) rpc(ctx context.Context, dest path.Node, payload []byte, timeout time.Duration) (onion.SnodeResponse, error) {
	m, err := n.manager(ctx)
	if err != nil {
		return onion.SnodeResponse{}, err
	}
	var resp onion.SnodeResponse
	sent := n.clock.Now()
	err = n.do(ctx, m, &dest, func(ctx context.Context, p path.Path) error {
		actx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		sent = n.clock.Now()
		r, err := n.sender.Snode(actx, p, dest, payload)
		if err != nil {
			var pe *onion.PathError
			if errors.As(err, &pe) && pe.Status == http.StatusGatewayTimeout && n.pathWorks(ctx, m, p, dest) {
				return path.Permanent(&destError{err: err})
			}
			return err
		}
		resp = r
		return nil
	})
	n.persist(ctx, m)
	if err != nil {
		if errors.Is(err, path.ErrNotEnoughNodes) {
			n.resetPaths(m)
			return resp, &UnreachableError{Err: err}
		}
		return resp, err
	}
	n.observeTime(dest, resp.Body, sent, n.clock.Now())
	return resp, nil
}

// do runs fn on a path of m (Manager.Do), avoiding dest when there is one.
//
// A request of a run that still goes by the node list kept from the last
// one (n.unproven) and whose every attempt failed at its guard (refused,
// timed out) is taken as news that the kept nodes are gone, as after
// weeks offline: the list is replaced from a seed (reseed) and the request
// tried again, once, on a path of the new list, so that the run's first
// request does not fail (when the manager's refresh replaced the kept list
// already, that list is taken). A destination the new list does not hold
// is not tried again: the error wraps errNodeLeft, and a caller that drew
// it from the list draws another. A store sent twice is stored once (its
// hash, session-protocol.md §3.5, names it: the node answers "already"),
// and an attempt refused at the guard sent nothing.
func (n *network) do(ctx context.Context, m *path.Manager, dest *path.Node, fn func(context.Context, path.Path) error) error {
	var avoid []key.NodePublic
	if dest != nil {
		avoid = []key.NodePublic{dest.Ed25519}
	}
	k := n.unproven.Load()
	if k != nil && k.m != m {
		k = nil
	}
	// Do calls fn from this goroutine, one attempt after another.
	attempts, atGuard := 0, 0
	try := func(ctx context.Context, p path.Path) error {
		err := fn(ctx, p)
		attempts++
		var ne *path.NodeError
		if errors.As(err, &ne) && ne.Node == p.Guard().Ed25519 {
			atGuard++
		}
		return err
	}
	err := m.Do(ctx, try, avoid...)
	if err == nil {
		if k != nil {
			n.unproven.CompareAndSwap(k, nil)
		}
		return nil
	}
	if k == nil || ctx.Err() != nil || attempts == 0 || atGuard < attempts {
		return err
	}
	if serr := n.reseed(ctx, k); serr != nil {
		return fmt.Errorf("%w (and no seed answered: %w)", err, serr)
	}
	if dest != nil {
		if listed, ok := m.Lookup(dest.Ed25519); !ok || listed.X25519 != dest.X25519 {
			return fmt.Errorf("%w: %w", errNodeLeft, err)
		}
	}
	return m.Do(ctx, fn, avoid...)
}

// errNodeLeft is a request to a node that the list fetched from a seed
// after the kept nodes failed (network.do) no longer holds.
var errNodeLeft = errors.New("client: the destination left the node list")

// keptManager is a path manager that goes by the node list kept from the
// last run, fetched then.
type keptManager struct {
	m       *path.Manager
	fetched time.Time
}

// reseed replaces the kept node list of k.m with one from a seed, unless
// a request through it went through, or the list was replaced meanwhile
// (by another call, or by the manager's refresh). It fails only when no
// seed answers.
func (n *network) reseed(ctx context.Context, k *keptManager) error {
	n.bootMu.Lock()
	defer n.bootMu.Unlock()
	if n.unproven.Load() != k {
		return nil
	}
	if k.m.Fetched().Equal(k.fetched) {
		nodes, err := n.fromSeeds(ctx)
		if err != nil {
			return err
		}
		k.m.SetNodes(nodes)
		n.log.Info("the kept nodes did not answer; node list fetched from a seed", "nodes", len(nodes))
	}
	n.unproven.Store(nil)
	n.persist(ctx, k.m)
	return nil
}

// destError is a request that failed at its destination, not on the path.
type destError struct{ err error }

func (e *destError) Error() string { return "destination did not answer: " + e.err.Error() }
func (e *destError) Unwrap() error { return e.err }

// pathWorks asks another node for info through p.
func (n *network) pathWorks(ctx context.Context, m *path.Manager, p path.Path, dest path.Node) bool {
	var others []path.Node
	for _, x := range m.Nodes() {
		if x.Ed25519 != dest.Ed25519 && !slices.ContainsFunc(p.Hops, func(h path.Node) bool { return h.Ed25519 == x.Ed25519 }) {
			others = append(others, x)
		}
	}
	if len(others) == 0 {
		return false
	}
	probe := others[n.intN(len(others))]
	payload, _ := storagerpc.EncodeRequest(&storagerpc.InfoParams{})
	ctx, cancel := context.WithTimeout(ctx, min(n.timeout, 5*time.Second))
	defer cancel()
	r, err := n.sender.Snode(ctx, p, probe, payload)
	return err == nil && r.Status == http.StatusOK
}

// minReset is the least time between two rebuilds of the path manager.
const minReset = 15 * time.Second

// resetPaths drops a path manager that ran out of usable nodes (every
// node struck out, for instance after the network or this machine was
// offline for a while), so that the next request bootstraps afresh from
// the seeds instead of failing until strikes expire.
func (n *network) resetPaths(m *path.Manager) {
	n.bootMu.Lock()
	defer n.bootMu.Unlock()
	now := n.clock.Now()
	if now.Sub(n.lastReset) < minReset {
		return
	}
	if n.paths.CompareAndSwap(m, nil) {
		n.lastReset = now
		n.log.Info("no usable onion path; bootstrapping again from the seeds")
	}
}

// observeTime feeds the "t" of dest's answer to the offset estimate.
func (n *network) observeTime(dest path.Node, body []byte, sent, received time.Time) {
	var t struct {
		T int64 `json:"t"`
	}
	if json.Unmarshal(body, &t) != nil || t.T <= 0 {
		return
	}
	mid := sent.Add(received.Sub(sent) / 2)
	n.offset.observe(dest.Ed25519.String(), time.UnixMilli(t.T).Sub(mid))
}

// swarmOf returns the nodes of acct's swarm, from the cache or asked of a
// random node.
func (n *network) swarmOf(ctx context.Context, acct key.SessionID) ([]path.Node, error) {
	n.swarmMu.Lock()
	e := n.swarms[acct]
	if e != nil && n.clock.Now().Sub(e.fetched) < n.swarmTTL && len(e.nodes) > 0 {
		nodes := slices.Clone(e.nodes)
		n.swarmMu.Unlock()
		return nodes, nil
	}
	n.swarmMu.Unlock()
	m, err := n.manager(ctx)
	if err != nil {
		return nil, err
	}
	payload, err := storagerpc.EncodeRequest(&storagerpc.GetSwarmParams{Account: storagerpc.AccountFromSessionID(acct)})
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 {
		nodes := m.Nodes()
		if len(nodes) == 0 {
			return nil, &UnreachableError{Err: path.ErrNotEnoughNodes}
		}
		dest := nodes[n.intN(len(nodes))]
		resp, err := n.rpc(ctx, dest, payload, n.timeout)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil || isUnreachable(err) {
				return nil, err
			}
			continue
		}
		if resp.Status != http.StatusOK {
			lastErr = &RPCError{Method: "get_swarm", Status: resp.Status, Body: string(resp.Body)}
			continue
		}
		var gs storagerpc.GetSwarmResponse
		if err := json.Unmarshal(resp.Body, &gs); err != nil {
			lastErr = fmt.Errorf("client: get_swarm: %w", err)
			continue
		}
		if list := n.setSwarm(acct, gs.Snodes); len(list) > 0 {
			return list, nil
		}
		lastErr = errors.New("client: get_swarm: no usable nodes in the answer")
	}
	return nil, lastErr
}

// setSwarm replaces the cached swarm of acct with the nodes of a get_swarm
// answer or a 421 body, and returns them.
//
// A swarm answer (get_swarm, a 421) is one node's word, and names the
// members with their keys and addresses. Only the names are taken from it:
// each member's onion key, address and port come from the client's node
// list (seed-pinned, intersected or proven by the ledger), and a member the
// list does not hold is dropped, so that a lying node cannot make the
// client encrypt to a key of its own or send to an address of its choice.
func (n *network) setSwarm(acct key.SessionID, infos []storagerpc.SnodeInfo) []path.Node {
	m := n.paths.Load()
	var list []path.Node
	for _, s := range infos {
		node, err := nodeFromInfo(s)
		if err != nil {
			continue
		}
		if m != nil {
			listed, ok := m.Lookup(node.Ed25519)
			if !ok {
				continue
			}
			node = listed
		}
		list = append(list, node)
	}
	n.swarmMu.Lock()
	defer n.swarmMu.Unlock()
	if len(list) == 0 {
		delete(n.swarms, acct)
		return nil
	}
	n.swarms[acct] = &swarmEntry{nodes: list, fetched: n.clock.Now()}
	return slices.Clone(list)
}

// nodeFailed counts a failure of dest as a request destination; after two
// in a row it leaves the cached swarms (until the next lookup) and the
// path manager gets a strike against it.
func (n *network) nodeFailed(dest path.Node) {
	n.swarmMu.Lock()
	n.failures[dest.Ed25519]++
	drop := n.failures[dest.Ed25519] >= 2
	if drop {
		delete(n.failures, dest.Ed25519)
		for acct, e := range n.swarms {
			e.nodes = slices.DeleteFunc(e.nodes, func(x path.Node) bool { return x.Ed25519 == dest.Ed25519 })
			if len(e.nodes) == 0 {
				delete(n.swarms, acct)
			}
		}
	}
	n.swarmMu.Unlock()
	if m := n.paths.Load(); drop && m != nil {
		m.ReportNode(dest.Ed25519, false)
	}
}

func (n *network) nodeOK(dest path.Node) {
	n.swarmMu.Lock()
	delete(n.failures, dest.Ed25519)
	n.swarmMu.Unlock()
}

// swarmRequest describes a request to an account's swarm.
type swarmRequest struct {
	method  string
	acct    key.SessionID
	timeout time.Duration
	// build returns the payload for dest; it is called for every attempt
	// so that signed timestamps are fresh.
	build func(dest path.Node) ([]byte, error)
	// prefer is tried first when it is still in the swarm.
	prefer *key.NodePublic
	// only sends the request to prefer alone, once: no other member is
	// tried.
	only bool
}

// swarmAttempts bounds the swarm members one request tries.
const swarmAttempts = 4

// callSwarm sends a request to a member of acct's swarm: the preferred
// one or a random one, then other members when a node fails. A 421
// replaces the cached swarm with the one in its body and tries again; a
// 406/425 (clock out of sync) resynchronises network time from that node
// first. It returns the node that answered 200 and its body; other
// answers from the node are *RPCError.
func (n *network) callSwarm(ctx context.Context, r swarmRequest) (path.Node, []byte, error) {
	timeout := r.timeout
	if timeout <= 0 {
		timeout = n.timeout
	}
	var tried []key.NodePublic
	var lastErr error
	resynced := false
	for range swarmAttempts {
		members, err := n.swarmOf(ctx, r.acct)
		if err != nil {
			return path.Node{}, nil, err
		}
		dest, ok := n.pickMember(members, tried, r.prefer)
		if r.only && (len(tried) > 0 || r.prefer == nil || !ok || dest.Ed25519 != *r.prefer) {
			if lastErr == nil {
				lastErr = errors.New("the node is not a member")
			}
			return path.Node{}, nil, fmt.Errorf("client: %s: %w", r.method, lastErr)
		}
		if !ok {
			// Every member was tried: forget the swarm and look it up again.
			n.setSwarm(r.acct, nil)
			tried = nil
			continue
		}
		tried = append(tried, dest.Ed25519)
		payload, err := r.build(dest)
		if err != nil {
			return path.Node{}, nil, err
		}
		resp, err := n.rpc(ctx, dest, payload, timeout)
		if err != nil {
			if ctx.Err() != nil || isUnreachable(err) {
				return path.Node{}, nil, err
			}
			n.log.Debug("swarm request failed", "method", r.method, "error", err)
			n.nodeFailed(dest)
			lastErr = err
			continue
		}
		switch resp.Status {
		case http.StatusOK:
			n.nodeOK(dest)
			return dest, resp.Body, nil
		case storagerpc.StatusMisdirectedRequest:
			var gs storagerpc.GetSwarmResponse
			if json.Unmarshal(resp.Body, &gs) == nil {
				n.setSwarm(r.acct, gs.Snodes)
			} else {
				n.setSwarm(r.acct, nil)
			}
			tried = nil
			lastErr = &RPCError{Method: r.method, Status: resp.Status, Body: "wrong swarm"}
		case storagerpc.StatusNotAcceptable, storagerpc.StatusTooEarly:
			lastErr = &RPCError{Method: r.method, Status: resp.Status, Body: string(resp.Body)}
			if resynced {
				return path.Node{}, nil, lastErr
			}
			resynced = true
			n.resyncClock(ctx, dest)
			tried = tried[:len(tried)-1]
		case storagerpc.StatusInternalServerError, storagerpc.StatusBadGateway, storagerpc.StatusServiceUnavailable,
			storagerpc.StatusGatewayTimeout, storagerpc.StatusTooManyRequests, storagerpc.StatusInsufficientStorage:
			n.nodeFailed(dest)
			lastErr = &RPCError{Method: r.method, Status: resp.Status, Body: string(resp.Body)}
		default:
			return dest, nil, &RPCError{Method: r.method, Status: resp.Status, Body: string(resp.Body)}
		}
	}
	return path.Node{}, nil, fmt.Errorf("client: %s: no swarm member succeeded: %w", r.method, lastErr)
}

func (n *network) pickMember(members []path.Node, tried []key.NodePublic, prefer *key.NodePublic) (path.Node, bool) {
	var free []path.Node
	for _, m := range members {
		if slices.Contains(tried, m.Ed25519) {
			continue
		}
		if prefer != nil && m.Ed25519 == *prefer {
			return m, true
		}
		free = append(free, m)
	}
	if len(free) == 0 {
		return path.Node{}, false
	}
	return free[n.intN(len(free))], true
}

// resyncClock refreshes the network-time offset after dest refused a
// request's timestamp: it asks dest and resyncPeers other nodes for their
// time, so the estimate is a median of several clocks, not dest's word.
func (n *network) resyncClock(ctx context.Context, dest path.Node) {
	asked := []path.Node{dest}
	if m := n.paths.Load(); m != nil {
		others := slices.DeleteFunc(m.Nodes(), func(x path.Node) bool { return x.Ed25519 == dest.Ed25519 })
		n.rndMu.Lock()
		n.rnd.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
		n.rndMu.Unlock()
		asked = append(asked, others[:min(resyncPeers, len(others))]...)
	}
	var wg sync.WaitGroup
	for _, node := range asked {
		wg.Go(func() { n.askTime(ctx, node) })
	}
	wg.Wait()
}

// resyncPeers is how many nodes besides the one that refused a timestamp
// a clock resync asks.
const resyncPeers = 2

// askTime feeds node's answer to an info request to the offset estimate.
func (n *network) askTime(ctx context.Context, node path.Node) {
	payload, _ := storagerpc.EncodeRequest(&storagerpc.InfoParams{})
	sent := n.clock.Now()
	resp, err := n.rpc(ctx, node, payload, n.timeout)
	if err != nil || resp.Status != http.StatusOK {
		return
	}
	var info storagerpc.InfoResponse
	if json.Unmarshal(resp.Body, &info) != nil || info.Timestamp <= 0 {
		return
	}
	recv := n.clock.Now()
	n.offset.observe(node.Ed25519.String(), time.UnixMilli(info.Timestamp).Sub(sent.Add(recv.Sub(sent)/2)))
}

func isUnreachable(err error) bool {
	var u *UnreachableError
	return errors.As(err, &u)
}

// offsetEstimator estimates the network-time offset from the clocks of
// several nodes: it keeps the latest offset seen from each of the last
// offsetNodes distinct nodes and answers their median, so that no single
// node, however it sets its "t", moves network time outside the range the
// honest nodes give. With an even count the middle value nearer zero wins
// (with two nodes, the more modest claim), and with one node there is
// nothing else to go by.
type offsetEstimator struct {
	mu     sync.Mutex
	from   []string // node keys, oldest first
	byNode map[string]time.Duration
	median time.Duration
}

const offsetNodes = 7

func (o *offsetEstimator) get() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.median
}

// observe records node's latest offset d.
func (o *offsetEstimator) observe(node string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.byNode == nil {
		o.byNode = map[string]time.Duration{}
	}
	if i := slices.Index(o.from, node); i >= 0 {
		o.from = slices.Delete(o.from, i, i+1)
	}
	o.from = append(o.from, node)
	o.byNode[node] = d
	if len(o.from) > offsetNodes {
		delete(o.byNode, o.from[0])
		o.from = o.from[1:]
	}
	s := make([]time.Duration, 0, len(o.from))
	for _, k := range o.from {
		s = append(s, o.byNode[k])
	}
	slices.Sort(s)
	o.median = s[len(s)/2]
	if len(s)%2 == 0 && abs(s[len(s)/2-1]) < abs(o.median) {
		o.median = s[len(s)/2-1]
	}
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
