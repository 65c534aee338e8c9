package cometdiff_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/tmhash"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtmath "github.com/cometbft/cometbft/libs/math"
	"github.com/cometbft/cometbft/types"

	"sotto.dev/ledger"
	"sotto.dev/ledger/state"
	"sotto.dev/nodeproof"
)

// cometVerify is the reference: the same checks done with CometBFT's own
// types package (SignedHeader.ValidateBasic, ValidatorSet.Hash,
// VerifyCommitLight, VerifyCommitLightTrusting at 1/3).
func cometVerify(trust *nodeproof.Trust, p *nodeproof.ProofJSON) error {
	var sh types.SignedHeader
	if err := cmtjson.Unmarshal(p.SignedHeader, &sh); err != nil {
		return err
	}
	var vals []*types.Validator
	if err := cmtjson.Unmarshal(p.Validators, &vals); err != nil {
		return err
	}
	if sh.Header == nil || sh.Commit == nil {
		return errors.New("no header or commit")
	}
	if sh.ChainID != trust.ChainID {
		return errors.New("wrong chain")
	}
	if err := sh.ValidateBasic(trust.ChainID); err != nil {
		return err
	}
	vs, err := types.ValidatorSetFromExistingValidators(vals)
	if err != nil {
		return err
	}
	if !bytes.Equal(vs.Hash(), sh.ValidatorsHash) {
		return errors.New("validators hash")
	}
	if err := vs.VerifyCommitLight(trust.ChainID, sh.Commit.BlockID, sh.Height, sh.Commit); err != nil {
		return err
	}
	var tv []*types.Validator
	for _, v := range trust.Validators {
		tv = append(tv, types.NewValidator(edPub(v.PubKey), v.Power))
	}
	ts := types.NewValidatorSet(tv)
	if !bytes.Equal(ts.Hash(), vs.Hash()) {
		if err := ts.VerifyCommitLightTrusting(trust.ChainID, sh.Commit, cmtmath.Fraction{Numerator: 1, Denominator: 3}); err != nil {
			return err
		}
	}
	if sh.Height != int64(p.Height)+1 {
		return errors.New("height")
	}
	// The app hash, from the proof's own nodes (the encoding itself is
	// checked against the ledger in ledger/state).
	var nodes []nodeproof.Node
	for _, j := range p.Nodes {
		n, err := j.Node()
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	stateHash, err := hex.DecodeString(p.StateHash)
	if err != nil || len(stateHash) != 32 {
		return errors.New("state hash")
	}
	if want := nodeproof.AppHash([32]byte(stateHash), nodeproof.NodeListHash(nodes)); !bytes.Equal(sh.AppHash, want[:]) {
		return errors.New("app hash")
	}
	return nil
}

func edPub(k [32]byte) cmted25519.PubKey { return cmted25519.PubKey(k[:]) }

func encode(t testing.TB, p *nodeproof.ProofJSON) []byte {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// both runs nodeproof and the reference on p and fails unless they agree
// with ok.
func both(t *testing.T, trust *nodeproof.Trust, p *nodeproof.ProofJSON, ok bool) {
	t.Helper()
	_, err := nodeproof.ParseAndVerify(encode(t, p), trust)
	ref := cometVerify(trust, p)
	if (err == nil) != ok || (ref == nil) != ok {
		t.Fatalf("want ok=%v: nodeproof: %v; CometBFT: %v", ok, err, ref)
	}
}

// realLedger runs a one-validator CometBFT ledger with three genesis nodes
// and returns a proof built from it, with the trust of its network file.
func realLedger(t testing.TB, nodes int) (*nodeproof.Trust, *nodeproof.ProofJSON, *ledger.Embedded) {
	t.Helper()
	p := state.DevnetParams()
	p.BlockTime = 100 * time.Millisecond
	op := ed25519.NewKeyFromSeed(make([]byte, 32))
	g := &state.Genesis{Params: &p, Pool: 1_000_000 * state.Coin,
		Accounts: []state.GenesisAccount{{Address: hex.EncodeToString(op.Public().(ed25519.PublicKey)), Balance: uint64(nodes+1) * p.StakingRequirement}}}
	for i := range nodes {
		k := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		nk := ed25519.NewKeyFromSeed(k[:]).Public().(ed25519.PublicKey)
		x := sha256.Sum256([]byte{'x', byte(i), byte(i >> 8)})
		g.Nodes = append(g.Nodes, state.GenesisNode{Operator: hex.EncodeToString(op.Public().(ed25519.PublicKey)),
			Ed25519: hex.EncodeToString(nk), X25519: hex.EncodeToString(x[:]), PublicIP: fmt.Sprintf("10.%d.%d.1", i>>8, i&0xff),
			StoragePort: 22021, Version: [3]uint16{2, 11, 0}})
	}
	e, err := ledger.NewEmbedded(ledger.EmbeddedConfig{Dir: t.TempDir(), ChainID: "sotto-proof-test", Genesis: g})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	c := e.Client()
	if err := c.WaitHeight(wctx, 3); err != nil {
		t.Fatal(err)
	}
	proof, err := c.Prove(wctx, e.View().Recent())
	if err != nil {
		t.Fatal(err)
	}
	// The follower's path: one /nodelist query, proven once its next
	// block is committed.
	snap, err := c.Snapshot(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHeight(wctx, snap.Height+1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Prove(wctx, []*ledger.Snapshot{snap}); err != nil || snap.StateHash == ([32]byte{}) {
		t.Fatalf("proof of the queried snapshot: %v", err)
	}
	if len(proof.Nodes) != nodes {
		t.Fatalf("proof lists %d nodes", len(proof.Nodes))
	}
	var vals []*types.Validator
	if err := cmtjson.Unmarshal(proof.Validators, &vals); err != nil {
		t.Fatal(err)
	}
	trust := &nodeproof.Trust{ChainID: "sotto-proof-test"}
	for _, v := range vals {
		trust.Validators = append(trust.Validators, nodeproof.Validator{PubKey: [32]byte(v.PubKey.Bytes()), Power: v.VotingPower})
	}
	return trust, proof, e
}

// BenchmarkProve measures what a node spends to build a proof of a
// 2,000-node list from its in-process ledger (the node caches it until the
// next block).
func BenchmarkProve(b *testing.B) {
	_, _, e := realLedger(b, 2000)
	snaps := e.View().Recent()
	for b.Loop() {
		if _, err := e.Client().Prove(context.Background(), snaps); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyReal measures a client's verification of a real proof of
// a 2,000-node list from a one-validator ledger.
func BenchmarkVerifyReal(b *testing.B) {
	trust, proof, _ := realLedger(b, 2000)
	raw := encode(b, proof)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := nodeproof.ParseAndVerify(raw, trust); err != nil {
			b.Fatal(err)
		}
	}
}

func clone(t testing.TB, p *nodeproof.ProofJSON) *nodeproof.ProofJSON {
	var c nodeproof.ProofJSON
	if err := json.Unmarshal(encode(t, p), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// editHeader rewrites the signed header's JSON with f.
func editHeader(t testing.TB, p *nodeproof.ProofJSON, f func(*types.SignedHeader)) {
	var sh types.SignedHeader
	if err := cmtjson.Unmarshal(p.SignedHeader, &sh); err != nil {
		t.Fatal(err)
	}
	f(&sh)
	b, err := cmtjson.Marshal(sh)
	if err != nil {
		t.Fatal(err)
	}
	p.SignedHeader = b
}

// TestRealLedger checks proofs from a real CometBFT ledger, and the same
// proofs forged, with nodeproof and with CometBFT.
func TestRealLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT ledger")
	}
	trust, proof, _ := realLedger(t, 3)
	both(t, trust, proof, true)

	for _, tc := range []struct {
		name  string
		forge func(*nodeproof.ProofJSON)
	}{
		{"a changed node", func(p *nodeproof.ProofJSON) { p.Nodes[1].StoragePort++ }},
		{"a changed onion key", func(p *nodeproof.ProofJSON) { p.Nodes[0].X25519 = p.Nodes[1].X25519 }},
		{"a node left out", func(p *nodeproof.ProofJSON) { p.Nodes = p.Nodes[1:] }},
		{"another state hash", func(p *nodeproof.ProofJSON) { p.StateHash = hex.EncodeToString(make([]byte, 32)) }},
		{"a changed app hash", func(p *nodeproof.ProofJSON) {
			editHeader(t, p, func(sh *types.SignedHeader) { sh.AppHash = tmhash.Sum([]byte("forged")) })
		}},
		{"a changed app hash and block id", func(p *nodeproof.ProofJSON) {
			editHeader(t, p, func(sh *types.SignedHeader) {
				sh.AppHash = tmhash.Sum([]byte("forged"))
				sh.Commit.BlockID.Hash = sh.Header.Hash()
			})
		}},
		{"a bad signature", func(p *nodeproof.ProofJSON) {
			editHeader(t, p, func(sh *types.SignedHeader) { sh.Commit.Signatures[0].Signature[5] ^= 1 })
		}},
		{"a later timestamp", func(p *nodeproof.ProofJSON) {
			editHeader(t, p, func(sh *types.SignedHeader) {
				sh.Commit.Signatures[0].Timestamp = sh.Commit.Signatures[0].Timestamp.Add(time.Nanosecond)
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := clone(t, proof)
			tc.forge(p)
			both(t, trust, p, false)
		})
	}
	t.Run("wrong chain id", func(t *testing.T) {
		both(t, &nodeproof.Trust{ChainID: "sotto-other", Validators: trust.Validators}, proof, false)
	})
	t.Run("another validator trusted", func(t *testing.T) {
		other := *trust
		other.Validators = []nodeproof.Validator{{PubKey: sha256.Sum256([]byte("v")), Power: 10}}
		both(t, &other, proof, false)
	})
}
