package snode

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"time"

	"sotto.dev/ledger"
	"sotto.dev/storagerpc"
)

// Node lists in oxend's get_service_nodes format, answered from the ledger
// view: POST /json_rpc get_n_service_nodes (the seed-node bootstrap of
// session-protocol.md §3.7) and storage RPC oxend_request.

// serviceNodesParams are the parameters clients send.
type serviceNodesParams struct {
	ActiveOnly bool            `json:"active_only"`
	Fields     map[string]bool `json:"fields"`
	Limit      int             `json:"limit"`
}

// nodeFields builds every field oxend can report for a node, by name.
func nodeFields(n *ledger.Node) map[string]any {
	swarmHex := storagerpc.SwarmIDHex(n.SwarmID)
	return map[string]any{
		"service_node_pubkey":     hex.EncodeToString(n.Ed25519[:]),
		"pubkey_ed25519":          hex.EncodeToString(n.Ed25519[:]),
		"pubkey_x25519":           hex.EncodeToString(n.X25519[:]),
		"public_ip":               n.PublicIP,
		"storage_port":            n.StoragePort,
		"storage_https_port":      n.StoragePort,
		"storage_lmq_port":        n.StoragePort,
		"swarm_id":                n.SwarmID,
		"swarm":                   swarmHex,
		"requested_unlock_height": n.RequestedUnlockHeight,
		"active":                  n.State == ledger.StateActive,
		"funded":                  true,
		"storage_server_version":  n.Version,
	}
}

// serviceNodes answers get_service_nodes / get_n_service_nodes.
func (n *Node) serviceNodes(raw json.RawMessage) (map[string]any, error) {
	var p serviceNodesParams
	if len(bytes.TrimSpace(raw)) > 0 && string(bytes.TrimSpace(raw)) != "null" {
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, storagerpc.BadRequest("invalid get_service_nodes params")
		}
	}
	snap := n.view.Current()
	var list []*ledger.Node
	for i := range snap.Nodes {
		nd := &snap.Nodes[i]
		if p.ActiveOnly && nd.State != ledger.StateActive {
			continue
		}
		list = append(list, nd)
	}
	if p.Limit > 0 && p.Limit < len(list) {
		rand.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
		list = list[:p.Limit]
	}
	want := func(name string) bool { return len(p.Fields) == 0 || p.Fields[name] }
	states := make([]map[string]any, 0, len(list))
	for _, nd := range list {
		all := nodeFields(nd)
		if len(p.Fields) == 0 {
			states = append(states, all)
			continue
		}
		m := make(map[string]any, len(p.Fields))
		for k := range p.Fields {
			if v, ok := all[k]; ok && p.Fields[k] {
				m[k] = v
			}
		}
		states = append(states, m)
	}
	res := map[string]any{
		"service_node_states": states,
		"status":              "OK",
	}
	if want("height") {
		res["height"] = snap.Height
	}
	if want("target_height") {
		res["target_height"] = snap.Height
	}
	if want("hardfork") {
		res["hardfork"] = hardFork[0]
	}
	return res, nil
}

// oxendRequest answers oxend_request from the view.
func (n *Node) oxendRequest(c *call, p *storagerpc.OxendRequestParams) (int, any, error) {
	var result any
	switch p.Endpoint {
	case storagerpc.OxendGetServiceNodes:
		r, err := n.serviceNodes(p.Params)
		if err != nil {
			return 0, nil, err
		}
		result = r
	case storagerpc.OxendONSResolve:
		var q struct {
			Type     int    `json:"type"`
			NameHash string `json:"name_hash"`
		}
		if err := json.Unmarshal(p.Params, &q); err != nil {
			return 0, nil, storagerpc.BadRequest("invalid ons_resolve params")
		}
		if h, err := base64.StdEncoding.DecodeString(q.NameHash); err != nil || len(h) != 32 {
			return 0, nil, storagerpc.BadRequest("invalid ons_resolve name_hash")
		}
		// The ledger has no names yet: every name is unknown, which oxend
		// reports as a result without encrypted_value.
		result = map[string]any{}
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
// get_service_nodes), as Session's seed nodes do.
func (n *Node) handleJSONRPC(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	release, ok := n.admitClient(w, r, "json_rpc", start)
	if !ok {
		return
	}
	defer release()
	body, ok := n.readBody(w, r, "json_rpc", start)
	if !ok {
		return
	}
	var req jsonRPCRequest
	resp := jsonRPCResponse{Version: "2.0"}
	switch {
	case json.Unmarshal(body, &req) != nil:
		resp.Error = &jsonRPCError{jsonRPCParseError, "Parse error"}
	case req.Method == "":
		resp.ID, resp.Error = req.ID, &jsonRPCError{jsonRPCInvalidRequest, "Invalid request"}
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
