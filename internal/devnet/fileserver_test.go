package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"sotto.dev/client"
	"sotto.dev/fileserver"
	"sotto.dev/internal/loadtest"
	"sotto.dev/internal/testnet"
	ledgercli "sotto.dev/ledger/cli"
	"sotto.dev/onion"
)

// runWithFileServer runs a 5-node CometBFT devnet in dir with the real
// file server and calls check once it is ready.
func runWithFileServer(t *testing.T, dir string, check func(n *testnet.Network, spec FileServerSpec)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *testnet.Network, 1)
	specs := make(chan FileServerSpec, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Dir: dir, Nodes: 5, Ready: func(n *testnet.Network) { ready <- n },
			FileServer: func(spec FileServerSpec) (FileServer, error) {
				specs <- spec
				return RealFileServer(spec)
			}})
	}()
	select {
	case n := <-ready:
		func() {
			defer cancel()
			check(n, <-specs)
		}()
	case err := <-done:
		t.Fatalf("devnet ended: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatal("devnet not ready in 3 minutes")
	}
	if err := <-done; err != nil {
		t.Fatalf("devnet: %v", err)
	}
}

// uploadThroughDevnet uploads data to the file server fs through a path
// of three of the devnet's nodes (from its network file), as a client
// does, downloads it again and returns the file id.
func uploadThroughDevnet(t *testing.T, nf *client.Network, fs client.NetworkFileServer, data []byte) string {
	t.Helper()
	call := onionCaller(t, nf, fs.URL, fs.PubkeyX25519)
	r := call("POST", "/file", data)
	var up struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(r.Body, &up); r.Code != http.StatusOK || err != nil || up.ID == "" {
		t.Fatalf("upload: %d %s", r.Code, r.Body)
	}
	if r := call("GET", "/file/"+up.ID, nil); r.Code != http.StatusOK || !bytes.Equal(r.Body, data) {
		t.Fatalf("download: %d, %d bytes", r.Code, len(r.Body))
	}
	return up.ID
}

// onionCaller returns a function that makes onion v4 requests to the
// server at serverURL with X25519 key x25519 (hex) through a path of three
// of the devnet's nodes (from its network file), as a client does.
func onionCaller(t *testing.T, nf *client.Network, serverURL, x25519 string) func(method, endpoint string, body []byte) onion.V4Response {
	t.Helper()
	hc := loadtest.NewHTTPClient(2, false)
	t.Cleanup(hc.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	nodes, err := loadtest.FetchNodes(ctx, hc, nf.SeedNodes[0].URL)
	if err != nil || len(nodes) < 3 {
		t.Fatalf("nodes: %d, %v", len(nodes), err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.ParseUint(u.Port(), 10, 16)
	var dest onion.ServerDest
	dest.Host, dest.Port, dest.Protocol = u.Hostname(), uint16(port), u.Scheme
	if err := dest.X25519.UnmarshalText([]byte(x25519)); err != nil {
		t.Fatal(err)
	}
	return func(method, endpoint string, body []byte) onion.V4Response {
		t.Helper()
		req, err := onion.EncodeV4Request(onion.V4RequestInfo{Method: method, Endpoint: endpoint}, body)
		if err != nil {
			t.Fatal(err)
		}
		hops := []onion.Hop{nodes[0].Hop(), nodes[1].Hop(), nodes[2].Hop()}
		outer, lk, err := onion.BuildServerRequest(hops, dest, req, onion.CipherXChaCha20)
		if err != nil {
			t.Fatal(err)
		}
		st, reply, err := testnet.Post(ctx, hc, nodes[0].URL+"/onion_req/v2", outer)
		if err != nil {
			t.Fatal(err)
		}
		r, err := onion.DecodeServerResponse(lk, st, reply)
		if err != nil {
			t.Fatalf("%s %s: %d %v", method, endpoint, st, err)
		}
		return r
	}
}

// TestDevnetFileServer: the devnet runs the file server, registers it in
// the ledger and names it in the network file, which clients accept; a
// file goes up and down through a path of the devnet's nodes; a restart
// keeps the server's keys, port and files and registers nothing twice.
func TestDevnetFileServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodes")
	}
	dir := t.TempDir()
	var first FileServerSpec
	var nonce uint64
	var id string
	data := bytes.Repeat([]byte("attachment "), 10_000)
	runWithFileServer(t, dir, func(n *testnet.Network, spec FileServerSpec) {
		first = spec
		if spec.Dir != filepath.Join(dir, FileServerDir) || spec.Listen.Addr() != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("spec dir %s, listen %s", spec.Dir, spec.Listen)
		}
		nf, err := client.LoadNetwork(n.NetworkFile())
		if err != nil {
			t.Fatal(err)
		}
		want := client.NetworkFileServer{URL: "http://" + spec.Listen.String(), PubkeyX25519: spec.Keys.X25519Public().String(),
			PubkeyEd25519: spec.Keys.Ed25519Public().String()}
		if len(nf.FileServers) != 1 || nf.FileServers[0] != want {
			t.Fatalf("network file lists %+v, want %+v", nf.FileServers, want)
		}
		id = uploadThroughDevnet(t, nf, want, data)

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := n.LedgerClient()
		l, err := c.FileServers(ctx)
		if err != nil || len(l.FileServers) != 1 || l.FileServers[0].FileServer != want {
			t.Fatalf("ledger lists %+v, %v", l, err)
		}
		op, err := c.Account(ctx, mustOperator(t, n))
		if err != nil {
			t.Fatal(err)
		}
		nonce = op.Nonce
	})
	// The keys are where sotto-files keeps them.
	if k, err := fileserver.LoadKeys(filepath.Join(dir, FileServerDir, fileserver.KeyFileName)); err != nil || k.Ed25519Public() != first.Keys.Ed25519Public() {
		t.Fatalf("key file: %v", err)
	}

	runWithFileServer(t, dir, func(n *testnet.Network, spec FileServerSpec) {
		if spec.Listen != first.Listen || spec.Keys.Ed25519Public() != first.Keys.Ed25519Public() {
			t.Fatal("the file server's keys or port changed across a restart")
		}
		nf, err := client.LoadNetwork(n.NetworkFile())
		if err != nil || len(nf.FileServers) != 1 {
			t.Fatalf("network file after restart: %+v, %v", nf, err)
		}
		if again := uploadThroughDevnet(t, nf, nf.FileServers[0], data); again != id {
			t.Fatalf("the same file got id %s, was %s", again, id)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		op, err := n.LedgerClient().Account(ctx, mustOperator(t, n))
		if err != nil || op.Nonce != nonce {
			t.Fatalf("the operator sent transactions again at restart: nonce %d, was %d (%v)", op.Nonce, nonce, err)
		}
	})
	if _, err := os.Stat(filepath.Join(dir, FileServerDir, FileServerPortFile)); err != nil {
		t.Fatal(err)
	}
}

// mustOperator is node 0's operator address, which registers the file
// server.
func mustOperator(t *testing.T, n *testnet.Network) [32]byte {
	t.Helper()
	op, err := ledgercli.ReadKey(n.Node(0).OperatorKey)
	if err != nil {
		t.Fatal(err)
	}
	return op.PublicKey()
}
