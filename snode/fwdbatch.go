package snode

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"sotto.dev/key"
	"sotto.dev/ledger"
	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// Forwarded stores go to each swarm peer in batches (docs/snode.md,
// "Forwarding"). A store that finds no batch in flight to the peer goes
// at once, in a batch of one: an idle swarm adds no latency. Stores that
// arrive while a batch is in flight wait for it and then leave together,
// so under load each peer gets one request per round trip instead of one
// per store; once fwdMaxItems wait, a second batch goes without waiting
// (at most fwdMaxInFlight at once). No goroutine of its own: the request
// whose store found the peer idle sends the batch, and when it is
// answered hands the next one to a request that waits in it.
const (
	// fwdMaxInFlight is the most batches in flight to one peer.
	fwdMaxInFlight = 2
	// fwdMaxBytes bounds the data of one batch (the peer's body limit is
	// maxPeerBody).
	fwdMaxBytes = 2 << 20
	// fwdLegacyFor is how long a peer that answered 404 (a version without
	// the batch endpoint) gets one request per store before we try again.
	fwdLegacyFor = 10 * time.Minute
)

// fwdPeerSlots bounds the batches one peer may have in progress here: a
// well-behaved sender keeps at most fwdMaxInFlight.
const fwdPeerSlots = 2 * fwdMaxInFlight

// forwarder holds the batching state of each peer.
type forwarder struct {
	mu sync.Mutex
	q  map[key.NodePublic]*fwdQueue
}

func newForwarder() *forwarder { return &forwarder{q: make(map[key.NodePublic]*fwdQueue)} }

func (f *forwarder) queue(k key.NodePublic) *fwdQueue {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.q[k]
	if q == nil {
		q = &fwdQueue{}
		f.q[k] = q
	}
	return q
}

// prune forgets the queues of nodes that are no longer peers and have
// nothing in flight.
func (f *forwarder) prune(keep func(key.NodePublic) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, q := range f.q {
		q.mu.Lock()
		idle := q.inFlight == 0 && len(q.pending) == 0
		q.mu.Unlock()
		if idle && !keep(k) {
			delete(f.q, k)
		}
	}
}

// fwdQueue is one peer's batching state.
type fwdQueue struct {
	mu       sync.Mutex
	pending  []*fwdItem
	inFlight int
	// legacyUntil is set while the peer is known not to speak the batch
	// endpoint.
	legacyUntil time.Time
}

// fwdItem is one store on its way to one peer.
type fwdItem struct {
	fwdStore
	hash string
	// sig receives either the batch this item's request must send (lead)
	// or the peer's answer; buffered, so that senders never block.
	sig chan fwdSignal
}

type fwdSignal struct {
	lead []*fwdItem
	res  storagerpc.NodeResult[storagerpc.StoreResult]
}

// take removes the next batch from pending (under q.mu): up to
// fwdMaxItems stores and fwdMaxBytes of data, at least one.
func (q *fwdQueue) take() []*fwdItem {
	n, size := 0, 0
	for n < len(q.pending) && n < fwdMaxItems {
		size += len(q.pending[n].Params.Data)
		if n > 0 && size > fwdMaxBytes {
			break
		}
		n++
	}
	batch := slices.Clone(q.pending[:n])
	q.pending = slices.Delete(q.pending, 0, n)
	q.inFlight++
	return batch
}

// forwardStore forwards one store to p, batched with the other stores on
// their way to p, and returns p's entry for the swarm answer.
func (n *Node) forwardStore(ctx context.Context, p *ledger.Node, s fwdStore, hash string) storagerpc.NodeResult[storagerpc.StoreResult] {
	q := n.fwd.queue(p.Ed25519)
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Limits.ForwardTimeout.D())
	defer cancel()
	it := &fwdItem{fwdStore: s, hash: hash, sig: make(chan fwdSignal, 1)}
	q.mu.Lock()
	if n.now().Before(q.legacyUntil) {
		q.mu.Unlock()
		return n.forwardStoreJSON(ctx, p, it)
	}
	q.pending = append(q.pending, it)
	var lead []*fwdItem
	if q.inFlight == 0 || len(q.pending) >= fwdMaxItems && q.inFlight < fwdMaxInFlight {
		lead = q.take()
	}
	q.mu.Unlock()
	if lead != nil {
		n.sendStores(p, q, lead)
	}
	for {
		var sig fwdSignal
		select {
		case sig = <-it.sig:
		case <-ctx.Done():
			q.mu.Lock()
			if i := slices.Index(q.pending, it); i >= 0 {
				q.pending = slices.Delete(q.pending, i, i+1)
				q.mu.Unlock()
				// As a single forward would: a timeout, or a client that
				// went away.
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					n.met.forwards.WithLabelValues("timeout").Inc()
					return storagerpc.NodeResult[storagerpc.StoreResult]{Failure: &storagerpc.NodeFailure{Failed: true, Timeout: true}}
				}
				n.met.forwards.WithLabelValues("failed").Inc()
				return storagerpc.NodeResult[storagerpc.StoreResult]{Failure: &storagerpc.NodeFailure{Failed: true, Reason: "request canceled"}}
			}
			q.mu.Unlock()
			// In a batch already: its answer (or the batch to send) comes
			// within that batch's own timeout.
			sig = <-it.sig
		}
		if sig.lead == nil {
			return sig.res
		}
		n.sendStores(p, q, sig.lead)
	}
}

// sendStores sends a batch taken from q, answers each of its items, and
// hands the next batch, if stores wait, to the first of them.
func (n *Node) sendStores(p *ledger.Node, q *fwdQueue, batch []*fwdItem) {
	n.met.fwdBatch.Observe(float64(len(batch)))
	results, legacy := n.postStores(p, batch)
	if legacy {
		q.mu.Lock()
		q.legacyUntil = n.now().Add(fwdLegacyFor)
		q.mu.Unlock()
		n.log.Info("swarm peer has no batch endpoint; forwarding one store per request", "peer", p.Ed25519.String())
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Limits.ForwardTimeout.D())
		var wg sync.WaitGroup
		for i, it := range batch {
			wg.Go(func() { results[i] = n.forwardStoreJSON(ctx, p, it) })
		}
		wg.Wait()
		cancel()
	}
	for i, it := range batch {
		it.sig <- fwdSignal{res: results[i]}
	}
	q.mu.Lock()
	q.inFlight--
	if len(q.pending) > 0 && q.inFlight < fwdMaxInFlight {
		next := q.take()
		next[0].sig <- fwdSignal{lead: next}
	}
	q.mu.Unlock()
}

// postStores sends one batch and turns the answer into each store's
// entry. legacy reports a peer without the batch endpoint (404): results
// are then to be filled in another way.
func (n *Node) postStores(p *ledger.Node, batch []*fwdItem) (results []storagerpc.NodeResult[storagerpc.StoreResult], legacy bool) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Limits.ForwardTimeout.D())
	defer cancel()
	results = make([]storagerpc.NodeResult[storagerpc.StoreResult], len(batch))
	failAll := func(f storagerpc.NodeFailure, result string) ([]storagerpc.NodeResult[storagerpc.StoreResult], bool) {
		f.Failed = true
		n.met.forwards.WithLabelValues(result).Add(float64(len(batch)))
		for i := range results {
			fc := f
			results[i].Failure = &fc
		}
		return results, false
	}
	items := make([]fwdStore, len(batch))
	for i, it := range batch {
		items[i] = it.fwdStore
	}
	st, out, err := n.postBinary(ctx, p, pathForwardStores, appendFwdStores(nil, items))
	switch {
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return failAll(storagerpc.NodeFailure{Timeout: true}, "timeout")
	case err != nil:
		return failAll(storagerpc.NodeFailure{Reason: "peer unreachable"}, "failed")
	case st == http.StatusNotFound:
		return results, true
	case st != http.StatusOK:
		if len(out) > maxPeerRespErr {
			out = out[:maxPeerRespErr]
		}
		return failAll(storagerpc.NodeFailure{Code: st, Reason: string(out)}, "failed")
	}
	answers, err := parseFwdAnswers(out, len(batch))
	if err != nil {
		return failAll(storagerpc.NodeFailure{BadPeerResponse: true}, "failed")
	}
	for i, a := range answers {
		if a.Failure != nil {
			n.met.forwards.WithLabelValues("failed").Inc()
			results[i].Failure = a.Failure
			continue
		}
		n.met.forwards.WithLabelValues("ok").Inc()
		results[i].OK = &storagerpc.StoreResult{Hash: batch[i].hash, Signature: a.OK.Signature, Expiry: a.OK.Expiry, Already: a.OK.Already}
	}
	return results, false
}

// forwardStoreJSON forwards one store in the form every version speaks
// (pathForward, JSON).
func (n *Node) forwardStoreJSON(ctx context.Context, p *ledger.Node, it *fwdItem) storagerpc.NodeResult[storagerpc.StoreResult] {
	params, err := it.Params.MarshalJSON()
	var body []byte
	if err == nil {
		body, err = json.Marshal(forwardEnvelope{Op: it.Op, Method: storagerpc.MethodStore, Params: params})
	}
	if err != nil {
		return storagerpc.NodeResult[storagerpc.StoreResult]{Failure: &storagerpc.NodeFailure{Failed: true, Reason: "could not encode request"}}
	}
	return forward[storagerpc.StoreResult](ctx, n, p, body)
}

// handleForwardStores applies a batch of stores forwarded by a swarm
// peer. Each store is checked as a forwarded copy is (the owner check,
// the store's own Check with its signature); those that pass are stored
// in one group commit, and each gets its own answer.
func (n *Node) handleForwardStores(ctx context.Context, peer key.NodePublic, body []byte) (int, []byte) {
	m := n.mem.Load()
	if !m.isPeer(peer) {
		return http.StatusForbidden, []byte("not a member of this swarm")
	}
	items, err := parseFwdStores(body)
	if err != nil {
		return http.StatusBadRequest, []byte("invalid forward batch")
	}
	now := n.now()
	if !n.fwdLimit.allow(peer, len(items), now) {
		n.met.rateLimited.WithLabelValues("peer_stores").Inc()
		return http.StatusTooManyRequests, []byte("Too many requests")
	}
	answers := make([]fwdAnswer, len(items))
	fail := func(i int, err error) {
		st, msg, _ := encodeReply(0, nil, err)
		answers[i].Failure = &storagerpc.NodeFailure{Failed: true, Code: st, Reason: string(msg)}
	}
	toStore := make([]store.StoreItem, 0, len(items))
	idx := make([]int, 0, len(items))
	hashes := make([]string, len(items))
	for i, it := range items {
		if d := time.Duration(it.Op-now.UnixMilli()) * time.Millisecond; d > maxOpSkew || d < -maxOpSkew {
			fail(i, storagerpc.BadRequest("operation time too far from our clock"))
			continue
		}
		c := &call{now: now, op: it.Op, fwd: true, mem: m}
		p := it.Params
		if err := n.admit(ctx, c, p.Account, p); err != nil {
			fail(i, err)
			continue
		}
		n.met.replLag.Observe(max(0, float64(now.UnixMilli()-it.Op)/1000))
		hashes[i] = p.Hash()
		var proof []byte
		if p.Namespace.StoreNeedsAuth() {
			proof = makeProof(p)
		}
		toStore = append(toStore, store.StoreItem{Op: it.Op, Message: store.Message{
			Account: storeAccount(p.Account), Namespace: int16(p.Namespace), Hash: hashes[i],
			Timestamp: p.Timestamp, Expiry: p.Expiry, Data: p.Data, StoreProof: proof,
		}})
		idx = append(idx, i)
	}
	if len(toStore) > 0 {
		stored := make([]int, 0, len(toStore))
		for k, o := range n.store.StoreMany(ctx, toStore) {
			i := idx[k]
			if o.Err != nil {
				answers[i].Failure = n.localFailure("store", o.Err)
				continue
			}
			answers[i].OK = &fwdStored{Expiry: o.Expiry, Already: o.Result != store.New}
			stored = append(stored, i)
		}
		// The stored results are signed together, in batches of their own.
		msgs := make([][]byte, len(stored))
		for k, i := range stored {
			msgs[k] = storagerpc.StoreResultSigMessage(hashes[i])
		}
		sigs := make([][64]byte, len(stored))
		n.signer.signMany(msgs, sigs)
		for k, i := range stored {
			answers[i].OK.Signature = sigs[k]
		}
	}
	return http.StatusOK, appendFwdAnswers(make([]byte, 0, 3+len(answers)*74), answers)
}
