package snode

import (
	"sync"
	"testing"

	"sotto.dev/storagerpc"
)

// TestForgedSignaturesAmongHonest is an attacker sending retrieves for
// honest users' accounts with forged signatures while the users poll, all
// at once, so that the node checks the signatures in shared batches
// (storagerpc.SigBatcher): no forged request may pass, and no honest one
// may fail because a forged one shared its batch.
func TestForgedSignaturesAmongHonest(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA}, nil, nil)
	n := tn.live()[0].node
	ctx := t.Context()
	users := make([]*user, 8)
	for i := range users {
		users[i] = newUser(t)
	}
	// forge returns a retrieve for u's account that u did not sign: its
	// signature spoilt by one bit, or u's valid signature of a store
	// replayed on a retrieve.
	forge := func(u *user, k int) []byte {
		req := u.retrieve(0, "", 0, 0)
		if k%2 == 0 {
			sig := *req.Auth.Signature
			sig[k%64] ^= 1 << (k % 8)
			req.Auth.Signature = &sig
		} else {
			other := u.auth(storagerpc.StoreSigMessage(0, req.Timestamp))
			req.Auth = other
		}
		body, err := storagerpc.EncodeRequest(req)
		if err != nil {
			t.Error(err) // called from the workers: no Fatal
		}
		return body
	}
	honest := func(u *user) []byte {
		body, err := storagerpc.EncodeRequest(u.retrieve(0, "", 0, 0))
		if err != nil {
			t.Error(err)
		}
		return body
	}
	const rounds = 40
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := users[w%len(users)]
			for k := range rounds {
				if w%2 == 0 {
					if st, out := n.HandleRPC(ctx, honest(u)); st != 200 {
						t.Errorf("honest retrieve: %d %.200s", st, out)
					}
				} else if st, out := n.HandleRPC(ctx, forge(u, w+k)); st != 401 {
					t.Errorf("forged retrieve: %d %.200s, want 401", st, out)
				}
			}
		}()
	}
	wg.Wait()
	st := n.sigs.Stats()
	t.Logf("%d signatures checked in %d batches of two or more", st.Signatures, st.Batches)
}
