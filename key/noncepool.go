package key

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"

	"sotto.dev/internal/basemul"
)

// nonceLabel separates the pool's nonce hashes from RFC 8032's, which
// hash the same secret prefix followed by the message.
const nonceLabel = "sotto.node.sign-nonce.v1"

// NoncePool holds Ed25519 signing nonces of one NodePrivate made ahead of
// time, each with its R = r·B already encoded. A signature made with one
// costs a SHA-512 and a scalar multiply-add; the fixed-base scalar
// multiplication, about 85 % of a signature's CPU, was done earlier, in
// time the caller had to spare (Fill). A node fills its pool while the
// disk writes a commit of its store's log, time the core otherwise spends
// waiting (docs/snode.md, "The log's sync").
//
// RFC 8032 derives the nonce from the message, r = SHA-512(prefix ‖ M),
// which a nonce made before the message cannot be. A verifier does not
// see how r was chosen; what the key needs is that each r be secret,
// uniformly distributed and never used for two messages. A pooled nonce
// is r = SHA-512(prefix ‖ nonceLabel ‖ seed ‖ n) mod L:
//   - prefix, the second half of SHA-512 of the key's seed (the secret
//     that RFC 8032 hashes), keeps r secret even if seed were known;
//   - seed is 32 bytes of crypto/rand drawn for each pool, so that two
//     pools (a restarted node) never repeat a nonce;
//   - n counts the pool's nonces, so that no two of one pool are equal;
//   - the label keeps these hashes apart from RFC 8032's, so that a
//     deterministic signature of some message cannot share a pooled
//     nonce.
//
// Each nonce leaves the pool once, under its lock, and its slot is
// cleared. Signatures made with pooled nonces verify as any Ed25519
// signature; they differ from crypto/ed25519's for the same message,
// which nothing requires of a node's result signatures. A NoncePool is
// safe for concurrent use.
type NoncePool struct {
	key  *NodePrivate
	max  int
	seed [32]byte

	mu    sync.Mutex
	n     uint64        // nonces made so far
	ready []pooledNonce // made and not yet used

	used atomic.Uint64 // signatures made with pooled nonces
}

// pooledNonce is one nonce r and its encoded R = r·B.
type pooledNonce struct {
	r edwards25519.Scalar
	R [32]byte
}

// NewNoncePool makes an empty pool of at most size nonces for k, which
// must stay unchanged while the pool is in use.
func (k *NodePrivate) NewNoncePool(size int) *NoncePool {
	if k.IsZero() {
		panic("key: NewNoncePool with an unset NodePrivate")
	}
	p := &NoncePool{key: k, max: max(size, 1)}
	// crypto/rand.Read does not fail (it crashes the program instead).
	_, _ = rand.Read(p.seed[:])
	return p
}

// fillChunk is the most nonces Fill makes between two looks at the
// clock: their R share one field inversion.
const fillChunk = 8

// Used returns the number of signatures made with pooled nonces.
func (p *NoncePool) Used() uint64 { return p.used.Load() }

// Len returns the number of nonces ready.
func (p *NoncePool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ready)
}

// Fill makes nonces until the pool is full or the deadline has passed;
// it makes at least one unless the pool is full (a chunk of up to
// fillChunk where the vector code runs: basemul makes eight in about the
// time one takes without it). It returns the number made.
func (p *NoncePool) Fill(deadline time.Time) int {
	made := 0
	var w fillScratch
	defer clear(w.prefix[:])
	expanded := false
	for {
		p.mu.Lock()
		want := min(p.max-len(p.ready), fillChunk)
		first := p.n
		if want > 0 {
			p.n += uint64(want)
		}
		p.mu.Unlock()
		if want <= 0 {
			return made
		}
		if !expanded {
			var a edwards25519.Scalar
			p.key.expand(&a, &w.prefix)
			a = edwards25519.Scalar{}
			expanded = true
		}
		n := p.compute(&w, first, want, deadline)
		p.mu.Lock()
		p.ready = append(p.ready, w.out[:n]...)
		p.mu.Unlock()
		clear(w.out[:n])
		made += n
		if n < want || !time.Now().Before(deadline) {
			// Counters reserved and not used are skipped: a nonce is
			// never made twice, and a gap costs nothing.
			return made
		}
	}
}

// fillScratch is Fill's working space.
type fillScratch struct {
	prefix  [32]byte
	d       [sha512.Size]byte
	r       [fillChunk]edwards25519.Scalar // the nonces
	x, y, z [fillChunk]field.Element
	prod    [fillChunk]field.Element
	out     [fillChunk]pooledNonce
}

// compute computes the nonces numbered first, first+1, … into w.out, at
// most want of them and at least one, stopping at the deadline; it
// returns how many it made. Where the CPU has the vector code
// (basemul.Vector), it makes the whole chunk at once, in about the time
// one nonce takes without it.
func (p *NoncePool) compute(w *fillScratch, first uint64, want int, deadline time.Time) int {
	h := sha512.New()
	var ctr [8]byte
	step := 1
	if basemul.Vector() {
		step = want
	}
	n := 0
	for n < want {
		m := min(n+step, want)
		for i := n; i < m; i++ {
			binary.LittleEndian.PutUint64(ctr[:], first+uint64(i))
			h.Reset()
			h.Write(w.prefix[:])
			h.Write([]byte(nonceLabel))
			h.Write(p.seed[:])
			h.Write(ctr[:])
			if _, err := w.r[i].SetUniformBytes(h.Sum(w.d[:0])); err != nil {
				panic("key: reducing 64 bytes failed: " + err.Error())
			}
			w.out[i].r = w.r[i]
		}
		basemul.MultiplyBase(w.r[n:m], w.x[n:m], w.y[n:m], w.z[n:m])
		n = m
		if !time.Now().Before(deadline) {
			break
		}
	}
	clear(w.d[:])
	clear(w.r[:])
	encodeBatch(w.x[:n], w.y[:n], w.z[:n], w.prod[:n], func(i int) []byte { return w.out[i].R[:] })
	return n
}

// take moves up to len(dst) nonces from the pool into dst and returns how
// many.
func (p *NoncePool) take(dst []pooledNonce) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := min(len(dst), len(p.ready))
	from := p.ready[len(p.ready)-n:]
	copy(dst, from)
	clear(from)
	p.ready = p.ready[:len(p.ready)-n]
	return n
}

// signTakeMax is the most nonces SignBatch takes at once.
const signTakeMax = 16

// SignBatch signs each of msgs with the pool's key, writing the signature
// of msgs[i] to sigs[i]: with pooled nonces while the pool has them, and
// as NodePrivate.SignBatch does (RFC 8032's nonces) for the rest. It
// panics if msgs and sigs differ in length.
func (p *NoncePool) SignBatch(msgs [][]byte, sigs [][ed25519.SignatureSize]byte) {
	if len(msgs) != len(sigs) {
		panic("key: SignBatch with a different number of messages and signatures")
	}
	var nonces [signTakeMax]pooledNonce
	defer clear(nonces[:])
	var a edwards25519.Scalar
	var prefix [32]byte
	defer func() { a, prefix = edwards25519.Scalar{}, [32]byte{} }()
	expanded := false
	var d [sha512.Size]byte
	h := sha512.New()
	for len(msgs) > 0 {
		n := p.take(nonces[:min(len(msgs), signTakeMax)])
		if n == 0 {
			p.key.SignBatch(msgs, sigs)
			return
		}
		if !expanded {
			p.key.expand(&a, &prefix)
			expanded = true
		}
		for i := range n {
			copy(sigs[i][:32], nonces[i].R[:])
			p.key.finish(h, &d, &a, &nonces[i].r, msgs[i], &sigs[i])
		}
		clear(nonces[:n])
		p.used.Add(uint64(n))
		msgs, sigs = msgs[n:], sigs[n:]
	}
}
