package snode

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	"sotto.dev/key"
	"sotto.dev/onion"
	"sotto.dev/snode/relay"
	"sotto.dev/storagerpc"
)

// TestOnionStore sends a store and a retrieve through three relaying
// nodes to a destination node: every hop is a real node with the relay
// mounted, inner hops authenticate each other with their ledger keys.
func TestOnionStore(t *testing.T) {
	var relays []*relay.Relay
	tn := newTestNetWith(t, []uint64{swarmA, swarmA, swarmA, swarmA, swarmA}, nil, nil, func(n *Node) {
		r, err := n.EnableOnionRelay(relay.Config{})
		if err != nil {
			t.Fatal(err)
		}
		relays = append(relays, r)
	})
	hop := func(i int) onion.Hop {
		k := tn.nodes[i].keys
		return onion.Hop{Node: key.NodePublic(k.Ed25519Public()), X25519: key.OnionPublic(k.X25519Public())}
	}
	u := newUser(t)
	send := func(req storagerpc.Request, c onion.Cipher) onion.SnodeResponse {
		t.Helper()
		payload, err := storagerpc.EncodeRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		body, key, err := onion.BuildSnodeRequest([]onion.Hop{hop(0), hop(1), hop(2)}, hop(3), payload, c)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := insecureClient.Post("https://"+tn.nodes[0].node.Addr().String()+relay.Path, "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		out, err := onion.DecodeSnodeResponse(key, resp.StatusCode, b)
		if err != nil {
			t.Fatalf("onion response %d %q: %v", resp.StatusCode, b, err)
		}
		return out
	}
	p := u.store(0, []byte("through the onion"), time.Hour)
	if r := send(p, onion.CipherXChaCha20); r.Status != 200 || !bytes.Contains(r.Body, []byte(p.Hash())) {
		t.Fatalf("store: %d %s", r.Status, r.Body)
	}
	r := send(u.retrieve(0, "", 0, 0), onion.CipherAESGCM)
	var rr storagerpc.RetrieveResponse
	if r.Status != 200 || json.Unmarshal(r.Body, &rr) != nil || len(rr.Messages) != 1 || string(rr.Messages[0].Data) != "through the onion" {
		t.Fatalf("retrieve: %d %s", r.Status, r.Body)
	}
	if st := relays[1].Stats(); st == (relay.Stats{}) {
		t.Fatal("the middle hop relayed nothing")
	}
}
