package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"sotto.dev/client/path"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	"sotto.dev/onion"
)

// The onion issue's acceptance test on real service nodes: storage RPC
// through 3-hop paths with both ciphers to a snode and to a v4 server,
// path failover when a path node dies, and a malformed layer at every hop.

var ciphers = []onion.Cipher{onion.CipherAESGCM, onion.CipherXChaCha20}

func pathNodes(n *testnet.Network) []path.Node {
	var out []path.Node
	for _, info := range n.Nodes() {
		out = append(out, path.Node{
			Ed25519: key.NodePublic(info.Ed25519),
			X25519:  key.OnionPublic(info.X25519),
			IP:      info.Addr.Addr(),
			Port:    info.Addr.Port(),
		})
	}
	return out
}

// v4Server is an onion destination: a plain Go HTTP server wrapped in
// onion.V4Handler, reached by the last path hop over http on loopback.
func v4Server(t *testing.T) (onion.ServerDest, *httptest.Server) {
	t.Helper()
	var priv key.OnionPrivate
	if _, err := rand.Read(priv[:]); err != nil {
		t.Fatal(err)
	}
	pub := priv.Public()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"echo": string(b), "hdr": r.Header.Get("X-Test")})
	})
	srv := httptest.NewServer(onion.V4Handler(mux, priv))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	return onion.ServerDest{Host: u.Hostname(), Port: uint16(port), Protocol: "http", X25519: pub}, srv
}

func storeBody(t *testing.T, acct *testnet.Account, payload string) []byte {
	t.Helper()
	b, err := acct.StoreRequest([]byte(payload), time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOnionPathsOnRealNodes(t *testing.T) {
	n := testnet.StartT(t, testnet.Options{Nodes: 7})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	acct, err := testnet.NewAccount()
	if err != nil {
		t.Fatal(err)
	}
	_, members := n.SwarmOf(acct.Key())
	if len(members) == 0 {
		t.Fatal("account has no swarm")
	}
	nodes := pathNodes(n)
	server, _ := v4Server(t)
	f := &onionFixture{n: n, ctx: ctx, acct: acct, nodes: nodes, destIdx: members[0], server: server}

	for _, c := range ciphers {
		t.Run(c.String(), func(t *testing.T) { f.roundTrips(t, c) })
	}
	t.Run("malformed layer at each hop", f.malformedLayers)
	t.Run("killed path node", f.killedPathNode)
}

// onionFixture is what the subtests of TestOnionPathsOnRealNodes share: a
// running network, an account, and nodes[destIdx], a member of the
// account's swarm, as the snode destination.
type onionFixture struct {
	n       *testnet.Network
	ctx     context.Context
	acct    *testnet.Account
	nodes   []path.Node
	destIdx int
	server  onion.ServerDest
}

// roundTrips stores a message through 3-hop paths with cipher c, reads it
// back, and reaches a v4 server destination.
func (f *onionFixture) roundTrips(t *testing.T, c onion.Cipher) {
	ctx, n, acct, nodes, destIdx := f.ctx, f.n, f.acct, f.nodes, f.destIdx
	dest := nodes[destIdx]
	m, err := path.New(path.Config{MinNodes: len(nodes), AllowSameSubnet: true}, path.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	m.SetNodes(nodes)
	s := &path.Sender{Client: n.HTTPClient(), Cipher: c}

	// A snode destination: store, then retrieve it back.
	want := "through the onion with " + c.String()
	var hash string
	err = m.Do(ctx, func(ctx context.Context, p path.Path) error {
		if len(p.Hops) != 3 {
			return path.Permanent(fmt.Errorf("path has %d hops, want 3", len(p.Hops)))
		}
		resp, err := s.Snode(ctx, p, dest, storeBody(t, acct, want))
		if err != nil {
			return err
		}
		if resp.Status != http.StatusOK {
			return path.Permanent(fmt.Errorf("store: status %d: %s", resp.Status, resp.Body))
		}
		var out struct {
			Hash string `json:"hash"`
		}
		if err := json.Unmarshal(resp.Body, &out); err != nil || out.Hash == "" {
			return path.Permanent(fmt.Errorf("store reply %s: %v", resp.Body, err))
		}
		hash = out.Hash
		return nil
	}, dest.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	// A node that just started answers 503 until its first swarm
	// sync is done; wait that out.
	waitFor(t, time.Minute, "destination serving reads", func() error {
		body, err := acct.RetrieveRequest("", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := post(t, ctx, n.HTTPClient(), n.Node(destIdx).URL+"/storage_rpc/v1", body); st == http.StatusServiceUnavailable {
			return errors.New("503: swarm sync not done")
		}
		return nil
	})
	err = m.Do(ctx, func(ctx context.Context, p path.Path) error {
		body, err := acct.RetrieveRequest("", time.Now())
		if err != nil {
			return path.Permanent(err)
		}
		resp, err := s.Snode(ctx, p, dest, body)
		if err != nil {
			return err
		}
		var out struct {
			Messages []struct {
				Hash string `json:"hash"`
				Data string `json:"data"`
			} `json:"messages"`
		}
		if resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &out) != nil {
			return path.Permanent(fmt.Errorf("retrieve: status %d: %s", resp.Status, resp.Body))
		}
		for _, msg := range out.Messages {
			if msg.Hash == hash {
				return nil
			}
		}
		return path.Permanent(fmt.Errorf("retrieve: stored hash %s not among %d messages", hash, len(out.Messages)))
	}, dest.Ed25519)
	if err != nil {
		t.Fatal(err)
	}

	// A v4 server destination.
	v4Echo(t, ctx, m, s, f.server, want)
}

// v4Echo posts want to server's echo endpoint through a path of m and
// checks the answer.
func v4Echo(t *testing.T, ctx context.Context, m *path.Manager, s *path.Sender, server onion.ServerDest, want string) {
	t.Helper()
	err := m.Do(ctx, func(ctx context.Context, p path.Path) error {
		req, err := onion.EncodeV4Request(onion.V4RequestInfo{
			Method: "POST", Endpoint: "/echo",
			Headers: map[string]string{"X-Test": "v4", "Content-Type": "text/plain"},
		}, []byte(want))
		if err != nil {
			return path.Permanent(err)
		}
		resp, err := s.Server(ctx, p, server, req)
		if err != nil {
			return err
		}
		var out map[string]string
		if resp.Code != http.StatusOK || json.Unmarshal(resp.Body, &out) != nil {
			return path.Permanent(fmt.Errorf("v4: code %d: %s", resp.Code, resp.Body))
		}
		if out["echo"] != want || out["hdr"] != "v4" {
			return path.Permanent(fmt.Errorf("v4 echo %v", out))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// malformedLayers sends a layer sealed to a wrong key to each hop in turn
// and checks for Session's unencrypted 400, and that the path still works.
func (f *onionFixture) malformedLayers(t *testing.T) {
	ctx, n, acct, nodes, destIdx := f.ctx, f.n, f.acct, f.nodes, f.destIdx
	dest := nodes[destIdx]
	// A fixed path of three nodes other than the destination.
	var p path.Path
	for i, nd := range nodes {
		if i != destIdx && len(p.Hops) < 3 {
			p.Hops = append(p.Hops, nd)
		}
	}
	guard := "https://" + p.Guard().Addr().String() + "/onion_req/v2"
	for _, c := range ciphers {
		// Hop k (3 = the destination) gets a layer sealed to a wrong key.
		for k := 0; k <= len(p.Hops); k++ {
			hops := p.OnionHops()
			d := dest.Hop()
			var junk key.OnionPublic
			rand.Read(junk[:])
			if k < len(hops) {
				hops[k].X25519 = junk
			} else {
				d.X25519 = junk
			}
			body, key, err := onion.BuildSnodeRequest(hops, d, storeBody(t, acct, "bad"), c)
			if err != nil {
				t.Fatal(err)
			}
			status, reply := post(t, ctx, n.HTTPClient(), guard, body)
			_, err = onion.DecodeSnodeResponse(key, status, reply)
			key.Destroy()
			var pe *onion.PathError
			if !errors.As(err, &pe) || pe.Status != http.StatusBadRequest {
				t.Fatalf("%s: bad layer at hop %d: status %d body %q err %v, want an unencrypted 400", c, k, status, reply, err)
			}
			if !bytes.Contains(bytes.ToLower(reply), []byte("invalid ciphertext")) {
				t.Errorf("%s: bad layer at hop %d: body %q, want Session's \"Invalid ciphertext\"", c, k, reply)
			}

			// The same path still serves a good request right after.
			body, key, err = onion.BuildSnodeRequest(p.OnionHops(), dest.Hop(), storeBody(t, acct, "good"), c)
			if err != nil {
				t.Fatal(err)
			}
			status, reply = post(t, ctx, n.HTTPClient(), guard, body)
			resp, err := onion.DecodeSnodeResponse(key, status, reply)
			key.Destroy()
			if err != nil || resp.Status != http.StatusOK {
				t.Fatalf("%s: good request after bad hop %d: %v %d %s", c, k, err, resp.Status, resp.Body)
			}
		}
	}
	// Garbage that is not an onion frame at all.
	status, reply := post(t, ctx, n.HTTPClient(), guard, []byte("\xff\xff\xff\x7fnot an onion request"))
	if status != http.StatusBadRequest {
		t.Fatalf("garbage frame: status %d %q, want 400", status, reply)
	}
}

// killedPathNode kills the middle hop of a warm path and checks that a
// request still succeeds, through another path.
func (f *onionFixture) killedPathNode(t *testing.T) {
	ctx, n, acct, nodes, destIdx := f.ctx, f.n, f.acct, f.nodes, f.destIdx
	dest := nodes[destIdx]
	m, err := path.New(path.Config{MinNodes: 1, AllowSameSubnet: true}, path.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	// Paths drawn from every node but the destination never cross it,
	// so the middle hop of any of them can be killed.
	var others []path.Node
	for i, nd := range nodes {
		if i != destIdx {
			others = append(others, nd)
		}
	}
	m.SetNodes(others)
	// Warm the manager's paths, then kill the middle hop of one of them.
	s := &path.Sender{Client: n.HTTPClient(), Cipher: onion.CipherXChaCha20}
	if err := m.Do(ctx, func(ctx context.Context, p path.Path) error {
		_, err := s.Snode(ctx, p, dest, storeBody(t, acct, "warm up"))
		return err
	}, dest.Ed25519); err != nil {
		t.Fatal(err)
	}
	victim := m.Paths()[0].Hops[1].Ed25519
	idx := slices.IndexFunc(nodes, func(nd path.Node) bool { return nd.Ed25519 == victim })
	if err := n.Kill(idx); err != nil {
		t.Fatal(err)
	}
	defer n.Restart(context.Background(), idx)

	var attempts int
	var used path.Path
	err = m.Do(ctx, func(ctx context.Context, p path.Path) error {
		attempts++
		resp, err := s.Snode(ctx, p, dest, storeBody(t, acct, "after a kill"))
		if err != nil {
			return err
		}
		if resp.Status != http.StatusOK {
			return path.Permanent(fmt.Errorf("status %d: %s", resp.Status, resp.Body))
		}
		used = p
		return nil
	}, dest.Ed25519)
	if err != nil {
		t.Fatalf("no path survived the kill: %v", err)
	}
	if containsNode(used, victim) {
		t.Fatalf("succeeded through the killed node %x", victim[:4])
	}
	t.Logf("succeeded after %d attempt(s)", attempts)
}

func containsNode(p path.Path, id key.NodePublic) bool {
	for _, h := range p.Hops {
		if h.Ed25519 == id {
			return true
		}
	}
	return false
}

func post(t *testing.T, ctx context.Context, c *http.Client, u string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
