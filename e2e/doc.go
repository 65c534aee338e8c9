// Package e2e holds Sotto's end-to-end and fault tests: real clients
// (package client) talking through a real network of service nodes
// (internal/testnet) on loopback, with nodes killed (SIGKILL), paused
// (SIGSTOP), restarted and clients restarted during traffic, and a check
// that no node keeps client metadata in its logs or database. The package
// has tests only; every test is bounded in time.
package e2e
