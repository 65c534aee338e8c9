// Package cometdiff holds the differential tests of package nodeproof
// against CometBFT's own types package, and the benchmarks on a real
// ledger. It is apart from nodeproof so that nodeproof's own test binary
// (and its fuzz target) links no CometBFT.
package cometdiff
