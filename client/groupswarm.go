package client

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"sotto.dev/client/path"
	"sotto.dev/key"
	"sotto.dev/storagerpc"
)

// Swarm access for a closed group's account (session-protocol.md §3.3,
// §6.1, §6.4). A group's swarm holds its messages (namespace 11), key
// messages (12), info (13) and members (14). Admins sign their requests
// with the group's Ed25519 key itself (pubkey 03…, no pubkey_ed25519);
// members sign with the subaccount their invitation carried (subaccount,
// subaccount_sig and a signature by the subaccount key). Every request
// goes through the client's onion paths like the requests to our own
// swarm: a group adds no path of its own.

// groupSigner authorises one signed message for a group's swarm.
type groupSigner func(msg []byte) (storagerpc.Auth, error)

// adminSigner signs with the group's 64-byte Ed25519 key.
func adminSigner(secret ed25519.PrivateKey) groupSigner {
	return func(msg []byte) (storagerpc.Auth, error) {
		if len(secret) != ed25519.PrivateKeySize {
			return storagerpc.Auth{}, errors.New("client: group key has the wrong size")
		}
		sig := storagerpc.Signature(ed25519.Sign(secret, msg))
		return storagerpc.Auth{Signature: &sig}, nil
	}
}

// groupSwarm is one group's swarm as one user reaches it.
type groupSwarm struct {
	c    *Client
	id   key.SessionID
	sign groupSigner
}

func (g groupSwarm) account() storagerpc.Account { return storagerpc.AccountFromSessionID(g.id) }

// store stores data in namespace ns of the group's swarm, expiring at
// expiry (ms), and returns its hash.
func (g groupSwarm) store(ctx context.Context, ns storagerpc.Namespace, data []byte, ts, expiry int64) (string, error) {
	want := storagerpc.MessageHash(g.account(), ns, data)
	_, body, err := g.c.net.callSwarm(ctx, swarmRequest{
		method: storagerpc.MethodStore, acct: g.id,
		build: func(path.Node) ([]byte, error) {
			sigTS := g.c.nowMillis()
			auth, err := g.sign(storagerpc.StoreSigMessage(ns, sigTS))
			if err != nil {
				return nil, err
			}
			return storagerpc.EncodeRequest(&storagerpc.StoreParams{
				Account: g.account(), Namespace: ns, Timestamp: ts, Expiry: expiry, Data: data,
				SigTimestamp: sigTS, Auth: auth,
			})
		},
	})
	if err != nil {
		return "", err
	}
	var resp storagerpc.SwarmResponse[storagerpc.StoreResult]
	if err := json.Unmarshal(body, &resp); err != nil {
		return "", fmt.Errorf("client: group store: bad answer: %w", err)
	}
	for _, r := range resp.Swarm {
		if !r.Failed() && r.OK.Hash == want {
			return want, nil
		}
	}
	return "", errors.New("client: group store: no swarm member stored the message")
}

// groupPoll is the answer of one retrieve batch on a group's swarm.
type groupPoll struct {
	node       key.NodePublic
	lastHashes []string                       // the last hash asked with, per namespace
	resps      []*storagerpc.RetrieveResponse // per namespace; nil when refused
}

// retrieve asks one member of the group's swarm (prefer, if still a
// member) for the messages of every namespace in spaces after the last
// hashes seen there, in one batch request held up to wait (long poll).
func (g groupSwarm) retrieve(ctx context.Context, spaces []storagerpc.Namespace, prefer *key.NodePublic, wait time.Duration) (*groupPoll, error) {
	timeout := g.c.cfg.RequestTimeout
	if wait > 0 {
		timeout += wait
	}
	var asked key.NodePublic
	lastHashes := make([]string, len(spaces))
	dest, body, err := g.c.net.callSwarm(ctx, swarmRequest{
		method: storagerpc.MethodBatch, acct: g.id, timeout: timeout, prefer: prefer,
		build: func(dest path.Node) ([]byte, error) {
			asked = dest.Ed25519
			ts := g.c.nowMillis()
			reqs := make([]storagerpc.Request, len(spaces))
			for i, ns := range spaces {
				h, err := g.c.db.LastHash(ctx, g.id, dest.Ed25519.String(), int16(ns))
				if err != nil {
					return nil, err
				}
				lastHashes[i] = h
				auth, err := g.sign(storagerpc.RetrieveSigMessage(ns, ts))
				if err != nil {
					return nil, err
				}
				reqs[i] = &storagerpc.RetrieveParams{Account: g.account(), Namespace: ns, LastHash: h, Timestamp: ts, Auth: auth}
			}
			return encodeWithWait(&storagerpc.BatchParams{Requests: reqs}, wait)
		},
	})
	if err != nil {
		return nil, err
	}
	if dest.Ed25519 != asked {
		return nil, errors.New("client: group retrieve answered by an unexpected node")
	}
	var batch storagerpc.BatchResponse
	if err := json.Unmarshal(body, &batch); err != nil || len(batch.Results) != len(spaces) {
		return nil, fmt.Errorf("client: group retrieve: bad batch answer (%d results, want %d)", len(batch.Results), len(spaces))
	}
	p := &groupPoll{node: dest.Ed25519, lastHashes: lastHashes, resps: make([]*storagerpc.RetrieveResponse, len(spaces))}
	refused := 0
	var first *RPCError
	for i, r := range batch.Results {
		if r.Code != http.StatusOK {
			refused++
			if first == nil {
				first = &RPCError{Method: storagerpc.MethodRetrieve, Status: r.Code, Body: string(r.Body)}
			}
			continue
		}
		var resp storagerpc.RetrieveResponse
		if err := json.Unmarshal(r.Body, &resp); err != nil {
			return nil, fmt.Errorf("client: group retrieve: bad answer: %w", err)
		}
		p.resps[i] = &resp
	}
	if refused == len(spaces) {
		if first.Status == storagerpc.StatusMisdirectedRequest {
			var gs storagerpc.GetSwarmResponse
			if json.Unmarshal(batch.Results[0].Body, &gs) == nil {
				g.c.net.setSwarm(g.id, gs.Snodes)
			}
		}
		return nil, first
	}
	return p, nil
}

// remove deletes messages from the group's swarm (admins, or members with
// the delete permission).
func (g groupSwarm) remove(ctx context.Context, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	_, _, err := g.c.net.callSwarm(ctx, swarmRequest{
		method: storagerpc.MethodDelete, acct: g.id,
		build: func(path.Node) ([]byte, error) {
			auth, err := g.sign(storagerpc.DeleteSigMessage(hashes))
			if err != nil {
				return nil, err
			}
			return storagerpc.EncodeRequest(&storagerpc.DeleteParams{Account: g.account(), Messages: hashes, Auth: auth})
		},
	})
	return err
}

// deleteAll deletes every message of the group's swarm in the namespaces
// sel selects (admins: a disbanded group leaves no messages behind).
func (g groupSwarm) deleteAll(ctx context.Context, sel storagerpc.NamespaceSel) error {
	_, _, err := g.c.net.callSwarm(ctx, swarmRequest{
		method: storagerpc.MethodDeleteAll, acct: g.id,
		build: func(path.Node) ([]byte, error) {
			ts := g.c.nowMillis()
			auth, err := g.sign(storagerpc.DeleteAllSigMessage(sel, ts))
			if err != nil {
				return nil, err
			}
			return storagerpc.EncodeRequest(&storagerpc.DeleteAllParams{Account: g.account(), Namespace: sel, Timestamp: ts, Auth: auth})
		},
	})
	return err
}

// revoke revokes subaccount tokens on the group's swarm (admins only: the
// request must be signed by the group key).
func (g groupSwarm) revoke(ctx context.Context, tokens []storagerpc.SubaccountToken) error {
	if len(tokens) == 0 {
		return nil
	}
	_, _, err := g.c.net.callSwarm(ctx, swarmRequest{
		method: storagerpc.MethodRevokeSubaccount, acct: g.id,
		build: func(path.Node) ([]byte, error) {
			ts := g.c.nowMillis()
			auth, err := g.sign(storagerpc.RevokeSubaccountSigMessage(ts, tokens))
			if err != nil {
				return nil, err
			}
			return storagerpc.EncodeRequest(&storagerpc.RevokeSubaccountParams{Account: g.account(), Tokens: tokens, Timestamp: ts, Auth: auth})
		},
	})
	return err
}
