package testnet

import (
	"context"

	"sotto.dev/internal/testnet/genesis"
	"sotto.dev/ledger"
)

// Ledger is the source of the network's node list. The harness publishes
// the list once every node has a key and a port; nodes read it through
// View. The default is a genesis.Ledger; a CometLedger (Options.CometBFT)
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

// GenesisPoll is how often the default ledger (and a child node) re-reads
// the genesis file.
const GenesisPoll = genesis.Poll

var _ Ledger = (*genesis.Ledger)(nil)
