package ledger

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/libs/service"
	"github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/proxy"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	"github.com/cometbft/cometbft/rpc/client/local"
	"github.com/cometbft/cometbft/types"

	"sotto.dev/ledger/state"
)

// EmbeddedConfig configures an in-process ledger node.
type EmbeddedConfig struct {
	// Dir is the ledger home (see InitHome). It is created if missing.
	Dir string
	// ChainID and Genesis start a new single-validator network the first
	// time Dir is used: this node's consensus key becomes the only
	// validator. Ignored when Dir already holds a genesis.
	ChainID string
	Genesis *state.Genesis
	// Home is used when Dir has no config/ledger.json yet. Its zero value
	// listens for p2p on a random loopback port and serves no RPC.
	Home HomeConfig
	// Logger receives the ledger's logs (and CometBFT's, at Debug).
	Logger *slog.Logger
}

// Embedded runs a CometBFT node with the ledger App in this process: a
// single validator for a devnet (what `sottod devnet` uses), or a validator
// or full node of a real network when Dir was prepared with InitHome and a
// network genesis.
type Embedded struct {
	dir  string
	log  *slog.Logger
	view *ChainView
	app  *App

	ready   chan struct{}
	mu      sync.Mutex
	rpc     rpcclient.Client
	nodeID  string
	started bool
}

// NewEmbedded prepares the home directory (keys, genesis, config) and the
// App. Nothing runs until Serve.
func NewEmbedded(c EmbeddedConfig) (*Embedded, error) {
	if c.Dir == "" {
		return nil, errors.New("ledger: embedded node needs a directory")
	}
	logger := c.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if _, err := os.Stat(filepath.Join(c.Dir, homeConfigFile)); errors.Is(err, fs.ErrNotExist) {
		home := c.Home
		if home.P2PListen == "" {
			home.P2PListen = "tcp://127.0.0.1:0"
			home.Loopback = true
		}
		if home.Moniker == "" {
			home.Moniker = "sotto-ledger"
		}
		if _, err := InitHome(c.Dir, home); err != nil {
			return nil, err
		}
	}
	info, err := ReadHome(c.Dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.Dir, genesisFile)); errors.Is(err, fs.ErrNotExist) {
		if c.Genesis == nil || c.ChainID == "" {
			return nil, fmt.Errorf("ledger: %s has no genesis and none was given", c.Dir)
		}
		doc, err := NewNetworkGenesis(c.ChainID, []NetworkValidator{{Name: "embedded", Key: info.ValidatorKey, Power: 10}}, c.Genesis)
		if err != nil {
			return nil, err
		}
		if err := WriteNetworkGenesis(c.Dir, doc); err != nil {
			return nil, err
		}
	}
	view := NewChainView()
	app, err := NewApp(filepath.Join(c.Dir, dataDir), view, logger)
	if err != nil {
		return nil, err
	}
	return &Embedded{dir: c.Dir, log: logger, view: view, app: app, ready: make(chan struct{}), nodeID: info.NodeID}, nil
}

// View returns the ledger view fed by this node's commits.
func (e *Embedded) View() *ChainView { return e.view }

// App returns the ABCI application.
func (e *Embedded) App() *App { return e.app }

// NodeID returns the CometBFT p2p id.
func (e *Embedded) NodeID() string { return e.nodeID }

// Ready is closed once the node runs and Client calls can be served.
func (e *Embedded) Ready() <-chan struct{} { return e.ready }

// Client returns a client that talks to this node in-process. Its calls
// wait until the node is ready.
func (e *Embedded) Client() *Client {
	return newClient(func(ctx context.Context) (rpcclient.Client, error) {
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.rpc == nil {
			return nil, errors.New("ledger: embedded node stopped")
		}
		return e.rpc, nil
	})
}

// Mempool limits: at most mempoolSize transactions and mempoolBlocks blocks'
// worth of bytes (at most maxMempoolBytes).
const (
	mempoolSize     = 10_000
	mempoolBlocks   = 16
	maxMempoolBytes = 64 << 20
)

// cometConfig builds CometBFT's configuration for the home.
func cometConfig(dir string, home *HomeConfig, p state.Params) (*cfg.Config, error) {
	c := cfg.DefaultConfig()
	c.SetRoot(dir)
	c.Moniker = home.Moniker
	c.ProxyApp = ""
	c.P2P.ListenAddress = home.P2PListen
	c.P2P.ExternalAddress = home.ExternalAddress
	c.P2P.PersistentPeers = strings.Join(home.Peers, ",")
	c.P2P.PexReactor = len(home.Peers) > 0 && !home.NoPEX
	if home.Loopback {
		c.P2P.AddrBookStrict = false
		c.P2P.AllowDuplicateIP = true
	}
	c.RPC.ListenAddress = home.RPCListen
	c.Instrumentation.Prometheus = false
	// Blocks every BlockTime; the other consensus timeouts scale with it so
	// that a devnet with short blocks also recovers quickly from a missing
	// proposer.
	bt := p.BlockTime
	clamp := func(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }
	c.Consensus.TimeoutCommit = bt
	c.Consensus.TimeoutPropose = clamp(3*bt, 300*time.Millisecond, 3*time.Second)
	c.Consensus.TimeoutProposeDelta = clamp(bt/2, 50*time.Millisecond, 500*time.Millisecond)
	c.Consensus.TimeoutPrevote = clamp(bt, 100*time.Millisecond, time.Second)
	c.Consensus.TimeoutPrevoteDelta = clamp(bt/2, 50*time.Millisecond, 500*time.Millisecond)
	c.Consensus.TimeoutPrecommit = clamp(bt, 100*time.Millisecond, time.Second)
	c.Consensus.TimeoutPrecommitDelta = clamp(bt/2, 50*time.Millisecond, 500*time.Millisecond)
	c.Consensus.PeerGossipSleepDuration = clamp(bt/10, 10*time.Millisecond, 100*time.Millisecond)
	// The mempool holds a bounded backlog: every transaction of it is
	// handed to PrepareProposal (see NewNetworkGenesis), which takes node
	// duties first and user transactions up to MaxBlockBytes.
	c.Mempool.MaxTxBytes = state.MaxTxSize
	c.Mempool.Size = mempoolSize
	c.Mempool.MaxTxsBytes = min(mempoolBlocks*p.MaxBlockBytes, maxMempoolBytes)
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("ledger: node config: %w", err)
	}
	return c, nil
}

// Serve runs the node until ctx ends, then stops it and waits for it.
func (e *Embedded) Serve(ctx context.Context) error {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return errors.New("ledger: embedded node already served")
	}
	e.started = true
	e.mu.Unlock()

	home, err := readHomeConfig(e.dir)
	if err != nil {
		return err
	}
	doc, g, err := loadNetworkGenesis(e.dir)
	if err != nil {
		return err
	}
	params := state.MainnetParams()
	if g.Params != nil {
		params = *g.Params
	}
	conf, err := cometConfig(e.dir, home, params)
	if err != nil {
		return err
	}
	pv, err := loadValidator(e.dir)
	if err != nil {
		return err
	}
	nk, err := p2p.LoadNodeKey(conf.NodeKeyFile())
	if err != nil {
		return fmt.Errorf("ledger: node key: %w", err)
	}
	// CometBFT 0.38 does not close its indexer database on Stop, which
	// keeps a restart in the same process from opening it again; every
	// database is tracked here and closed after the node stops.
	var dbs []dbm.DB
	defer func() {
		for _, db := range dbs {
			_ = db.Close() // the ones CometBFT closed itself report ErrClosed
		}
	}()
	dbProvider := func(c *cfg.DBContext) (dbm.DB, error) {
		db, err := cfg.DefaultDBProvider(c)
		if err == nil {
			dbs = append(dbs, db)
		}
		return db, err
	}
	n, err := node.NewNodeWithContext(ctx, conf, pv, nk,
		// One lock per ABCI connection, not one for all: a flood of CheckTx
		// calls does not hold up consensus or queries. App is safe for
		// that (see App).
		proxy.NewConnSyncLocalClientCreator(e.app),
		func() (*types.GenesisDoc, error) { return doc, nil },
		dbProvider,
		node.DefaultMetricsProvider(conf.Instrumentation),
		cmtLogger{e.log.With("module", "cometbft")})
	if err != nil {
		return fmt.Errorf("ledger: start node: %w", err)
	}
	mp := n.Mempool()
	e.app.setMempool(mp.Size, mp.SizeBytes, conf.Mempool.Size, conf.Mempool.MaxTxsBytes)
	if err := n.Start(); err != nil {
		return fmt.Errorf("ledger: start node: %w", err)
	}
	e.mu.Lock()
	e.rpc = local.New(n)
	e.mu.Unlock()
	close(e.ready)
	e.log.Info("ledger node running", "chain_id", doc.ChainID, "node_id", e.nodeID, "p2p", home.P2PListen, "rpc", home.RPCListen)

	<-ctx.Done()
	e.mu.Lock()
	e.rpc = nil
	e.mu.Unlock()
	if err := n.Stop(); err != nil {
		e.log.Warn("ledger node stop", "err", err)
	}
	n.Wait()
	if err := n.ProxyApp().Stop(); err != nil && !errors.Is(err, service.ErrAlreadyStopped) {
		e.log.Debug("ledger proxy app stop", "err", err)
	}
	e.log.Info("ledger node stopped")
	return nil
}
