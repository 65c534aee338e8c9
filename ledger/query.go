package ledger

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"sotto.dev/key"
	"sotto.dev/ledger/state"
)

// ABCI query paths. Data is the raw key (32 bytes) or, for QuerySwarm, the
// swarm id as 8 big-endian bytes. Answers are JSON.
const (
	QueryStatus  = "/status"  // Status
	QueryAccount = "/account" // AccountInfo
	QueryNode    = "/node"    // NodeInfo
	QueryNodes   = "/nodes"   // []NodeInfo, every registration
	QuerySwarm   = "/swarm"   // []NodeInfo, the members of a swarm
	QueryName    = "/name"    // NameInfo
	QueryQuorums = "/quorums" // []QuorumInfo, the open quorums
	// QueryNodeList answers NodeList: the serving nodes with the height
	// and state hash they belong to, read from one committed state.
	QueryNodeList = "/nodelist"
	// QueryFileServers answers FileServerList: the listed file servers
	// (state.FileServers) at one height.
	QueryFileServers = "/fileservers"
	// QueryCommunities answers CommunityList: the listed community
	// servers (state.Communities) at one height.
	QueryCommunities = "/communities"
)

// NodeList is the serving node list at one height, with the state hash
// that, with the list's hash, makes the app hash (docs/nodeproof.md).
type NodeList struct {
	Height    uint64     `json:"height"`
	StateHash string     `json:"state_hash"`
	Nodes     []NodeInfo `json:"nodes"`
}

// Status is the ledger summary.
type Status struct {
	ChainID     string       `json:"chain_id"`
	Height      uint64       `json:"height"`
	BlockHash   string       `json:"block_hash"`
	AppHash     string       `json:"app_hash"`
	StateHash   string       `json:"state_hash"`
	Pool        uint64       `json:"pool"`
	Supply      uint64       `json:"supply"`
	Active      int          `json:"active_nodes"`
	Decomm      int          `json:"decommissioned_nodes"`
	Awaiting    int          `json:"awaiting_nodes"`
	Swarms      int          `json:"swarms"`
	BlockReward uint64       `json:"block_reward"`
	Params      state.Params `json:"params"`
}

// AccountInfo is an account's balance and next nonce.
type AccountInfo struct {
	Address string `json:"address"`
	Balance uint64 `json:"balance"`
	Nonce   uint64 `json:"nonce"`
}

// ContributorInfo is one staker of a node.
type ContributorInfo struct {
	Address  string `json:"address"`
	Amount   uint64 `json:"amount"`
	Reserved uint64 `json:"reserved,omitempty"`
}

// NodeInfo is a registration as the ledger reports it. The field names are
// those of oxend's get_service_nodes where one exists.
type NodeInfo struct {
	Ed25519               string            `json:"pubkey_ed25519"`
	X25519                string            `json:"pubkey_x25519"`
	PublicIP              string            `json:"public_ip"`
	StoragePort           uint16            `json:"storage_port"`
	SwarmID               uint64            `json:"swarm_id"`
	State                 string            `json:"state"`
	Active                bool              `json:"active"`
	Funded                bool              `json:"funded"`
	RequestedUnlockHeight uint64            `json:"requested_unlock_height"`
	RegistrationHeight    uint64            `json:"registration_height"`
	StateHeight           uint64            `json:"state_height"`
	LastProofHeight       uint64            `json:"last_uptime_proof_height"`
	EarnedDowntimeBlocks  int64             `json:"earned_downtime_blocks"`
	DecommissionReason    uint8             `json:"last_decommission_reason,omitempty"`
	StakeReturnHeight     uint64            `json:"stake_return_height,omitempty"`
	Version               [3]uint16         `json:"service_node_version"`
	OperatorAddress       string            `json:"operator_address"`
	OperatorFeeBps        uint16            `json:"operator_fee_bps"`
	Contributors          []ContributorInfo `json:"contributors"`
	TotalContributed      uint64            `json:"total_contributed"`
	StakingRequirement    uint64            `json:"staking_requirement"`
	Caps                  uint32            `json:"capabilities"` // of the last uptime proof; Sotto's own field
}

// NameInfo is an ONS registration: the value is returned encrypted, as
// ons_resolve does.
type NameInfo struct {
	NameHash       string `json:"name_hash"`
	Owner          string `json:"owner"`
	EncryptedValue string `json:"encrypted_value"`
	Nonce          string `json:"nonce"`
	ExpiryHeight   uint64 `json:"expiration_height"`
}

// QuorumInfo is an open obligation quorum.
type QuorumInfo struct {
	Height     uint64   `json:"height"`
	Validators []string `json:"validators"`
	Workers    []string `json:"workers"`
	Voted      []bool   `json:"voted"`
}

// nodeInfo converts a registration at height h.
func nodeInfo(st *state.State, n *state.Node) NodeInfo {
	p := st.Params()
	ni := NodeInfo{
		Ed25519:            n.Key.String(),
		X25519:             n.X25519.String(),
		PublicIP:           n.IP.String(),
		StoragePort:        n.Port,
		SwarmID:            n.SwarmID,
		State:              n.Status.String(),
		Active:             n.Status == state.StatusActive,
		Funded:             n.Status == state.StatusActive || n.Status == state.StatusDecommissioned,
		RegistrationHeight: n.RegisteredHeight,
		LastProofHeight:    n.LastProof,
		Version:            n.Version,
		Caps:               n.Caps,
		OperatorAddress:    n.Operator.String(),
		OperatorFeeBps:     n.FeeBps,
		TotalContributed:   n.Staked(),
		StakingRequirement: p.StakingRequirement,
	}
	if ni.Funded {
		ni.RequestedUnlockHeight = n.UnlockHeight
		ni.EarnedDowntimeBlocks = st.Credit(n)
		if n.Status == state.StatusActive && n.UnlockHeight != 0 {
			ni.State = StateUnlocking.String()
		}
	}
	switch n.Status {
	case state.StatusActive:
		ni.StateHeight = n.ActiveSince
	case state.StatusDecommissioned:
		ni.StateHeight = n.DecommHeight
		ni.DecommissionReason = n.DecommReason
	case state.StatusDeregistered:
		ni.StakeReturnHeight = n.ReturnHeight
		ni.DecommissionReason = n.DecommReason
	default:
		ni.StateHeight = n.RegisteredHeight
	}
	for _, c := range n.Contributors {
		ni.Contributors = append(ni.Contributors, ContributorInfo{Address: c.Addr.String(), Amount: c.Amount, Reserved: c.Reserved})
	}
	return ni
}

func key32(data []byte) ([32]byte, error) {
	if len(data) != 32 {
		return [32]byte{}, &state.TxError{Code: state.CodeInvalid, Msg: fmt.Sprintf("query key of %d bytes, want 32", len(data))}
	}
	return [32]byte(data), nil
}

// answer serves one query from a committed state.
func answer(c *committed, path string, data []byte) ([]byte, error) {
	st := c.st
	var v any
	switch path {
	case QueryStatus:
		v = status(c)
	case QueryAccount:
		k, err := key32(data)
		if err != nil {
			return nil, err
		}
		a := st.Account(state.Address(k))
		v = AccountInfo{Address: state.Address(k).String(), Balance: a.Balance, Nonce: a.Nonce}
	case QueryNode:
		k, err := key32(data)
		if err != nil {
			return nil, err
		}
		n, ok := st.Node(key.NodePublic(k))
		if !ok {
			return nil, &state.TxError{Code: state.CodeUnknownNode, Msg: "node is not registered"}
		}
		v = nodeInfo(st, &n)
	case QueryNodes:
		nodes := st.Nodes()
		out := make([]NodeInfo, len(nodes))
		for i := range nodes {
			out[i] = nodeInfo(st, &nodes[i])
		}
		v = out
	case QueryNodeList:
		out := NodeList{Height: c.height, StateHash: hex.EncodeToString(c.stateHash[:]), Nodes: []NodeInfo{}}
		for _, n := range st.Nodes() {
			if n.Status == state.StatusActive {
				out.Nodes = append(out.Nodes, nodeInfo(st, &n))
			}
		}
		v = out
	case QueryFileServers:
		v = fileServerList(c.height, st)
	case QueryCommunities:
		v = communityList(c.height, st)
	case QuerySwarm:
		if len(data) != 8 {
			return nil, &state.TxError{Code: state.CodeInvalid, Msg: "swarm id must be 8 bytes"}
		}
		out := []NodeInfo{}
		for _, k := range st.SwarmMembers(binary.BigEndian.Uint64(data)) {
			n, _ := st.Node(k)
			out = append(out, nodeInfo(st, &n))
		}
		v = out
	case QueryName:
		k, err := key32(data)
		if err != nil {
			return nil, err
		}
		n, ok := st.Name(state.NameHash(k))
		if !ok {
			return nil, &state.TxError{Code: state.CodeUnknownName, Msg: "name is not registered"}
		}
		v = NameInfo{NameHash: hex.EncodeToString(k[:]), Owner: n.Owner.String(),
			EncryptedValue: hex.EncodeToString(n.Value), Nonce: hex.EncodeToString(n.ValueNonce[:]), ExpiryHeight: n.Expiry}
	case QueryQuorums:
		v = quorums(st)
	default:
		return nil, &state.TxError{Code: state.CodeInvalid, Msg: fmt.Sprintf("unknown query path %q", path)}
	}
	return json.Marshal(v)
}

// status is the answer of QueryStatus.
func status(c *committed) Status {
	st := c.st
	s := Status{
		ChainID:   st.ChainID(),
		Height:    c.height,
		BlockHash: hex.EncodeToString(c.blockHash),
		AppHash:   hex.EncodeToString(c.appHash[:]),
		StateHash: hex.EncodeToString(c.stateHash[:]),
		Pool:      st.Pool(),
		Supply:    st.Supply(),
		Params:    st.Params(),
	}
	p := st.Params()
	s.BlockReward = state.BlockReward(&p, st.Pool())
	swarms := map[uint64]bool{}
	for _, n := range st.Nodes() {
		switch n.Status {
		case state.StatusActive:
			s.Active++
			swarms[n.SwarmID] = true
		case state.StatusDecommissioned:
			s.Decomm++
		case state.StatusAwaiting:
			s.Awaiting++
		}
	}
	s.Swarms = len(swarms)
	return s
}

// quorums is the answer of QueryQuorums.
func quorums(st *state.State) []QuorumInfo {
	out := []QuorumInfo{}
	for _, q := range st.Quorums() {
		qi := QuorumInfo{Height: q.Height, Voted: q.Voted}
		for _, k := range q.Validators {
			qi.Validators = append(qi.Validators, k.String())
		}
		for _, k := range q.Workers {
			qi.Workers = append(qi.Workers, k.String())
		}
		out = append(out, qi)
	}
	return out
}
