//go:build !linux

package testnet

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// Network namespaces are Linux's; elsewhere NetnsAddresses is refused.

type netnsNet struct{}

func netnsAvailable() bool { return false }

func newNetnsNet(context.Context, netip.Prefix) (*netnsNet, error) { return nil, ErrNetnsUnavailable }

func (*netnsNet) add(context.Context, string, netip.Addr) error { return ErrNetnsUnavailable }
func (*netnsNet) close() error                                  { return nil }
func (*netnsNet) run(string, func() error) error                { return ErrNetnsUnavailable }

func (*netnsNet) dialer(string, time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(context.Context, string, string) (net.Conn, error) { return nil, ErrNetnsUnavailable }
}

// RunInNetns returns false: without namespaces the test goes on in
// loopback mode.
func RunInNetns(t *testing.T) bool { return false }
