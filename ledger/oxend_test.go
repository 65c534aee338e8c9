package ledger

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"sotto.dev/ledger/state"
)

func sampleInfos() []NodeInfo {
	return []NodeInfo{
		{Ed25519: strings.Repeat("aa", 32), X25519: strings.Repeat("ab", 32), PublicIP: "203.0.113.1", StoragePort: 22021,
			SwarmID: 0, Active: true, Funded: true, OperatorFeeBps: 500,
			Contributors: []ContributorInfo{{Address: strings.Repeat("01", 32), Amount: 7}}},
		{Ed25519: strings.Repeat("bb", 32), X25519: strings.Repeat("bc", 32), PublicIP: "203.0.113.2", StoragePort: 22021,
			SwarmID: UnassignedSwarm, Active: false, Funded: true},
		{Ed25519: strings.Repeat("cc", 32), X25519: strings.Repeat("cd", 32), PublicIP: "203.0.113.3", StoragePort: 22021,
			SwarmID: 1 << 63, Active: true, Funded: true, RequestedUnlockHeight: 99},
		{Ed25519: strings.Repeat("dd", 32), Funded: false}, // awaiting contributions
	}
}

func decodeStates(t *testing.T, res map[string]any) []map[string]any {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		States []map[string]any `json:"service_node_states"`
		Height uint64           `json:"height"`
		Status string           `json:"status"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.Status != "OK" || v.Height != 42 {
		t.Fatalf("header %+v", v)
	}
	return v.States
}

func TestServiceNodesSessionRequest(t *testing.T) {
	// The exact request Session clients send to seed nodes (session-protocol.md §3.7).
	params := json.RawMessage(`{"active_only":true,"fields":{"public_ip":true,"storage_port":true,"pubkey_x25519":true,"pubkey_ed25519":true,"requested_unlock_height":true,"height":true}}`)
	res, err := ServiceNodes(params, 42, "beef", sampleInfos())
	if err != nil {
		t.Fatal(err)
	}
	states := decodeStates(t, res)
	if len(states) != 2 {
		t.Fatalf("%d nodes, want the 2 active ones", len(states))
	}
	want := map[string]bool{"public_ip": true, "storage_port": true, "pubkey_x25519": true, "pubkey_ed25519": true, "requested_unlock_height": true}
	for _, s := range states {
		if len(s) != len(want) {
			t.Fatalf("fields %v", s)
		}
		for k := range s {
			if !want[k] {
				t.Fatalf("unrequested field %q", k)
			}
		}
	}
	if states[1]["requested_unlock_height"].(float64) != 99 || states[0]["public_ip"] != "203.0.113.1" {
		t.Fatalf("values %v", states)
	}
}

func TestServiceNodesOptions(t *testing.T) {
	infos := sampleInfos()
	for _, tc := range []struct {
		name   string
		params string
		n      int
		check  func(t *testing.T, s []map[string]any)
	}{
		{"no params: funded nodes, all fields", ``, 3, func(t *testing.T, s []map[string]any) {
			if len(s[0]) != len(allFields) || s[0]["operator_fee"].(float64) != 5000 || s[0]["swarm"] != "0000000000000000" {
				t.Fatalf("%v", s[0])
			}
		}},
		{"field list with removal", `{"fields":["all","-contributors"]}`, 3, func(t *testing.T, s []map[string]any) {
			if _, ok := s[0]["contributors"]; ok || len(s[0]) != len(allFields)-1 {
				t.Fatalf("%v", s[0])
			}
		}},
		{"swarm ids", `{"fields":["swarm_id"],"active_only":true}`, 2, func(t *testing.T, s []map[string]any) {
			if s[1]["swarm_id"].(float64) != float64(uint64(1)<<63) {
				t.Fatalf("%v", s[1])
			}
		}},
		{"limit", `{"limit":1}`, 1, nil},
		{"shuffle all", `{"limit":-1}`, 3, nil},
		{"by key", `{"service_node_pubkeys":["` + strings.Repeat("cc", 32) + `"]}`, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ServiceNodes(json.RawMessage(tc.params), 42, "beef", infos)
			if err != nil {
				t.Fatal(err)
			}
			s := decodeStates(t, res)
			if len(s) != tc.n {
				t.Fatalf("%d nodes, want %d", len(s), tc.n)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
	res, err := ServiceNodes(json.RawMessage(`{"poll_block_hash":"beef"}`), 42, "beef", infos)
	if err != nil || res["unchanged"] != true || res["service_node_states"] != nil {
		t.Fatalf("poll: %v %v", res, err)
	}
	for _, bad := range []string{`[]`, `{"fields":7}`, `{"limit":"x"}`} {
		if _, err := ServiceNodes(json.RawMessage(bad), 1, "", infos); !errors.Is(err, ErrBadParams) {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}

func TestONSResolve(t *testing.T) {
	h := state.NameHash{1, 2, 3}
	lookup := func(_ context.Context, got state.NameHash) (*NameInfo, error) {
		if got != h {
			return nil, ErrNotFound
		}
		return &NameInfo{EncryptedValue: "c0ffee", Nonce: "0102"}, nil
	}
	ctx := context.Background()
	for _, enc := range []string{base64.StdEncoding.EncodeToString(h[:]), base64.RawURLEncoding.EncodeToString(h[:])} {
		res, err := ONSResolve(ctx, json.RawMessage(`{"type":0,"name_hash":"`+enc+`"}`), lookup)
		if err != nil || res["encrypted_value"] != "c0ffee" || res["nonce"] != "0102" {
			t.Fatalf("%s: %v %v", enc, res, err)
		}
	}
	other := base64.StdEncoding.EncodeToString(make([]byte, 32))
	res, err := ONSResolve(ctx, json.RawMessage(`{"type":0,"name_hash":"`+other+`"}`), lookup)
	if err != nil || len(res) != 0 {
		t.Fatalf("unknown name: %v %v", res, err)
	}
	for _, bad := range []string{`{"type":1,"name_hash":"` + other + `"}`, `{"type":0,"name_hash":"short"}`, `nope`} {
		if _, err := ONSResolve(ctx, json.RawMessage(bad), lookup); !errors.Is(err, ErrBadParams) {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}

func FuzzServiceNodesParams(f *testing.F) {
	for _, s := range []string{``, `{"active_only":true,"fields":{"public_ip":true}}`, `{"fields":["all","-swarm"],"limit":2}`,
		`{"poll_block_hash":"beef"}`, `{"service_node_pubkeys":["aa"]}`} {
		f.Add([]byte(s))
	}
	infos := sampleInfos()
	f.Fuzz(func(t *testing.T, params []byte) {
		res, err := ServiceNodes(params, 42, "beef", infos)
		if err != nil {
			if !errors.Is(err, ErrBadParams) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSnapshotInfosOperator checks that a node answering the bootstrap
// request from its View gives each node's operator and capability bits,
// and "" for an operator the View does not know.
func TestSnapshotInfosOperator(t *testing.T) {
	snap := &Snapshot{Height: 42, Nodes: []Node{
		{Ed25519: [32]byte{1}, X25519: [32]byte{2}, PublicIP: "203.0.113.1", StoragePort: 22021, State: StateActive,
			Operator: state.Address{0xab}, Caps: 1},
		{Ed25519: [32]byte{3}, X25519: [32]byte{4}, PublicIP: "203.0.113.2", StoragePort: 22021, State: StateActive},
	}}
	params := json.RawMessage(`{"fields":["pubkey_ed25519","operator_address","capabilities"]}`)
	res, err := ServiceNodes(params, 42, "", SnapshotInfos(snap))
	if err != nil {
		t.Fatal(err)
	}
	states := decodeStates(t, res)
	if len(states) != 2 {
		t.Fatalf("%d nodes", len(states))
	}
	if op := states[0]["operator_address"]; op != "ab"+strings.Repeat("00", 31) || states[0]["capabilities"].(float64) != 1 {
		t.Fatalf("node 0: %v", states[0])
	}
	if op := states[1]["operator_address"]; op != "" || states[1]["capabilities"].(float64) != 0 {
		t.Fatalf("node 1: %v", states[1])
	}
}
