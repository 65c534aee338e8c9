package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"sotto.dev/client/path"
	"sotto.dev/key"
	"sotto.dev/storagerpc"
)

// File servers (docs/ledger.md "File servers"): a client uploads
// attachments to a file server it finds in the ledger, through the nodes,
// or, on a devnet, in the network file. Nothing here depends on the rest
// of the client but the network's onion requests.

// FileServer is an attachment file server.
type FileServer struct {
	// URL is the server's base URL (http or https, a host, an optional
	// port and path), the destination of onion v4 requests.
	URL string
	// X25519 is the key onion v4 requests to the server are encrypted to.
	X25519 key.OnionPublic
	// Ed25519 is the server's identity key, which registered it in the
	// ledger (an Ed25519 key like a node's).
	Ed25519 key.FileServerPublic
}

// NetworkFileServer is an entry of a network file's file_servers:
// {"url", "pubkey_x25519", "pubkey_ed25519"}, keys in hex.
type NetworkFileServer = storagerpc.FileServer

// ErrNoFileServer is returned when no file server can be found.
var ErrNoFileServer = errors.New("client: no file server")

// fileServerSources is how many nodes a client asks for the file server
// list, as for a node-list refresh.
const fileServerSources = refreshSources

// fileServerFromEntry converts a checked list entry.
func fileServerFromEntry(e storagerpc.FileServer) (FileServer, error) {
	x, err := key.ParseOnionPublic(e.PubkeyX25519)
	if err != nil {
		return FileServer{}, err
	}
	ed, err := key.ParseFileServerPublic(e.PubkeyEd25519)
	if err != nil {
		return FileServer{}, err
	}
	return FileServer{URL: e.URL, X25519: x, Ed25519: ed}, nil
}

func fileServersFromEntries(list []storagerpc.FileServer) ([]FileServer, error) {
	out := make([]FileServer, 0, len(list))
	for i, e := range list {
		fs, err := fileServerFromEntry(e)
		if err != nil {
			return nil, fmt.Errorf("file_servers[%d]: %w", i, err)
		}
		out = append(out, fs)
	}
	return out, nil
}

// checkNetworkFileServers checks the file_servers of a network file
// exactly (storagerpc.CheckFileServers). Loopback and private hosts are
// allowed: the file is the user's own configuration, and a devnet's
// server listens on its loopback address.
func checkNetworkFileServers(n *Network) error {
	if err := storagerpc.CheckFileServers(n.FileServers, true); err != nil {
		return err
	}
	_, err := fileServersFromEntries(n.FileServers)
	return err
}

// FileServers returns the file servers the client may use: those of the
// network file when it names any (a devnet's), otherwise the ledger's
// list as fileServerSources random nodes give it through onion paths,
// keeping only the servers every answer lists, so that one lying node can
// neither add a server of its own nor change one's URL or keys.
func (c *Client) FileServers(ctx context.Context) ([]FileServer, error) {
	if c.net == nil {
		return nil, ErrNoNetwork
	}
	return c.net.fileServers(ctx)
}

// PickFileServer returns one of the FileServers at random.
func (c *Client) PickFileServer(ctx context.Context) (FileServer, error) {
	list, err := c.FileServers(ctx)
	if err != nil {
		return FileServer{}, err
	}
	return pickFileServer(list, c.net.intN)
}

func pickFileServer(list []FileServer, intN func(int) int) (FileServer, error) {
	if len(list) == 0 {
		return FileServer{}, ErrNoFileServer
	}
	return list[intN(len(list))], nil
}

func (n *network) fileServers(ctx context.Context) ([]FileServer, error) {
	if len(n.net.FileServers) > 0 {
		return fileServersFromEntries(n.net.FileServers)
	}
	list, err := n.askFileServers(ctx)
	if errors.Is(err, errNodeLeft) {
		// The kept nodes were gone and the list came anew from a seed
		// (network.do): ask nodes of that list.
		list, err = n.askFileServers(ctx)
	}
	return list, err
}

// askFileServers asks fileServerSources nodes of the list for the file
// servers and keeps those all of them name.
func (n *network) askFileServers(ctx context.Context) ([]FileServer, error) {
	m, err := n.manager(ctx)
	if err != nil {
		return nil, err
	}
	nodes := m.Nodes()
	if len(nodes) < fileServerSources {
		return nil, &UnreachableError{Err: fmt.Errorf("%d nodes known, need %d to ask for file servers", len(nodes), fileServerSources)}
	}
	dests := n.pickSources(nodes)
	lists := make([][]FileServer, len(dests))
	errs := make([]error, len(dests))
	var wg sync.WaitGroup
	for i, dest := range dests {
		wg.Go(func() {
			lists[i], errs[i] = n.fileServersFrom(ctx, dest)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("node %s: %w", dest.Ed25519, errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("client: file server list: %w", err)
	}
	common := intersectFileServers(lists)
	if len(common) == 0 {
		return nil, fmt.Errorf("%w: the %d nodes asked list none in common", ErrNoFileServer, len(lists))
	}
	return common, nil
}

// fileServersFrom asks dest for sotto_file_servers through an onion path.
// Ledger lists hold only public hosts unless the network allows private
// addresses (AllowSameSubnet marks a loopback devnet).
func (n *network) fileServersFrom(ctx context.Context, dest path.Node) ([]FileServer, error) {
	payload, err := storagerpc.EncodeRequest(&storagerpc.OxendRequestParams{Endpoint: storagerpc.OxendFileServers})
	if err != nil {
		return nil, err
	}
	resp, err := n.rpc(ctx, dest, payload, n.timeout)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, &RPCError{Method: "oxend_request " + storagerpc.OxendFileServers, Status: resp.Status, Body: string(resp.Body)}
	}
	var out storagerpc.OxendResponse
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("oxend_request: %w", err)
	}
	l, err := storagerpc.ParseFileServerList(out.Result, n.net.AllowSameSubnet)
	if err != nil {
		return nil, err
	}
	return fileServersFromEntries(l.FileServers)
}

// intersectFileServers returns the servers (URL and both keys alike) that
// every list holds, in the first list's order.
func intersectFileServers(lists [][]FileServer) []FileServer {
	if len(lists) == 0 {
		return nil
	}
	count := map[FileServer]int{}
	for _, l := range lists {
		seen := map[FileServer]bool{}
		for _, fs := range l {
			if !seen[fs] {
				seen[fs] = true
				count[fs]++
			}
		}
	}
	var out []FileServer
	for _, fs := range lists[0] {
		if count[fs] == len(lists) {
			out = append(out, fs)
			count[fs] = 0
		}
	}
	return out
}
