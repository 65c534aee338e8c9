package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	"sotto.dev/ledger"
	ledgercli "sotto.dev/ledger/cli"
	"sotto.dev/ledger/state"
	"sotto.dev/snode"
)

// fastLedgerParams are the devnet rules sped up for a test: 200 ms
// blocks; uptime proofs every 5 blocks, valid for 12; a quorum of 3 every
// 3 blocks that tests every other node (2 votes decide); 50 blocks of
// credit that barely grow during the test; the stake of a deregistered
// node locked for 20 blocks; swarms of 5, so that 12 nodes make a swarm of
// 7 and one of 5.
func fastLedgerParams() state.Params {
	p := state.DevnetParams()
	p.BlockTime = 200 * time.Millisecond
	p.ProofInterval, p.ProofValidity = 5, 12
	p.QuorumInterval, p.QuorumSize, p.QuorumMinVotes = 3, 3, 2
	p.MinWorkers = 16
	p.VoteLifetime = 10
	p.CreditInitial, p.CreditMax, p.DecommissionMinimum = 50, 100, 10
	p.CreditPerDay, p.BlocksPerDay = 1, 300
	p.DeregistrationLock = 20
	p.SwarmMinSize, p.SwarmIdealSize = 5, 5
	return p
}

// ledgerNode is node i's registration.
func ledgerNode(t *testing.T, c *ledger.Client, nw *testnet.Network, i int) (*ledger.NodeInfo, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Node(ctx, key.NodePublic(nw.Node(i).Ed25519))
}

// accountIn makes an account of swarm id.
func accountIn(t *testing.T, nw *testnet.Network, id uint64) *testnet.Account {
	t.Helper()
	for range 10_000 {
		a, err := testnet.NewAccount()
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := nw.SwarmOf(a.Key()); got == id {
			return a
		}
	}
	t.Fatalf("no account for swarm %x", id)
	return nil
}

// storeOn stores data for acct on node i and returns the message hash.
func storeOn(t *testing.T, nw *testnet.Network, acct *testnet.Account, i int, data []byte) string {
	t.Helper()
	body, err := acct.StoreRequest(data, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, b, err := testnet.Post(ctx, nw.HTTPClient(), nw.Node(i).URL+"/storage_rpc/v1", body)
	if err != nil || st != http.StatusOK {
		t.Fatalf("store on node %d: %d %s %v", i, st, b, err)
	}
	var resp struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(b, &resp); err != nil || resp.Hash == "" {
		t.Fatalf("store reply %s: %v", b, err)
	}
	return resp.Hash
}

// heldBy returns the hashes of acct's messages on node i, or an error
// (503 while it syncs, 421 if it does not serve the account).
func heldBy(nw *testnet.Network, acct *testnet.Account, i int) ([]string, error) {
	body, err := acct.RetrieveRequest("", time.Now())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, b, err := testnet.Post(ctx, nw.HTTPClient(), nw.Node(i).URL+"/storage_rpc/v1", body)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("node %d: HTTP %d %.100s", i, st, b)
	}
	var resp struct {
		Messages []struct {
			Hash string `json:"hash"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, err
	}
	var out []string
	for _, m := range resp.Messages {
		out = append(out, m.Hash)
	}
	return out, nil
}

// everyMemberHolds checks that every node of the account's current swarm
// serves all of hashes.
func everyMemberHolds(nw *testnet.Network, acct *testnet.Account, hashes []string) error {
	id, members := nw.SwarmOf(acct.Key())
	if len(members) < 5 {
		return fmt.Errorf("swarm %x has %d members", id, len(members))
	}
	for _, i := range members {
		got, err := heldBy(nw, acct, i)
		if err != nil {
			return err
		}
		for _, h := range hashes {
			if !slices.Contains(got, h) {
				return fmt.Errorf("node %d of swarm %x lacks %s", i, id, h)
			}
		}
	}
	return nil
}

// TestNodeHealthOnLedger runs 12 nodes on the embedded CometBFT ledger
// with fast rules. Every node registered itself with its operator key. A
// node of the swarm of 5 is stopped: the ledger decommissions it within
// its proof validity, its swarm is refilled to 5 serving members, no
// stored message is lost; started again, it proves its uptime, passes a
// quorum's tests and is recommissioned. A node that never returns is
// deregistered once its credit is spent, its stake stays locked for the
// lock period and then returns to its operator less the penalty, which
// goes to the reward pool; the ledger's supply never changes.
func TestNodeHealthOnLedger(t *testing.T) {
	p := fastLedgerParams()
	nw := startNetwork(t, testnet.Options{
		Nodes: 12, CometBFT: true, LedgerParams: &p,
		TuneLedger: func(_ int, c *snode.LedgerConfig) {
			c.TestTimeout = 3 * time.Second
			c.StorageTestMinAge = time.Second
		},
	})
	c := nw.LedgerClient()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st0, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st0.Params.BlockTime != p.BlockTime || st0.Active != 12 {
		t.Fatalf("ledger status %+v", st0)
	}

	operators := checkRegistered(t, c, nw)
	var small, big uint64
	sw := nw.Swarms()
	for id, members := range sw {
		switch len(members) {
		case 5:
			small = id
		case 7:
			big = id
		}
	}
	if len(sw) != 2 || len(sw[small]) != 5 || len(sw[big]) != 7 {
		t.Fatalf("swarms %v, want one of 7 and one of 5", sw)
	}

	accts, hashes := storeEverywhere(t, nw, small)
	victim := stopAndReturn(t, ctx, c, nw, p, small)
	for _, a := range accts {
		waitFor(t, 30*time.Second, "no message lost", func() error { return everyMemberHolds(nw, a, hashes[a]) })
	}
	gone := neverReturns(t, ctx, c, nw, p, operators, big, victim)
	st1, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st1.Supply != st0.Supply {
		t.Fatalf("supply %d, was %d", st1.Supply, st0.Supply)
	}
	for _, a := range accts {
		if err := everyMemberHolds(nw, a, hashes[a]); err != nil {
			t.Fatalf("at the end: %v", err)
		}
	}
	// Healthy nodes were never voted out: every running node is active.
	for i := range nw.Len() {
		if i == gone {
			continue
		}
		if ni, err := ledgerNode(t, c, nw, i); err != nil || !ni.Active {
			t.Errorf("node %d at the end: %+v %v", i, ni, err)
		}
	}
}

// checkRegistered checks that each node registered itself, staked by its
// own operator, in the swarm the harness reports, and sent its first
// uptime proof. It returns the operators' addresses.
func checkRegistered(t *testing.T, c *ledger.Client, nw *testnet.Network) []state.Address {
	t.Helper()
	operators := make([]state.Address, nw.Len())
	for i := range nw.Len() {
		op, err := ledgercli.ReadKey(nw.Node(i).OperatorKey)
		if err != nil {
			t.Fatal(err)
		}
		operators[i] = state.Address(op.PublicKey())
		ni, err := ledgerNode(t, c, nw, i)
		if err != nil {
			t.Fatal(err)
		}
		if ni.OperatorAddress != operators[i].String() || !ni.Active || ni.SwarmID != nw.Node(i).Swarm {
			t.Fatalf("node %d: %+v", i, ni)
		}
		// A node sends its first uptime proof once it has joined; the
		// transaction may still be on its way to a block.
		waitFor(t, 30*time.Second, fmt.Sprintf("node %d's first uptime proof", i), func() error {
			ni, err := ledgerNode(t, c, nw, i)
			if err != nil {
				return err
			}
			if ni.LastProofHeight == 0 {
				return fmt.Errorf("no proof yet at height %d", ni.StateHeight)
			}
			return nil
		})
	}
	return operators
}

// storeEverywhere stores four messages for each of three accounts of the
// swarm, and waits until every member holds them.
func storeEverywhere(t *testing.T, nw *testnet.Network, swarmID uint64) ([]*testnet.Account, map[*testnet.Account][]string) {
	t.Helper()
	members := nw.Swarms()[swarmID]
	var accts []*testnet.Account
	hashes := map[*testnet.Account][]string{}
	for range 3 {
		a := accountIn(t, nw, swarmID)
		accts = append(accts, a)
		for j := range 4 {
			hashes[a] = append(hashes[a], storeOn(t, nw, a, members[j%len(members)], fmt.Appendf(nil, "message %d", j)))
		}
	}
	for _, a := range accts {
		waitFor(t, 30*time.Second, "messages on every member", func() error { return everyMemberHolds(nw, a, hashes[a]) })
	}
	return accts, hashes
}

// stopAndReturn stops a member of the swarm small: the ledger
// decommissions it and the swarm is refilled; it comes back and is
// recommissioned by a quorum. It returns the node.
func stopAndReturn(t *testing.T, ctx context.Context, c *ledger.Client, nw *testnet.Network, p state.Params, small uint64) int {
	t.Helper()
	sw := nw.Swarms()
	victim := sw[small][0]
	before, err := ledgerNode(t, c, nw, victim)
	if err != nil {
		t.Fatal(err)
	}
	stopped, err := c.Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := nw.Stop(victim); err != nil {
		t.Fatal(err)
	}
	var decomm *ledger.NodeInfo
	waitFor(t, 30*time.Second, "decommission", func() error {
		ni, err := ledgerNode(t, c, nw, victim)
		if err != nil {
			return err
		}
		if ni.State != "decommissioned" {
			return fmt.Errorf("state %s", ni.State)
		}
		decomm = ni
		return nil
	})
	// The node may still have sent a proof while it was stopping; the
	// ledger acts at the latest ProofValidity blocks after the last proof
	// it recorded.
	if decomm.LastProofHeight < before.LastProofHeight || decomm.StateHeight > decomm.LastProofHeight+p.ProofValidity+1 {
		t.Fatalf("decommissioned at height %d, stopped at %d with proof %d (%d before the stop), validity %d",
			decomm.StateHeight, stopped, decomm.LastProofHeight, before.LastProofHeight, p.ProofValidity)
	}
	t.Logf("node %d stopped at height %d, decommissioned at %d (reason %d)", victim, stopped, decomm.StateHeight, decomm.DecommissionReason)
	waitFor(t, 30*time.Second, "refill", func() error {
		members := nw.Swarms()[small]
		if len(members) < 5 || slices.Contains(members, victim) {
			return fmt.Errorf("swarm %x: %v", small, members)
		}
		return nil
	})

	// It comes back and is recommissioned by a quorum.
	if err := nw.Start(ctx, victim); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "recommission", func() error {
		ni, err := ledgerNode(t, c, nw, victim)
		if err != nil {
			return err
		}
		if !ni.Active || ni.SwarmID == ledger.UnassignedSwarm {
			return fmt.Errorf("state %s swarm %x", ni.State, ni.SwarmID)
		}
		return nil
	})
	for id, members := range nw.Swarms() {
		if len(members) < 5 {
			t.Fatalf("swarm %x has %d members after the return", id, len(members))
		}
	}
	return victim
}

// neverReturns stops a node of the swarm big other than victim for good:
// it is deregistered, its stake stays locked for the lock period and then
// returns to its operator less the penalty. It returns the node.
func neverReturns(t *testing.T, ctx context.Context, c *ledger.Client, nw *testnet.Network, p state.Params, operators []state.Address, big uint64, victim int) int {
	t.Helper()
	gone := -1
	for _, i := range nw.Swarms()[big] {
		if i != victim {
			gone = i
			break
		}
	}
	if err := nw.Stop(gone); err != nil {
		t.Fatal(err)
	}
	var dereg *ledger.NodeInfo
	waitFor(t, 60*time.Second, "deregistration", func() error {
		ni, err := ledgerNode(t, c, nw, gone)
		if err != nil {
			return err
		}
		if ni.State != "deregistered" {
			return fmt.Errorf("state %s, credit %d", ni.State, ni.EarnedDowntimeBlocks)
		}
		dereg = ni
		return nil
	})
	stake := dereg.TotalContributed
	if stake != p.StakingRequirement || dereg.StakeReturnHeight == 0 {
		t.Fatalf("deregistered node %+v", dereg)
	}
	locked, err := c.Account(ctx, operators[gone])
	if err != nil {
		t.Fatal(err)
	}
	// Locked: nothing comes back before the return height.
	if err := c.WaitHeight(ctx, dereg.StakeReturnHeight-2); err != nil {
		t.Fatal(err)
	}
	if acc, err := c.Account(ctx, operators[gone]); err != nil || acc.Balance != locked.Balance {
		t.Fatalf("operator balance during the lock: %+v %v, was %d", acc, err, locked.Balance)
	}
	waitFor(t, 30*time.Second, "stake return", func() error {
		_, err := ledgerNode(t, c, nw, gone)
		if !errors.Is(err, ledger.ErrNotFound) {
			return fmt.Errorf("still listed: %v", err)
		}
		return nil
	})
	penalty := stake * p.DeregistrationPenaltyBps / state.FeeBasis
	if acc, err := c.Account(ctx, operators[gone]); err != nil || acc.Balance != locked.Balance+stake-penalty {
		t.Fatalf("operator balance after the return: %+v %v, want %d + %d - %d", acc, err, locked.Balance, stake, penalty)
	}
	return gone
}

// TestSottodOnLedger runs real `sottod run --ledger URL --operator-key
// FILE` processes following the embedded CometBFT ledger over its RPC:
// each registers itself; one killed with SIGKILL is decommissioned and,
// once it runs again, recommissioned.
func TestSottodOnLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sottod and runs CometBFT")
	}
	bin := buildSottod(t)
	p := fastLedgerParams()
	// sottod looks at the ledger every second: slower blocks keep its
	// proofs well inside their validity.
	p.BlockTime, p.ProofValidity = 400*time.Millisecond, 15
	nw := startNetwork(t, testnet.Options{Nodes: 5, Sottod: bin, CometBFT: true, LedgerParams: &p})
	c := nw.LedgerClient()
	for i := range nw.Len() {
		op, err := ledgercli.ReadKey(nw.Node(i).OperatorKey)
		if err != nil {
			t.Fatal(err)
		}
		ni, err := ledgerNode(t, c, nw, i)
		if err != nil || !ni.Active || ni.OperatorAddress != state.Address(op.PublicKey()).String() {
			t.Fatalf("node %d: %+v %v", i, ni, err)
		}
	}
	if err := nw.Kill(1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "decommission", func() error {
		ni, err := ledgerNode(t, c, nw, 1)
		if err != nil || ni.State != "decommissioned" {
			return fmt.Errorf("%+v %v", ni, err)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := nw.Start(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "recommission", func() error {
		ni, err := ledgerNode(t, c, nw, 1)
		if err != nil || !ni.Active {
			return fmt.Errorf("%+v %v", ni, err)
		}
		return nil
	})
	// The children really are sottod, registering themselves. (Node 1
	// may have been killed before it saw its registration in a block.)
	log, err := os.ReadFile(nw.Node(0).LogFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "registered in the ledger") {
		t.Fatalf("node 0 log:\n%.3000s", log)
	}
}
