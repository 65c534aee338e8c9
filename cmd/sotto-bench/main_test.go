package main

import (
	"bytes"
	"slices"
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

// TestGoStyleFlags: the oss side-by-side scripts call the tool with Go's
// one-dash long flags.
func TestGoStyleFlags(t *testing.T) {
	cmd := rootCmd()
	got := goStyleFlags(cmd, []string{"-json", "-network", "n.json", "-node=https://x:1", "-pid", "7", "-c", "32", "-d", "10s", "store", "-unknown", "--", "-json"})
	want := []string{"--json", "--network", "n.json", "--node=https://x:1", "--pid", "7", "-c", "32", "-d", "10s", "store", "-unknown", "--", "-json"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// community's own flags too.
	if got := goStyleFlags(cmd, []string{"community", "-room", "lobby"}); got[1] != "--room" {
		t.Errorf("community flag: %q", got)
	}
}
