package testnet

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto.dev/internal/atomicfile"
	"sotto.dev/internal/linkem"
	"sotto.dev/internal/testnet/genesis"
	"sotto.dev/key"
	"sotto.dev/ledger"
	ledgercli "sotto.dev/ledger/cli"
	"sotto.dev/ledger/state"
	"sotto.dev/snode"
	"sotto.dev/swarm"
)

// Defaults.
const (
	DefaultNodes        = 5
	DefaultListen       = "127.0.0.1"
	DefaultReadyTimeout = 60 * time.Second
	// stopTimeout is how long a child gets to shut down after SIGTERM.
	stopTimeout = 20 * time.Second
)

// DevnetSwarms are the swarm sizes of the ledger's devnet parameters
// (ledger/state DevnetParams, which are Session's: minimum 5, new swarms
// of 7): 15 nodes make 2 swarms (8 + 7), 5 to 13 nodes one swarm.
var DevnetSwarms = swarm.AssignParams{MinSize: swarm.MinSwarmSize, IdealSize: swarm.NewSwarmSize}

// Options configure a network. Zero values take the defaults.
type Options struct {
	// Nodes is the number of service nodes (default DefaultNodes). When
	// Dir already holds a network, 0 means its size and anything else
	// must equal it.
	Nodes int
	// Dir holds the network (see the package doc); "" makes a temporary
	// directory that Close removes.
	Dir string
	// Listen is the IPv4 address nodes listen on and announce (default
	// 127.0.0.1). Fixed when the directory is created.
	Listen string
	// Logger receives the harness's logs and, unless LogFiles, the
	// in-process nodes' logs (with a "node" attribute). Nil discards.
	Logger *slog.Logger
	// LogFiles writes each node's log to DIR/node-NN/node.log (always so
	// in Subprocess mode), at LogLevel.
	LogFiles bool
	LogLevel slog.Level
	// Swarm sizes the swarms when the directory is created (default
	// DevnetSwarms). {MinSize: 3, IdealSize: 5} gives 10 nodes two swarms
	// of 5.
	Swarm swarm.AssignParams
	// Subprocess runs every node as a child process (see ChildMain) so
	// that it can be killed with SIGKILL or paused with SIGSTOP.
	Subprocess bool
	// Command is the child program and its arguments (default: this
	// executable, without arguments). It must call ChildMain.
	Command []string
	// Sottod, when set, is the path of a sottod binary: children are then
	// real `sottod run --config DIR/node-NN/sottod.json` processes
	// instead of Command.
	Sottod string
	// Ledger is the node list's source (default a genesis.Ledger at
	// DIR/genesis.json, or with CometBFT a CometLedger). Subprocess mode
	// needs its GenesisPath, or a CometLedger's RPC.
	Ledger Ledger
	// CometBFT runs the network on the embedded CometBFT ledger
	// (CometLedger, a single validator in DIR/ledger) instead of the
	// genesis file. Its genesis funds each node's operator
	// (DIR/node-NN/operator.json); every node registers itself with that
	// key when it starts, sends its uptime proofs and tests other nodes
	// when drawn into a quorum (snode.Duties). Swarms are the ledger's
	// (with the Swarm sizes), and a stopped node is decommissioned by the
	// ledger's rules. Start returns once every node is active in a swarm.
	// Children (Subprocess, Sottod) follow the ledger over its RPC.
	CometBFT bool
	// LedgerParams are the rules of a new CometBFT ledger (default
	// state.DevnetParams with the Swarm sizes). An existing ledger keeps
	// the rules of its genesis.
	LedgerParams *state.Params
	// Operators is how many operators run the nodes: node i is run by
	// operator i mod Operators. On a CometBFT network node i registers
	// with the key of node i mod Operators (its OperatorKey); in a genesis
	// file each node's operator_address is derived from its operator's
	// number. Zero means one operator per node on a CometBFT network and
	// none named in a genesis file. Paths of clients keep two nodes of
	// one operator apart (client/path Node.Operator). In-process nodes of
	// one operator register through one ledger client, in turn; children
	// (Subprocess, Sottod) have a client each, and of two that register
	// at once the one that loses the nonce signs again with the next
	// (ledger.Client.SubmitWith).
	Operators int
	// TuneLedger adjusts node i's ledger duties (CometBFT only) before it
	// starts; the defaults poll the ledger every half block.
	TuneLedger func(i int, c *snode.LedgerConfig)
	// Addresses gives each node its own address (LoopbackAddresses,
	// NetnsAddresses; see addrs.go) instead of Listen; PerSubnet nodes
	// share each /24 (default 1). Fixed when the directory is created;
	// the network file then keeps the distinct-subnet rule on.
	Addresses AddressMode
	PerSubnet int
	// Tune adjusts node i's configuration before it starts. The defaults
	// are snode.DefaultConfig with the per-IP client rate limit off (all
	// clients of a loopback network share one address) and no metrics
	// listener.
	Tune func(i int, c *snode.Config)
	// ReadyTimeout bounds the wait for a node to answer after a start
	// (default DefaultReadyTimeout).
	ReadyTimeout time.Duration
	// View, when set, gives an in-process node the ledger view it reads
	// in place of v, the network's: attack tests make a node lie with it.
	View func(node NodeInfo, v ledger.View) ledger.View
	// Link, when set, emulates every link of the nodes (delay, jitter,
	// bandwidth, loss, partitions; internal/linkem): node i is endpoint
	// NodeEndpoint(i), clients dial with Dialer. StartT logs its seed. A
	// child node (Subprocess, Sottod) listens on a port of its own behind
	// a linkem.Proxy on its announced address, and so do the CometBFT
	// ledger's RPC (LedgerEndpoint) and the servers of SetFileServers and
	// SetCommunities: connections to them from in-process nodes and
	// clients are on their own links, those from other processes (other
	// children among them) on links from linkem.External.
	Link *linkem.Network
}

// NodeInfo describes one node of the network.
type NodeInfo struct {
	Index   int
	Ed25519 key.NodePublic
	X25519  key.OnionPublic
	Addr    netip.AddrPort
	URL     string // https://ip:port
	DataDir string
	LogFile string // "" for an in-process node that logs to Options.Logger
	// OperatorKey is the account key file the node registers with
	// (CometBFT networks; "" otherwise).
	OperatorKey string
	// Swarm is the node's swarm in the ledger's current node list
	// (swarm.UnassignedID when it is in none).
	Swarm uint64
}

// ErrUnsupported is returned by Pause and Resume for in-process nodes.
var ErrUnsupported = errors.New("testnet: operation needs a Subprocess network")

// ErrClosed is returned by operations on a closed network.
var ErrClosed = errors.New("testnet: network closed")

// member is one node's running state.
type member struct {
	info NodeInfo
	cfg  snode.Config

	mu sync.Mutex // serialises operations on this node; guards the rest

	// in-process
	cancel context.CancelFunc
	done   chan error
	proc   *nodeProc
	// subprocess
	cmd    *exec.Cmd
	logF   *os.File
	paused bool
}

func (m *member) running() bool { return m.done != nil }

// Network is a running test network. Its methods are safe for concurrent
// use; operations on one node are serialised, different nodes proceed in
// parallel.
type Network struct {
	opts   Options
	dir    string
	tmpDir bool
	log    *slog.Logger
	lay    *layout
	keys   []*snode.Keys
	ledger Ledger
	client *http.Client
	// netns holds the namespaces of NetnsAddresses; addrPrefix is their
	// range.
	netns      *netnsNet
	addrPrefix netip.Prefix
	// ledgerLog is the embedded ledger's log file, closed last.
	ledgerLog *os.File

	bg     context.Context
	stopBG context.CancelFunc
	bgWG   sync.WaitGroup

	members []*member // fixed after Start

	mu     sync.Mutex
	closed bool
	// fileServers are the network file's file_servers (SetFileServers).
	fileServers []FileServerEntry
	// communities are the network file's communities (SetCommunities).
	communities []CommunityEntry
	// fronts are the proxies in front of child nodes and servers, by
	// endpoint name (Options.Link).
	fronts map[string]*front
	// opClients are the ledger clients of the nodes' duties, by operator
	// (operatorClient).
	opClients map[int]*ledger.Client
}

// StartT starts a network for a test and closes it when the test ends.
// Without Options.Dir the network lives in t.TempDir().
func StartT(t testing.TB, opts Options) *Network {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if l := opts.Link; l != nil {
		p := l.Default()
		t.Logf("testnet: emulated links, seed %d: delay %v ± %v, bandwidth %d B/s, loss %g", l.Seed(), p.Delay, p.Jitter, p.Bandwidth, p.Loss)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*max(opts.ReadyTimeout, DefaultReadyTimeout))
	defer cancel()
	n, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("testnet: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("testnet close: %v", err)
		}
	})
	return n
}

// Start creates (or reopens) the network in opts.Dir, publishes its node
// list, starts every node and waits until each answers on HTTPS. On error
// everything started is stopped again.
func Start(ctx context.Context, opts Options) (*Network, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	if opts.Swarm == (swarm.AssignParams{}) {
		opts.Swarm = DevnetSwarms
	}
	n := &Network{opts: opts, dir: opts.Dir, log: opts.Logger, fronts: map[string]*front{}}
	if n.dir == "" {
		d, err := os.MkdirTemp("", "sotto-testnet-")
		if err != nil {
			return nil, fmt.Errorf("testnet: %w", err)
		}
		n.dir, n.tmpDir = d, true
	}
	nodes := opts.Nodes
	if nodes == 0 {
		if _, err := os.Stat(filepath.Join(n.dir, LayoutFile)); err != nil {
			nodes = DefaultNodes
		}
	}
	var err error
	n.lay, n.keys, err = openLayout(n.dir, nodes, opts.Listen, opts.Swarm)
	if err != nil {
		n.removeTmp()
		return nil, err
	}
	if err := n.setupAddresses(ctx); err != nil {
		n.removeTmp()
		return nil, err
	}
	n.ledger = opts.Ledger
	switch {
	case n.ledger != nil:
	case opts.CometBFT:
		if n.ledger, err = n.cometLedger(); err != nil {
			n.removeTmp()
			return nil, err
		}
	default:
		n.ledger = genesis.NewLedger(filepath.Join(n.dir, GenesisFile), n.log)
	}
	if opts.Sottod != "" {
		opts.Subprocess = true
		n.opts.Subprocess = true
	}
	if opts.Subprocess && n.ledger.GenesisPath() == "" && n.LedgerRPC() == "" {
		n.removeTmp()
		return nil, errors.New("testnet: Subprocess mode needs a ledger with a genesis file or an RPC")
	}
	if err := n.ledger.Publish(ctx, n.lay.snapshot(n.keys, n.opts.Operators)); err != nil {
		n.removeTmp()
		return nil, fmt.Errorf("testnet: publish node list: %w", err)
	}
	n.client = probeClient()
	n.bg, n.stopBG = context.WithCancel(context.Background())
	n.bgWG.Go(func() {
		if err := n.ledger.Serve(n.bg); err != nil {
			n.log.Error("ledger stopped", "err", err)
		}
	})
	for i := range n.lay.Nodes {
		n.members = append(n.members, &member{info: n.info(i), cfg: n.nodeConfig(i)})
	}
	if err := n.writeNetworkFile(); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.startAll(ctx); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.waitRegistered(ctx); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// LedgerDir is the embedded ledger's home inside the network directory;
// with LogFiles its log is LedgerLog.
const (
	LedgerDir = "ledger"
	LedgerLog = "ledger.log"
)

// OperatorKeyFile is a node's operator key in its data directory
// (CometBFT networks): an account key file as `sottod ledger keygen`
// writes, so `sottod ledger` commands work with it.
const OperatorKeyFile = "operator.json"

// cometLedger is the embedded CometBFT ledger of the network, with the
// swarm sizes of the options (unless LedgerParams are given) and every
// node's operator funded; it makes the operator keys that are missing.
func (n *Network) cometLedger() (Ledger, error) {
	log := n.log.With("component", "ledger")
	if n.opts.LogFiles {
		f, err := os.OpenFile(filepath.Join(n.dir, LedgerLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("testnet: %w", err)
		}
		n.ledgerLog = f
		log = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: n.opts.LogLevel}))
	}
	p := state.DevnetParams()
	p.SwarmMinSize, p.SwarmIdealSize = n.opts.Swarm.MinSize, n.opts.Swarm.IdealSize
	if n.opts.LedgerParams != nil {
		p = *n.opts.LedgerParams
	}
	var ops []state.Address
	for i, ln := range n.lay.Nodes {
		if n.operatorOf(i) != i {
			continue // runs with the key of node operatorOf(i)
		}
		path := filepath.Join(n.dir, ln.Dir, OperatorKeyFile)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if _, err := ledgercli.WriteKey(path); err != nil {
				return nil, fmt.Errorf("testnet: operator key: %w", err)
			}
		}
		k, err := ledgercli.ReadKey(path)
		if err != nil {
			return nil, fmt.Errorf("testnet: operator key: %w", err)
		}
		ops = append(ops, state.Address(k.PublicKey()))
	}
	cl, err := NewCometLedger(CometLedgerConfig{
		Dir:       filepath.Join(n.dir, LedgerDir),
		Params:    &p,
		Operators: ops,
		RPCListen: n.lay.Listen,
		Link:      n.opts.Link,
		Logger:    log,
	})
	if err != nil {
		return nil, err
	}
	return cl, nil
}

// operatorClient is the ledger client of node i's duties: one per
// operator, so that the registrations of one operator's nodes take their
// account's nonces in turn (ledger.Client.SubmitWith serialises a
// signer's transactions per client) instead of racing for the same one.
func (n *Network) operatorClient(cl *CometLedger, i int) *ledger.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	op := n.operatorOf(i)
	if n.opClients == nil {
		n.opClients = map[int]*ledger.Client{}
	}
	if c := n.opClients[op]; c != nil {
		return c
	}
	c := cl.Client()
	n.opClients[op] = c
	return c
}

// operatorOf is the node whose operator runs node i (Options.Operators).
func (n *Network) operatorOf(i int) int {
	if n.opts.Operators <= 0 {
		return i
	}
	return i % n.opts.Operators
}

// LedgerRPC is the address of the CometBFT ledger's RPC ("tcp://ip:port"),
// which children follow and `sottod ledger --node` talks to; "" without one.
func (n *Network) LedgerRPC() string {
	if cl, ok := n.ledger.(*CometLedger); ok {
		return cl.RPCAddr()
	}
	return ""
}

// LedgerClient is a client of the network's CometBFT ledger, nil when the
// ledger is not a CometLedger.
func (n *Network) LedgerClient() *ledger.Client {
	if cl, ok := n.ledger.(*CometLedger); ok {
		return cl.Client()
	}
	return nil
}

// ledgerDuty is node m's ledger duty configuration (nil without a
// CometLedger).
func (n *Network) ledgerDuty(m *member) (*snode.LedgerConfig, error) {
	cl, ok := n.ledger.(*CometLedger)
	if !ok {
		return nil, nil
	}
	op, err := ledgercli.ReadKey(m.info.OperatorKey)
	if err != nil {
		return nil, err
	}
	c := &snode.LedgerConfig{Client: n.operatorClient(cl, m.info.Index), Operator: op, Poll: dutyPoll(cl.Params().BlockTime)}
	if n.opts.TuneLedger != nil {
		n.opts.TuneLedger(m.info.Index, c)
	}
	return c, nil
}

// waitRegistered waits until no in-process node is still pulling its
// swarm's data (a node refuses reads with 503 until its first
// anti-entropy round with its peers) and, on a CometBFT network, until the
// ledger lists every node as active in a swarm.
func (n *Network) waitRegistered(ctx context.Context) error {
	_, comet := n.ledger.(*CometLedger)
	ctx, cancel := context.WithTimeout(ctx, n.opts.ReadyTimeout)
	defer cancel()
	v := n.ledger.View()
	for {
		ch := v.Changed()
		missing := 0
		for _, id := range n.swarmIDs() {
			if comet && id == swarm.UnassignedID {
				missing++
			}
		}
		syncing := 0
		for _, m := range n.members {
			m.mu.Lock()
			if m.proc != nil && m.proc.node.Syncing() {
				syncing++
			}
			m.mu.Unlock()
		}
		if missing == 0 && syncing == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testnet: %d nodes not active in a swarm, %d syncing: %w", missing, syncing, ctx.Err())
		case <-ch:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (n *Network) removeTmp() {
	if err := n.teardownAddresses(); err != nil {
		n.log.Error("remove network namespaces", "err", err)
	}
	if n.ledgerLog != nil {
		n.ledgerLog.Close()
		n.ledgerLog = nil
	}
	if n.tmpDir {
		os.RemoveAll(n.dir)
	}
}

func (n *Network) info(i int) NodeInfo {
	ln := n.lay.Nodes[i]
	ip := n.lay.addr(i)
	ni := NodeInfo{
		Index:   i,
		Ed25519: n.keys[i].Ed25519Public(),
		X25519:  n.keys[i].X25519Public(),
		Addr:    netip.AddrPortFrom(ip, ln.Port),
		URL:     n.lay.url(i),
		DataDir: filepath.Join(n.dir, ln.Dir),
		Swarm:   swarm.UnassignedID,
	}
	if n.opts.CometBFT && n.opts.Ledger == nil {
		ni.OperatorKey = filepath.Join(n.dir, n.lay.Nodes[n.operatorOf(i)].Dir, OperatorKeyFile)
	}
	if n.opts.LogFiles || n.opts.Subprocess {
		ni.LogFile = filepath.Join(ni.DataDir, "node.log")
	}
	return ni
}

func (n *Network) nodeConfig(i int) snode.Config {
	c := snode.DefaultConfig()
	ip := n.lay.addr(i).String()
	c.ListenAddr = net.JoinHostPort(ip, strconv.Itoa(int(n.lay.Nodes[i].Port)))
	c.PublicIP = ip
	c.AdminAddr = ""
	c.DataDir = filepath.Join(n.dir, n.lay.Nodes[i].Dir)
	c.Limits.ClientRate = 0
	if n.opts.Tune != nil {
		n.opts.Tune(i, &c)
	}
	return c
}

// networkFile is the client's network file (client.Network, plus the
// fields a client may use to skip the bootstrap).
type networkFile struct {
	SeedNodes       []seedEntry  `json:"seed_nodes"`
	AllowSameSubnet bool         `json:"allow_same_subnet"`
	Ledger          *ledgerEntry `json:"ledger,omitempty"`
	// FileServers are the devnet's file servers (SetFileServers).
	FileServers []FileServerEntry `json:"file_servers,omitempty"`
	// Communities are the devnet's community servers (SetCommunities).
	Communities []CommunityEntry `json:"communities,omitempty"`
}

// ledgerEntry is the ledger a client verifies node lists against
// (client.LedgerTrust, docs/nodeproof.md): on a CometBFT network, its
// chain id and genesis validators.
type ledgerEntry struct {
	ChainID    string           `json:"chain_id"`
	Validators []validatorEntry `json:"validators"`
}

type validatorEntry struct {
	PubKey string `json:"pub_key_ed25519"`
	Power  int64  `json:"power"`
}

// seedEntry is a seed of the network file: its URL and the SHA-256 of its
// certificate, which clients pin.
type seedEntry struct {
	URL        string `json:"url"`
	CertSHA256 string `json:"cert_sha256"`
}

func (n *Network) writeNetworkFile() error {
	n.mu.Lock()
	nf := networkFile{AllowSameSubnet: n.lay.Addresses == SharedAddress, FileServers: n.fileServers, Communities: n.communities}
	n.mu.Unlock()
	for i, u := range n.SeedURLs() {
		pin, err := snode.CertificateSHA256(n.keys[i])
		if err != nil {
			return fmt.Errorf("testnet: certificate of node %d: %w", i, err)
		}
		nf.SeedNodes = append(nf.SeedNodes, seedEntry{URL: u, CertSHA256: hex.EncodeToString(pin[:])})
	}
	if cl, ok := n.ledger.(*CometLedger); ok {
		chainID, vals, err := ledger.GenesisTrust(cl.c.Dir)
		if err != nil {
			return fmt.Errorf("testnet: ledger validators: %w", err)
		}
		nf.Ledger = &ledgerEntry{ChainID: chainID}
		for _, v := range vals {
			nf.Ledger.Validators = append(nf.Ledger.Validators, validatorEntry{PubKey: hex.EncodeToString(v.PubKey[:]), Power: v.Power})
		}
	}
	data, err := json.MarshalIndent(nf, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(n.NetworkFile(), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("testnet: write network file: %w", err)
	}
	if rpc := n.LedgerRPC(); rpc != "" {
		// For `sottod ledger --node $(cat DIR/ledger-rpc) …`.
		url := "http://" + strings.TrimPrefix(rpc, "tcp://") + "\n"
		if err := atomicfile.Write(filepath.Join(n.dir, LedgerRPCFile), []byte(url), 0o644); err != nil {
			return fmt.Errorf("testnet: write ledger rpc file: %w", err)
		}
	}
	return nil
}

// LedgerRPCFile holds the CometBFT ledger's RPC URL (http://ip:port) in a
// CometBFT network's directory, rewritten at every start.
const LedgerRPCFile = "ledger-rpc"

// startAll starts every node at once and waits for all of them.
func (n *Network) startAll(ctx context.Context) error {
	errs := make([]error, len(n.members))
	var wg sync.WaitGroup
	for i := range n.members {
		wg.Go(func() { errs[i] = n.Start(ctx, i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Dir is the network's directory.
func (n *Network) Dir() string { return n.dir }

// Len is the number of nodes.
func (n *Network) Len() int { return len(n.lay.Nodes) }

// Nodes describes every node.
func (n *Network) Nodes() []NodeInfo {
	swarmOf := n.swarmIDs()
	out := make([]NodeInfo, len(n.members))
	for i, m := range n.members {
		out[i] = m.info
		out[i].Swarm = swarmOf[i]
	}
	return out
}

// Node describes node i.
func (n *Network) Node(i int) NodeInfo { return n.Nodes()[i] }

// NetworkFile is the path of DIR/network.json, the client's network file.
func (n *Network) NetworkFile() string { return filepath.Join(n.dir, NetworkFile) }

// SeedURLs are the base URLs of every node.
func (n *Network) SeedURLs() []string {
	out := make([]string, len(n.lay.Nodes))
	for i := range n.lay.Nodes {
		out[i] = n.lay.url(i)
	}
	return out
}

// swarmIDs is each node's swarm in the ledger's current node list.
func (n *Network) swarmIDs() []uint64 {
	out := make([]uint64, len(n.keys))
	byKey := map[[32]byte]uint64{}
	if v := n.ledger.View(); v != nil {
		for _, ln := range v.Current().Nodes {
			if ln.State == ledger.StateActive {
				byKey[ln.Ed25519] = ln.SwarmID
			}
		}
	}
	for i, k := range n.keys {
		id, ok := byKey[k.Ed25519Public()]
		if !ok {
			id = swarm.UnassignedID
		}
		out[i] = id
	}
	return out
}

// Swarms maps each swarm id of the ledger's current node list to the
// indexes of its active nodes.
func (n *Network) Swarms() map[uint64][]int {
	out := map[uint64][]int{}
	for i, id := range n.swarmIDs() {
		if id != swarm.UnassignedID {
			out[id] = append(out[id], i)
		}
	}
	return out
}

// SwarmOf returns the swarm responsible for an account key (the key of a
// Session ID without its prefix) and the indexes of its nodes.
func (n *Network) SwarmOf(account [32]byte) (uint64, []int) {
	sw := n.Swarms()
	ids := make([]uint64, 0, len(sw))
	for id := range sw {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	id, ok := swarm.SelectKey(ids, account)
	if !ok {
		return swarm.UnassignedID, nil
	}
	return id, sw[id]
}

// Ledger is the network's ledger.
func (n *Network) Ledger() Ledger { return n.ledger }

// HTTPClient is a client for talking to the nodes directly (it accepts
// their self-signed certificates, as Session clients do).
func (n *Network) HTTPClient() *http.Client { return n.client }

func (n *Network) member(i int) (*member, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	if i < 0 || i >= len(n.members) {
		return nil, fmt.Errorf("testnet: no node %d", i)
	}
	return n.members[i], nil
}

func (n *Network) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// Running reports whether node i is started (a paused node is running).
func (n *Network) Running(i int) bool {
	if i < 0 || i >= len(n.members) {
		return false
	}
	m := n.members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running()
}

// Start starts node i if it is not running and waits until it answers.
func (n *Network) Start(ctx context.Context, i int) error {
	m, err := n.member(i)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running() {
		return nil
	}
	if n.isClosed() {
		return ErrClosed
	}
	if n.opts.Subprocess {
		err = n.startChild(m)
	} else {
		err = n.startInProcess(m)
	}
	if err != nil {
		return fmt.Errorf("testnet: start node %d: %w", i, err)
	}
	if err := n.waitReady(ctx, m); err != nil {
		return fmt.Errorf("testnet: node %d: %w", i, err)
	}
	return nil
}

func (n *Network) nodeLogger(m *member) (*slog.Logger, *os.File, error) {
	if m.info.LogFile == "" {
		return n.log.With("node", m.info.Index), nil, nil
	}
	f, err := os.OpenFile(m.info.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: n.opts.LogLevel})), f, nil
}

// startInProcess creates and serves the node; called with m.mu held.
func (n *Network) startInProcess(m *member) error {
	log, f, err := n.nodeLogger(m)
	if err != nil {
		return err
	}
	duty, err := n.ledgerDuty(m)
	if err == nil {
		var p *nodeProc
		view := n.ledger.View()
		if n.opts.View != nil {
			view = n.opts.View(m.info, view)
		}
		deps := snode.Deps{Logger: log, View: view, Ledger: duty}
		if n.lay.Addresses != SharedAddress {
			deps.Dial = n.nodeDial(m.info.Index)
		}
		n.linkDeps(m.info.Index, &deps)
		create := func() error {
			p, err = newNodeProc(m.cfg, deps)
			return err
		}
		if n.netns != nil {
			// The listener is made inside the node's namespace.
			err = n.netns.run(fmt.Sprintf("n%d", m.info.Index), create)
		} else {
			err = create()
		}
		if err == nil {
			m.proc = p
		}
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return err
	}
	p := m.proc
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := p.serve(ctx)
		if f != nil {
			f.Close()
		}
		done <- err
	}()
	m.cancel, m.done, m.logF = cancel, done, nil
	return nil
}

// startChild runs the node as a child process; called with m.mu held.
func (n *Network) startChild(m *member) error {
	if err := n.frontChild(m); err != nil {
		return err
	}
	argv, env, err := n.childCommand(m)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(m.info.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = m.info.DataDir
	setChildAttrs(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		f.Close()
		done <- err
	}()
	m.cmd, m.done, m.logF, m.paused = cmd, done, f, false
	return nil
}

// SottodConfigFile is the configuration a `sottod run` child reads.
const SottodConfigFile = "sottod.json"

// sottodConfig is sottod's configuration file: the node configuration at
// the top level and where the node list comes from.
type sottodConfig struct {
	snode.Config
	GenesisFile string `json:"genesis_file,omitempty"`
	LedgerRPC   string `json:"ledger_rpc,omitempty"`
	OperatorKey string `json:"operator_key,omitempty"`
	LogLevel    string `json:"log_level"`
}

// childCommand is the command line and extra environment of node m's
// child process.
func (n *Network) childCommand(m *member) (argv, env []string, err error) {
	if n.opts.Sottod != "" {
		sc := sottodConfig{Config: m.cfg, GenesisFile: n.ledger.GenesisPath(), LogLevel: n.opts.LogLevel.String()}
		if sc.GenesisFile == "" {
			sc.LedgerRPC, sc.OperatorKey = n.LedgerRPC(), m.info.OperatorKey
		}
		data, err := json.MarshalIndent(sc, "", "  ")
		if err != nil {
			return nil, nil, err
		}
		path := filepath.Join(m.info.DataDir, SottodConfigFile)
		if err := atomicfile.Write(path, append(data, '\n'), 0o600); err != nil {
			return nil, nil, err
		}
		return []string{n.opts.Sottod, "run", "--config", path}, nil, nil
	}
	spec := &childSpec{Config: m.cfg, Genesis: n.ledger.GenesisPath(), LogLevel: n.opts.LogLevel}
	if spec.Genesis == "" {
		spec.LedgerRPC, spec.OperatorKey = n.LedgerRPC(), m.info.OperatorKey
		if cl, ok := n.ledger.(*CometLedger); ok {
			spec.Poll = dutyPoll(cl.Params().BlockTime)
		}
	}
	specPath, err := writeChildSpec(m.info.DataDir, spec)
	if err != nil {
		return nil, nil, err
	}
	argv = n.opts.Command
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, nil, err
		}
		argv = []string{exe}
	}
	return argv, []string{EnvChild + "=" + specPath}, nil
}

// waitReady polls the node until it answers a storage RPC, the node
// process ends, or the ready timeout passes; called with m.mu held.
func (n *Network) waitReady(ctx context.Context, m *member) error {
	ctx, cancel := context.WithTimeout(ctx, n.opts.ReadyTimeout)
	defer cancel()
	done := m.done
	t := time.NewTicker(25 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		if last = n.ping(ctx, m.info.URL); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last error: %v)", ctx.Err(), last)
		case err := <-done:
			// Put the result back for Stop, which waits on it.
			done <- err
			return fmt.Errorf("exited while starting: %v%s", err, n.logTail(m))
		case <-t.C:
		}
	}
}

// logTail is the end of a node's log file, for error messages.
func (n *Network) logTail(m *member) string {
	if m.info.LogFile == "" {
		return ""
	}
	b, err := os.ReadFile(m.info.LogFile)
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\n" + string(b)
}

// ping sends the storage RPC "info" to a node.
func (n *Network) ping(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, body, err := Post(ctx, n.client, url+"/storage_rpc/v1", []byte(`{"method":"info","params":{}}`))
	if err != nil {
		return err
	}
	if st != http.StatusOK {
		return fmt.Errorf("info: HTTP %d: %.200s", st, body)
	}
	return nil
}

// Post sends body to url and returns the status and the response body
// (at most 64 MiB).
func Post(ctx context.Context, c *http.Client, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, b, err
}

// Stop shuts node i down gracefully (SIGTERM for a child) and waits for
// it. Stopping a stopped node does nothing.
func (n *Network) Stop(i int) error {
	m, err := n.member(i)
	if err != nil {
		return err
	}
	return n.stop(m, false)
}

// Kill stops node i without a graceful shutdown: SIGKILL for a child; an
// in-process node is stopped as by Stop (a process cannot crash part of
// itself).
func (n *Network) Kill(i int) error {
	m, err := n.member(i)
	if err != nil {
		return err
	}
	return n.stop(m, true)
}

func (n *Network) stop(m *member, kill bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running() {
		return nil
	}
	var err error
	if m.cmd != nil {
		err = stopChild(m, kill)
	} else {
		m.cancel()
		err = <-m.done
	}
	m.cmd, m.cancel, m.done, m.logF, m.paused, m.proc = nil, nil, nil, nil, false, nil
	return err
}

// stopChild signals a child and waits for it; after a kill the exit
// status is not an error.
func stopChild(m *member, kill bool) error {
	if m.paused {
		_ = resumeProcess(m.cmd.Process)
	}
	if kill {
		_ = m.cmd.Process.Kill()
		<-m.done
		return nil
	}
	_ = terminateProcess(m.cmd.Process)
	select {
	case err := <-m.done:
		return err
	case <-time.After(stopTimeout):
		_ = m.cmd.Process.Kill()
		<-m.done
		return fmt.Errorf("node %d did not stop within %v; killed", m.info.Index, stopTimeout)
	}
}

// Restart stops node i (if running) and starts it again with the same
// key, port and data directory.
func (n *Network) Restart(ctx context.Context, i int) error {
	if err := n.Stop(i); err != nil {
		return err
	}
	return n.Start(ctx, i)
}

// Pause freezes node i with SIGSTOP (Subprocess mode only): its port stays
// open but nothing answers.
func (n *Network) Pause(i int) error {
	m, err := n.member(i)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		if !n.opts.Subprocess {
			return ErrUnsupported
		}
		return fmt.Errorf("testnet: node %d is not running", i)
	}
	if err := pauseProcess(m.cmd.Process); err != nil {
		return err
	}
	m.paused = true
	return nil
}

// Resume continues a paused node with SIGCONT.
func (n *Network) Resume(i int) error {
	m, err := n.member(i)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		if !n.opts.Subprocess {
			return ErrUnsupported
		}
		return fmt.Errorf("testnet: node %d is not running", i)
	}
	if err := resumeProcess(m.cmd.Process); err != nil {
		return err
	}
	m.paused = false
	return nil
}

// Close stops every node, the ledger, and removes a temporary directory.
// It is idempotent.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	errs := make([]error, len(n.members))
	var wg sync.WaitGroup
	for i, m := range n.members {
		wg.Go(func() { errs[i] = n.stop(m, false) })
	}
	wg.Wait()
	n.closeFronts()
	if n.stopBG != nil {
		n.stopBG()
		n.bgWG.Wait()
	}
	if n.client != nil {
		n.client.CloseIdleConnections()
	}
	n.removeTmp()
	return errors.Join(errs...)
}

// probeClient accepts the nodes' self-signed certificates.
func probeClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, // node certificates are self-signed; clients do not verify them
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}}
}
