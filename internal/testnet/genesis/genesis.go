// Package genesis keeps a test network's node list in a genesis file
// (ledger.GenesisFile) that nodes read through a ledger.GenesisView. Both
// internal/testnet and the snode package's in-package tests, which cannot
// import internal/testnet, publish their node lists with it.
package genesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"sotto.dev/ledger"
)

// Ledger is a node list kept in a genesis file (ledger.GenesisFile):
// Publish rewrites the file and in-process nodes see the change at once;
// child processes and edits made by hand are picked up by polling while
// Serve runs.
type Ledger struct {
	path string
	log  *slog.Logger
	poll time.Duration

	mu   sync.Mutex
	view *ledger.GenesisView
}

// Poll is how often a Ledger re-reads the genesis file while it serves.
const Poll = 500 * time.Millisecond

// NewLedger returns a ledger kept at path; the file is written by the
// first Publish. logger may be nil.
func NewLedger(path string, logger *slog.Logger) *Ledger {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Ledger{path: path, log: logger, poll: Poll}
}

// Publish makes snap the node list: it rewrites the file, and the View
// sees the change at once.
func (g *Ledger) Publish(_ context.Context, snap *ledger.Snapshot) error {
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
		return fmt.Errorf("genesis: reload genesis: %w", err)
	}
	return nil
}

// View is the node list as nodes read it; nil before the first Publish.
func (g *Ledger) View() ledger.View {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.view == nil {
		return nil
	}
	return g.view
}

// GenesisPath is the genesis file.
func (g *Ledger) GenesisPath() string { return g.path }

// Serve follows the file, for edits made by others, until ctx ends.
func (g *Ledger) Serve(ctx context.Context) error {
	g.mu.Lock()
	v := g.view
	g.mu.Unlock()
	if v == nil {
		return errors.New("genesis: genesis ledger served before the first Publish")
	}
	return v.Serve(ctx)
}
