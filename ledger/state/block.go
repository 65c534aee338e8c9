package state

import (
	"errors"
	"fmt"
	"math/bits"

	"sotto.dev/key"
	"sotto.dev/swarm"
)

// ErrHeight is returned by Begin for a height that does not follow the
// last one.
var ErrHeight = errors.New("ledger state: block height out of sequence")

// Begin starts block height with the block's hash, which seeds the quorum
// and swarm draws at its end.
func (s *State) Begin(height uint64, hash []byte) error {
	if s.inBlock {
		return fmt.Errorf("%w: block %d still in progress", ErrHeight, s.height)
	}
	if height != s.height+1 {
		return fmt.Errorf("%w: got %d after %d", ErrHeight, height, s.height)
	}
	if len(hash) != 32 {
		return fmt.Errorf("ledger state: block hash of %d bytes, want 32", len(hash))
	}
	s.height = height
	s.blockHash = [32]byte(hash)
	s.inBlock = true
	s.changes = nil
	return nil
}

// End finishes the block: stake returns, health rules that need no votes,
// rewards, name expiry, the next obligation quorum and swarm changes. It
// returns the node changes of the whole block.
func (s *State) End() ([]Change, error) {
	if !s.inBlock {
		return nil, ErrNoBlock
	}
	h := s.height
	p := &s.params
	for _, k := range sortedKeys(s.nodes) {
		n := s.nodes[k]
		switch {
		case n.Status == StatusAwaiting && h >= n.RegisteredHeight+p.RegistrationExpiry:
			s.refund(n, 0)
			delete(s.nodes, k)
			s.changes = append(s.changes, Change{Node: k, Kind: ChangeExpired})
		case n.Status == StatusDeregistered && h >= n.ReturnHeight:
			// The operator's share pays the penalty (Session takes the
			// whole slash from the operator, §6.6).
			pen := mulDiv(n.Staked(), p.DeregistrationPenaltyBps, FeeBasis)
			s.refund(n, pen)
			delete(s.nodes, k)
			s.changes = append(s.changes, Change{Node: k, Kind: ChangeStakeReturned})
		case (n.Status == StatusActive || n.Status == StatusDecommissioned) && n.UnlockHeight != 0 && h >= n.UnlockHeight:
			if n.Status == StatusActive {
				s.dirty = true
			}
			s.refund(n, 0)
			delete(s.nodes, k)
			s.changes = append(s.changes, Change{Node: k, Kind: ChangeUnlocked})
		case n.Status == StatusActive && h > max(n.LastProof, n.ActiveSince)+p.ProofValidity:
			// No uptime proof in time: the ledger knows this itself, so
			// no vote is needed (Session's validators vote on it, §3.2).
			s.failed(k, ReasonMissedProof)
		case n.Status == StatusDecommissioned && s.Credit(n) < 0:
			// Credit used up: deregistered without waiting for a vote.
			s.deregister(n, n.DecommReason)
		}
	}
	s.payRewards()
	for _, k := range sortedKeys(s.names) {
		if s.names[k].Expiry <= h {
			delete(s.names, k)
		}
	}
	s.pruneQuorums()
	if s.dirty {
		s.assignSwarms()
	}
	if h%p.QuorumInterval == 0 {
		s.drawQuorum()
	}
	s.inBlock = false
	ch := s.changes
	s.changes = nil
	return ch, nil
}

func (s *State) activate(n *Node) {
	n.Status = StatusActive
	n.ActiveSince = s.height
	n.Credit = s.params.CreditInitial
	n.CreditHeight = s.height
	n.SwarmID = swarm.UnassignedID
	s.dirty = true
	s.changes = append(s.changes, Change{Node: n.Key, Kind: ChangeActivated})
}

func (s *State) decommission(n *Node, reason uint8) {
	n.Credit = uint64(s.Credit(n))
	n.DecommHeight = s.height
	n.DecommReason = reason
	n.Status = StatusDecommissioned
	n.SwarmID = swarm.UnassignedID
	s.dirty = true
	s.changes = append(s.changes, Change{Node: n.Key, Kind: ChangeDecommissioned, Reason: reason})
}

// recommission returns a node to service. Its credit drops by twice the
// time it spent decommissioned (Session, §3.3) and its rewards wait
// PayableAfter again.
func (s *State) recommission(n *Node) {
	d := s.height - n.DecommHeight
	if 2*d >= n.Credit {
		n.Credit = 0
	} else {
		n.Credit -= 2 * d
	}
	n.CreditHeight = s.height
	n.ActiveSince = s.height
	n.Status = StatusActive
	n.SwarmID = swarm.UnassignedID
	s.dirty = true
	s.changes = append(s.changes, Change{Node: n.Key, Kind: ChangeRecommissioned})
}

func (s *State) deregister(n *Node, reason uint8) {
	if n.Status == StatusActive {
		s.dirty = true
	}
	n.Status = StatusDeregistered
	n.SwarmID = swarm.UnassignedID
	n.UnlockHeight = 0
	n.ReturnHeight = s.height + s.params.DeregistrationLock
	s.changes = append(s.changes, Change{Node: n.Key, Kind: ChangeDeregistered, Reason: reason})
}

// refund returns every contributor's stake to its account, less penalty
// from the operator's share, which goes to the reward pool.
func (s *State) refund(n *Node, penalty uint64) {
	for i, c := range n.Contributors {
		amt := c.Amount
		if i == 0 {
			pen := min(penalty, amt)
			amt -= pen
			s.pool += pen
		}
		s.credit(c.Addr, amt)
	}
}

// mulDiv returns a·b/c rounded down, saturating when the quotient does not
// fit (never the case for the ledger's uses, where b ≤ c).
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// BlockReward returns what the pool releases in one block:
// pool · RewardRatePerMille / (1000 · BlocksPerYear), rounded down
// (Session's RewardRatePool, §6.3).
func BlockReward(p *Params, pool uint64) uint64 {
	return mulDiv(pool, p.RewardRatePerMille, 1000*p.BlocksPerYear)
}

// NodeReward splits one node's reward: the operator's fee first, then the
// rest pro rata by stake, rounding remainders to the operator (Session's
// batching payout, §1.3, §6.2). The result has one amount per contributor.
func NodeReward(reward uint64, feeBps uint16, contributors []Contributor) []uint64 {
	out := make([]uint64, len(contributors))
	var total uint64
	for _, c := range contributors {
		total += c.Amount
	}
	if total == 0 || len(out) == 0 {
		return out
	}
	fee := mulDiv(reward, uint64(feeBps), FeeBasis)
	rest := reward - fee
	var shared uint64
	for i, c := range contributors {
		out[i] = mulDiv(rest, c.Amount, total)
		shared += out[i]
	}
	out[0] += fee + rest - shared
	return out
}

// payable reports whether an active node earns in this block.
func (s *State) payable(n *Node) bool {
	return n.Status == StatusActive && s.height >= n.ActiveSince+s.params.PayableAfter
}

// payRewards releases the block reward equally to payable nodes; what
// does not divide evenly stays in the pool.
func (s *State) payRewards() {
	var payees []*Node
	for _, k := range sortedKeys(s.nodes) {
		if n := s.nodes[k]; s.payable(n) {
			payees = append(payees, n)
		}
	}
	if len(payees) == 0 {
		return
	}
	per := BlockReward(&s.params, s.pool) / uint64(len(payees))
	if per == 0 {
		return
	}
	s.pool -= per * uint64(len(payees))
	for _, n := range payees {
		for i, amt := range NodeReward(per, n.FeeBps, n.Contributors) {
			s.credit(n.Contributors[i].Addr, amt)
		}
	}
}

func (s *State) pruneQuorums() {
	keep := s.quorums[:0]
	for _, q := range s.quorums {
		// A quorum drawn at height q accepts votes in blocks q+1 …
		// q+VoteLifetime.
		if q.Height+s.params.VoteLifetime > s.height {
			keep = append(keep, q)
		}
	}
	clear(s.quorums[len(keep):])
	s.quorums = keep
}

// drawQuorum draws the obligation quorum of this block (Session's
// obligations quorum, §3.1): up to QuorumSize validators from the active
// nodes, then workers from the remaining active and decommissioned nodes,
// min(remaining, max(MinWorkers, remaining/WorkerDivisor)) of them.
func (s *State) drawQuorum() {
	var active, others []key.NodePublic
	for _, k := range sortedKeys(s.nodes) {
		switch s.nodes[k].Status {
		case StatusActive:
			active = append(active, k)
		case StatusDecommissioned:
			others = append(others, k)
		}
	}
	if len(active) == 0 {
		return
	}
	r := newHashRand(QuorumLabel, s.blockHash, s.height)
	shuffle(r, active)
	nv := min(len(active), s.params.QuorumSize)
	validators := active[:nv]
	rest := append(append([]key.NodePublic(nil), active[nv:]...), others...)
	if len(rest) == 0 {
		return
	}
	shuffle(r, rest)
	nw := min(len(rest), max(s.params.MinWorkers, len(rest)/s.params.WorkerDivisor), maxWorkers)
	q := &Quorum{
		Height:     s.height,
		Validators: append([]key.NodePublic(nil), validators...),
		Workers:    rest[:nw:nw],
		Voted:      make([]bool, nv),
		Pass:       make([]uint16, nw),
		Fail:       make([]uint16, nw),
		Reasons:    make([]uint8, nw),
		Decided:    make([]bool, nw),
	}
	s.quorums = append(s.quorums, q)
}

// assignSwarms recomputes the swarms of the active nodes with randomness
// from the block hash.
func (s *State) assignSwarms() {
	var members []swarm.Member
	for _, k := range sortedKeys(s.nodes) {
		if n := s.nodes[k]; n.Status == StatusActive {
			members = append(members, swarm.Member{Key: k, Swarm: n.SwarmID})
		}
	}
	r := newHashRand(SwarmLabel, s.blockHash, s.height)
	out, err := swarm.Assign(members, r, swarm.AssignParams{MinSize: s.params.SwarmMinSize, IdealSize: s.params.SwarmIdealSize})
	if err != nil {
		// Unreachable: keys are unique map keys and params were
		// validated. Keeping the old swarms is still deterministic.
		return
	}
	for _, m := range out {
		n := s.nodes[m.Key]
		if n.SwarmID != m.Swarm {
			n.SwarmID = m.Swarm
			s.changes = append(s.changes, Change{Node: m.Key, Kind: ChangeSwarm, Swarm: m.Swarm})
		}
	}
	s.dirty = false
}
