// Package swarm maps account public keys onto the ring of swarm ids and
// picks the swarm responsible for an account, exactly as Session's storage
// server and clients do (session-protocol.md §3.6, service-node-network.md
// §4.3).
//
// A swarm id is a uint64 position on a ring. An account's position is the
// XOR of the four big-endian 8-byte words of its 32-byte key (the network
// prefix byte, 05 or 03, is not part of it). The responsible swarm is the
// one whose id is closest to that position on the ring, ties going to the
// lower ("left") neighbour.
//
// The assignment of nodes to swarms (assign.go) is computed by the ledger;
// this file holds only the client-visible mapping and the size constants.
package swarm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Swarm sizes and assignment parameters (service-node-network.md §4.1, from
// oxen-core service_node_rules.h).
const (
	// MinSwarmSize is the size under which a swarm is starving.
	MinSwarmSize = 5
	// IdealSwarmMargin is the margin above MinSwarmSize that new swarms get.
	IdealSwarmMargin = 2
	// IdealSwarmSize is the size of a newly created swarm.
	IdealSwarmSize = MinSwarmSize + IdealSwarmMargin
	// NewSwarmSize is the number of nodes taken to create a new swarm.
	NewSwarmSize = IdealSwarmSize
	// MaxSwarmSize is declared by Session but not enforced by its algorithm.
	MaxSwarmSize = 10
	// ExcessBase is the size above which a swarm's nodes count as excess.
	ExcessBase = MinSwarmSize
	// SwarmBuffer is declared by Session but not used by its algorithm.
	SwarmBuffer = 5
	// FillSwarmLowerPercentile: new nodes go into the smallest 25 % of swarms.
	FillSwarmLowerPercentile = 25
	// DecommissionedRedistributionLowerPercentile: nodes of a dissolved
	// swarm go to the very smallest swarms.
	DecommissionedRedistributionLowerPercentile = 0
	// StealingSwarmUpperPercentile bounds the swarms nodes are taken from
	// to refill a starving swarm.
	StealingSwarmUpperPercentile = 75
)

// Swarm id space (service-node-network.md §4.1).
const (
	// UnassignedID marks a node without a swarm; it is never a real swarm
	// id (Session's UNASSIGNED_SWARM_ID / INVALID_SWARM_ID).
	UnassignedID uint64 = math.MaxUint64
	// MaxID is the largest id a real swarm can have.
	MaxID uint64 = math.MaxUint64 - 1
)

// KeySize is the length of an account key without its network prefix.
const KeySize = 32

// Position returns the position of an account on the swarm ring: the XOR of
// the four 8-byte chunks of its 32 key bytes, read big-endian (Session's
// pubkey_to_swarm_space). pubkey is the key without its network prefix.
func Position(pubkey [KeySize]byte) uint64 {
	return binary.BigEndian.Uint64(pubkey[0:8]) ^
		binary.BigEndian.Uint64(pubkey[8:16]) ^
		binary.BigEndian.Uint64(pubkey[16:24]) ^
		binary.BigEndian.Uint64(pubkey[24:32])
}

// Select returns the id of the swarm responsible for ring position pos. ids
// must be sorted in ascending order without duplicates (see Validate). It
// returns false only when ids is empty.
//
// The rule (Session's get_swarm_by_pk): right is the first swarm with
// id >= pos, wrapping to the first swarm; left is the swarm before it,
// wrapping to the last. With wrapping (mod 2^64) distances, right wins only
// if it is strictly closer; ties go left. A single swarm takes everything.
func Select(ids []uint64, pos uint64) (uint64, bool) {
	switch len(ids) {
	case 0:
		return 0, false
	case 1:
		return ids[0], true
	}
	r, _ := slices.BinarySearch(ids, pos)
	if r == len(ids) {
		r = 0
	}
	l := r - 1
	if l < 0 {
		l = len(ids) - 1
	}
	right, left := ids[r], ids[l]
	if right-pos < pos-left {
		return right, true
	}
	return left, true
}

// SelectKey is Select(ids, Position(pubkey)).
func SelectKey(ids []uint64, pubkey [KeySize]byte) (uint64, bool) {
	return Select(ids, Position(pubkey))
}

// ErrEmpty is returned by Validate for an empty swarm list.
var ErrEmpty = errors.New("swarm: no swarms")

// IDError reports a swarm id list that Select cannot use.
type IDError struct {
	Index  int    // position in the list
	ID     uint64 // offending id
	Reason string // "unassigned id", "not sorted" or "duplicate"
}

func (e *IDError) Error() string {
	return fmt.Sprintf("swarm: id %d at index %d: %s", e.ID, e.Index, e.Reason)
}

// Validate checks that ids is a usable input for Select: non-empty,
// strictly ascending, and without UnassignedID.
func Validate(ids []uint64) error {
	if len(ids) == 0 {
		return ErrEmpty
	}
	for i, id := range ids {
		switch {
		case id == UnassignedID:
			return &IDError{Index: i, ID: id, Reason: "unassigned id"}
		case i > 0 && id == ids[i-1]:
			return &IDError{Index: i, ID: id, Reason: "duplicate"}
		case i > 0 && id < ids[i-1]:
			return &IDError{Index: i, ID: id, Reason: "not sorted"}
		}
	}
	return nil
}

// SortedIDs returns the distinct assigned swarm ids of ids in ascending
// order, ready for Select. UnassignedID entries are dropped.
func SortedIDs(ids []uint64) []uint64 {
	out := make([]uint64, 0, len(ids))
	for _, id := range ids {
		if id != UnassignedID {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
