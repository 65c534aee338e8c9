package snode

import (
	"context"
	"encoding/json"

	"sotto.dev/storagerpc"
)

// communities answers sotto_communities (oxend_request and /json_rpc): the
// community servers the ledger lists (docs/ledger.md "Communities"), as
// fileServers does for file servers.
func (n *Node) communities(ctx context.Context) (json.RawMessage, error) {
	l := &storagerpc.CommunityList{Height: n.view.Current().Height, Communities: []storagerpc.Community{}}
	if n.listCommunities != nil {
		var err error
		if l, err = n.listCommunities(ctx); err != nil {
			n.log.Warn("community list failed", "err", err)
			return nil, storagerpc.BadGateway("community list unavailable")
		}
	}
	return json.Marshal(l)
}
