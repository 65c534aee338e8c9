package devnet

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sotto.dev/client"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	ledgercli "sotto.dev/ledger/cli"
)

// httpFileServer stands in for the fileserver package's server, which is
// being written beside this: a plain HTTP server on the spec's address
// that says which key it was given.
type httpFileServer struct {
	spec FileServerSpec
}

func (s *httpFileServer) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.spec.Listen.String())
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, s.spec.X25519.Public().String())
	})}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runWithFileServer runs a 5-node CometBFT devnet in dir with a file
// server and calls check once it is ready.
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
				return &httpFileServer{spec: spec}, nil
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

// TestDevnetFileServer: the devnet runs its file server, registers it in
// the ledger and names it in the network file, which clients accept; a
// restart keeps its keys and port and registers nothing twice.
func TestDevnetFileServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodes")
	}
	dir := t.TempDir()
	var first FileServerSpec
	var nonce uint64
	runWithFileServer(t, dir, func(n *testnet.Network, spec FileServerSpec) {
		first = spec
		if spec.Dir != filepath.Join(dir, FileServerDir) || !spec.Listen.Addr().IsLoopback() {
			t.Errorf("spec dir %s, listen %s", spec.Dir, spec.Listen)
		}
		nf, err := client.LoadNetwork(n.NetworkFile())
		if err != nil {
			t.Fatal(err)
		}
		ed := key.NodePublic(spec.Ed25519.Public().(ed25519.PublicKey))
		want := client.NetworkFileServer{URL: "http://" + spec.Listen.String(), PubkeyX25519: spec.X25519.Public().String(), PubkeyEd25519: ed.String()}
		if len(nf.FileServers) != 1 || nf.FileServers[0] != want {
			t.Fatalf("network file lists %+v, want %+v", nf.FileServers, want)
		}
		resp, err := http.Get(want.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want.PubkeyX25519 {
			t.Fatalf("file server answered %q", body)
		}
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
	if info, err := os.Stat(filepath.Join(dir, FileServerDir, FileServerKeyFile)); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info, err)
	}

	runWithFileServer(t, dir, func(n *testnet.Network, spec FileServerSpec) {
		if spec.Listen != first.Listen || !spec.Ed25519.Equal(first.Ed25519) || !spec.X25519.Equal(&first.X25519) {
			t.Fatal("the file server's keys or port changed across a restart")
		}
		nf, err := client.LoadNetwork(n.NetworkFile())
		if err != nil || len(nf.FileServers) != 1 {
			t.Fatalf("network file after restart: %+v, %v", nf, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		op, err := n.LedgerClient().Account(ctx, mustOperator(t, n))
		if err != nil || op.Nonce != nonce {
			t.Fatalf("the operator sent transactions again at restart: nonce %d, was %d (%v)", op.Nonce, nonce, err)
		}
	})
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
