// Package linkem emulates Internet links in user space, for test networks
// on one machine (the kernel's netem is not available everywhere): it wraps
// the listeners and dialers of nodes, relays and clients so that every
// link — a pair of named endpoints — has a one-way delay with jitter, a
// bandwidth, a loss model (a connection reset or stalled at a random
// point, at a given rate), and can be partitioned and healed on command.
//
// Everything random is drawn from generators seeded by the Network's seed,
// the link's two endpoint names, the connection's index on that link and
// the direction, so the same seed replays the same drops and jitter on
// every link (the order in which concurrent connections of one link are
// opened is the only thing a seed does not fix). Tests print the seed.
//
// A connection is emulated once, by the side that knows both endpoints:
// the dialer when it dials a listener of the same Network (it then sends a
// short preamble naming itself, which the listener strips), the listener
// when the dialer is not emulated (another process, such as a client of
// `sottod devnet`; its endpoint is then External). Opening a connection
// costs one round trip before the dialer may send, as a TCP handshake
// does; data is delivered in order, each write after its one-way delay
// and its transmission time at the link's bandwidth.
package linkem

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Profile is what a link does to the traffic over it, the same in both
// directions.
type Profile struct {
	// Delay is the one-way delay.
	Delay time.Duration
	// Jitter spreads each delay uniformly over Delay ± Jitter (never below
	// zero); data stays in order.
	Jitter time.Duration
	// Bandwidth is the link's rate in bytes per second in each direction
	// (0: unlimited).
	Bandwidth int64
	// Loss is the fraction of connections that fail, 0 to 1: each fails
	// with this probability at a random point in its first LossWindow
	// bytes, half of them reset (both ends see the connection closed) and
	// half stalled (nothing more is delivered; only a deadline or Close
	// ends it).
	Loss float64
}

// LossWindow bounds the byte offset at which a failing connection fails;
// offset 0 fails the dial itself.
const LossWindow = 16 << 10

// External names the far endpoint of a connection accepted from a dialer
// that is not emulated (another process).
const External = "external"

// DialFunc dials like net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// ErrReset is returned by a dial that the loss model fails at once.
var ErrReset = errors.New("linkem: connection reset")

// Network holds the links between named endpoints: their profiles, the
// listeners' addresses, the partitions and the seed.
type Network struct {
	seed uint64
	def  Profile

	mu        sync.Mutex
	profiles  map[pair]Profile
	listeners map[string]string // listen address → endpoint
	island    map[string]int    // endpoint → partition group (absent: with everyone)
	healed    chan struct{}     // closed when the partition changes
	conns     map[pair]uint64   // connections opened per directed link
	live      map[pair]map[*conn]bool
}

type pair struct{ from, to string }

func (p pair) key() pair {
	if p.to < p.from {
		return pair{p.to, p.from}
	}
	return p
}

// New returns a network whose links all have profile p, with randomness
// drawn from seed.
func New(seed uint64, p Profile) *Network {
	return &Network{
		seed: seed, def: p,
		profiles:  map[pair]Profile{},
		listeners: map[string]string{},
		island:    map[string]int{},
		healed:    make(chan struct{}),
		conns:     map[pair]uint64{},
		live:      map[pair]map[*conn]bool{},
	}
}

// Seed is the seed the network replays from.
func (n *Network) Seed() uint64 { return n.seed }

// Default is the profile of links without their own.
func (n *Network) Default() Profile { return n.def }

// SetProfile gives the link between endpoints a and b its own profile,
// for connections opened from now on.
func (n *Network) SetProfile(a, b string, p Profile) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.profiles[pair{a, b}.key()] = p
}

func (n *Network) profile(l pair) Profile {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p, ok := n.profiles[l.key()]; ok {
		return p
	}
	return n.def
}

// Partition splits the network: endpoints in different groups cannot
// reach each other until Heal; an endpoint in no group reaches everyone.
// Connections across the split stall (nothing is delivered; data written
// meanwhile arrives after the heal, as TCP would retransmit it) and dials
// across it wait for the heal or their context. A new Partition replaces
// the previous one.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.island)
	for i, g := range groups {
		for _, e := range g {
			n.island[e] = i
		}
	}
	close(n.healed)
	n.healed = make(chan struct{})
}

// Heal ends the partition.
func (n *Network) Heal() { n.Partition() }

// split reports whether a and b are in different groups, and a channel
// closed when the partition next changes.
func (n *Network) split(a, b string) (bool, <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ia, oka := n.island[a]
	ib, okb := n.island[b]
	return oka && okb && ia != ib, n.healed
}

// waitJoined blocks while a and b are split, until done is closed.
func (n *Network) waitJoined(a, b string, done <-chan struct{}) bool {
	for {
		s, changed := n.split(a, b)
		if !s {
			return true
		}
		select {
		case <-changed:
		case <-done:
			return false
		}
	}
}

// Reachable reports whether a and b can reach each other now.
func (n *Network) Reachable(a, b string) bool {
	s, _ := n.split(a, b)
	return !s
}

// endpoint is the endpoint listening at addr, or addr itself.
func (n *Network) endpoint(addr string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.listeners[addr]
	if !ok {
		return addr, false
	}
	return e, true
}

// link draws the next connection of the directed link from → to.
func (n *Network) link(from, to string) *link {
	l := pair{from, to}
	p := n.profile(l)
	n.mu.Lock()
	idx := n.conns[l]
	n.conns[l]++
	n.mu.Unlock()
	lk := &link{net: n, from: from, to: to, p: p, idx: idx}
	r := lk.rand(0)
	lk.failAt = -1
	if p.Loss > 0 && r.Float64() < p.Loss {
		lk.failAt = r.Int64N(LossWindow)
		lk.stall = r.IntN(2) == 1
	}
	return lk
}

// link is one connection's draw of a link: its profile, whether and where
// it fails, and its generators.
type link struct {
	net      *Network
	from, to string // the dialer's endpoint and the listener's
	p        Profile
	idx      uint64

	failAt int64 // byte offset at which the connection fails; -1 never
	stall  bool  // stall rather than reset
}

// rand is the generator of one stream of this connection: 0 for its
// failure draw, 1 and 2 for its two directions, 3 for its handshake.
func (l *link) rand(stream uint64) *rand.Rand {
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], l.net.seed)
	h.Write(b[:])
	h.Write([]byte(l.from))
	h.Write([]byte{0})
	h.Write([]byte(l.to))
	binary.BigEndian.PutUint64(b[:], l.idx)
	h.Write(b[:])
	return rand.New(rand.NewPCG(h.Sum64(), stream))
}

// oneWay draws one one-way delay.
func oneWay(p Profile, r *rand.Rand) time.Duration {
	d := p.Delay
	if p.Jitter > 0 {
		d += time.Duration(r.Int64N(int64(2*p.Jitter)+1)) - p.Jitter
	}
	return max(d, 0)
}

// Dialer returns a dial function for endpoint from over base (nil: a
// net.Dialer). Connections to a listener of this network are emulated on
// the link between from and that listener; others on the link between
// from and the dialed address.
func (n *Network) Dialer(from string, base DialFunc) DialFunc {
	if base == nil {
		base = (&net.Dialer{}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		for {
			to, ours := n.endpoint(addr)
			c, err := n.dial(ctx, from, to, ours, base, network, addr)
			if err != nil || ours {
				return c, err
			}
			if _, now := n.endpoint(addr); now {
				// A listener of this network registered the address
				// while we dialed (it was bound, not yet wrapped): dial
				// again on its link, or the connection would stay
				// outside every partition.
				c.Close()
				continue
			}
			return c, nil
		}
	}
}

// dial opens a connection on the link from → to by dialing addr with
// base; ours says whether addr is a listener of this network, which then
// reads the preamble.
func (n *Network) dial(ctx context.Context, from, to string, ours bool, base DialFunc, network, addr string) (net.Conn, error) {
	if !n.waitJoined(from, to, ctx.Done()) {
		return nil, fmt.Errorf("linkem: dial %s: %w", to, ctx.Err())
	}
	lk := n.link(from, to)
	hs := lk.rand(3)
	rtt := oneWay(lk.p, hs) + oneWay(lk.p, hs)
	if err := sleep(ctx, rtt); err != nil {
		return nil, fmt.Errorf("linkem: dial %s: %w", to, err)
	}
	if lk.failAt == 0 {
		return nil, fmt.Errorf("linkem: dial %s: %w", to, ErrReset)
	}
	raw, err := base(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if ours {
		if err := writePreamble(raw, from); err != nil {
			raw.Close()
			return nil, err
		}
	}
	return wrap(raw, lk, true), nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Opened is the number of connections opened so far on each link, keyed
// "from→to" (a dial across a link that the loss model failed at once
// counts too): tests use it to see connections that should have been
// reused.
func (n *Network) Opened() map[string]uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[string]uint64, len(n.conns))
	for l, c := range n.conns {
		out[l.from+"→"+l.to] = c
	}
	return out
}

// Stall stalls every connection open now between endpoints a and b, as a
// link that dies without a reset does: nothing more is delivered on them
// until they are closed. Connections opened afterwards work.
func (n *Network) Stall(a, b string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for c := range n.live[pair{a, b}.key()] {
		c.stalled.Store(true)
		if c.closed.Load() {
			c.stop()
		}
	}
}

func (n *Network) track(c *conn, open bool) {
	k := pair{c.lk.from, c.lk.to}.key()
	n.mu.Lock()
	defer n.mu.Unlock()
	if open {
		if n.live[k] == nil {
			n.live[k] = map[*conn]bool{}
		}
		n.live[k][c] = true
		return
	}
	delete(n.live[k], c)
	if len(n.live[k]) == 0 {
		delete(n.live, k)
	}
}
