//go:build race

package groups

// raceEnabled: the race detector changes allocation counts.
const raceEnabled = true
