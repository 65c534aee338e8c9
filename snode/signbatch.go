package snode

import (
	"crypto/ed25519"
	"runtime"
	"sync/atomic"

	"sotto.dev/internal/leadbatch"
	"sotto.dev/key"
)

// signBatcher signs the node's answers (store, delete and expire results:
// Node.sign) with its identity key, signing the answers made at the same
// time in one batch (key.NodePrivate.SignBatch), which saves each
// signature of a batch most of the field inversion that encodes its R,
// about a third of the cost of a signature. The signatures are
// crypto/ed25519's byte for byte (Ed25519 signing is deterministic),
// except those made with nonces from the node's pool (nonces), which a
// node that syncs its log holding its P fills while the disk writes
// (Node.openStore).
//
// Batches form as storagerpc.SigBatcher's do, without waiting, by the
// rules of internal/leadbatch: the first caller leads, lets the other
// runnable goroutines run so that they can add theirs (a group commit
// wakes a dozen handlers at once), then signs its own and the oldest
// queued, up to signBatchMax in all; a lone caller signs at once. At
// most GOMAXPROCS leaders run at a time, and a leader that finishes with
// answers still queued hands the lead to the owner of the oldest. A
// signBatcher is safe for concurrent use.
type signBatcher struct {
	keys *Keys
	jobs *leadbatch.Queue[*signJob]
	// nonces, when set, holds nonces made ahead of time (key.NoncePool):
	// signatures use them while there are some, and RFC 8032's otherwise.
	nonces *key.NoncePool

	batches atomic.Uint64 // batches of two or more signed
	batched atomic.Uint64 // signatures in those batches
}

// signBatchMax is the most signatures one batch makes.
const signBatchMax = 64

// signJob is one message waiting to be signed.
type signJob struct {
	msg []byte
	sig [ed25519.SignatureSize]byte

	// done receives true once sig is written, or false when the job's
	// owner is to sign it, leading the next batch.
	done chan bool
}

func newSignBatcher(keys *Keys) *signBatcher {
	return &signBatcher{
		keys: keys,
		jobs: leadbatch.New[*signJob](max(runtime.GOMAXPROCS(0), 1), signBatchMax),
	}
}

// sign signs msg with the node key, in a batch with the messages of
// concurrent callers.
func (b *signBatcher) sign(msg []byte) [ed25519.SignatureSize]byte {
	j := &signJob{msg: msg, done: make(chan bool, 1)}
	if !b.jobs.Join(j) && <-j.done {
		return j.sig
	}
	// Leading, from the start or handed the lead with j out of the queue.
	b.lead(j)
	return j.sig
}

// lead signs own and a batch of the queued jobs, then passes the lead to
// the owner of the oldest job still queued, or gives it up
// (leadbatch.Queue.Take).
func (b *signBatcher) lead(own *signJob) {
	var jobs [signBatchMax]*signJob
	batch, next, handOff := b.jobs.Take(own, jobs[:0])
	var msgs [signBatchMax][]byte
	for i, j := range batch {
		msgs[i] = j.msg
	}
	sigs := make([][ed25519.SignatureSize]byte, len(batch))
	b.signMany(msgs[:len(batch)], sigs)
	own.sig = sigs[0]
	for i, j := range batch[1:] {
		j.sig = sigs[i+1]
		j.done <- true
	}
	if handOff {
		next.done <- false
	}
}

// signMany signs msgs, which one caller has all at once, in batches of
// at most signBatchMax, writing the signature of msgs[i] to sigs[i].
func (b *signBatcher) signMany(msgs [][]byte, sigs [][ed25519.SignatureSize]byte) {
	for len(msgs) > 0 {
		n := min(len(msgs), signBatchMax)
		if b.nonces != nil {
			b.nonces.SignBatch(msgs[:n], sigs[:n])
		} else {
			b.keys.SignBatch(msgs[:n], sigs[:n])
		}
		if n > 1 {
			b.batches.Add(1)
			b.batched.Add(uint64(n))
		}
		msgs, sigs = msgs[n:], sigs[n:]
	}
}
