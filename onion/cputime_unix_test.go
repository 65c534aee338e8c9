//go:build unix

package onion

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) this process has used. The
// peel benchmarks report CPU time per layer from it, which stays
// meaningful on a machine where other work competes for the cores.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
