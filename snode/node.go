package snode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sotto.dev/internal/iplimit"
	"sotto.dev/key"
	"sotto.dev/ledger"
	"sotto.dev/ledger/state"
	"sotto.dev/nodeproof"
	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// Clock tells the time. Tests may substitute one.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Deps are what a Node uses from outside.
type Deps struct {
	// Logger receives the node's logs; nil discards them.
	Logger *slog.Logger
	// View is the node's view of the network (required).
	View ledger.View
	// Clock defaults to the system clock.
	Clock Clock
	// Registry receives the node's metrics; nil makes a private registry
	// (served on Config.AdminAddr either way).
	Registry *prometheus.Registry
	// Names resolves ONS names for oxend_request ons_resolve (for example
	// a ledger.Client's Name); nil answers every name as unknown, or asks
	// Ledger.Client when Ledger is set.
	Names func(context.Context, state.NameHash) (*ledger.NameInfo, error)
	// Prove builds the node-list proof of one of the given snapshots
	// (newest first) for oxend_request sotto_service_nodes_proof
	// (docs/nodeproof.md); nil uses Ledger.Client.Prove when Ledger is
	// set, else the node answers that no proof is available.
	Prove func(context.Context, []*ledger.Snapshot) (*nodeproof.ProofJSON, error)
	// FileServers lists the ledger's file servers for sotto_file_servers
	// (fileservers.go); nil asks Ledger.Client when Ledger is set, else
	// the node answers an empty list.
	FileServers func(context.Context) (*storagerpc.FileServerList, error)
	// Communities lists the ledger's community servers for
	// sotto_communities (communities.go), as FileServers does.
	Communities func(context.Context) (*storagerpc.CommunityList, error)
	// Ledger, if set, makes the node do its ledger duties while it serves
	// (Duties, health.go): register with an operator key, send uptime
	// proofs, test other nodes and vote when drawn into a quorum.
	Ledger *LedgerConfig
	// Dial opens the node's connections to its peers; nil dials from the
	// address of Config.ListenAddr when that is a concrete IP (so that on
	// a host with several addresses peers see the node's listed address
	// and treat it as a network node), else from any address.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// WrapListener, if set, wraps the HTTPS listener once it is bound:
	// test networks emulate links with it (internal/linkem), and with a
	// Dial that goes over the emulated links.
	WrapListener func(net.Listener) net.Listener
}

// keyCacheSize bounds the node's cache of verified pubkey_ed25519 keys
// (about 200 bytes an entry): enough for the clients that poll a node.
const keyCacheSize = 1 << 15

// grantCacheSize bounds the node's cache of verified subaccount grants
// (one per group member polling here; about 140 bytes each).
const grantCacheSize = 1 << 14

// StoreFileName is the database inside the data directory.
const StoreFileName = "store.db"

// noncePoolSize is the most signing nonces a node makes ahead of time: a
// few commits' worth (a commit answers about a dozen stores under load).
const noncePoolSize = 64

// Node is a service node's storage server: the client storage RPC, the
// seed bootstrap endpoint, replication to and anti-entropy with its swarm,
// and a mount point for the onion relay. Create it with New, run it with
// Serve.
type Node struct {
	cfg   Config
	log   *slog.Logger
	view  ledger.View
	clock Clock
	keys  *Keys
	me    key.NodePublic
	cert  tls.Certificate
	store *store.Store

	ln, adminLn net.Listener
	addr        netip.AddrPort
	publicPort  uint16
	mux         *http.ServeMux
	srv         *http.Server
	adminSrv    *http.Server
	reg         *prometheus.Registry
	met         *metrics

	mem       atomic.Pointer[membership]
	memChange chan struct{} // closed and replaced when mem changes
	memMu     sync.Mutex

	sync syncState

	keyCache *storagerpc.KeyCache   // verified pubkey_ed25519 → X25519 images
	grants   *storagerpc.GrantCache // verified subaccount grants
	sigs     *storagerpc.SigBatcher // request signatures, checked in batches
	signer   *signBatcher           // answers, signed in batches (signbatch.go)

	clients *buckets[netip.Addr]
	peerRL  *buckets[key.NodePublic]
	// fwdLimit meters the operations peers forward (limits.go); fwd
	// batches the stores this node forwards (fwdbatch.go).
	fwdLimit *fwdLimit
	fwd      *forwarder
	fwdSlots *peerSlots // batches each peer has in progress here
	// forwardStores handles a peer's batch of stores (handleForwardStores;
	// tests put a peer of another version in its place).
	forwardStores func(ctx context.Context, peer key.NodePublic, body []byte) (int, []byte)
	sem           chan struct{}
	perIP         clientLimits
	nodeIPs       atomic.Pointer[nodeAddrs]
	peers         *peerClients
	lastOp        atomic.Int64

	aeKick  chan struct{}
	tombs   *tombKeeper
	waiters *waiters
	names   func(context.Context, state.NameHash) (*ledger.NameInfo, error)
	// quorums gates the storage test (health.go): from Deps.Ledger's client.
	quorums quorumView
	proofs  proofCache
	// listFileServers answers sotto_file_servers (Deps.FileServers).
	listFileServers func(context.Context) (*storagerpc.FileServerList, error)
	// listCommunities answers sotto_communities (Deps.Communities).
	listCommunities func(context.Context) (*storagerpc.CommunityList, error)

	duties *Duties // nil without Deps.Ledger

	closeOnce sync.Once
	closeErr  error
	served    atomic.Bool
}

// New validates cfg, loads (or creates, on first start) the node key in
// cfg.DataDir, opens the store and binds the listeners, so that Addr is
// known before Serve. Call Serve to run the node, or Close to release it
// without serving.
func New(cfg Config, deps Deps) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.View == nil {
		return nil, errors.New("snode: no ledger view")
	}
	n := &Node{
		cfg:       cfg,
		log:       deps.Logger,
		view:      deps.View,
		clock:     deps.Clock,
		reg:       deps.Registry,
		memChange: make(chan struct{}),
		aeKick:    make(chan struct{}, 1),
		tombs:     newTombKeeper(),
		names:     deps.Names,
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if deps.Ledger != nil && deps.Ledger.Client != nil {
		n.quorums.get = deps.Ledger.Client.Quorums
	}
	if n.names == nil && deps.Ledger != nil && deps.Ledger.Client != nil {
		n.names = deps.Ledger.Client.Name
	}
	n.listFileServers = deps.FileServers
	if n.listFileServers == nil && deps.Ledger != nil && deps.Ledger.Client != nil {
		lc := deps.Ledger.Client
		n.listFileServers = func(ctx context.Context) (*storagerpc.FileServerList, error) {
			l, err := lc.FileServers(ctx)
			if err != nil {
				return nil, err
			}
			return l.RPC(), nil
		}
	}
	n.listCommunities = deps.Communities
	if n.listCommunities == nil && deps.Ledger != nil && deps.Ledger.Client != nil {
		lc := deps.Ledger.Client
		n.listCommunities = func(ctx context.Context) (*storagerpc.CommunityList, error) {
			l, err := lc.Communities(ctx)
			if err != nil {
				return nil, err
			}
			return l.RPC(), nil
		}
	}
	n.proofs.prove = deps.Prove
	if n.proofs.prove == nil && deps.Ledger != nil && deps.Ledger.Client != nil {
		n.proofs.prove = deps.Ledger.Client.Prove
	}
	if n.clock == nil {
		n.clock = systemClock{}
	}
	if n.reg == nil {
		n.reg = prometheus.NewRegistry()
	}
	n.met = newMetrics(n.reg)

	keys, created, err := LoadOrCreateKeys(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	n.keys, n.me = keys, keys.Ed25519Public()
	if created {
		n.log.Info("generated node key", "ed25519", n.me.String(), "x25519", keys.X25519Public().String())
	}
	if n.cert, err = selfSignedCert(keys); err != nil {
		return nil, err
	}
	n.waiters = newWaiters(cfg.Limits.MaxHeldRetrieves)
	n.keyCache = storagerpc.NewKeyCache(keyCacheSize)
	n.grants = storagerpc.NewGrantCache(grantCacheSize)
	n.sigs = storagerpc.NewSigBatcher(keyCacheSize)
	registerSigMetrics(n.reg, n.sigs)
	n.signer = newSignBatcher(keys)
	if cfg.SyncHoldsP {
		// While the disk writes a commit, the store's writer makes the
		// signing nonces of the answers to come (openStore): the
		// fixed-base scalar multiplication of a signature leaves the
		// request's path for time the core would spend waiting
		// (docs/snode.md, "The log's sync").
		n.signer.nonces = keys.NewNoncePool(noncePoolSize)
	}
	registerSignMetrics(n.reg, n.signer)
	if err := n.openStore(); err != nil {
		return nil, err
	}
	fail := func(err error) (*Node, error) {
		if n.ln != nil {
			n.ln.Close()
		}
		if n.adminLn != nil {
			n.adminLn.Close()
		}
		n.store.Close()
		return nil, err
	}
	if err := n.listen(); err != nil {
		return fail(err)
	}
	if deps.WrapListener != nil {
		n.ln = deps.WrapListener(n.ln)
	}
	n.clients = newBuckets[netip.Addr](cfg.Limits.ClientRate, cfg.Limits.ClientBurst, cfg.Limits.MaxClients)
	n.peerRL = newBuckets[key.NodePublic](cfg.Limits.PeerRate, cfg.Limits.PeerBurst, 0)
	n.fwdLimit = newFwdLimit(cfg.Limits, n.store.Stats)
	n.fwd = newForwarder()
	n.fwdSlots = newPeerSlots(fwdPeerSlots)
	n.forwardStores = n.handleForwardStores
	if cfg.Limits.MaxConcurrentRequests > 0 {
		n.sem = make(chan struct{}, cfg.Limits.MaxConcurrentRequests)
	}
	n.perIP = newClientLimits(cfg.Limits, n.IsNetworkNode)
	dial := deps.Dial
	if dial == nil {
		dial = sourceDialer(cfg.ListenAddr, cfg.Limits.ForwardTimeout.D())
	}
	n.peers = newPeerClients(n.cert, cfg.Limits.ForwardTimeout.D(), dial)
	n.setMembership(newMembership(n.view.Current(), n.me), true)

	n.mux = http.NewServeMux()
	n.routes()
	if deps.Ledger != nil {
		if n.duties, err = NewDuties(n, *deps.Ledger); err != nil {
			return fail(err)
		}
	}
	n.newServers()
	return n, nil
}

// openStore opens the message store in the data directory and registers
// its metrics.
func (n *Node) openStore() error {
	opts := store.Options{
		Path:        filepath.Join(n.cfg.DataDir, StoreFileName),
		MaxBytes:    n.cfg.Limits.MaxStoreBytes,
		TimeQuantum: mtimeQuantum,
		Logger:      n.log,
		OnLive:      n.waiters.wake,
		SyncHoldsP:  n.cfg.SyncHoldsP,
	}
	if pool := n.signer.nonces; pool != nil {
		opts.WhileSyncing = func(deadline time.Time) { pool.Fill(deadline) }
	}
	st, err := store.Open(context.Background(), opts)
	if err != nil {
		return err
	}
	n.store = st
	registerStoreMetrics(n.reg, st)
	return nil
}

// listen binds the HTTPS listener and, when configured, the admin one. On
// error the caller closes whichever listener is already bound.
func (n *Node) listen() error {
	var err error
	if n.ln, err = net.Listen("tcp", n.cfg.ListenAddr); err != nil {
		return fmt.Errorf("snode: listen: %w", err)
	}
	n.addr = n.ln.Addr().(*net.TCPAddr).AddrPort()
	n.publicPort = n.cfg.PublicPort
	if n.publicPort == 0 {
		n.publicPort = n.addr.Port()
	}
	if n.cfg.AdminAddr != "" {
		if n.adminLn, err = net.Listen("tcp", n.cfg.AdminAddr); err != nil {
			return fmt.Errorf("snode: admin listen: %w", err)
		}
	}
	return nil
}

// newServers builds the HTTPS server over n.mux and, with an admin
// listener, the metrics and profiling server.
func (n *Node) newServers() {
	n.srv = &http.Server{
		Handler:           n.mux,
		TLSConfig:         serverTLS(n.cert),
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       n.cfg.Limits.ReadTimeout.D(),
		WriteTimeout:      n.cfg.Limits.WriteTimeout.D(),
		IdleTimeout:       n.cfg.Limits.IdleTimeout.D(),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          serverErrorLog(n.log),
		ConnContext:       connContext,
	}
	if n.adminLn != nil {
		amux := http.NewServeMux()
		amux.Handle("GET /metrics", promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{}))
		// Profiles for operators chasing load problems (admin listener only).
		amux.HandleFunc("/debug/pprof/", pprof.Index)
		amux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		amux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		n.adminSrv = &http.Server{Handler: amux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: serverErrorLog(n.log)}
	}
}

// Addr is the bound HTTPS address.
func (n *Node) Addr() netip.AddrPort { return n.addr }

// AdminAddr is the bound metrics address; invalid when disabled.
func (n *Node) AdminAddr() netip.AddrPort {
	if n.adminLn == nil {
		return netip.AddrPort{}
	}
	return n.adminLn.Addr().(*net.TCPAddr).AddrPort()
}

// PublicPort is the HTTPS port the node announces.
func (n *Node) PublicPort() uint16 { return n.publicPort }

// Keys returns the node's keys (the onion relay needs the X25519 key).
func (n *Node) Keys() *Keys { return n.keys }

// Registry is where the node's metrics are registered; other components
// of the same process (the onion relay) may add theirs.
func (n *Node) Registry() *prometheus.Registry { return n.reg }

// Mount serves h at pattern (a net/http ServeMux pattern such as
// "POST /onion_req/v2") on the node's HTTPS port. Mount before Serve.
func (n *Node) Mount(pattern string, h http.Handler) { n.mux.Handle(pattern, h) }

// Handler is the node's HTTPS handler (for embedding in another server).
func (n *Node) Handler() http.Handler { return n.mux }

// Serve runs the node until ctx ends, then shuts down gracefully: it stops
// accepting connections and waits for requests in flight (up to 10 s),
// stops its background tasks, closes peer connections, and closes the
// store. Serve may be called once.
func (n *Node) Serve(ctx context.Context) error {
	if !n.served.CompareAndSwap(false, true) {
		return errors.New("snode: Serve called twice")
	}
	m := n.mem.Load()
	if _, ok := m.mySwarm(); ok {
		n.log.Info("serving", "addr", n.addr.String(), "ed25519", n.me.String(), "swarm", swarmLog(m), "peers", len(m.peers()))
	} else {
		n.log.Warn("serving, but this node is not an active swarm member of the ledger view", "addr", n.addr.String(), "ed25519", n.me.String())
	}
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	fast := newFastServer(n, n.ln.Addr())
	wg.Go(func() {
		if err := n.srv.Serve(fast.handoff); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("snode: serve: %w", err)
		}
	})
	wg.Go(func() {
		l := tls.NewListener(iplimit.Listener(n.ln, n.perIP.conns), n.srv.TLSConfig)
		if err := fast.serve(l); err != nil && !errors.Is(err, net.ErrClosed) {
			errc <- fmt.Errorf("snode: serve: %w", err)
		}
	})
	if n.adminSrv != nil {
		wg.Go(func() {
			if err := n.adminSrv.Serve(n.adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("snode: admin serve: %w", err)
			}
		})
	}
	wg.Go(func() { n.watchView(bg) })
	wg.Go(func() { n.sweepLoop(bg) })
	wg.Go(func() { n.antiEntropyLoop(bg) })
	wg.Go(func() { n.handoffLoop(bg) })
	wg.Go(func() { n.housekeeping(bg) })
	if n.duties != nil {
		wg.Go(func() {
			if err := n.duties.Serve(bg); err != nil {
				n.log.Error("ledger duties stopped", "err", err)
			}
		})
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	n.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n.ln.Close() // the fast path's listener; net/http's closes in Shutdown
	shutdown := errors.Join(n.srv.Shutdown(sctx), fast.shutdown(sctx))
	if n.adminSrv != nil {
		shutdown = errors.Join(shutdown, n.adminSrv.Shutdown(sctx))
	}
	stopBG()
	wg.Wait()
	if err == nil && shutdown != nil && !errors.Is(shutdown, context.DeadlineExceeded) {
		err = shutdown
	}
	return errors.Join(err, n.Close())
}

// Close releases the node without serving (or after Serve): peer
// connections, listeners and the store. It is idempotent.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.peers.close()
		n.ln.Close()
		if n.adminLn != nil {
			n.adminLn.Close()
		}
		n.closeErr = n.store.Close()
	})
	return n.closeErr
}

// now is the node's clock.
func (n *Node) now() time.Time { return n.clock.Now() }

// opTime assigns the time of a new operation received from a client:
// the clock in ms, strictly increasing on this node so that two
// operations on one message never share a time.
func (n *Node) opTime(now time.Time) int64 {
	t := now.UnixMilli()
	for {
		last := n.lastOp.Load()
		next := max(t, last+1)
		if n.lastOp.CompareAndSwap(last, next) {
			return next
		}
	}
}

// setMembership installs a new membership and reports the changes that
// matter: a new swarm for us starts a sync.
func (n *Node) setMembership(m *membership, initial bool) {
	n.memMu.Lock()
	old := n.mem.Load()
	n.mem.Store(m)
	close(n.memChange)
	n.memChange = make(chan struct{})
	n.memMu.Unlock()

	mine, in := m.mySwarm()
	n.met.swarmPeers.Set(float64(len(m.peers())))
	var oldSwarm uint64
	var wasIn bool
	if old != nil {
		oldSwarm, wasIn = old.mySwarm()
	}
	switch {
	case in && len(m.peers()) > 0 && (initial || !wasIn || oldSwarm != mine):
		// Joined a swarm (or restarted): pull its data before serving reads.
		n.sync.start(n.now().Add(n.cfg.Intervals.SyncTimeout.D()))
		n.met.syncing.Set(1)
		if !initial {
			n.log.Info("joined swarm; syncing before serving reads", "swarm", swarmLog(m), "peers", len(m.peers()))
		}
	case !in && wasIn:
		n.log.Warn("no longer an active swarm member; handing data over")
	}
	if !initial {
		n.kickAntiEntropy()
	}
}

func swarmLog(m *membership) string {
	id, ok := m.mySwarm()
	if !ok {
		return "none"
	}
	return strconv.FormatUint(id, 16)
}

// watchView follows the ledger view.
func (n *Node) watchView(ctx context.Context) {
	for {
		ch := n.view.Changed()
		snap := n.view.Current()
		if snap != n.mem.Load().snap {
			n.setMembership(newMembership(snap, n.me), false)
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

// sweepLoop removes expired rows every Intervals.Sweep.
func (n *Node) sweepLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.Intervals.Sweep.D())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			k, err := n.store.Sweep(ctx, n.now().UnixMilli(), 5000)
			if err != nil {
				if ctx.Err() == nil {
					n.log.Error("expiry sweep failed", "err", err)
				}
				break
			}
			n.met.swept.Add(float64(k))
			if k < 5000 {
				break
			}
		}
	}
}

// housekeeping refreshes gauges and drops full rate-limit buckets.
func (n *Node) housekeeping(ctx context.Context) {
	t := time.NewTicker(n.cfg.Intervals.Metrics.D())
	defer t.Stop()
	for {
		n.refreshGauges(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := n.now()
		n.clients.sweep(now)
		n.peerRL.sweep(now)
		n.fwdLimit.sweep(now)
		n.fwd.prune(n.mem.Load().isPeer)
	}
}

func (n *Node) refreshGauges(ctx context.Context) {
	if sz, err := n.store.Size(ctx); err == nil {
		n.met.storeBytes.Set(float64(sz))
	}
	if c, err := n.store.Count(ctx, n.now().UnixMilli()); err == nil {
		n.met.messages.Set(float64(c))
	}
}

// syncState tracks whether reads wait for a sync with the swarm.
type syncState struct {
	mu       sync.Mutex
	active   bool
	deadline time.Time
}

func (s *syncState) start(deadline time.Time) {
	s.mu.Lock()
	s.active, s.deadline = true, deadline
	s.mu.Unlock()
}

func (s *syncState) done() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.active
	s.active = false
	return was
}

// syncing reports whether reads must still wait at now.
func (s *syncState) syncing(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active && now.After(s.deadline) {
		s.active = false
	}
	return s.active
}

// Syncing reports whether the node still refuses reads while pulling its
// swarm's data.
func (n *Node) Syncing() bool { return n.sync.syncing(n.now()) }
