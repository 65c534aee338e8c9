package testnet

import (
	"slices"

	"sotto.dev/storagerpc"
)

// CommunityEntry is a community server of the network file's
// "communities": {"url", "pubkey", "rooms"} (storagerpc.Community without
// its Ed25519 key).
type CommunityEntry = storagerpc.Community

// SetCommunities lists community servers in the network file and rewrites
// it (`sottod devnet` names the community server it runs), as
// SetFileServers does for file servers (behind proxies with Options.Link,
// endpoint CommunityEndpoint(i)).
func (n *Network) SetCommunities(list []CommunityEntry) error {
	list = slices.Clone(list)
	for i := range list {
		list[i].Rooms = slices.Clone(list[i].Rooms)
		u, err := n.frontURL(CommunityEndpoint(i), list[i].URL)
		if err != nil {
			return err
		}
		list[i].URL = u
	}
	n.mu.Lock()
	n.communities = list
	n.mu.Unlock()
	return n.writeNetworkFile()
}
