package snode

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestPeersSeeTheListenAddress: a node listening on one of several
// addresses dials its peers from that address, so that they find it in
// the node list (on a loopback network with one address per node, peers
// saw 127.0.0.1, not a node's, and metered node traffic as a client's).
func TestPeersSeeTheListenAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct {
		listen string
		want   netip.Addr // zero: any address
	}{
		{"127.0.0.5:22021", netip.MustParseAddr("127.0.0.5")},
		{"0.0.0.0:22021", netip.Addr{}},
		{":22021", netip.Addr{}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := sourceDialer(tc.listen, 5*time.Second)(ctx, "tcp", ln.Addr().String())
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", tc.listen, err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		from := s.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()
		s.Close()
		c.Close()
		if tc.want.IsValid() && from != tc.want {
			t.Fatalf("listening on %s, dialed from %v, want %v", tc.listen, from, tc.want)
		}
	}
}
