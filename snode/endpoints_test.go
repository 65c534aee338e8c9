package snode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"sotto.dev/nodeproof"
	"sotto.dev/storagerpc"
)

func postJSONRPC(t *testing.T, n *testNode, body string) map[string]any {
	t.Helper()
	resp, err := insecureClient.Post("https://"+n.node.Addr().String()+"/json_rpc", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("json_rpc: %d %v", resp.StatusCode, err)
	}
	return out
}

func TestJSONRPCAndOxendRequest(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA}, []uint64{swarmB, swarmB}, nil)
	tn.nodes[2].state = 2 // decommissioned
	tn.update()
	// Session's seed request (session-protocol.md §3.7).
	out := postJSONRPC(t, tn.nodes[0], `{"jsonrpc":"2.0","id":"1","method":"get_n_service_nodes","params":{"active_only":true,"fields":{"public_ip":true,"storage_port":true,"pubkey_x25519":true,"pubkey_ed25519":true,"requested_unlock_height":true,"height":true}}}`)
	res, _ := out["result"].(map[string]any)
	states, _ := res["service_node_states"].([]any)
	if out["id"] != "1" || len(states) != 2 || res["height"] == nil {
		t.Fatalf("get_n_service_nodes: %v", out)
	}
	for _, s := range states {
		m := s.(map[string]any)
		if len(m) != 5 || m["public_ip"] == "" || m["pubkey_ed25519"] == nil || m["storage_port"] == nil {
			t.Fatalf("fields: %v", m)
		}
		if m["pubkey_ed25519"] == tn.nodes[2].keys.Ed25519Public().String() {
			t.Fatal("decommissioned node listed with active_only")
		}
	}
	out = postJSONRPC(t, tn.nodes[0], `{"jsonrpc":"2.0","id":2,"method":"get_n_service_nodes","params":{"fields":{"swarm_id":true}}}`)
	if states := out["result"].(map[string]any)["service_node_states"].([]any); len(states) != 3 {
		t.Fatalf("all nodes: %v", out)
	}
	out = postJSONRPC(t, tn.nodes[0], `{"jsonrpc":"2.0","id":3,"method":"nope"}`)
	if e, _ := out["error"].(map[string]any); e == nil || e["code"].(float64) != jsonRPCMethodNotFound {
		t.Fatalf("unknown method: %v", out)
	}
	out = postJSONRPC(t, tn.nodes[0], `{`)
	if e, _ := out["error"].(map[string]any); e == nil || e["code"].(float64) != jsonRPCParseError {
		t.Fatalf("bad json: %v", out)
	}

	// The same list through the storage RPC.
	st, body := do(t, tn.nodes[0], &storagerpc.OxendRequestParams{Endpoint: storagerpc.OxendGetServiceNodes,
		Params: json.RawMessage(`{"active_only":true,"fields":{"pubkey_ed25519":true,"swarm_id":true}}`)})
	var or storagerpc.OxendResponse
	if st != 200 || json.Unmarshal(body, &or) != nil || or.T == 0 || !bytes.Contains(or.Result, []byte(`"swarm_id"`)) {
		t.Fatalf("oxend_request: %d %s", st, body)
	}
	st, body = do(t, tn.nodes[0], &storagerpc.OxendRequestParams{Endpoint: storagerpc.OxendONSResolve,
		Params: json.RawMessage(`{"type":0,"name_hash":"` + strings.Repeat("A", 43) + `="}`)})
	if st != 200 || !bytes.Contains(body, []byte(`"result":{}`)) {
		t.Fatalf("ons_resolve: %d %s", st, body)
	}
	// Without a CometBFT ledger there is no signed header: the node says
	// that no proof is available, on both endpoints.
	st, body = do(t, tn.nodes[0], &storagerpc.OxendRequestParams{Endpoint: nodeproof.Endpoint})
	if st != http.StatusServiceUnavailable || !bytes.Contains(body, []byte("no node-list proof")) {
		t.Fatalf("proof without a ledger: %d %s", st, body)
	}
	out = postJSONRPC(t, tn.nodes[0], `{"jsonrpc":"2.0","id":4,"method":"sotto_service_nodes_proof"}`)
	if e, _ := out["error"].(map[string]any); e == nil || e["code"].(float64) != jsonRPCNoProof || !strings.Contains(e["message"].(string), "genesis-file") {
		t.Fatalf("json_rpc proof without a ledger: %v", out)
	}
	// info: version and network time.
	st, body = do(t, tn.nodes[0], &storagerpc.InfoParams{})
	var info storagerpc.InfoResponse
	if st != 200 || json.Unmarshal(body, &info) != nil || info.Version != storageVersion || absMs(info.Timestamp-nowMs()) > 10_000 {
		t.Fatalf("info: %d %s", st, body)
	}
}

func absMs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestRateLimitAndMetrics(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA}, nil, func(c *Config) {
		c.Limits.ClientRate = 0.001
		c.Limits.ClientBurst = 5
		c.AdminAddr = "127.0.0.1:0"
	})
	n := tn.nodes[0]
	codes := map[int]int{}
	for range 8 {
		st, _ := do(t, n, &storagerpc.InfoParams{})
		codes[st]++
	}
	if codes[200] != 5 || codes[429] != 3 {
		t.Fatalf("statuses: %v", codes)
	}
	resp, err := http.Get("http://" + n.node.AdminAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`snode_requests_total{method="info",status="200"} 5`, `snode_dropped_requests_total{kind="client"} 3`, "snode_store_bytes", "snode_store_commits_total", "snode_store_committed_ops_total"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The metrics are not on the public port.
	if st, _ := getPublic(t, n, "/metrics"); st != 405 && st != 404 {
		t.Errorf("public /metrics: %d", st)
	}
}

func getPublic(t *testing.T, n *testNode, path string) (int, []byte) {
	resp, err := insecureClient.Get("https://" + n.node.Addr().String() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestPeerAuthentication checks the node-to-node mutual TLS: a client
// without a ledger key is refused, a server whose key is not the one the
// ledger lists is not trusted.
func TestPeerAuthentication(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA, swarmA}, nil, nil)
	n := tn.nodes[0]
	// No client certificate: 403.
	resp, err := insecureClient.Post("https://"+n.node.Addr().String()+pathAEBuckets, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("anonymous peer request: %d", resp.StatusCode)
	}
	// A certificate of a key the ledger does not list: 403.
	stranger, err := NewNodeKeys()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := selfSignedCert(stranger)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: peerTLS(cert, n.keys.Ed25519Public(), false), ForceAttemptHTTP2: true}}
	resp, err = c.Post("https://"+n.node.Addr().String()+pathAEBuckets, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("unlisted peer: %d", resp.StatusCode)
	}
	// Pinning the wrong server key fails the handshake.
	c = &http.Client{Transport: &http.Transport{TLSClientConfig: peerTLS(cert, tn.nodes[1].keys.Ed25519Public(), false), ForceAttemptHTTP2: true}}
	_, err = c.Post("https://"+n.node.Addr().String()+pathAEBuckets, "application/json", strings.NewReader("{}"))
	if !errors.Is(err, ErrPeerKey) {
		t.Fatalf("wrong server key: %v", err)
	}
	// A listed peer is served.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := tn.nodes[1].node.mem.Load()
	if err := tn.nodes[1].node.reconcile(ctx, m, m.peers()[0]); err != nil {
		t.Fatalf("reconcile between peers: %v", err)
	}
}
