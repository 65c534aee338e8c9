package client

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"sotto.dev/client/path"
	"sotto.dev/client/store"
	"sotto.dev/key"
)

// The client keeps its node list and its guards in the encrypted store
// (store.SaveNodeList, store.SetGuards), as Session's clients keep their
// snode pool and guard nodes in their database: a restart reuses both, so
// that it neither contacts a seed (which would learn, again, that this
// address runs the client) nor shows a new guard its address. The seeds
// are asked only when nothing usable was kept (a first run, a damaged or
// too small list), when a request of the run, before any went through,
// failed at every kept guard it tried (network.do: the same request is
// then tried again on the new list), or after every node failed
// (network.resetPaths).

// keptState is what was last written to the store.
type keptState struct {
	fetched time.Time
	guards  []key.NodePublic
}

// loadKept reads the kept node list, when it was fetched and the guards;
// nothing when no store is attached or the list cannot be read.
func (n *network) loadKept(ctx context.Context) ([]path.Node, time.Time, []key.NodePublic) {
	if n.keep == nil {
		return nil, time.Time{}, nil
	}
	list, fetched, err := n.keep.NodeList(ctx)
	if err != nil {
		n.log.Warn("kept node list unreadable; asking the seeds", "error", err)
		return nil, time.Time{}, nil
	}
	guards, err := n.keep.Guards(ctx)
	if err != nil {
		n.log.Warn("kept guards unreadable", "error", err)
		guards = nil
	}
	nodes := make([]path.Node, 0, len(list))
	for _, s := range list {
		nodes = append(nodes, path.Node{Ed25519: s.Ed25519, X25519: s.X25519, IP: s.Addr.Addr(), Port: s.Addr.Port(), Sotto: s.Sotto, Operator: s.Operator})
	}
	at := time.UnixMilli(fetched)
	n.keepMu.Lock()
	n.kept = keptState{fetched: at, guards: guards}
	n.keepMu.Unlock()
	return nodes, at, guards
}

// persist writes m's node list and guards to the store when they changed
// since the last write. Failures are logged: the client works on without,
// and the next run asks a seed.
func (n *network) persist(ctx context.Context, m *path.Manager) {
	if n.keep == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	fetched, guards := m.Fetched(), m.Guards()
	n.keepMu.Lock()
	defer n.keepMu.Unlock()
	listChanged := !fetched.Equal(n.kept.fetched)
	if !listChanged && slices.Equal(guards, n.kept.guards) {
		return
	}
	now := n.clock.Now().UnixMilli()
	err := n.keep.Update(ctx, func(tx *store.Tx) error {
		if listChanged {
			listed := m.Listed()
			nodes := make([]store.Node, 0, len(listed))
			for _, nd := range listed {
				nodes = append(nodes, store.Node{Ed25519: nd.Ed25519, X25519: nd.X25519, Addr: netip.AddrPortFrom(nd.IP, nd.Port), Sotto: nd.Sotto, Operator: nd.Operator})
			}
			if err := tx.SaveNodeList(ctx, nodes, fetched.UnixMilli()); err != nil {
				return err
			}
		}
		return tx.SetGuards(ctx, guards, now)
	})
	if err != nil {
		n.log.Warn("cannot keep the node list", "error", err)
		return
	}
	n.kept = keptState{fetched: fetched, guards: guards}
}
