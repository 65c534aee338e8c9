package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestRootTakesTests: the node tests are the root command's arguments,
// next to the community subcommand. Mounting the subcommand made cobra
// refuse `sotto-bench store` as an unknown command.
func TestRootTakesTests(t *testing.T) {
	for _, args := range [][]string{{"store"}, {"retrieve", "poll"}, {"all"}} {
		cmd := rootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		// A network file that does not exist stops the run right after
		// the arguments were taken.
		cmd.SetArgs(append([]string{"--network", t.TempDir() + "/none.json"}, args...))
		err := cmd.Execute()
		if err == nil {
			t.Fatalf("%v: ran with a missing network file", args)
		}
		if strings.Contains(err.Error(), "unknown command") {
			t.Errorf("%v: %v", args, err)
		}
	}
	if c, _, err := rootCmd().Find([]string{"community"}); err != nil || c.Name() != "community" {
		t.Errorf("community subcommand: %v, %v", c, err)
	}
}
