package testnet

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"sotto.dev/internal/atomicfile"
	"sotto.dev/internal/ports"
	"sotto.dev/ledger"
	"sotto.dev/ledger/state"
	"sotto.dev/onion"
	"sotto.dev/snode"
	"sotto.dev/swarm"
)

// Files of a network directory.
const (
	LayoutFile  = "devnet.json"
	GenesisFile = "genesis.json"
	NetworkFile = "network.json"
)

const layoutFormat = "sotto-devnet-v1"

// maxNodes bounds a network's size (each node holds a port and a few
// goroutines; a loopback network beyond this is a mistake).
const maxNodes = 1000

// layout is DIR/devnet.json: what must stay the same across restarts of a
// network (node keys live in each node's key.json).
type layout struct {
	Format string `json:"format"`
	Listen string `json:"listen"`
	// Addresses is the AddressMode that gave each node its own Addr ("":
	// every node on Listen).
	Addresses AddressMode  `json:"addresses,omitempty"`
	Nodes     []layoutNode `json:"nodes"`
}

type layoutNode struct {
	Dir   string `json:"dir"` // relative to the network directory
	Port  uint16 `json:"port"`
	Swarm uint64 `json:"swarm_id"`
	// Addr is the node's own address (Options.Addresses); "" for Listen.
	Addr string `json:"addr,omitempty"`
}

// LayoutError says why a network directory cannot be used as asked.
type LayoutError struct {
	Path string
	Msg  string
}

func (e *LayoutError) Error() string { return "testnet: " + e.Path + ": " + e.Msg }

// nodeDirName is the data directory of node i.
func nodeDirName(i int) string { return fmt.Sprintf("node-%02d", i) }

// loadLayout reads DIR/devnet.json; fs.ErrNotExist when there is none.
func loadLayout(dir string) (*layout, error) {
	path := filepath.Join(dir, LayoutFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseLayout(path, data)
}

// parseLayout decodes and checks a layout file: known fields only, the
// format, a concrete IPv4 listen address, and per node the directory
// name of its index and a distinct non-zero port.
func parseLayout(path string, data []byte) (*layout, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var l layout
	if err := dec.Decode(&l); err != nil {
		return nil, &LayoutError{Path: path, Msg: "not a devnet layout: " + err.Error()}
	}
	if dec.More() {
		return nil, &LayoutError{Path: path, Msg: "data after the JSON object"}
	}
	if l.Format != layoutFormat {
		return nil, &LayoutError{Path: path, Msg: fmt.Sprintf("format %q, want %q", l.Format, layoutFormat)}
	}
	if _, err := listenAddr(l.Listen); err != nil {
		return nil, &LayoutError{Path: path, Msg: err.Error()}
	}
	if len(l.Nodes) == 0 {
		return nil, &LayoutError{Path: path, Msg: "no nodes"}
	}
	if len(l.Nodes) > maxNodes {
		return nil, &LayoutError{Path: path, Msg: fmt.Sprintf("%d nodes, at most %d", len(l.Nodes), maxNodes)}
	}
	seen := map[uint16]bool{}
	for i, n := range l.Nodes {
		if n.Port == 0 || seen[n.Port] {
			return nil, &LayoutError{Path: path, Msg: fmt.Sprintf("nodes[%d]: port %d is zero or used twice", i, n.Port)}
		}
		if n.Addr != "" {
			if _, err := listenAddr(n.Addr); err != nil {
				return nil, &LayoutError{Path: path, Msg: fmt.Sprintf("nodes[%d]: %v", i, err)}
			}
		}
		if (n.Addr == "") != (l.Addresses == SharedAddress) {
			return nil, &LayoutError{Path: path, Msg: fmt.Sprintf("nodes[%d]: addr %q does not fit addresses %q", i, n.Addr, l.Addresses)}
		}
		if n.Dir != nodeDirName(i) {
			return nil, &LayoutError{Path: path, Msg: fmt.Sprintf("nodes[%d]: dir %q, want %q", i, n.Dir, nodeDirName(i))}
		}
		seen[n.Port] = true
	}
	return &l, nil
}

func (l *layout) save(dir string) error {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, LayoutFile), append(data, '\n'), 0o644)
}

// listenAddr checks the address nodes listen on and announce: a concrete
// IPv4 address (the ledger lists IPv4 addresses only).
func listenAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() || a.IsUnspecified() {
		return netip.Addr{}, fmt.Errorf("listen address %q is not a concrete IPv4 address", s)
	}
	return a, nil
}

// freePorts reserves n distinct free TCP ports on ip, outside the
// kernel's ephemeral range (internal/ports).
func freePorts(ip netip.Addr, n int) ([]uint16, error) {
	got, err := ports.Reserve(ip, n)
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	return got, nil
}

// openLayout loads the layout of dir, or creates one for nodes nodes on
// listen. A loaded layout must match what was asked (nodes 0 and listen ""
// accept the stored values). It also makes every node's key, so that the
// ledger can list the nodes before they start.
func openLayout(dir string, nodes int, listen string, params swarm.AssignParams) (*layout, []*snode.Keys, error) {
	l, err := loadLayout(dir)
	switch {
	case err == nil:
		path := filepath.Join(dir, LayoutFile)
		if nodes != 0 && nodes != len(l.Nodes) {
			return nil, nil, &LayoutError{Path: path, Msg: fmt.Sprintf("the network has %d nodes, not %d (use a new directory to change the size)", len(l.Nodes), nodes)}
		}
		if listen != "" && listen != l.Listen {
			return nil, nil, &LayoutError{Path: path, Msg: fmt.Sprintf("the network listens on %s, not %s (use a new directory to change it)", l.Listen, listen)}
		}
	case errors.Is(err, fs.ErrNotExist):
		if nodes < 1 || nodes > maxNodes {
			return nil, nil, fmt.Errorf("testnet: need 1 to %d nodes, got %d", maxNodes, nodes)
		}
		if listen == "" {
			listen = DefaultListen
		}
		ip, err := listenAddr(listen)
		if err != nil {
			return nil, nil, fmt.Errorf("testnet: %w", err)
		}
		ports, err := freePorts(ip, nodes)
		if err != nil {
			return nil, nil, err
		}
		l = &layout{Format: layoutFormat, Listen: ip.String()}
		for i, p := range ports {
			l.Nodes = append(l.Nodes, layoutNode{Dir: nodeDirName(i), Port: p, Swarm: swarm.UnassignedID})
		}
	default:
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("testnet: %w", err)
	}
	keys := make([]*snode.Keys, len(l.Nodes))
	for i, n := range l.Nodes {
		if keys[i], _, err = snode.LoadOrCreateKeys(filepath.Join(dir, n.Dir)); err != nil {
			return nil, nil, err
		}
	}
	if l.Nodes[0].Swarm == swarm.UnassignedID {
		if err := assignSwarms(l, keys, params); err != nil {
			return nil, nil, err
		}
	}
	if err := l.save(dir); err != nil {
		return nil, nil, fmt.Errorf("testnet: save layout: %w", err)
	}
	return l, keys, nil
}

// assignSwarms places the nodes in swarms with the ledger's algorithm, as
// if they had all registered in one block; the randomness is seeded from
// the node keys, so a layout is reproducible from its keys.
func assignSwarms(l *layout, keys []*snode.Keys, params swarm.AssignParams) error {
	members := make([]swarm.Member, len(keys))
	h := sha256.New()
	for i, k := range keys {
		members[i] = swarm.Member{Key: k.Ed25519Public(), Swarm: swarm.UnassignedID}
	}
	sorted := slices.Clone(members)
	slices.SortFunc(sorted, func(a, b swarm.Member) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	for _, m := range sorted {
		h.Write(m.Key[:])
	}
	sum := h.Sum(nil)
	rnd := rand.New(rand.NewPCG(binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])))
	out, err := swarm.Assign(members, rnd, params)
	if err != nil {
		return fmt.Errorf("testnet: assign swarms: %w", err)
	}
	byKey := make(map[[32]byte]uint64, len(out))
	for _, m := range out {
		byKey[m.Key] = m.Swarm
	}
	for i, k := range keys {
		l.Nodes[i].Swarm = byKey[k.Ed25519Public()]
	}
	return nil
}

// snapshot is the ledger's node list for the layout: every node active in
// its swarm, at the listen address and its port, announcing what a node
// announces in its uptime proofs. With operators > 0, node i's operator is
// OperatorAddress(i mod operators).
func (l *layout) snapshot(keys []*snode.Keys, operators int) *ledger.Snapshot {
	s := &ledger.Snapshot{Height: 1}
	for i, n := range l.Nodes {
		nd := ledger.Node{
			Ed25519:     keys[i].Ed25519Public(),
			X25519:      keys[i].X25519Public(),
			PublicIP:    l.addr(i).String(),
			StoragePort: n.Port,
			SwarmID:     n.Swarm,
			State:       ledger.StateActive,
			Version:     onion.SottoNodeVersion, // as the node announces it (snode nodeVersion)
			Caps:        onion.CapSottoOnion,    // and its capabilities (snode nodeCaps)
		}
		if operators > 0 {
			nd.Operator = OperatorAddress(i % operators)
		}
		s.Nodes = append(s.Nodes, nd)
	}
	slices.SortFunc(s.Nodes, func(a, b ledger.Node) int { return bytes.Compare(a.Ed25519[:], b.Ed25519[:]) })
	return s
}

// OperatorAddress is the operator_address a genesis-file network gives
// the nodes of its operator number op (Options.Operators): an address no
// key is known for, since a genesis file needs none.
func OperatorAddress(op int) state.Address {
	return state.Address(sha256.Sum256([]byte("sotto testnet operator " + strconv.Itoa(op))))
}

// url is node i's base URL.
func (l *layout) url(i int) string {
	return "https://" + net.JoinHostPort(l.addr(i).String(), strconv.Itoa(int(l.Nodes[i].Port)))
}

// addr is node i's address: its own, or the network's listen address.
func (l *layout) addr(i int) netip.Addr {
	s := l.Nodes[i].Addr
	if s == "" {
		s = l.Listen
	}
	return netip.MustParseAddr(s)
}
