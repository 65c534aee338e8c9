package snode

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"sotto.dev/ledger"
	"sotto.dev/ledger/state"
	"sotto.dev/snode/relay"
	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// infoOf is a tested node as the ledger reports it.
func infoOf(n *testNode) ledger.NodeInfo {
	ip := "127.0.0.1"
	if n.fake {
		ip = "10.0.0.1"
	}
	return ledger.NodeInfo{
		Ed25519: n.keys.Ed25519Public().String(), X25519: n.keys.X25519Public().String(),
		PublicIP: ip, StoragePort: n.port, SwarmID: n.swarm, State: "active", Active: true,
	}
}

func TestLedgerSigner(t *testing.T) {
	k, err := NewNodeKeys()
	if err != nil {
		t.Fatal(err)
	}
	s := k.LedgerSigner()
	if s.PublicKey() != [32]byte(k.Ed25519Public()) {
		t.Fatal("signer key is not the node key")
	}
	msg := []byte("sotto ledger transaction")
	sig := s.Sign(msg)
	pub := k.Ed25519Public()
	if !ed25519.Verify(ed25519.PublicKey(pub[:]), msg, sig[:]) {
		t.Fatal("signature does not verify under the node key")
	}
	// A transaction signed by the adapter carries the node key as signer
	// and verifies.
	tx := &state.Tx{ChainID: "sotto-test", Nonce: 3, Body: &state.UptimeProof{IP: state.IPv4{127, 0, 0, 1}, Port: 22021, Version: nodeVersion()}}
	tx.SignWith(s)
	dec, err := state.DecodeTx(tx.Encode())
	if err != nil {
		t.Fatalf("signed transaction: %v", err)
	}
	if dec.Signer != state.Address(k.Ed25519Public()) || !dec.VerifySignature() {
		t.Fatal("transaction signer is not the node key")
	}
	seed := k.node.Seed()
	for _, out := range []string{fmt.Sprintf("%v %+v %s %x", s, s, s, s)} {
		if strings.Contains(out, fmt.Sprintf("%x", seed)) || !strings.Contains(out, k.Ed25519Public().String()) {
			t.Fatalf("signer formats as %q", out)
		}
	}
}

// healthNet is three live nodes of swarm A, one live node of swarm B and
// a listed node of swarm B that never runs. Every node but the last live
// one mounts the onion relay; anti-entropy is slow so that a message one
// member lost stays lost during the test.
func healthNet(t *testing.T) *testNet {
	t.Helper()
	i := 0
	return newTestNetWith(t, []uint64{swarmA, swarmA, swarmA, swarmB}, []uint64{swarmB}, func(c *Config) {
		c.Intervals.AntiEntropy = Duration(time.Hour)
	}, func(n *Node) {
		n.sync.done() // every swarm is empty: nothing to pull
		n.quorums.get = everyoneTests(n)
		defer func() { i++ }()
		if i == 3 {
			return
		}
		if _, err := n.EnableOnionRelay(relay.Config{}); err != nil {
			t.Fatal(err)
		}
	})
}

// everyoneTests is a quorum list in which every listed node tests every
// other, as n's view lists them.
func everyoneTests(n *Node) func(context.Context) ([]ledger.QuorumInfo, error) {
	return func(context.Context) ([]ledger.QuorumInfo, error) {
		var q ledger.QuorumInfo
		for _, p := range n.mem.Load().snap.Nodes {
			q.Validators = append(q.Validators, p.Ed25519.String())
			q.Workers = append(q.Workers, p.Ed25519.String())
		}
		return []ledger.QuorumInfo{q}, nil
	}
}

func TestTesterPingAndOnion(t *testing.T) {
	tn := healthNet(t)
	ctx := context.Background()
	tester := NewTester(tn.nodes[0].node, time.Millisecond)
	noRelay := NewTester(tn.nodes[3].node, time.Millisecond)

	// A live node passes both tests, from a tester with a relay (the node
	// forwards to the tester) and from one without (the node is the
	// destination).
	for _, tt := range []*Tester{tester, noRelay} {
		for _, target := range []*testNode{tn.nodes[1], tn.nodes[2]} {
			if err := tt.PingStorage(ctx, infoOf(target)); err != nil {
				t.Errorf("ping: %v", err)
			}
			if err := tt.RelayOnion(ctx, infoOf(target)); err != nil {
				t.Errorf("onion: %v", err)
			}
		}
	}

	var te *TestError
	// A node that serves no relay fails the onion test but answers pings.
	if err := tester.PingStorage(ctx, infoOf(tn.nodes[3])); err != nil {
		t.Errorf("ping of the relay-less node: %v", err)
	}
	if err := tester.RelayOnion(ctx, infoOf(tn.nodes[3])); !errors.As(err, &te) || te.Test != "onion" {
		t.Errorf("onion through a node without relay: %v", err)
	}

	// Nothing listens at the listed address: both fail.
	tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	dead := infoOf(tn.nodes[4])
	dead.PublicIP, dead.StoragePort = "127.0.0.1", freePort(t)
	if err := tester.PingStorage(tctx, dead); !errors.As(err, &te) || te.Test != "storage" {
		t.Errorf("ping of a dead node: %v", err)
	}
	if err := tester.RelayOnion(tctx, dead); !errors.As(err, &te) {
		t.Errorf("onion of a dead node: %v", err)
	}

	// Another node answers at the listed address: the TLS pin refuses it.
	imposter := infoOf(tn.nodes[4])
	imposter.PublicIP, imposter.StoragePort = "127.0.0.1", tn.nodes[1].port
	if err := tester.PingStorage(ctx, imposter); !errors.As(err, &te) || !strings.Contains(te.Reason, "unreachable") {
		t.Errorf("ping of the wrong node: %v", err)
	}

	// Bad listings fail without a request.
	for _, bad := range []func(*ledger.NodeInfo){
		func(ni *ledger.NodeInfo) { ni.Ed25519 = "zz" },
		func(ni *ledger.NodeInfo) { ni.X25519 = ni.X25519[:10] },
		func(ni *ledger.NodeInfo) { ni.PublicIP = "0.0.0.0" },
		func(ni *ledger.NodeInfo) { ni.PublicIP = "::1" },
		func(ni *ledger.NodeInfo) { ni.StoragePort = 0 },
	} {
		ni := infoOf(tn.nodes[1])
		bad(&ni)
		if err := tester.PingStorage(ctx, ni); !errors.As(err, &te) {
			t.Errorf("%+v: %v", ni, err)
		}
	}
}

func TestTesterStorageTest(t *testing.T) {
	tn := healthNet(t)
	ctx := context.Background()
	// No minimum age: a message counts as soon as it is stored (the
	// minimum age is checked below with an hour).
	tester := NewTester(tn.nodes[0].node, 0)

	// Nothing stored yet: nothing to ask for.
	if err := tester.StorageTest(ctx, infoOf(tn.nodes[1])); !errors.Is(err, ledger.ErrCannotTest) {
		t.Fatalf("empty swarm: %v", err)
	}
	u := userIn(t, []uint64{swarmA, swarmB}, swarmA)
	for i := range 3 {
		if st, body := do(t, tn.nodes[0], u.store(0, fmt.Appendf(nil, "message %d", i), time.Hour)); st != 200 {
			t.Fatalf("store: %d %s", st, body)
		}
	}
	for _, target := range tn.nodes[1:3] {
		if err := tester.StorageTest(ctx, infoOf(target)); err != nil {
			t.Fatalf("storage test of a member holding every message: %v", err)
		}
	}
	// Nodes of another swarm or in none are not storage-tested.
	for _, ni := range []ledger.NodeInfo{infoOf(tn.nodes[3]), func() ledger.NodeInfo {
		ni := infoOf(tn.nodes[1])
		ni.SwarmID, ni.Active, ni.State = ledger.UnassignedSwarm, false, "decommissioned"
		return ni
	}()} {
		if err := tester.StorageTest(ctx, ni); !errors.Is(err, ledger.ErrCannotTest) {
			t.Fatalf("swarm %x: %v", ni.SwarmID, err)
		}
	}
	// Messages younger than the minimum age are not asked for.
	if err := NewTester(tn.nodes[0].node, time.Hour).StorageTest(ctx, infoOf(tn.nodes[1])); !errors.Is(err, ledger.ErrCannotTest) {
		t.Fatalf("young messages: %v", err)
	}

	// A member that lost the account's messages fails.
	a := store.Account(u.acct.Bytes())
	if _, err := tn.nodes[2].node.store.Purge(ctx, a); err != nil {
		t.Fatal(err)
	}
	var te *TestError
	if err := tester.StorageTest(ctx, infoOf(tn.nodes[2])); !errors.As(err, &te) || te.Test != "storage_test" {
		t.Fatalf("storage test of a member that lost the data: %v", err)
	}
	if err := tester.StorageTest(ctx, infoOf(tn.nodes[1])); err != nil {
		t.Fatalf("the other member: %v", err)
	}
}

func TestHandleStorageTest(t *testing.T) {
	tn := healthNet(t)
	ctx := context.Background()
	n := tn.nodes[1].node
	peer := tn.nodes[0].keys.Ed25519Public()
	u := userIn(t, []uint64{swarmA, swarmB}, swarmA)
	p := u.store(0, []byte("kept"), time.Hour)
	if st, body := do(t, tn.nodes[0], p); st != 200 {
		t.Fatalf("store: %d %s", st, body)
	}
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"hash":"` + p.Hash() + `"}`, 200},
		{`{"hash":"` + strings.Repeat("A", 43) + `"}`, 404},
		{`{"hash":""}`, 400},
		{`{"hash":"` + strings.Repeat("A", 200) + `"}`, 400},
		{`{"hash":1}`, 400},
		{`nope`, 400},
	} {
		st, val, err := n.handleStorageTest(ctx, peer, []byte(c.body))
		st, out, _ := encodeReply(st, val, err)
		if st != c.want {
			t.Errorf("%s: %d %s, want %d", c.body, st, out, c.want)
		}
		if st == 200 {
			var r storageTestResp
			if json.Unmarshal(out, &r) != nil || string(r.Data) != "kept" {
				t.Errorf("answer %s", out)
			}
		}
	}
	// Not listed: refused before the handler.
	stranger, err := NewNodeKeys()
	if err != nil {
		t.Fatal(err)
	}
	st, _ := peerPost(t, &testNode{keys: stranger}, tn.nodes[1], pathStorageTest, []byte(`{"hash":"`+p.Hash()+`"}`))
	if st != 403 {
		t.Errorf("unlisted caller: %d", st)
	}
}

// peerPost posts to a node's node-to-node endpoint with from's client
// certificate.
func peerPost(t *testing.T, from, to *testNode, path string, body []byte) (int, []byte) {
	t.Helper()
	cert, err := selfSignedCert(from.keys)
	if err != nil {
		t.Fatal(err)
	}
	pc := newPeerClients(cert, 5*time.Second, sourceDialer("", 5*time.Second))
	defer pc.close()
	resp, err := pc.client(to.keys.Ed25519Public(), false).Post("https://"+to.node.Addr().String()+path, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		k, err := resp.Body.Read(buf)
		b.Write(buf[:k])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, []byte(b.String())
}

// freePort returns a loopback port nothing listens on (it was free a
// moment ago).
func freePort(t *testing.T) uint16 {
	t.Helper()
	dir := t.TempDir()
	c := quietConfig(dir)
	n, err := New(c, Deps{View: staticView(t, &ledger.Snapshot{})})
	if err != nil {
		t.Fatal(err)
	}
	port := n.Addr().Port()
	n.Close()
	return port
}

// FuzzStorageTestRequest feeds arbitrary bodies to the storage test
// endpoint as a listed node would send them.
func FuzzStorageTestRequest(f *testing.F) {
	n, peer := fuzzNodeWithPeer(f)
	n.sync.done()
	n.quorums.get = everyoneTests(n)
	u := newUser(f)
	if st, body := n.HandleRPC(context.Background(), mustEncode(f, u.store(0, []byte("x"), time.Hour))); st != 200 {
		f.Fatalf("store: %d %s", st, body)
	}
	f.Add([]byte(`{"hash":"` + u.store(0, []byte("x"), time.Hour).Hash() + `"}`))
	f.Add([]byte(`{"hash":"` + strings.Repeat("A", 43) + `"}`))
	f.Add([]byte(`{}`))
	known := map[int]bool{200: true, 400: true, 404: true, 503: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		st, val, err := n.handleStorageTest(context.Background(), peer.Ed25519Public(), body)
		st, out, isJSON := encodeReply(st, val, err)
		if !known[st] || (isJSON && !json.Valid(out)) {
			t.Fatalf("status %d body %q", st, out)
		}
	})
}

func mustEncode(t testing.TB, r storagerpc.Request) []byte {
	t.Helper()
	b, err := storagerpc.EncodeRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRetry(t *testing.T) {
	ctx := context.Background()
	calls := 0
	answer := &TestError{Test: "storage", Reason: "answered HTTP 500"}
	for _, c := range []struct {
		name  string
		f     func() error
		calls int
		want  error
	}{
		{"pass", func() error { return nil }, 1, nil},
		{"answer", func() error { return answer }, 1, answer},
		{"cannot", func() error { return ledger.ErrCannotTest }, 1, ledger.ErrCannotTest},
		{"unreachable", func() error { return unreachable("storage", errors.New("refused")) }, 3, nil},
		{"unreachable once", func() error {
			if calls == 1 {
				return unreachable("storage", errors.New("reset"))
			}
			return nil
		}, 2, nil},
	} {
		calls = 0
		err := retry(ctx, func() error { calls++; return c.f() })
		var te *TestError
		switch {
		case calls != c.calls:
			t.Errorf("%s: %d calls, want %d", c.name, calls, c.calls)
		case c.name == "unreachable" && (!errors.As(err, &te) || !strings.Contains(te.Reason, "unreachable")):
			t.Errorf("%s: %v", c.name, err)
		case c.name != "unreachable" && !errors.Is(err, c.want):
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
