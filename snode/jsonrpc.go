package snode

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"sotto.dev/ledger"
	"sotto.dev/ledger/state"
	"sotto.dev/storagerpc"
)

// Node lists in oxend's get_service_nodes format, answered from the ledger
// view: POST /json_rpc get_n_service_nodes (the seed-node bootstrap of
// session-protocol.md §3.7) and storage RPC oxend_request.

// serviceNodes answers get_service_nodes / get_n_service_nodes from the
// view, in oxend's format (ledger.ServiceNodes).
func (n *Node) serviceNodes(raw json.RawMessage) (map[string]any, error) {
	snap := n.view.Current()
	res, err := ledger.ServiceNodes(raw, snap.Height, "", ledger.SnapshotInfos(snap))
	if err != nil {
		return nil, storagerpc.BadRequest("invalid get_service_nodes params")
	}
	return res, nil
}

// oxendRequest answers oxend_request from the view.
func (n *Node) oxendRequest(ctx context.Context, c *call, p *storagerpc.OxendRequestParams) (int, any, error) {
	var result any
	switch p.Endpoint {
	case storagerpc.OxendGetServiceNodes:
		r, err := n.serviceNodes(p.Params)
		if err != nil {
			return 0, nil, err
		}
		result = r
	case storagerpc.OxendNodeListProof:
		b, err := n.nodeListProof(ctx)
		if err != nil {
			return 0, nil, err
		}
		return 200, &storagerpc.OxendResponse{Result: b, NodeTime: n.nodeTime(c.now)}, nil
	case storagerpc.OxendFileServers, storagerpc.OxendCommunities:
		list := n.fileServers
		if p.Endpoint == storagerpc.OxendCommunities {
			list = n.communities
		}
		b, err := list(ctx)
		if err != nil {
			return 0, nil, err
		}
		return 200, &storagerpc.OxendResponse{Result: b, NodeTime: n.nodeTime(c.now)}, nil
	case storagerpc.OxendONSResolve:
		lookup := n.names
		if lookup == nil {
			// No name source: every name is unknown, which oxend reports
			// as an empty result.
			lookup = func(context.Context, state.NameHash) (*ledger.NameInfo, error) { return nil, ledger.ErrNotFound }
		}
		r, err := ledger.ONSResolve(ctx, p.Params, lookup)
		switch {
		case errors.Is(err, ledger.ErrBadParams):
			return 0, nil, storagerpc.BadRequest("invalid ons_resolve params")
		case err != nil:
			n.log.Warn("ons_resolve lookup failed", "err", err)
			return 0, nil, storagerpc.BadGateway("name lookup failed")
		}
		result = r
	default:
		return 0, nil, storagerpc.InvalidRequest("Invalid oxend endpoint '" + p.Endpoint + "'")
	}
	b, err := json.Marshal(result)
	if err != nil {
		return 0, nil, err
	}
	return 200, &storagerpc.OxendResponse{Result: b, NodeTime: n.nodeTime(c.now)}, nil
}

// JSON-RPC 2.0 error codes.
const (
	jsonRPCParseError     = -32700
	jsonRPCInvalidRequest = -32600
	jsonRPCMethodNotFound = -32601
	jsonRPCInvalidParams  = -32602
	// jsonRPCNoProof: no node-list proof can be served now (a server
	// error code of the JSON-RPC 2.0 range).
	jsonRPCNoProof = -32000
)

type jsonRPCRequest struct {
	Version string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

type jsonRPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type jsonRPCResponse struct {
	Version string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Result  any             `json:"result,omitempty"`
	Error   *jsonRPCError   `json:"error,omitempty"`
}

// handleJSONRPC serves POST /json_rpc: get_n_service_nodes (and its alias
// get_service_nodes), as Session's seed nodes do,
// sotto_service_nodes_proof (docs/nodeproof.md) and sotto_file_servers
// (docs/ledger.md "File servers").
func (n *Node) handleJSONRPC(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ip, ok := clientAddr(r)
	release, no := n.admitClient(ip, ok, "json_rpc", start)
	if no != nil {
		no.write(w)
		return
	}
	defer release()
	body, ok := n.readBody(w, r, "json_rpc", start)
	if !ok {
		return
	}
	slot, no := n.takeSlot("json_rpc", start)
	if no != nil {
		no.write(w)
		return
	}
	defer slot()
	var req jsonRPCRequest
	resp := jsonRPCResponse{Version: "2.0"}
	switch {
	case json.Unmarshal(body, &req) != nil:
		resp.Error = &jsonRPCError{jsonRPCParseError, "Parse error"}
	case req.Method == "":
		resp.ID, resp.Error = req.ID, &jsonRPCError{jsonRPCInvalidRequest, "Invalid request"}
	case req.Method == storagerpc.OxendNodeListProof:
		resp.ID = req.ID
		res, err := n.nodeListProof(r.Context())
		var se *storagerpc.Error
		switch {
		case errors.As(err, &se):
			resp.Error = &jsonRPCError{jsonRPCNoProof, se.Msg}
		case err != nil:
			resp.Error = &jsonRPCError{jsonRPCNoProof, "no node-list proof"}
		default:
			resp.Result = res
		}
	case req.Method == storagerpc.OxendFileServers:
		resp.ID = req.ID
		res, err := n.fileServers(r.Context())
		if err != nil {
			resp.Error = &jsonRPCError{jsonRPCNoFileServers, "file server list unavailable"}
		} else {
			resp.Result = res
		}
	case req.Method == storagerpc.OxendCommunities:
		resp.ID = req.ID
		res, err := n.communities(r.Context())
		if err != nil {
			resp.Error = &jsonRPCError{jsonRPCNoFileServers, "community list unavailable"}
		} else {
			resp.Result = res
		}
	case req.Method != "get_n_service_nodes" && req.Method != "get_service_nodes":
		resp.ID, resp.Error = req.ID, &jsonRPCError{jsonRPCMethodNotFound, "Method not found"}
	default:
		resp.ID = req.ID
		res, err := n.serviceNodes(req.Params)
		if err != nil {
			resp.Error = &jsonRPCError{jsonRPCInvalidParams, "Invalid params"}
		} else {
			resp.Result = res
		}
	}
	out, _ := json.Marshal(resp)
	n.met.request("json_rpc", http.StatusOK, time.Since(start).Seconds())
	writeReply(w, http.StatusOK, out, true)
}
