package main

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestSetGCPercent: a node runs the collector at nodeGCPercent unless the
// operator set GOGC, whose value Go has applied already.
func TestSetGCPercent(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	env, had := os.LookupEnv("GOGC")
	defer func() {
		if had {
			os.Setenv("GOGC", env)
		} else {
			os.Unsetenv("GOGC")
		}
	}()

	os.Unsetenv("GOGC")
	setGCPercent()
	if got := debug.SetGCPercent(100); got != nodeGCPercent {
		t.Fatalf("without GOGC: GC percent %d, want %d", got, nodeGCPercent)
	}
	os.Setenv("GOGC", "100")
	setGCPercent()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC=100: GC percent %d, want it left at 100", got)
	}
}
