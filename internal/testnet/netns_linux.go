package testnet

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Netns mode (AddressMode NetnsAddresses) runs every node's listener in a
// namespace of its own. The nodes stay goroutines of this process: a
// socket belongs to the namespace of the thread that created it, so the
// listener (and every connection a node dials) is made on a thread locked
// to its goroutine and moved into the node's namespace with setns(2), and
// the thread is moved back before it is unlocked. This keeps Stop,
// Restart and the in-process test hooks working, where child processes in
// the namespaces would need a second process per node. The namespaces,
// veth pairs and bridge are made with the ip command; the bridge carries
// the range's gateway address in the current namespace, so that clients
// outside the namespaces reach the nodes. Tests run the whole thing inside
// a namespace of their own (RunInNetns), so they never add an address to
// the host's.

// netnsNet is the namespaces of one network.
type netnsNet struct {
	id     string // random, in every name this network makes
	bridge string
	prefix netip.Prefix

	mu    sync.Mutex
	names map[string]bool // namespaces made, by short name
}

// netnsAvailable reports, once per process, whether namespaces can be
// made here: root, the ip command, and a probe that starts `ip link show`
// in new network and mount namespaces — root in a container without
// CAP_SYS_ADMIN passes the first two and fails the probe, and tests then
// run in loopback mode instead of failing.
var netnsAvailable = sync.OnceValue(func() bool {
	if os.Geteuid() != 0 {
		return false
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return false
	}
	if _, err := os.Stat("/proc/thread-self/ns/net"); err != nil {
		return false
	}
	cmd := exec.Command(ip, "link", "show")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	return cmd.Run() == nil
})

// newNetnsNet makes the bridge, with the gateway address, the last of
// prefix.
func newNetnsNet(ctx context.Context, prefix netip.Prefix) (*netnsNet, error) {
	if !netnsAvailable() {
		return nil, ErrNetnsUnavailable
	}
	var b [3]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	nn := &netnsNet{id: id, bridge: "sbr" + id, prefix: prefix, names: map[string]bool{}}
	if err := ipCmd(ctx, "link", "add", nn.bridge, "type", "bridge"); err != nil {
		return nil, err
	}
	gw := prefix.Addr().As4()
	gw[2], gw[3] = 255, 254
	if err := ipCmd(ctx, "addr", "add", netip.PrefixFrom(netip.AddrFrom4(gw), prefix.Bits()).String(), "dev", nn.bridge); err != nil {
		nn.close()
		return nil, err
	}
	if err := ipCmd(ctx, "link", "set", nn.bridge, "up"); err != nil {
		nn.close()
		return nil, err
	}
	return nn, nil
}

func (nn *netnsNet) nsName(name string) string { return "sotto-" + nn.id + "-" + name }

// add makes namespace name with lo up and a veth pair to the bridge,
// addr on its end; a name made before is kept.
func (nn *netnsNet) add(ctx context.Context, name string, addr netip.Addr) error {
	nn.mu.Lock()
	defer nn.mu.Unlock()
	if nn.names[name] {
		return nil
	}
	ns := nn.nsName(name)
	if err := ipCmd(ctx, "netns", "add", ns); err != nil {
		return err
	}
	nn.names[name] = true
	host, peer := "sv"+nn.id+name, "sp"+nn.id+name
	if len(host) > 15 {
		return fmt.Errorf("testnet: interface name %q too long", host)
	}
	steps := [][]string{
		{"link", "add", host, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", ns},
		{"link", "set", host, "master", nn.bridge, "up"},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "addr", "add", netip.PrefixFrom(addr, nn.prefix.Bits()).String(), "dev", peer},
		{"-n", ns, "link", "set", peer, "up"},
	}
	for _, s := range steps {
		if err := ipCmd(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

// close deletes every namespace (their veth pairs go with them) and the
// bridge.
func (nn *netnsNet) close() error {
	nn.mu.Lock()
	defer nn.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for name := range nn.names {
		if err := ipCmd(ctx, "netns", "del", nn.nsName(name)); err != nil {
			errs = append(errs, err)
		}
		delete(nn.names, name)
	}
	if err := ipCmd(ctx, "link", "del", nn.bridge); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// run calls f on a thread inside namespace name: sockets f creates belong
// to it.
func (nn *netnsNet) run(name string, f func() error) error {
	path := "/run/netns/" + nn.nsName(name)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("testnet: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("testnet: %w", err)
			return
		}
		defer target.Close()
		if err := setns(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("testnet: enter %s: %w", path, err)
			return
		}
		ferr := f()
		if err := setns(orig); err != nil {
			// The thread stays locked and ends with this goroutine.
			errc <- errors.Join(ferr, fmt.Errorf("testnet: leave %s: %w", path, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// dialer dials from namespace name: the whole dial runs on a thread in
// it, so the socket is made there; the connection then works from any
// thread.
func (nn *netnsNet) dialer(name string, timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := nn.run(name, func() error {
			var err error
			c, err = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

func setns(f *os.File) error {
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}

func ipCmd(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "ip", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("testnet: ip %v: %v: %s", args, err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// EnvNetnsChild marks the child process RunInNetns starts.
const EnvNetnsChild = "SOTTO_TESTNET_NETNS_CHILD"

// RunInNetns lets a top-level test use NetnsAddresses without touching
// the host's network: where namespaces are available it runs the test
// again in a child process in new network and mount namespaces (lo up,
// a private /run/netns) and reports the child's output and result, and
// returns true: the caller returns. In that child, and where namespaces
// are not available, it returns false and the test goes on (in the child
// with every address it makes inside namespaces of its own).
func RunInNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(EnvNetnsChild) != "" {
		if err := enterChildNamespaces(); err != nil {
			t.Fatalf("testnet: netns child: %v", err)
		}
		return false
	}
	if !NetnsAvailable() {
		return false
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.v", "-test.count=1"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), EnvNetnsChild+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	t.Logf("child in its own network namespace:\n%s", out)
	if err != nil {
		t.Fatalf("netns child: %v", err)
	}
	if bytes.Contains(out, []byte("--- SKIP: "+t.Name())) {
		t.Skip("skipped in the netns child")
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("netns child did not pass %s", t.Name())
	}
	return true
}

// enterChildNamespaces readies the namespaces the child was started in:
// mounts private, a tmpfs on /run/netns (so `ip netns add` leaves nothing
// on the host), lo up.
func enterChildNamespaces() error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("private mounts: %w", err)
	}
	if err := os.MkdirAll("/run/netns", 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", "/run/netns", "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mount /run/netns: %w", err)
	}
	return ipCmd(context.Background(), "link", "set", "lo", "up")
}
