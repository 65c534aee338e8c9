package devnet

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"sotto.dev/client"
	"sotto.dev/community"
	"sotto.dev/internal/testnet"
	"sotto.dev/storagerpc"
)

// TestDevnetCommunity: the devnet runs the community server with the
// room lobby, registers it in the ledger and names it in the network
// file; the room is read directly over HTTP and through onion v4 via a
// path of the devnet's nodes; a restart keeps its keys and port and
// registers nothing twice.
func TestDevnetCommunity(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodes")
	}
	dir := t.TempDir()
	var first storagerpc.Community
	var nonce uint64
	run := func(check func(n *testnet.Network)) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ready := make(chan *testnet.Network, 1)
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{Dir: dir, Nodes: 5, Ready: func(n *testnet.Network) { ready <- n }, Community: RealCommunityServer})
		}()
		select {
		case n := <-ready:
			func() {
				defer cancel()
				check(n)
			}()
		case err := <-done:
			t.Fatalf("devnet ended: %v", err)
		case <-time.After(3 * time.Minute):
			t.Fatal("devnet not ready in 3 minutes")
		}
		if err := <-done; err != nil {
			t.Fatalf("devnet: %v", err)
		}
	}

	run(func(n *testnet.Network) {
		cs := networkCommunity(t, n)
		if !slices.Equal(cs.Rooms, []string{LobbyRoom}) || cs.PubkeyEd25519 != "" {
			t.Fatalf("network file lists %+v", cs)
		}
		k, err := community.LoadKeys(filepath.Join(dir, CommunityDir, community.KeyFileName))
		if err != nil || cs.Pubkey != k.OnionPublic().String() {
			t.Fatalf("pubkey %s, key file %v", cs.Pubkey, err)
		}
		first = cs
		checkLobby(t, n, cs)

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := n.LedgerClient()
		l, err := c.Communities(ctx)
		if err != nil || len(l.Communities) != 1 {
			t.Fatalf("ledger lists %+v, %v", l, err)
		}
		if got := l.Communities[0]; got.URL != cs.URL || got.Pubkey != cs.Pubkey || got.PubkeyEd25519 != k.Ed25519Public().String() ||
			!slices.Equal(got.Rooms, cs.Rooms) {
			t.Fatalf("ledger lists %+v, network file %+v", got, cs)
		}
		op, err := c.Account(ctx, mustOperator(t, n))
		if err != nil {
			t.Fatal(err)
		}
		nonce = op.Nonce
	})

	run(func(n *testnet.Network) {
		cs := networkCommunity(t, n)
		if cs.URL != first.URL || cs.Pubkey != first.Pubkey {
			t.Fatalf("after a restart %+v, was %+v", cs, first)
		}
		checkLobby(t, n, cs)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		op, err := n.LedgerClient().Account(ctx, mustOperator(t, n))
		if err != nil || op.Nonce != nonce {
			t.Fatalf("the operator sent transactions again at restart: nonce %d, was %d (%v)", op.Nonce, nonce, err)
		}
	})
}

// networkCommunity reads the one community of the network file, which is
// exactly {"url", "pubkey", "rooms"}.
func networkCommunity(t *testing.T, n *testnet.Network) storagerpc.Community {
	t.Helper()
	data, err := os.ReadFile(n.NetworkFile())
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Communities []map[string]json.RawMessage `json:"communities"`
	}
	if err := json.Unmarshal(data, &raw); err != nil || len(raw.Communities) != 1 {
		t.Fatalf("network file: %v\n%s", err, data)
	}
	for k := range raw.Communities[0] {
		if k != "url" && k != "pubkey" && k != "rooms" {
			t.Errorf("network file community has %q", k)
		}
	}
	var nf struct {
		Communities []storagerpc.Community `json:"communities"`
	}
	if err := json.Unmarshal(data, &nf); err != nil {
		t.Fatal(err)
	}
	if err := storagerpc.CheckCommunities(nf.Communities, true); err != nil {
		t.Fatal(err)
	}
	// The client still reads the file.
	if _, err := client.LoadNetwork(n.NetworkFile()); err != nil {
		t.Fatal(err)
	}
	return nf.Communities[0]
}

// checkLobby fetches /room/lobby directly and through onion v4.
func checkLobby(t *testing.T, n *testnet.Network, cs storagerpc.Community) {
	t.Helper()
	roomToken := func(body []byte) string {
		var room struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(body, &room); err != nil {
			t.Fatalf("room: %v: %s", err, body)
		}
		return room.Token
	}
	resp, err := http.Get(cs.URL + "/room/" + LobbyRoom)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || roomToken(body) != LobbyRoom {
		t.Fatalf("direct: %d %s %v", resp.StatusCode, body, err)
	}
	nf, err := client.LoadNetwork(n.NetworkFile())
	if err != nil {
		t.Fatal(err)
	}
	r := onionCaller(t, nf, cs.URL, cs.Pubkey)("GET", "/room/"+LobbyRoom, nil)
	if r.Code != http.StatusOK || roomToken(r.Body) != LobbyRoom {
		t.Fatalf("onion v4: %d %s", r.Code, r.Body)
	}
}
