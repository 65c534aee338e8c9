package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"sotto.dev/ledger"
)

// Ledger is the source of the network's node list. The harness publishes
// the list once every node has a key and a port; nodes read it through
// View. The default is a GenesisLedger; a CometLedger (Options.CometBFT)
// ignores the published list because its nodes register themselves.
type Ledger interface {
	// Publish makes snap the network's node list.
	Publish(ctx context.Context, snap *ledger.Snapshot) error
	// View is what in-process nodes read; valid after the first Publish.
	View() ledger.View
	// GenesisPath is a genesis file that child processes can follow with
	// a ledger.GenesisView, or "" when this ledger cannot serve children.
	GenesisPath() string
	// Serve runs the ledger until ctx ends.
	Serve(ctx context.Context) error
}

// GenesisLedger is a Ledger kept in a genesis file (ledger.GenesisFile):
// Publish rewrites the file and in-process nodes see the change at once;
// child processes and edits made by hand are picked up by polling while
// Serve runs.
type GenesisLedger struct {
	path string
	log  *slog.Logger
	poll time.Duration

	mu   sync.Mutex
	view *ledger.GenesisView
}

// GenesisPoll is how often a GenesisLedger (and a child node) re-reads the
// genesis file.
const GenesisPoll = 500 * time.Millisecond

// NewGenesisLedger returns a ledger kept at path; the file is written by
// the first Publish. logger may be nil.
func NewGenesisLedger(path string, logger *slog.Logger) *GenesisLedger {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &GenesisLedger{path: path, log: logger, poll: GenesisPoll}
}

// Publish implements Ledger.
func (g *GenesisLedger) Publish(_ context.Context, snap *ledger.Snapshot) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := ledger.WriteGenesis(g.path, snap); err != nil {
		return err
	}
	if g.view == nil {
		v, err := ledger.NewGenesisView(g.path, g.log, g.poll)
		if err != nil {
			return err
		}
		g.view = v
		return nil
	}
	if _, err := g.view.Reload(); err != nil {
		return fmt.Errorf("testnet: reload genesis: %w", err)
	}
	return nil
}

// View implements Ledger.
func (g *GenesisLedger) View() ledger.View {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.view == nil {
		return nil
	}
	return g.view
}

// GenesisPath implements Ledger.
func (g *GenesisLedger) GenesisPath() string { return g.path }

// Serve implements Ledger: it follows the file until ctx ends.
func (g *GenesisLedger) Serve(ctx context.Context) error {
	g.mu.Lock()
	v := g.view
	g.mu.Unlock()
	if v == nil {
		return errors.New("testnet: genesis ledger served before the first Publish")
	}
	return v.Serve(ctx)
}
