package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"sotto.dev/key"
	"sotto.dev/ledger/state"
)

func TestDevnetLedger(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, cometLeaks...) })
	keys := map[[32]byte]ed25519.PrivateKey{}
	snap := &Snapshot{Height: 1}
	addNode := func(i int) Node {
		k := testPriv(fmt.Sprintf("devnet%d", i))
		pub := [32]byte(k.Public().(ed25519.PublicKey))
		keys[pub] = k
		return Node{Ed25519: pub, X25519: sha256.Sum256(pub[:]), PublicIP: "127.0.0.1", StoragePort: uint16(30000 + i),
			SwarmID: UnassignedSwarm, State: StateActive, Version: [3]uint16{1, 0, 0}}
	}
	for i := range 6 {
		snap.Nodes = append(snap.Nodes, addNode(i))
	}
	p := testParams()
	p.ProofInterval, p.ProofValidity = 4, 12
	d := NewDevnetLedger(DevnetLedgerConfig{Dir: t.TempDir(), Params: &p,
		NodeKey: func(pub [32]byte) state.Signer {
			if k := keys[pub]; k != nil {
				return state.KeySigner(k)
			}
			return nil
		}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := d.Publish(ctx, snap); err != nil {
		t.Fatal(err)
	}
	// The view lists the nodes before the ledger even runs.
	if got := d.View().Current().Nodes; len(got) != 6 || got[0].SwarmID != 0 {
		t.Fatalf("view before Serve: %+v", got)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Serve(sctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	c := d.Client()
	c.Poll = 20 * time.Millisecond
	// Nodes stay active past the proof validity: the ledger sends their
	// proofs.
	if err := c.WaitHeight(ctx, p.ProofValidity+5); err != nil {
		t.Fatal(err)
	}
	res, err := c.OxendRequest(ctx, "get_n_service_nodes", json.RawMessage(`{"active_only":true,"fields":{"pubkey_ed25519":true,"swarm_id":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res["service_node_states"].([]map[string]any)); n != 6 {
		t.Fatalf("%d active nodes after %d blocks", n, p.ProofValidity+5)
	}
	// A node published later is registered with its key.
	snap.Nodes = append(snap.Nodes, addNode(6))
	if err := d.Publish(ctx, snap); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the seventh node in the view", func() bool { return len(d.View().Current().Nodes) == 7 })
	ni, err := c.Node(ctx, key.NodePublic(snap.Nodes[6].Ed25519))
	if err != nil || ni.StoragePort != 30006 || ni.OperatorAddress != state.Address(d.Operator().Public().(ed25519.PublicKey)).String() {
		t.Fatalf("late node %+v, %v", ni, err)
	}
}
