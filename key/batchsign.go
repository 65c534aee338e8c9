package key

import (
	"crypto/ed25519"
	"crypto/sha512"
	"hash"
	"sync"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"

	"sotto.dev/internal/basemul"
)

// signChunkMax is the most signatures SignBatch computes together, in
// one signScratch (about 12 KiB).
const signChunkMax = 64

// SignBatch signs each of msgs (RFC 8032), writing the signature of
// msgs[i] to sigs[i]. Each signature is the one Sign makes, byte for byte
// (Ed25519 signing is deterministic), but the batch shares one field
// inversion: encoding a signature's R = r·B divides by its projective Z,
// and Montgomery's trick inverts the Z of every R of the batch at once
// with one inversion and three multiplications each. A batch of one is
// Sign. SignBatch panics if msgs and sigs differ in length or k is unset.
//
// Signatures of a batch are computed with filippo.io/edwards25519, not
// with crypto/ed25519's FIPS 140-3 module.
func (k *NodePrivate) SignBatch(msgs [][]byte, sigs [][ed25519.SignatureSize]byte) {
	if len(msgs) != len(sigs) {
		panic("key: SignBatch with a different number of messages and signatures")
	}
	switch len(msgs) {
	case 0:
		return
	case 1:
		sigs[0] = k.Sign(msgs[0])
		return
	}
	if k.IsZero() {
		panic("key: SignBatch with an unset NodePrivate")
	}
	h := sha512.New()
	for len(msgs) > 0 {
		n := min(len(msgs), signChunkMax)
		k.signChunk(h, msgs[:n], sigs[:n])
		msgs, sigs = msgs[n:], sigs[n:]
	}
}

// expand derives the expanded secret (RFC 8032 §5.1.5): the scalar a
// (the clamped first half of SHA-512(seed)) and the nonce prefix (its
// second half). It costs one SHA-512 for a whole chunk of signatures, so
// it is not kept in k.
func (k *NodePrivate) expand(a *edwards25519.Scalar, prefix *[32]byte) {
	h := sha512.Sum512(k.k[:ed25519.SeedSize])
	defer clear(h[:])
	if _, err := a.SetBytesWithClamping(h[:32]); err != nil {
		panic("key: clamping 32 bytes failed: " + err.Error())
	}
	copy(prefix[:], h[32:])
}

// finish writes S = SHA-512(R ‖ A ‖ M)·a + r mod L into sig[32:], for a
// signature of m whose encoded R is already in sig[:32] (r its nonce, a
// the expanded secret), with h as the SHA-512 and d as its output.
func (k *NodePrivate) finish(h hash.Hash, d *[sha512.Size]byte, a, r *edwards25519.Scalar, m []byte, sig *[ed25519.SignatureSize]byte) {
	var c, s edwards25519.Scalar
	h.Reset()
	h.Write(sig[:32])
	h.Write(k.k[ed25519.SeedSize:])
	h.Write(m)
	if _, err := c.SetUniformBytes(h.Sum(d[:0])); err != nil {
		panic("key: reducing 64 bytes failed: " + err.Error())
	}
	s.MultiplyAdd(&c, a, r)
	copy(sig[32:], s.Bytes())
}

// scratchPool holds signScratch values, cleared. They live on the heap:
// on a goroutine's stack, 12 KiB made the stacks of the node's request
// goroutines grow again after every garbage collection had shrunk them
// (runtime.newstack was a tenth of signing under load).
var scratchPool = sync.Pool{New: func() any { return new(signScratch) }}

// signScratch is the working space of signChunk.
type signScratch struct {
	a       edwards25519.Scalar // the expanded secret (expand)
	prefix  [32]byte
	d       [sha512.Size]byte
	r       [signChunkMax]edwards25519.Scalar // the nonces
	x, y, z [signChunkMax]field.Element       // R = (x/z, y/z)
	prod    [signChunkMax]field.Element       // prod[i] = z[0]·…·z[i]
}

// signChunk signs at most signChunkMax messages (RFC 8032 §5.1.6), with h
// as the SHA-512 to use. The nonce hashes leave the secret prefix at the
// start of h's buffer; the hashes of S, which start with R, overwrite it.
func (k *NodePrivate) signChunk(h hash.Hash, msgs [][]byte, sigs [][ed25519.SignatureSize]byte) {
	w := scratchPool.Get().(*signScratch)
	d := &w.d
	defer func() {
		*w = signScratch{}
		scratchPool.Put(w)
	}()

	k.expand(&w.a, &w.prefix)

	// r = SHA-512(prefix ‖ M) mod L, R = r·B.
	for i, m := range msgs {
		h.Reset()
		h.Write(w.prefix[:])
		h.Write(m)
		if _, err := w.r[i].SetUniformBytes(h.Sum(d[:0])); err != nil {
			panic("key: reducing 64 bytes failed: " + err.Error())
		}
	}
	n := len(msgs)
	basemul.MultiplyBase(w.r[:n], w.x[:n], w.y[:n], w.z[:n])

	// Encode every R with one inversion.
	encodeBatch(w.x[:n], w.y[:n], w.z[:n], w.prod[:n], func(i int) []byte { return sigs[i][:32] })

	for i, m := range msgs {
		k.finish(h, d, &w.a, &w.r[i], m, &sigs[i])
	}
}

// encodeBatch encodes the points (x[i]/z[i], y[i]/z[i]) as Point.Bytes
// does (y with the sign of x in bit 255) into dst(i), inverting all the
// z at once (Montgomery's trick): with inv = 1/prod[i], where prod[i] =
// z[0]·…·z[i], z[i]⁻¹ is inv·prod[i-1] and 1/prod[i-1] is inv·z[i]. It
// overwrites x, y and prod; n ≥ 1.
func encodeBatch(x, y, z, prod []field.Element, dst func(i int) []byte) {
	var inv, zInv field.Element
	n := len(z)
	prod[0] = z[0]
	for i := 1; i < n; i++ {
		prod[i].Multiply(&prod[i-1], &z[i])
	}
	inv.Invert(&prod[n-1])
	for i := n - 1; i >= 0; i-- {
		if i > 0 {
			zInv.Multiply(&inv, &prod[i-1])
			inv.Multiply(&inv, &z[i])
		} else {
			zInv = inv
		}
		x[i].Multiply(&x[i], &zInv)
		y[i].Multiply(&y[i], &zInv)
		out := dst(i)
		copy(out, y[i].Bytes())
		out[31] |= byte(x[i].IsNegative() << 7)
	}
}
