package ledger

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"sotto.dev/key"
	"sotto.dev/ledger/state"
)

// TestCommunitiesOnEmbeddedLedger registers, lists, updates and removes a
// community server through a real CometBFT node.
func TestCommunitiesOnEmbeddedLedger(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, cometLeaks...) })
	p := testParams()
	p.ProofValidity, p.ProofInterval = 10_000, 5_000 // no health checks in this test
	g := testGenesis(p, map[string]uint64{"op": 1_000 * state.Coin, "stranger": 50 * state.Coin})
	e, stop := startEmbedded(t, t.TempDir(), g)
	defer stop()
	c := e.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	if err := registerNode(ctx, c, p, "op", "node0", state.IPv4{127, 0, 0, 10}); err != nil {
		t.Fatal(err)
	}
	op, server := state.KeySigner(testPriv("op")), state.KeySigner(testPriv("community"))
	x := key.OnionPublic(sha256.Sum256([]byte("x community")))
	const url = "http://127.0.0.1:9101"
	res, err := c.SubmitCommunity(ctx, op, server, state.TypeCommunityRegister, x, url, []string{"lobby", "dev"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.Communities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Communities) != 1 || l.Height < res.Height {
		t.Fatalf("list %+v after the registration at %d", l, res.Height)
	}
	cs := l.Communities[0]
	if cs.URL != url || cs.Pubkey != x.String() || cs.PubkeyEd25519 != key.FileServerPublic(server.PublicKey()).String() ||
		!slices.Equal(cs.Rooms, []string{"lobby", "dev"}) || cs.Operator != testPub("op").String() || cs.RegistrationHeight != res.Height {
		t.Fatalf("listed %+v", cs)
	}
	if rpc := l.RPC(); len(rpc.Communities) != 1 || rpc.Communities[0].URL != url || rpc.Height != l.Height {
		t.Fatalf("RPC form %+v", rpc)
	}

	_, err = c.SubmitCommunity(ctx, state.KeySigner(testPriv("stranger")), state.KeySigner(testPriv("other community")),
		state.TypeCommunityRegister, key.OnionPublic{9}, "http://127.0.0.1:9102", []string{"lobby"})
	var te *state.TxError
	if !errors.As(err, &te) || te.Code != state.CodeNotAllowed {
		t.Fatalf("registration by a stranger: %v", err)
	}

	if _, err := c.SubmitCommunity(ctx, op, server, state.TypeCommunityUpdate, x, url, []string{"lobby"}); err != nil {
		t.Fatal(err)
	}
	if l, err = c.Communities(ctx); err != nil || len(l.Communities) != 1 || !slices.Equal(l.Communities[0].Rooms, []string{"lobby"}) {
		t.Fatalf("after update %+v, %v", l, err)
	}
	if _, err := c.Submit(ctx, testPriv("op"), &state.CommunityRemove{Ed25519: key.FileServerPublic(server.PublicKey())}); err != nil {
		t.Fatal(err)
	}
	if l, err = c.Communities(ctx); err != nil || len(l.Communities) != 0 {
		t.Fatalf("after removal %+v, %v", l, err)
	}
}
