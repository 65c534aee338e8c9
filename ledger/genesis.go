package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// GenesisFormat is the value of the "format" field of a genesis file.
const GenesisFormat = "sotto-genesis-v1"

// GenesisFile is the JSON form of a genesis file: the node list a network
// starts from before the CometBFT ledger serves it. Keys are lowercase hex.
//
//	{
//	  "format": "sotto-genesis-v1",
//	  "height": 1,
//	  "nodes": [
//	    {"pubkey_ed25519": "…", "pubkey_x25519": "…", "public_ip": "203.0.113.7",
//	     "storage_port": 22021, "swarm_id": 0, "state": "active",
//	     "operator_address": "…", "capabilities": 1}
//	  ]
//	}
//
// swarm_id may be omitted (or null) for a node in no swarm; state defaults to
// "active"; operator_address (the operator's ledger account) and
// capabilities (onion.CapSottoOnion) may be omitted. height, when omitted or 0, is assigned by GenesisView (1 for the
// first load, then one more on each change).
type GenesisFile struct {
	Format string        `json:"format"`
	Height uint64        `json:"height,omitempty"`
	Nodes  []GenesisNode `json:"nodes"`
}

// GenesisNode is one node entry of a GenesisFile.
type GenesisNode struct {
	Ed25519               string     `json:"pubkey_ed25519"`
	X25519                string     `json:"pubkey_x25519"`
	PublicIP              string     `json:"public_ip"`
	StoragePort           uint16     `json:"storage_port"`
	SwarmID               *uint64    `json:"swarm_id,omitempty"`
	State                 string     `json:"state,omitempty"`
	RequestedUnlockHeight uint64     `json:"requested_unlock_height,omitempty"`
	Version               *[3]uint16 `json:"version,omitempty"`
	// Operator is the ledger account that runs the node (64 lowercase hex
	// digits; Node.Operator), omitted when unknown; Caps its capability
	// bits (Node.Caps).
	Operator string `json:"operator_address,omitempty"`
	Caps     uint32 `json:"capabilities,omitempty"`
}

// GenesisError says what is wrong with a genesis file, and where.
type GenesisError struct {
	Node  int    // index in "nodes", or -1 for the file as a whole
	Field string // JSON field name, or "" for the whole entry
	Msg   string
}

func (e *GenesisError) Error() string {
	if e.Node < 0 {
		if e.Field == "" {
			return "genesis: " + e.Msg
		}
		return fmt.Sprintf("genesis: %s: %s", e.Field, e.Msg)
	}
	if e.Field == "" {
		return fmt.Sprintf("genesis: nodes[%d]: %s", e.Node, e.Msg)
	}
	return fmt.Sprintf("genesis: nodes[%d].%s: %s", e.Node, e.Field, e.Msg)
}

// ParseGenesis decodes and validates a genesis file. Unknown fields, bad
// keys, duplicate keys or endpoints, non-IPv4 addresses, zero ports and
// unknown states are errors. The returned snapshot's nodes are sorted by
// Ed25519 key; its height is the file's (possibly 0).
func ParseGenesis(data []byte) (*Snapshot, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f GenesisFile
	if err := dec.Decode(&f); err != nil {
		return nil, &GenesisError{Node: -1, Msg: "decode: " + err.Error()}
	}
	if dec.More() {
		return nil, &GenesisError{Node: -1, Msg: "trailing data after the JSON object"}
	}
	if f.Format != GenesisFormat {
		return nil, &GenesisError{Node: -1, Field: "format", Msg: fmt.Sprintf("want %q, got %q", GenesisFormat, f.Format)}
	}
	snap := &Snapshot{Height: f.Height, Nodes: make([]Node, 0, len(f.Nodes))}
	seenEd := make(map[[32]byte]int, len(f.Nodes))
	seenX := make(map[[32]byte]int, len(f.Nodes))
	seenAddr := make(map[netip.AddrPort]int, len(f.Nodes))
	for i, gn := range f.Nodes {
		n, err := gn.node(i)
		if err != nil {
			return nil, err
		}
		if j, ok := seenEd[n.Ed25519]; ok {
			return nil, &GenesisError{Node: i, Field: "pubkey_ed25519", Msg: fmt.Sprintf("duplicate of nodes[%d]", j)}
		}
		if j, ok := seenX[n.X25519]; ok {
			return nil, &GenesisError{Node: i, Field: "pubkey_x25519", Msg: fmt.Sprintf("duplicate of nodes[%d]", j)}
		}
		ap := netip.AddrPortFrom(netip.MustParseAddr(n.PublicIP), n.StoragePort)
		if j, ok := seenAddr[ap]; ok {
			return nil, &GenesisError{Node: i, Field: "public_ip", Msg: fmt.Sprintf("address %s already used by nodes[%d]", ap, j)}
		}
		seenEd[n.Ed25519], seenX[n.X25519], seenAddr[ap] = i, i, i
		snap.Nodes = append(snap.Nodes, n)
	}
	slices.SortFunc(snap.Nodes, func(a, b Node) int { return bytes.Compare(a.Ed25519[:], b.Ed25519[:]) })
	return snap, nil
}

func (gn *GenesisNode) node(i int) (Node, error) {
	var n Node
	var err error
	if n.Ed25519, err = parseKey32(gn.Ed25519); err != nil {
		return n, &GenesisError{Node: i, Field: "pubkey_ed25519", Msg: err.Error()}
	}
	if n.X25519, err = parseKey32(gn.X25519); err != nil {
		return n, &GenesisError{Node: i, Field: "pubkey_x25519", Msg: err.Error()}
	}
	addr, err := netip.ParseAddr(gn.PublicIP)
	if err != nil || !addr.Is4() {
		return n, &GenesisError{Node: i, Field: "public_ip", Msg: fmt.Sprintf("%q is not an IPv4 dotted quad", gn.PublicIP)}
	}
	if addr.IsUnspecified() {
		return n, &GenesisError{Node: i, Field: "public_ip", Msg: "0.0.0.0 is not an address"}
	}
	n.PublicIP = addr.String()
	if gn.StoragePort == 0 {
		return n, &GenesisError{Node: i, Field: "storage_port", Msg: "must not be 0"}
	}
	n.StoragePort = gn.StoragePort
	n.SwarmID = UnassignedSwarm
	if gn.SwarmID != nil {
		n.SwarmID = *gn.SwarmID
	}
	switch gn.State {
	case "", StateActive.String():
		n.State = StateActive
	case StateDecommissioned.String():
		n.State = StateDecommissioned
	case StateDeregistered.String():
		n.State = StateDeregistered
	case StateUnlocking.String():
		n.State = StateUnlocking
	default:
		return n, &GenesisError{Node: i, Field: "state", Msg: fmt.Sprintf("unknown state %q", gn.State)}
	}
	n.RequestedUnlockHeight = gn.RequestedUnlockHeight
	if gn.Version != nil {
		n.Version = *gn.Version
	}
	if gn.Operator != "" {
		op, err := parseKey32(gn.Operator)
		if err != nil {
			return n, &GenesisError{Node: i, Field: "operator_address", Msg: err.Error()}
		}
		n.Operator = op
	}
	n.Caps = gn.Caps
	return n, nil
}

func parseKey32(s string) ([32]byte, error) {
	var k [32]byte
	if len(s) != 64 {
		return k, fmt.Errorf("want 64 hex characters, got %d", len(s))
	}
	if strings.ToLower(s) != s {
		return k, errors.New("hex must be lowercase")
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, fmt.Errorf("bad hex: %v", err)
	}
	if k == [32]byte{} {
		return k, errors.New("all-zero key")
	}
	return k, nil
}

// MarshalGenesis encodes a snapshot as a genesis file (indented JSON), the
// inverse of ParseGenesis.
func MarshalGenesis(s *Snapshot) ([]byte, error) {
	f := GenesisFile{Format: GenesisFormat, Height: s.Height, Nodes: make([]GenesisNode, 0, len(s.Nodes))}
	for _, n := range s.Nodes {
		gn := GenesisNode{
			Ed25519:               hex.EncodeToString(n.Ed25519[:]),
			X25519:                hex.EncodeToString(n.X25519[:]),
			PublicIP:              n.PublicIP,
			StoragePort:           n.StoragePort,
			State:                 n.State.String(),
			RequestedUnlockHeight: n.RequestedUnlockHeight,
			Operator:              operatorString(n.Operator),
			Caps:                  n.Caps,
		}
		if n.SwarmID != UnassignedSwarm {
			id := n.SwarmID
			gn.SwarmID = &id
		}
		if n.Version != ([3]uint16{}) {
			v := n.Version
			gn.Version = &v
		}
		f.Nodes = append(f.Nodes, gn)
	}
	out, err := json.MarshalIndent(&f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode genesis: %w", err)
	}
	return append(out, '\n'), nil
}

// WriteGenesis writes a snapshot to path atomically (temporary file and
// rename), so that a GenesisView watching the file never reads half of it.
func WriteGenesis(path string, s *Snapshot) error {
	data, err := MarshalGenesis(s)
	if err != nil {
		return err
	}
	if _, err := ParseGenesis(data); err != nil {
		return fmt.Errorf("write genesis: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write genesis: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write genesis: %w", err)
	}
	return nil
}

// DefaultGenesisPoll is how often GenesisView.Serve checks its file.
const DefaultGenesisPoll = time.Second

// GenesisView is a View backed by a genesis file. It loads the file when
// created, reloads it on Reload (wire it to SIGHUP) and, while Serve runs,
// whenever the file's contents change. A file that fails validation on
// reload is reported and ignored: the previous snapshot stays current.
type GenesisView struct {
	path   string
	log    *slog.Logger
	poll   time.Duration
	mu     sync.Mutex
	cur    *Snapshot
	sum    [32]byte
	change chan struct{}
}

// NewGenesisView loads and validates the genesis file at path. logger may be
// nil (logs are then discarded); poll <= 0 selects DefaultGenesisPoll.
func NewGenesisView(path string, logger *slog.Logger, poll time.Duration) (*GenesisView, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if poll <= 0 {
		poll = DefaultGenesisPoll
	}
	g := &GenesisView{path: path, log: logger, poll: poll, change: make(chan struct{})}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	snap, err := ParseGenesis(data)
	if err != nil {
		return nil, err
	}
	if snap.Height == 0 {
		snap.Height = 1
	}
	g.cur, g.sum = snap, sha256.Sum256(data)
	return g, nil
}

// Current returns the latest snapshot; never nil.
func (g *GenesisView) Current() *Snapshot {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cur
}

// Changed returns a channel closed at the next change of the snapshot.
func (g *GenesisView) Changed() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.change
}

// Reload re-reads the file. It reports whether the snapshot changed; on a
// read or validation error the current snapshot is kept.
func (g *GenesisView) Reload() (bool, error) {
	data, err := os.ReadFile(g.path)
	if err != nil {
		return false, fmt.Errorf("genesis: %w", err)
	}
	sum := sha256.Sum256(data)
	g.mu.Lock()
	same := sum == g.sum
	g.mu.Unlock()
	if same {
		return false, nil
	}
	snap, err := ParseGenesis(data)
	if err != nil {
		return false, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if snap.Height == 0 || snap.Height <= g.cur.Height {
		snap.Height = g.cur.Height + 1
	}
	g.cur, g.sum = snap, sum
	close(g.change)
	g.change = make(chan struct{})
	return true, nil
}

// Serve polls the file until ctx ends, reloading it when it changes.
func (g *GenesisView) Serve(ctx context.Context) error {
	t := time.NewTicker(g.poll)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		changed, err := g.Reload()
		switch {
		case err != nil:
			if err.Error() != lastErr {
				g.log.Warn("genesis reload failed; keeping the previous node list", "err", err)
			}
			lastErr = err.Error()
		case changed:
			lastErr = ""
			s := g.Current()
			g.log.Info("genesis reloaded", "height", s.Height, "nodes", len(s.Nodes))
		}
	}
}
