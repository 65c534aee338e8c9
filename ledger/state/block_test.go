package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"testing"

	"sotto.dev/key"
	"sotto.dev/swarm"
)

// live runs n blocks in which every active or decommissioned node not in
// down sends an uptime proof when one is due, plus the extra txs in the
// first block.
func (h *harness) live(n int, down map[key.NodePublic]bool, extra ...[]byte) {
	h.t.Helper()
	for i := range n {
		txs := extra
		if i > 0 {
			txs = nil
		}
		for _, nd := range h.s.Nodes() {
			if down[nd.Key] || (nd.Status != StatusActive && nd.Status != StatusDecommissioned) {
				continue
			}
			if nd.LastProof == 0 || h.s.Height()+1 >= nd.LastProof+h.s.params.ProofInterval {
				txs = append(txs, h.tx(h.names[nd.Key], &UptimeProof{IP: nd.IP, Port: nd.Port, Version: [3]uint16{1, 0, 0}}))
			}
		}
		h.ok(txs...)
	}
}

// untilQuorum runs live blocks until a quorum is drawn that tests target
// (any quorum if target is zero) and returns it.
func (h *harness) untilQuorum(target key.NodePublic, down map[key.NodePublic]bool) Quorum {
	h.t.Helper()
	for range 200 {
		h.live(1, down)
		qs := h.s.Quorums()
		if len(qs) == 0 || qs[len(qs)-1].Height != h.s.Height() {
			continue
		}
		q := qs[len(qs)-1]
		if target == (key.NodePublic{}) || slices.Contains(q.Workers, target) {
			return q
		}
	}
	h.t.Fatal("no quorum tested the node")
	return Quorum{}
}

func results(q Quorum, verdict map[key.NodePublic]uint8) []uint8 {
	out := make([]uint8, len(q.Workers))
	for i, w := range q.Workers {
		out[i] = verdict[w]
	}
	return out
}

func TestQuorumComposition(t *testing.T) {
	h := newHarness(t, DevnetParams(), 0, map[string]uint64{"op": 10_000 * Coin})
	h.solo("op", "sn", 12)
	q := h.untilQuorum(key.NodePublic{}, nil)
	p := h.s.params
	if len(q.Validators) != p.QuorumSize {
		t.Fatalf("%d validators", len(q.Validators))
	}
	if want := min(12-p.QuorumSize, max(p.MinWorkers, (12-p.QuorumSize)/p.WorkerDivisor)); len(q.Workers) != want {
		t.Fatalf("%d workers, want %d", len(q.Workers), want)
	}
	seen := map[key.NodePublic]bool{}
	for _, k := range append(slices.Clone(q.Validators), q.Workers...) {
		if seen[k] {
			t.Fatalf("node %s drawn twice", k)
		}
		seen[k] = true
		if h.node(k).Status != StatusActive {
			t.Fatalf("drawn node %s is %v", k, h.node(k).Status)
		}
	}
	if q.Height%p.QuorumInterval != 0 {
		t.Fatalf("quorum at height %d", q.Height)
	}
	if q.Needed(&p) != 2 {
		t.Fatalf("needed %d", q.Needed(&p))
	}
}

func TestVoteRejections(t *testing.T) {
	h := newHarness(t, DevnetParams(), 0, map[string]uint64{"op": 10_000 * Coin})
	h.solo("op", "sn", 10)
	q := h.untilQuorum(key.NodePublic{}, nil)
	v0 := h.names[q.Validators[0]]
	worker := h.names[q.Workers[0]]
	pass := make([]uint8, len(q.Workers))

	h.rejectIn(h.tx(worker, &Vote{Height: q.Height, Results: pass}), CodeNotAllowed)
	h.rejectIn(h.tx("op", &Vote{Height: q.Height, Results: pass}), CodeNotAllowed)
	h.rejectIn(h.tx(v0, &Vote{Height: q.Height, Results: pass[1:]}), CodeInvalid)
	h.rejectIn(h.tx(v0, &Vote{Height: q.Height + 1, Results: pass}), CodeUnknownQuorum)
	h.ok(h.tx(v0, &Vote{Height: q.Height, Results: pass}))
	h.rejectIn(h.tx(v0, &Vote{Height: q.Height, Results: pass}), CodeDuplicate)
	h.live(int(h.s.params.VoteLifetime), nil)
	v1 := h.names[q.Validators[1]]
	h.rejectIn(h.tx(v1, &Vote{Height: q.Height, Results: pass}), CodeUnknownQuorum)
}

func TestVotesDecommissionAndRecommission(t *testing.T) {
	h := newHarness(t, DevnetParams(), 0, map[string]uint64{"op": 10_000 * Coin})
	keys := h.solo("op", "sn", 10)
	p := h.s.params
	supply := h.s.Supply()
	// Let the nodes build some credit first.
	h.live(30, nil)
	q := h.untilQuorum(key.NodePublic{}, nil)
	target := q.Workers[0]
	before := h.node(target)

	fail := results(q, map[key.NodePublic]uint8{target: FailStorage})
	// One failing vote, one abstention: not decided.
	abstain := results(q, map[key.NodePublic]uint8{target: ResultAbstain})
	h.ok(h.tx(h.names[q.Validators[0]], &Vote{Height: q.Height, Results: fail}),
		h.tx(h.names[q.Validators[1]], &Vote{Height: q.Height, Results: abstain}))
	if h.node(target).Status != StatusActive {
		t.Fatal("decided on one vote")
	}
	h.ok(h.tx(h.names[q.Validators[2]], &Vote{Height: q.Height, Results: results(q, map[key.NodePublic]uint8{target: FailOnion})}))
	n := h.node(target)
	if n.Status != StatusDecommissioned || n.SwarmID != swarm.UnassignedID || n.DecommReason != FailStorage|FailOnion {
		t.Fatalf("after two failing votes: %+v", n)
	}
	creditBefore := min(before.Credit+(n.DecommHeight-before.CreditHeight)*p.CreditPerDay/p.BlocksPerDay, p.CreditMax)
	if n.Credit != creditBefore {
		t.Fatalf("credit at decommission %d, want %d", n.Credit, creditBefore)
	}
	decommAt := n.DecommHeight
	// Everyone else passed: nobody else changed.
	for _, k := range keys {
		if k != target && h.node(k).Status != StatusActive {
			t.Fatalf("node %s is %v", k, h.node(k).Status)
		}
	}

	// It keeps proving it is up; a quorum that finds it working brings it
	// back.
	q2 := h.untilQuorum(target, nil)
	passAll := results(q2, nil)
	var votes [][]byte
	for _, v := range q2.Validators {
		votes = append(votes, h.tx(h.names[v], &Vote{Height: q2.Height, Results: passAll}))
	}
	h.ok(votes...)
	n = h.node(target)
	if n.Status != StatusActive {
		t.Fatalf("not recommissioned: %v", n.Status)
	}
	d := n.ActiveSince - decommAt
	want := int64(creditBefore) - 2*int64(d)
	if want < 0 {
		want = 0
	}
	if int64(n.Credit) != want || n.CreditHeight != n.ActiveSince {
		t.Fatalf("credit after recommission %d, want %d", n.Credit, want)
	}
	if n.SwarmID == swarm.UnassignedID {
		t.Fatal("recommissioned node has no swarm")
	}
	if h.s.Supply() != supply {
		t.Fatal("supply changed")
	}
}

func TestFailingWithoutCreditDeregisters(t *testing.T) {
	p := DevnetParams()
	p.CreditInitial = 5 // under DecommissionMinimum (10)
	p.CreditPerDay = 0
	h := newHarness(t, p, 0, map[string]uint64{"op": 10_000 * Coin})
	h.solo("op", "sn", 10)
	q := h.untilQuorum(key.NodePublic{}, nil)
	target := q.Workers[0]
	fail := results(q, map[key.NodePublic]uint8{target: FailStorageTest})
	h.ok(h.tx(h.names[q.Validators[0]], &Vote{Height: q.Height, Results: fail}),
		h.tx(h.names[q.Validators[1]], &Vote{Height: q.Height, Results: fail}))
	n := h.node(target)
	if n.Status != StatusDeregistered || n.ReturnHeight != h.s.Height()+p.DeregistrationLock {
		t.Fatalf("node %+v", n)
	}
	h.rejectIn(h.tx("op", &Unlock{Node: target}), CodeWrongState)
	h.rejectIn(h.tx(h.names[target], &UptimeProof{IP: n.IP, Port: n.Port, Version: [3]uint16{1, 0, 0}}), CodeWrongState)
}

// A node that stops: decommissioned when its proof runs out, deregistered
// when its credit is gone, stake locked for the penalty period, then
// returned minus the penalty, which goes to the pool.
func TestStoppedNodeLifecycle(t *testing.T) {
	h := newHarness(t, DevnetParams(), 0, map[string]uint64{"op": 10_000 * Coin, "bob": 1000 * Coin})
	p := h.s.params
	keys := h.solo("op", "sn", 9)
	h.ok(h.register("op", "gone", 60*Coin, 0))
	gone := testNode("gone")
	h.ok(h.tx("bob", &Contribute{Node: gone, Amount: 40 * Coin}))
	supply := h.s.Supply()
	down := map[key.NodePublic]bool{gone: true}
	activeSince := h.node(gone).ActiveSince

	for h.node(gone).Status == StatusActive {
		h.live(1, down)
		if h.s.Height() > activeSince+p.ProofValidity+1 {
			t.Fatal("not decommissioned after its proof ran out")
		}
	}
	n := h.node(gone)
	if n.Status != StatusDecommissioned || n.DecommReason != ReasonMissedProof || n.DecommHeight != activeSince+p.ProofValidity+1 {
		t.Fatalf("decommission: %+v (active since %d)", n, activeSince)
	}
	// Its swarm still has its minimum.
	for _, k := range keys {
		if id := h.node(k).SwarmID; len(h.s.SwarmMembers(id)) < p.SwarmMinSize {
			t.Fatalf("swarm %d has %d members", id, len(h.s.SwarmMembers(id)))
		}
	}
	credit := n.Credit
	h.live(int(credit), down)
	if st := h.node(gone).Status; st != StatusDecommissioned {
		t.Fatalf("status %v with credit left", st)
	}
	h.live(1, down)
	n = h.node(gone)
	if n.Status != StatusDeregistered {
		t.Fatalf("not deregistered when credit ran out: %v, credit %d", n.Status, h.s.Credit(&n))
	}
	opBefore, bobBefore := h.balance("op"), h.balance("bob")
	h.live(int(p.DeregistrationLock)-1, down)
	if h.balance("bob") != bobBefore {
		t.Fatal("stake returned before the lock ended")
	}
	h.live(1, down)
	if _, ok := h.s.Node(gone); ok {
		t.Fatal("record still present after the lock")
	}
	penalty := req * p.DeregistrationPenaltyBps / FeeBasis
	if got := h.balance("bob") - bobBefore; got != 40*Coin {
		t.Fatalf("bob got %d back", got)
	}
	// op also earns rewards on its other nodes meanwhile; the pool got the
	// penalty minus what it paid out.
	if h.balance("op") < opBefore+60*Coin-penalty {
		t.Fatalf("operator got %d back", h.balance("op")-opBefore)
	}
	if h.s.Supply() != supply {
		t.Fatalf("supply %d, want %d", h.s.Supply(), supply)
	}
}

// The penalty is exactly DeregistrationPenaltyBps of the stake, taken from
// the operator.
func TestDeregistrationPenalty(t *testing.T) {
	p := DevnetParams()
	p.RewardRatePerMille = 0 // isolate the penalty from rewards
	h := newHarness(t, p, 0, map[string]uint64{"op": 1000 * Coin, "bob": 100 * Coin})
	h.ok(h.register("op", "n", 50*Coin, 0))
	k := testNode("n")
	h.ok(h.tx("bob", &Contribute{Node: k, Amount: 50 * Coin}))
	h.run(int(p.ProofValidity + 1 + p.CreditInitial + 1 + p.DeregistrationLock + 5))
	if _, ok := h.s.Node(k); ok {
		t.Fatal("still registered")
	}
	penalty := req * p.DeregistrationPenaltyBps / FeeBasis
	fees := h.paid("op") + h.paid("bob")
	if h.s.Pool() != penalty+fees || h.balance("op") != 1000*Coin-penalty-h.paid("op") || h.balance("bob") != 100*Coin-h.paid("bob") {
		t.Fatalf("pool %d op %d bob %d, penalty %d", h.s.Pool(), h.balance("op"), h.balance("bob"), penalty)
	}
}

// TestRewardsOver100Blocks checks every balance against the formula,
// computed here independently with big integers, and that balances plus
// pool plus stakes never change.
func TestRewardsOver100Blocks(t *testing.T) {
	p := DevnetParams()
	p.ProofValidity, p.ProofInterval = 1000, 500 // no proofs needed here
	p.PayableAfter = 10
	const pool = 50_000_000 * Coin
	h := rewardsHarness(t, p, pool)

	supply := h.s.Supply()
	type acct = string
	bal := map[acct]*big.Int{}
	for _, a := range []acct{"op", "bob", "carol"} {
		bal[a] = new(big.Int).SetUint64(h.balance(a))
	}
	poolB := new(big.Int).SetUint64(h.s.Pool())
	nodes := map[string]formulaNode{
		"n0": {1000, []formulaStake{{"op", 100}}},
		"n1": {500, []formulaStake{{"op", 25}, {"bob", 45}, {"carol", 30}}},
		"n2": {FeeBasis, []formulaStake{{"op", 50}, {"carol", 50}}},
		"n3": {0, []formulaStake{{"bob", 100}}},
	}
	order := []string{"n0", "n1", "n2", "n3"}
	slices.SortFunc(order, func(a, b string) int { return compareKeys(testNode(a), testNode(b)) })
	active := map[string]uint64{}
	for _, n := range []string{"n0", "n1", "n2"} {
		active[n] = h.node(testNode(n)).ActiveSince
	}

	for i := range 100 {
		var txs [][]byte
		if i == 20 {
			raw := h.register("bob", "n3", req, 0)
			txs = append(txs, raw)
			fee := new(big.Int).SetUint64(p.TxFee(TypeRegister, len(raw)))
			bal["bob"].Sub(bal["bob"], big.NewInt(int64(req)))
			bal["bob"].Sub(bal["bob"], fee)
			poolB.Add(poolB, fee)
		}
		h.ok(txs...)
		height := h.s.Height()
		if i == 20 {
			active["n3"] = height
		}
		var payees []string
		for _, n := range order {
			if since, ok := active[n]; ok && height >= since+p.PayableAfter {
				payees = append(payees, n)
			}
		}
		if len(payees) > 0 {
			payByFormula(p, poolB, bal, nodes, payees)
		}
		checkFormula(t, h, height, bal, poolB, supply)
	}
	if h.s.Pool() >= pool {
		t.Fatal("nothing was paid")
	}
}

// rewardsHarness starts a ledger with pool in the reward pool and three
// funded accounts, and registers three nodes: n0: solo, fee 10 %; n1: op
// 25 %, bob 45 %, carol 30 %, fee 5 %; n2: op 50 %, carol 50 %, fee
// 100 %. (n3 joins later.)
func rewardsHarness(t *testing.T, p Params, pool uint64) *harness {
	t.Helper()
	h := newHarness(t, p, pool, map[string]uint64{"op": 1000 * Coin, "bob": 1000 * Coin, "carol": 1000 * Coin})
	h.ok(h.register("op", "n0", req, 1000),
		h.txNonce("op", 1, regBody(h, "op", "n1", 25*Coin, 500)),
		h.txNonce("op", 2, regBody(h, "op", "n2", 50*Coin, FeeBasis)))
	h.ok(h.tx("bob", &Contribute{Node: testNode("n1"), Amount: 45 * Coin}),
		h.tx("carol", &Contribute{Node: testNode("n1"), Amount: 30 * Coin}))
	h.ok(h.tx("carol", &Contribute{Node: testNode("n2"), Amount: 50 * Coin}))
	return h
}

// formulaStake is a contributor's share of a node's stake, in percent.
type formulaStake struct {
	who string
	amt int64
}

// formulaNode is a node's operator fee in basis points and its stakes,
// the operator's first.
type formulaNode struct {
	fee    int64
	stakes []formulaStake
}

// payByFormula releases one block's rewards from poolB to the payees'
// contributors in bal, by the formula in big integers.
func payByFormula(p Params, poolB *big.Int, bal map[string]*big.Int, nodes map[string]formulaNode, payees []string) {
	// released = pool · 151 / (1000 · blocks per year)
	rel := new(big.Int).Mul(poolB, big.NewInt(int64(p.RewardRatePerMille)))
	rel.Quo(rel, new(big.Int).SetUint64(1000*p.BlocksPerYear))
	per := new(big.Int).Quo(rel, big.NewInt(int64(len(payees))))
	poolB.Sub(poolB, new(big.Int).Mul(per, big.NewInt(int64(len(payees)))))
	for _, n := range payees {
		nd := nodes[n]
		fee := new(big.Int).Quo(new(big.Int).Mul(per, big.NewInt(nd.fee)), big.NewInt(FeeBasis))
		rest := new(big.Int).Sub(per, fee)
		paid := new(big.Int).Set(fee)
		shares := make([]*big.Int, len(nd.stakes))
		for j, s := range nd.stakes {
			shares[j] = new(big.Int).Quo(new(big.Int).Mul(rest, big.NewInt(s.amt)), big.NewInt(100))
			paid.Add(paid, shares[j])
		}
		// The operator (first) takes the fee and the rounding dust.
		shares[0].Add(shares[0], new(big.Int).Sub(per, paid))
		shares[0].Add(shares[0], fee)
		for j, s := range nd.stakes {
			bal[s.who].Add(bal[s.who], shares[j])
		}
	}
}

// checkFormula checks the balances and the pool after the block at height
// against the formula's, and that the supply has not changed.
func checkFormula(t *testing.T, h *harness, height uint64, bal map[string]*big.Int, poolB *big.Int, supply uint64) {
	t.Helper()
	for a, want := range bal {
		if got := h.balance(a); new(big.Int).SetUint64(got).Cmp(want) != 0 {
			t.Fatalf("block %d: %s has %d, formula says %s", height, a, got, want)
		}
	}
	if got := h.s.Pool(); new(big.Int).SetUint64(got).Cmp(poolB) != 0 {
		t.Fatalf("block %d: pool %d, formula says %s", height, got, poolB)
	}
	if h.s.Supply() != supply {
		t.Fatalf("block %d: supply %d, want %d", height, h.s.Supply(), supply)
	}
}

func regBody(h *harness, op, node string, stake uint64, fee uint16) *Register {
	h.names[testNode(node)] = node
	b := &Register{Node: testNode(node), X25519: testX(node), IP: IPv4{127, 0, 1, byte(len(h.names))}, Port: 22021, FeeBps: fee, Stake: stake}
	b.NodeSig = SignRegistration(testKey(node), testChain, testAddr(op), b.X25519)
	return b
}

func TestNodeRewardSplit(t *testing.T) {
	// Session's documented example (§1.3): 1000 earned, 10 % fee, operator
	// holds half: operator 100 + 450, the other contributor 450.
	got := NodeReward(1000, 1000, []Contributor{{Amount: 50}, {Amount: 50}})
	if got[0] != 550 || got[1] != 450 {
		t.Fatalf("split %v", got)
	}
	if got := NodeReward(10, 0, []Contributor{{Amount: 1}, {Amount: 1}, {Amount: 1}}); got[0]+got[1]+got[2] != 10 || got[1] != 3 {
		t.Fatalf("split %v", got)
	}
}

func TestStateEncodingRoundTrip(t *testing.T) {
	h := newHarness(t, DevnetParams(), 1000*Coin, map[string]uint64{"op": 10_000 * Coin, "bob": 100 * Coin})
	h.solo("op", "sn", 8)
	h.ok(h.register("op", "half", 50*Coin, 300, Reservation{Addr: testAddr("bob"), Amount: 10 * Coin}),
		h.tx("bob", &NameRegister{Name: NameHash{1}, Value: []byte("v"), Terms: 1}))
	h.untilQuorum(key.NodePublic{}, nil)
	enc := h.s.Encode()
	got, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Encode(), enc) || got.Hash() != h.s.Hash() {
		t.Fatal("round trip changed the state")
	}
	if c := h.s.Clone(); c.Hash() != h.s.Hash() {
		t.Fatal("clone differs")
	}

	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"bad version", append([]byte{9}, enc[1:]...)},
		{"truncated", enc[:len(enc)-3]},
		{"trailing", append(bytes.Clone(enc), 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var de *DecodeError
			if _, err := Decode(tc.b); !errors.As(err, &de) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("accounts out of order", func(t *testing.T) {
		s := h.s.Clone()
		// Two accounts written in the wrong order.
		w := &writer{}
		w.u8(stateVersion)
		w.str8(s.chainID)
		s.params.encode(w)
		w.u64(1)
		w.u64(0)
		w.u32(2)
		for _, a := range []Address{{2}, {1}} {
			w.raw(a[:])
			w.u64(1)
			w.u64(0)
		}
		w.u32(0)
		w.u32(0)
		w.u32(0)
		if _, err := Decode(w.b); err == nil {
			t.Fatal("accepted unsorted accounts")
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	h := newHarness(f, DevnetParams(), 1000*Coin, map[string]uint64{"op": 10_000 * Coin})
	f.Add(h.s.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			return
		}
		if !bytes.Equal(s.Encode(), b) {
			t.Fatal("decode/encode is not the identity")
		}
	})
}

func TestGenesis(t *testing.T) {
	p := DevnetParams()
	g := &Genesis{Params: &p, Pool: 5 * Coin, Accounts: []GenesisAccount{{Address: testAddr("a").String(), Balance: 7}}}
	for i := range 6 {
		name := string(rune('k' + i))
		g.Nodes = append(g.Nodes, GenesisNode{Operator: testAddr("a").String(), Ed25519: hexKey(testNode(name)), X25519: hexKey(testX(name)),
			PublicIP: "127.0.0.1", StoragePort: uint16(3000 + i), FeeBps: 100})
	}
	raw, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseGenesis(raw)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Params.BlockTime != p.BlockTime {
		t.Fatalf("block time %v", parsed.Params.BlockTime)
	}
	s, err := New(testChain, parsed, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Supply() != 5*Coin+7+6*p.StakingRequirement || len(s.Nodes()) != 6 {
		t.Fatalf("supply %d, %d nodes", s.Supply(), len(s.Nodes()))
	}
	for _, n := range s.Nodes() {
		if n.Status != StatusActive || n.SwarmID != 0 {
			t.Fatalf("genesis node %+v", n)
		}
	}
	s2, _ := New(testChain, parsed, 1)
	if s.Hash() != s2.Hash() {
		t.Fatal("genesis not deterministic")
	}

	bad := func(mut func(g *Genesis)) error {
		c := *parsed
		c.Accounts = slices.Clone(parsed.Accounts)
		c.Nodes = slices.Clone(parsed.Nodes)
		mut(&c)
		_, err := New(testChain, &c, 1)
		return err
	}
	for name, mut := range map[string]func(g *Genesis){
		"duplicate account": func(g *Genesis) { g.Accounts = append(g.Accounts, g.Accounts[0]) },
		"bad address":       func(g *Genesis) { g.Accounts[0].Address = "zz" },
		"supply overflow":   func(g *Genesis) { g.Pool = 1 << 63 },
		"duplicate node":    func(g *Genesis) { g.Nodes = append(g.Nodes, g.Nodes[0]) },
		"bad ip":            func(g *Genesis) { g.Nodes[0].PublicIP = "::1" },
		"fee":               func(g *Genesis) { g.Nodes[0].FeeBps = FeeBasis + 1 },
		"bad params":        func(g *Genesis) { q := p; q.QuorumMinVotes = 0; g.Params = &q },
	} {
		if bad(mut) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New("", parsed, 1); err == nil {
		t.Error("empty chain id accepted")
	}
	if _, err := ParseGenesis([]byte(`{"pool":1,"accounts":[],"extra":1}`)); err == nil {
		t.Error("unknown field accepted")
	}
}

// FuzzDeliver applies arbitrary, correctly signed transaction bodies to a
// state with nodes, stakes, names and an open quorum: whatever the fields
// say, nothing panics, a rejected transaction changes nothing and no coin
// is created or lost.
func FuzzDeliver(f *testing.F) {
	h := newHarness(f, DevnetParams(), 1000*Coin, map[string]uint64{"op": 10_000 * Coin, "bob": 500 * Coin})
	h.solo("op", "sn", 9)
	h.ok(h.register("op", "half", 50*Coin, 300, Reservation{Addr: testAddr("bob"), Amount: 10 * Coin}))
	h.ok(h.tx("bob", &NameRegister{Name: NameHash{1}, Value: []byte("v"), Terms: 1}))
	q := h.untilQuorum(key.NodePublic{}, nil)
	signers := []string{"op", "bob", "half", h.names[q.Validators[0]], h.names[q.Workers[0]], "stranger"}
	base := h.s
	for i, b := range sampleBodies() {
		w := &writer{}
		b.encode(w)
		f.Add(uint8(i), uint8(b.Type()), w.b)
	}
	vote := &Vote{Height: q.Height, Results: make([]uint8, len(q.Workers))}
	w := &writer{}
	vote.encode(w)
	f.Add(uint8(3), uint8(TypeVote), w.b)
	f.Fuzz(func(t *testing.T, who, typ uint8, raw []byte) {
		body := newBody(TxType(typ))
		if body == nil {
			return
		}
		r := &reader{b: raw}
		body.decode(r)
		if r.done("body") != nil {
			return
		}
		s := base.Clone()
		if err := s.Begin(s.Height()+1, blockHash(s.Height()+1)); err != nil {
			t.Fatal(err)
		}
		name := signers[int(who)%len(signers)]
		tx := &Tx{ChainID: testChain, Nonce: s.Account(testAddr(name)).Nonce, LastValid: s.Height(), Body: body}
		tx.Sign(testKey(name))
		enc := tx.Encode()
		want, supply := s.Clone(), s.Supply()
		_, err := s.Deliver(enc)
		if s.Account(tx.Signer).Nonce != want.Account(tx.Signer).Nonce {
			// It used its nonce: it paid its fee, whatever its body did.
			fee := want.params.TxFee(body.Type(), len(enc))
			acc := want.account(tx.Signer)
			acc.Nonce++
			acc.Balance -= fee
			want.pool += fee
		}
		if err != nil && s.Hash() != want.Hash() {
			t.Fatalf("rejected %v changed the state beyond its nonce and fee: %v", body.Type(), err)
		}
		if s.Supply() != supply {
			t.Fatalf("%v changed the supply", body.Type())
		}
		if _, err := s.End(); err != nil {
			t.Fatal(err)
		}
		if s.Supply() != supply {
			t.Fatalf("block end after %v changed the supply", body.Type())
		}
		if _, err := Decode(s.Encode()); err != nil {
			t.Fatalf("state after %v does not decode: %v", body.Type(), err)
		}
	})
}

// BenchmarkBlock measures one empty block (rewards, health sweep, quorum
// draw) plus the app hash, on a network of 2 000 nodes and 10 000
// accounts: the per-block cost that grows with the state.
func BenchmarkBlock(b *testing.B) {
	p := DevnetParams()
	p.QuorumInterval = 1
	p.ProofValidity, p.ProofInterval = 1<<40, 1<<39
	g := &Genesis{Params: &p, Pool: 1_000_000 * Coin}
	for i := range 10_000 {
		g.Accounts = append(g.Accounts, GenesisAccount{Address: hexKey(testAddr(fmt.Sprint("acct", i))), Balance: Coin})
	}
	for i := range 2_000 {
		name := fmt.Sprint("bn", i)
		g.Nodes = append(g.Nodes, GenesisNode{Operator: hexKey(testAddr(fmt.Sprint("acct", i))), Ed25519: hexKey(testNode(name)),
			X25519: hexKey(testX(name)), PublicIP: fmt.Sprintf("10.%d.%d.1", i/256, i%256), StoragePort: 22021})
	}
	s, err := New(testChain, g, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		h := s.Height() + 1
		if err := s.Begin(h, blockHash(h)); err != nil {
			b.Fatal(err)
		}
		if _, err := s.End(); err != nil {
			b.Fatal(err)
		}
		_ = s.Hash()
	}
}
