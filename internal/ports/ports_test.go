package ports

import (
	"net"
	"net/netip"
	"testing"
)

func TestReserve(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	lo, hi := fixedPortRange()
	if lo < 10000 || hi <= lo {
		t.Fatalf("range %d-%d", lo, hi)
	}
	got, err := Reserve(ip, 20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint16]bool{}
	for _, p := range got {
		if seen[p] {
			t.Fatalf("port %d twice in %v", p, got)
		}
		seen[p] = true
		if p < lo || p >= hi {
			t.Errorf("port %d outside %d-%d", p, lo, hi)
		}
		// Released: the caller can bind it.
		ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, p).String())
		if err != nil {
			t.Fatalf("bind reserved port: %v", err)
		}
		ln.Close()
	}
}
