package cometdiff_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/tmhash"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	"github.com/cometbft/cometbft/types"

	"sotto.dev/nodeproof"
	"sotto.dev/storagerpc"
)

// validator is a test validator with its signing key.
type validator struct {
	pv    types.MockPV
	power int64
}

func newValidators(seed string, powers ...int64) []validator {
	out := make([]validator, len(powers))
	for i, p := range powers {
		k := sha256.Sum256([]byte(seed + string(rune('a'+i))))
		out[i] = validator{pv: types.NewMockPVWithParams(cmted25519.GenPrivKeyFromSecret(k[:]), false, false), power: p}
	}
	return out
}

func trustOf(chainID string, vals []validator) *nodeproof.Trust {
	t := &nodeproof.Trust{ChainID: chainID}
	for _, v := range vals {
		t.Validators = append(t.Validators, nodeproof.Validator{PubKey: [32]byte(v.pv.PrivKey.PubKey().Bytes()), Power: v.power})
	}
	return t
}

// testNodes is a small sorted node list.
func testNodes() []nodeproof.Node {
	var ns []nodeproof.Node
	for i := range 4 {
		ns = append(ns, nodeproof.Node{Ed25519: [32]byte{byte(i + 1)}, X25519: sha256.Sum256([]byte{byte(i)}),
			IPv4: [4]byte{10, 0, 0, byte(i + 1)}, Port: 22021, SwarmID: uint64(i % 2), State: nodeproof.StateActive, Version: [3]uint16{2, 11, 1},
			Operator: sha256.Sum256([]byte{'o', byte(i / 2)}), Caps: uint32(i % 2)})
	}
	ns[3].State, ns[3].UnlockHeight = nodeproof.StateUnlocking, 900
	return ns
}

// makeProof builds a proof of testNodes at height 41 whose header is signed
// by signers (each in vals) with vals as the block's validator set.
func makeProof(t testing.TB, chainID string, vals []validator, signers map[int]bool) *nodeproof.ProofJSON {
	t.Helper()
	return makeProofOf(t, chainID, vals, signers, testNodes())
}

// manyNodes is a sorted list of n nodes.
func manyNodes(n int) []nodeproof.Node {
	ns := make([]nodeproof.Node, n)
	for i := range ns {
		ns[i] = nodeproof.Node{X25519: sha256.Sum256([]byte{byte(i), byte(i >> 8)}), IPv4: [4]byte{10, byte(i >> 8), byte(i), 1},
			Port: 22021, SwarmID: uint64(i / 7), State: nodeproof.StateActive, Version: [3]uint16{2, 11, 1},
			Operator: sha256.Sum256([]byte{'o', byte(i / 3), byte(i / 3 >> 8)}), Caps: 1}
		ns[i].Ed25519[0], ns[i].Ed25519[1] = byte(i>>8), byte(i)
	}
	return ns
}

// makeProofOf is makeProof of nodes.
func makeProofOf(t testing.TB, chainID string, vals []validator, signers map[int]bool, nodes []nodeproof.Node) *nodeproof.ProofJSON {
	t.Helper()
	var tv []*types.Validator
	for _, v := range vals {
		tv = append(tv, types.NewValidator(v.pv.PrivKey.PubKey(), v.power))
	}
	vs := types.NewValidatorSet(tv)
	stateHash := sha256.Sum256([]byte("state"))
	app := nodeproof.AppHash(stateHash, nodeproof.NodeListHash(nodes))
	now := time.Date(2026, 12, 4, 20, 0, 0, 123456789, time.UTC)
	const height = 42
	h := types.Header{
		Version: cmtversion.Consensus{Block: 11, App: 1}, ChainID: chainID, Height: height, Time: now,
		LastBlockID:    types.BlockID{Hash: tmhash.Sum([]byte("last")), PartSetHeader: types.PartSetHeader{Total: 1, Hash: tmhash.Sum([]byte("lastparts"))}},
		LastCommitHash: tmhash.Sum([]byte("lc")), DataHash: tmhash.Sum(nil), ValidatorsHash: vs.Hash(), NextValidatorsHash: vs.Hash(),
		ConsensusHash: tmhash.Sum([]byte("cp")), AppHash: app[:], LastResultsHash: tmhash.Sum([]byte("lr")), EvidenceHash: tmhash.Sum(nil),
		ProposerAddress: vs.Proposer.Address,
	}
	blockID := types.BlockID{Hash: h.Hash(), PartSetHeader: types.PartSetHeader{Total: 1, Hash: tmhash.Sum([]byte("parts"))}}
	// Every validator signs (MakeExtCommit needs 2/3), in the set's order;
	// those not in signers are then marked absent.
	var pvs []types.PrivValidator
	for _, sv := range vs.Validators {
		for _, v := range vals {
			if v.pv.PrivKey.PubKey().Address().String() == sv.Address.String() {
				pvs = append(pvs, v.pv)
			}
		}
	}
	voteSet := types.NewVoteSet(chainID, height, 0, cmtproto.PrecommitType, vs)
	ec, err := types.MakeExtCommit(blockID, height, 0, voteSet, pvs, now, false)
	if err != nil {
		t.Fatal(err)
	}
	commit := ec.ToCommit()
	for i, sv := range vs.Validators {
		signed := false
		for j, v := range vals {
			if signers[j] && v.pv.PrivKey.PubKey().Address().String() == sv.Address.String() {
				signed = true
			}
		}
		if !signed {
			commit.Signatures[i] = types.NewCommitSigAbsent()
		}
	}
	shb, err := cmtjson.Marshal(types.SignedHeader{Header: &h, Commit: commit})
	if err != nil {
		t.Fatal(err)
	}
	vb, err := cmtjson.Marshal(vs.Validators)
	if err != nil {
		t.Fatal(err)
	}
	p := &nodeproof.ProofJSON{Height: height - 1, StateHash: hex.EncodeToString(stateHash[:]), SignedHeader: shb, Validators: vb}
	for i := range nodes {
		p.Nodes = append(p.Nodes, nodes[i].ToJSON())
	}
	return p
}

func all(n int) map[int]bool {
	m := map[int]bool{}
	for i := range n {
		m[i] = true
	}
	return m
}

// TestSynthetic checks the power rules with several validators, against
// CometBFT's own verification.
func TestSynthetic(t *testing.T) {
	const chain = "sotto-synthetic"
	four := newValidators("set", 10, 10, 10, 10)
	mixed := newValidators("set", 10, 10, 10, 10)
	mixed[3] = newValidators("new", 10)[0]
	strangers := newValidators("stranger", 10, 10, 10, 10)
	uneven := newValidators("uneven", 50, 10, 10, 10, 10)

	for _, tc := range []struct {
		name    string
		trusted []validator
		vals    []validator
		signers map[int]bool
		chain   string
		ok      bool
	}{
		{"all four sign", four, four, all(4), chain, true},
		{"three of four sign", four, four, map[int]bool{0: true, 1: true, 3: true}, chain, true},
		{"two of four: too little power", four, four, map[int]bool{0: true, 1: true}, chain, false},
		{"exactly 2/3 is not more than 2/3", newValidators("s", 10, 10, 10), newValidators("s", 10, 10, 10), map[int]bool{0: true, 1: true}, chain, false},
		{"the heavy validator alone", uneven, uneven, map[int]bool{0: true}, chain, false},
		{"the heavy validator and two", uneven, uneven, map[int]bool{0: true, 1: true, 2: true}, chain, true},
		{"a changed set, three trusted sign", four, mixed, all(4), chain, true},
		{"a changed set, one trusted signs", four, mixed, map[int]bool{0: true, 3: true}, chain, false},
		{"signed by non-validators", four, strangers, all(4), chain, false},
		{"another chain", four, four, all(4), "sotto-other", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := makeProof(t, tc.chain, tc.vals, tc.signers)
			both(t, trustOf(chain, tc.trusted), p, tc.ok)
		})
	}
}

// update rewrites nodeproof/testdata/proof.json (go test -run TestVector -update).
var update = flag.Bool("update", false, "rewrite nodeproof/testdata/proof.json")

// vector is the test vector nodeproof's own tests load.
type vector struct {
	Trust struct {
		ChainID    string `json:"chain_id"`
		Validators []struct {
			PubKey string `json:"pub_key_ed25519"`
			Power  int64  `json:"power"`
		} `json:"validators"`
	} `json:"trust"`
	Proof json.RawMessage `json:"proof"`
}

// TestVector checks that the committed vector of nodeproof's tests is
// accepted by CometBFT too (and writes it with -update): four validators,
// three of which signed.
func TestVector(t *testing.T) {
	const path = "../testdata/proof.json"
	vals := newValidators("vector", 10, 10, 10, 10)
	if *update {
		var v vector
		v.Trust.ChainID = "sotto-vector"
		for _, tv := range trustOf("sotto-vector", vals).Validators {
			v.Trust.Validators = append(v.Trust.Validators, struct {
				PubKey string `json:"pub_key_ed25519"`
				Power  int64  `json:"power"`
			}{hex.EncodeToString(tv.PubKey[:]), tv.Power})
		}
		v.Proof = encode(t, makeProof(t, "sotto-vector", vals, map[int]bool{0: true, 2: true, 3: true}))
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var p nodeproof.ProofJSON
	if err := json.Unmarshal(v.Proof, &p); err != nil {
		t.Fatal(err)
	}
	both(t, trustOf("sotto-vector", vals), &p, true)
}

func TestEndpointName(t *testing.T) {
	if nodeproof.Endpoint != storagerpc.OxendNodeListProof {
		t.Fatalf("nodeproof.Endpoint %q, storagerpc %q", nodeproof.Endpoint, storagerpc.OxendNodeListProof)
	}
}

// BenchmarkVerify measures a client's verification of a proof of a
// 2,000-node list (Session's network size) signed by every validator of
// sets of several sizes; verification stops at more than 2/3 of the power.
func BenchmarkVerify(b *testing.B) {
	for _, nv := range []int{1, 4, 21, 100} {
		b.Run(fmt.Sprintf("validators=%d", nv), func(b *testing.B) {
			powers := make([]int64, nv)
			for i := range powers {
				powers[i] = 10
			}
			vals := newValidators("bench", powers...)
			raw := encode(b, makeProofOf(b, "sotto-bench", vals, all(nv), manyNodes(2000)))
			trust := trustOf("sotto-bench", vals)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := nodeproof.ParseAndVerify(raw, trust); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
