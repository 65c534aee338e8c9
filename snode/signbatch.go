package snode

import (
	"crypto/ed25519"
	"runtime"
	"sync"
	"sync/atomic"
)

// signBatcher signs the node's answers (store, delete and expire results:
// Node.sign) with its identity key, signing the answers made at the same
// time in one batch (key.NodePrivate.SignBatch), which saves each
// signature of a batch most of the field inversion that encodes its R,
// about a third of the cost of a signature. The signatures are
// crypto/ed25519's byte for byte (Ed25519 signing is deterministic).
//
// Batches form as storagerpc.SigBatcher's do, without waiting: the first
// caller becomes the leader, lets the other runnable goroutines run
// (runtime.Gosched) so that they can add theirs (a group commit wakes a
// dozen handlers at once), then signs everything queued, up to
// signBatchMax. A lone caller signs at once. At most GOMAXPROCS leaders
// run at a time; a leader that finishes with answers still queued hands
// the lead to the owner of the oldest. A signBatcher is safe for
// concurrent use.
type signBatcher struct {
	keys *Keys

	mu         sync.Mutex
	queue      []*signJob
	leaders    int
	maxLeaders int

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
	return &signBatcher{keys: keys, maxLeaders: max(runtime.GOMAXPROCS(0), 1)}
}

// sign signs msg with the node key, in a batch with the messages of
// concurrent callers.
func (b *signBatcher) sign(msg []byte) [ed25519.SignatureSize]byte {
	j := &signJob{msg: msg}
	b.mu.Lock()
	lead := b.leaders < b.maxLeaders
	if lead {
		b.leaders++
	} else {
		j.done = make(chan bool, 1)
		b.queue = append(b.queue, j)
	}
	b.mu.Unlock()

	if lead {
		runtime.Gosched()
	} else if <-j.done {
		return j.sig
	}
	// Leading, from the start or handed the lead with j out of the queue.
	b.lead(j)
	return j.sig
}

// lead signs own and a batch of the queued jobs, then passes the lead to
// the owner of the oldest job still queued, taking that job out of the
// queue so that no other leader signs it meanwhile, or gives it up.
func (b *signBatcher) lead(own *signJob) {
	var jobs [signBatchMax]*signJob
	jobs[0] = own
	b.mu.Lock()
	n := copy(jobs[1:], b.queue)
	taken := n
	var next *signJob
	if len(b.queue) > n {
		next = b.queue[n]
		taken++
	} else {
		b.leaders--
	}
	rest := copy(b.queue, b.queue[taken:])
	clear(b.queue[rest:])
	b.queue = b.queue[:rest]
	b.mu.Unlock()

	batch := jobs[:n+1]
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
	if next != nil {
		next.done <- false
	}
}

// signMany signs msgs, which one caller has all at once, in batches of
// at most signBatchMax, writing the signature of msgs[i] to sigs[i].
func (b *signBatcher) signMany(msgs [][]byte, sigs [][ed25519.SignatureSize]byte) {
	for len(msgs) > 0 {
		n := min(len(msgs), signBatchMax)
		b.keys.SignBatch(msgs[:n], sigs[:n])
		if n > 1 {
			b.batches.Add(1)
			b.batched.Add(uint64(n))
		}
		msgs, sigs = msgs[n:], sigs[n:]
	}
}
