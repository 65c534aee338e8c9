package daemon

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestMerge: the file is read over the defaults, and only the flags given
// on the command line override it; a flag's default never does.
func TestMerge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sottod.json")
	if err := os.WriteFile(path, []byte(`{"public_ip": "203.0.113.7", "data_dir": "/var/lib/sottod", "genesis_file": "g.json",
		"limits": {"client_rate": 100}, "intervals": {"sweep": "5s"}, "log_level": "debug"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	parse := func(args ...string) *pflag.FlagSet {
		t.Helper()
		fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
		c := DefaultConfig()
		c.RegisterFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return fs
	}
	c, err := Merge(path, parse("--client-rate", "7", "--public-port", "443", "--no-onion-relay"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.ClientRate != 7 || c.PublicPort != 443 || !c.NoOnionRelay || // flags
		c.PublicIP != "203.0.113.7" || c.Intervals.Sweep.D() != 5*time.Second || c.LogLevel != "debug" || c.GenesisFile != "g.json" || // file
		c.Limits.ClientBurst != DefaultConfig().Limits.ClientBurst { // defaults
		t.Fatalf("merged %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}

	// Flags alone.
	c, err = Merge("", parse("--public-ip", "198.51.100.1", "--ledger", "tcp://127.0.0.1:26657", "--sweep-interval", "1m"))
	if err != nil || c.PublicIP != "198.51.100.1" || c.LedgerRPC != "tcp://127.0.0.1:26657" || c.Intervals.Sweep.D() != time.Minute {
		t.Fatalf("flags alone: %+v %v", c, err)
	}

	// A daemon runs one node: its store's log syncs keep their P, unless
	// the file says otherwise.
	if !c.SyncHoldsP {
		t.Error("daemon default without sync_holds_p")
	}
	if err := os.WriteFile(path, []byte(`{"sync_holds_p": false}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = Merge(path, parse()); err != nil || c.SyncHoldsP {
		t.Fatalf("sync_holds_p false in the file: %v %v", c.SyncHoldsP, err)
	}

	// A file that is missing or not JSON is an error with a hint.
	if _, err := Merge(filepath.Join(t.TempDir(), "none.json"), parse()); err == nil {
		t.Error("missing file accepted")
	}
	if err := os.WriteFile(path, []byte(`{"colour": "blue"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Merge(path, parse())
	if e, ok := err.(*Error); !ok || e.Hint == "" {
		t.Errorf("unknown field: %v", err)
	}
}
