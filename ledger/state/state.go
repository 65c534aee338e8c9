package state

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"

	"sotto.dev/key"
	"sotto.dev/swarm"
)

// Account is an account's balance and next nonce.
type Account struct {
	Balance uint64
	Nonce   uint64
}

// NodeStatus is a registration's place in its life cycle. An unlocking node
// is Active (or Decommissioned) with a non-zero UnlockHeight.
type NodeStatus uint8

// Node statuses.
const (
	// StatusAwaiting: registered, waiting for the rest of its stake.
	StatusAwaiting NodeStatus = iota + 1
	// StatusActive: fully staked, in a swarm, earning.
	StatusActive
	// StatusDecommissioned: failing; out of its swarm, earning nothing,
	// spending credit.
	StatusDecommissioned
	// StatusDeregistered: removed from the network; its stake is locked
	// until ReturnHeight.
	StatusDeregistered
)

func (s NodeStatus) String() string {
	switch s {
	case StatusAwaiting:
		return "awaiting_contributions"
	case StatusActive:
		return "active"
	case StatusDecommissioned:
		return "decommissioned"
	case StatusDeregistered:
		return "deregistered"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Contributor is one staker of a node. The operator is always first.
type Contributor struct {
	Addr Address
	// Amount staked so far.
	Amount uint64
	// Reserved is the amount a reserved contributor still has to stake
	// (0 once paid, and for open contributors).
	Reserved uint64
	// Height of the contributor's latest contribution.
	Height uint64
}

// Node is a service-node registration.
type Node struct {
	Key      key.NodePublic
	X25519   key.OnionPublic
	IP       IPv4
	Port     uint16
	Version  [3]uint16
	Caps     uint32 // capability bits of the last uptime proof (or the genesis entry)
	Operator Address
	FeeBps   uint16
	// Contributors[0] is the operator.
	Contributors []Contributor
	Status       NodeStatus
	// RegisteredHeight is when the registration transaction was accepted.
	RegisteredHeight uint64
	// ActiveSince is when the node last became active (registration
	// completed or recommission); rewards start PayableAfter later.
	ActiveSince uint64
	// LastProof is the height of the last accepted uptime proof (0: none).
	LastProof uint64
	// Credit (in blocks) as of CreditHeight while active; as of
	// DecommHeight while decommissioned.
	Credit       uint64
	CreditHeight uint64
	DecommHeight uint64
	// DecommReason holds the failure flags of the last decommission
	// (Fail* bits, or ReasonMissedProof).
	DecommReason uint8
	// UnlockHeight is when the stake is returned (0: no unlock asked).
	UnlockHeight uint64
	// ReturnHeight is when a deregistered node's stake is returned.
	ReturnHeight uint64
	// SwarmID is the node's swarm (swarm.UnassignedID when in none).
	SwarmID uint64
}

// ReasonMissedProof is the decommission reason for a node whose last uptime
// proof is too old (decided by the ledger itself, without votes).
const ReasonMissedProof uint8 = 1 << 6

// Staked returns the total staked amount.
func (n *Node) Staked() uint64 {
	var t uint64
	for _, c := range n.Contributors {
		t += c.Amount
	}
	return t
}

func (n *Node) contributor(a Address) int {
	for i, c := range n.Contributors {
		if c.Addr == a {
			return i
		}
	}
	return -1
}

func (n *Node) clone() *Node {
	c := *n
	c.Contributors = slices.Clone(n.Contributors)
	return &c
}

// Name is an ONS registration.
type Name struct {
	Owner      Address
	Value      []byte
	ValueNonce [24]byte
	// Expiry is the first height at which the name is free again.
	Expiry uint64
}

// Quorum is an obligation quorum: Validators test Workers and vote.
type Quorum struct {
	Height     uint64
	Validators []key.NodePublic
	Workers    []key.NodePublic
	// Per validator: whether it voted.
	Voted []bool
	// Per worker: passing and failing votes, union of failure flags, and
	// whether the outcome was applied.
	Pass    []uint16
	Fail    []uint16
	Reasons []uint8
	Decided []bool
}

func (q *Quorum) clone() *Quorum {
	c := *q
	c.Validators = slices.Clone(q.Validators)
	c.Workers = slices.Clone(q.Workers)
	c.Voted = slices.Clone(q.Voted)
	c.Pass = slices.Clone(q.Pass)
	c.Fail = slices.Clone(q.Fail)
	c.Reasons = slices.Clone(q.Reasons)
	c.Decided = slices.Clone(q.Decided)
	return &c
}

// Needed returns how many agreeing votes decide a worker's fate: the
// QuorumMinVotes/QuorumSize proportion of the validators, rounded up.
func (q *Quorum) Needed(p *Params) int {
	n := (len(q.Validators)*p.QuorumMinVotes + p.QuorumSize - 1) / p.QuorumSize
	return max(n, 1)
}

// State is the whole ledger state. It is not safe for concurrent use;
// Clone gives an independent copy for readers.
type State struct {
	chainID  string
	params   Params
	height   uint64
	pool     uint64
	accounts map[Address]*Account
	nodes    map[key.NodePublic]*Node
	names    map[NameHash]*Name
	quorums  []*Quorum // ascending height
	// fileServers are the file server registrations (fileserver.go).
	fileServers map[key.FileServerPublic]*FileServer
	// communities are the community server registrations (community.go).
	communities map[key.FileServerPublic]*Community

	// Per block, not part of the state.
	inBlock   bool
	blockHash [32]byte
	dirty     bool // the active set changed: recompute swarms
	changes   []Change
}

// ChangeKind says what happened to a node.
type ChangeKind uint8

// Node changes reported by End.
const (
	ChangeActivated ChangeKind = iota + 1
	ChangeDecommissioned
	ChangeRecommissioned
	ChangeDeregistered
	ChangeUnlocked      // stake returned after an unlock
	ChangeStakeReturned // stake returned after the deregistration lock
	ChangeExpired       // registration cancelled or expired unfunded
	ChangeSwarm         // moved to another swarm
)

func (k ChangeKind) String() string {
	switch k {
	case ChangeActivated:
		return "activated"
	case ChangeDecommissioned:
		return "decommissioned"
	case ChangeRecommissioned:
		return "recommissioned"
	case ChangeDeregistered:
		return "deregistered"
	case ChangeUnlocked:
		return "unlocked"
	case ChangeStakeReturned:
		return "stake_returned"
	case ChangeExpired:
		return "registration_expired"
	case ChangeSwarm:
		return "swarm_changed"
	}
	return fmt.Sprintf("change(%d)", uint8(k))
}

// Change is one node event of a block.
type Change struct {
	Node key.NodePublic
	Kind ChangeKind
	// Reason carries failure flags for ChangeDecommissioned and
	// ChangeDeregistered; Swarm the new swarm for ChangeSwarm.
	Reason uint8
	Swarm  uint64
}

// ChainID returns the network's chain id.
func (s *State) ChainID() string { return s.chainID }

// Params returns the rules.
func (s *State) Params() Params { return s.params }

// Height returns the height of the last block applied (the block in
// progress between Begin and End).
func (s *State) Height() uint64 { return s.height }

// Pool returns the reward pool balance.
func (s *State) Pool() uint64 { return s.pool }

// Account returns an account (zero if it never existed).
func (s *State) Account(a Address) Account {
	if acc := s.accounts[a]; acc != nil {
		return *acc
	}
	return Account{}
}

// Accounts returns every account, sorted by address.
func (s *State) Accounts() []AccountEntry {
	out := make([]AccountEntry, 0, len(s.accounts))
	for _, a := range sortedKeys(s.accounts) {
		out = append(out, AccountEntry{Address: a, Account: *s.accounts[a]})
	}
	return out
}

// AccountEntry is an account and its address.
type AccountEntry struct {
	Address Address
	Account
}

// Node returns a copy of a registration.
func (s *State) Node(k key.NodePublic) (Node, bool) {
	n := s.nodes[k]
	if n == nil {
		return Node{}, false
	}
	return *n.clone(), true
}

// Nodes returns copies of every registration, sorted by key.
func (s *State) Nodes() []Node {
	out := make([]Node, 0, len(s.nodes))
	for _, k := range sortedKeys(s.nodes) {
		out = append(out, *s.nodes[k].clone())
	}
	return out
}

// Name returns a name registration that has not expired.
func (s *State) Name(h NameHash) (Name, bool) {
	n := s.names[h]
	if n == nil || n.Expiry <= s.height {
		return Name{}, false
	}
	c := *n
	c.Value = slices.Clone(n.Value)
	return c, true
}

// Quorums returns copies of the open quorums, oldest first.
func (s *State) Quorums() []Quorum {
	out := make([]Quorum, len(s.quorums))
	for i, q := range s.quorums {
		out[i] = *q.clone()
	}
	return out
}

// Credit returns a node's decommission credit at the current height, in
// blocks; negative once a decommissioned node has used it all up.
func (s *State) Credit(n *Node) int64 {
	return s.creditAt(n, s.height)
}

func (s *State) creditAt(n *Node, h uint64) int64 {
	switch n.Status {
	case StatusActive:
		earned := (h - n.CreditHeight) * s.params.CreditPerDay / s.params.BlocksPerDay
		return int64(min(n.Credit+earned, s.params.CreditMax))
	case StatusDecommissioned:
		return int64(n.Credit) - int64(h-n.DecommHeight)
	}
	return 0
}

// Supply returns every coin the ledger holds: balances, the pool and all
// stakes (locked, staked or awaiting). No transaction or block changes it.
func (s *State) Supply() uint64 {
	t := s.pool
	for _, a := range s.accounts {
		t += a.Balance
	}
	for _, n := range s.nodes {
		t += n.Staked()
	}
	return t
}

// SwarmMembers returns the keys of the nodes in swarm id, sorted.
func (s *State) SwarmMembers(id uint64) []key.NodePublic {
	var out []key.NodePublic
	if id == swarm.UnassignedID {
		return nil
	}
	for _, k := range sortedKeys(s.nodes) {
		if s.nodes[k].SwarmID == id {
			out = append(out, k)
		}
	}
	return out
}

// Clone returns an independent copy of the state (without the block in
// progress).
func (s *State) Clone() *State {
	c := &State{
		chainID:  s.chainID,
		params:   s.params,
		height:   s.height,
		pool:     s.pool,
		accounts: make(map[Address]*Account, len(s.accounts)),
		nodes:    make(map[key.NodePublic]*Node, len(s.nodes)),
		names:    make(map[NameHash]*Name, len(s.names)),
		quorums:  make([]*Quorum, len(s.quorums)),

		fileServers: make(map[key.FileServerPublic]*FileServer, len(s.fileServers)),
		communities: make(map[key.FileServerPublic]*Community, len(s.communities)),
	}
	for k, fs := range s.fileServers {
		c.fileServers[k] = new(FileServer)
		*c.fileServers[k] = *fs
	}
	for k, cs := range s.communities {
		c.communities[k] = cs.clone()
	}
	for k, a := range s.accounts {
		ac := *a
		c.accounts[k] = &ac
	}
	for k, n := range s.nodes {
		c.nodes[k] = n.clone()
	}
	for k, n := range s.names {
		nc := *n
		nc.Value = slices.Clone(n.Value)
		c.names[k] = &nc
	}
	for i, q := range s.quorums {
		c.quorums[i] = q.clone()
	}
	return c
}

func sortedKeys[K ~[32]byte, V any](m map[K]V) []K {
	ks := slices.Collect(maps.Keys(m))
	slices.SortFunc(ks, func(a, b K) int { return bytes.Compare(a[:], b[:]) })
	return ks
}

// stateVersion is the first byte of the state encoding. Version 2 added
// the fee and transaction lifetime parameters; version 3 the nodes'
// capability bits.
const stateVersion = 3

// Encode returns the canonical encoding of the state: every map in key
// order, so equal states encode to equal bytes on every node.
func (s *State) Encode() []byte {
	size := 512 + 48*len(s.accounts) + 256*len(s.nodes) + 128*len(s.names)
	for _, q := range s.quorums {
		size += 16 + 33*len(q.Validators) + 38*len(q.Workers)
	}
	w := &writer{b: make([]byte, 0, size)}
	w.u8(stateVersion)
	w.str8(s.chainID)
	s.params.encode(w)
	w.u64(s.height)
	w.u64(s.pool)
	w.u32(uint32(len(s.accounts)))
	for _, k := range sortedKeys(s.accounts) {
		a := s.accounts[k]
		w.raw(k[:])
		w.u64(a.Balance)
		w.u64(a.Nonce)
	}
	w.u32(uint32(len(s.nodes)))
	for _, k := range sortedKeys(s.nodes) {
		s.nodes[k].encode(w)
	}
	w.u32(uint32(len(s.names)))
	for _, k := range sortedKeys(s.names) {
		n := s.names[k]
		w.raw(k[:])
		w.raw(n.Owner[:])
		w.bytes16(n.Value)
		w.raw(n.ValueNonce[:])
		w.u64(n.Expiry)
	}
	w.u32(uint32(len(s.quorums)))
	for _, q := range s.quorums {
		q.encode(w)
	}
	s.encodeFileServers(w)
	s.encodeCommunities(w)
	return w.b
}

// Hash returns the app hash: AppHash(StateHash(), NodeListHash()).
func (s *State) Hash() [32]byte { return AppHash(HashEncoding(s.Encode()), s.NodeListHash()) }

// StateHash returns SHA-256(StateHashLabel ‖ 0x00 ‖ Encode()).
func (s *State) StateHash() [32]byte { return HashEncoding(s.Encode()) }

// HashEncoding returns the state hash of a state encoding (so that a
// caller that also stores the encoding computes it once).
func HashEncoding(enc []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(StateHashLabel))
	h.Write([]byte{0})
	h.Write(enc)
	return [32]byte(h.Sum(nil))
}

// AppHash is the app hash CometBFT records: SHA-256(AppHashLabel ‖ state
// hash ‖ node-list hash). The node-list hash lets a client check a node
// list against a signed header without the state (docs/nodeproof.md).
func AppHash(stateHash, nodeListHash [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(AppHashLabel))
	h.Write(stateHash[:])
	h.Write(nodeListHash[:])
	return [32]byte(h.Sum(nil))
}

// Node states as the node list commits them (the values of ledger.NodeState
// and nodeproof's states).
const (
	listStateActive    = 1
	listStateUnlocking = 4
)

// NodeListHash hashes the serving node list, the one clients see: every
// active node (unlocking ones included), sorted by key, each as key ‖
// X25519 ‖ IPv4 ‖ port u16 ‖ swarm id u64 ‖ state u8 (1 active, 4
// unlocking) ‖ unlock height u64 ‖ version 3×u16 ‖ operator ‖ caps u32,
// after NodeListLabel ‖ 0x00 ‖ count u32 (docs/nodeproof.md).
func (s *State) NodeListHash() [32]byte {
	keys := sortedKeys(s.nodes)
	count := 0
	for _, k := range keys {
		if s.nodes[k].Status == StatusActive {
			count++
		}
	}
	h := sha256.New()
	h.Write([]byte(NodeListLabel))
	h.Write([]byte{0})
	w := &writer{}
	w.u32(uint32(count))
	h.Write(w.b)
	for _, k := range keys {
		n := s.nodes[k]
		if n.Status != StatusActive {
			continue
		}
		w.b = w.b[:0]
		w.raw(n.Key[:])
		w.raw(n.X25519[:])
		w.raw(n.IP[:])
		w.u16(n.Port)
		w.u64(n.SwarmID)
		if n.UnlockHeight != 0 {
			w.u8(listStateUnlocking)
		} else {
			w.u8(listStateActive)
		}
		w.u64(n.UnlockHeight)
		for _, v := range n.Version {
			w.u16(v)
		}
		w.raw(n.Operator[:])
		w.u32(n.Caps)
		h.Write(w.b)
	}
	return [32]byte(h.Sum(nil))
}

func (n *Node) encode(w *writer) {
	w.raw(n.Key[:])
	w.raw(n.X25519[:])
	w.raw(n.IP[:])
	w.u16(n.Port)
	for _, v := range n.Version {
		w.u16(v)
	}
	w.u32(n.Caps)
	w.raw(n.Operator[:])
	w.u16(n.FeeBps)
	w.u32(uint32(len(n.Contributors)))
	for _, c := range n.Contributors {
		w.raw(c.Addr[:])
		w.u64(c.Amount)
		w.u64(c.Reserved)
		w.u64(c.Height)
	}
	w.u8(uint8(n.Status))
	w.u64(n.RegisteredHeight)
	w.u64(n.ActiveSince)
	w.u64(n.LastProof)
	w.u64(n.Credit)
	w.u64(n.CreditHeight)
	w.u64(n.DecommHeight)
	w.u8(n.DecommReason)
	w.u64(n.UnlockHeight)
	w.u64(n.ReturnHeight)
	w.u64(n.SwarmID)
}

func (n *Node) decode(r *reader, maxContrib int) {
	r.array("node.key", n.Key[:])
	r.array("node.x25519", n.X25519[:])
	r.array("node.ip", n.IP[:])
	n.Port = r.u16("node.port")
	for i := range n.Version {
		n.Version[i] = r.u16("node.version")
	}
	n.Caps = r.u32("node.caps")
	r.array("node.operator", n.Operator[:])
	n.FeeBps = r.u16("node.fee")
	cnt := r.count("node.contributors", maxContrib, 56)
	for range cnt {
		var c Contributor
		r.array("contributor.addr", c.Addr[:])
		c.Amount = r.u64("contributor.amount")
		c.Reserved = r.u64("contributor.reserved")
		c.Height = r.u64("contributor.height")
		n.Contributors = append(n.Contributors, c)
	}
	n.Status = NodeStatus(r.u8("node.status"))
	n.RegisteredHeight = r.u64("node.registered")
	n.ActiveSince = r.u64("node.active_since")
	n.LastProof = r.u64("node.last_proof")
	n.Credit = r.u64("node.credit")
	n.CreditHeight = r.u64("node.credit_height")
	n.DecommHeight = r.u64("node.decomm_height")
	n.DecommReason = r.u8("node.decomm_reason")
	n.UnlockHeight = r.u64("node.unlock_height")
	n.ReturnHeight = r.u64("node.return_height")
	n.SwarmID = r.u64("node.swarm")
	if r.err != nil {
		return
	}
	switch {
	case n.Status < StatusAwaiting || n.Status > StatusDeregistered:
		r.fail("node.status", fmt.Sprintf("unknown status %d", n.Status))
	case len(n.Contributors) == 0 || n.Contributors[0].Addr != n.Operator:
		r.fail("node.contributors", "operator is not the first contributor")
	case n.FeeBps > FeeBasis:
		r.fail("node.fee", "over 10000")
	}
}

func (q *Quorum) encode(w *writer) {
	w.u64(q.Height)
	w.u32(uint32(len(q.Validators)))
	for i, k := range q.Validators {
		w.raw(k[:])
		w.boolean(q.Voted[i])
	}
	w.u32(uint32(len(q.Workers)))
	for i, k := range q.Workers {
		w.raw(k[:])
		w.u16(q.Pass[i])
		w.u16(q.Fail[i])
		w.u8(q.Reasons[i])
		w.boolean(q.Decided[i])
	}
}

func (q *Quorum) decode(r *reader) {
	q.Height = r.u64("quorum.height")
	nv := r.count("quorum.validators", 255, 33)
	for range nv {
		var k key.NodePublic
		r.array("quorum.validator", k[:])
		q.Validators = append(q.Validators, k)
		q.Voted = append(q.Voted, r.boolean("quorum.voted"))
	}
	nw := r.count("quorum.workers", maxWorkers, 38)
	for range nw {
		var k key.NodePublic
		r.array("quorum.worker", k[:])
		q.Workers = append(q.Workers, k)
		q.Pass = append(q.Pass, r.u16("quorum.pass"))
		q.Fail = append(q.Fail, r.u16("quorum.fail"))
		q.Reasons = append(q.Reasons, r.u8("quorum.reasons"))
		q.Decided = append(q.Decided, r.boolean("quorum.decided"))
	}
}

// Decode parses a state encoding exactly (the inverse of Encode), checking
// key order so that only canonical encodings are accepted.
func Decode(b []byte) (*State, error) {
	r := &reader{b: b}
	if v := r.u8("version"); r.err == nil && v != stateVersion {
		return nil, &DecodeError{Field: "version", Msg: fmt.Sprintf("unknown state version %d", v)}
	}
	s := &State{
		accounts: make(map[Address]*Account),
		nodes:    make(map[key.NodePublic]*Node),
		names:    make(map[NameHash]*Name),

		fileServers: make(map[key.FileServerPublic]*FileServer),
		communities: make(map[key.FileServerPublic]*Community),
	}
	s.chainID = r.str8("chain_id", maxChainID)
	s.params.decode(r)
	s.height = r.u64("height")
	s.pool = r.u64("pool")
	var prev []byte
	ordered := func(field string, k []byte) {
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			r.fail(field, "keys not in strictly ascending order")
		}
		prev = slices.Clone(k)
	}
	na := r.count("accounts", 1<<30, 48)
	for range na {
		var k Address
		a := new(Account)
		r.array("account.address", k[:])
		a.Balance = r.u64("account.balance")
		a.Nonce = r.u64("account.nonce")
		ordered("accounts", k[:])
		s.accounts[k] = a
	}
	prev = nil
	nn := r.count("nodes", 1<<24, 200)
	for range nn {
		n := new(Node)
		n.decode(r, s.params.MaxContributors)
		ordered("nodes", n.Key[:])
		s.nodes[n.Key] = n
	}
	prev = nil
	nm := r.count("names", 1<<28, 98)
	for range nm {
		var k NameHash
		n := new(Name)
		r.array("name.hash", k[:])
		r.array("name.owner", n.Owner[:])
		n.Value = r.bytes16("name.value", maxNameValue)
		r.array("name.value_nonce", n.ValueNonce[:])
		n.Expiry = r.u64("name.expiry")
		ordered("names", k[:])
		s.names[k] = n
	}
	nq := r.count("quorums", 1<<20, 16)
	var last uint64
	for i := range nq {
		q := new(Quorum)
		q.decode(r)
		if r.err == nil && i > 0 && q.Height <= last {
			r.fail("quorums", "heights not ascending")
		}
		last = q.Height
		s.quorums = append(s.quorums, q)
	}
	s.decodeSections(r)
	if err := r.done("state"); err != nil {
		return nil, err
	}
	return s, nil
}

// compareKeys orders node or file server keys bytewise.
func compareKeys[K ~[32]byte](a, b K) int { return bytes.Compare(a[:], b[:]) }
