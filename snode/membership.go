package snode

import (
	"slices"

	"sotto.dev/key"
	"sotto.dev/ledger"
	"sotto.dev/storagerpc"
	"sotto.dev/swarm"
)

// membership is what the node derives from one ledger snapshot: the swarms
// of active nodes, its own swarm, and a lookup of every listed node.
type membership struct {
	snap     *ledger.Snapshot
	self     *ledger.Node // nil when we are not listed
	swarmIDs []uint64     // sorted ids of swarms with active members
	swarms   map[uint64][]*ledger.Node
	byKey    map[key.NodePublic]*ledger.Node
}

func newMembership(snap *ledger.Snapshot, me key.NodePublic) *membership {
	m := &membership{
		snap:   snap,
		swarms: make(map[uint64][]*ledger.Node),
		byKey:  make(map[key.NodePublic]*ledger.Node, len(snap.Nodes)),
	}
	for i := range snap.Nodes {
		n := &snap.Nodes[i]
		m.byKey[n.Ed25519] = n
		if n.Ed25519 == me {
			m.self = n
		}
		if n.State != ledger.StateActive || n.SwarmID == ledger.UnassignedSwarm {
			continue
		}
		if _, ok := m.swarms[n.SwarmID]; !ok {
			m.swarmIDs = append(m.swarmIDs, n.SwarmID)
		}
		m.swarms[n.SwarmID] = append(m.swarms[n.SwarmID], n)
	}
	slices.Sort(m.swarmIDs)
	return m
}

// mySwarm returns our swarm id; false when we are not an active swarm
// member.
func (m *membership) mySwarm() (uint64, bool) {
	if m.self == nil || m.self.State != ledger.StateActive || m.self.SwarmID == ledger.UnassignedSwarm {
		return 0, false
	}
	return m.self.SwarmID, true
}

// swarmOf returns the swarm responsible for an account key.
func (m *membership) swarmOf(key [32]byte) (uint64, bool) {
	return swarm.SelectKey(m.swarmIDs, key)
}

// owns reports whether our swarm is responsible for the account key.
func (m *membership) owns(key [32]byte) bool {
	mine, ok := m.mySwarm()
	if !ok {
		return false
	}
	s, ok := m.swarmOf(key)
	return ok && s == mine
}

// peers returns the other members of our swarm.
func (m *membership) peers() []*ledger.Node {
	mine, ok := m.mySwarm()
	if !ok {
		return nil
	}
	out := make([]*ledger.Node, 0, len(m.swarms[mine]))
	for _, n := range m.swarms[mine] {
		if n != m.self {
			out = append(out, n)
		}
	}
	return out
}

// isPeer reports whether key is another member of our swarm.
func (m *membership) isPeer(key key.NodePublic) bool {
	mine, ok := m.mySwarm()
	if !ok {
		return false
	}
	n := m.byKey[key]
	return n != nil && n != m.self && n.State == ledger.StateActive && n.SwarmID == mine
}

// swarmResponse describes the swarm responsible for an account, in the
// shape of get_swarm (and of a 421 body); without swarms it is Session's
// empty answer with the invalid swarm id.
func (m *membership) swarmResponse(key [32]byte) storagerpc.GetSwarmResponse {
	id, ok := m.swarmOf(key)
	if !ok {
		return storagerpc.GetSwarmResponse{Snodes: []storagerpc.SnodeInfo{}, Swarm: storagerpc.SwarmIDHex(ledger.UnassignedSwarm)}
	}
	nodes := m.swarms[id]
	out := storagerpc.GetSwarmResponse{Snodes: make([]storagerpc.SnodeInfo, 0, len(nodes)), Swarm: storagerpc.SwarmIDHex(id)}
	for _, n := range nodes {
		out.Snodes = append(out.Snodes, snodeInfo(n))
	}
	return out
}

func snodeInfo(n *ledger.Node) storagerpc.SnodeInfo {
	// Sotto nodes speak HTTPS only; the OMQ/QUIC port Session lists is
	// reported as the HTTPS port so that clients that read it get a
	// reachable one.
	return storagerpc.NewSnodeInfo(n.Ed25519, n.X25519, n.PublicIP, n.StoragePort, n.StoragePort)
}
