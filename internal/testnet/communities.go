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
// SetFileServers does for file servers.
func (n *Network) SetCommunities(list []CommunityEntry) error {
	n.mu.Lock()
	n.communities = slices.Clone(list)
	n.mu.Unlock()
	return n.writeNetworkFile()
}
