package storagerpc

import (
	"crypto/rand"
	"crypto/sha512"
	"runtime"
	"sync/atomic"
	"time"

	"filippo.io/edwards25519"

	"sotto.dev/internal/leadbatch"
)

// SigBatcher verifies Ed25519 signatures, checking the signatures of
// requests that arrive together in one batch: one multi-scalar
// multiplication for the whole batch instead of one double-scalar
// multiplication each. On a busy node that roughly halves the cost of a
// signature, the largest part of a retrieve's CPU time (docs/PERFORMANCE.md).
//
// The batch equation, for random 128-bit z_i, is
//
//	Σ z_i·R_i + Σ (z_i·k_i)·A_i − (Σ z_i·S_i)·B = 0,   k_i = H(R_i ‖ A_i ‖ M_i)
//
// which holds whenever every signature satisfies S_i·B = R_i + k_i·A_i, the
// equation crypto/ed25519 checks one at a time. When the batch equation
// fails, every signature of the batch is checked on its own, so one bad
// signature costs its batch a second pass but decides nothing about the
// others; for a second after that, signatures are checked one at a time,
// so that a client sending bad signatures cannot make every batch pay
// twice. The only signatures a batch can let through that the one-at-a-time
// check refuses are those whose R differs from a valid one by a point of
// order 2, 4 or 8 (they pass when z_i is a multiple of that order): making
// one takes a valid signature of the same message by the same key, so
// nobody but the key's owner, who could sign anyway, can make one.
//
// Batches form without waiting, by the rules of internal/leadbatch: the
// first caller leads, lets the other runnable goroutines run so that they
// can add theirs, then checks its own and the oldest queued, up to
// sigBatchMax in all. A lone request is checked at once, as before. At
// most GOMAXPROCS leaders run at a time; a leader that finishes with
// signatures still queued hands the lead to the owner of the oldest, so
// that none waits long behind the others.
//
// The decoded keys of signatures that verified are kept (as many as
// NewSigBatcher is told), which saves the square root of decoding a polling client's key
// at every request. A SigBatcher is safe for concurrent use.
type SigBatcher struct {
	jobs *leadbatch.Queue[*sigJob]
	keys *lru[[32]byte, *edwards25519.Point]

	// failedAt is when a batch last failed (Unix nanoseconds). For
	// sigFailPause after that, signatures are checked one at a time: a
	// stream of bad signatures would otherwise make every batch fail and
	// cost each good signature in it a batch and a single check.
	failedAt atomic.Int64
	batches  atomic.Uint64 // batches of two or more checked
	batched  atomic.Uint64 // signatures in those batches
}

// sigFailPause is how long a failed batch turns batching off.
const sigFailPause = time.Second

// SigBatchStats are counters of a SigBatcher.
type SigBatchStats struct {
	Batches    uint64 // batches of two or more signatures checked together
	Signatures uint64 // signatures in those batches
}

// Stats returns the batcher's counters.
func (b *SigBatcher) Stats() SigBatchStats {
	return SigBatchStats{Batches: b.batches.Load(), Signatures: b.batched.Load()}
}

// sigBatchMax is the most signatures one batch checks.
const sigBatchMax = 64

// NewSigBatcher returns a batcher that keeps the decoded points of at most
// keys verified keys.
func NewSigBatcher(keys int) *SigBatcher {
	return &SigBatcher{
		jobs: leadbatch.New[*sigJob](max(runtime.GOMAXPROCS(0), 1), sigBatchMax),
		keys: newLRU[[32]byte, *edwards25519.Point](keys),
	}
}

// sigJob is one signature waiting in a batch.
type sigJob struct {
	pub  [32]byte
	rEnc [32]byte
	k, s edwards25519.Scalar
	a    *edwards25519.Point // decoded key, from the cache or decoded by the leader

	// done receives one message: the outcome (sigOK, sigBad), or sigLead
	// when the job's owner is to check it, leading the next batch.
	done chan sigOutcome
}

type sigOutcome uint8

const (
	sigBad sigOutcome = iota
	sigOK
	sigLead
)

// Verify reports whether sig is a valid Ed25519 signature of msg by pub,
// by the rules of crypto/ed25519.Verify (the caller adds libsodium's rules
// on small-order and non-canonical points).
func (b *SigBatcher) Verify(pub *[32]byte, msg []byte, sig *[64]byte) bool {
	j := &sigJob{pub: *pub}
	if !j.prepare(msg, sig) {
		return false
	}
	if a, ok := b.keys.get(*pub); ok {
		j.a = a
	}
	j.done = make(chan sigOutcome, 1)

	if b.jobs.Join(j) {
		b.lead(j)
	}
	for {
		switch <-j.done {
		case sigOK:
			return true
		case sigBad:
			return false
		default: // sigLead: j was taken out of the queue for its owner to check
			b.lead(j)
		}
	}
}

// prepare checks what needs no curve arithmetic and computes k and S:
// the work each caller does on its own goroutine.
func (j *sigJob) prepare(msg []byte, sig *[64]byte) bool {
	if sig[63]&224 != 0 {
		return false
	}
	if _, err := j.s.SetCanonicalBytes(sig[32:]); err != nil {
		return false
	}
	copy(j.rEnc[:], sig[:32])
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(j.pub[:])
	h.Write(msg)
	var d [64]byte
	if _, err := j.k.SetUniformBytes(h.Sum(d[:0])); err != nil {
		return false
	}
	return true
}

// lead checks own and a batch of the queued jobs, then passes the lead
// to the owner of the oldest job still queued, or gives it up
// (leadbatch.Queue.Take).
func (b *SigBatcher) lead(own *sigJob) {
	var jobs [sigBatchMax]*sigJob
	batch, next, handOff := b.jobs.Take(own, jobs[:0])
	b.check(batch)
	if handOff {
		next.done <- sigLead
	}
}

// check decides every job of batch and tells its owner.
func (b *SigBatcher) check(batch []*sigJob) {
	ok := make([]bool, len(batch))
	live := batch[:0:0]
	for i, j := range batch {
		if j.a == nil {
			a, err := new(edwards25519.Point).SetBytes(j.pub[:])
			if err != nil {
				continue
			}
			j.a = a
		}
		ok[i] = true
		live = append(live, j)
	}
	one := len(live) <= 1 || time.Now().UnixNano()-b.failedAt.Load() < int64(sigFailPause)
	if !one {
		b.batches.Add(1)
		b.batched.Add(uint64(len(live)))
		if !batchHolds(live) {
			b.failedAt.Store(time.Now().UnixNano())
			one = true
		}
	}
	if one {
		for i, j := range batch {
			ok[i] = ok[i] && j.verifyOne()
		}
	}
	for i, j := range batch {
		if ok[i] {
			b.keys.add(j.pub, j.a)
			j.done <- sigOK
		} else {
			j.done <- sigBad
		}
	}
}

// verifyOne is crypto/ed25519's check: R = S·B − k·A, compared as
// encodings.
func (j *sigJob) verifyOne() bool {
	minusA := new(edwards25519.Point).Negate(j.a)
	r := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(&j.k, minusA, &j.s)
	return [32]byte(r.Bytes()) == j.rEnc
}

// batchHolds reports whether the batch equation holds for jobs (each
// with its key decoded). An R that does not decode, or is not the
// canonical encoding of its point (crypto/ed25519 compares encodings, so
// it refuses those), fails the batch, and the one-at-a-time pass then
// refuses that signature.
func batchHolds(jobs []*sigJob) bool {
	n := len(jobs)
	var zs [sigBatchMax * 16]byte
	if _, err := rand.Read(zs[:n*16]); err != nil {
		return false
	}
	scalars := make([]*edwards25519.Scalar, 0, 2*n+1)
	points := make([]*edwards25519.Point, 0, 2*n+1)
	rs := make([]edwards25519.Point, n)
	sc := make([]edwards25519.Scalar, 2*n+1)
	sumS := &sc[2*n]
	for i, j := range jobs {
		if !canonicalPoint(&j.rEnc) {
			return false
		}
		if _, err := rs[i].SetBytes(j.rEnc[:]); err != nil {
			return false
		}
		var wide [64]byte
		copy(wide[:16], zs[i*16:(i+1)*16])
		z := &sc[2*i]
		if _, err := z.SetUniformBytes(wide[:]); err != nil {
			return false
		}
		zk := &sc[2*i+1]
		zk.Multiply(z, &j.k)
		sumS.MultiplyAdd(z, &j.s, sumS)
		scalars = append(scalars, z, zk)
		points = append(points, &rs[i], j.a)
	}
	sumS.Negate(sumS)
	scalars = append(scalars, sumS)
	points = append(points, edwards25519.NewGeneratorPoint())
	sum := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
	return sum.Equal(edwards25519.NewIdentityPoint()) == 1
}

// canonicalPoint reports whether b is the encoding Point.Bytes gives, as
// far as the bytes alone tell: y below p, and no sign bit on x = 0 (the
// points with y = ±1).
func canonicalPoint(b *[32]byte) bool {
	if !canonicalY(b) {
		return false
	}
	if b[31]&0x80 == 0 {
		return true
	}
	// x = 0 exactly when y = 1 or y = −1 = p − 1.
	var one, minusOne [32]byte
	one[0] = 1
	minusOne = [32]byte{0xec}
	for i := 1; i < 31; i++ {
		minusOne[i] = 0xff
	}
	minusOne[31] = 0x7f
	y := *b
	y[31] &= 0x7f
	return y != one && y != minusOne
}
