package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"sotto.dev/internal/linkem"
	"sotto.dev/ledger"
	"sotto.dev/ledger/state"
)

// CometLedgerConfig configures a CometLedger.
type CometLedgerConfig struct {
	// Dir is the ledger home (created on first use, reused afterwards).
	Dir string
	// ChainID of a new ledger (default "sotto-devnet").
	ChainID string
	// Params are the rules of a new ledger (default state.DevnetParams).
	Params *state.Params
	// Operators are funded in a new ledger's genesis, each with
	// OperatorBalance (default 10 stakes).
	Operators       []state.Address
	OperatorBalance uint64
	// RPCListen is the IPv4 address the CometBFT RPC listens on, on a free
	// port chosen at every start ("" for none): child processes follow the
	// ledger there.
	RPCListen string
	// Link, when set, puts the RPC behind a link-emulating proxy
	// (endpoint LedgerEndpoint): RPCAddr is the proxy's address, and the
	// RPC listens on another free port.
	Link   *linkem.Network
	Logger *slog.Logger
}

// CometLedger is the embedded CometBFT ledger of a network (Options.CometBFT):
// one validator in DIR/ledger whose genesis holds the rules, a reward pool
// and the funded accounts of the nodes' operators, and no node. The nodes
// register themselves with their operator keys when they start, send their
// own uptime proofs and do their quorum duty (snode.Duties), so the node
// list, the swarms and every node's state are the ledger's own: a node that
// stops is decommissioned and, if it stays away, deregistered.
type CometLedger struct {
	c   CometLedgerConfig
	rpc string
	// listen is where the RPC listens: rpc, or with Link the proxy's
	// target.
	listen string

	mu sync.Mutex
	e  *ledger.Embedded
}

var _ Ledger = (*CometLedger)(nil)

// NewCometLedger returns the ledger, with a free RPC port chosen;
// nothing runs until Publish and Serve.
func NewCometLedger(c CometLedgerConfig) (*CometLedger, error) {
	if c.ChainID == "" {
		c.ChainID = "sotto-devnet"
	}
	if c.Params == nil {
		p := state.DevnetParams()
		c.Params = &p
	}
	if c.OperatorBalance == 0 {
		c.OperatorBalance = 10 * c.Params.StakingRequirement
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	l := &CometLedger{c: c}
	if c.RPCListen != "" {
		ip, err := listenAddr(c.RPCListen)
		if err != nil {
			return nil, fmt.Errorf("testnet: ledger rpc: %w", err)
		}
		k := 1
		if c.Link != nil {
			k = 2
		}
		ports, err := freePorts(ip, k)
		if err != nil {
			return nil, err
		}
		l.rpc = "tcp://" + net.JoinHostPort(ip.String(), strconv.Itoa(int(ports[0])))
		l.listen = l.rpc
		if c.Link != nil {
			l.listen = "tcp://" + net.JoinHostPort(ip.String(), strconv.Itoa(int(ports[1])))
		}
	}
	return l, nil
}

// Publish implements Ledger. The first call opens the ledger (writing its
// genesis on first use); the node list itself is not published: nodes
// register themselves.
func (l *CometLedger) Publish(context.Context, *ledger.Snapshot) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.e != nil {
		return nil
	}
	g := &state.Genesis{Params: l.c.Params, Pool: 1_000_000 * state.Coin}
	for _, a := range l.c.Operators {
		g.Accounts = append(g.Accounts, state.GenesisAccount{Address: a.String(), Balance: l.c.OperatorBalance})
	}
	home := ledger.HomeConfig{Moniker: "sotto-devnet", P2PListen: "tcp://127.0.0.1:0", Loopback: true, RPCListen: l.listen}
	// InitHome keeps existing keys and rewrites only the listen addresses,
	// so a restart gets a free RPC port again.
	if _, err := ledger.InitHome(l.c.Dir, home); err != nil {
		return err
	}
	e, err := ledger.NewEmbedded(ledger.EmbeddedConfig{Dir: l.c.Dir, ChainID: l.c.ChainID, Genesis: g, Logger: l.c.Logger})
	if err != nil {
		return err
	}
	l.e = e
	return nil
}

func (l *CometLedger) embedded() *ledger.Embedded {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.e
}

// View implements Ledger.
func (l *CometLedger) View() ledger.View {
	if e := l.embedded(); e != nil {
		return e.View()
	}
	return nil
}

// GenesisPath implements Ledger: "", children follow RPCAddr.
func (l *CometLedger) GenesisPath() string { return "" }

// RPCAddr is the CometBFT RPC address ("tcp://ip:port"), "" without one.
func (l *CometLedger) RPCAddr() string { return l.rpc }

// Client returns an in-process client; nil before the first Publish.
func (l *CometLedger) Client() *ledger.Client {
	if e := l.embedded(); e != nil {
		return e.Client()
	}
	return nil
}

// Params are the rules of a new ledger (an existing one keeps those of
// its genesis; Client().Status tells them).
func (l *CometLedger) Params() state.Params { return *l.c.Params }

// Serve implements Ledger: it runs the CometBFT node until ctx ends (and
// with Link the proxy in front of its RPC).
func (l *CometLedger) Serve(ctx context.Context) error {
	e := l.embedded()
	if e == nil {
		return errors.New("testnet: CometBFT ledger served before the first Publish")
	}
	if l.listen == l.rpc {
		return e.Serve(ctx)
	}
	f, err := startFront(ctx, l.c.Link, netip.MustParseAddrPort(strings.TrimPrefix(l.rpc, "tcp://")), LedgerEndpoint, strings.TrimPrefix(l.listen, "tcp://"))
	if err != nil {
		return err
	}
	defer f.close()
	return e.Serve(ctx)
}

// dutyPoll is how often nodes look at a ledger with blocks every
// blockTime.
func dutyPoll(blockTime time.Duration) time.Duration {
	return min(max(blockTime/2, 100*time.Millisecond), time.Second)
}
