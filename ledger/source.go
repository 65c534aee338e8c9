package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"sotto.dev/ledger/state"
)

// EmbeddedChainID is the chain id of a ledger OpenSource creates for
// SourceConfig.Embedded.
const EmbeddedChainID = "sotto-devnet"

// Funds of a new embedded ledger (OpenSource): its reward pool and the
// operator account's balance.
const (
	EmbeddedPool            = 1_000_000 * state.Coin
	EmbeddedOperatorBalance = 1_000_000 * state.Coin
)

// firstSyncTimeout bounds OpenSource's first sync with a ledger node over
// RPC, which may still be starting; firstSyncRetry is the pause between
// tries.
const (
	firstSyncTimeout = 30 * time.Second
	firstSyncRetry   = 250 * time.Millisecond
)

// SourceConfig says where a service node reads the node list from:
// exactly one of GenesisFile, RPC and Embedded.
type SourceConfig struct {
	// GenesisFile is a genesis node list (WriteGenesis), watched for
	// changes and reloaded by Source.Reload.
	GenesisFile string
	// RPC is the CometBFT RPC address of a ledger node to follow
	// ("tcp://host:26657").
	RPC string
	// Embedded is the home of a single-validator ledger that runs in this
	// process, created on first use (chain EmbeddedChainID) with Params,
	// a reward pool and Operator's account funded in its genesis.
	Embedded string
	// RPCListen serves the embedded ledger's CometBFT RPC there; fixed
	// when the home is created.
	RPCListen string
	// Params are the rules of a new embedded ledger (nil: the devnet's,
	// state.DevnetParams).
	Params *state.Params
	// Operator is the account the node registers with (Source.Operator):
	// required with Embedded, optional with RPC, unused with a genesis
	// file.
	Operator state.Signer
	// Logger receives the source's logs; nil discards them.
	Logger *slog.Logger
}

// Source is an open node-list source: the View a node serves from, and
// with a ledger the client and operator key of the node's ledger duties.
// Serve keeps it current; Close releases it after Serve returned.
type Source struct {
	view     View
	client   *Client
	operator state.Signer
	poll     time.Duration
	genesis  *GenesisView
	serve    func(context.Context) error
	close    func()
}

// OpenSource opens the source c names. With RPC it waits (up to 30 s, for
// a ledger node that is still starting) until the first node list is
// read.
func OpenSource(ctx context.Context, c SourceConfig) (*Source, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.Embedded != "":
		return openEmbeddedSource(c)
	case c.RPC != "":
		return openRPCSource(ctx, c)
	case c.GenesisFile != "":
		g, err := NewGenesisView(c.GenesisFile, c.Logger, 0)
		if err != nil {
			return nil, err
		}
		return &Source{view: g, genesis: g, serve: g.Serve, close: func() {}}, nil
	}
	return nil, errors.New("ledger: no node list source")
}

// openEmbeddedSource prepares the embedded ledger of c: its home and, on
// first start, a genesis with the rules, a reward pool and the operator's
// account funded. The ledger's duties are polled at half a block time
// (between 100 ms and 1 s).
func openEmbeddedSource(c SourceConfig) (*Source, error) {
	if c.Operator == nil {
		return nil, errors.New("ledger: an embedded ledger needs an operator key")
	}
	params := state.DevnetParams()
	if c.Params != nil {
		params = *c.Params
	}
	g := &state.Genesis{
		Params: &params,
		Pool:   EmbeddedPool,
		Accounts: []state.GenesisAccount{
			{Address: state.Address(c.Operator.PublicKey()).String(), Balance: EmbeddedOperatorBalance},
		},
	}
	e, err := NewEmbedded(EmbeddedConfig{
		Dir: c.Embedded, ChainID: EmbeddedChainID, Genesis: g,
		Home: HomeConfig{RPCListen: c.RPCListen}, Logger: c.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded ledger: %w", err)
	}
	return &Source{
		view: e.View(), client: e.Client(), operator: c.Operator,
		poll:  min(max(params.BlockTime/2, 100*time.Millisecond), time.Second),
		serve: e.Serve, close: func() {},
	}, nil
}

// openRPCSource dials the ledger node at c.RPC and reads the first node
// list.
func openRPCSource(ctx context.Context, c SourceConfig) (*Source, error) {
	client, err := Dial(c.RPC)
	if err != nil {
		return nil, err
	}
	f := NewFollower(client, time.Second, c.Logger)
	sctx, cancel := context.WithTimeout(ctx, firstSyncTimeout)
	defer cancel()
	for err = f.Sync(sctx); err != nil && sctx.Err() == nil; err = f.Sync(sctx) {
		select {
		case <-sctx.Done():
		case <-time.After(firstSyncRetry):
		}
	}
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("ledger: first sync: %w", err)
	}
	return &Source{
		view: f.View(), client: client, operator: c.Operator,
		serve: f.Serve, close: client.Close,
	}, nil
}

// View is the node list.
func (s *Source) View() View { return s.view }

// Client reaches the ledger; nil for a genesis file.
func (s *Source) Client() *Client { return s.client }

// Operator is the key the node registers with; nil when there is none.
func (s *Source) Operator() state.Signer { return s.operator }

// Poll is how often the node checks the ledger for its duties (0: the
// node's default).
func (s *Source) Poll() time.Duration { return s.poll }

// Serve keeps the view current (and runs the embedded ledger) until ctx
// ends. An error means the source stopped on its own.
func (s *Source) Serve(ctx context.Context) error { return s.serve(ctx) }

// Reload reads a genesis file again now (at SIGHUP, say) and reports
// whether the node list changed; other sources follow by themselves and
// report false.
func (s *Source) Reload() (changed bool, err error) {
	if s.genesis == nil {
		return false, nil
	}
	return s.genesis.Reload()
}

// IsGenesisFile reports whether the source is a genesis file.
func (s *Source) IsGenesisFile() bool { return s.genesis != nil }

// Close releases the source's connections; call it after Serve returned.
func (s *Source) Close() { s.close() }
