package swarm

// Swarm assignment: which service node serves in which swarm. The ledger
// runs Assign whenever the set of active nodes changes, with randomness
// drawn from the block hash, so every node and client derives the same
// swarms from the same ledger state.
//
// The rules are Session's (service-node-network.md §4.2, oxen-core
// service_node_swarm.cpp calc_swarm_changes): a swarm under the minimum
// size is starving; new nodes go to the smallest swarms; starving swarms
// are refilled from swarms with spare nodes, or dissolved when that is not
// possible; a new swarm of the ideal size is created when the spare nodes
// (everything above the minimum, over all swarms) reach ideal + 2 × the
// number of swarms; a new swarm's id is the middle of the largest gap
// between neighbouring ids on the ring.
//
// Where Sotto differs (Sotto does not have to reproduce oxend's chain, so
// it need not copy its RNG bit for bit): refills and new swarms take nodes
// from the currently largest swarm instead of a size-weighted random pick,
// which keeps sizes even and moves exactly the number of nodes needed; the
// randomness is an injected Rand rather than mt19937_64.

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// Member is a service node and the swarm it is in (UnassignedID when in
// none). Keys are the nodes' Ed25519 public keys.
type Member struct {
	Key   [32]byte
	Swarm uint64
}

// Rand is the randomness Assign draws from. IntN returns a value in
// [0, n) for n > 0. The ledger passes a deterministic source seeded with
// the block hash; tests may pass a seeded math/rand/v2 generator.
type Rand interface {
	IntN(n int) int
}

// AssignParams are the sizes Assign works with.
type AssignParams struct {
	// MinSize is the size under which a swarm is starving.
	MinSize int
	// IdealSize is the size of a newly created swarm.
	IdealSize int
}

// DefaultAssignParams returns Session's sizes: minimum 5, new swarms 7.
func DefaultAssignParams() AssignParams {
	return AssignParams{MinSize: MinSwarmSize, IdealSize: NewSwarmSize}
}

// ErrAssignInput is wrapped by the errors Assign returns for unusable input.
var ErrAssignInput = errors.New("swarm: bad assignment input")

// Validate checks that the sizes make sense: 1 ≤ MinSize ≤ IdealSize.
func (p AssignParams) Validate() error {
	if p.MinSize < 1 || p.IdealSize < p.MinSize {
		return fmt.Errorf("%w: sizes min %d, ideal %d", ErrAssignInput, p.MinSize, p.IdealSize)
	}
	return nil
}

// Assign computes the swarms of members, the nodes that are active now with
// the swarm each was in before (UnassignedID for a node that just joined or
// returned). A node that left the active set is simply not in members.
//
// The result has one entry per member, sorted by key. Nodes keep their swarm
// unless a rule needs to move them. The same input and the same sequence of
// random numbers always give the same result. Duplicate keys are an error.
func Assign(members []Member, rnd Rand, p AssignParams) ([]Member, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	out := slices.Clone(members)
	slices.SortFunc(out, func(a, b Member) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	for i := 1; i < len(out); i++ {
		if out[i].Key == out[i-1].Key {
			return nil, fmt.Errorf("%w: duplicate node %x", ErrAssignInput, out[i].Key[:8])
		}
	}
	if len(out) == 0 {
		return out, nil
	}
	a := newAssigner(out, rnd, p)
	a.run()
	a.write(out)
	return out, nil
}

// group is one swarm during the computation; members holds indexes into
// the sorted node list, kept sorted so that random picks are reproducible.
type group struct {
	id      uint64
	members []int
}

type assigner struct {
	p      AssignParams
	rnd    Rand
	groups []*group // sorted by id
	fresh  []int    // nodes without a swarm, in key order
}

func newAssigner(nodes []Member, rnd Rand, p AssignParams) *assigner {
	a := &assigner{p: p, rnd: rnd}
	byID := make(map[uint64]*group)
	for i, n := range nodes {
		if n.Swarm == UnassignedID {
			a.fresh = append(a.fresh, i)
			continue
		}
		g, ok := byID[n.Swarm]
		if !ok {
			g = &group{id: n.Swarm}
			byID[n.Swarm] = g
			a.groups = append(a.groups, g)
		}
		g.members = append(g.members, i)
	}
	a.sortGroups()
	return a
}

func (a *assigner) sortGroups() {
	slices.SortFunc(a.groups, func(x, y *group) int { return cmp.Compare(x.id, y.id) })
}

func (a *assigner) write(nodes []Member) {
	for _, g := range a.groups {
		for _, i := range g.members {
			nodes[i].Swarm = g.id
		}
	}
}

func (a *assigner) run() {
	// Step 0: a network without swarms starts with swarm 0 (as Session).
	if len(a.groups) == 0 {
		a.groups = append(a.groups, &group{id: 0})
	}
	// Step 1: new nodes go to the smallest swarms, one at a time.
	for _, n := range a.fresh {
		a.place(n, FillSwarmLowerPercentile)
	}
	a.fresh = nil
	// Step 2: refill starving swarms from spare nodes; dissolve the ones
	// that cannot be saved.
	a.refillOrDissolve()
	// Step 3: create new swarms while there are enough spare nodes.
	a.split()
}

// place adds node n to a random swarm among the smallest ones: every swarm
// whose size is at most the size found at the given percentile of the
// ascending size order.
func (a *assigner) place(n int, percentile int) {
	sizes := make([]int, len(a.groups))
	for i, g := range a.groups {
		sizes[i] = len(g.members)
	}
	slices.Sort(sizes)
	limit := sizes[percentile*(len(sizes)-1)/100]
	var cands []*group
	for _, g := range a.groups {
		if len(g.members) <= limit {
			cands = append(cands, g)
		}
	}
	g := cands[a.rnd.IntN(len(cands))]
	insertSorted(g, n)
}

func insertSorted(g *group, n int) {
	i, _ := slices.BinarySearch(g.members, n)
	g.members = slices.Insert(g.members, i, n)
}

// takeFromLargest removes and returns a random node of the largest swarm
// (a random one among equally large swarms), skipping except.
func (a *assigner) takeFromLargest(except *group) int {
	best := -1
	var cands []*group
	for _, g := range a.groups {
		if g == except {
			continue
		}
		switch s := len(g.members); {
		case s > best:
			best, cands = s, []*group{g}
		case s == best:
			cands = append(cands, g)
		}
	}
	g := cands[a.rnd.IntN(len(cands))]
	k := a.rnd.IntN(len(g.members))
	n := g.members[k]
	g.members = slices.Delete(g.members, k, k+1)
	return n
}

// spare is the number of nodes above the minimum over all swarms, skipping
// except.
func (a *assigner) spare(except *group) int {
	s := 0
	for _, g := range a.groups {
		if g != except && len(g.members) > a.p.MinSize {
			s += len(g.members) - a.p.MinSize
		}
	}
	return s
}

// smallestStarving returns the smallest swarm under the minimum (lowest id
// among equals), or nil.
func (a *assigner) smallestStarving() *group {
	var best *group
	for _, g := range a.groups {
		if len(g.members) < a.p.MinSize && (best == nil || len(g.members) < len(best.members)) {
			best = g
		}
	}
	return best
}

func (a *assigner) refillOrDissolve() {
	for len(a.groups) > 1 {
		g := a.smallestStarving()
		if g == nil {
			return
		}
		deficit := a.p.MinSize - len(g.members)
		if a.spare(g) >= deficit {
			// Refill: exactly deficit nodes move, each from the
			// currently largest swarm, which stays at or above the
			// minimum because it has spare nodes.
			for range deficit {
				insertSorted(g, a.takeFromLargest(g))
			}
			continue
		}
		// Dissolve: the swarm cannot be saved; its nodes go to the very
		// smallest remaining swarms, which are the other starving ones
		// first.
		i := slices.Index(a.groups, g)
		a.groups = slices.Delete(a.groups, i, i+1)
		for _, n := range g.members {
			a.place(n, DecommissionedRedistributionLowerPercentile)
		}
	}
}

// split creates new swarms of IdealSize nodes while the spare nodes reach
// IdealSize + 2 × the number of swarms. Nothing is split while a swarm is
// starving.
func (a *assigner) split() {
	for a.smallestStarving() == nil && a.spare(nil) >= a.p.IdealSize+2*len(a.groups) {
		g := &group{id: NewSwarmID(a.ids())}
		for range a.p.IdealSize {
			insertSorted(g, a.takeFromLargest(nil))
		}
		a.groups = append(a.groups, g)
		a.sortGroups()
	}
}

func (a *assigner) ids() []uint64 {
	ids := make([]uint64, len(a.groups))
	for i, g := range a.groups {
		ids[i] = g.id
	}
	return ids
}

// NewSwarmID returns the id a new swarm gets on a ring that already holds
// ids (sorted ascending, non-empty): the middle of the largest gap between
// neighbours, wrapping from the last id to the first, as Session's
// get_new_swarm_id. Among equal gaps the first one wins. The result is
// never UnassignedID.
func NewSwarmID(ids []uint64) uint64 {
	if len(ids) == 0 {
		return 0
	}
	// Gaps are measured mod 2^64; a single swarm leaves the whole ring,
	// whose middle is half way round.
	var bestLo, bestGap uint64
	full := len(ids) == 1
	if full {
		bestLo = ids[0]
	}
	for i := range ids {
		if full {
			break
		}
		lo, hi := ids[i], ids[(i+1)%len(ids)]
		if gap := hi - lo; gap > bestGap {
			bestLo, bestGap = lo, gap
		}
	}
	var id uint64
	if full {
		id = bestLo + 1<<63
	} else {
		id = bestLo + bestGap/2
	}
	if id == UnassignedID {
		id--
	}
	return id
}
