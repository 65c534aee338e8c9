// Package ports finds free TCP ports for servers that bind them later:
// the nodes of a test network or a devnet, and ledger processes in tests.
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Reserve finds n distinct free TCP ports on ip. The listeners are
// held until all are found, so the ports differ; they are then released
// for the caller to bind.
//
// The ports are drawn below the kernel's ephemeral range: a port the
// kernel handed out for "listen on port 0" is one it may also give, a
// moment later, to any outgoing connection on the machine as its local
// port, and a node binding it after that (at start, or at a restart of a
// devnet whose ports are kept in its layout) would find it in use.
func Reserve(ip netip.Addr, n int) ([]uint16, error) {
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	lo, hi := fixedPortRange()
	ports := make([]uint16, 0, n)
	for len(ports) < n {
		var ln net.Listener
		var err error
		for range 200 {
			p := lo + rand.N(hi-lo)
			if ln, err = net.Listen("tcp", netip.AddrPortFrom(ip, p).String()); err == nil {
				break
			}
		}
		if ln == nil {
			// The range is crowded: let the kernel choose.
			if ln, err = net.Listen("tcp", netip.AddrPortFrom(ip, 0).String()); err != nil {
				return nil, fmt.Errorf("ports: find a free port: %w", err)
			}
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).AddrPort().Port())
	}
	return ports, nil
}

// fixedPortRange is where Reserve draws ports: up to 12,000 ports just
// below the ephemeral range of /proc/sys/net/ipv4/ip_local_port_range
// (Linux's default range starts at 32768), and never below 10000.
func fixedPortRange() (lo, hi uint16) {
	const floor, width = 10000, 12000
	start := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > floor+1000 && v <= 65535 {
				start = v
			}
		}
	}
	return uint16(max(floor, start-width)), uint16(start)
}
