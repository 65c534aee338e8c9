package snode

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"sotto.dev/key"
	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// Proofs (docs/snode.md, "Trust between nodes"): every row a node holds
// keeps the signed client request that produced its state, so that a peer
// receiving the row by anti-entropy or handoff can check that the owner
// asked for it, instead of taking the sender's word:
//
//   - a live row keeps its store request (without the data, which the
//     row has: Session's store signature covers namespace and time only);
//   - a tombstone keeps the delete, delete_all or delete_before request,
//     or the store that replaced it in a public outbox;
//   - a row whose expiry the owner changed keeps the expire or expire_all
//     request;
//   - a revocation keeps the revoke or unrevoke request.
//
// The receiver re-runs the request's own checks (storagerpc's Check: the
// namespace rules, the TTL, the signature, subaccount rights against its
// current revocations) as of the row's operation time, so the 60-second
// freshness window of client requests binds the row's mtime to the time
// the owner signed, and then checks that the request explains the row.
// A message row's mtime names only the quantum of its operation
// (mtimeQuantum), so its request is checked as of a time within that
// quantum (checkInQuantum).

// proof is the stored and wire form of a signed request.
type proof struct {
	Method string          `json:"m"`
	Params json.RawMessage `json:"p"`
}

// makeProof encodes req as a proof; a store loses its data.
func makeProof(req storagerpc.Request) []byte {
	if p, ok := req.(*storagerpc.StoreParams); ok && len(p.Data) > 0 {
		c := *p
		c.Data = nil
		req = &c
	}
	params, err := req.MarshalJSON()
	if err != nil {
		return nil
	}
	b, err := json.Marshal(proof{Method: req.Method(), Params: params})
	if err != nil {
		return nil
	}
	return b
}

// parseProof decodes a proof back into its request.
func parseProof(b []byte) (storagerpc.Request, bool) {
	var p proof
	if len(b) == 0 || json.Unmarshal(b, &p) != nil {
		return nil, false
	}
	req, err := storagerpc.ParseParams(p.Method, p.Params)
	return req, err == nil
}

// Reasons a received change is refused
// (snode_antientropy_refused_total{reason}).
const (
	refusedAccount = "account"   // malformed, or not an account of our swarm
	refusedHash    = "hash"      // malformed hash, or data that does not hash to it
	refusedTime    = "time"      // operation or message time in the future
	refusedTTL     = "ttl"       // expiry beyond what the namespace allows
	refusedNoProof = "no_proof"  // no signed request where one is needed
	refusedProof   = "bad_proof" // the request does not verify or does not explain the row
)

// maxPeerSkew is how far in the future a replicated row's times may be.
const maxPeerSkew = 2 * time.Minute

// proofChecker checks received rows against their proofs.
type proofChecker struct {
	now  int64 // Unix ms
	opts storagerpc.CheckOptions
	mem  *membership
}

func (n *Node) newProofChecker(ctx context.Context, m *membership, now time.Time) *proofChecker {
	opts := n.checkOptions(ctx, &call{now: now, mem: m})
	opts.Forwarded = true
	return &proofChecker{now: now.UnixMilli(), opts: opts, mem: m}
}

// needsStoreProof reports whether a live row in ns must carry its owner's
// signed store request: everywhere but the public inboxes, where anyone may
// store.
func needsStoreProof(ns int16) bool { return storagerpc.Namespace(ns).StoreNeedsAuth() }

// provable reports whether a row carries the proofs a receiver will ask
// for; rows stored before proofs were kept may not, and are not sent.
func provable(r *store.Record) bool {
	if r.Deleted {
		return r.ChangeProof != nil
	}
	return r.StoreProof != nil || !needsStoreProof(r.Namespace)
}

// record checks one received row; it returns "" or the refusal reason.
func (pc *proofChecker) record(r *store.Record) string {
	if !owned(pc.mem, r.Account) {
		return refusedAccount
	}
	if !storagerpc.ValidMessageHash(r.Hash) {
		return refusedHash
	}
	skew := maxPeerSkew.Milliseconds()
	if r.MTime > pc.now+skew || r.Timestamp > pc.now+skew {
		return refusedTime
	}
	ns := storagerpc.Namespace(r.Namespace)
	acct := storagerpc.NewAccount(key.Prefix(r.Account[0]), [32]byte(r.Account[1:]))
	if !r.Deleted && storagerpc.MessageHash(acct, ns, r.Data) != r.Hash {
		return refusedHash
	}
	// expiry ≤ timestamp + the namespace's maximum TTL; a row whose expiry
	// the owner changed (or a tombstone of one) may reach Session's expire
	// cap, the operation time + 30 days. A tombstone's operation lies in
	// its mtime's quantum; an expiry change keeps the quantum of the row's
	// store (store/writer.go, stampExpiry), so its operation is known only
	// to be no later than now.
	limit := addMs(r.Timestamp, ns.MaxTTL())
	if r.ChangeProof != nil {
		op := quantumStart(r.MTime) + mtimeQuantum.Milliseconds()
		if !r.Deleted {
			op = max(op, pc.now+skew)
		}
		limit = max(limit, addMs(op, storagerpc.MaxTTLPrivate))
	}
	if r.Expiry > limit {
		return refusedTTL
	}
	if r.Deleted {
		return pc.tombstone(acct, r)
	}
	return pc.live(acct, r)
}

func addMs(t int64, d time.Duration) int64 { return t + d.Milliseconds() }

// check runs req's own checks as of time at (Unix ms).
func (pc *proofChecker) check(req storagerpc.Request, acct storagerpc.Account, at int64) bool {
	owner, ok := req.Owner()
	return ok && owner == acct && req.Check(time.UnixMilli(at), pc.opts) == nil
}

// checkInQuantum runs req's own checks as of some time in the quantum of
// a message row's mtime, where the operation time the entry node checked
// the request at lies: the request's own signed times brought into the
// quantum (where its clock window is centred), then the quantum's first
// and last millisecond (where the one-sided bounds, on an expiry or a
// before, hold if they hold anywhere in it).
func (pc *proofChecker) checkInQuantum(req storagerpc.Request, acct storagerpc.Account, mtime int64) bool {
	owner, ok := req.Owner()
	if !ok || owner != acct {
		return false
	}
	lo := quantumStart(mtime)
	hi := max(lo+mtimeQuantum.Milliseconds()-1, mtime)
	var at []int64
	switch p := req.(type) {
	case *storagerpc.StoreParams:
		if p.Auth.Signature != nil {
			at = append(at, p.SigTimestamp)
		}
		at = append(at, p.Timestamp)
	case *storagerpc.DeleteAllParams:
		at = append(at, p.Timestamp)
	}
	for i := range at {
		at[i] = min(max(at[i], lo), hi)
	}
	at = append(at, lo, hi)
	for i, t := range at {
		if slices.Contains(at[:i], t) {
			continue
		}
		if req.Check(time.UnixMilli(t), pc.opts) == nil {
			return true
		}
	}
	return false
}

// live checks a live row: its store request, and the expiry change if the
// owner made one since.
func (pc *proofChecker) live(acct storagerpc.Account, r *store.Record) string {
	if r.StoreProof == nil && needsStoreProof(r.Namespace) {
		return refusedNoProof
	}
	if r.StoreProof != nil {
		req, ok := parseProof(r.StoreProof)
		sp, isStore := req.(*storagerpc.StoreParams)
		if !ok || !isStore || int16(sp.Namespace) != r.Namespace || r.Timestamp > sp.Timestamp {
			return refusedProof
		}
		if r.ChangeProof == nil {
			// The row is the state that store left: its expiry, at the
			// operation time the entry node checked the request at (so
			// within the signature window of it).
			if r.Expiry != sp.Expiry || !pc.checkInQuantum(sp, acct, r.MTime) {
				return refusedProof
			}
			return ""
		}
		// The expiry changed since: the store is checked as of the time
		// the owner signed it.
		at := sp.Timestamp
		if sp.Auth.Signature != nil {
			at = sp.SigTimestamp
		}
		if !pc.check(sp, acct, at) {
			return refusedProof
		}
	}
	if r.ChangeProof == nil {
		return "" // a public inbox row stored before proofs were kept
	}
	req, ok := parseProof(r.ChangeProof)
	if !ok {
		return refusedProof
	}
	switch p := req.(type) {
	case *storagerpc.ExpireParams:
		i := slices.Index(p.Messages, r.Hash)
		if i < 0 || (len(p.Expiries) != 1 && len(p.Expiries) != len(p.Messages)) {
			return refusedProof
		}
		want := p.Expiries[0]
		if len(p.Expiries) > 1 {
			want = p.Expiries[i]
		}
		if r.Expiry > want {
			return refusedProof
		}
	case *storagerpc.ExpireAllParams:
		if !selects(p.Namespace, r.Namespace) || r.Expiry > p.Expiry {
			return refusedProof
		}
	default:
		return refusedProof
	}
	if !pc.checkInQuantum(req, acct, r.MTime) {
		return refusedProof
	}
	return ""
}

// tombstone checks a deleted row against the request that deleted it.
func (pc *proofChecker) tombstone(acct storagerpc.Account, r *store.Record) string {
	if r.ChangeProof == nil {
		return refusedNoProof
	}
	req, ok := parseProof(r.ChangeProof)
	if !ok {
		return refusedProof
	}
	switch p := req.(type) {
	case *storagerpc.DeleteParams:
		ok = slices.Contains(p.Messages, r.Hash)
	case *storagerpc.DeleteAllParams:
		ok = selects(p.Namespace, r.Namespace)
	case *storagerpc.DeleteBeforeParams:
		ok = selects(p.Namespace, r.Namespace) && r.Timestamp <= p.Before
	case *storagerpc.StoreParams:
		// A store to a public outbox replaces the namespace's messages.
		ok = int16(p.Namespace) == r.Namespace && p.Namespace.IsPublicOutbox()
	default:
		ok = false
	}
	if !ok || !pc.checkInQuantum(req, acct, r.MTime) {
		return refusedProof
	}
	return ""
}

// revocation checks a revocation state against the signed request.
func (pc *proofChecker) revocation(r *store.Revocation) string {
	if !owned(pc.mem, r.Account) {
		return refusedAccount
	}
	if r.MTime > pc.now+maxPeerSkew.Milliseconds() {
		return refusedTime
	}
	if r.Proof == nil {
		return refusedNoProof
	}
	req, ok := parseProof(r.Proof)
	if !ok {
		return refusedProof
	}
	var tokens []storagerpc.SubaccountToken
	switch p := req.(type) {
	case *storagerpc.RevokeSubaccountParams:
		tokens, ok = p.Tokens, r.Revoked
	case *storagerpc.UnrevokeSubaccountParams:
		tokens, ok = p.Tokens, !r.Revoked
	default:
		ok = false
	}
	acct := storagerpc.NewAccount(key.Prefix(r.Account[0]), [32]byte(r.Account[1:]))
	if !ok || !slices.Contains(tokens, storagerpc.SubaccountToken(r.Token)) || !pc.check(req, acct, r.MTime) {
		return refusedProof
	}
	return ""
}

// selects reports whether a namespace selection covers ns.
func selects(sel storagerpc.NamespaceSel, ns int16) bool { return sel.All || int16(sel.NS) == ns }
