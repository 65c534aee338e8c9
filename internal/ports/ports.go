// Package ports finds free TCP ports for servers that bind them later:
// the nodes of a test network or a devnet, and ledger processes in tests.
package ports

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
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
			if !claim(p) {
				continue
			}
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

// claim records in a directory shared by this user's processes (recordDir)
// that this process took port p, and reports false when a live process
// already did. Ports are bound a while after Reserve returns, and a test
// may stop a server and start it again on its port: without the record,
// another test process drawing from the same range could take the port
// in between. A record whose process has exited is taken over. When the
// directory cannot be used, every port counts as free.
func claim(p uint16) bool {
	dir, err := recordDir()
	if err != nil {
		return true
	}
	path := filepath.Join(dir, strconv.Itoa(int(p)))
	me := strconv.Itoa(os.Getpid())
	for range 2 {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, werr := f.WriteString(me)
			if cerr := f.Close(); werr != nil || cerr != nil {
				return true
			}
			return true
		}
		if !errors.Is(err, fs.ErrExist) {
			return true
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return true
		}
		owner := strings.TrimSpace(string(b))
		if owner == me {
			// Ours already: a server of this process may be stopped
			// for a moment and come back on it.
			return false
		}
		if pid, err := strconv.Atoi(owner); err == nil && pid > 0 && alive(pid) {
			return false
		}
		// The owner is gone (or wrote nothing readable): take it over.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}

// recordDir returns the directory of the port records, $TMPDIR/sotto-ports-UID,
// created with mode 0700 if missing. Only its user may write there: a
// directory that is a symbolic link, belongs to another user or is group
// or world writable is refused, since whoever writes the records can make
// Reserve skip ports or hand out one a process of this user holds.
func recordDir() (string, error) {
	dir := filepath.Join(os.TempDir(), "sotto-ports-"+strconv.Itoa(os.Getuid()))
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("ports: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("ports: %w", err)
	}
	switch {
	case !fi.IsDir():
		return "", fmt.Errorf("ports: %s is not a directory", dir)
	case fi.Mode().Perm()&0o022 != 0:
		return "", fmt.Errorf("ports: %s is writable by others (mode %v)", dir, fi.Mode().Perm())
	case !ownedByMe(fi):
		return "", fmt.Errorf("ports: %s belongs to another user", dir)
	}
	return dir, nil
}
