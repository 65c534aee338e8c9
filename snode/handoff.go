package snode

import (
	"context"
	"time"

	"sotto.dev/ledger"
	"sotto.dev/snode/store"
)

// Handoff (docs/snode.md, "Swarm changes"): data of accounts that our
// swarm is no longer responsible for — our swarm split, we moved, or we
// left — is pushed to every member of the account's new swarm, and purged
// here once a majority of them accepted it. Until then it stays, and the
// push is retried every Intervals.Handoff.

// handoffBatchBytes bounds the message data of one push.
const handoffBatchBytes = 4 << 20

func (n *Node) handoffLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.Intervals.Handoff.D())
	defer t.Stop()
	for {
		n.memMu.Lock()
		changed := n.memChange
		n.memMu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changed:
			// Let the new swarm's members see the change too before
			// pushing to them.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		n.handoff(ctx)
	}
}

// pending is the foreign data waiting to go to one swarm.
type pending struct {
	accounts []store.Account
	out      aeRecords
	size     int
}

// handoff pushes every foreign account to its swarm and purges what a
// majority accepted.
func (n *Node) handoff(ctx context.Context) {
	m := n.mem.Load()
	if len(m.swarmIDs) == 0 {
		return
	}
	now := n.now().UnixMilli()
	batches := make(map[uint64]*pending)
	for _, a := range n.store.Accounts() {
		if ctx.Err() != nil {
			return
		}
		key := [32]byte(a[1:])
		if m.owns(key) {
			continue
		}
		target, ok := m.swarmOf(key)
		if !ok {
			continue
		}
		recs, revs, err := n.store.Export(ctx, a)
		if err != nil {
			n.log.Error("handoff export failed", "err", err)
			return
		}
		b := batches[target]
		if b == nil {
			b = &pending{}
			batches[target] = b
		}
		b.accounts = append(b.accounts, a)
		// Rows that cannot prove themselves (stored before proofs were
		// kept) would be refused: they are left out, and purged with the
		// rest once the new swarm accepted it.
		for _, r := range recs {
			if r.Expiry > now && provable(&r) {
				b.out.Records = append(b.out.Records, toAERecord(r))
				b.size += recordSize(&r)
			}
		}
		for _, r := range revs {
			if r.Proof != nil {
				b.out.Revocations = append(b.out.Revocations, toAERevocation(r))
				b.size += len(r.Proof) + aeRowOverhead
			}
		}
		if b.size >= handoffBatchBytes {
			n.handOver(ctx, m, target, b)
			delete(batches, target)
		}
	}
	for target, b := range batches {
		n.handOver(ctx, m, target, b)
	}
}

// handOver pushes one batch to the members of swarm target and purges its
// accounts when a majority accepted every row.
func (n *Node) handOver(ctx context.Context, m *membership, target uint64, b *pending) {
	var members []*ledger.Node
	for _, p := range m.swarms[target] {
		if p.Ed25519 != n.me {
			members = append(members, p)
		}
	}
	if len(members) == 0 {
		return
	}
	chunks := splitRecords(b.out, aePushBytes)
	acks := 0
	for _, p := range members {
		ok := true
		for _, c := range chunks {
			var pr aePushResp
			pctx, cancel := context.WithTimeout(ctx, 4*n.cfg.Limits.ForwardTimeout.D())
			err := n.postJSON(pctx, p, pathHandoff, &c, &pr)
			cancel()
			if err != nil {
				n.log.Debug("handoff push failed", "to", p.Ed25519.String(), "err", err)
				ok = false
				break
			}
			// Rows refused for their account are retried (the receiver's
			// view may lag); rows refused for their proofs would be
			// refused by every member, and are dropped with the account.
			if pr.Rejected > pr.Unproven {
				n.log.Debug("handoff push partly refused; the receiver's view may lag", "to", p.Ed25519.String(), "rejected", pr.Rejected)
				ok = false
				break
			}
			if pr.Unproven > 0 {
				n.log.Warn("handoff rows refused for their proofs", "to", p.Ed25519.String(), "rows", pr.Unproven)
			}
		}
		if ok {
			acks++
		}
	}
	if acks < len(members)/2+1 {
		n.met.handoff.WithLabelValues("failures").Inc()
		return
	}
	n.met.handoff.WithLabelValues("records").Add(float64(len(b.out.Records) + len(b.out.Revocations)))
	for _, a := range b.accounts {
		if _, err := n.store.Purge(ctx, a); err != nil {
			n.log.Error("purge after handoff failed", "err", err)
			return
		}
		n.met.handoff.WithLabelValues("accounts_purged").Inc()
	}
	n.log.Info("handed data to its new swarm", "accounts", len(b.accounts), "records", len(b.out.Records), "acks", acks, "members", len(members))
}

// splitRecords cuts rows into pushes of at most about maxBytes (data and
// proofs; a single larger row still goes alone).
func splitRecords(in aeRecords, maxBytes int) []aeRecords {
	out := []aeRecords{{}}
	size := 0
	next := func(add int) *aeRecords {
		last := &out[len(out)-1]
		if size+add > maxBytes && (len(last.Records) > 0 || len(last.Revocations) > 0) {
			out = append(out, aeRecords{})
			last, size = &out[len(out)-1], 0
		}
		size += add
		return last
	}
	for _, r := range in.Revocations {
		last := next(len(r.Proof) + aeRowOverhead)
		last.Revocations = append(last.Revocations, r)
	}
	for _, r := range in.Records {
		last := next(len(r.Data) + len(r.StoreProof) + len(r.ChangeProof) + aeRowOverhead)
		last.Records = append(last.Records, r)
	}
	return out
}
