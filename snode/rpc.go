package snode

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"sotto.dev/ledger"
	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// Version and hard fork a node reports in info, "t"/"hf" and
// get_service_nodes. Sotto tracks Session's storage server 2.x RPC at the
// Session Network hard fork (HF21, service-node-network.md §1.1), so that
// clients gating features on them enable everything Sotto implements.
var (
	storageVersion = [3]int{2, 11, 0}
	hardFork       = [2]int{21, 0}
)

// call is the context of one request as the node executes it.
type call struct {
	now time.Time
	// op is the operation time: assigned here for a client request, taken
	// from the entry node for a forwarded copy.
	op int64
	// fwd is set for a copy forwarded by a swarm peer: it is applied
	// locally only and answered with this node's own result.
	fwd bool
	mem *membership
	// wait is a long-poll retrieve's wait_ms (top-level retrieves only).
	wait time.Duration
}

func (n *Node) newCall(now time.Time) *call {
	return &call{now: now, op: n.opTime(now), mem: n.mem.Load()}
}

func (n *Node) nodeTime(now time.Time) storagerpc.NodeTime {
	return storagerpc.NodeTime{T: now.UnixMilli(), HF: hardFork}
}

func storeAccount(a storagerpc.Account) store.Account { return store.Account(a.Bytes()) }

// HandleRPC executes a storage RPC request body ({"method", "params"}) as
// /storage_rpc/v1 does, without the per-IP rate limit: it is the entry
// point of onion requests whose final hop is this node. It returns the
// HTTP status and the response body: JSON for successes (and for 421,
// whose body is the correct swarm), plain text for other errors.
func (n *Node) HandleRPC(ctx context.Context, body []byte) (status int, respBody []byte) {
	start := time.Now()
	method, status, out, _ := n.handleRPC(ctx, body)
	n.met.request(method, status, time.Since(start).Seconds())
	return status, out
}

// handleRPC decodes and executes one client request; method is the
// canonical method name for metrics ("invalid" when undecodable).
func (n *Node) handleRPC(ctx context.Context, body []byte) (method string, status int, out []byte, isJSON bool) {
	method, params, err := storagerpc.DecodeRequest(body)
	if err != nil {
		st, b, j := encodeReply(0, nil, err)
		return "invalid", st, b, j
	}
	req, err := storagerpc.ParseParams(method, params)
	if err != nil {
		st, b, j := encodeReply(0, nil, err)
		return method, st, b, j
	}
	c := n.newCall(n.now())
	if method == storagerpc.MethodRetrieve || method == storagerpc.MethodBatch {
		if c.wait, err = parseWait(params); err != nil {
			st, b, j := encodeReply(0, nil, err)
			return method, st, b, j
		}
	}
	st, val, err := n.dispatch(ctx, c, req)
	st, b, j := encodeReply(st, val, err)
	return method, st, b, j
}

// encodeReply turns a handler's answer into a status and a body, JSON or
// plain text.
func encodeReply(status int, val any, err error) (int, []byte, bool) {
	if err != nil {
		st, msg := storagerpc.StatusOf(err)
		var e *storagerpc.Error
		if errors.As(err, &e) && e.Body != nil {
			if b, jerr := json.Marshal(e.Body); jerr == nil {
				return st, b, true
			}
		}
		return st, []byte(msg), false
	}
	b, jerr := marshal(val)
	if jerr != nil {
		st, msg := storagerpc.StatusOf(jerr)
		return st, []byte(msg), false
	}
	return status, b, true
}

// marshal encodes a response. A value with its own MarshalJSON (the
// codec's hand-written encoders) is used as is, skipping the validation
// pass json.Marshal makes over such output.
func marshal(v any) ([]byte, error) {
	if m, ok := v.(json.Marshaler); ok {
		return m.MarshalJSON()
	}
	return json.Marshal(v)
}

// dispatch executes a parsed request.
func (n *Node) dispatch(ctx context.Context, c *call, req storagerpc.Request) (int, any, error) {
	switch p := req.(type) {
	case *storagerpc.InfoParams:
		return 200, &storagerpc.InfoResponse{Version: storageVersion, Timestamp: c.now.UnixMilli(), NodeTime: n.nodeTime(c.now)}, nil
	case *storagerpc.GetSwarmParams:
		resp := c.mem.swarmResponse(p.Account.Key())
		resp.NodeTime = n.nodeTime(c.now)
		return 200, &resp, nil
	case *storagerpc.OxendRequestParams:
		return n.oxendRequest(ctx, c, p)
	case *storagerpc.BatchParams:
		return n.batch(ctx, c, p)
	case *storagerpc.IfElseParams:
		return n.ifElse(ctx, c, p)
	case *storagerpc.RetrieveParams:
		return n.retrieve(ctx, c, p)
	case *storagerpc.GetExpiriesParams:
		return n.getExpiries(ctx, c, p)
	case *storagerpc.StoreParams:
		return n.doStore(ctx, c, p)
	case *storagerpc.DeleteParams:
		return n.doDelete(ctx, c, p)
	case *storagerpc.DeleteAllParams:
		return n.doDeleteAll(ctx, c, p)
	case *storagerpc.DeleteBeforeParams:
		return n.doDeleteBefore(ctx, c, p)
	case *storagerpc.ExpireParams:
		return n.doExpire(ctx, c, p)
	case *storagerpc.ExpireAllParams:
		return n.doExpireAll(ctx, c, p)
	case *storagerpc.RevokeSubaccountParams:
		return n.doRevoke(ctx, c, p.Account, p.Tokens, p.Timestamp, p, true)
	case *storagerpc.UnrevokeSubaccountParams:
		return n.doRevoke(ctx, c, p.Account, p.Tokens, p.Timestamp, p, false)
	}
	return 0, nil, storagerpc.BadRequest("no method " + req.Method())
}

// errNotReady is Session's 503 for a node outside every swarm.
func errNotReady(reason string) error {
	return storagerpc.Unavailable("Service node is not ready: " + reason)
}

// checkOwner answers 503 when we are in no swarm and 421 (with the right
// swarm) when the account belongs to another swarm.
func (n *Node) checkOwner(c *call, acct storagerpc.Account) error {
	if _, ok := c.mem.mySwarm(); !ok {
		return errNotReady("not in any swarm")
	}
	if !c.mem.owns(acct.Key()) {
		resp := c.mem.swarmResponse(acct.Key())
		resp.NodeTime = n.nodeTime(c.now)
		return storagerpc.Misdirected(&resp)
	}
	return nil
}

// checkOptions gives Check the revocation list. A failed lookup counts as
// revoked: access is refused rather than granted on a database error.
func (n *Node) checkOptions(ctx context.Context, c *call) storagerpc.CheckOptions {
	return storagerpc.CheckOptions{
		Forwarded: c.fwd,
		Keys:      n.keyCache,
		Grants:    n.grants,
		Sigs:      n.sigs,
		Revoked: func(acct storagerpc.Account, tok storagerpc.SubaccountToken) bool {
			r, err := n.store.IsRevoked(ctx, storeAccount(acct), [store.TokenSize]byte(tok))
			return err != nil || r
		},
	}
}

// admit runs the owner check and the method's Check.
func (n *Node) admit(ctx context.Context, c *call, acct storagerpc.Account, req storagerpc.Request) error {
	if err := n.checkOwner(c, acct); err != nil {
		return err
	}
	return req.Check(c.now, n.checkOptions(ctx, c))
}

// readable answers 503 while the node still pulls its swarm's data.
func (n *Node) readable(c *call) error {
	if n.sync.syncing(c.now) {
		return errNotReady("not done syncing")
	}
	return nil
}

func (n *Node) retrieve(ctx context.Context, c *call, p *storagerpc.RetrieveParams) (int, any, error) {
	if err := n.admit(ctx, c, p.Account, p); err != nil {
		return 0, nil, err
	}
	if err := n.readable(c); err != nil {
		return 0, nil, err
	}
	maxCount, maxSize := p.Limits()
	q := store.RetrieveQuery{
		Account: storeAccount(p.Account), Namespace: int16(p.Namespace), LastHash: p.LastHash,
		MaxCount: maxCount, MaxSize: maxSize, Now: c.now.UnixMilli(),
	}
	msgs, more, err := n.store.Retrieve(ctx, q)
	if err == nil && len(msgs) == 0 && c.wait > 0 {
		msgs, more, err = n.longPoll(ctx, c, q)
	}
	if err != nil {
		n.log.Error("retrieve failed", "err", err)
		return 0, nil, storagerpc.Internal("Internal Server Error. Could not retrieve messages")
	}
	now := c.now
	if c.wait > 0 {
		now = n.now()
	}
	resp := &storagerpc.RetrieveResponse{Messages: make([]storagerpc.RetrievedMessage, len(msgs)), More: more, NodeTime: n.nodeTime(now)}
	for i, m := range msgs {
		resp.Messages[i] = storagerpc.RetrievedMessage{Hash: m.Hash, Timestamp: m.Timestamp, Expiration: m.Expiry, Data: m.Data}
	}
	return 200, resp, nil
}

// longPoll holds an empty retrieve until a message arrives for its
// account and namespace or c.wait passes, then retrieves again. Past the
// node's bounds it answers at once.
func (n *Node) longPoll(ctx context.Context, c *call, q store.RetrieveQuery) ([]store.Message, bool, error) {
	ch, release, ok := n.waiters.hold(waitKey{q.Account, q.Namespace})
	if !ok {
		n.met.rateLimited.WithLabelValues("long_poll").Inc()
		return nil, false, nil
	}
	defer release()
	n.met.heldRetrieves.Inc()
	defer n.met.heldRetrieves.Dec()
	// A message stored between the first retrieve and hold would not wake
	// us: look once more now that we are registered.
	if msgs, more, err := n.store.Retrieve(ctx, q); err != nil || len(msgs) > 0 {
		return msgs, more, err
	}
	t := time.NewTimer(c.wait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
		return nil, false, nil
	}
	q.Now = n.now().UnixMilli()
	return n.store.Retrieve(ctx, q)
}

func (n *Node) getExpiries(ctx context.Context, c *call, p *storagerpc.GetExpiriesParams) (int, any, error) {
	if err := n.admit(ctx, c, p.Account, p); err != nil {
		return 0, nil, err
	}
	if err := n.readable(c); err != nil {
		return 0, nil, err
	}
	ex, err := n.store.GetExpiries(ctx, storeAccount(p.Account), p.Messages, c.now.UnixMilli())
	if err != nil {
		n.log.Error("get_expiries failed", "err", err)
		return 0, nil, storagerpc.Internal("request failed")
	}
	return 200, &storagerpc.GetExpiriesResponse{Expiries: ex}, nil
}

// batch runs batch subrequests concurrently and sequence subrequests in
// order, stopping after the first result outside 2xx. Each subrequest is
// an operation of its own (own operation time and checks).
func (n *Node) batch(ctx context.Context, c *call, p *storagerpc.BatchParams) (int, any, error) {
	if keys, ok := retrieveBatch(p); ok && c.wait > 0 {
		return n.batchLongPoll(ctx, c, p, keys)
	}
	return 200, &storagerpc.BatchResponse{Results: n.runBatch(ctx, c, p)}, nil
}

func (n *Node) runBatch(ctx context.Context, c *call, p *storagerpc.BatchParams) []storagerpc.BatchResult {
	results := make([]storagerpc.BatchResult, len(p.Requests))
	if p.Sequence {
		for i, req := range p.Requests {
			results[i] = n.subrequest(ctx, c, req)
			if st := results[i].Code; st < 200 || st > 299 {
				results = results[:i+1]
				break
			}
		}
	} else {
		var wg sync.WaitGroup
		for i, req := range p.Requests {
			wg.Go(func() { results[i] = n.subrequest(ctx, c, req) })
		}
		wg.Wait()
	}
	return results
}

// subrequest runs one request of a batch, sequence or ifelse as an
// operation of its own (own operation time and checks) and returns its
// status and body.
func (n *Node) subrequest(ctx context.Context, c *call, req storagerpc.Request) storagerpc.BatchResult {
	sub := &call{now: c.now, op: n.opTime(c.now), fwd: c.fwd, mem: c.mem}
	st, val, err := n.dispatch(ctx, sub, req)
	if err != nil {
		var e *storagerpc.Error
		if errors.As(err, &e) && e.Body != nil {
			st, _ = storagerpc.StatusOf(err)
			if r, jerr := storagerpc.NewBatchResult(st, e.Body); jerr == nil {
				return r
			}
		}
		return storagerpc.ErrorBatchResult(err)
	}
	r, jerr := storagerpc.NewBatchResult(st, val)
	if jerr != nil {
		return storagerpc.ErrorBatchResult(jerr)
	}
	return r
}

// ifElse evaluates an ifelse condition on this node's hard fork, version
// and view height, and runs the branch taken (Session's oxenss
// RequestHandler for ifelse: always 200, the branch's own outcome in
// "result", no "result" when that branch is empty).
func (n *Node) ifElse(ctx context.Context, c *call, p *storagerpc.IfElseParams) (int, any, error) {
	var height int64
	if c.mem.snap != nil {
		height = int64(c.mem.snap.Height)
	}
	resp := &storagerpc.IfElseResponse{HF: hardFork, V: storageVersion, Height: height, Condition: p.If.Holds(hardFork, storageVersion, height)}
	branch := p.Else
	if resp.Condition {
		branch = p.Then
	}
	if branch != nil {
		r := n.subrequest(ctx, c, branch)
		resp.Result = &r
	}
	return 200, resp, nil
}

// ---- recursive methods ----

// sortedNS turns store results into the response form: a sorted list for
// one namespace, or the per-namespace object for "all".
func sortedNS(hs []store.NSHash, all bool) storagerpc.NamespaceHashes {
	if all {
		m := make(map[storagerpc.Namespace][]string)
		for _, h := range hs {
			m[storagerpc.Namespace(h.Namespace)] = append(m[storagerpc.Namespace(h.Namespace)], h.Hash)
		}
		return storagerpc.NewNamespaceHashes(m)
	}
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Hash
	}
	slices.Sort(out)
	return storagerpc.NamespaceHashes{Hashes: out}
}

func nsSel(s storagerpc.NamespaceSel) *int16 {
	if s.All {
		return nil
	}
	ns := int16(s.NS)
	return &ns
}

// localFailure is this node's failed entry after a store error.
func (n *Node) localFailure(what string, err error) *storagerpc.NodeFailure {
	reason := "error"
	if errors.Is(err, store.ErrFull) {
		reason = "full"
		n.log.Warn("store is full; refusing writes", "op", what)
	} else {
		n.log.Error("local "+what+" failed", "err", err)
	}
	n.met.storeFailures.WithLabelValues(reason).Inc()
	return &storagerpc.NodeFailure{Failed: true, QueryFailure: true}
}

// sign signs an answer with the node key, in a batch with the answers
// being signed at the same time (signbatch.go).
func (n *Node) sign(msg []byte) storagerpc.Signature {
	return storagerpc.Signature(n.signer.sign(msg))
}

func (n *Node) doStore(ctx context.Context, c *call, p *storagerpc.StoreParams) (int, any, error) {
	if err := n.admit(ctx, c, p.Account, p); err != nil {
		return 0, nil, err
	}
	hash := p.Hash()
	// A store where anyone may store (public inboxes) needs no proof
	// (proof.go); elsewhere the signed request is kept for peers.
	var proof []byte
	if p.Namespace.StoreNeedsAuth() {
		proof = makeProof(p)
	}
	local := func() (*storagerpc.StoreResult, *storagerpc.NodeFailure) {
		// The answer's signature covers only the hash: it is made while
		// the store is committed, and sent only if the commit succeeds.
		var sig storagerpc.Signature
		res, exp, err := n.store.StoreWhile(ctx, store.Message{
			Account: storeAccount(p.Account), Namespace: int16(p.Namespace), Hash: hash,
			Timestamp: p.Timestamp, Expiry: p.Expiry, Data: p.Data, StoreProof: proof,
		}, c.op, func() { sig = n.sign(storagerpc.StoreResultSigMessage(hash)) })
		if err != nil {
			return nil, n.localFailure("store", err)
		}
		r := &storagerpc.StoreResult{Hash: hash, Signature: sig, Expiry: exp, Already: res != store.New}
		if !c.fwd {
			r.T = c.now.UnixMilli() // Session's deprecated copy in the entry node's own result
		}
		return r, nil
	}
	resp, direct := recursiveWith(ctx, n, c, local, func(ctx context.Context, peer *ledger.Node) storagerpc.NodeResult[storagerpc.StoreResult] {
		return n.forwardStore(ctx, peer, fwdStore{Op: c.op, Params: p}, hash)
	})
	if direct != nil {
		return 200, direct, nil
	}
	resp.Hash = hash
	return resp.Status(), resp, nil
}

func (n *Node) doDelete(ctx context.Context, c *call, p *storagerpc.DeleteParams) (int, any, error) {
	if err := n.admit(ctx, c, p.Account, p); err != nil {
		return 0, nil, err
	}
	local := func() (*storagerpc.DeleteResult, *storagerpc.NodeFailure) {
		deleted, err := n.store.DeleteByHash(ctx, storeAccount(p.Account), p.Messages, c.op, makeProof(p))
		if err != nil {
			return nil, n.localFailure("delete", err)
		}
		slices.Sort(deleted)
		if deleted == nil {
			deleted = []string{}
		}
		return &storagerpc.DeleteResult{Deleted: deleted, Signature: n.sign(storagerpc.DeleteResultSigMessage(p.Account, p.Messages, deleted))}, nil
	}
	resp, direct := recursive(ctx, n, c, p, local)
	if direct != nil {
		return 200, direct, nil
	}
	return storagerpc.DeleteStatus(resp, p.Required), resp, nil
}

func (n *Node) doDeleteAll(ctx context.Context, c *call, p *storagerpc.DeleteAllParams) (int, any, error) {
	if err := n.admit(ctx, c, p.Account, p); err != nil {
		return 0, nil, err
	}
	local := func() (*storagerpc.DeleteAllResult, *storagerpc.NodeFailure) {
		hs, err := n.store.DeleteAll(ctx, storeAccount(p.Account), nsSel(p.Namespace), c.op, makeProof(p))
		if err != nil {
			return nil, n.localFailure("delete_all", err)
		}
		d := sortedNS(hs, p.Namespace.All)
		return &storagerpc.DeleteAllResult{Deleted: d, Signature: n.sign(storagerpc.DeleteAllResultSigMessage(p.Account, p.Timestamp, d.Sorted()))}, nil
	}
	return answerRecursive(ctx, n, c, p, local)
}

func (n *Node) doDeleteBefore(ctx context.Context, c *call, p *storagerpc.DeleteBeforeParams) (int, any, error) {
	if err := n.admit(ctx, c, p.Account, p); err != nil {
		return 0, nil, err
	}
	local := func() (*storagerpc.DeleteAllResult, *storagerpc.NodeFailure) {
		hs, err := n.store.DeleteBefore(ctx, storeAccount(p.Account), nsSel(p.Namespace), p.Before, c.op, makeProof(p))
		if err != nil {
			return nil, n.localFailure("delete_before", err)
		}
		d := sortedNS(hs, p.Namespace.All)
		return &storagerpc.DeleteAllResult{Deleted: d, Signature: n.sign(storagerpc.DeleteBeforeResultSigMessage(p.Account, p.Before, d.Sorted()))}, nil
	}
	return answerRecursive(ctx, n, c, p, local)
}

func (n *Node) doExpireAll(ctx context.Context, c *call, p *storagerpc.ExpireAllParams) (int, any, error) {
	if err := n.admit(ctx, c, p.Account, p); err != nil {
		return 0, nil, err
	}
	local := func() (*storagerpc.ExpireAllResult, *storagerpc.NodeFailure) {
		hs, err := n.store.UpdateAllExpiries(ctx, storeAccount(p.Account), nsSel(p.Namespace), p.Expiry, c.op, makeProof(p))
		if err != nil {
			return nil, n.localFailure("expire_all", err)
		}
		u := sortedNS(hs, p.Namespace.All)
		return &storagerpc.ExpireAllResult{Updated: u, Signature: n.sign(storagerpc.ExpireAllResultSigMessage(p.Account, p.Expiry, u.Sorted()))}, nil
	}
	return answerRecursive(ctx, n, c, p, local)
}

func (n *Node) doExpire(ctx context.Context, c *call, p *storagerpc.ExpireParams) (int, any, error) {
	if err := n.admit(ctx, c, p.Account, p); err != nil {
		return 0, nil, err
	}
	local := func() (*storagerpc.ExpireResult, *storagerpc.NodeFailure) {
		// Caps are computed from the operation time so that every member
		// applies the same expiries.
		applied := p.AppliedExpiries(time.UnixMilli(c.op))
		mode := store.ExpiryAny
		switch {
		case p.ExtendOnly():
			mode = store.ExpiryExtendOnly
		case p.Mode == storagerpc.ExpireShorten:
			mode = store.ExpiryShortenOnly
		}
		acct := storeAccount(p.Account)
		up, err := n.store.UpdateExpiry(ctx, acct, p.Messages, applied, mode, c.op, makeProof(p))
		if err != nil {
			return nil, n.localFailure("expire", err)
		}
		slices.SortFunc(up, func(a, b store.HashExpiry) int {
			switch {
			case a.Hash < b.Hash:
				return -1
			case a.Hash > b.Hash:
				return 1
			}
			return 0
		})
		updated := make([]string, len(up))
		for i, u := range up {
			updated[i] = u.Hash
		}
		var unchanged map[string]int64
		if p.Mode != storagerpc.ExpireAny {
			done := make(map[string]bool, len(up))
			for _, u := range up {
				done[u.Hash] = true
			}
			var rest []string
			for _, h := range p.Messages {
				if !done[h] {
					rest = append(rest, h)
				}
			}
			unchanged = map[string]int64{}
			if len(rest) > 0 {
				if unchanged, err = n.store.GetExpiries(ctx, acct, rest, c.op); err != nil {
					return nil, n.localFailure("expire", err)
				}
			}
		}
		exps := storagerpc.Expiries{Multi: len(p.Expiries) > 1}
		if exps.Multi {
			exps.Values = make([]int64, len(up))
			for i, u := range up {
				exps.Values[i] = u.Expiry
			}
		} else {
			exps.Values = []int64{applied[0]}
		}
		sig := n.sign(storagerpc.ExpireResultSigMessage(p.Account, exps.Values, p.Messages, updated, unchanged))
		return &storagerpc.ExpireResult{Expiry: exps, Updated: updated, Unchanged: unchanged, Signature: sig}, nil
	}
	return answerRecursive(ctx, n, c, p, local)
}

func (n *Node) doRevoke(ctx context.Context, c *call, acct storagerpc.Account, tokens []storagerpc.SubaccountToken, ts int64, req storagerpc.Request, revoke bool) (int, any, error) {
	if err := n.admit(ctx, c, acct, req); err != nil {
		return 0, nil, err
	}
	local := func() (*storagerpc.SubaccountResult, *storagerpc.NodeFailure) {
		toks := make([][store.TokenSize]byte, len(tokens))
		for i, t := range tokens {
			toks[i] = [store.TokenSize]byte(t)
		}
		var k int
		var err error
		if revoke {
			_, err = n.store.Revoke(ctx, storeAccount(acct), toks, c.op, makeProof(req))
		} else {
			k, err = n.store.Unrevoke(ctx, storeAccount(acct), toks, c.op, makeProof(req))
		}
		if err != nil {
			return nil, n.localFailure(req.Method(), err)
		}
		r := &storagerpc.SubaccountResult{Signature: n.sign(storagerpc.RevokeResultSigMessage(acct, ts, tokens))}
		if !revoke {
			r.Count = &k
		}
		return r, nil
	}
	resp, direct := recursive(ctx, n, c, req, local)
	if direct != nil {
		return 200, direct, nil
	}
	return resp.Status(), resp, nil
}

// answerRecursive runs a recursive method (local apply plus the swarm) and
// maps its outcome to the handler's (status, body): a forwarded copy
// answers with its own result, the entry node with the swarm's.
func answerRecursive[T any](ctx context.Context, n *Node, c *call, req storagerpc.Request,
	local func() (*T, *storagerpc.NodeFailure)) (int, any, error) {
	resp, direct := recursive(ctx, n, c, req, local)
	if direct != nil {
		return 200, direct, nil
	}
	return resp.Status(), resp, nil
}
