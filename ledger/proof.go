package ledger

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"

	"sotto.dev/ledger/state"
	"sotto.dev/nodeproof"
)

// ErrNoProof is returned when no node-list proof can be built: the ledger
// behind the view signs no headers (a genesis file), or no kept snapshot
// has its next block committed yet.
var ErrNoProof = errors.New("ledger: no node-list proof available")

// LightBlock returns CometBFT's signed header of block height and the
// validator set that signed it, each as CometBFT's JSON (what package
// nodeproof decodes).
func (c *Client) LightBlock(ctx context.Context, height uint64) (signedHeader, validators json.RawMessage, err error) {
	rpc, err := c.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	h := int64(height)
	cr, err := rpc.Commit(ctx, &h)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: commit %d: %w", height, err)
	}
	var vals []*types.Validator
	for page, perPage := 1, 100; ; page++ {
		vr, err := rpc.Validators(ctx, &h, &page, &perPage)
		if err != nil {
			return nil, nil, fmt.Errorf("ledger: validators %d: %w", height, err)
		}
		vals = append(vals, vr.Validators...)
		if len(vals) >= vr.Total || len(vr.Validators) == 0 {
			break
		}
	}
	if signedHeader, err = cmtjson.Marshal(cr.SignedHeader); err != nil {
		return nil, nil, err
	}
	if validators, err = cmtjson.Marshal(vals); err != nil {
		return nil, nil, err
	}
	return signedHeader, validators, nil
}

// ProofNodes converts a snapshot's nodes to the committed node list.
func ProofNodes(s *Snapshot) ([]nodeproof.Node, error) {
	out := make([]nodeproof.Node, len(s.Nodes))
	for i, n := range s.Nodes {
		ip, err := state.ParseIPv4(n.PublicIP)
		if err != nil {
			return nil, err
		}
		out[i] = nodeproof.Node{Ed25519: n.Ed25519, X25519: n.X25519, IPv4: ip, Port: n.StoragePort,
			SwarmID: n.SwarmID, State: uint8(n.State), UnlockHeight: n.RequestedUnlockHeight, Version: n.Version,
			Operator: n.Operator, Caps: n.Caps}
	}
	return out, nil
}

// ProveWait is how long Prove waits for the next block when the newest
// node list is not provable yet but differs from the last provable one.
const ProveWait = 3 * time.Second

// Prove returns the node-list proof of the newest of snaps (newest first,
// as ChainView.Recent gives them) whose next block the ledger has
// committed: its nodes and state hash, and the signed header of the next
// block with its validators. When the newest list changed in the block
// that has no successor yet, Prove waits up to ProveWait for that
// successor rather than prove the list before the change.
func (c *Client) Prove(ctx context.Context, snaps []*Snapshot) (*nodeproof.ProofJSON, error) {
	latest, err := c.Height(ctx)
	if err != nil {
		return nil, err
	}
	if len(snaps) > 1 && snaps[0].Height+1 > latest {
		i := slices.IndexFunc(snaps, func(s *Snapshot) bool { return s.Height+1 <= latest })
		if i < 0 || !slices.Equal(snaps[i].Nodes, snaps[0].Nodes) {
			wctx, cancel := context.WithTimeout(ctx, ProveWait)
			if c.WaitHeight(wctx, snaps[0].Height+1) == nil {
				latest = snaps[0].Height + 1
			}
			cancel()
		}
	}
	for _, s := range snaps {
		if s == nil || s.StateHash == ([32]byte{}) || s.Height+1 > latest {
			continue
		}
		nodes, err := ProofNodes(s)
		if err != nil {
			return nil, fmt.Errorf("ledger: node list at %d: %w", s.Height, err)
		}
		sh, vals, err := c.LightBlock(ctx, s.Height+1)
		if err != nil {
			return nil, err
		}
		p := &nodeproof.ProofJSON{Height: s.Height, StateHash: hex.EncodeToString(s.StateHash[:]),
			Nodes: make([]nodeproof.NodeJSON, len(nodes)), SignedHeader: sh, Validators: vals}
		for i := range nodes {
			p.Nodes[i] = nodes[i].ToJSON()
		}
		return p, nil
	}
	return nil, fmt.Errorf("%w: no recent node list has its next block committed yet (ledger height %d)", ErrNoProof, latest)
}

// GenesisTrust reads the chain id and the validators of the ledger home
// dir's genesis: what a client's network file trusts (docs/nodeproof.md).
// The ledger makes no validator updates, so the genesis validators sign
// every block.
func GenesisTrust(dir string) (chainID string, vals []nodeproof.Validator, err error) {
	doc, _, err := loadNetworkGenesis(dir)
	if err != nil {
		return "", nil, err
	}
	for _, v := range doc.Validators {
		pk := v.PubKey.Bytes()
		if v.PubKey.Type() != "ed25519" || len(pk) != 32 {
			return "", nil, fmt.Errorf("ledger: genesis validator %s is not Ed25519", v.Name)
		}
		vals = append(vals, nodeproof.Validator{PubKey: [32]byte(pk), Power: v.Power})
	}
	return doc.ChainID, vals, nil
}
