package path

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"sotto.dev/key"
	"sotto.dev/onion"
)

// clock is a manual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func testNode(i int, ip string) Node {
	var n Node
	n.Ed25519[0], n.Ed25519[1] = byte(i), byte(i>>8)
	n.X25519[0] = byte(i)
	n.IP = netip.MustParseAddr(ip)
	n.Port = 22021
	return n
}

// spreadNodes makes n nodes, each in its own /24.
func spreadNodes(n int) []Node {
	var out []Node
	for i := range n {
		out = append(out, testNode(i+1, fmt.Sprintf("10.%d.%d.1", i/200, i%200)))
	}
	return out
}

func newManager(t *testing.T, cfg Config, seed uint64, nodes []Node) (*Manager, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m, err := New(cfg, Deps{Rand: rand.New(rand.NewPCG(seed, 1)), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	m.SetNodes(nodes)
	return m, clk
}

// run does one Do whose fn returns the errors in order (nil when they
// run out) and records the paths it was given.
func run(m *Manager, errs []error, avoid ...key.NodePublic) ([]Path, error) {
	var seen []Path
	err := m.Do(context.Background(), func(_ context.Context, p Path) error {
		seen = append(seen, p)
		if len(errs) == 0 {
			return nil
		}
		e := errs[0]
		errs = errs[1:]
		return e
	}, avoid...)
	return seen, err
}

func checkPath(t *testing.T, p Path, length int, sameSubnet bool) {
	t.Helper()
	if len(p.Hops) != length {
		t.Fatalf("path %d has %d hops", p.ID, len(p.Hops))
	}
	ids := map[key.NodePublic]bool{}
	subnets := map[netip.Prefix]bool{}
	for _, n := range p.Hops {
		if ids[n.Ed25519] {
			t.Fatalf("path %d repeats a node", p.ID)
		}
		ids[n.Ed25519] = true
		if !sameSubnet && subnets[n.subnet()] {
			t.Fatalf("path %d repeats subnet %v", p.ID, n.subnet())
		}
		subnets[n.subnet()] = true
	}
}

func TestBuildsDistinctPaths(t *testing.T) {
	m, _ := newManager(t, Config{}, 1, spreadNodes(20))
	if _, err := run(m, nil); err != nil {
		t.Fatal(err)
	}
	paths := m.Paths()
	if len(paths) != 2 {
		t.Fatalf("%d paths", len(paths))
	}
	used := map[key.NodePublic]bool{}
	for _, p := range paths {
		checkPath(t, p, 3, false)
		for _, n := range p.Hops {
			if used[n.Ed25519] {
				t.Fatal("a node is on two paths")
			}
			used[n.Ed25519] = true
		}
	}
	guards := m.Guards()
	if len(guards) != 2 || !slices.Contains(guards, paths[0].Guard().Ed25519) || !slices.Contains(guards, paths[1].Guard().Ed25519) {
		t.Fatalf("guards %v are not the paths' first hops", guards)
	}
}

func TestDeterministicWithSeed(t *testing.T) {
	a, _ := newManager(t, Config{}, 42, spreadNodes(30))
	b, _ := newManager(t, Config{}, 42, spreadNodes(30))
	c, _ := newManager(t, Config{}, 43, spreadNodes(30))
	run(a, nil)
	run(b, nil)
	run(c, nil)
	if fmt.Sprint(a.Paths()) != fmt.Sprint(b.Paths()) {
		t.Fatal("same seed, different paths")
	}
	if fmt.Sprint(a.Paths()) == fmt.Sprint(c.Paths()) {
		t.Fatal("different seeds, same paths")
	}
}

func TestSubnetRule(t *testing.T) {
	var same []Node
	for i := range 10 {
		same = append(same, testNode(i+1, fmt.Sprintf("127.0.0.%d", i+1)))
	}
	m, _ := newManager(t, Config{}, 1, same)
	if _, err := run(m, nil); !errors.Is(err, ErrNotEnoughNodes) {
		t.Fatalf("one /24 for all nodes: %v", err)
	}
	m, _ = newManager(t, Config{AllowSameSubnet: true}, 1, same)
	if _, err := run(m, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Paths() {
		checkPath(t, p, 3, true)
	}
	// Loopback devnet: every node on one IP, distinct ports.
	var loop []Node
	for i := range 6 {
		n := testNode(i+1, "127.0.0.1")
		n.Port = uint16(30000 + i)
		loop = append(loop, n)
	}
	m, _ = newManager(t, Config{AllowSameSubnet: true}, 1, loop)
	if _, err := run(m, nil); err != nil || len(m.Paths()) != 2 {
		t.Fatalf("loopback devnet: %v, %d paths", err, len(m.Paths()))
	}
}

// TestOperatorRule keeps two nodes of one operator off one path, on
// distinct subnets and on a loopback devnet alike; nodes whose operator
// the list does not give are not grouped.
func TestOperatorRule(t *testing.T) {
	for _, sameSubnet := range []bool{false, true} {
		for seed := range uint64(20) {
			nodes := spreadNodes(12)
			for i := range nodes {
				nodes[i].Operator = fmt.Sprintf("op%d", i%4) // 4 operators of 3 nodes
			}
			m, _ := newManager(t, Config{AllowSameSubnet: sameSubnet}, seed, nodes)
			if _, err := run(m, nil); err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Paths() {
				ops := map[string]bool{}
				for _, n := range p.Hops {
					if ops[n.Operator] {
						t.Fatalf("seed %d: path %d has two nodes of %s", seed, p.ID, n.Operator)
					}
					ops[n.Operator] = true
				}
			}
		}
	}
	// Two operators cannot fill a 3-hop path.
	nodes := spreadNodes(10)
	for i := range nodes {
		nodes[i].Operator = fmt.Sprintf("op%d", i%2)
	}
	m, _ := newManager(t, Config{}, 1, nodes)
	if _, err := run(m, nil); !errors.Is(err, ErrNotEnoughNodes) {
		t.Fatalf("two operators for a 3-hop path: %v", err)
	}
	// Unknown operators do not count as one.
	m, _ = newManager(t, Config{}, 1, spreadNodes(10))
	if _, err := run(m, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRetryOnAnotherPath(t *testing.T) {
	m, _ := newManager(t, Config{}, 2, spreadNodes(20))
	seen, err := run(m, []error{errors.New("timeout")})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0].ID == seen[1].ID {
		t.Fatalf("attempts on paths %v", seen)
	}
	for _, p := range m.pathsWithStrikes() {
		want := 0
		if p.ID == seen[0].ID {
			want = 1
		}
		if p.strikes != want {
			t.Fatalf("path %d has %d strikes, want %d", p.ID, p.strikes, want)
		}
	}
	// The next request prefers the path without strikes.
	clean := seen[1].ID
	for range 5 {
		if seen, _ = run(m, nil); seen[0].ID != clean {
			t.Fatalf("picked struck path %d", seen[0].ID)
		}
	}
}

func (m *Manager) pathsWithStrikes() []livePath {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []livePath
	for _, p := range m.paths {
		out = append(out, *p)
	}
	return out
}

func TestThreePathStrikesRebuild(t *testing.T) {
	m, _ := newManager(t, Config{MaxAttempts: 1}, 3, spreadNodes(20))
	run(m, nil)
	bad, other := m.Paths()[0], m.Paths()[1]
	fail := func(_ context.Context, p Path) error {
		if p.ID == bad.ID {
			return errors.New("boom")
		}
		return nil
	}
	for i := 0; m.findPath(bad.ID); i++ {
		if i == 3 {
			t.Fatal("path survived 3 failures")
		}
		// Avoiding the other path's guard forces the bad path.
		if err := m.Do(context.Background(), fail, other.Guard().Ed25519); err == nil {
			t.Fatal("failing path succeeded")
		}
	}
	if len(m.Paths()) != 2 {
		t.Fatalf("%d paths after rebuild", len(m.Paths()))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range bad.Hops {
		if m.strikes[n.Ed25519].count != 1 {
			t.Fatalf("node of the dropped path has %d strikes", m.strikes[n.Ed25519].count)
		}
	}
}

func (m *Manager) findPath(id uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.findLocked(id) != nil
}

func TestDeadGuardIsReplaced(t *testing.T) {
	m, _ := newManager(t, Config{}, 4, spreadNodes(20))
	run(m, nil)
	dead := m.Paths()[0].Guard().Ed25519
	fn := func(_ context.Context, p Path) error {
		if p.Guard().Ed25519 == dead {
			return &NodeError{Node: dead, Err: errors.New("connection refused")}
		}
		return nil
	}
	// After one failure the manager routes around the guard: its path
	// has a strike, the others have none.
	if seen, err := run(m, []error{fn(context.Background(), m.Paths()[0])}, m.Paths()[1].Guard().Ed25519); err != nil || !seen[0].contains(dead) {
		t.Fatalf("first failure: %v", err)
	}
	for range 5 {
		seen, err := run(m, nil)
		if err != nil || seen[0].contains(dead) {
			t.Fatalf("used the failed guard again: %v", err)
		}
	}
	// Forced onto it (every other path avoided), three failures in all
	// strike the guard out.
	for i := 0; slices.Contains(m.Guards(), dead); i++ {
		if i == 3 {
			t.Fatal("dead guard kept after 3 failures")
		}
		var avoid []key.NodePublic
		for _, p := range m.Paths() {
			if !p.contains(dead) {
				avoid = append(avoid, p.Guard().Ed25519)
			}
		}
		if err := m.Do(context.Background(), fn, avoid...); err != nil {
			t.Fatal(err)
		}
	}
	if slices.Contains(m.Guards(), dead) {
		t.Fatal("dead guard kept")
	}
	if slices.ContainsFunc(m.Nodes(), func(n Node) bool { return n.Ed25519 == dead }) {
		t.Fatal("dead guard still usable")
	}
	for _, p := range m.Paths() {
		if p.contains(dead) {
			t.Fatal("dead guard still on a path")
		}
	}
}

func TestNextNodeNotFoundDropsNode(t *testing.T) {
	m, _ := newManager(t, Config{}, 5, spreadNodes(20))
	run(m, nil)
	p0 := m.Paths()[0]
	gone := p0.Hops[2].Ed25519
	pe := &onion.PathError{Status: 502, Body: []byte(onion.ErrBodyNextNodeNotFound + gone.String())}
	seen, err := run(m, []error{pe})
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(m.Nodes(), func(n Node) bool { return n.Ed25519 == gone }) {
		t.Fatal("missing node not dropped")
	}
	for _, p := range m.Paths() {
		if p.contains(gone) {
			t.Fatal("missing node still on a path")
		}
	}
	if len(seen) != 2 {
		t.Fatalf("%d attempts", len(seen))
	}
}

func TestPermanentAndCancel(t *testing.T) {
	m, _ := newManager(t, Config{}, 6, spreadNodes(20))
	want := errors.New("401 bad signature")
	seen, err := run(m, []error{Permanent(want)})
	if !errors.Is(err, want) || len(seen) != 1 {
		t.Fatalf("permanent: %v after %d attempts", err, len(seen))
	}
	for _, p := range m.pathsWithStrikes() {
		if p.strikes != 0 {
			t.Fatal("permanent error struck a path")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err = m.Do(ctx, func(ctx context.Context, p Path) error {
		calls++
		cancel()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("cancel: %v after %d calls", err, calls)
	}
}

func TestAllAttemptsFail(t *testing.T) {
	m, _ := newManager(t, Config{MaxAttempts: 3}, 7, spreadNodes(20))
	boom := errors.New("boom")
	seen, err := run(m, []error{boom, boom, boom, boom})
	if !errors.Is(err, boom) || len(seen) != 3 {
		t.Fatalf("%v after %d attempts", err, len(seen))
	}
	ids := map[uint64]bool{}
	for _, p := range seen {
		ids[p.ID] = true
	}
	if len(ids) != 3 {
		t.Fatalf("attempts reused a path: %v", seen)
	}
}

func TestAvoidDestination(t *testing.T) {
	m, _ := newManager(t, Config{}, 8, spreadNodes(20))
	run(m, nil)
	for _, p := range m.Paths() {
		for _, n := range p.Hops {
			seen, err := run(m, nil, n.Ed25519)
			if err != nil {
				t.Fatal(err)
			}
			if seen[0].contains(n.Ed25519) {
				t.Fatal("path contains the avoided node")
			}
		}
	}
	if len(m.Paths()) > 4 {
		t.Fatalf("%d paths kept", len(m.Paths()))
	}
}

func TestStrikesExpire(t *testing.T) {
	m, clk := newManager(t, Config{}, 9, spreadNodes(12))
	n := m.Nodes()[0].Ed25519
	m.ReportNode(n, true)
	if slices.ContainsFunc(m.Nodes(), func(x Node) bool { return x.Ed25519 == n }) {
		t.Fatal("dropped node still usable")
	}
	clk.Add(47 * time.Hour)
	if slices.ContainsFunc(m.Nodes(), func(x Node) bool { return x.Ed25519 == n }) {
		t.Fatal("strike expired early")
	}
	clk.Add(2 * time.Hour)
	if !slices.ContainsFunc(m.Nodes(), func(x Node) bool { return x.Ed25519 == n }) {
		t.Fatal("strike did not expire")
	}
}

func TestRefreshHook(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	calls := 0
	list := spreadNodes(20)
	m, err := New(Config{}, Deps{Rand: rand.New(rand.NewPCG(1, 1)), Now: clk.Now, Refresh: func(context.Context) ([]Node, error) {
		calls++
		return list, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(m, nil); err != nil || calls != 1 {
		t.Fatalf("first Do: %v, %d refreshes", err, calls)
	}
	run(m, nil)
	if calls != 1 {
		t.Fatalf("fresh list refreshed again (%d)", calls)
	}
	clk.Add(3 * time.Hour)
	run(m, nil)
	if calls != 2 {
		t.Fatalf("stale list not refreshed (%d)", calls)
	}
	// Too few usable nodes: refresh. A node that left the list takes its
	// paths with it.
	list = spreadNodes(20)[5:]
	for _, n := range m.Nodes()[:10] {
		m.ReportNode(n.Ed25519, true)
	}
	run(m, nil)
	if calls != 3 {
		t.Fatalf("short list not refreshed (%d)", calls)
	}
	for _, p := range m.Paths() {
		for _, n := range p.Hops {
			if !slices.ContainsFunc(list, func(x Node) bool { return x.Ed25519 == n.Ed25519 }) {
				t.Fatal("path through a node that left the list")
			}
		}
	}
	// A failing hook leaves the old list in place.
	m.refresh = func(context.Context) ([]Node, error) { return nil, errors.New("seed down") }
	clk.Add(3 * time.Hour)
	if _, err := run(m, nil); err != nil {
		t.Fatalf("failing refresh broke requests: %v", err)
	}
}

func TestSetNodesFilters(t *testing.T) {
	nodes := spreadNodes(5)
	bad := testNode(99, "0.0.0.0")
	noPort := testNode(98, "10.9.9.9")
	noPort.Port = 0
	m, _ := newManager(t, Config{}, 10, append(append(nodes, nodes[0], bad, noPort), Node{}))
	if got := len(m.Nodes()); got != 5 {
		t.Fatalf("%d usable nodes, want 5", got)
	}
}

// A new list that gives a node of a path another address drops that path
// (a kept guard that moved), and keeps the node a guard at its new address.
func TestSetNodesDropsMovedNode(t *testing.T) {
	nodes := spreadNodes(10)
	m, _ := newManager(t, Config{}, 11, nodes)
	paths := m.ReadyPaths()
	if len(paths) < 2 {
		t.Fatalf("%d paths", len(paths))
	}
	guard := paths[0].Guard()
	moved := slices.Clone(nodes)
	for i := range moved {
		if moved[i].Ed25519 == guard.Ed25519 {
			moved[i].IP = netip.MustParseAddr("10.200.0.1")
		}
	}
	m.SetNodes(moved)
	for _, p := range m.Paths() {
		for _, h := range p.Hops {
			if h.Ed25519 == guard.Ed25519 {
				t.Fatalf("path %d still reaches %v at its old address %v", p.ID, h.Ed25519, h.IP)
			}
		}
	}
	if !slices.Contains(m.Guards(), guard.Ed25519) {
		t.Fatalf("the moved guard left the guards %v", m.Guards())
	}
	p, err := run(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range p[0].Hops {
		if h.Ed25519 == guard.Ed25519 && h.IP != netip.MustParseAddr("10.200.0.1") {
			t.Fatalf("new path reaches the moved node at %v", h.IP)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{{Length: onion.MaxHops + 1}, {Length: -1}, {MinPaths: -1}} {
		if _, err := New(cfg, Deps{}); err == nil {
			t.Errorf("New accepted %+v", cfg)
		}
	}
}

func TestConcurrentDo(t *testing.T) {
	m, err := New(Config{}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	m.SetNodes(spreadNodes(40))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				m.Do(context.Background(), func(_ context.Context, p Path) error {
					if (g+i)%3 == 0 {
						return &NodeError{Node: p.Hops[1].Ed25519, Err: errors.New("x")}
					}
					return nil
				})
			}
		})
	}
	wg.Wait()
	for _, p := range m.Paths() {
		checkPath(t, p, 3, false)
	}
}

func TestSmallNetworkSharesNodes(t *testing.T) {
	m, _ := newManager(t, Config{}, 11, spreadNodes(4))
	if _, err := run(m, nil); err != nil {
		t.Fatal(err)
	}
	if len(m.Paths()) != 2 {
		t.Fatalf("%d paths from 4 nodes", len(m.Paths()))
	}
	for _, p := range m.Paths() {
		checkPath(t, p, 3, false)
	}
	for _, n := range m.Nodes() {
		seen, err := run(m, nil, n.Ed25519)
		if err != nil || seen[0].contains(n.Ed25519) {
			t.Fatalf("avoiding %v: %v", n.Ed25519.String()[:6], err)
		}
	}
	if _, err := run(m, nil, m.Nodes()[0].Ed25519, m.Nodes()[1].Ed25519); !errors.Is(err, ErrNotEnoughNodes) {
		t.Fatalf("avoiding half the network: %v", err)
	}
}

// TestRestore: a restored list and guards are used as they were kept: the
// paths start at the kept guards, an unlisted guard is skipped, and the
// list's age, not the restore, decides when it is refreshed.
func TestRestore(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	calls := 0
	list := spreadNodes(20)
	m, err := New(Config{}, Deps{Rand: rand.New(rand.NewPCG(7, 1)), Now: clk.Now, Refresh: func(context.Context) ([]Node, error) {
		calls++
		return list, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	gone := testNode(999, "10.9.9.9")
	kept := []key.NodePublic{list[7].Ed25519, gone.Ed25519, list[3].Ed25519}
	m.Restore(list, clk.Now().Add(-time.Hour), kept)
	if g := m.Guards(); !slices.Equal(g, []key.NodePublic{list[7].Ed25519, list[3].Ed25519}) {
		t.Fatalf("restored guards %v", g)
	}
	for range 5 {
		paths, err := run(m, nil)
		if err != nil || calls != 0 {
			t.Fatalf("Do on a fresh restored list: %v, %d refreshes", err, calls)
		}
		if g := paths[0].Guard().Ed25519; g != list[7].Ed25519 && g != list[3].Ed25519 {
			t.Fatalf("path through guard %v, not a kept one", g)
		}
	}
	if len(m.Listed()) != 20 || !m.Fetched().Equal(clk.Now().Add(-time.Hour)) {
		t.Fatalf("listed %d, fetched %v", len(m.Listed()), m.Fetched())
	}
	// An hour later the kept list is two hours old: refreshed, guards kept.
	clk.Add(time.Hour + time.Minute)
	if _, err := run(m, nil); err != nil || calls != 1 {
		t.Fatalf("stale restored list: %v, %d refreshes", err, calls)
	}
	if g := m.Guards(); !slices.Equal(g, []key.NodePublic{list[7].Ed25519, list[3].Ed25519}) {
		t.Fatalf("guards after a refresh %v", g)
	}
	if p := m.ReadyPaths(); len(p) < 2 {
		t.Fatalf("ReadyPaths gave %d paths", len(p))
	}
}
