//go:build race

package attachment

const raceEnabled = true
