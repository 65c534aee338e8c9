package testnet

import (
	"slices"

	"sotto.dev/storagerpc"
)

// FileServerEntry is a file server of the network file's "file_servers":
// {"url", "pubkey_x25519", "pubkey_ed25519"} (client.Network).
type FileServerEntry = storagerpc.FileServer

// SetFileServers lists file servers in the network file and rewrites it
// (`sottod devnet` names the file server it runs). A later start of the
// network writes the file without them until they are set again. With
// Options.Link each server (its URL's host an IPv4 address) is listed
// behind a proxy, endpoint FileServerEndpoint(i).
func (n *Network) SetFileServers(list []FileServerEntry) error {
	list = slices.Clone(list)
	for i := range list {
		u, err := n.frontURL(FileServerEndpoint(i), list[i].URL)
		if err != nil {
			return err
		}
		list[i].URL = u
	}
	n.mu.Lock()
	n.fileServers = list
	n.mu.Unlock()
	return n.writeNetworkFile()
}
