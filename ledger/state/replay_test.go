package state

import "testing"

// A transfer that failed for lack of funds must not be replayable once
// the account is funded: the failed transaction used its nonce.
func TestReplayOfFailedTransfer(t *testing.T) {
	h := devnet(t)
	// dave holds 10 coins and signs a transfer of 50 to mallory; it reaches
	// a block and fails.
	raw := h.tx("dave", &Transfer{To: testAddr("mallory"), Amount: 50 * Coin})
	if errs := h.block(raw); CodeOf(errs[0]) != CodeInsufficientFunds {
		t.Fatalf("first delivery: %v", errs[0])
	}
	// Later dave is funded; mallory, who saw the signed bytes, replays them.
	h.ok(h.tx("alice", &Transfer{To: testAddr("dave"), Amount: 100 * Coin}))
	if _, err := h.s.Check(raw); err == nil {
		t.Error("Check admits the replayed transfer")
	}
	if errs := h.block(raw); errs[0] == nil {
		t.Error("the replayed transfer was applied")
	}
	if got := h.balance("mallory"); got != 0 {
		t.Fatalf("mallory received %d", got)
	}
}

// An unlock refused as too soon must not be forceable later by whoever
// kept its bytes.
func TestReplayOfRefusedUnlock(t *testing.T) {
	h := devnet(t)
	p := h.s.params
	h.ok(h.register("alice", "n", 70*Coin, 0))
	k := testNode("n")
	h.ok(h.tx("bob", &Contribute{Node: k, Amount: 10 * Coin}))
	h.ok(h.tx("carol", &Contribute{Node: k, Amount: 20 * Coin}))
	raw := h.tx("bob", &Unlock{Node: k})
	if errs := h.block(raw); CodeOf(errs[0]) != CodeTooSoon {
		t.Fatalf("first delivery: %v", errs[0])
	}
	h.run(int(p.SmallContributorUnlockDelay))
	h.proofs(k)
	if _, err := h.s.Check(raw); err == nil {
		t.Error("Check admits the replayed unlock")
	}
	if errs := h.block(raw); errs[0] == nil {
		t.Error("the replayed unlock was applied")
	}
	if at := h.node(k).UnlockHeight; at != 0 {
		t.Fatalf("node unlocks at height %d without bob asking again", at)
	}
}
