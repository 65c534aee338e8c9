package snode

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"sotto.dev/key"
	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// Long-poll retrieve (docs/longpoll.md): a top-level retrieve may carry
// "wait_ms"; when the node has nothing to return it holds the request
// until a message for that account and namespace is stored here (by a
// client, a swarm peer's forwarded store, or anti-entropy), or the wait
// ends. wait_ms is not signed and not in Session's RPC; Session nodes
// ignore it.

const (
	// MaxLongPoll is the longest a retrieve is held (docs/longpoll.md: it
	// must stay inside the 30 s timeouts of an onion path).
	MaxLongPoll = 25 * time.Second
	// maxHeldPerKey bounds held retrieves per account and namespace: a
	// user's few devices.
	maxHeldPerKey = 8
	// maxHeldPerGroup is the bound for a closed group's account (03): every
	// member polls the group's swarm, so a node of a 1,000-member group's
	// swarm of five to seven holds about 200 of them per namespace
	// (docs/longpoll.md). The node-wide bound (Limits.MaxHeldRetrieves)
	// still caps the total.
	maxHeldPerGroup = 512
)

// heldBound is the per-account, per-namespace bound on held retrieves.
func heldBound(acct store.Account) int {
	if key.Prefix(acct[0]) == key.PrefixGroup {
		return maxHeldPerGroup
	}
	return maxHeldPerKey
}

// parseWait reads "wait_ms" from retrieve params. The codec does not know
// the extension, so it is read here from the raw params: absent or 0 means
// no wait, values above MaxLongPoll are lowered to it, anything but a
// non-negative integer is a 400.
func parseWait(params json.RawMessage) (time.Duration, error) {
	wait, ok := storagerpc.ParamsMember(params, "wait_ms")
	if !ok || bytes.Equal(wait, []byte("null")) {
		return 0, nil
	}
	ms, err := strconv.ParseInt(string(wait), 10, 64)
	if err != nil || ms < 0 {
		return 0, storagerpc.InvalidRequest("wait_ms")
	}
	return min(time.Duration(ms)*time.Millisecond, MaxLongPoll), nil
}

type waitKey struct {
	acct store.Account
	ns   int16
}

type waitEntry struct {
	ch chan struct{} // closed when a message arrives
	n  int           // requests holding it
}

// waiters are the held retrieves, woken by the store's OnLive hook.
type waiters struct {
	max int

	mu    sync.Mutex
	m     map[waitKey]*waitEntry
	total int
}

func newWaiters(max int) *waiters { return &waiters{max: max, m: make(map[waitKey]*waitEntry)} }

// hold registers a held request; ok is false when the bounds are reached
// (the request is then answered at once).
func (w *waiters) hold(k waitKey) (ch <-chan struct{}, release func(), ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.m[k]
	if w.total >= w.max || (e != nil && e.n >= heldBound(k.acct)) {
		return nil, nil, false
	}
	if e == nil {
		e = &waitEntry{ch: make(chan struct{})}
		w.m[k] = e
	}
	e.n++
	w.total++
	return e.ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.total--
		e.n--
		if e.n == 0 && w.m[k] == e {
			delete(w.m, k)
		}
	}, true
}

// wake releases every request held for k.
func (w *waiters) wake(acct store.Account, ns int16) {
	k := waitKey{acct, ns}
	w.mu.Lock()
	defer w.mu.Unlock()
	if e := w.m[k]; e != nil {
		close(e.ch)
		delete(w.m, k)
	}
}

func (w *waiters) held() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.total
}

// maxBatchWaits bounds the retrieves of one held batch.
const maxBatchWaits = 10

// retrieveBatch reports whether p is a batch (not a sequence) of at most
// maxBatchWaits retrieves, and the keys they would wait on.
func retrieveBatch(p *storagerpc.BatchParams) ([]waitKey, bool) {
	if p.Sequence || len(p.Requests) == 0 || len(p.Requests) > maxBatchWaits {
		return nil, false
	}
	keys := make([]waitKey, len(p.Requests))
	for i, r := range p.Requests {
		rp, ok := r.(*storagerpc.RetrieveParams)
		if !ok {
			return nil, false
		}
		keys[i] = waitKey{storeAccount(rp.Account), int16(rp.Namespace)}
	}
	return keys, true
}

// batchEmpty reports whether every result is a 200 retrieve answer with
// no messages.
func batchEmpty(results []storagerpc.BatchResult) bool {
	for _, r := range results {
		if r.Code != 200 {
			return false
		}
		var resp struct {
			Messages []json.RawMessage `json:"messages"`
		}
		if json.Unmarshal(r.Body, &resp) != nil || len(resp.Messages) > 0 {
			return false
		}
	}
	return true
}

// batchLongPoll is the long poll of a batch of retrieves (a Sotto client
// retrieving its messages and its config namespaces in one request,
// docs/longpoll.md): when every retrieve comes back empty, the batch is
// held until a message is stored for any of their accounts and
// namespaces, or c.wait passes, and then runs again. Past the node's
// bounds it answers at once.
func (n *Node) batchLongPoll(ctx context.Context, c *call, p *storagerpc.BatchParams, keys []waitKey) (int, any, error) {
	results := n.runBatch(ctx, c, p)
	if !batchEmpty(results) {
		return 200, &storagerpc.BatchResponse{Results: results}, nil
	}
	var chans []<-chan struct{}
	for _, k := range keys {
		ch, release, ok := n.waiters.hold(k)
		if !ok {
			n.met.rateLimited.WithLabelValues("long_poll").Inc()
			return 200, &storagerpc.BatchResponse{Results: results}, nil
		}
		defer release()
		chans = append(chans, ch)
	}
	n.met.heldRetrieves.Inc()
	defer n.met.heldRetrieves.Dec()
	// A message stored before we registered would not wake us: run once
	// more now that we are.
	again := n.newCall(n.now())
	if results = n.runBatch(ctx, again, p); !batchEmpty(results) {
		return 200, &storagerpc.BatchResponse{Results: results}, nil
	}
	woke := make(chan struct{}, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	for _, ch := range chans {
		wg.Go(func() {
			select {
			case <-ch:
				select {
				case woke <- struct{}{}:
				default:
				}
			case <-stop:
			}
		})
	}
	t := time.NewTimer(c.wait)
	defer t.Stop()
	select {
	case <-woke:
	case <-t.C:
	case <-ctx.Done():
		return 200, &storagerpc.BatchResponse{Results: results}, nil
	}
	return 200, &storagerpc.BatchResponse{Results: n.runBatch(ctx, n.newCall(n.now()), p)}, nil
}
