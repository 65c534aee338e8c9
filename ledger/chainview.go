package ledger

import (
	"slices"
	"sync"

	"sotto.dev/ledger/state"
)

// ChainView is the View of the CometBFT ledger: App publishes a snapshot
// to it after every commit (embedded or validator mode), or a Follower
// does after polling a ledger node over RPC.
//
// Current always returns the latest height. Changed fires only when the
// node list itself changes (a node joins, leaves, changes swarm, address,
// keys, state or version), not on every block.
type ChainView struct {
	mu     sync.Mutex
	snap   *Snapshot
	recent []*Snapshot // newest first, at most keepRecent
	ch     chan struct{}
}

// keepRecent is how many snapshots a ChainView keeps for Recent: a node
// proves the list at height H with the header of block H+1, so it serves a
// snapshot one block or more behind the latest.
const keepRecent = 8

var _ View = (*ChainView)(nil)

// NewChainView returns a view holding an empty snapshot at height 0.
func NewChainView() *ChainView {
	return &ChainView{snap: &Snapshot{}, ch: make(chan struct{})}
}

// Current returns the latest snapshot; never nil.
func (v *ChainView) Current() *Snapshot {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.snap
}

// Changed returns a channel closed at the next change of the node list.
func (v *ChainView) Changed() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.ch
}

// Recent returns the last snapshots published, newest first, one per
// height (at most 8; heights the view skipped are missing).
func (v *ChainView) Recent() []*Snapshot {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.recent)
}

func (v *ChainView) publish(s *Snapshot) {
	v.mu.Lock()
	defer v.mu.Unlock()
	changed := !slices.Equal(v.snap.Nodes, s.Nodes)
	v.snap = s
	if len(v.recent) == 0 || v.recent[0].Height != s.Height {
		v.recent = append([]*Snapshot{s}, v.recent[:min(len(v.recent), keepRecent-1)]...)
	} else {
		v.recent[0] = s
	}
	if changed {
		close(v.ch)
		v.ch = make(chan struct{})
	}
}

// snapshotOf lists the serving nodes of st: active ones, including those
// whose stake is unlocking (StateUnlocking). Decommissioned, deregistered
// and not yet fully staked nodes serve no swarm and are left out; the
// Client's node queries report them.
func snapshotOf(st *state.State, stateHash [32]byte) *Snapshot {
	s := &Snapshot{Height: st.Height(), StateHash: stateHash}
	for _, n := range st.Nodes() {
		if n.Status != state.StatusActive {
			continue
		}
		s.Nodes = append(s.Nodes, viewNode(&n))
	}
	return s
}

func viewNode(n *state.Node) Node {
	vn := Node{
		Ed25519:               n.Key,
		X25519:                n.X25519,
		PublicIP:              n.IP.String(),
		StoragePort:           n.Port,
		SwarmID:               n.SwarmID,
		State:                 StateActive,
		RequestedUnlockHeight: n.UnlockHeight,
		Version:               n.Version,
		Operator:              n.Operator,
		Caps:                  n.Caps,
	}
	switch {
	case n.Status == state.StatusDecommissioned:
		vn.State = StateDecommissioned
	case n.Status == state.StatusDeregistered:
		vn.State = StateDeregistered
	case n.UnlockHeight != 0:
		vn.State = StateUnlocking
	}
	return vn
}
