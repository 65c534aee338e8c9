package ledger

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"sotto.dev/key"
	"sotto.dev/ledger/state"
)

// TestFileServersOnEmbeddedLedger registers, lists, updates and removes a
// file server through a real CometBFT node, and checks the listing
// survives a restart.
func TestFileServersOnEmbeddedLedger(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, cometLeaks...) })
	p := testParams()
	p.ProofValidity, p.ProofInterval = 10_000, 5_000 // no health checks in this test
	g := testGenesis(p, map[string]uint64{"op": 1_000 * state.Coin, "stranger": 50 * state.Coin})
	dir := t.TempDir()
	e, stop := startEmbedded(t, dir, g)
	c := e.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	if err := registerNode(ctx, c, p, "op", "node0", state.IPv4{127, 0, 0, 10}); err != nil {
		t.Fatal(err)
	}
	op, server := state.KeySigner(testPriv("op")), state.KeySigner(testPriv("files"))
	x := key.OnionPublic(sha256.Sum256([]byte("x files")))
	const url = "http://127.0.0.1:9001"
	res, err := c.SubmitFileServer(ctx, op, server, state.TypeFileServerRegister, x, url)
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.FileServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.FileServers) != 1 || l.Height < res.Height {
		t.Fatalf("list %+v after the registration at %d", l, res.Height)
	}
	fs := l.FileServers[0]
	if fs.URL != url || fs.PubkeyX25519 != x.String() || fs.PubkeyEd25519 != key.NodePublic(server.PublicKey()).String() ||
		fs.Operator != testPub("op").String() || fs.RegistrationHeight != res.Height {
		t.Fatalf("listed %+v", fs)
	}
	if rpc := l.RPC(); len(rpc.FileServers) != 1 || rpc.FileServers[0] != fs.FileServer || rpc.Height != l.Height {
		t.Fatalf("RPC form %+v", rpc)
	}

	// Someone who runs no node cannot list a server, even with its key.
	_, err = c.SubmitFileServer(ctx, state.KeySigner(testPriv("stranger")), state.KeySigner(testPriv("other files")),
		state.TypeFileServerRegister, key.OnionPublic{9}, "http://127.0.0.1:9002")
	var te *state.TxError
	if !errors.As(err, &te) || te.Code != state.CodeNotAllowed {
		t.Fatalf("registration by a stranger: %v", err)
	}

	if _, err := c.SubmitFileServer(ctx, op, server, state.TypeFileServerUpdate, x, "http://127.0.0.1:9003/files"); err != nil {
		t.Fatal(err)
	}
	if l, err = c.FileServers(ctx); err != nil || len(l.FileServers) != 1 || l.FileServers[0].URL != "http://127.0.0.1:9003/files" {
		t.Fatalf("after update %+v, %v", l, err)
	}

	// Restart: the registration is in the saved state.
	stop()
	e2, err := NewEmbedded(EmbeddedConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	serveEmbedded(t, e2)
	c2 := e2.Client()
	if l, err = c2.FileServers(ctx); err != nil || len(l.FileServers) != 1 || l.FileServers[0].URL != "http://127.0.0.1:9003/files" {
		t.Fatalf("after restart %+v, %v", l, err)
	}
	if _, err := c2.Submit(ctx, testPriv("op"), &state.FileServerRemove{Ed25519: key.NodePublic(server.PublicKey())}); err != nil {
		t.Fatal(err)
	}
	if l, err = c2.FileServers(ctx); err != nil || len(l.FileServers) != 0 {
		t.Fatalf("after removal %+v, %v", l, err)
	}
}
