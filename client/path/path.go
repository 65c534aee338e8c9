// Package path is the client's onion path manager (shared/spec
// service-node-network.md §8.1): from the node list it chooses stable
// guard nodes and 3-hop paths (distinct nodes, distinct /24 subnets unless
// AllowSameSubnet, distinct operators where known), keeps at least MinPaths paths, counts failures per node
// and per path (3 strikes each, node strikes expire after 48 h), rebuilds
// paths, retries a request on another path (Do), and refreshes the node
// list through a hook when it runs short or stale.
//
// Sender sends onion requests over a Path with net/http and reports
// failures in the form Do understands.
package path

import (
	"bytes"
	"cmp"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"sotto.dev/key"
	"sotto.dev/onion"
)

// Node is a service node as the client knows it from the node list.
type Node struct {
	Ed25519 key.NodePublic
	X25519  key.OnionPublic
	IP      netip.Addr
	Port    uint16 // HTTPS storage port
	// Sotto is set when the node announces that it relays the Sotto onion
	// form (onion.SpeaksSotto of its capability bits).
	Sotto bool
	// Operator names who runs the node (the ledger's operator address of
	// its registration), "" when the node list does not say. Hops of one
	// path have distinct known operators, as Tor keeps relays of one
	// declared family off one circuit (path-spec.txt §2.2: "we do not
	// choose two routers in the same family").
	Operator string
}

// Hop is the node as an onion path element.
func (n Node) Hop() onion.Hop { return onion.Hop{Node: n.Ed25519, X25519: n.X25519} }

// Addr is the node's HTTPS address.
func (n Node) Addr() netip.AddrPort { return netip.AddrPortFrom(n.IP, n.Port) }

func (n Node) valid() bool { return n.IP.IsValid() && !n.IP.IsUnspecified() && n.Port != 0 }

// subnet is the node's /24 (IPv4) or /48 (IPv6): hops of one path come
// from distinct subnets (libsession enforce_subnet_diversity).
func (n Node) subnet() netip.Prefix {
	ip := n.IP.Unmap()
	bits := 24
	if ip.Is6() {
		bits = 48
	}
	p, _ := ip.Prefix(bits)
	return p
}

// Path is a chain of nodes; Hops[0] is the guard, the node that sees the
// client's address.
type Path struct {
	ID   uint64
	Hops []Node
}

// Guard is the first hop.
func (p Path) Guard() Node { return p.Hops[0] }

// OnionHops lists the path for onion.Build*Request.
func (p Path) OnionHops() []onion.Hop {
	out := make([]onion.Hop, len(p.Hops))
	for i, n := range p.Hops {
		out[i] = n.Hop()
	}
	return out
}

func (p Path) contains(id key.NodePublic) bool {
	return slices.ContainsFunc(p.Hops, func(n Node) bool { return n.Ed25519 == id })
}

// Config tunes the manager. Zero values take Session's defaults.
type Config struct {
	Length          int           // hops per path (default 3, desktop ONION_REQUEST_HOPS)
	MinPaths        int           // paths kept ready (default 2)
	Guards          int           // stable guard nodes (default MinPaths)
	NodeStrikes     int           // failures before a node is dropped (default 3)
	PathStrikes     int           // failures before a path is rebuilt (default 3)
	StrikeExpiry    time.Duration // node strikes are forgotten after this (default 48 h)
	MaxAttempts     int           // paths Do tries per request (default 3)
	RefreshInterval time.Duration // node list age that triggers a refresh (default 2 h)
	MinNodes        int           // usable nodes below which Do refreshes first (default 12)
	// AllowSameSubnet lifts the distinct-/24 rule, for loopback devnets
	// where every node is on 127.0.0.1. Nodes of a path stay distinct.
	AllowSameSubnet bool
}

func (c Config) withDefaults() Config {
	c.Length = cmp.Or(c.Length, 3)
	c.MinPaths = cmp.Or(c.MinPaths, 2)
	c.Guards = cmp.Or(c.Guards, c.MinPaths)
	c.NodeStrikes = cmp.Or(c.NodeStrikes, 3)
	c.PathStrikes = cmp.Or(c.PathStrikes, 3)
	c.StrikeExpiry = cmp.Or(c.StrikeExpiry, 48*time.Hour)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, 3)
	c.RefreshInterval = cmp.Or(c.RefreshInterval, 2*time.Hour)
	c.MinNodes = cmp.Or(c.MinNodes, 12)
	return c
}

// Deps are the manager's collaborators; all optional.
type Deps struct {
	// Rand drives every random choice. Nil: ChaCha8 seeded from
	// crypto/rand. Tests pass a fixed seed.
	Rand *rand.Rand
	// Now is the clock (strike expiry, node list age). Nil: time.Now.
	Now func() time.Time
	// Refresh fetches a fresh node list (seed node or snodes). Called
	// without the manager's lock; nil disables refreshing.
	Refresh func(ctx context.Context) ([]Node, error)
	Logger  *slog.Logger
}

// ErrNotEnoughNodes means no path can be built from the usable nodes.
var ErrNotEnoughNodes = errors.New("path: not enough usable nodes to build a path")

// NodeError blames a request failure on one node: the guard did not
// answer, or a relay reported the next node missing. Drop removes the node
// at once instead of adding a strike.
type NodeError struct {
	Node key.NodePublic
	Drop bool
	Err  error
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("path: node %s: %v", e.Node.String()[:8], e.Err)
}

func (e *NodeError) Unwrap() error { return e.Err }

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks an error that another path would not fix (the
// destination answered, and the answer is a failure): Do returns it at
// once, without blaming the path.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

type strike struct {
	count int
	last  time.Time
}

type livePath struct {
	Path
	strikes int
}

// Manager owns the node pool, the guards and the paths. It is safe for
// concurrent use and owns no goroutines.
type Manager struct {
	cfg     Config
	now     func() time.Time
	refresh func(ctx context.Context) ([]Node, error)
	log     *slog.Logger

	refreshMu sync.Mutex // serialises calls to the refresh hook

	mu      sync.Mutex
	rnd     *rand.Rand
	nodes   []Node // sorted by Ed25519, deduplicated
	fetched time.Time
	strikes map[key.NodePublic]strike
	guards  []key.NodePublic
	paths   []*livePath
	nextID  uint64
}

// New builds a manager with an empty node list (see SetNodes, Refresh).
func New(cfg Config, deps Deps) (*Manager, error) {
	cfg = cfg.withDefaults()
	switch {
	case cfg.Length < 1 || cfg.Length > onion.MaxHops:
		return nil, fmt.Errorf("path: Length must be 1..%d", onion.MaxHops)
	case cfg.MinPaths < 1 || cfg.Guards < 1 || cfg.NodeStrikes < 1 || cfg.PathStrikes < 1 || cfg.MaxAttempts < 1:
		return nil, errors.New("path: counts must be positive")
	}
	m := &Manager{
		cfg: cfg, now: deps.Now, refresh: deps.Refresh, log: deps.Logger, rnd: deps.Rand,
		strikes: map[key.NodePublic]strike{},
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.rnd == nil {
		var seed [32]byte
		_, _ = crand.Read(seed[:]) // never fails
		m.rnd = rand.New(rand.NewChaCha8(seed))
	}
	return m, nil
}

// SetNodes replaces the node list. Entries without a usable address are
// skipped, duplicates keep the first entry. Paths through nodes that left
// the list, or that it now lists otherwise (another address or key), are
// dropped; struck-out nodes stay out until their strikes expire.
func (m *Manager) SetNodes(nodes []Node) {
	seen := map[key.NodePublic]Node{}
	var list []Node
	for _, n := range nodes {
		if _, dup := seen[n.Ed25519]; n.valid() && !dup {
			seen[n.Ed25519] = n
			list = append(list, n)
		}
	}
	slices.SortFunc(list, func(a, b Node) int { return bytes.Compare(a.Ed25519[:], b.Ed25519[:]) })
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodes = list
	m.fetched = m.now()
	m.paths = slices.DeleteFunc(m.paths, func(p *livePath) bool {
		return slices.ContainsFunc(p.Hops, func(n Node) bool { return seen[n.Ed25519] != n })
	})
	m.guards = slices.DeleteFunc(m.guards, func(g key.NodePublic) bool {
		_, listed := seen[g]
		return !listed
	})
}

// Restore installs a node list kept from an earlier run, fetched at
// fetched (its age decides when Do refreshes it), and the guards chosen
// then, in order of preference. Guards that are not listed are skipped.
// Session's clients do the same: the snode pool and the guard nodes are
// read from the database at start, and the seeds asked only when the pool
// is too small (session-desktop ts/session/apis/snode_api/snodePool.ts
// getSnodePoolFromDBOrFetchFromSeed, ts/session/onions/onionPath.ts
// selectGuardNodes with Data.getGuardNodes).
func (m *Manager) Restore(nodes []Node, fetched time.Time, guards []key.NodePublic) {
	m.SetNodes(nodes)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fetched = fetched
	m.guards = m.guards[:0]
	for _, g := range guards {
		_, listed := slices.BinarySearchFunc(m.nodes, g, func(n Node, id key.NodePublic) int { return bytes.Compare(n.Ed25519[:], id[:]) })
		if listed && !slices.Contains(m.guards, g) && len(m.guards) < m.cfg.Guards {
			m.guards = append(m.guards, g)
		}
	}
}

// Refresh fetches the node list through the refresh hook and installs it.
func (m *Manager) Refresh(ctx context.Context) error {
	if m.refresh == nil {
		return errors.New("path: no refresh hook configured")
	}
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()
	nodes, err := m.refresh(ctx)
	if err != nil {
		return fmt.Errorf("path: refresh node list: %w", err)
	}
	m.SetNodes(nodes)
	return nil
}

// Nodes returns the usable nodes (listed and not struck out).
func (m *Manager) Nodes() []Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(m.nodes), func(n Node) bool { return m.struckOut(n.Ed25519) })
}

// Lookup returns the listed node with key id, struck out or not.
func (m *Manager) Lookup(id key.NodePublic) (Node, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := slices.BinarySearchFunc(m.nodes, id, func(n Node, id key.NodePublic) int { return bytes.Compare(n.Ed25519[:], id[:]) })
	if !ok {
		return Node{}, false
	}
	return m.nodes[i], true
}

// Paths returns the current paths.
func (m *Manager) Paths() []Path {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Path, len(m.paths))
	for i, p := range m.paths {
		out[i] = clonePath(p.Path)
	}
	return out
}

// Listed returns the whole node list, struck-out nodes included.
func (m *Manager) Listed() []Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.nodes)
}

// Fetched is when the node list was installed (SetNodes) or, for a
// restored list, fetched.
func (m *Manager) Fetched() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fetched
}

// ReadyPaths builds paths until MinPaths exist (as Do does before a
// request) and returns the current paths: a refresh hook that asks
// nodes through paths calls it, since Do refreshes before building any.
func (m *Manager) ReadyPaths() []Path {
	m.mu.Lock()
	m.ensurePathsLocked()
	m.mu.Unlock()
	return m.Paths()
}

// Guards returns the current guard nodes.
func (m *Manager) Guards() []key.NodePublic {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.guards)
}

func clonePath(p Path) Path { return Path{ID: p.ID, Hops: slices.Clone(p.Hops)} }

// Do runs fn on a path, retrying on other paths (up to MaxAttempts) when
// it fails. It builds paths as needed and refreshes the node list when it
// is stale or too small. avoid lists nodes the path must not contain,
// typically the request's destination: a guard that is also the
// destination would see both the client and its request.
//
// How fn's error is read: nil is a success and clears the path's strikes;
// Permanent(err) is returned as is; a *NodeError strikes (or drops) that
// node and, if it is on the path, counts a path failure; an
// *onion.PathError naming a missing next node drops that node; anything
// else counts a path failure. A path reaching PathStrikes is dropped and
// each of its nodes gets a strike.
func (m *Manager) Do(ctx context.Context, fn func(ctx context.Context, p Path) error, avoid ...key.NodePublic) error {
	m.maybeRefresh(ctx)
	var tried []uint64
	var lastErr error
	for range m.cfg.MaxAttempts {
		p, err := m.pick(ctx, avoid, tried)
		if err != nil {
			if lastErr != nil {
				return fmt.Errorf("%w (after: %w)", err, lastErr)
			}
			return err
		}
		err = fn(ctx, p)
		if err == nil {
			m.succeeded(p)
			return nil
		}
		var perm permanent
		if errors.As(err, &perm) {
			return perm.err
		}
		if ctx.Err() != nil {
			return err
		}
		m.failed(p, err)
		lastErr = err
		tried = append(tried, p.ID)
	}
	return fmt.Errorf("path: request failed on %d paths: %w", len(tried), lastErr)
}

// maybeRefresh refreshes a stale or short node list; a failure is only
// logged, since the old list may still do.
func (m *Manager) maybeRefresh(ctx context.Context) {
	if m.refresh == nil {
		return
	}
	m.mu.Lock()
	stale := m.fetched.IsZero() || m.now().Sub(m.fetched) > m.cfg.RefreshInterval || m.usableLocked() < m.cfg.MinNodes
	m.mu.Unlock()
	if stale {
		if err := m.Refresh(ctx); err != nil {
			m.log.Warn("node list refresh failed", "error", err)
		}
	}
}

// pick returns a path for one attempt: the least-struck of the ready
// paths that avoid the given nodes and were not tried yet, building one
// (after a refresh if needed) when there is none.
func (m *Manager) pick(ctx context.Context, avoid []key.NodePublic, tried []uint64) (Path, error) {
	p, err := m.pickLocked(avoid, tried)
	if errors.Is(err, ErrNotEnoughNodes) && m.refresh != nil {
		if rerr := m.Refresh(ctx); rerr == nil {
			p, err = m.pickLocked(avoid, tried)
		}
	}
	return p, err
}

func (m *Manager) pickLocked(avoid []key.NodePublic, tried []uint64) (Path, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ensurePathsLocked()
	eligible := func(p *livePath) bool {
		return !slices.Contains(tried, p.ID) && !slices.ContainsFunc(avoid, p.contains)
	}
	var best []*livePath
	for _, p := range m.paths {
		switch {
		case !eligible(p):
		case len(best) == 0 || p.strikes < best[0].strikes:
			best = []*livePath{p}
		case p.strikes == best[0].strikes:
			best = append(best, p)
		}
	}
	if len(best) > 0 {
		return clonePath(best[m.rnd.IntN(len(best))].Path), nil
	}
	// No ready path fits: build one that avoids the destination and the
	// nodes of the paths already tried.
	exclude := map[key.NodePublic]bool{}
	for _, id := range avoid {
		exclude[id] = true
	}
	for _, p := range m.paths {
		if slices.Contains(tried, p.ID) {
			for _, n := range p.Hops {
				exclude[n.Ed25519] = true
			}
		}
	}
	lp, err := m.buildLocked(exclude)
	if err != nil {
		return Path{}, err
	}
	m.paths = append(m.paths, lp)
	m.trimLocked(tried)
	return clonePath(lp.Path), nil
}

// trimLocked keeps at most MinPaths+2 paths, dropping paths already tried
// in this request first, then the most-struck; the newest path stays.
func (m *Manager) trimLocked(tried []uint64) {
	for len(m.paths) > m.cfg.MinPaths+2 {
		worst, worstScore := -1, -1
		for i, p := range m.paths[:len(m.paths)-1] {
			score := p.strikes
			if slices.Contains(tried, p.ID) {
				score += 1 << 20
			}
			if score > worstScore {
				worst, worstScore = i, score
			}
		}
		m.paths = slices.Delete(m.paths, worst, worst+1)
	}
}

// ensurePathsLocked builds paths until MinPaths exist or nodes run out.
func (m *Manager) ensurePathsLocked() {
	for len(m.paths) < m.cfg.MinPaths {
		lp, err := m.buildLocked(nil)
		if err != nil {
			return
		}
		m.paths = append(m.paths, lp)
	}
}

func (m *Manager) usableLocked() int {
	n := 0
	for _, node := range m.nodes {
		if !m.struckOut(node.Ed25519) {
			n++
		}
	}
	return n
}

// struckOut reports a node with NodeStrikes unexpired strikes.
func (m *Manager) struckOut(id key.NodePublic) bool {
	s, ok := m.strikes[id]
	if !ok {
		return false
	}
	if m.now().Sub(s.last) > m.cfg.StrikeExpiry {
		delete(m.strikes, id)
		return false
	}
	return s.count >= m.cfg.NodeStrikes
}

// buildLocked builds one path: a guard, then random nodes, all distinct
// and (unless AllowSameSubnet) from distinct subnets. A first pass keeps
// the path disjoint from the other paths (libsession excludes nodes used
// by other paths); on a network too small for that, a second pass lets
// paths share nodes.
func (m *Manager) buildLocked(exclude map[key.NodePublic]bool) (*livePath, error) {
	inUse := map[key.NodePublic]bool{}
	for _, p := range m.paths {
		for _, n := range p.Hops {
			inUse[n.Ed25519] = true
		}
	}
	byID := map[key.NodePublic]Node{}
	for _, n := range m.nodes {
		byID[n.Ed25519] = n
	}
	// Forget guards that left the list or were struck out.
	m.guards = slices.DeleteFunc(m.guards, func(g key.NodePublic) bool {
		_, ok := byID[g]
		return !ok || m.struckOut(g)
	})
	usable := func(id key.NodePublic) bool { return !exclude[id] && !m.struckOut(id) }
	for _, shared := range []bool{false, true} {
		var candidates []Node
		for _, n := range m.nodes {
			if usable(n.Ed25519) && (shared || !inUse[n.Ed25519]) {
				candidates = append(candidates, n)
			}
		}
		m.rnd.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
		guard, ok := m.pickGuardLocked(byID, candidates, func(id key.NodePublic) bool {
			return usable(id) && (shared || !inUse[id])
		})
		if !ok {
			continue
		}
		hops := m.fillLocked(guard, candidates, false)
		if len(hops) < m.cfg.Length {
			// Few nodes: let other guards serve as later hops too.
			hops = m.fillLocked(guard, candidates, true)
		}
		if len(hops) < m.cfg.Length {
			continue
		}
		if !slices.Contains(m.guards, guard.Ed25519) && len(m.guards) < m.cfg.Guards {
			m.guards = append(m.guards, guard.Ed25519)
		}
		m.nextID++
		return &livePath{Path: Path{ID: m.nextID, Hops: hops}}, nil
	}
	return nil, ErrNotEnoughNodes
}

// pickGuardLocked returns the first available existing guard, or else a
// random candidate that is not a guard yet (it becomes one if there is
// room; otherwise it is a one-off first hop).
func (m *Manager) pickGuardLocked(byID map[key.NodePublic]Node, candidates []Node, available func(key.NodePublic) bool) (Node, bool) {
	for _, g := range m.guards {
		if available(g) {
			return byID[g], true
		}
	}
	for _, n := range candidates {
		if !slices.Contains(m.guards, n.Ed25519) {
			return n, true
		}
	}
	return Node{}, false
}

// fillLocked extends a path from guard with candidates (already shuffled),
// skipping other guards unless withGuards, repeated subnets unless
// AllowSameSubnet, and repeated known operators always (a loopback devnet
// still has one operator per node).
func (m *Manager) fillLocked(guard Node, candidates []Node, withGuards bool) []Node {
	hops := []Node{guard}
	subnets := map[netip.Prefix]bool{guard.subnet(): true}
	operators := map[string]bool{guard.Operator: guard.Operator != ""}
	for _, n := range candidates {
		if len(hops) == m.cfg.Length {
			break
		}
		if n.Ed25519 == guard.Ed25519 || !withGuards && slices.Contains(m.guards, n.Ed25519) {
			continue
		}
		if !m.cfg.AllowSameSubnet && subnets[n.subnet()] {
			continue
		}
		if n.Operator != "" && operators[n.Operator] {
			continue
		}
		subnets[n.subnet()] = true
		if n.Operator != "" {
			operators[n.Operator] = true
		}
		hops = append(hops, n)
	}
	return hops
}

func (m *Manager) succeeded(p Path) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if lp := m.findLocked(p.ID); lp != nil {
		lp.strikes = 0
	}
}

func (m *Manager) findLocked(id uint64) *livePath {
	for _, lp := range m.paths {
		if lp.ID == id {
			return lp
		}
	}
	return nil
}

// failed records one failed attempt on p.
func (m *Manager) failed(p Path, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.ensurePathsLocked() // rebuild what the failure dropped
	var ne *NodeError
	var pe *onion.PathError
	switch {
	case errors.As(err, &ne):
		m.strikeLocked(ne.Node, ne.Drop)
		if p.contains(ne.Node) {
			m.pathStrikeLocked(p.ID)
		}
	case errors.As(err, &pe):
		if id, ok := pe.NextNodeNotFound(); ok {
			m.strikeLocked(id, true)
			return
		}
		m.pathStrikeLocked(p.ID)
	default:
		m.pathStrikeLocked(p.ID)
	}
}

func (m *Manager) pathStrikeLocked(id uint64) {
	lp := m.findLocked(id)
	if lp == nil {
		return
	}
	lp.strikes++
	if lp.strikes < m.cfg.PathStrikes {
		return
	}
	m.dropPathLocked(id)
	for _, n := range lp.Hops {
		m.strikeLocked(n.Ed25519, false)
	}
}

func (m *Manager) dropPathLocked(id uint64) {
	m.paths = slices.DeleteFunc(m.paths, func(p *livePath) bool { return p.ID == id })
}

// strikeLocked adds a strike to a node (or strikes it out with drop); a
// node that is struck out leaves every path it is on.
func (m *Manager) strikeLocked(id key.NodePublic, drop bool) {
	m.struckOut(id) // expire old strikes first
	s := m.strikes[id]
	s.count++
	if drop {
		s.count = max(s.count, m.cfg.NodeStrikes)
	}
	s.last = m.now()
	m.strikes[id] = s
	if s.count >= m.cfg.NodeStrikes {
		m.paths = slices.DeleteFunc(m.paths, func(p *livePath) bool { return p.contains(id) })
		m.guards = slices.DeleteFunc(m.guards, func(g key.NodePublic) bool { return g == id })
	}
}

// ReportNode records a failure of one node outside Do (for example a
// destination that did not answer): a strike, or removal with drop.
func (m *Manager) ReportNode(id key.NodePublic, drop bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.strikeLocked(id, drop)
}
