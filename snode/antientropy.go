package snode

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"sotto.dev/key"
	"sotto.dev/ledger"
	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// Anti-entropy (docs/snode.md, "Anti-entropy"): every interval a node
// reconciles with one swarm peer, in turn. A round, started by A with B:
//
//  1. buckets: A sends the XOR digests of its 256 buckets; B answers
//     which buckets differ and its key digests (per account and
//     namespace) in them;
//  2. headers: A asks B for the row states (hash, mtime, expiry,
//     deleted; revocations in full) of the keys whose digests differ;
//  3. fetch: A pulls the rows where B's state is newer or A has none;
//  4. push: A sends the rows where its state is newer or B has none.
//
// Rows merge as last-writer-wins registers (store.Newer), so the order in
// which rows and operations arrive does not matter. A round also tells
// which of this node's tombstones the peer holds; a tombstone every peer
// holds is dropped (tombstones.go).

// Batch sizes of the exchange, and how old a row must be to be repaired.
const (
	aeSettle     = time.Second
	aeFetchBatch = 256     // hashes per fetch
	aePushBytes  = 4 << 20 // data bytes per push or fetch answer (base64 and proofs stay under maxPeerBody)
)

// Wire forms (JSON; accounts in hex, bytes in base64).
type aeKey struct {
	Account string `json:"a"`
	Kind    uint8  `json:"k"`
	NS      int16  `json:"n"`
}

type aeKeyDigest struct {
	aeKey
	Digest []byte `json:"d"`
	Count  int    `json:"c"`
}

type aeBucketsReq struct {
	Buckets []byte `json:"buckets"` // 256 × 16 bytes
}

type aeBucketsResp struct {
	Differ []uint8       `json:"differ"`
	Keys   []aeKeyDigest `json:"keys"`
}

type aeHeader struct {
	Hash    string `json:"h"`
	MTime   int64  `json:"m"`
	Expiry  int64  `json:"e"`
	Deleted bool   `json:"d,omitempty"`
	// Fresh marks a row a client changed here less than aeSettle ago
	// (mtimes are too coarse to tell).
	Fresh bool `json:"f,omitempty"`
}

type aeRevocation struct {
	Account string `json:"a"`
	Token   []byte `json:"t"`
	Revoked bool   `json:"r"`
	MTime   int64  `json:"m"`
	Proof   []byte `json:"p,omitempty"` // the signed revoke or unrevoke request (proof.go)
}

type aeKeyHeaders struct {
	aeKey
	Messages    []aeHeader     `json:"msgs,omitempty"`
	Revocations []aeRevocation `json:"revs,omitempty"`
	// Gone lists the key's tombstones the responder dropped because every
	// member held them.
	Gone []string `json:"gone,omitempty"`
}

type aeKeysReq struct {
	Keys []aeKey `json:"keys"`
}

type aeHeadersResp struct {
	Keys []aeKeyHeaders `json:"keys"`
}

type aeFetchReq struct {
	Hashes []string `json:"hashes"`
}

type aeRecord struct {
	Account   string `json:"a"`
	NS        int16  `json:"n"`
	Hash      string `json:"h"`
	Timestamp int64  `json:"t"`
	Expiry    int64  `json:"e"`
	MTime     int64  `json:"m"`
	Deleted   bool   `json:"d,omitempty"`
	Data      []byte `json:"data,omitempty"`
	// The owner's signed requests behind the row (proof.go): its store
	// (live rows only) and its last other change.
	StoreProof  []byte `json:"sp,omitempty"`
	ChangeProof []byte `json:"cp,omitempty"`
}

type aeRecords struct {
	Records     []aeRecord     `json:"records,omitempty"`
	Revocations []aeRevocation `json:"revocations,omitempty"`
}

type aePushResp struct {
	Accepted int `json:"accepted"` // rows this node is responsible for (merged or already known)
	Rejected int `json:"rejected"` // rows for accounts it does not own, or invalid
	Applied  int `json:"applied"`  // rows that changed its state
	// Unproven counts the rejected rows refused for what they are (their
	// proofs, hash, times or TTL) rather than for their account: sending
	// them again will not help.
	Unproven int `json:"unproven,omitempty"`
}

func toAEKey(k store.DigestKey) aeKey {
	return aeKey{Account: k.Account.Hex(), Kind: uint8(k.Kind), NS: k.Namespace}
}

func parseAccountHex(s string) (store.Account, bool) {
	var a store.Account
	if len(s) != 2*store.AccountSize {
		return a, false
	}
	if _, err := hex.Decode(a[:], []byte(s)); err != nil {
		return a, false
	}
	return a, true
}

func fromAEKey(k aeKey) (store.DigestKey, bool) {
	a, ok := parseAccountHex(k.Account)
	if !ok || k.Kind > uint8(store.KindRevocations) {
		return store.DigestKey{}, false
	}
	return store.DigestKey{Account: a, Kind: store.Kind(k.Kind), Namespace: k.NS}, true
}

func toAERecord(r store.Record) aeRecord {
	out := aeRecord{Account: r.Account.Hex(), NS: r.Namespace, Hash: r.Hash, Timestamp: r.Timestamp,
		Expiry: r.Expiry, MTime: r.MTime, Deleted: r.Deleted, Data: r.Data, ChangeProof: r.ChangeProof}
	if !r.Deleted {
		out.StoreProof = r.StoreProof
	}
	return out
}

func toAERevocation(r store.Revocation) aeRevocation {
	return aeRevocation{Account: r.Account.Hex(), Token: r.Token[:], Revoked: r.Revoked, MTime: r.MTime, Proof: r.Proof}
}

// aeRowOverhead is about what a row's or revocation's fields add to a push.
const aeRowOverhead = 200

// recordSize is about what a row adds to a push before base64: its data,
// its proofs and its fields.
func recordSize(r *store.Record) int {
	return len(r.Data) + len(r.StoreProof) + len(r.ChangeProof) + aeRowOverhead
}

// owned reports whether our swarm is responsible for a store account.
func owned(m *membership, a store.Account) bool { return m.owns([32]byte(a[1:])) }

// validRecords converts received rows into store rows, keeping only those
// that prove themselves (proof.go) for accounts we own; the others are
// counted by reason. Rows already expired are passed on (Merge ignores
// them) without being checked.
func (n *Node) validRecords(ctx context.Context, m *membership, in aeRecords, now time.Time) (recs []store.Record, revs []store.Revocation, rejected, unproven int) {
	pc := n.newProofChecker(ctx, m, now)
	refuse := func(why string) {
		n.met.aeRefused.WithLabelValues(why).Inc()
		rejected++
		if why != refusedAccount {
			unproven++
		}
	}
	for _, r := range in.Records {
		a, ok := parseAccountHex(r.Account)
		if !ok {
			refuse(refusedAccount)
			continue
		}
		rec := store.Record{Message: store.Message{Account: a, Namespace: r.NS, Hash: r.Hash, Timestamp: r.Timestamp, Expiry: r.Expiry},
			MTime: r.MTime, Deleted: r.Deleted, ChangeProof: r.ChangeProof}
		if !r.Deleted {
			rec.Data, rec.StoreProof = r.Data, r.StoreProof
			if rec.Data == nil {
				rec.Data = []byte{}
			}
		}
		if r.Expiry > pc.now {
			if why := pc.record(&rec); why != "" {
				refuse(why)
				continue
			}
		}
		recs = append(recs, rec)
	}
	for _, r := range in.Revocations {
		a, ok := parseAccountHex(r.Account)
		if !ok || len(r.Token) != store.TokenSize {
			refuse(refusedAccount)
			continue
		}
		rev := store.Revocation{Account: a, Token: [store.TokenSize]byte(r.Token), Revoked: r.Revoked, MTime: r.MTime, Proof: r.Proof}
		if why := pc.revocation(&rev); why != "" {
			refuse(why)
			continue
		}
		revs = append(revs, rev)
	}
	return recs, revs, rejected, unproven
}

// mergeRecords validates and applies received rows. A row no newer than a
// tombstone this node dropped is not taken back.
func (n *Node) mergeRecords(ctx context.Context, m *membership, in aeRecords) (aePushResp, error) {
	now := n.now()
	recs, revs, rejected, unproven := n.validRecords(ctx, m, in, now)
	kept := recs[:0]
	for _, r := range recs {
		if !n.tombs.wasDropped(r.Hash, r.MTime, r.Deleted, r.Expiry) {
			kept = append(kept, r)
		}
	}
	recs = kept
	applied, err := n.store.Merge(ctx, recs, revs, now.UnixMilli())
	if err != nil {
		return aePushResp{}, err
	}
	for _, r := range recs {
		n.met.replLag.Observe(max(0, float64(now.UnixMilli()-r.MTime)/1000))
	}
	return aePushResp{Accepted: len(recs) + len(revs), Rejected: rejected, Applied: applied, Unproven: unproven}, nil
}

// ---- responder side ----

func (n *Node) requirePeer(peer key.NodePublic) (*membership, error) {
	m := n.mem.Load()
	if !m.isPeer(peer) {
		return nil, storagerpc.Forbidden("not a member of this swarm")
	}
	return m, nil
}

func (n *Node) handleAEBuckets(_ context.Context, peer key.NodePublic, body []byte) (int, any, error) {
	if _, err := n.requirePeer(peer); err != nil {
		return 0, nil, err
	}
	var req aeBucketsReq
	if err := json.Unmarshal(body, &req); err != nil || len(req.Buckets) != store.Buckets*store.DigestSize {
		return 0, nil, storagerpc.BadRequest("invalid buckets")
	}
	mine := n.store.BucketDigests()
	resp := aeBucketsResp{Differ: []uint8{}, Keys: []aeKeyDigest{}}
	for i := range store.Buckets {
		if store.Digest(req.Buckets[i*store.DigestSize:(i+1)*store.DigestSize]) != mine[i] {
			resp.Differ = append(resp.Differ, uint8(i))
		}
	}
	for _, kd := range n.store.KeyDigests(resp.Differ) {
		resp.Keys = append(resp.Keys, aeKeyDigest{aeKey: toAEKey(kd.Key), Digest: kd.Digest[:], Count: kd.Count})
	}
	return 200, &resp, nil
}

func (n *Node) handleAEHeaders(ctx context.Context, peer key.NodePublic, body []byte) (int, any, error) {
	m, err := n.requirePeer(peer)
	if err != nil {
		return 0, nil, err
	}
	var req aeKeysReq
	if err := json.Unmarshal(body, &req); err != nil {
		return 0, nil, storagerpc.BadRequest("invalid keys")
	}
	keys := make([]store.DigestKey, 0, len(req.Keys))
	for _, k := range req.Keys {
		dk, ok := fromAEKey(k)
		if !ok {
			return 0, nil, storagerpc.BadRequest("invalid key")
		}
		// A peer reads only the accounts of our common swarm, not data
		// waiting here for handoff to another swarm.
		if owned(m, dk.Account) {
			keys = append(keys, dk)
		}
	}
	hs, err := n.store.Headers(ctx, keys)
	if err != nil {
		return 0, nil, err
	}
	want := make(map[store.DigestKey]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	gone := n.tombs.gone(want)
	resp := &aeHeadersResp{Keys: toAEHeaders(hs, n.now().UnixMilli()-aeSettle.Milliseconds())}
	for i := range resp.Keys {
		resp.Keys[i].Gone = gone[hs[i].Key]
	}
	return 200, resp, nil
}

// toAEHeaders converts headers; rows a client changed after settled are
// marked fresh.
func toAEHeaders(hs []store.KeyHeaders, settled int64) []aeKeyHeaders {
	out := make([]aeKeyHeaders, len(hs))
	for i, kh := range hs {
		out[i].aeKey = toAEKey(kh.Key)
		for _, h := range kh.Messages {
			out[i].Messages = append(out[i].Messages, aeHeader{Hash: h.Hash, MTime: h.MTime, Expiry: h.Expiry, Deleted: h.Deleted, Fresh: h.Changed > settled})
		}
		for _, r := range kh.Revocations {
			out[i].Revocations = append(out[i].Revocations, toAERevocation(r))
		}
	}
	return out
}

func (n *Node) handleAEFetch(ctx context.Context, peer key.NodePublic, body []byte) (int, any, error) {
	m, err := n.requirePeer(peer)
	if err != nil {
		return 0, nil, err
	}
	var req aeFetchReq
	if err := json.Unmarshal(body, &req); err != nil || len(req.Hashes) > 4*aeFetchBatch {
		return 0, nil, storagerpc.BadRequest("invalid fetch")
	}
	recs, err := n.store.Fetch(ctx, req.Hashes)
	if err != nil {
		return 0, nil, err
	}
	// Rows without the proofs the peer would ask for (stored before proofs
	// were kept) stay here; so does what is not of our common swarm. The
	// answer is cut at aePushBytes of data: the peer asks for the rest in
	// a later round.
	resp := aeRecords{Records: make([]aeRecord, 0, len(recs))}
	size := 0
	for _, r := range recs {
		if !owned(m, r.Account) || !provable(&r) {
			continue
		}
		if size += recordSize(&r); size > aePushBytes && len(resp.Records) > 0 {
			break
		}
		resp.Records = append(resp.Records, toAERecord(r))
	}
	return 200, &resp, nil
}

// handleAEPush merges rows pushed by a swarm peer during anti-entropy.
func (n *Node) handleAEPush(ctx context.Context, peer key.NodePublic, body []byte) (int, any, error) {
	m, err := n.requirePeer(peer)
	if err != nil {
		return 0, nil, err
	}
	return n.mergePushed(ctx, m, body)
}

// handleHandoff merges rows handed over by a listed node that holds data of
// accounts our swarm owns (it left the swarm, or the swarm split). The
// rows must prove themselves like anti-entropy's, and each must be of an
// account of our swarm.
func (n *Node) handleHandoff(ctx context.Context, _ key.NodePublic, body []byte) (int, any, error) {
	m := n.mem.Load()
	if _, in := m.mySwarm(); !in {
		return 0, nil, errNotReady("not in any swarm")
	}
	return n.mergePushed(ctx, m, body)
}

func (n *Node) mergePushed(ctx context.Context, m *membership, body []byte) (int, any, error) {
	var in aeRecords
	if err := json.Unmarshal(body, &in); err != nil {
		return 0, nil, storagerpc.BadRequest("invalid records")
	}
	resp, err := n.mergeRecords(ctx, m, in)
	if err != nil {
		return 0, nil, err
	}
	return 200, &resp, nil
}

// ---- initiator side ----

// antiEntropyLoop runs rounds: with every peer at once while syncing,
// else with one peer per interval, in turn.
func (n *Node) antiEntropyLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.Intervals.AntiEntropy.D())
	defer t.Stop()
	next := 0
	for {
		m := n.mem.Load()
		peers := m.peers()
		switch {
		case len(peers) == 0:
		case n.sync.syncing(n.now()):
			var ok atomic.Bool
			var wg sync.WaitGroup
			for _, p := range peers {
				wg.Go(func() {
					if n.reconcile(ctx, m, p) == nil {
						ok.Store(true)
					}
				})
			}
			wg.Wait()
			if ok.Load() && n.sync.done() {
				n.log.Info("swarm sync done; serving reads")
			}
		default:
			n.reconcile(ctx, m, peers[next%len(peers)])
			next++
		}
		if !n.sync.syncing(n.now()) {
			n.met.syncing.Set(0)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.aeKick:
		}
	}
}

func (n *Node) kickAntiEntropy() {
	select {
	case n.aeKick <- struct{}{}:
	default:
	}
}

// reconcile runs one round with peer p and reports how it ended: it finds
// the keys whose buckets differ, compares their headers, pulls what the
// peer has newer and pushes what this node has newer.
func (n *Node) reconcile(ctx context.Context, m *membership, p *ledger.Node) (err error) {
	defer func() {
		switch {
		case err == nil:
			n.met.aeRounds.WithLabelValues("ok").Inc()
		case ctx.Err() != nil:
		default:
			n.met.aeRounds.WithLabelValues("failed").Inc()
			n.log.Debug("anti-entropy round failed", "peer", p.Ed25519.String(), "err", err)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, 4*n.cfg.Limits.ForwardTimeout.D()+n.cfg.Intervals.AntiEntropy.D())
	defer cancel()

	tombs, err := n.ownedTombstones(ctx, m)
	if err != nil {
		return err
	}
	keys, err := n.differingKeys(ctx, m, p)
	if err != nil {
		return err
	}
	var plan aePlan
	if len(keys) > 0 {
		if plan, err = n.compareHeaders(ctx, p, keys); err != nil {
			return err
		}
	}
	differing := make(map[store.DigestKey]bool, len(keys))
	for _, k := range keys {
		differing[k] = true
	}
	var peers []key.NodePublic
	for _, q := range m.peers() {
		peers = append(peers, q.Ed25519)
	}
	ready := n.tombs.observe(p.Ed25519, tombs, differing, plan.same, peers, n.now().UnixMilli())
	if err := n.dropHeldTombstones(ctx, ready); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	if err := n.pullNewer(ctx, m, p, plan.pull, plan.revsIn); err != nil {
		return err
	}
	return n.pushNewer(ctx, p, plan.push, plan.revsOut)
}

// differingKeys exchanges bucket digests with p and returns the owned keys
// whose digests differ between the two nodes.
func (n *Node) differingKeys(ctx context.Context, m *membership, p *ledger.Node) ([]store.DigestKey, error) {
	mine := n.store.BucketDigests()
	req := aeBucketsReq{Buckets: make([]byte, 0, store.Buckets*store.DigestSize)}
	for _, d := range mine {
		req.Buckets = append(req.Buckets, d[:]...)
	}
	var br aeBucketsResp
	if err := n.postJSON(ctx, p, pathAEBuckets, &req, &br); err != nil {
		return nil, fmt.Errorf("buckets: %w", err)
	}
	if len(br.Differ) == 0 {
		return nil, nil
	}
	theirs := make(map[store.DigestKey]aeKeyDigest, len(br.Keys))
	for _, kd := range br.Keys {
		k, ok := fromAEKey(kd.aeKey)
		if !ok {
			return nil, errors.New("buckets: bad key in answer")
		}
		theirs[k] = kd
	}
	var keys []store.DigestKey
	seen := make(map[store.DigestKey]bool)
	for _, kd := range n.store.KeyDigests(br.Differ) {
		seen[kd.Key] = true
		t, ok := theirs[kd.Key]
		if !owned(m, kd.Key.Account) || (ok && string(t.Digest) == string(kd.Digest[:]) && t.Count == kd.Count) {
			continue
		}
		keys = append(keys, kd.Key)
	}
	for k := range theirs {
		if !seen[k] && owned(m, k.Account) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// aePlan is what one round moves: message hashes to pull from and push to
// the peer, and revocations in each direction.
type aePlan struct {
	pull, push      []string
	revsIn, revsOut []aeRevocation
	// same holds the hashes of this node's tombstones that the peer
	// holds too, or dropped.
	same map[string]bool
}

// aeRowState is what the comparison needs of one message header.
type aeRowState struct {
	mtime, expiry int64
	deleted       bool
}

// compareHeaders fetches p's headers for keys and compares them with this
// node's to decide what each side has newer.
func (n *Node) compareHeaders(ctx context.Context, p *ledger.Node, keys []store.DigestKey) (aePlan, error) {
	wire := aeKeysReq{Keys: make([]aeKey, len(keys))}
	for i, k := range keys {
		wire.Keys[i] = toAEKey(k)
	}
	var hr aeHeadersResp
	if err := n.postJSON(ctx, p, pathAEHeaders, &wire, &hr); err != nil {
		return aePlan{}, fmt.Errorf("headers: %w", err)
	}
	local, err := n.store.Headers(ctx, keys)
	if err != nil {
		return aePlan{}, err
	}
	have := make(map[string]aeRowState)
	haveRev := make(map[string]store.Revocation)
	for _, kh := range local {
		for _, h := range kh.Messages {
			have[h.Hash] = aeRowState{h.MTime, h.Expiry, h.Deleted}
		}
		for _, r := range kh.Revocations {
			haveRev[string(r.Account[:])+string(r.Token[:])] = r
		}
	}
	nowMs := n.now().UnixMilli()
	// Rows changed in the last aeSettle are most likely still being
	// forwarded to the peer: leave them to a later round. (Rows keep
	// coarse mtimes; the exact time of a recent change is known only to
	// the node that made it, which marks the row fresh. A tombstone's
	// mtime is the end of its minute, so it is the quantum's start that
	// tells a row from the last second.)
	settled := nowMs - aeSettle.Milliseconds()
	plan := aePlan{same: make(map[string]bool)}
	remote := make(map[string]aeRowState)
	remoteRev := make(map[string]bool)
	for _, kh := range hr.Keys {
		for _, g := range kh.Gone {
			if l, ok := have[g]; ok && l.deleted {
				plan.same[g] = true
			}
		}
		for _, h := range kh.Messages {
			remote[h.Hash] = aeRowState{h.MTime, h.Expiry, h.Deleted}
			l, ok := have[h.Hash]
			if ok && h.Deleted && l.deleted && h.MTime == l.mtime && h.Expiry == l.expiry {
				plan.same[h.Hash] = true
			}
			if h.Expiry <= nowMs || quantumStart(h.MTime) > settled || h.Fresh {
				continue
			}
			if !ok && n.tombs.wasDropped(h.Hash, h.MTime, h.Deleted, h.Expiry) {
				continue // the peer has yet to drop it
			}
			if !ok || store.Newer(h.MTime, h.Deleted, h.Expiry, l.mtime, l.deleted, l.expiry) {
				plan.pull = append(plan.pull, h.Hash)
			}
		}
		for _, r := range kh.Revocations {
			a, ok := parseAccountHex(r.Account)
			if !ok || len(r.Token) != store.TokenSize {
				continue
			}
			id := string(a[:]) + string(r.Token)
			remoteRev[id] = true
			if r.Proof == nil {
				continue // from before proofs: it could not prove itself
			}
			l, ok := haveRev[id]
			if !ok || r.MTime > l.MTime || (r.MTime == l.MTime && r.Revoked && !l.Revoked) {
				plan.revsIn = append(plan.revsIn, r)
			}
		}
	}
	for _, kh := range local {
		for _, h := range kh.Messages {
			if h.Expiry <= nowMs || quantumStart(h.MTime) > settled || h.Changed > settled || plan.same[h.Hash] {
				continue
			}
			r, ok := remote[h.Hash]
			if !ok || store.Newer(h.MTime, h.Deleted, h.Expiry, r.mtime, r.deleted, r.expiry) {
				plan.push = append(plan.push, h.Hash)
			}
		}
		for _, r := range kh.Revocations {
			if r.Proof != nil && !remoteRev[string(r.Account[:])+string(r.Token[:])] {
				plan.revsOut = append(plan.revsOut, toAERevocation(r))
			}
		}
	}
	return plan, nil
}

// pullNewer merges the peer's newer revocations and fetches, in batches,
// the messages it has newer.
func (n *Node) pullNewer(ctx context.Context, m *membership, p *ledger.Node, pull []string, revsIn []aeRevocation) error {
	if len(revsIn) > 0 {
		res, err := n.mergeRecords(ctx, m, aeRecords{Revocations: revsIn})
		if err != nil {
			return err
		}
		n.met.aeRepairs.WithLabelValues("pulled").Add(float64(res.Applied))
	}
	for len(pull) > 0 {
		batch := pull[:min(len(pull), aeFetchBatch)]
		pull = pull[len(batch):]
		var fr aeRecords
		if err := n.postJSON(ctx, p, pathAEFetch, &aeFetchReq{Hashes: batch}, &fr); err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		res, err := n.mergeRecords(ctx, m, fr)
		if err != nil {
			return err
		}
		n.met.aeRepairs.WithLabelValues("pulled").Add(float64(res.Applied))
	}
	return nil
}

// pushNewer sends p the messages this node has newer, and the revocations
// p lacks, in requests of at most about aePushBytes of message data.
func (n *Node) pushNewer(ctx context.Context, p *ledger.Node, push []string, revsOut []aeRevocation) error {
	pushed := 0
	out := aeRecords{Revocations: revsOut}
	size := 0
	flush := func() error {
		if len(out.Records) == 0 && len(out.Revocations) == 0 {
			return nil
		}
		var pr aePushResp
		if err := n.postJSON(ctx, p, pathAEPush, &out, &pr); err != nil {
			return fmt.Errorf("push: %w", err)
		}
		pushed += pr.Applied
		out, size = aeRecords{}, 0
		return nil
	}
	for len(push) > 0 {
		batch := push[:min(len(push), aeFetchBatch)]
		push = push[len(batch):]
		recs, err := n.store.Fetch(ctx, batch)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if !provable(&r) {
				continue
			}
			out.Records = append(out.Records, toAERecord(r))
			if size += recordSize(&r); size > aePushBytes {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	n.met.aeRepairs.WithLabelValues("pushed").Add(float64(pushed))
	return nil
}
