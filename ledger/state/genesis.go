package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/bits"
	"time"

	"sotto.dev/key"
	"sotto.dev/swarm"
)

// Genesis is the ledger's initial state, carried as the app_state of a
// CometBFT genesis file. Keys are lowercase hex; amounts are atomic units.
//
//	{
//	  "params": {…},                     // omitted: MainnetParams
//	  "pool": 63177550000000000,
//	  "accounts": [{"address": "…", "balance": 1000000000}],
//	  "nodes": [{"operator": "…", "pubkey_ed25519": "…", "pubkey_x25519": "…",
//	             "public_ip": "203.0.113.7", "storage_port": 22021, "fee_bps": 500}]
//	}
//
// Genesis nodes start active, fully staked by their operator (their stake
// is part of the initial supply, on top of the accounts' balances).
type Genesis struct {
	Params   *Params          `json:"params,omitempty"`
	Pool     uint64           `json:"pool"`
	Accounts []GenesisAccount `json:"accounts"`
	Nodes    []GenesisNode    `json:"nodes,omitempty"`
}

// GenesisAccount is an initial balance.
type GenesisAccount struct {
	Address string `json:"address"`
	Balance uint64 `json:"balance"`
}

// GenesisNode is a node registered from the start.
type GenesisNode struct {
	Operator    string    `json:"operator"`
	Ed25519     string    `json:"pubkey_ed25519"`
	X25519      string    `json:"pubkey_x25519"`
	PublicIP    string    `json:"public_ip"`
	StoragePort uint16    `json:"storage_port"`
	FeeBps      uint16    `json:"fee_bps"`
	Version     [3]uint16 `json:"version"`
	// Caps are the node's capability bits until its first uptime proof
	// (UptimeProof.Caps).
	Caps uint32 `json:"capabilities,omitempty"`
}

// GenesisError says what is wrong with a genesis app state.
type GenesisError struct {
	Field string
	Msg   string
}

func (e *GenesisError) Error() string { return fmt.Sprintf("ledger genesis: %s: %s", e.Field, e.Msg) }

// ParseGenesis decodes a genesis app state exactly: unknown fields and
// trailing data are errors.
func ParseGenesis(b []byte) (*Genesis, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var g Genesis
	if err := dec.Decode(&g); err != nil {
		return nil, &GenesisError{Field: "app_state", Msg: err.Error()}
	}
	if dec.More() {
		return nil, &GenesisError{Field: "app_state", Msg: "trailing data"}
	}
	return &g, nil
}

// MarshalJSON writes params with the block time as a Go duration string.
func (p Params) MarshalJSON() ([]byte, error) {
	type plain Params
	return json.Marshal(struct {
		plain
		BlockTime string `json:"block_time"`
	}{plain(p), p.BlockTime.String()})
}

// UnmarshalJSON reads params written by MarshalJSON. Unknown fields are
// errors; missing ones are zero, which Validate rejects where it matters.
func (p *Params) UnmarshalJSON(b []byte) error {
	type plain Params
	var v struct {
		plain
		BlockTime string `json:"block_time"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	d, err := time.ParseDuration(v.BlockTime)
	if err != nil {
		return fmt.Errorf("block_time: %w", err)
	}
	*p = Params(v.plain)
	p.BlockTime = d
	return nil
}

// New builds the state at genesis. The first block will be initialHeight.
func New(chainID string, g *Genesis, initialHeight uint64) (*State, error) {
	if chainID == "" || len(chainID) > maxChainID {
		return nil, &GenesisError{Field: "chain_id", Msg: fmt.Sprintf("length %d, want 1..%d", len(chainID), maxChainID)}
	}
	if initialHeight == 0 {
		return nil, &GenesisError{Field: "initial_height", Msg: "must be at least 1"}
	}
	params := MainnetParams()
	if g.Params != nil {
		params = *g.Params
	}
	if err := params.Validate(); err != nil {
		return nil, err
	}
	s := &State{
		chainID:  chainID,
		params:   params,
		height:   initialHeight - 1,
		pool:     g.Pool,
		accounts: make(map[Address]*Account),
		nodes:    make(map[key.NodePublic]*Node),
		names:    make(map[NameHash]*Name),

		fileServers: make(map[key.FileServerPublic]*FileServer),
		communities: make(map[key.FileServerPublic]*Community),
	}
	supply := g.Pool
	add := func(field string, v uint64) error {
		var c uint64
		supply, c = bits.Add64(supply, v, 0)
		if c != 0 || supply > 1<<62 {
			return &GenesisError{Field: field, Msg: "total supply over 2^62"}
		}
		return nil
	}
	for i, ga := range g.Accounts {
		field := fmt.Sprintf("accounts[%d]", i)
		k, err := ParseKey(ga.Address)
		if err != nil {
			return nil, &GenesisError{Field: field, Msg: err.Error()}
		}
		if s.accounts[k] != nil {
			return nil, &GenesisError{Field: field, Msg: "duplicate address"}
		}
		if err := add(field, ga.Balance); err != nil {
			return nil, err
		}
		s.accounts[k] = &Account{Balance: ga.Balance}
	}
	for i, gn := range g.Nodes {
		field := fmt.Sprintf("nodes[%d]", i)
		n, err := gn.node(s)
		if err != nil {
			return nil, &GenesisError{Field: field, Msg: err.Error()}
		}
		if err := add(field, params.StakingRequirement); err != nil {
			return nil, err
		}
		s.nodes[n.Key] = n
	}
	s.blockHash = sha256.Sum256([]byte(GenesisSeedLabel + "\x00" + chainID))
	s.assignSwarms()
	s.changes = nil
	return s, nil
}

func (gn *GenesisNode) node(s *State) (*Node, error) {
	op, err := ParseKey(gn.Operator)
	if err != nil {
		return nil, fmt.Errorf("operator: %w", err)
	}
	ed, err := ParseKey(gn.Ed25519)
	if err != nil {
		return nil, fmt.Errorf("pubkey_ed25519: %w", err)
	}
	x, err := ParseKey(gn.X25519)
	if err != nil {
		return nil, fmt.Errorf("pubkey_x25519: %w", err)
	}
	ip, err := ParseIPv4(gn.PublicIP)
	if err != nil {
		return nil, fmt.Errorf("public_ip: %w", err)
	}
	if s.nodes[ed] != nil {
		return nil, fmt.Errorf("duplicate pubkey_ed25519")
	}
	for _, o := range s.nodes {
		if o.X25519 == x {
			return nil, fmt.Errorf("duplicate pubkey_x25519")
		}
	}
	if x == ([32]byte{}) {
		return nil, fmt.Errorf("pubkey_x25519 is zero")
	}
	if err := s.checkEndpoint(ip, gn.StoragePort, ed); err != nil {
		return nil, err
	}
	if gn.FeeBps > FeeBasis {
		return nil, fmt.Errorf("fee_bps over %d", FeeBasis)
	}
	h := s.height + 1
	return &Node{
		Key:              ed,
		X25519:           x,
		IP:               ip,
		Port:             gn.StoragePort,
		Version:          gn.Version,
		Caps:             gn.Caps,
		Operator:         Address(op),
		FeeBps:           gn.FeeBps,
		Contributors:     []Contributor{{Addr: Address(op), Amount: s.params.StakingRequirement, Height: h}},
		Status:           StatusActive,
		RegisteredHeight: h,
		ActiveSince:      h,
		Credit:           s.params.CreditInitial,
		CreditHeight:     h,
		SwarmID:          swarm.UnassignedID,
	}, nil
}
