package nodeproof

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Node states, as the ledger's View reports them (ledger.NodeState).
const (
	StateActive         uint8 = 1
	StateDecommissioned uint8 = 2
	StateDeregistered   uint8 = 3
	StateUnlocking      uint8 = 4
)

// Node is one entry of the committed node list: the fields a client uses,
// exactly as the ledger commits them.
type Node struct {
	Ed25519      [32]byte
	X25519       [32]byte
	IPv4         [4]byte
	Port         uint16
	SwarmID      uint64
	State        uint8
	UnlockHeight uint64 // requested unlock height, 0 if none
	Version      [3]uint16
	// Operator is the ledger account that registered the node (its
	// operator address): a client keeps two nodes of one operator off
	// one path.
	Operator [32]byte
	// Caps are the capability bits of the node's last uptime proof
	// (onion.CapSottoOnion: it relays the Sotto onion form).
	Caps uint32
}

// nodeSize is the size of one node's encoding.
const nodeSize = 32 + 32 + 4 + 2 + 8 + 1 + 8 + 6 + 32 + 4

// AppendNode appends n's canonical encoding: Ed25519 ‖ X25519 ‖ IPv4 ‖
// port u16 ‖ swarm id u64 ‖ state u8 ‖ unlock height u64 ‖ version 3×u16
// ‖ operator [32] ‖ caps u32, integers big-endian (NodeListLabel v2; v1
// ended at the version).
func AppendNode(b []byte, n *Node) []byte {
	b = append(b, n.Ed25519[:]...)
	b = append(b, n.X25519[:]...)
	b = append(b, n.IPv4[:]...)
	b = binary.BigEndian.AppendUint16(b, n.Port)
	b = binary.BigEndian.AppendUint64(b, n.SwarmID)
	b = append(b, n.State)
	b = binary.BigEndian.AppendUint64(b, n.UnlockHeight)
	for _, v := range n.Version {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	b = append(b, n.Operator[:]...)
	return binary.BigEndian.AppendUint32(b, n.Caps)
}

// NodeListHash is SHA-256(NodeListLabel ‖ 0x00 ‖ count u32 ‖ node…) over
// nodes sorted by Ed25519 key (the caller sorts; CheckSorted checks).
func NodeListHash(nodes []Node) [32]byte {
	h := sha256.New()
	h.Write([]byte(NodeListLabel))
	h.Write([]byte{0})
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(nodes))))
	buf := make([]byte, 0, nodeSize)
	for i := range nodes {
		h.Write(AppendNode(buf[:0], &nodes[i]))
	}
	return [32]byte(h.Sum(nil))
}

// AppHash is the ledger's app hash: SHA-256(AppHashLabel ‖ state hash ‖
// node-list hash).
func AppHash(stateHash, nodeListHash [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(AppHashLabel))
	h.Write(stateHash[:])
	h.Write(nodeListHash[:])
	return [32]byte(h.Sum(nil))
}

// CheckSorted reports an error unless nodes are in strictly increasing
// Ed25519 key order (sorted, no key twice), as the ledger commits them.
func CheckSorted(nodes []Node) error {
	for i := 1; i < len(nodes); i++ {
		if bytes.Compare(nodes[i-1].Ed25519[:], nodes[i].Ed25519[:]) >= 0 {
			return fmt.Errorf("nodeproof: node %d is not after node %d in key order", i, i-1)
		}
	}
	return nil
}
