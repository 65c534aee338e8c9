package snode

import (
	"context"
	"encoding/json"

	"sotto.dev/storagerpc"
)

// fileServers answers sotto_file_servers (oxend_request and /json_rpc):
// the file servers the ledger lists (docs/ledger.md "File servers"). A
// node without a ledger source answers an empty list at its view's
// height; a ledger that cannot be read is a 502.
func (n *Node) fileServers(ctx context.Context) (json.RawMessage, error) {
	l := &storagerpc.FileServerList{Height: n.view.Current().Height, FileServers: []storagerpc.FileServer{}}
	if n.listFileServers != nil {
		var err error
		if l, err = n.listFileServers(ctx); err != nil {
			n.log.Warn("file server list failed", "err", err)
			return nil, storagerpc.BadGateway("file server list unavailable")
		}
	}
	return json.Marshal(l)
}

// jsonRPCNoFileServers: the ledger's file server list cannot be read now
// (a server error code of the JSON-RPC 2.0 range).
const jsonRPCNoFileServers = -32000
