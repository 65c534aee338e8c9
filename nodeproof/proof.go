package nodeproof

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
)

// Endpoint is the storage RPC oxend_request endpoint, and the /json_rpc
// method, that answers a Proof.
const Endpoint = "sotto_service_nodes_proof"

// NodeJSON is one node of a proof as it travels.
type NodeJSON struct {
	Ed25519      string    `json:"pubkey_ed25519"`
	X25519       string    `json:"pubkey_x25519"`
	PublicIP     string    `json:"public_ip"`
	StoragePort  uint16    `json:"storage_port"`
	SwarmID      uint64    `json:"swarm_id"`
	State        uint8     `json:"state"`
	UnlockHeight uint64    `json:"requested_unlock_height"`
	Version      [3]uint16 `json:"version"`
	// Operator is the operator's ledger address in hex, as the ledger's
	// get_service_nodes "operator_address" gives it.
	Operator string `json:"operator_address"`
	Caps     uint32 `json:"capabilities"`
}

// ProofJSON is the answer of Endpoint: the node list at ledger height
// Height, the state hash at Height, and CometBFT's signed header of block
// Height+1 and its validator set, in CometBFT's JSON.
type ProofJSON struct {
	Height       uint64          `json:"height"`
	Nodes        []NodeJSON      `json:"nodes"`
	StateHash    string          `json:"state_hash"`
	SignedHeader json.RawMessage `json:"signed_header"`
	Validators   json.RawMessage `json:"validators"`
}

// ToJSON converts a node for a ProofJSON.
func (n *Node) ToJSON() NodeJSON {
	return NodeJSON{
		Ed25519: hex.EncodeToString(n.Ed25519[:]), X25519: hex.EncodeToString(n.X25519[:]),
		PublicIP: netip.AddrFrom4(n.IPv4).String(), StoragePort: n.Port, SwarmID: n.SwarmID,
		State: n.State, UnlockHeight: n.UnlockHeight, Version: n.Version,
		Operator: hex.EncodeToString(n.Operator[:]), Caps: n.Caps,
	}
}

func parseKey(name, s string) ([32]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return [32]byte{}, fmt.Errorf("%s %q: want 64 hex digits", name, s)
	}
	return [32]byte(b), nil
}

// Node decodes a node of a ProofJSON.
func (j *NodeJSON) Node() (Node, error) {
	ed, err := parseKey("pubkey_ed25519", j.Ed25519)
	if err != nil {
		return Node{}, err
	}
	x, err := parseKey("pubkey_x25519", j.X25519)
	if err != nil {
		return Node{}, err
	}
	ip, err := netip.ParseAddr(j.PublicIP)
	if err != nil || !ip.Is4() {
		return Node{}, fmt.Errorf("public_ip %q: want an IPv4 dotted quad", j.PublicIP)
	}
	if j.State < StateActive || j.State > StateUnlocking {
		return Node{}, fmt.Errorf("state %d", j.State)
	}
	op, err := parseKey("operator_address", j.Operator)
	if err != nil {
		return Node{}, err
	}
	return Node{Ed25519: ed, X25519: x, IPv4: ip.As4(), Port: j.StoragePort, SwarmID: j.SwarmID,
		State: j.State, UnlockHeight: j.UnlockHeight, Version: j.Version, Operator: op, Caps: j.Caps}, nil
}

// Proof is a decoded node-list proof.
type Proof struct {
	Height       uint64
	Nodes        []Node
	StateHash    [32]byte
	SignedHeader *SignedHeader
	Validators   []Validator
}

// Parse decodes a proof: every node, the signed header, the validators.
// It checks the shape only; Verify checks what it proves.
func Parse(b []byte) (*Proof, error) {
	var j ProofJSON
	if err := decodeStrict(b, &j); err != nil {
		return nil, fmt.Errorf("%w: proof: %v", ErrMalformed, err)
	}
	p := &Proof{Height: j.Height, Nodes: make([]Node, len(j.Nodes))}
	for i := range j.Nodes {
		n, err := j.Nodes[i].Node()
		if err != nil {
			return nil, fmt.Errorf("%w: node %d: %v", ErrMalformed, i, err)
		}
		p.Nodes[i] = n
	}
	if err := CheckSorted(p.Nodes); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	sh, err := parseKey("state_hash", j.StateHash)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	p.StateHash = sh
	if p.SignedHeader, err = ParseSignedHeader(j.SignedHeader); err != nil {
		return nil, err
	}
	if p.Validators, err = ParseValidators(j.Validators); err != nil {
		return nil, err
	}
	return p, nil
}

// Verify checks that the proof's node list is the one the ledger's
// validators committed: the header is block Height+1 of trust's chain,
// signed as VerifyHeader requires, and its app hash is
// AppHash(StateHash, NodeListHash(Nodes)).
func (p *Proof) Verify(trust *Trust) error {
	if p.Height == 0 || p.SignedHeader.Height() != int64(p.Height)+1 {
		return refused("header of height %d does not commit the state after height %d", p.SignedHeader.Height(), p.Height)
	}
	if err := VerifyHeader(trust, p.SignedHeader, p.Validators); err != nil {
		return err
	}
	want := AppHash(p.StateHash, NodeListHash(p.Nodes))
	if !bytes.Equal(p.SignedHeader.AppHash(), want[:]) {
		return refused("the app hash %X of block %d does not commit this node list (it would be %X)", p.SignedHeader.AppHash(), p.SignedHeader.Height(), want[:])
	}
	return nil
}

// ParseAndVerify is Parse then Verify.
func ParseAndVerify(b []byte, trust *Trust) (*Proof, error) {
	p, err := Parse(b)
	if err != nil {
		return nil, err
	}
	if err := p.Verify(trust); err != nil {
		return nil, err
	}
	return p, nil
}
