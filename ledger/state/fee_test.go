package state

import (
	"bytes"
	"testing"

	"sotto.dev/key"
)

// A transaction that reaches a block pays its fee into the pool and uses
// its nonce even when its body fails; the body's own effects are absent.
func TestFailedTransactionPaysItsFee(t *testing.T) {
	h := devnet(t)
	supply := h.s.Supply()
	raw := h.tx("dave", &Transfer{To: testAddr("erin"), Amount: 50 * Coin})
	fee := h.s.params.TxFee(TypeTransfer, len(raw))
	if want := h.s.params.TxFeeBase + h.s.params.TxFeePerByte*uint64(len(raw)); fee != want || fee == 0 {
		t.Fatalf("fee %d, want %d", fee, want)
	}
	if err := h.s.Begin(h.s.Height()+1, blockHash(h.s.Height()+1)); err != nil {
		t.Fatal(err)
	}
	pool := h.s.Pool()
	if _, err := h.s.Deliver(raw); CodeOf(err) != CodeInsufficientFunds {
		t.Fatalf("err %v", err)
	}
	acc := h.s.Account(testAddr("dave"))
	if acc.Nonce != 1 || acc.Balance != 10*Coin-fee || h.s.Pool() != pool+fee || h.balance("erin") != 0 {
		t.Fatalf("after a failed transfer: dave %+v, pool +%d, erin %d", acc, h.s.Pool()-pool, h.balance("erin"))
	}
	if _, err := h.s.End(); err != nil {
		t.Fatal(err)
	}
	if h.s.Supply() != supply {
		t.Fatal("supply changed")
	}
}

// A signer that cannot pay the fee is refused in CheckTx, and in a block
// its transaction changes nothing, nonce included.
func TestFeeMustBePayable(t *testing.T) {
	h := devnet(t)
	h.ok(h.tx("alice", &Transfer{To: testAddr("poor"), Amount: 1000}))
	raw := h.tx("poor", &Transfer{To: testAddr("bob"), Amount: 1})
	if _, err := h.s.Check(raw); CodeOf(err) != CodeInsufficientFunds {
		t.Fatalf("Check: %v", err)
	}
	h.rejectIn(raw, CodeInsufficientFunds)
	if n := h.s.Account(testAddr("poor")).Nonce; n != 0 {
		t.Fatalf("nonce %d used without a fee", n)
	}
}

func TestTransactionLifetime(t *testing.T) {
	h := devnet(t)
	p := h.s.params
	mk := func(lastValid uint64) []byte {
		tx := &Tx{ChainID: testChain, Nonce: h.s.Account(testAddr("alice")).Nonce, LastValid: lastValid,
			Body: &Transfer{To: testAddr("bob"), Amount: Coin}}
		tx.Sign(testKey("alice"))
		return tx.Encode()
	}
	next := h.s.Height() + 1
	for _, tc := range []struct {
		name      string
		lastValid uint64
		code      Code
	}{
		{"next block", next, CodeOK},
		{"at the limit", next + p.MaxTxLifetime, CodeOK},
		{"past", next - 1, CodeExpired},
		{"beyond the lifetime", next + p.MaxTxLifetime + 1, CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h.s.Check(mk(tc.lastValid)); CodeOf(err) != tc.code {
				t.Fatalf("Check: %v, want %v", err, tc.code)
			}
		})
	}
	// Bytes that never made it into a block expire.
	raw := mk(h.s.Height() + 2)
	h.run(2)
	if _, err := h.s.Check(raw); CodeOf(err) != CodeExpired {
		t.Fatalf("Check after expiry: %v", err)
	}
	h.rejectIn(raw, CodeExpired)
	h.ok(mk(h.s.Height() + 1))
}

// Node duties pay nothing, so CheckTx holds them to their own rules.
func TestDutyAdmission(t *testing.T) {
	h := newHarness(t, DevnetParams(), 0, map[string]uint64{"op": 10_000 * Coin})
	h.solo("op", "sn", 10)
	q := h.untilQuorum(key.NodePublic{}, nil)
	v0, v1 := h.names[q.Validators[0]], h.names[q.Validators[1]]
	worker := h.names[q.Workers[0]]
	pass := make([]uint8, len(q.Workers))
	n := h.node(q.Validators[0])
	proof := &UptimeProof{IP: n.IP, Port: n.Port, Version: [3]uint16{1, 0, 0}}
	for _, tc := range []struct {
		name string
		raw  []byte
		code Code
	}{
		{"vote of a member", h.tx(v0, &Vote{Height: q.Height, Results: pass}), CodeOK},
		{"vote of a non-member", h.tx(worker, &Vote{Height: q.Height, Results: pass}), CodeNotAllowed},
		{"vote of an account", h.tx("op", &Vote{Height: q.Height, Results: pass}), CodeNotAllowed},
		{"vote for no quorum", h.tx(v0, &Vote{Height: q.Height + 1, Results: pass}), CodeUnknownQuorum},
		{"vote with a pending nonce", h.txNonce(v0, h.s.Account(testAddr(v0)).Nonce+1, &Vote{Height: q.Height, Results: pass}), CodeBadNonce},
		{"proof too soon", h.tx(v0, proof), CodeTooSoon},
		{"proof of an unknown key", h.tx("stranger", proof), CodeUnknownNode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h.s.Check(tc.raw); CodeOf(err) != tc.code {
				t.Fatalf("Check: %v, want %v", err, tc.code)
			}
		})
	}
	h.ok(h.tx(v0, &Vote{Height: q.Height, Results: pass}))
	if _, err := h.s.Check(h.tx(v0, &Vote{Height: q.Height, Results: pass})); CodeOf(err) != CodeDuplicate {
		t.Fatalf("second vote: %v", err)
	}
	if got := h.balance(v0); got != 0 {
		t.Fatalf("a vote moved coins: %d", got)
	}
	// A duty still uses its nonce when it fails in a block.
	nonce := h.s.Account(testAddr(v1)).Nonce
	h.rejectIn(h.tx(v1, &Vote{Height: q.Height, Results: pass[1:]}), CodeInvalid)
	if n := h.s.Account(testAddr(v1)).Nonce; n != nonce+1 {
		t.Fatalf("nonce %d, want %d", n, nonce+1)
	}
}

// Propose puts the duties first, leaves out what would not pay or would
// fail as a duty, and keeps within MaxBlockBytes.
func TestProposeDutiesFirst(t *testing.T) {
	p := DevnetParams()
	p.MaxBlockBytes = MaxTxSize
	h := newHarness(t, p, 0, map[string]uint64{"op": 10_000 * Coin, "rich": 10_000 * Coin, "r1": Coin, "r2": Coin, "r3": Coin})
	h.solo("op", "sn", 10)
	q := h.untilQuorum(key.NodePublic{}, nil)
	pass := make([]uint8, len(q.Workers))

	// Far more user transactions than a block holds, then the votes.
	var txs, votes [][]byte
	for _, who := range []string{"rich", "r1", "r2", "r3"} {
		for i := range MaxPendingNonces {
			txs = append(txs, h.txNonce(who, uint64(i), &Transfer{To: testAddr("bob"), Amount: 1}))
		}
	}
	for _, k := range q.Validators {
		votes = append(votes, h.tx(h.names[k], &Vote{Height: q.Height, Results: pass}))
	}
	v0 := h.names[q.Validators[0]]
	dup := h.txNonce(v0, h.s.Account(testAddr(v0)).Nonce+1, &Vote{Height: q.Height, Results: pass})
	gap := h.txNonce("rich", MaxPendingNonces+3, &Transfer{To: testAddr("bob"), Amount: 1})
	poor := h.tx("nobody", &Transfer{To: testAddr("bob"), Amount: 1})
	big := h.tx("rich", &NameRegister{Name: NameHash{1}, Value: make([]byte, 1000), Terms: 1})
	var in [][]byte
	in = append(in, txs...)
	in = append(in, poor, gap, big)
	in = append(in, votes...)
	in = append(in, dup)

	before := h.s.Hash()
	out := h.s.Propose(h.s.Height()+1, in)
	if h.s.Hash() != before {
		t.Fatal("Propose changed the state")
	}
	var size int
	for i, raw := range out {
		size += len(raw)
		if i < len(votes) && !bytes.Equal(raw, votes[i]) {
			t.Fatalf("tx %d is not the vote of validator %d", i, i)
		}
		if bytes.Equal(raw, dup) || bytes.Equal(raw, gap) || bytes.Equal(raw, poor) {
			t.Fatalf("tx %d would not pay or fails as a duty, but was proposed", i)
		}
	}
	if int64(size) > p.MaxBlockBytes || !h.s.BlockFits(out) {
		t.Fatalf("proposal of %d bytes over %d", size, p.MaxBlockBytes)
	}
	if users := len(out) - len(votes); users < 1 || users >= len(txs) {
		t.Fatalf("%d user transactions proposed of %d", users, len(txs))
	}
	// The block runs as proposed: every transaction uses its nonce.
	for i, err := range h.block(out...) {
		if err != nil {
			t.Fatalf("proposed tx %d: %v", i, err)
		}
	}
	if h.s.BlockFits(append(out, make([]byte, MaxTxSize))) {
		t.Fatal("BlockFits accepts an oversize block")
	}
}
