package ledger

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"

	"sotto.dev/ledger/state"
)

// The oxend RPC answers Session clients and storage servers expect: the
// service-node list (`get_n_service_nodes` at /json_rpc, and
// `get_service_nodes` through the storage RPC's oxend_request) and name
// lookups (`ons_resolve`). Field names and shapes follow oxend's
// get_service_nodes documentation (service-node-network.md §2.2, §5.7;
// session-protocol.md §3.7, §9).

// HardFork is the hard-fork version reported to clients (the Session
// Network generation, HF21); clients only compare it for feature checks.
const HardFork = 21

// ServiceNodesParams are the accepted parameters of get_n_service_nodes.
type ServiceNodesParams struct {
	// Fields selects the per-node fields: {"name": true, …} or
	// ["name", …]; absent or "all" means every field.
	Fields json.RawMessage `json:"fields,omitempty"`
	// ActiveOnly leaves out decommissioned and unfunded nodes.
	ActiveOnly bool `json:"active_only,omitempty"`
	// Limit > 0 returns that many nodes chosen at random; < 0 returns all,
	// shuffled.
	Limit int `json:"limit,omitempty"`
	// ServiceNodePubkeys restricts the answer to these nodes (hex).
	ServiceNodePubkeys []string `json:"service_node_pubkeys,omitempty"`
	// PollBlockHash: if it equals the current block hash, the answer is
	// {"unchanged": true} without nodes.
	PollBlockHash string `json:"poll_block_hash,omitempty"`
}

// ErrBadParams is wrapped by errors about malformed oxend parameters.
var ErrBadParams = errors.New("ledger: bad oxend request parameters")

// allFields are the per-node fields of get_service_nodes Sotto serves.
var allFields = []string{
	"service_node_pubkey", "pubkey_ed25519", "pubkey_x25519", "public_ip", "storage_port",
	"storage_https_port", "storage_lmq_port", "swarm_id", "swarm", "requested_unlock_height",
	"active", "funded", "state_height", "registration_height", "earned_downtime_blocks",
	"service_node_version", "storage_server_version", "contributors", "total_contributed",
	"staking_requirement", "operator_fee", "operator_address", "last_decommission_reason_consensus_all",
	"last_uptime_proof_height", "capabilities",
}

func parseFields(raw json.RawMessage) (map[string]bool, error) {
	all := func() map[string]bool {
		m := make(map[string]bool, len(allFields))
		for _, f := range allFields {
			m[f] = true
		}
		return m
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return all(), nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		m := map[string]bool{}
		for _, f := range list {
			switch {
			case f == "all":
				for k := range all() {
					m[k] = true
				}
			case len(f) > 1 && f[0] == '-':
				delete(m, f[1:])
			default:
				m[f] = true
			}
		}
		return m, nil
	}
	var dict map[string]bool
	if err := json.Unmarshal(raw, &dict); err != nil {
		return nil, fmt.Errorf("%w: fields must be a list or a {name: bool} object", ErrBadParams)
	}
	m := map[string]bool{}
	for k, v := range dict {
		if v {
			m[k] = true
		}
	}
	return m, nil
}

// ServiceNodes answers get_n_service_nodes / get_service_nodes from the
// node list at height with the given block hash (hex). The result is the
// "result" object of the JSON-RPC answer.
func ServiceNodes(params json.RawMessage, height uint64, blockHash string, nodes []NodeInfo) (map[string]any, error) {
	var p ServiceNodesParams
	if len(bytes.TrimSpace(params)) > 0 && string(bytes.TrimSpace(params)) != "null" {
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadParams, err)
		}
	}
	fields, err := parseFields(p.Fields)
	if err != nil {
		return nil, err
	}
	res := map[string]any{"status": "OK", "height": height, "block_hash": blockHash, "hardfork": HardFork, "snode_revision": 0}
	if p.PollBlockHash != "" {
		if p.PollBlockHash == blockHash {
			res["unchanged"] = true
			return res, nil
		}
		res["unchanged"] = false
	}
	want := map[string]bool{}
	for _, k := range p.ServiceNodePubkeys {
		want[k] = true
	}
	var sel []NodeInfo
	for _, n := range nodes {
		if !n.Funded || (p.ActiveOnly && !n.Active) || (len(want) > 0 && !want[n.Ed25519]) {
			continue
		}
		sel = append(sel, n)
	}
	if p.Limit != 0 {
		var seed [32]byte
		_, _ = crand.Read(seed[:]) // never fails (crypto/rand panics instead)
		r := rand.New(rand.NewChaCha8(seed))
		r.Shuffle(len(sel), func(i, j int) { sel[i], sel[j] = sel[j], sel[i] })
		if p.Limit > 0 && p.Limit < len(sel) {
			sel = sel[:p.Limit]
		}
	}
	states := make([]map[string]any, 0, len(sel))
	for _, n := range sel {
		states = append(states, nodeFields(&n, fields))
	}
	res["service_node_states"] = states
	return res, nil
}

func nodeFields(n *NodeInfo, f map[string]bool) map[string]any {
	m := map[string]any{}
	set := func(k string, v any) {
		if f[k] {
			m[k] = v
		}
	}
	set("service_node_pubkey", n.Ed25519)
	set("pubkey_ed25519", n.Ed25519)
	set("pubkey_x25519", n.X25519)
	set("public_ip", n.PublicIP)
	set("storage_port", n.StoragePort)
	set("storage_https_port", n.StoragePort)
	set("storage_lmq_port", n.StoragePort)
	set("swarm_id", n.SwarmID)
	set("swarm", fmt.Sprintf("%016x", n.SwarmID))
	set("requested_unlock_height", n.RequestedUnlockHeight)
	set("active", n.Active)
	set("funded", n.Funded)
	set("state_height", n.StateHeight)
	set("registration_height", n.RegistrationHeight)
	set("earned_downtime_blocks", n.EarnedDowntimeBlocks)
	set("service_node_version", n.Version)
	set("storage_server_version", n.Version)
	set("total_contributed", n.TotalContributed)
	set("staking_requirement", n.StakingRequirement)
	// oxend reports the fee in thousandths of a percent.
	set("operator_fee", uint64(n.OperatorFeeBps)*10)
	// oxend's operator_address is "The wallet address of the Service Node
	// operator" (oxen-core src/rpc/core_rpc_server_commands_defs.h,
	// GET_SERVICE_NODES): a string. Sotto's is the operator's ledger
	// account, 64 lowercase hex digits (state.Address); "" when the node
	// list does not say (a genesis file without operators). Clients keep
	// two nodes of one operator off one path (client/path Node.Operator).
	set("operator_address", n.OperatorAddress)
	// capabilities is Sotto's own: the capability bits of the node's last
	// uptime proof (onion.CapSottoOnion).
	set("capabilities", n.Caps)
	set("last_decommission_reason_consensus_all", n.DecommissionReason)
	set("last_uptime_proof_height", n.LastProofHeight)
	if f["contributors"] {
		cs := make([]map[string]any, 0, len(n.Contributors))
		for _, c := range n.Contributors {
			e := map[string]any{"address": c.Address, "amount": c.Amount}
			if c.Reserved > 0 {
				e["reserved"] = c.Reserved
			}
			cs = append(cs, e)
		}
		m["contributors"] = cs
	}
	return m
}

// SnapshotInfos turns a View snapshot into node infos for ServiceNodes,
// so that a node can answer the bootstrap request from its View alone.
// Only the fields a snapshot holds are filled.
func SnapshotInfos(s *Snapshot) []NodeInfo {
	out := make([]NodeInfo, 0, len(s.Nodes))
	for _, n := range s.Nodes {
		out = append(out, NodeInfo{
			Ed25519:               hex.EncodeToString(n.Ed25519[:]),
			X25519:                hex.EncodeToString(n.X25519[:]),
			PublicIP:              n.PublicIP,
			StoragePort:           n.StoragePort,
			SwarmID:               n.SwarmID,
			State:                 n.State.String(),
			Active:                n.State == StateActive || n.State == StateUnlocking,
			Funded:                n.State != StateDeregistered,
			RequestedUnlockHeight: n.RequestedUnlockHeight,
			Version:               n.Version,
			Caps:                  n.Caps,
			OperatorAddress:       operatorString(n.Operator),
		})
	}
	return out
}

// operatorString is a node's operator_address: "" for an unknown (zero)
// operator.
func operatorString(a state.Address) string {
	if a == (state.Address{}) {
		return ""
	}
	return a.String()
}

// ONSResolveParams are the parameters of ons_resolve.
type ONSResolveParams struct {
	Type     int    `json:"type"`
	NameHash string `json:"name_hash"`
}

// ParseNameHash accepts a name hash as Session sends it (base64, standard
// or URL alphabet, padded or not) or as 64 hex digits.
func ParseNameHash(s string) (state.NameHash, error) {
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return state.NameHash(b), nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return state.NameHash(b), nil
		}
	}
	return state.NameHash{}, fmt.Errorf("%w: name_hash %q is not 32 bytes of base64 or hex", ErrBadParams, s)
}

// ONSResolve answers ons_resolve: {"encrypted_value": hex, "nonce": hex}
// for a registered Session name (type 0), or an empty object when there is
// none, as oxend does.
func ONSResolve(ctx context.Context, params json.RawMessage, lookup func(context.Context, state.NameHash) (*NameInfo, error)) (map[string]any, error) {
	var p ONSResolveParams
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadParams, err)
	}
	if p.Type != 0 {
		return nil, fmt.Errorf("%w: name type %d (only 0, Session, exists)", ErrBadParams, p.Type)
	}
	h, err := ParseNameHash(p.NameHash)
	if err != nil {
		return nil, err
	}
	ni, err := lookup(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"encrypted_value": ni.EncryptedValue, "nonce": ni.Nonce}, nil
}

// OxendRequest answers a storage RPC oxend_request: endpoint
// "get_service_nodes" (or "get_n_service_nodes") and "ons_resolve". It
// returns the "result" object.
func (c *Client) OxendRequest(ctx context.Context, endpoint string, params json.RawMessage) (map[string]any, error) {
	switch endpoint {
	case "get_service_nodes", "get_n_service_nodes":
		st, err := c.Status(ctx)
		if err != nil {
			return nil, err
		}
		nodes, err := c.Nodes(ctx)
		if err != nil {
			return nil, err
		}
		return ServiceNodes(params, st.Height, st.BlockHash, nodes)
	case "ons_resolve":
		return ONSResolve(ctx, params, c.Name)
	}
	return nil, fmt.Errorf("%w: unknown endpoint %s", ErrBadParams, strconv.Quote(endpoint))
}
