package state

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"testing"

	"sotto.dev/key"
)

const testChain = "sotto-test"

// harness drives a State block by block with named test keys.
type harness struct {
	t     testing.TB
	s     *State
	names map[key.NodePublic]string
	// fees paid so far per signer, by the transactions that used a nonce.
	fees map[Address]uint64
}

func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("ledger test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func testAddr(name string) Address        { return Address(testKey(name).Public().(ed25519.PublicKey)) }
func testNode(name string) key.NodePublic { return key.NodePublic(testAddr(name)) }
func testX(name string) key.OnionPublic {
	return key.OnionPublic(sha256.Sum256([]byte("x25519 " + name)))
}

// newHarness starts a chain at height 1 with the given balances.
func newHarness(t testing.TB, p Params, pool uint64, balances map[string]uint64) *harness {
	t.Helper()
	g := &Genesis{Params: &p, Pool: pool}
	for name, bal := range balances {
		g.Accounts = append(g.Accounts, GenesisAccount{Address: testAddr(name).String(), Balance: bal})
	}
	s, err := New(testChain, g, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, s: s, names: make(map[key.NodePublic]string), fees: make(map[Address]uint64)}
}

// tx builds and signs a transaction from signer with its next nonce.
func (h *harness) tx(signer string, body Body) []byte {
	return h.txNonce(signer, h.s.Account(testAddr(signer)).Nonce, body)
}

// txNonce builds a transaction valid for as long as the ledger allows.
func (h *harness) txNonce(signer string, nonce uint64, body Body) []byte {
	tx := &Tx{ChainID: testChain, Nonce: nonce, LastValid: h.s.Height() + h.s.params.MaxTxLifetime, Body: body}
	tx.Sign(testKey(signer))
	return tx.Encode()
}

// deliver runs Deliver and records the fee when the transaction used its
// signer's nonce.
func (h *harness) deliver(raw []byte) (*Tx, error) {
	var signer Address
	if tx, err := DecodeTx(raw); err == nil {
		signer = tx.Signer
	}
	before := h.s.Account(signer).Nonce
	tx, err := h.s.Deliver(raw)
	if tx != nil && h.s.Account(signer).Nonce != before {
		h.fees[signer] += h.s.params.TxFee(tx.Body.Type(), len(raw))
	}
	return tx, err
}

// paid returns the fees name has paid.
func (h *harness) paid(name string) uint64 { return h.fees[testAddr(name)] }

func blockHash(height uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], height)
	sum := sha256.Sum256(append([]byte("block"), b[:]...))
	return sum[:]
}

// block runs one block with txs and returns each transaction's error.
func (h *harness) block(txs ...[]byte) []error {
	h.t.Helper()
	if err := h.s.Begin(h.s.Height()+1, blockHash(h.s.Height()+1)); err != nil {
		h.t.Fatal(err)
	}
	errs := make([]error, len(txs))
	for i, raw := range txs {
		_, errs[i] = h.deliver(raw)
	}
	if _, err := h.s.End(); err != nil {
		h.t.Fatal(err)
	}
	return errs
}

// ok runs a block with txs that must all succeed.
func (h *harness) ok(txs ...[]byte) {
	h.t.Helper()
	for i, err := range h.block(txs...) {
		if err != nil {
			h.t.Fatalf("tx %d: %v", i, err)
		}
	}
}

// run advances n empty blocks.
func (h *harness) run(n int) {
	h.t.Helper()
	for range n {
		h.block()
	}
}

// rejectIn checks that raw is rejected with code inside an open block and
// leaves the state byte for byte as it was, but for its nonce and fee if
// it used them.
func (h *harness) rejectIn(raw []byte, code Code) {
	h.t.Helper()
	if err := h.s.Begin(h.s.Height()+1, blockHash(h.s.Height()+1)); err != nil {
		h.t.Fatal(err)
	}
	want := h.s.Clone()
	tx, err := h.deliver(raw)
	if got := CodeOf(err); got != code {
		h.t.Fatalf("code %v (%v), want %v", got, err, code)
	}
	if tx != nil && h.s.Account(tx.Signer).Nonce != want.Account(tx.Signer).Nonce {
		acc := want.account(tx.Signer)
		fee := want.params.TxFee(tx.Body.Type(), len(raw))
		acc.Nonce++
		acc.Balance -= fee
		want.pool += fee
	}
	if h.s.Hash() != want.Hash() {
		h.t.Fatal("a rejected transaction changed the state beyond its nonce and fee")
	}
	if _, err := h.s.End(); err != nil {
		h.t.Fatal(err)
	}
}

// register builds a registration of node by operator with stake and
// reservations, at 127.0.0.x:port.
func (h *harness) register(op, node string, stake uint64, fee uint16, res ...Reservation) []byte {
	h.names[testNode(node)] = node
	b := &Register{
		Node:     testNode(node),
		X25519:   testX(node),
		IP:       IPv4{127, 0, 0, byte(len(h.names))},
		Port:     22021,
		FeeBps:   fee,
		Stake:    stake,
		Reserved: res,
	}
	b.NodeSig = SignRegistration(testKey(node), testChain, testAddr(op), b.X25519)
	return h.tx(op, b)
}

// solo registers and fully stakes n nodes named prefix0… with operator op.
func (h *harness) solo(op, prefix string, n int) []key.NodePublic {
	h.t.Helper()
	var txs [][]byte
	var keys []key.NodePublic
	for i := range n {
		name := fmt.Sprintf("%s%d", prefix, i)
		// Each registration needs the operator's next nonce.
		b := &Register{Node: testNode(name), X25519: testX(name), Port: 22021, FeeBps: 1000, Stake: h.s.params.StakingRequirement}
		h.names[testNode(name)] = name
		b.IP = IPv4{10, 0, byte(len(h.names) >> 8), byte(len(h.names))}
		b.NodeSig = SignRegistration(testKey(name), testChain, testAddr(op), b.X25519)
		txs = append(txs, h.txNonce(op, h.s.Account(testAddr(op)).Nonce+uint64(i), b))
		keys = append(keys, testNode(name))
	}
	h.ok(txs...)
	return keys
}

func (h *harness) node(k key.NodePublic) Node {
	h.t.Helper()
	n, ok := h.s.Node(k)
	if !ok {
		h.t.Fatalf("node %s not registered", k)
	}
	return n
}

func (h *harness) balance(name string) uint64 { return h.s.Account(testAddr(name)).Balance }

// proofs sends an uptime proof from every listed node.
func (h *harness) proofs(keys ...key.NodePublic) {
	h.t.Helper()
	var txs [][]byte
	for _, k := range keys {
		n := h.node(k)
		txs = append(txs, h.tx(h.names[k], &UptimeProof{IP: n.IP, Port: n.Port, Version: [3]uint16{1, 0, 0}}))
	}
	h.ok(txs...)
}

func hexKey(k [32]byte) string { return hex.EncodeToString(k[:]) }
