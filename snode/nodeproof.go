package snode

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"sotto.dev/ledger"
	"sotto.dev/nodeproof"
	"sotto.dev/storagerpc"
)

// proofCache builds node-list proofs (docs/nodeproof.md) and keeps the
// last one while the view has no newer block, so that clients asking at
// once cost one ledger round trip.
type proofCache struct {
	prove func(context.Context, []*ledger.Snapshot) (*nodeproof.ProofJSON, error)

	mu     sync.Mutex // held while building, so concurrent askers share one build
	newest *ledger.Snapshot
	answer json.RawMessage
}

// errNoProof is the answer of a node whose ledger signs no headers.
var errNoProof = storagerpc.Unavailable("no node-list proof: this node's ledger has no signed headers (a genesis-file network)")

// nodeListProof answers sotto_service_nodes_proof: the proof of the
// newest snapshot the view kept whose next block is committed.
func (n *Node) nodeListProof(ctx context.Context) (json.RawMessage, error) {
	c := &n.proofs
	if c.prove == nil {
		return nil, errNoProof
	}
	var snaps []*ledger.Snapshot
	if rv, ok := n.view.(ledger.RecentView); ok {
		snaps = rv.Recent()
	} else {
		snaps = []*ledger.Snapshot{n.view.Current()}
	}
	if len(snaps) == 0 {
		return nil, storagerpc.Unavailable("no node-list proof yet: the ledger view is empty")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.newest == snaps[0] && c.answer != nil {
		return c.answer, nil
	}
	p, err := c.prove(ctx, snaps)
	switch {
	case errors.Is(err, ledger.ErrNoProof):
		return nil, storagerpc.Unavailable("no node-list proof yet: try again after the next block")
	case err != nil:
		n.log.Warn("node-list proof failed", "err", err)
		return nil, storagerpc.BadGateway("node-list proof: the ledger did not answer")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	c.newest, c.answer = snaps[0], b
	return b, nil
}
