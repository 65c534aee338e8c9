package nodeproof

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// loadVector reads testdata/proof.json (written and checked against
// CometBFT by nodeproof/cometdiff): a proof of four nodes signed by three
// of four validators, and the trust that accepts it.
func loadVector(t testing.TB) (*Trust, []byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/proof.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Trust struct {
			ChainID    string `json:"chain_id"`
			Validators []struct {
				PubKey string `json:"pub_key_ed25519"`
				Power  int64  `json:"power"`
			} `json:"validators"`
		} `json:"trust"`
		Proof json.RawMessage `json:"proof"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	tr := &Trust{ChainID: v.Trust.ChainID}
	for _, tv := range v.Trust.Validators {
		k, err := hex.DecodeString(tv.PubKey)
		if err != nil || len(k) != 32 {
			t.Fatalf("vector key %q", tv.PubKey)
		}
		tr.Validators = append(tr.Validators, Validator{PubKey: [32]byte(k), Power: tv.Power})
	}
	return tr, v.Proof
}

// edit decodes raw as a generic JSON object, applies f and encodes it.
func edit(t *testing.T, raw []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVector(t *testing.T) {
	trust, raw := loadVector(t)
	p, err := ParseAndVerify(raw, trust)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Nodes) != 4 || p.Height != 41 || p.SignedHeader.Height() != 42 {
		t.Fatalf("vector: %d nodes, height %d", len(p.Nodes), p.Height)
	}
	node := func(m map[string]any, i int) map[string]any { return m["nodes"].([]any)[i].(map[string]any) }
	for _, tc := range []struct {
		name  string
		in    []byte
		trust *Trust
		want  error
	}{
		{"trailing data", append(append([]byte{}, raw...), []byte(" {}")...), trust, ErrMalformed},
		{"unknown field", edit(t, raw, func(m map[string]any) { m["extra"] = 1 }), trust, ErrMalformed},
		{"nodes out of order", edit(t, raw, func(m map[string]any) {
			ns := m["nodes"].([]any)
			ns[0], ns[1] = ns[1], ns[0]
		}), trust, ErrMalformed},
		{"a node twice", edit(t, raw, func(m map[string]any) { m["nodes"].([]any)[1] = m["nodes"].([]any)[0] }), trust, ErrMalformed},
		{"unknown node state", edit(t, raw, func(m map[string]any) { node(m, 0)["state"] = 9 }), trust, ErrMalformed},
		{"IPv6 node", edit(t, raw, func(m map[string]any) { node(m, 0)["public_ip"] = "::1" }), trust, ErrMalformed},
		{"short key", edit(t, raw, func(m map[string]any) { node(m, 0)["pubkey_x25519"] = "abcd" }), trust, ErrMalformed},
		{"short operator", edit(t, raw, func(m map[string]any) { node(m, 0)["operator_address"] = "abcd" }), trust, ErrMalformed},
		{"no operator", edit(t, raw, func(m map[string]any) { delete(node(m, 0), "operator_address") }), trust, ErrMalformed},
		{"negative capabilities", edit(t, raw, func(m map[string]any) { node(m, 0)["capabilities"] = -1 }), trust, ErrMalformed},
		{"short state hash", edit(t, raw, func(m map[string]any) { m["state_hash"] = "00" }), trust, ErrMalformed},
		{"no signed header", edit(t, raw, func(m map[string]any) { m["signed_header"] = nil }), trust, ErrMalformed},
		{"no validators", edit(t, raw, func(m map[string]any) { m["validators"] = []any{} }), trust, ErrMalformed},
		{"a changed node", edit(t, raw, func(m map[string]any) { node(m, 2)["swarm_id"] = 5 }), trust, ErrRefused},
		{"another operator", edit(t, raw, func(m map[string]any) { node(m, 1)["operator_address"] = node(m, 2)["operator_address"] }), trust, ErrRefused},
		{"a capability added", edit(t, raw, func(m map[string]any) { node(m, 0)["capabilities"] = 1 }), trust, ErrRefused},
		{"a capability removed", edit(t, raw, func(m map[string]any) { node(m, 1)["capabilities"] = 0 }), trust, ErrRefused},
		{"a changed unlock height", edit(t, raw, func(m map[string]any) { node(m, 3)["requested_unlock_height"] = 901 }), trust, ErrRefused},
		{"another height", edit(t, raw, func(m map[string]any) { m["height"] = 40 }), trust, ErrRefused},
		{"another chain", raw, &Trust{ChainID: "other", Validators: trust.Validators}, ErrRefused},
		// A set other than the trusted one needs more than 1/3 of the
		// trusted power among its signers: validator 1 did not sign.
		{"trusting one that did not sign", raw, &Trust{ChainID: trust.ChainID, Validators: trust.Validators[1:2]}, ErrRefused},
		{"trusting one that signed", raw, &Trust{ChainID: trust.ChainID, Validators: trust.Validators[2:3]}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAndVerify(tc.in, tc.trust)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestMerkleRoot checks the RFC 6962 shape CometBFT's crypto/merkle uses:
// the empty tree, a leaf, and the split at the largest power of two below
// n. (The header-hash tests in cometdiff compare whole roots with
// CometBFT's.)
func TestMerkleRoot(t *testing.T) {
	items := func(n int) [][]byte {
		var out [][]byte
		for i := range n {
			out = append(out, []byte{byte(i)})
		}
		return out
	}
	inner := func(l, r []byte) []byte {
		h := sha256.Sum256(append(append([]byte{1}, l...), r...))
		return h[:]
	}
	empty := sha256.Sum256(nil)
	leaf := sha256.Sum256([]byte{0, 7})
	for _, tc := range []struct {
		name      string
		got, want []byte
	}{
		{"empty", merkleRoot(nil), empty[:]},
		{"one leaf", merkleRoot([][]byte{{7}}), leaf[:]},
		{"three", merkleRoot(items(3)), inner(merkleRoot(items(2)), merkleRoot(items(3)[2:]))},
		{"five", merkleRoot(items(5)), inner(merkleRoot(items(4)), merkleRoot(items(5)[4:]))},
		{"eight", merkleRoot(items(8)), inner(merkleRoot(items(4)), merkleRoot(items(8)[4:]))},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s: %x, want %x", tc.name, tc.got, tc.want)
		}
	}
}

// FuzzParse feeds the decoder arbitrary proofs: it must never panic, and
// every node it accepts must round-trip through its JSON form.
func FuzzParse(f *testing.F) {
	trust, raw := loadVector(f)
	f.Add(raw)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"height":1,"nodes":[],"state_hash":"","signed_header":null,"validators":[]}`))
	f.Add([]byte(strings.Repeat("[", 100)))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("parse error without ErrMalformed: %v", err)
			}
			return
		}
		if err := p.Verify(trust); err != nil && !errors.Is(err, ErrRefused) {
			t.Fatalf("verify error without ErrRefused: %v", err)
		}
		for i := range p.Nodes {
			j := p.Nodes[i].ToJSON()
			n, err := j.Node()
			if err != nil || n != p.Nodes[i] {
				t.Fatalf("node %d does not round-trip: %v", i, err)
			}
		}
	})
}

// TestAppendNode pins the v2 layout of one node: the v1 fields, then the
// operator and the capability bits, integers big-endian.
func TestAppendNode(t *testing.T) {
	n := Node{Ed25519: [32]byte{1}, X25519: [32]byte{2}, IPv4: [4]byte{10, 0, 0, 1}, Port: 0x5605, SwarmID: 7,
		State: StateUnlocking, UnlockHeight: 900, Version: [3]uint16{2, 11, 1}, Operator: [32]byte{3}, Caps: 0x01020304}
	b := AppendNode(nil, &n)
	if len(b) != nodeSize || nodeSize != 129 {
		t.Fatalf("node of %d bytes, nodeSize %d, want 129", len(b), nodeSize)
	}
	want, _ := hex.DecodeString("0a000001" + "5605" + "0000000000000007" + "04" + "0000000000000384" + "0002000b0001")
	if !bytes.Equal(b[64:93], want) {
		t.Fatalf("v1 fields %x, want %x", b[64:93], want)
	}
	if b[0] != 1 || b[32] != 2 || b[93] != 3 || !bytes.Equal(b[125:], []byte{1, 2, 3, 4}) {
		t.Fatalf("keys, operator or capabilities misplaced: %x", b)
	}
}
