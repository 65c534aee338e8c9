package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"

	"sotto.dev/client/path"
	"sotto.dev/internal/testnet"
	"sotto.dev/ledger"
	"sotto.dev/nodeproof"
	"sotto.dev/swarm"
)

// forgingView is the ledger view of a malicious node on a CometBFT
// network: like lyingView it gives every other node an onion key of the
// attacker's, in the recent snapshots it proves too. The node then serves
// the forged list with the real signed header of the next block.
type forgingView struct {
	ledger.RecentView
	me [32]byte
}

func (v forgingView) forge(s *ledger.Snapshot) *ledger.Snapshot {
	out := &ledger.Snapshot{Height: s.Height, StateHash: s.StateHash, Nodes: slices.Clone(s.Nodes)}
	for i := range out.Nodes {
		if out.Nodes[i].Ed25519 != v.me {
			out.Nodes[i].X25519 = sha256.Sum256([]byte("attacker"))
		}
	}
	return out
}

func (v forgingView) Current() *ledger.Snapshot { return v.forge(v.RecentView.Current()) }

func (v forgingView) Recent() []*ledger.Snapshot {
	var out []*ledger.Snapshot
	for _, s := range v.RecentView.Recent() {
		out = append(out, v.forge(s))
	}
	return out
}

// TestProvenNodeList runs a CometBFT network whose node 0 serves a forged
// node list with a real signed header, and clients that verify every list
// against the validators of the network file:
//   - the seed bootstrap and refreshes take the ledger's list;
//   - the forger, asked alone, is refused for its app hash, and a refresh
//     that asks it keeps an honest node's proven list;
//   - a pinned seed serving a well-formed list signed by no validator, or
//     by a validator set of its own, is refused, and says why;
//   - two accounts talk over the network.
func TestProvenNodeList(t *testing.T) {
	if testing.Short() {
		t.Skip("runs CometBFT")
	}
	const forger = 0
	nw := testnet.StartT(t, testnet.Options{Nodes: 6, CometBFT: true, Swarm: swarm.AssignParams{MinSize: 3, IdealSize: 5},
		View: func(node testnet.NodeInfo, v ledger.View) ledger.View {
			if node.Index != forger {
				return v
			}
			return forgingView{RecentView: v.(ledger.RecentView), me: [32]byte(node.Ed25519)}
		}})
	file, err := LoadNetwork(nw.NetworkFile())
	if err != nil {
		t.Fatal(err)
	}
	if file.Ledger == nil || len(file.Ledger.Validators) != 1 {
		t.Fatalf("the network file has no ledger section: %+v", file.Ledger)
	}
	forgerNode := nw.Node(forger)
	file.SeedNodes = slices.DeleteFunc(file.SeedNodes, func(s Seed) bool { return s.URL == forgerNode.URL })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	n := newNetwork(Config{RequestTimeout: 10 * time.Second}.withDefaults(), file)
	defer n.close()
	var truth, honest []path.Node
	var forgerPeer path.Node
	t.Run("bootstrap", func(t *testing.T) {
		m, err := n.manager(ctx)
		if err != nil {
			t.Fatal(err)
		}
		truth = m.Nodes()
		if len(truth) != 6 || n.proven.Load() == 0 {
			t.Fatalf("bootstrap gave %d nodes at proven height %d", len(truth), n.proven.Load())
		}
		for _, nd := range truth {
			if [32]byte(nd.Ed25519) == [32]byte(forgerNode.Ed25519) {
				forgerPeer = nd
			} else {
				honest = append(honest, nd)
			}
		}
	})
	if truth == nil {
		t.FailNow()
	}
	paths := []path.Path{{Hops: honest[2:5]}}
	t.Run("the forger is refused", func(t *testing.T) {
		got, _, err := n.provenFromSnode(ctx, paths[0], forgerPeer)
		var le *NodeListError
		if !errors.As(err, &le) || got != nil || !strings.Contains(err.Error(), "app hash") {
			t.Fatalf("the forger's list: %d nodes, error %v", len(got), err)
		}
	})
	t.Run("a refresh that asks the forger", func(t *testing.T) {
		got, err := n.nodesFromSnodes(ctx, paths, []path.Node{forgerPeer, honest[0], honest[1]})
		if err != nil || !sameNodes(got, truth) {
			t.Fatalf("refresh: %d nodes, %v", len(got), err)
		}
		got, err = n.nodesFromSnodes(ctx, paths, []path.Node{forgerPeer, forgerPeer, forgerPeer})
		var le *NodeListError
		if !errors.As(err, &le) || got != nil {
			t.Fatalf("a refresh from the forger alone: %d nodes, %v", len(got), err)
		}
	})

	// A real proof to forge from.
	cl := nw.Ledger().(*testnet.CometLedger)
	real, err := cl.Client().Prove(ctx, cl.View().(ledger.RecentView).Recent())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, reason string
		forge        func(*testing.T, *nodeproof.ProofJSON) *nodeproof.ProofJSON
	}{
		{"unsigned", "voting power", unsignedProof},
		{"signed by others", "validator", selfSignedProof},
	} {
		t.Run("a pinned seed serving a list "+tc.name, func(t *testing.T) {
			forged := tc.forge(t, real)
			seed := proofSeed(t, forged)
			nf := *file
			nf.SeedNodes = []Seed{seed}
			n := newNetwork(Config{RequestTimeout: 5 * time.Second}.withDefaults(), &nf)
			defer n.close()
			got, err := n.fromSeeds(ctx)
			var le *NodeListError
			if !errors.As(err, &le) || got != nil || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("forged seed: %d nodes, error %v", len(got), err)
			}
			// The same seed with the real proof is believed: the proof is
			// the check.
			seed = proofSeed(t, real)
			nf.SeedNodes = []Seed{seed}
			n2 := newNetwork(Config{RequestTimeout: 5 * time.Second}.withDefaults(), &nf)
			defer n2.close()
			if got, err := n2.fromSeeds(ctx); err != nil || len(got) != 6 {
				t.Fatalf("real proof from the same seed: %d nodes, %v", len(got), err)
			}
		})
	}

	t.Run("a conversation", func(t *testing.T) {
		alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
		a := alice.open(t, nw, "", devOpts{})
		b := bob.open(t, nw, "", devOpts{})
		if _, err := a.c.Send(ctx, bob.id(), "proven hello", SendOptions{}); err != nil {
			t.Fatal(err)
		}
		b.waitFor("bob gets alice's message", time.Minute, func() bool { return len(b.history(alice.id())) == 1 })
		if _, err := b.c.Send(ctx, alice.id(), "proven reply", SendOptions{}); err != nil {
			t.Fatal(err)
		}
		a.waitFor("alice gets bob's reply", time.Minute, func() bool { return len(a.history(bob.id())) == 2 })
	})
}

// proofSeed serves proof at /json_rpc behind a certificate a network file
// can pin.
func proofSeed(t *testing.T, proof *nodeproof.ProofJSON) Seed {
	t.Helper()
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 0, "result": proof})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pin := sha256.Sum256(srv.Certificate().Raw)
	return Seed{URL: srv.URL, CertSHA256: hex.EncodeToString(pin[:])}
}

// forgedList is proof's list with every onion key the attacker's.
func forgedList(t *testing.T, proof *nodeproof.ProofJSON) (*nodeproof.ProofJSON, [32]byte) {
	t.Helper()
	b, _ := json.Marshal(proof)
	var p nodeproof.ProofJSON
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	var nodes []nodeproof.Node
	for i := range p.Nodes {
		x := sha256.Sum256([]byte("attacker"))
		p.Nodes[i].X25519 = hex.EncodeToString(x[:])
		nd, err := p.Nodes[i].Node()
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, nd)
	}
	sh, _ := hex.DecodeString(p.StateHash)
	return &p, nodeproof.AppHash([32]byte(sh), nodeproof.NodeListHash(nodes))
}

// unsignedProof is a forged list with an app hash that commits it, in a
// header whose commit carries no signature.
func unsignedProof(t *testing.T, proof *nodeproof.ProofJSON) *nodeproof.ProofJSON {
	p, app := forgedList(t, proof)
	var sh types.SignedHeader
	if err := cmtjson.Unmarshal(p.SignedHeader, &sh); err != nil {
		t.Fatal(err)
	}
	sh.AppHash = app[:]
	sh.Commit.BlockID.Hash = sh.Header.Hash()
	for i := range sh.Commit.Signatures {
		sh.Commit.Signatures[i] = types.NewCommitSigAbsent()
	}
	if p.SignedHeader, _ = cmtjson.Marshal(sh); p.SignedHeader == nil {
		t.Fatal("marshal")
	}
	return p
}

// selfSignedProof is a forged list in a header made and signed by an
// attacker's own validator, with that validator as the block's set.
func selfSignedProof(t *testing.T, proof *nodeproof.ProofJSON) *nodeproof.ProofJSON {
	p, app := forgedList(t, proof)
	var sh types.SignedHeader
	if err := cmtjson.Unmarshal(p.SignedHeader, &sh); err != nil {
		t.Fatal(err)
	}
	seed := sha256.Sum256([]byte("attacker validator"))
	pv := types.NewMockPVWithParams(cmted25519.GenPrivKeyFromSecret(seed[:]), false, false)
	vs := types.NewValidatorSet([]*types.Validator{types.NewValidator(pv.PrivKey.PubKey(), 10)})
	sh.AppHash, sh.ValidatorsHash, sh.NextValidatorsHash, sh.ProposerAddress = app[:], vs.Hash(), vs.Hash(), vs.Proposer.Address
	blockID := types.BlockID{Hash: sh.Header.Hash(), PartSetHeader: sh.Commit.BlockID.PartSetHeader}
	voteSet := types.NewVoteSet(sh.ChainID, sh.Height, 0, cmtproto.PrecommitType, vs)
	ec, err := types.MakeExtCommit(blockID, sh.Height, 0, voteSet, []types.PrivValidator{pv}, sh.Time, false)
	if err != nil {
		t.Fatal(err)
	}
	sh.Commit = ec.ToCommit()
	if p.SignedHeader, err = cmtjson.Marshal(sh); err != nil {
		t.Fatal(err)
	}
	if p.Validators, err = cmtjson.Marshal(vs.Validators); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProvenHeight checks the replay rule: a proven list may lag the
// newest one taken by maxProofLag blocks, not more.
func TestProvenHeight(t *testing.T) {
	n := newNetwork(Config{}.withDefaults(), &Network{})
	defer n.close()
	for _, tc := range []struct {
		height, newest uint64
		ok             bool
	}{
		{100, 100, true},
		{90, 100, false},
		{100 - maxProofLag, 100, true}, // lagging by the limit
		{120, 120, true},
		{120 - maxProofLag - 1, 120, false},
	} {
		err := n.accept(tc.height)
		var le *NodeListError
		if tc.ok != (err == nil) || (err != nil && !errors.As(err, &le)) || n.proven.Load() != tc.newest {
			t.Fatalf("accept(%d): %v, newest %d; want ok %v, newest %d", tc.height, err, n.proven.Load(), tc.ok, tc.newest)
		}
	}
}
