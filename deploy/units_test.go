// Package deploy holds the systemd units, the example configuration and
// the journald settings operators install (docs/operator.md). Its test
// runs the units' command lines against a devnet.
package deploy

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sotto.dev/internal/ports"
	"sotto.dev/internal/testnet"
)

// TestUnitsStartAndStop runs test-units.sh: each unit's ExecStartPre and
// ExecStart lines with freshly built binaries, a state directory and free
// ports, next to a devnet whose genesis file sottod follows; every service
// must answer its health URL and stop cleanly on SIGTERM.
func TestUnitsStartAndStop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and starts a devnet")
	}
	for _, tool := range []string{"go", "bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(filepath.Separator),
		"sotto.dev/cmd/sottod", "sotto.dev/cmd/sotto-files", "sotto.dev/cmd/sotto-community")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	nw := testnet.StartT(t, testnet.Options{Nodes: 3})
	genesis := nw.Ledger().GenesisPath()
	if genesis == "" {
		t.Fatal("the devnet has no genesis file")
	}
	free, err := ports.Reserve(netip.MustParseAddr("127.0.0.1"), 6)
	if err != nil {
		t.Fatal(err)
	}
	var ps []string
	for _, p := range free {
		ps = append(ps, strconv.Itoa(int(p)))
	}
	cmd := exec.Command("bash", "test-units.sh")
	cmd.Env = append(os.Environ(), "BIN="+bin, "GENESIS="+genesis, "PORTS="+strings.Join(ps, " "), "WORK="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("test-units.sh:\n%s", out)
	if err != nil {
		t.Fatalf("test-units.sh: %v", err)
	}
	units, _ := filepath.Glob("*.service")
	if len(units) != 3 || strings.Count(string(out), "stopped cleanly") != len(units) {
		t.Fatalf("%d units, output above", len(units))
	}
}
