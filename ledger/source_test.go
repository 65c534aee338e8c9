package ledger

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenSourceGenesis: a genesis file source serves the file's node
// list, has no client or operator, and reloads on demand.
func TestOpenSourceGenesis(t *testing.T) {
	path := filepath.Join(t.TempDir(), "genesis.json")
	write := func(nodes ...string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(`{"format":"sotto-genesis-v1","nodes":[`+strings.Join(nodes, ",")+`]}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	node2 := `{"pubkey_ed25519":"` + hexKey(0x33) + `","pubkey_x25519":"` + hexKey(0x34) + `","public_ip":"10.0.0.2","storage_port":1}`
	write(node1)
	src, err := OpenSource(context.Background(), SourceConfig{GenesisFile: path})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if !src.IsGenesisFile() || src.Client() != nil || src.Operator() != nil || len(src.View().Current().Nodes) != 1 {
		t.Fatalf("source %+v", src)
	}
	write(node1, node2)
	if changed, err := src.Reload(); err != nil || !changed || len(src.View().Current().Nodes) != 2 {
		t.Fatalf("reload: %v %v, %d nodes", changed, err, len(src.View().Current().Nodes))
	}
}

func TestOpenSourceRefuses(t *testing.T) {
	for name, c := range map[string]SourceConfig{
		"none":                  {},
		"missing genesis":       {GenesisFile: filepath.Join(t.TempDir(), "none.json")},
		"embedded, no operator": {Embedded: t.TempDir()},
	} {
		if _, err := OpenSource(context.Background(), c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The first sync with a ledger node gives up when ctx ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := OpenSource(ctx, SourceConfig{RPC: "tcp://127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "first sync") {
		t.Errorf("unreachable ledger node: %v", err)
	}
}
