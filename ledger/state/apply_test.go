package state

import (
	"testing"

	"sotto.dev/key"
	"sotto.dev/swarm"
)

const req = 100 * Coin // DevnetParams().StakingRequirement

func devnet(t *testing.T) *harness {
	return newHarness(t, DevnetParams(), 0, map[string]uint64{
		"alice": 1000 * Coin, "bob": 500 * Coin, "carol": 500 * Coin, "dave": 10 * Coin,
	})
}

// Every transaction type shares the envelope checks.
func TestEnvelopeRejections(t *testing.T) {
	h := devnet(t)
	body := &Transfer{To: testAddr("bob"), Amount: Coin}

	t.Run("bad signature", func(t *testing.T) {
		raw := h.tx("alice", body)
		raw[len(raw)-1] ^= 1
		h.rejectIn(raw, CodeBadSignature)
	})
	t.Run("signed by another key", func(t *testing.T) {
		tx := &Tx{ChainID: testChain, Body: body}
		tx.Sign(testKey("alice"))
		tx.Signer = testAddr("bob")
		h.rejectIn(tx.Encode(), CodeBadSignature)
	})
	t.Run("wrong chain", func(t *testing.T) {
		tx := &Tx{ChainID: "other", Body: body}
		tx.Sign(testKey("alice"))
		h.rejectIn(tx.Encode(), CodeWrongChain)
	})
	t.Run("malformed", func(t *testing.T) {
		h.rejectIn([]byte{1, 2, 3}, CodeMalformed)
	})
	t.Run("replayed", func(t *testing.T) {
		raw := h.tx("alice", body)
		h.ok(raw)
		h.rejectIn(raw, CodeBadNonce)
		if _, err := h.s.Check(raw); CodeOf(err) != CodeBadNonce {
			t.Fatalf("Check accepted a replay: %v", err)
		}
	})
	t.Run("nonce gap", func(t *testing.T) {
		h.rejectIn(h.txNonce("alice", h.s.Account(testAddr("alice")).Nonce+1, body), CodeBadNonce)
	})
	t.Run("same nonce twice in a block", func(t *testing.T) {
		a := h.tx("alice", body)
		b := h.tx("alice", &Transfer{To: testAddr("carol"), Amount: Coin})
		errs := h.block(a, b)
		if errs[0] != nil || CodeOf(errs[1]) != CodeBadNonce {
			t.Fatalf("errors %v", errs)
		}
	})
	t.Run("deliver outside a block", func(t *testing.T) {
		if _, err := h.s.Deliver(h.tx("alice", body)); err != ErrNoBlock {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTransferAndPoolDeposit(t *testing.T) {
	h := devnet(t)
	supply := h.s.Supply()
	h.ok(h.tx("alice", &Transfer{To: testAddr("erin"), Amount: 5 * Coin}))
	if h.balance("erin") != 5*Coin || h.balance("alice")+h.paid("alice") != 995*Coin {
		t.Fatalf("balances %d %d", h.balance("erin"), h.balance("alice"))
	}
	if n := h.s.Account(testAddr("alice")).Nonce; n != 1 {
		t.Fatalf("nonce %d", n)
	}
	pool := h.s.Pool()
	h.ok(h.tx("erin", &PoolDeposit{Amount: 2 * Coin}))
	if h.s.Pool() < pool+2*Coin-BlockReward(&h.s.params, pool+2*Coin) || h.balance("erin")+h.paid("erin") != 3*Coin {
		t.Fatalf("pool %d, erin %d", h.s.Pool(), h.balance("erin"))
	}
	h.rejectIn(h.tx("erin", &Transfer{To: testAddr("bob"), Amount: 4 * Coin}), CodeInsufficientFunds)
	h.rejectIn(h.tx("erin", &Transfer{To: testAddr("bob")}), CodeInvalid)
	h.rejectIn(h.tx("erin", &PoolDeposit{Amount: 4 * Coin}), CodeInsufficientFunds)
	h.rejectIn(h.tx("erin", &PoolDeposit{}), CodeInvalid)
	if h.s.Supply() != supply {
		t.Fatalf("supply %d, want %d", h.s.Supply(), supply)
	}
}

func TestRegisterSolo(t *testing.T) {
	h := devnet(t)
	h.ok(h.register("alice", "n1", req, 500))
	n := h.node(testNode("n1"))
	if n.Status != StatusActive || n.Operator != testAddr("alice") || n.Staked() != req {
		t.Fatalf("node %+v", n)
	}
	if n.SwarmID != 0 {
		t.Fatalf("first node in swarm %d, want 0", n.SwarmID)
	}
	// alice's node earns back part of her fee from the pool.
	if got := h.balance("alice") + h.paid("alice"); got < 900*Coin || got > 900*Coin+h.paid("alice") {
		t.Fatalf("alice %d", h.balance("alice"))
	}
}

func TestRegisterRejections(t *testing.T) {
	h := devnet(t)
	h.ok(h.register("alice", "taken", req, 0))
	taken := h.node(testNode("taken"))

	// Each rejection uses the signer's nonce: build each when it runs.
	var mkNow func(mut func(b *Register), signer string) []byte
	mk := func(mut func(b *Register), signer string) func() []byte {
		return func() []byte { return mkNow(mut, signer) }
	}
	mkNow = func(mut func(b *Register), signer string) []byte {
		b := &Register{Node: testNode("new"), X25519: testX("new"), IP: IPv4{127, 1, 2, 3}, Port: 22021, Stake: req}
		mut(b)
		b.NodeSig = SignRegistration(testKey("new"), testChain, testAddr(signer), b.X25519)
		if b.Node != testNode("new") {
			b.NodeSig = SignRegistration(testKey("taken"), testChain, testAddr(signer), b.X25519)
		}
		return h.tx(signer, b)
	}
	none := func(*Register) {}
	for _, tc := range []struct {
		name string
		raw  func() []byte
		code Code
	}{
		{"short operator stake", mk(func(b *Register) { b.Stake = req/4 - 1 }, "alice"), CodeStakeTooSmall},
		{"stake over requirement", mk(func(b *Register) { b.Stake = req + 1 }, "alice"), CodeStakeTooLarge},
		{"duplicate node key", mk(func(b *Register) { b.Node = testNode("taken") }, "alice"), CodeDuplicate},
		{"duplicate x25519 key", mk(func(b *Register) { b.X25519 = taken.X25519 }, "alice"), CodeDuplicate},
		{"duplicate endpoint", mk(func(b *Register) { b.IP = taken.IP }, "alice"), CodeDuplicate},
		{"zero x25519", mk(func(b *Register) { b.X25519 = key.OnionPublic{} }, "alice"), CodeInvalid},
		{"zero port", mk(func(b *Register) { b.Port = 0 }, "alice"), CodeInvalid},
		{"unspecified ip", mk(func(b *Register) { b.IP = IPv4{} }, "alice"), CodeInvalid},
		{"fee over 100 %", mk(func(b *Register) { b.FeeBps = FeeBasis + 1 }, "alice"), CodeInvalid},
		{"insufficient funds", mk(none, "dave"), CodeInsufficientFunds},
		{"too many reserved spots", mk(func(b *Register) {
			b.Stake = req / 4
			for i := range 10 {
				b.Reserved = append(b.Reserved, Reservation{Addr: testAddr(string(rune('a' + i))), Amount: 1})
			}
		}, "alice"), CodeInvalid},
		{"reservations over requirement", mk(func(b *Register) {
			b.Stake = req / 2
			b.Reserved = []Reservation{{Addr: testAddr("bob"), Amount: req/2 + 1}}
		}, "alice"), CodeStakeTooLarge},
		{"reservation overflow", mk(func(b *Register) {
			b.Stake = req / 2
			b.Reserved = []Reservation{{Addr: testAddr("bob"), Amount: ^uint64(0)}}
		}, "alice"), CodeStakeTooLarge},
		{"operator reserves for itself", mk(func(b *Register) {
			b.Stake = req / 2
			b.Reserved = []Reservation{{Addr: testAddr("alice"), Amount: 1}}
		}, "alice"), CodeDuplicate},
		{"zero reservation", mk(func(b *Register) {
			b.Stake = req / 2
			b.Reserved = []Reservation{{Addr: testAddr("bob")}}
		}, "alice"), CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) { h.rejectIn(tc.raw(), tc.code) })
	}
	t.Run("node signature for another operator", func(t *testing.T) {
		b := &Register{Node: testNode("new"), X25519: testX("new"), IP: IPv4{127, 1, 2, 3}, Port: 22021, Stake: req}
		b.NodeSig = SignRegistration(testKey("new"), testChain, testAddr("bob"), b.X25519)
		h.rejectIn(h.tx("alice", b), CodeBadSignature)
	})
	t.Run("node signature for another chain", func(t *testing.T) {
		b := &Register{Node: testNode("new"), X25519: testX("new"), IP: IPv4{127, 1, 2, 3}, Port: 22021, Stake: req}
		b.NodeSig = SignRegistration(testKey("new"), "elsewhere", testAddr("alice"), b.X25519)
		h.rejectIn(h.tx("alice", b), CodeBadSignature)
	})
	t.Run("private address on mainnet rules", func(t *testing.T) {
		p := MainnetParams()
		m := newHarness(t, p, 0, map[string]uint64{"alice": 30_000 * Coin})
		b := &Register{Node: testNode("new"), X25519: testX("new"), IP: IPv4{192, 168, 1, 1}, Port: 22021, Stake: p.StakingRequirement}
		b.NodeSig = SignRegistration(testKey("new"), testChain, testAddr("alice"), b.X25519)
		m.rejectIn(m.tx("alice", b), CodeInvalid)
		b.IP = IPv4{203, 0, 113, 9}
		b.NodeSig = SignRegistration(testKey("new"), testChain, testAddr("alice"), b.X25519)
		m.ok(m.tx("alice", b))
	})
}

func TestContributions(t *testing.T) {
	h := devnet(t)
	// Operator 30 %, bob holds a reserved 20 %; 50 % open.
	h.ok(h.register("alice", "n", 30*Coin, 1000, Reservation{Addr: testAddr("bob"), Amount: 20 * Coin}))
	k := testNode("n")
	if st := h.node(k).Status; st != StatusAwaiting {
		t.Fatalf("status %v", st)
	}
	// Open room 50 over 8 spots: minimum ceil(50/8) = 6.25 coins.
	h.rejectIn(h.tx("carol", &Contribute{Node: k, Amount: 6 * Coin}), CodeStakeTooSmall)
	h.rejectIn(h.tx("carol", &Contribute{Node: k, Amount: 51 * Coin}), CodeStakeTooLarge)
	h.rejectIn(h.tx("carol", &Contribute{Node: k}), CodeInvalid)
	h.rejectIn(h.tx("carol", &Contribute{Node: testNode("nobody"), Amount: 10 * Coin}), CodeUnknownNode)
	h.rejectIn(h.tx("bob", &Contribute{Node: k, Amount: 19 * Coin}), CodeStakeTooSmall)
	h.rejectIn(h.tx("dave", &Contribute{Node: k, Amount: 40 * Coin}), CodeInsufficientFunds)
	h.ok(h.tx("carol", &Contribute{Node: k, Amount: 40 * Coin}))
	// Ten open coins remain beside bob's reservation; alice tops up 5.
	h.ok(h.tx("alice", &Contribute{Node: k, Amount: 5 * Coin}))
	h.rejectIn(h.tx("carol", &Contribute{Node: k, Amount: 6 * Coin}), CodeStakeTooLarge)
	// bob pays his reservation and the last five open coins.
	h.ok(h.tx("bob", &Contribute{Node: k, Amount: 25 * Coin}))
	n := h.node(k)
	if n.Status != StatusActive || n.Staked() != req || len(n.Contributors) != 3 {
		t.Fatalf("node %+v", n)
	}
	h.rejectIn(h.tx("carol", &Contribute{Node: k, Amount: Coin}), CodeWrongState)
}

func TestContributorSpotsRunOut(t *testing.T) {
	p := DevnetParams()
	p.MaxContributors = 3
	h := newHarness(t, p, 0, map[string]uint64{"alice": 1000 * Coin, "bob": 1000 * Coin, "carol": 1000 * Coin, "dave": 1000 * Coin})
	h.ok(h.register("alice", "n", 25*Coin, 0))
	k := testNode("n")
	h.ok(h.tx("bob", &Contribute{Node: k, Amount: 40 * Coin}))
	// One spot left: the minimum is the whole open room.
	h.rejectIn(h.tx("carol", &Contribute{Node: k, Amount: 34 * Coin}), CodeStakeTooSmall)
	h.ok(h.tx("carol", &Contribute{Node: k, Amount: 35 * Coin}))
	if h.node(k).Status != StatusActive {
		t.Fatal("not active when full")
	}

	h.ok(h.register("alice", "m", 25*Coin, 0, Reservation{Addr: testAddr("bob"), Amount: 50 * Coin}))
	m := testNode("m")
	h.ok(h.tx("carol", &Contribute{Node: m, Amount: 25 * Coin}))
	h.rejectIn(h.tx("dave", &Contribute{Node: m, Amount: 25 * Coin}), CodeFull)
}

func TestRegistrationExpiresUnfunded(t *testing.T) {
	h := devnet(t)
	supply := h.s.Supply()
	h.ok(h.register("alice", "n", 50*Coin, 0))
	h.ok(h.tx("bob", &Contribute{Node: testNode("n"), Amount: 10 * Coin}))
	h.run(int(h.s.params.RegistrationExpiry))
	if _, ok := h.s.Node(testNode("n")); ok {
		t.Fatal("unfunded registration still present")
	}
	if h.balance("alice")+h.paid("alice") != 1000*Coin || h.balance("bob")+h.paid("bob") != 500*Coin {
		t.Fatalf("refunds: alice %d bob %d", h.balance("alice"), h.balance("bob"))
	}
	if h.s.Supply() != supply {
		t.Fatal("supply changed")
	}
}

func TestUnlock(t *testing.T) {
	h := devnet(t)
	p := h.s.params
	h.ok(h.register("alice", "n", 70*Coin, 0))
	k := testNode("n")
	h.ok(h.tx("bob", &Contribute{Node: k, Amount: 10 * Coin}))
	h.ok(h.tx("carol", &Contribute{Node: k, Amount: 20 * Coin}))

	h.rejectIn(h.tx("dave", &Unlock{Node: k}), CodeNotAllowed)
	h.rejectIn(h.tx("alice", &Unlock{Node: testNode("nobody")}), CodeUnknownNode)
	// bob holds 10 %: a small contributor must wait.
	h.rejectIn(h.tx("bob", &Unlock{Node: k}), CodeTooSoon)
	h.run(int(p.SmallContributorUnlockDelay))
	h.proofs(k)
	h.ok(h.tx("bob", &Unlock{Node: k}))
	at := h.node(k).UnlockHeight
	if at != h.s.Height()+p.UnlockDelay {
		t.Fatalf("unlock height %d requested at height %d", at, h.s.Height())
	}
	h.rejectIn(h.tx("alice", &Unlock{Node: k}), CodeDuplicate)
	for h.s.Height() < at-1 {
		if h.s.Height() >= h.node(k).LastProof+p.ProofInterval {
			h.proofs(k)
			continue
		}
		h.block()
	}
	if _, ok := h.s.Node(k); !ok {
		t.Fatal("node left before its unlock height")
	}
	h.block()
	if _, ok := h.s.Node(k); ok {
		t.Fatal("node still registered after its unlock height")
	}
	// Each also earned rewards (from the fees in the pool) meanwhile.
	if h.balance("bob")+h.paid("bob") < 500*Coin || h.balance("carol")+h.paid("carol") < 500*Coin || h.balance("alice")+h.paid("alice") < 1000*Coin {
		t.Fatalf("stakes not returned: alice %d bob %d carol %d", h.balance("alice"), h.balance("bob"), h.balance("carol"))
	}
}

func TestUnlockCancelsAwaitingRegistration(t *testing.T) {
	h := devnet(t)
	h.ok(h.register("alice", "n", 50*Coin, 0))
	k := testNode("n")
	h.ok(h.tx("bob", &Contribute{Node: k, Amount: 10 * Coin}))
	h.rejectIn(h.tx("bob", &Unlock{Node: k}), CodeNotAllowed)
	h.ok(h.tx("alice", &Unlock{Node: k}))
	if _, ok := h.s.Node(k); ok {
		t.Fatal("cancelled registration still present")
	}
	if h.balance("alice")+h.paid("alice") != 1000*Coin || h.balance("bob")+h.paid("bob") != 500*Coin {
		t.Fatal("not refunded")
	}
}

func TestUptimeProof(t *testing.T) {
	h := devnet(t)
	h.ok(h.register("alice", "n", req, 0))
	h.ok(h.register("alice", "other", req, 0))
	k := testNode("n")
	other := h.node(testNode("other"))
	good := &UptimeProof{IP: IPv4{127, 0, 9, 9}, Port: 3000, Version: [3]uint16{1, 0, 0}}
	h.ok(h.tx("n", good))
	n := h.node(k)
	if n.IP != good.IP || n.Port != 3000 || n.Version != good.Version || n.LastProof != h.s.Height() {
		t.Fatalf("proof not recorded: %+v", n)
	}
	h.rejectIn(h.tx("n", good), CodeTooSoon)
	h.run(int(h.s.params.ProofInterval / 2))
	h.rejectIn(h.tx("stranger", good), CodeUnknownNode)
	h.rejectIn(h.tx("alice", good), CodeUnknownNode) // an operator is not a node
	h.rejectIn(h.tx("n", &UptimeProof{IP: other.IP, Port: other.Port, Version: good.Version}), CodeDuplicate)
	h.rejectIn(h.tx("n", &UptimeProof{IP: IPv4{224, 0, 0, 1}, Port: 1, Version: good.Version}), CodeInvalid)
	h.rejectIn(h.tx("n", &UptimeProof{IP: good.IP, Port: 0, Version: good.Version}), CodeInvalid)
	p := DevnetParams()
	p.MinVersion = [3]uint16{1, 2, 0}
	m := newHarness(t, p, 0, map[string]uint64{"alice": 1000 * Coin})
	m.ok(m.register("alice", "n", req, 0))
	m.rejectIn(m.tx("n", &UptimeProof{IP: good.IP, Port: 1, Version: [3]uint16{1, 1, 9}}), CodeInvalid)
	m.ok(m.tx("n", &UptimeProof{IP: good.IP, Port: 1, Version: [3]uint16{1, 2, 0}}))
	h.ok(h.tx("n", good))
}

func TestNames(t *testing.T) {
	h := devnet(t)
	p := h.s.params
	name := NameHash{1, 2, 3}
	supply := h.s.Supply()
	reg := &NameRegister{Name: name, Value: []byte("encrypted session id"), ValueNonce: [24]byte{5}, Terms: 1}
	h.rejectIn(h.tx("alice", &NameRegister{Name: name, Value: reg.Value, Terms: 0}), CodeInvalid)
	h.rejectIn(h.tx("alice", &NameRegister{Name: name, Value: reg.Value, Terms: uint8(p.MaxNameTerms + 1)}), CodeInvalid)
	h.rejectIn(h.tx("alice", &NameRegister{Name: name, Terms: 1}), CodeInvalid)
	h.rejectIn(h.tx("alice", &NameRegister{Name: name, Value: make([]byte, p.MaxNameValue+1), Terms: 1}), CodeInvalid)
	h.rejectIn(h.tx("zed", reg), CodeInsufficientFunds)

	pool := h.s.Pool()
	if err := h.s.Begin(h.s.Height()+1, blockHash(h.s.Height()+1)); err != nil {
		t.Fatal(err)
	}
	raw := h.tx("alice", reg)
	if _, err := h.deliver(raw); err != nil {
		t.Fatal(err)
	}
	if h.s.Pool() != pool+p.NameFee+p.TxFee(TypeNameRegister, len(raw)) {
		t.Fatalf("fee did not reach the pool: %d → %d", pool, h.s.Pool())
	}
	if _, err := h.s.End(); err != nil {
		t.Fatal(err)
	}
	got, ok := h.s.Name(name)
	if !ok || string(got.Value) != "encrypted session id" || got.Owner != testAddr("alice") || got.ValueNonce != reg.ValueNonce {
		t.Fatalf("name %+v %v", got, ok)
	}
	h.rejectIn(h.tx("bob", reg), CodeDuplicate)
	h.rejectIn(h.tx("bob", &NameUpdate{Name: name, Value: []byte("mine")}), CodeNotAllowed)
	h.rejectIn(h.tx("alice", &NameUpdate{Name: NameHash{9}, Value: []byte("x")}), CodeUnknownName)
	h.rejectIn(h.tx("alice", &NameUpdate{Name: name}), CodeInvalid)
	h.ok(h.tx("alice", &NameUpdate{Name: name, Value: []byte("v2"), ValueNonce: [24]byte{6}}))
	if got, _ := h.s.Name(name); string(got.Value) != "v2" || got.ValueNonce != [24]byte{6} {
		t.Fatalf("update: %+v", got)
	}
	expiry := got.Expiry
	h.ok(h.tx("bob", &NameRenew{Name: name, Terms: 2})) // anyone may pay
	if got, _ := h.s.Name(name); got.Expiry != expiry+2*p.NameTerm || got.Owner != testAddr("alice") {
		t.Fatalf("renew: %+v", got)
	}
	h.rejectIn(h.tx("bob", &NameRenew{Name: name, Terms: uint8(p.MaxNameTerms)}), CodeInvalid)
	h.rejectIn(h.tx("bob", &NameRenew{Name: NameHash{9}, Terms: 1}), CodeUnknownName)
	if h.s.Supply() != supply {
		t.Fatal("supply changed")
	}

	// A short-lived name expires and becomes free.
	q := DevnetParams()
	q.NameTerm = 5
	m := newHarness(t, q, 0, map[string]uint64{"alice": 100 * Coin, "bob": 100 * Coin})
	m.ok(m.tx("alice", reg))
	m.run(5)
	if _, ok := m.s.Name(name); ok {
		t.Fatal("name outlived its term")
	}
	m.rejectIn(m.tx("alice", &NameRenew{Name: name, Terms: 1}), CodeUnknownName)
	m.ok(m.tx("bob", reg))
	if got, _ := m.s.Name(name); got.Owner != testAddr("bob") {
		t.Fatal("expired name not re-registrable")
	}
}

func TestSwarmsFormAsNodesJoin(t *testing.T) {
	h := newHarness(t, DevnetParams(), 0, map[string]uint64{"alice": 10_000 * Coin})
	keys := h.solo("alice", "sn", 20)
	sizes := map[uint64]int{}
	for _, k := range keys {
		sizes[h.node(k).SwarmID]++
	}
	if len(sizes) != 2 {
		t.Fatalf("swarms %v, want 2", sizes)
	}
	for id, n := range sizes {
		if id == swarm.UnassignedID || n < 5 {
			t.Fatalf("swarms %v", sizes)
		}
	}
	// Members by swarm agree with the nodes.
	for id, n := range sizes {
		if got := len(h.s.SwarmMembers(id)); got != n {
			t.Fatalf("swarm %d has %d members, want %d", id, got, n)
		}
	}
}

func TestCheckAdmission(t *testing.T) {
	h := devnet(t)
	h.ok(h.register("alice", "n", req, 0))
	body := &Transfer{To: testAddr("bob"), Amount: 1}
	for _, tc := range []struct {
		name string
		raw  []byte
		code Code
	}{
		{"funded account", h.tx("alice", body), CodeOK},
		{"pending nonce", h.txNonce("alice", h.s.Account(testAddr("alice")).Nonce+MaxPendingNonces, body), CodeOK},
		{"nonce too far ahead", h.txNonce("alice", h.s.Account(testAddr("alice")).Nonce+MaxPendingNonces+1, body), CodeBadNonce},
		{"used nonce", h.txNonce("alice", 0, body), CodeBadNonce},
		{"registered node without coins", h.tx("n", &UptimeProof{IP: IPv4{127, 0, 0, 1}, Port: 1, Version: [3]uint16{1}}), CodeOK},
		{"unknown empty account", h.tx("stranger", body), CodeInsufficientFunds},
		{"bad signature", append(h.tx("alice", body)[:20], make([]byte, 100)...), CodeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.s.Hash()
			_, err := h.s.Check(tc.raw)
			if got := CodeOf(err); got != tc.code {
				t.Fatalf("code %v (%v), want %v", got, err, tc.code)
			}
			if h.s.Hash() != before {
				t.Fatal("Check changed the state")
			}
		})
	}
}

func TestDeregisteredEndpointIsFree(t *testing.T) {
	p := DevnetParams()
	p.ProofInterval, p.ProofValidity, p.CreditInitial = 2, 3, 0
	h := newHarness(t, p, 0, map[string]uint64{"alice": 1000 * Coin})
	h.ok(h.register("alice", "old", req, 0))
	old := h.node(testNode("old"))
	h.run(int(p.ProofValidity) + 1)
	if h.node(testNode("old")).Status != StatusDeregistered {
		t.Fatal("not deregistered")
	}
	b := &Register{Node: testNode("new"), X25519: testX("new"), IP: old.IP, Port: old.Port, Stake: req}
	b.NodeSig = SignRegistration(testKey("new"), testChain, testAddr("alice"), b.X25519)
	h.ok(h.tx("alice", b))
	// The deregistered key itself stays taken until its stake returns.
	h.rejectIn(h.register("alice", "old", req, 0), CodeDuplicate)
}

// Recheck skips the signature (checked on admission) but every rule that a
// block can change still applies.
func TestRecheck(t *testing.T) {
	h := devnet(t)
	raw := h.tx("alice", &Transfer{To: testAddr("bob"), Amount: 1})
	if _, err := h.s.Recheck(raw); err != nil {
		t.Fatal(err)
	}
	h.ok(raw)
	if _, err := h.s.Recheck(raw); CodeOf(err) != CodeBadNonce {
		t.Fatalf("recheck after the block: %v", err)
	}
}
