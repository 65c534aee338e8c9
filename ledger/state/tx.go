package state

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"log/slog"

	"sotto.dev/key"
)

// TxVersion is the version byte every transaction starts with. Version 2
// added the last valid height; version 3 the capability bits of the
// uptime proof.
const TxVersion = 3

// TxType says which Body a transaction carries.
type TxType uint8

// Transaction types.
const (
	TypeTransfer     TxType = 1  // move coins to another account
	TypeRegister     TxType = 2  // register a service node
	TypeContribute   TxType = 3  // add stake to a registration
	TypeUnlock       TxType = 4  // request an unlock (or cancel a registration)
	TypeUptimeProof  TxType = 5  // a node says it is up, and where
	TypeVote         TxType = 6  // an obligation quorum member's test results
	TypeNameRegister TxType = 7  // claim an ONS name
	TypeNameRenew    TxType = 8  // extend a name
	TypeNameUpdate   TxType = 9  // change a name's value
	TypePoolDeposit  TxType = 10 // pay into the reward pool (paid-tier revenue)

	TypeFileServerRegister TxType = 11 // list a file server the signer runs
	TypeFileServerUpdate   TxType = 12 // change its URL or X25519 key
	TypeFileServerRemove   TxType = 13 // take it off the list

	TypeCommunityRegister TxType = 14 // list a community server the signer runs
	TypeCommunityUpdate   TxType = 15 // change its URL, X25519 key or rooms
	TypeCommunityRemove   TxType = 16 // take it off the list
)

func (t TxType) String() string {
	switch t {
	case TypeTransfer:
		return "transfer"
	case TypeRegister:
		return "register"
	case TypeContribute:
		return "contribute"
	case TypeUnlock:
		return "unlock"
	case TypeUptimeProof:
		return "uptime_proof"
	case TypeVote:
		return "vote"
	case TypeNameRegister:
		return "name_register"
	case TypeNameRenew:
		return "name_renew"
	case TypeNameUpdate:
		return "name_update"
	case TypePoolDeposit:
		return "pool_deposit"
	case TypeFileServerRegister:
		return "file_server_register"
	case TypeFileServerUpdate:
		return "file_server_update"
	case TypeFileServerRemove:
		return "file_server_remove"
	case TypeCommunityRegister:
		return "community_register"
	case TypeCommunityUpdate:
		return "community_update"
	case TypeCommunityRemove:
		return "community_remove"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Duty reports whether t is a node duty (an uptime proof or a quorum vote):
// duties pay no fee and are bounded by their own rules instead
// (docs/ledger.md "Fees").
func (t TxType) Duty() bool { return t == TypeUptimeProof || t == TypeVote }

// Tx is a signed ledger transaction.
//
// Encoding (docs/ledger.md "Transactions"): version u8 (2), type u8,
// chain id (u8 length + bytes), signer [32], nonce u64, last valid height
// u64, the body, then the Ed25519 signature [64] over TxSignLabel ‖ 0x00 ‖
// every preceding byte.
type Tx struct {
	ChainID string
	Signer  Address
	// Nonce must equal the signer's account nonce; it grows by one with
	// every transaction that reaches a block and can pay its fee, whether
	// its body succeeds or fails, so a transaction is executed at most once.
	Nonce uint64
	// LastValid is the last block height that may include the
	// transaction; after it the transaction is refused, so bytes that
	// never made it into a block cannot be played later.
	LastValid uint64
	Body      Body
	Sig       [64]byte
}

// Body is the type-specific part of a transaction.
type Body interface {
	Type() TxType
	encode(w *writer)
	decode(r *reader)
}

// Transfer moves Amount from the signer to To.
type Transfer struct {
	To     Address
	Amount uint64
}

// Reservation holds a contributor spot for Addr, who must contribute at
// least Amount.
type Reservation struct {
	Addr   Address
	Amount uint64
}

// Register registers a service node with the signer as operator. The
// operator stakes Stake now; the rest of the requirement comes from the
// reserved contributors and open contributions. NodeSig is the node key's
// signature over RegisterMessage, proving the operator holds it.
type Register struct {
	Node     key.NodePublic
	X25519   key.OnionPublic
	IP       IPv4
	Port     uint16
	FeeBps   uint16
	Stake    uint64
	Reserved []Reservation
	NodeSig  [64]byte
}

// Contribute adds Amount of the signer's coins to Node's stake.
type Contribute struct {
	Node   key.NodePublic
	Amount uint64
}

// Unlock asks for Node's stake back. On a fully staked node any
// contributor may ask; the node keeps serving until the unlock height. On
// a registration still waiting for stake, the operator cancels it.
type Unlock struct {
	Node key.NodePublic
}

// UptimeProof is signed by the node key itself and says where it serves,
// which version it runs and what it can do.
type UptimeProof struct {
	IP      IPv4
	Port    uint16
	Version [3]uint16
	// Caps are the node's capability bits, committed in the node list for
	// clients (docs/nodeproof.md; onion.CapSottoOnion). The ledger keeps
	// them as they come: a bit it does not know is a later capability.
	Caps uint32
}

// Vote results, one byte per tested node (a bit set is a failed test).
const (
	ResultPass           uint8 = 0
	FailStorage          uint8 = 1 << 0 // storage RPC unreachable
	FailOnion            uint8 = 1 << 1 // onion request not relayed
	FailStorageTest      uint8 = 1 << 2 // could not return a message its swarm holds
	ResultAbstain        uint8 = 1 << 7 // the voter could not tell
	resultKnownFlags           = FailStorage | FailOnion | FailStorageTest
	resultValidFlagsMask       = resultKnownFlags | ResultAbstain
)

// Vote is a quorum member's verdict on every node its quorum tests. The
// signer is the member's node key; Results[i] is about the quorum's i-th
// worker.
type Vote struct {
	Height  uint64
	Results []uint8
}

// NameRegister claims an ONS name for the signer for Terms terms. Value is
// the encrypted Session ID and ValueNonce its XChaCha20 nonce, returned as
// is by ons_resolve.
type NameRegister struct {
	Name       NameHash
	Value      []byte
	ValueNonce [24]byte
	Terms      uint8
}

// NameRenew extends a name by Terms terms. Anyone may pay for it.
type NameRenew struct {
	Name  NameHash
	Terms uint8
}

// NameUpdate replaces the value of a name the signer owns.
type NameUpdate struct {
	Name       NameHash
	Value      []byte
	ValueNonce [24]byte
}

// PoolDeposit moves Amount of the signer's coins into the reward pool.
type PoolDeposit struct {
	Amount uint64
}

func (*Transfer) Type() TxType     { return TypeTransfer }
func (*Register) Type() TxType     { return TypeRegister }
func (*Contribute) Type() TxType   { return TypeContribute }
func (*Unlock) Type() TxType       { return TypeUnlock }
func (*UptimeProof) Type() TxType  { return TypeUptimeProof }
func (*Vote) Type() TxType         { return TypeVote }
func (*NameRegister) Type() TxType { return TypeNameRegister }
func (*NameRenew) Type() TxType    { return TypeNameRenew }
func (*NameUpdate) Type() TxType   { return TypeNameUpdate }
func (*PoolDeposit) Type() TxType  { return TypePoolDeposit }

func (b *Transfer) encode(w *writer) { w.raw(b.To[:]); w.u64(b.Amount) }
func (b *Transfer) decode(r *reader) { r.array("to", b.To[:]); b.Amount = r.u64("amount") }

func (b *Register) encode(w *writer) {
	w.raw(b.Node[:])
	w.raw(b.X25519[:])
	w.raw(b.IP[:])
	w.u16(b.Port)
	w.u16(b.FeeBps)
	w.u64(b.Stake)
	w.u32(uint32(len(b.Reserved)))
	for _, rs := range b.Reserved {
		w.raw(rs.Addr[:])
		w.u64(rs.Amount)
	}
	w.raw(b.NodeSig[:])
}

func (b *Register) decode(r *reader) {
	r.array("node", b.Node[:])
	r.array("x25519", b.X25519[:])
	r.array("ip", b.IP[:])
	b.Port = r.u16("port")
	b.FeeBps = r.u16("fee")
	b.Stake = r.u64("stake")
	n := r.count("reserved", maxReserved, 40)
	b.Reserved = nil
	for range n {
		var rs Reservation
		r.array("reserved.addr", rs.Addr[:])
		rs.Amount = r.u64("reserved.amount")
		b.Reserved = append(b.Reserved, rs)
	}
	r.array("node_sig", b.NodeSig[:])
}

func (b *Contribute) encode(w *writer) { w.raw(b.Node[:]); w.u64(b.Amount) }
func (b *Contribute) decode(r *reader) { r.array("node", b.Node[:]); b.Amount = r.u64("amount") }

func (b *Unlock) encode(w *writer) { w.raw(b.Node[:]) }
func (b *Unlock) decode(r *reader) { r.array("node", b.Node[:]) }

func (b *UptimeProof) encode(w *writer) {
	w.raw(b.IP[:])
	w.u16(b.Port)
	for _, v := range b.Version {
		w.u16(v)
	}
	w.u32(b.Caps)
}

func (b *UptimeProof) decode(r *reader) {
	r.array("ip", b.IP[:])
	b.Port = r.u16("port")
	for i := range b.Version {
		b.Version[i] = r.u16("version")
	}
	b.Caps = r.u32("caps")
}

func (b *Vote) encode(w *writer) { w.u64(b.Height); w.bytes16(b.Results) }
func (b *Vote) decode(r *reader) {
	b.Height = r.u64("height")
	b.Results = r.bytes16("results", maxVoteResults)
	for _, v := range b.Results {
		if v&^resultValidFlagsMask != 0 {
			r.fail("results", fmt.Sprintf("unknown result flags %#x", v))
			return
		}
	}
}

func (b *NameRegister) encode(w *writer) {
	w.raw(b.Name[:])
	w.bytes16(b.Value)
	w.raw(b.ValueNonce[:])
	w.u8(b.Terms)
}

func (b *NameRegister) decode(r *reader) {
	r.array("name", b.Name[:])
	b.Value = r.bytes16("value", maxNameValue)
	r.array("value_nonce", b.ValueNonce[:])
	b.Terms = r.u8("terms")
}

func (b *NameRenew) encode(w *writer) { w.raw(b.Name[:]); w.u8(b.Terms) }
func (b *NameRenew) decode(r *reader) { r.array("name", b.Name[:]); b.Terms = r.u8("terms") }

func (b *NameUpdate) encode(w *writer) {
	w.raw(b.Name[:])
	w.bytes16(b.Value)
	w.raw(b.ValueNonce[:])
}

func (b *NameUpdate) decode(r *reader) {
	r.array("name", b.Name[:])
	b.Value = r.bytes16("value", maxNameValue)
	r.array("value_nonce", b.ValueNonce[:])
}

func (b *PoolDeposit) encode(w *writer) { w.u64(b.Amount) }
func (b *PoolDeposit) decode(r *reader) { b.Amount = r.u64("amount") }

func newBody(t TxType) Body {
	switch t {
	case TypeTransfer:
		return new(Transfer)
	case TypeRegister:
		return new(Register)
	case TypeContribute:
		return new(Contribute)
	case TypeUnlock:
		return new(Unlock)
	case TypeUptimeProof:
		return new(UptimeProof)
	case TypeVote:
		return new(Vote)
	case TypeNameRegister:
		return new(NameRegister)
	case TypeNameRenew:
		return new(NameRenew)
	case TypeNameUpdate:
		return new(NameUpdate)
	case TypePoolDeposit:
		return new(PoolDeposit)
	case TypeFileServerRegister:
		return new(FileServerRegister)
	case TypeFileServerUpdate:
		return new(FileServerUpdate)
	case TypeFileServerRemove:
		return new(FileServerRemove)
	case TypeCommunityRegister:
		return new(CommunityRegister)
	case TypeCommunityUpdate:
		return new(CommunityUpdate)
	case TypeCommunityRemove:
		return new(CommunityRemove)
	}
	return nil
}

// unsigned returns the encoding up to (not including) the signature.
func (tx *Tx) unsigned() []byte {
	w := &writer{b: make([]byte, 0, 256)}
	w.u8(TxVersion)
	w.u8(uint8(tx.Body.Type()))
	w.str8(tx.ChainID)
	w.raw(tx.Signer[:])
	w.u64(tx.Nonce)
	w.u64(tx.LastValid)
	tx.Body.encode(w)
	return w.b
}

// SignedMessage returns the bytes the signer signs.
func (tx *Tx) SignedMessage() []byte {
	return append(append([]byte(TxSignLabel), 0), tx.unsigned()...)
}

// Encode returns the transaction's wire form.
func (tx *Tx) Encode() []byte {
	return append(tx.unsigned(), tx.Sig[:]...)
}

// Hash returns the SHA-256 of the wire form (CometBFT's transaction hash).
func (tx *Tx) Hash() [32]byte { return sha256.Sum256(tx.Encode()) }

// Signer signs for an account or node key without handing out the
// private key (a service node keeps its key inside its own package).
type Signer interface {
	// PublicKey is the Ed25519 public key: the account address or node key.
	PublicKey() [32]byte
	// Sign returns the Ed25519 signature of msg.
	Sign(msg []byte) [64]byte
}

// keySigner holds a private key: it formats and logs as its public key
// only.
type keySigner struct{ k ed25519.PrivateKey }

func (s keySigner) LogValue() slog.Value {
	return slog.StringValue("ed25519 key " + Address(s.PublicKey()).String())
}

func (s keySigner) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte("signer[" + Address(s.PublicKey()).String() + "]"))
}

// KeySigner returns a Signer for an Ed25519 private key.
func KeySigner(k ed25519.PrivateKey) Signer { return keySigner{k} }

func (s keySigner) PublicKey() [32]byte { return [32]byte(s.k.Public().(ed25519.PublicKey)) }
func (s keySigner) Sign(msg []byte) [64]byte {
	return [64]byte(ed25519.Sign(s.k, msg))
}

// Sign sets Signer from key and signs the transaction.
func (tx *Tx) Sign(key ed25519.PrivateKey) { tx.SignWith(KeySigner(key)) }

// SignWith sets Signer from s and signs the transaction.
func (tx *Tx) SignWith(s Signer) {
	tx.Signer = Address(s.PublicKey())
	tx.Sig = s.Sign(tx.SignedMessage())
}

// VerifySignature checks the signature against Signer.
func (tx *Tx) VerifySignature() bool {
	return verify(tx.Signer, tx.SignedMessage(), tx.Sig)
}

// DecodeTx parses a transaction's wire form exactly. It does not check the
// signature.
func DecodeTx(b []byte) (*Tx, error) {
	if len(b) > MaxTxSize {
		return nil, &DecodeError{Field: "tx", Msg: fmt.Sprintf("%d bytes over the limit %d", len(b), MaxTxSize)}
	}
	r := &reader{b: b}
	if v := r.u8("version"); r.err == nil && v != TxVersion {
		return nil, &DecodeError{Field: "version", Msg: fmt.Sprintf("unknown version %d", v)}
	}
	t := TxType(r.u8("type"))
	if r.err != nil {
		return nil, r.err
	}
	body := newBody(t)
	if body == nil {
		return nil, &DecodeError{Field: "type", Msg: fmt.Sprintf("unknown type %d", uint8(t))}
	}
	tx := &Tx{Body: body}
	tx.ChainID = r.str8("chain_id", maxChainID)
	r.array("signer", tx.Signer[:])
	tx.Nonce = r.u64("nonce")
	tx.LastValid = r.u64("last_valid")
	body.decode(r)
	r.array("signature", tx.Sig[:])
	if err := r.done("tx"); err != nil {
		return nil, err
	}
	return tx, nil
}

// RegisterMessage is what a node key signs to accept registration by
// operator on chain chainID: RegisterLabel ‖ 0x00 ‖ chain id (u8 length +
// bytes) ‖ operator ‖ node key ‖ X25519 key.
func RegisterMessage(chainID string, operator Address, node key.NodePublic, x key.OnionPublic) []byte {
	w := &writer{}
	w.raw([]byte(RegisterLabel))
	w.u8(0)
	w.str8(chainID)
	w.raw(operator[:])
	w.raw(node[:])
	w.raw(x[:])
	return w.b
}

// SignRegistration returns the node key's signature for a registration.
func SignRegistration(nodeKey ed25519.PrivateKey, chainID string, operator Address, x key.OnionPublic) [64]byte {
	return SignRegistrationWith(KeySigner(nodeKey), chainID, operator, x)
}

// SignRegistrationWith is SignRegistration with a Signer for the node key.
func SignRegistrationWith(node Signer, chainID string, operator Address, x key.OnionPublic) [64]byte {
	return node.Sign(RegisterMessage(chainID, operator, key.NodePublic(node.PublicKey()), x))
}
