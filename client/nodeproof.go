package client

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"sync"

	"sotto.dev/client/path"
	"sotto.dev/key"
	"sotto.dev/nodeproof"
	"sotto.dev/onion"
	"sotto.dev/storagerpc"
)

// Node lists proven against the ledger (docs/nodeproof.md): when the
// network file names the ledger's chain and validators, every list the
// client takes, from a seed or from a node, comes with the signed header
// that commits it, and a list without a valid proof is refused with a
// NodeListError that says why.

// proving reports whether node lists must come with a ledger proof.
func (n *network) proving() bool { return n.trust != nil || n.trustErr != nil }

// verifyList checks a sotto_service_nodes_proof answer and returns the
// serving nodes of the proven list (active ones, unlocking included) and
// the list's ledger height.
func (n *network) verifyList(raw json.RawMessage) ([]path.Node, uint64, error) {
	if n.trustErr != nil {
		return nil, 0, &NodeListError{Reason: "the network file's ledger section: " + n.trustErr.Error()}
	}
	p, err := nodeproof.ParseAndVerify(raw, n.trust)
	if err != nil {
		return nil, 0, &NodeListError{Reason: err.Error()}
	}
	var out []path.Node
	for _, nd := range p.Nodes {
		if nd.State != nodeproof.StateActive && nd.State != nodeproof.StateUnlocking {
			continue
		}
		ip := netip.AddrFrom4(nd.IPv4)
		if ip.IsUnspecified() || nd.Port == 0 {
			continue
		}
		var op string
		if nd.Operator != ([32]byte{}) {
			op = hex.EncodeToString(nd.Operator[:]) // as get_service_nodes' operator_address
		}
		out = append(out, path.Node{Ed25519: key.NodePublic(nd.Ed25519), X25519: key.OnionPublic(nd.X25519), IP: ip, Port: nd.Port,
			Sotto: onion.SpeaksSotto(nd.Caps), Operator: op})
	}
	if len(out) == 0 {
		return nil, 0, &NodeListError{Reason: fmt.Sprintf("the proven list at height %d has no active node", p.Height)}
	}
	return out, p.Height, nil
}

// maxProofLag is how many blocks a proven list may be older than the
// newest one the client took: nodes prove a recent block, not always the
// same one (a node that follows the ledger over RPC lags a little), but a
// list much older than one already seen is a replay.
const maxProofLag = 8

// accept records height as the newest proven list, refusing a list more
// than maxProofLag blocks older than one already accepted (a node
// replaying an old, once valid list).
func (n *network) accept(height uint64) error {
	for {
		cur := n.proven.Load()
		if height+maxProofLag < cur {
			return &NodeListError{Reason: fmt.Sprintf("the proven list is of height %d, more than %d blocks older than the list of height %d already taken", height, maxProofLag, cur)}
		}
		if height <= cur || n.proven.CompareAndSwap(cur, height) {
			return nil
		}
	}
}

// provenFromSnode asks dest, through p, for the node list with its proof
// and verifies it.
func (n *network) provenFromSnode(ctx context.Context, p path.Path, dest path.Node) ([]path.Node, uint64, error) {
	payload, err := storagerpc.EncodeRequest(&storagerpc.OxendRequestParams{Endpoint: storagerpc.OxendNodeListProof})
	if err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	resp, err := n.sender.Snode(ctx, p, dest, payload)
	if err != nil {
		return nil, 0, err
	}
	if resp.Status != http.StatusOK {
		return nil, 0, &RPCError{Method: "oxend_request " + storagerpc.OxendNodeListProof, Status: resp.Status, Body: string(resp.Body)}
	}
	var out storagerpc.OxendResponse
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, 0, fmt.Errorf("client: oxend_request: %w", err)
	}
	return n.verifyList(out.Result)
}

// provenFromSnodes asks each of dests for the proven list and takes the
// newest one that verifies: a proof holds on its own, so one honest node
// among those asked is enough, and a lying one is caught (and logged)
// instead of outvoted.
func (n *network) provenFromSnodes(ctx context.Context, paths []path.Path, dests []path.Node) ([]path.Node, error) {
	type answer struct {
		list   []path.Node
		height uint64
		err    error
	}
	answers := make([]answer, len(dests))
	var wg sync.WaitGroup
	for i, dest := range dests {
		p := n.pathAvoiding(paths, dest)
		wg.Go(func() {
			a := &answers[i]
			a.list, a.height, a.err = n.provenFromSnode(ctx, p, dest)
		})
	}
	wg.Wait()
	best := -1
	var errs []error
	for i, a := range answers {
		if a.err != nil {
			n.log.Debug("node list refused", "node", dests[i].Ed25519.String(), "error", a.err)
			errs = append(errs, fmt.Errorf("node %s: %w", dests[i].Ed25519, a.err))
			continue
		}
		if best < 0 || a.height > answers[best].height {
			best = i
		}
	}
	if best < 0 {
		return nil, joinNodeListErrors(errs)
	}
	if err := n.accept(answers[best].height); err != nil {
		return nil, err
	}
	return answers[best].list, nil
}

// joinNodeListErrors reports every refusal; if they were all refusals of
// proofs, as one NodeListError.
func joinNodeListErrors(errs []error) error {
	reason := ""
	for i, err := range errs {
		if i > 0 {
			reason += "; "
		}
		reason += err.Error()
	}
	return &NodeListError{Reason: reason}
}
