package snode

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"sotto.dev/storagerpc"
)

func testSignKeys(t *testing.T) (*Keys, ed25519.PrivateKey) {
	t.Helper()
	keys, err := NodeKeysFromSeed(bytes.Repeat([]byte{0x42}, ed25519.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return keys, keys.ed25519Private()
}

func signMsg(i int) []byte {
	return fmt.Appendf(nil, "answer %d %s", i, bytes.Repeat([]byte{'x'}, i%97))
}

// TestSignBatcherConcurrent signs distinct messages from many goroutines
// at once: every signature is crypto/ed25519's.
func TestSignBatcherConcurrent(t *testing.T) {
	keys, std := testSignKeys(t)
	b := newSignBatcher(keys)
	const callers = 200
	sigs := make([][ed25519.SignatureSize]byte, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			sigs[i] = b.sign(signMsg(i))
		})
	}
	close(start)
	wg.Wait()
	for i, sig := range sigs {
		if want := ed25519.Sign(std, signMsg(i)); !bytes.Equal(sig[:], want) {
			t.Fatalf("signature %d is %x, want %x", i, sig, want)
		}
	}
	t.Logf("%d batches of two or more, %d signatures in them", b.batches.Load(), b.batched.Load())
}

// TestSignBatcherHandsLead queues 200 jobs while every leader is busy,
// then lets one caller lead: it signs its own and 63 queued, and the lead
// passes from owner to owner until the queue is empty.
func TestSignBatcherHandsLead(t *testing.T) {
	keys, std := testSignKeys(t)
	b := newSignBatcher(keys)
	held := b.jobs.Hold() // all leaders busy: every caller queues

	const queued = 200
	sigs := make([][ed25519.SignatureSize]byte, queued+1)
	var wg sync.WaitGroup
	for i := range queued {
		wg.Go(func() { sigs[i] = b.sign(signMsg(i)) })
	}
	for b.jobs.Queued() != queued {
		runtime.Gosched()
	}
	b.jobs.Release(1) // one leader free: the next caller leads
	sigs[queued] = b.sign(signMsg(queued))
	wg.Wait()

	for i, sig := range sigs {
		if want := ed25519.Sign(std, signMsg(i)); !bytes.Equal(sig[:], want) {
			t.Fatalf("signature %d is %x, want %x", i, sig, want)
		}
	}
	// 201 signatures: batches of 64, 64, 64 and 9.
	if got, n := b.batches.Load(), b.batched.Load(); got != 4 || n != queued+1 {
		t.Errorf("%d batches with %d signatures, want 4 with %d", got, n, queued+1)
	}
	if l, q := b.jobs.Leaders(), b.jobs.Queued(); l != held-1 || q != 0 {
		t.Errorf("after the batches: %d leaders, %d queued; want %d, 0", l, q, held-1)
	}
}

func TestSignBatcherAlone(t *testing.T) {
	keys, std := testSignKeys(t)
	b := newSignBatcher(keys)
	for i := range 3 {
		if sig := b.sign(signMsg(i)); !bytes.Equal(sig[:], ed25519.Sign(std, signMsg(i))) {
			t.Fatalf("signature %d differs from crypto/ed25519's", i)
		}
	}
	if b.batches.Load() != 0 || b.jobs.Leaders() != 0 {
		t.Errorf("lone callers: %d batches, %d leaders left", b.batches.Load(), b.jobs.Leaders())
	}
}

func TestSignMany(t *testing.T) {
	keys, std := testSignKeys(t)
	b := newSignBatcher(keys)
	const n = 150
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = signMsg(i)
	}
	sigs := make([][ed25519.SignatureSize]byte, n)
	b.signMany(msgs, sigs)
	for i, sig := range sigs {
		if !bytes.Equal(sig[:], ed25519.Sign(std, msgs[i])) {
			t.Fatalf("signature %d differs from crypto/ed25519's", i)
		}
	}
	// Batches of 64, 64 and 22.
	if got := b.batches.Load(); got != 3 || b.batched.Load() != n {
		t.Errorf("%d batches with %d signatures, want 3 with %d", got, b.batched.Load(), n)
	}
}

// TestStoreAnswersSignedInBatches stores from many clients at once on one
// node, so that the group commit answers them together: every store
// result carries crypto/ed25519's signature of the hash, byte for byte.
func TestStoreAnswersSignedInBatches(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA}, nil, nil)
	tnode := tn.live()[0]
	n, me := tnode.node, tnode.keys.Ed25519Public().String()
	std := tnode.keys.ed25519Private()
	const clients, rounds = 16, 8
	var wg sync.WaitGroup
	for c := range clients {
		u := newUser(t)
		wg.Go(func() {
			for r := range rounds {
				data := fmt.Appendf(nil, "message %d of client %d", r, c)
				body, err := storagerpc.EncodeRequest(u.store(0, data, time.Hour))
				if err != nil {
					t.Error(err) // in a worker: no Fatal
					return
				}
				st, out := n.HandleRPC(t.Context(), body)
				var resp storagerpc.SwarmResponse[storagerpc.StoreResult]
				if err := json.Unmarshal(out, &resp); st != 200 || err != nil {
					t.Errorf("store: %d %.200s", st, out)
					return
				}
				r, ok := resp.Swarm[me]
				if !ok || r.OK == nil {
					t.Errorf("no result from the node in %.200s", out)
					return
				}
				want := ed25519.Sign(std, storagerpc.StoreResultSigMessage(resp.Hash))
				if !bytes.Equal(r.OK.Signature[:], want) {
					t.Errorf("store of %s: signature %x, crypto/ed25519 gives %x", resp.Hash, r.OK.Signature, want)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d answers signed in %d batches of two or more", n.signer.batched.Load(), n.signer.batches.Load())
}

// TestStoreSignedWithPooledNonces: a node that syncs its log holding its
// P makes signing nonces while the disk writes (key.NoncePool), and its
// store answers, signed with them, verify; no two share an R.
func TestStoreSignedWithPooledNonces(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA}, nil, func(c *Config) { c.SyncHoldsP = true })
	n := tn.nodes[0]
	u := userIn(t, []uint64{swarmA}, swarmA)
	pub := n.keys.Ed25519Public()
	seen := map[[32]byte]bool{}
	pooled := 0
	for i := range 40 {
		data := randomData(t, 100+i)
		st, body := do(t, n, u.store(0, data, time.Hour))
		if st != 200 {
			t.Fatalf("store %d: %d %s", i, st, body)
		}
		var resp storagerpc.SwarmResponse[storagerpc.StoreResult]
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		hash := storagerpc.MessageHash(u.acct, 0, data)
		r := resp.Swarm[pub.String()]
		if r.OK == nil || r.OK.Hash != hash {
			t.Fatalf("store %d: %s", i, body)
		}
		msg := storagerpc.StoreResultSigMessage(hash)
		if !storagerpc.VerifyResult(pub, msg, r.OK.Signature) {
			t.Fatalf("store %d: the node's signature does not verify", i)
		}
		sig := [64]byte(r.OK.Signature)
		if R := [32]byte(sig[:32]); seen[R] {
			t.Fatalf("store %d: R used before", i)
		} else {
			seen[R] = true
		}
		if n.keys.Sign(msg) != sig {
			pooled++
		}
	}
	if runtime.GOOS == "linux" && pooled == 0 {
		t.Fatal("no answer was signed with a pooled nonce")
	}
	t.Logf("%d of 40 answers signed with pooled nonces", pooled)
}
