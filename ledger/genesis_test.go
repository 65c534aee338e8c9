package ledger

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func hexKey(b byte) string {
	return strings.Repeat(string("0123456789abcdef"[b>>4])+string("0123456789abcdef"[b&15]), 32)
}

const node1 = `{"pubkey_ed25519": "` + "0101010101010101010101010101010101010101010101010101010101010101" + `",
 "pubkey_x25519": "` + "0202020202020202020202020202020202020202020202020202020202020202" + `",
 "public_ip": "127.0.0.1", "storage_port": 22021, "swarm_id": 7}`

func TestParseGenesisGood(t *testing.T) {
	in := `{"format":"sotto-genesis-v1","nodes":[
	 {"pubkey_ed25519":"` + hexKey(0x33) + `","pubkey_x25519":"` + hexKey(0x34) + `","public_ip":"10.0.0.2","storage_port":1,"state":"decommissioned","version":[1,2,3],
	  "operator_address":"` + hexKey(0x35) + `","capabilities":1},
	 ` + node1 + `]}`
	s, err := ParseGenesis([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Nodes) != 2 || s.Height != 0 {
		t.Fatalf("got %+v", s)
	}
	// sorted by Ed25519 key
	if s.Nodes[0].Ed25519[0] != 0x01 || s.Nodes[1].Ed25519[0] != 0x33 {
		t.Fatalf("not sorted: %x %x", s.Nodes[0].Ed25519[0], s.Nodes[1].Ed25519[0])
	}
	if n := s.Nodes[0]; n.SwarmID != 7 || n.State != StateActive || n.PublicIP != "127.0.0.1" || n.StoragePort != 22021 {
		t.Fatalf("node 0: %+v", n)
	}
	if n := s.Nodes[1]; n.SwarmID != UnassignedSwarm || n.State != StateDecommissioned || n.Version != [3]uint16{1, 2, 3} ||
		n.Operator[0] != 0x35 || n.Caps != 1 {
		t.Fatalf("node 1: %+v", n)
	}
	if n := s.Nodes[0]; n.Operator != ([32]byte{}) || n.Caps != 0 {
		t.Fatalf("node 0 without operator or capabilities: %+v", n)
	}
	// round trip
	out, err := MarshalGenesis(s)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ParseGenesis(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(s2.Nodes) != 2 || s2.Nodes[0] != s.Nodes[0] || s2.Nodes[1] != s.Nodes[1] {
		t.Fatalf("round trip: %+v vs %+v", s2, s)
	}
}

func TestParseGenesisBad(t *testing.T) {
	good := func(ed, x, ip string, port int, extra string) string {
		return `{"pubkey_ed25519":"` + ed + `","pubkey_x25519":"` + x + `","public_ip":"` + ip + `","storage_port":` +
			strconv.Itoa(port) + extra + `}`
	}
	for _, tc := range []struct {
		name, in, field string
	}{
		{"format", `{"format":"x","nodes":[]}`, "format"},
		{"unknown field", `{"format":"sotto-genesis-v1","nodes":[],"extra":1}`, ""},
		{"trailing", `{"format":"sotto-genesis-v1","nodes":[]} {}`, ""},
		{"short key", `{"format":"sotto-genesis-v1","nodes":[` + good("0101", hexKey(2), "10.0.0.1", 1, "") + `]}`, "pubkey_ed25519"},
		{"upper hex", `{"format":"sotto-genesis-v1","nodes":[` + good(strings.ToUpper(hexKey(0xab)), hexKey(2), "10.0.0.1", 1, "") + `]}`, "pubkey_ed25519"},
		{"zero key", `{"format":"sotto-genesis-v1","nodes":[` + good(hexKey(0), hexKey(2), "10.0.0.1", 1, "") + `]}`, "pubkey_ed25519"},
		{"bad x", `{"format":"sotto-genesis-v1","nodes":[` + good(hexKey(1), "zz"+hexKey(2)[2:], "10.0.0.1", 1, "") + `]}`, "pubkey_x25519"},
		{"ipv6", `{"format":"sotto-genesis-v1","nodes":[` + good(hexKey(1), hexKey(2), "::1", 1, "") + `]}`, "public_ip"},
		{"unspecified", `{"format":"sotto-genesis-v1","nodes":[` + good(hexKey(1), hexKey(2), "0.0.0.0", 1, "") + `]}`, "public_ip"},
		{"port 0", `{"format":"sotto-genesis-v1","nodes":[` + good(hexKey(1), hexKey(2), "10.0.0.1", 0, "") + `]}`, "storage_port"},
		{"state", `{"format":"sotto-genesis-v1","nodes":[` + good(hexKey(1), hexKey(2), "10.0.0.1", 1, `,"state":"zombie"`) + `]}`, "state"},
		{"short operator", `{"format":"sotto-genesis-v1","nodes":[` + good(hexKey(1), hexKey(2), "10.0.0.1", 1, `,"operator_address":"0101"`) + `]}`, "operator_address"},
		{"dup ed", `{"format":"sotto-genesis-v1","nodes":[` + good(hexKey(1), hexKey(2), "10.0.0.1", 1, "") + "," + good(hexKey(1), hexKey(3), "10.0.0.2", 1, "") + `]}`, "pubkey_ed25519"},
		{"dup x", `{"format":"sotto-genesis-v1","nodes":[` + good(hexKey(1), hexKey(2), "10.0.0.1", 1, "") + "," + good(hexKey(4), hexKey(2), "10.0.0.2", 1, "") + `]}`, "pubkey_x25519"},
		{"dup addr", `{"format":"sotto-genesis-v1","nodes":[` + good(hexKey(1), hexKey(2), "10.0.0.1", 1, "") + "," + good(hexKey(4), hexKey(5), "10.0.0.1", 1, "") + `]}`, "public_ip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGenesis([]byte(tc.in))
			var ge *GenesisError
			if !errors.As(err, &ge) {
				t.Fatalf("want *GenesisError, got %v", err)
			}
			if ge.Field != tc.field {
				t.Fatalf("field %q, want %q (%v)", ge.Field, tc.field, err)
			}
		})
	}
}

func TestGenesisViewReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "genesis.json")
	if err := os.WriteFile(path, []byte(`{"format":"sotto-genesis-v1","nodes":[`+node1+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := NewGenesisView(path, nil, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	first := g.Current()
	if first.Height != 1 || len(first.Nodes) != 1 {
		t.Fatalf("first: %+v", first)
	}
	ch := g.Changed()
	if changed, err := g.Reload(); err != nil || changed {
		t.Fatalf("reload of the same file: %v %v", changed, err)
	}
	select {
	case <-ch:
		t.Fatal("Changed fired without a change")
	default:
	}

	// An invalid file is refused and the snapshot kept.
	if err := os.WriteFile(path, []byte(`{"format":"sotto-genesis-v1","nodes":[{}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Reload(); err == nil {
		t.Fatal("invalid file accepted")
	}
	if g.Current() != first {
		t.Fatal("snapshot replaced by an invalid file")
	}

	// A valid change through WriteGenesis, picked up by Serve.
	next := &Snapshot{Nodes: append([]Node(nil), first.Nodes...)}
	next.Nodes[0].SwarmID = 99
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	if err := WriteGenesis(path, next); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no change notification")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cur := g.Current()
	if cur.Height != 2 || cur.Nodes[0].SwarmID != 99 {
		t.Fatalf("after reload: %+v", cur)
	}
}

func TestNewGenesisViewErrors(t *testing.T) {
	if _, err := NewGenesisView(filepath.Join(t.TempDir(), "missing.json"), nil, 0); err == nil {
		t.Fatal("missing file accepted")
	}
	path := filepath.Join(t.TempDir(), "g.json")
	if err := os.WriteFile(path, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ge *GenesisError
	if _, err := NewGenesisView(path, nil, 0); !errors.As(err, &ge) {
		t.Fatalf("want *GenesisError, got %v", err)
	}
}

func FuzzParseGenesis(f *testing.F) {
	f.Add([]byte(`{"format":"sotto-genesis-v1","nodes":[` + node1 + `]}`))
	f.Add([]byte(`{"format":"sotto-genesis-v1","nodes":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseGenesis(data)
		if err != nil {
			return
		}
		out, err := MarshalGenesis(s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ParseGenesis(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(s2.Nodes) != len(s.Nodes) || s2.Height != s.Height {
			t.Fatal("round trip changed the snapshot")
		}
		for i := range s.Nodes {
			if s.Nodes[i] != s2.Nodes[i] {
				t.Fatalf("node %d changed", i)
			}
		}
	})
}
