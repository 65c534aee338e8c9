//go:build !unix

package onion

import "time"

// processCPU is unavailable here; the benchmarks then report wall time only.
func processCPU() time.Duration { return 0 }
