// Package ledger holds the network's agreed state: service nodes, their
// stakes, swarms, health and rewards, as an ABCI application run by
// CometBFT, plus the read-only View that service nodes and the bootstrap
// endpoint consume. Until a node runs the CometBFT application, a genesis
// file can feed the same View (see GenesisView).
package ledger

import (
	"sotto.dev/key"
	"sotto.dev/ledger/state"
)

// NodeState is a service node's registration state.
type NodeState uint8

// Node states.
const (
	StateActive NodeState = iota + 1
	StateDecommissioned
	StateDeregistered
	StateUnlocking
)

func (s NodeState) String() string {
	switch s {
	case StateActive:
		return "active"
	case StateDecommissioned:
		return "decommissioned"
	case StateDeregistered:
		return "deregistered"
	case StateUnlocking:
		return "unlocking"
	}
	return "unknown"
}

// UnassignedSwarm is the swarm id of a node that belongs to no swarm
// (Session's INVALID_SWARM_ID, 2^64-1).
const UnassignedSwarm = ^uint64(0)

// Node is one service node as the ledger knows it. Keys are raw 32-byte
// public keys.
type Node struct {
	Ed25519     key.NodePublic  // identity key: names the node, signs results, authenticates node-to-node TLS
	X25519      key.OnionPublic // onion-layer key
	PublicIP    string          // IPv4 dotted quad clients and peers connect to
	StoragePort uint16          // HTTPS port: /storage_rpc/v1, /onion_req/v2, /json_rpc, node-to-node
	SwarmID     uint64          // UnassignedSwarm when in no swarm
	State       NodeState
	// RequestedUnlockHeight is 0 unless the node asked to unlock its stake.
	RequestedUnlockHeight uint64
	Version               [3]uint16
	// Operator is the account that registered the node; zero when the
	// source does not say (a genesis file without operator_address).
	Operator state.Address
	// Caps are the capability bits the node announces (its last uptime
	// proof's; state.UptimeProof.Caps).
	Caps uint32
}

// Snapshot is an immutable view of the network at one ledger height. Nodes
// are sorted by Ed25519 key. Callers must not modify it.
type Snapshot struct {
	Height uint64
	// StateHash is the ledger's state hash at Height, which with the
	// node-list hash of Nodes makes the app hash (docs/nodeproof.md); zero
	// for a genesis-file view, which has no ledger behind it.
	StateHash [32]byte
	Nodes     []Node
}

// RecentView is a View that also keeps the snapshots of recent heights
// (ChainView): a node proves a list with the header of the next block, so
// it serves one of these.
type RecentView interface {
	View
	// Recent returns recent snapshots, newest first.
	Recent() []*Snapshot
}

// View is what a service node and the bootstrap endpoint read from the
// ledger. Implementations: the CometBFT-backed view and GenesisView.
type View interface {
	// Current returns the latest snapshot; never nil.
	Current() *Snapshot
	// Changed returns a channel that is closed at the next change after the
	// call; call again to wait for the following one.
	Changed() <-chan struct{}
}
