package devnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"sotto.dev/fileserver"
	"sotto.dev/internal/atomicfile"
	"sotto.dev/internal/ports"
	"sotto.dev/internal/testnet"
	"sotto.dev/ledger"
	ledgercli "sotto.dev/ledger/cli"
	"sotto.dev/ledger/state"
	"sotto.dev/storagerpc"
)

// A devnet runs one attachment file server in its process (issue 13),
// registers it in the ledger with the first node's operator key and names
// it in DIR/network.json as "file_servers", so that clients of the devnet
// find it either way (client/fileservers.go).

// FileServer is a file server the devnet runs: the fileserver package's
// server, or anything that serves the same API.
type FileServer interface {
	// Serve serves on FileServerSpec.Listen until ctx ends.
	Serve(ctx context.Context) error
}

// FileServerSpec is what the devnet gives the file server it starts.
type FileServerSpec struct {
	// Dir is the server's own directory, DIR/fileserver, kept across
	// restarts of the devnet.
	Dir string
	// Listen is the address to listen on: the devnet's address and a port
	// kept for the server across restarts.
	Listen netip.AddrPort
	// Keys are the server's keys (DIR/fileserver/key.json, as sotto-files
	// keeps them); the Ed25519 key signs its ledger registration.
	Keys *fileserver.Keys
	// Logger receives the server's logs.
	Logger *slog.Logger
}

// NewFileServer makes the file server of a devnet from its spec.
type NewFileServer func(FileServerSpec) (FileServer, error)

// RealFileServer is the fileserver package's server with its default
// limits, the one `sottod devnet` runs.
func RealFileServer(spec FileServerSpec) (FileServer, error) {
	cfg := fileserver.DefaultConfig()
	cfg.Dir, cfg.Listen = spec.Dir, spec.Listen.String()
	return fileserver.New(cfg, fileserver.Deps{Keys: spec.Keys, Logger: spec.Logger})
}

// Names inside the network directory.
const (
	// FileServerDir is the file server's directory.
	FileServerDir = "fileserver"
	// FileServerPortFile (in FileServerDir) holds the port it listens on.
	FileServerPortFile = "devnet-fileserver.json"
)

const fileServerPortFormat = "sotto-devnet-fileserver-v1"

// fileServerPort is FileServerPortFile (and CommunityPortFile).
type fileServerPort struct {
	Format string `json:"format"`
	Port   uint16 `json:"port"`
}

// fileServerSpec loads the file server's keys and port from dir, making
// them the first time, with a free port on ip.
func fileServerSpec(dir string, ip netip.Addr, log *slog.Logger) (FileServerSpec, error) {
	spec := FileServerSpec{Dir: dir, Logger: log}
	keys, _, err := fileserver.LoadOrCreateKeys(filepath.Join(dir, fileserver.KeyFileName))
	if err != nil {
		return spec, err
	}
	spec.Keys = keys
	port, err := loadPort(filepath.Join(dir, FileServerPortFile), fileServerPortFormat, ip)
	if err != nil {
		return spec, fmt.Errorf("file server port: %w", err)
	}
	spec.Listen = netip.AddrPortFrom(ip, port)
	return spec, nil
}

// loadPort reads the port file at path (format is its "format"), making
// it with a free port on ip the first time, so that a server the devnet
// runs keeps its port across restarts.
func loadPort(path, format string, ip netip.Addr) (uint16, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = newPortFile(path, format, ip)
	}
	if err != nil {
		return 0, err
	}
	var f fileServerPort
	if err := json.Unmarshal(data, &f); err != nil || f.Format != format || f.Port == 0 {
		return 0, fmt.Errorf("%s: not a %s file", path, format)
	}
	return f.Port, nil
}

func newPortFile(path, format string, ip netip.Addr) ([]byte, error) {
	// Not a port the kernel picks for "listen on port 0": that range is
	// also where outgoing connections get their local ports, so the port
	// could be taken by the time the server binds it (ports.Reserve).
	got, err := ports.Reserve(ip, 1)
	if err != nil {
		return nil, err
	}
	port := got[0]
	data, err := json.MarshalIndent(fileServerPort{Format: format, Port: port}, "", "  ")
	if err != nil {
		return nil, err
	}
	data = append(data, '\n')
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return nil, err
	}
	return data, nil
}

// entry is the spec's network-file entry.
func (s *FileServerSpec) entry() storagerpc.FileServer {
	return storagerpc.FileServer{
		URL:           s.URL(),
		PubkeyX25519:  s.Keys.X25519Public().String(),
		PubkeyEd25519: s.Keys.Ed25519Public().String(),
	}
}

// URL is where the file server is reached: plain HTTP on the devnet's
// loopback address (onion v4 protects what exit nodes send it).
func (s *FileServerSpec) URL() string { return "http://" + s.Listen.String() }

// keysSigner signs the ledger registration with the server's Ed25519 key.
type keysSigner struct{ k *fileserver.Keys }

func (s keysSigner) PublicKey() [32]byte      { return [32]byte(s.k.Ed25519Public()) }
func (s keysSigner) Sign(msg []byte) [64]byte { return s.k.Sign(msg) }

// runningFileServer is a started server (the file server or the
// community server) and the wait for its end.
type runningFileServer struct {
	cancel context.CancelFunc
	done   chan error
}

// stop ends Serve and waits for it.
func (r *runningFileServer) stop() error {
	r.cancel()
	return <-r.done
}

// startFileServer starts the devnet's file server, waits until it
// accepts connections, registers it in the ledger of a CometBFT devnet
// and lists it in the network file.
func startFileServer(ctx context.Context, cfg Config, n *testnet.Network) (*runningFileServer, error) {
	spec, err := fileServerSpec(filepath.Join(n.Dir(), FileServerDir), n.ListenAddr(), cfg.Logger.With("component", "fileserver"))
	if err != nil {
		return nil, err
	}
	srv, err := cfg.FileServer(spec)
	if err != nil {
		return nil, fmt.Errorf("file server: %w", err)
	}
	r, err := startServing(ctx, srv, spec.Listen)
	if err != nil {
		return nil, fmt.Errorf("file server: %w", err)
	}
	if c := n.LedgerClient(); c != nil {
		op, err := ledgercli.ReadKey(n.Node(0).OperatorKey)
		if err == nil {
			err = registerFileServer(ctx, c, op, &spec)
		}
		if err != nil {
			_ = r.stop()
			return nil, fmt.Errorf("file server registration: %w", err)
		}
	}
	if err := n.SetFileServers([]testnet.FileServerEntry{spec.entry()}); err != nil {
		_ = r.stop()
		return nil, err
	}
	cfg.Logger.Info("file server up", "url", spec.URL(), "pubkey_x25519", spec.Keys.X25519Public().String())
	return r, nil
}

// startServing runs srv.Serve and waits until it accepts connections on
// listen.
func startServing(ctx context.Context, srv interface{ Serve(context.Context) error }, listen netip.AddrPort) (*runningFileServer, error) {
	sctx, cancel := context.WithCancel(context.Background())
	r := &runningFileServer{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Serve(sctx) }()
	if err := waitListening(ctx, listen, r.done); err != nil {
		r.cancel()
		return nil, err
	}
	return r, nil
}

// fileServerReadyTimeout bounds the wait for the file server to listen.
const fileServerReadyTimeout = 30 * time.Second

// waitListening waits until addr accepts a TCP connection, Serve ended
// (done) or the timeout passed.
func waitListening(ctx context.Context, addr netip.AddrPort, done chan error) error {
	ctx, cancel := context.WithTimeout(ctx, fileServerReadyTimeout)
	defer cancel()
	var d net.Dialer
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		c, err := d.DialContext(ctx, "tcp", addr.String())
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-done:
			done <- err // for stop
			return fmt.Errorf("stopped before it listened: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("not listening on %s: %w", addr, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// registerFileServer makes the ledger list the file server of spec for
// operator: registered, or updated if its URL or key changed, or left as
// it is.
func registerFileServer(ctx context.Context, c *ledger.Client, op state.Signer, spec *FileServerSpec) error {
	want := spec.entry()
	l, err := c.FileServers(ctx)
	if err != nil {
		return err
	}
	t := state.TypeFileServerRegister
	for _, fs := range l.FileServers {
		if fs.PubkeyEd25519 == want.PubkeyEd25519 {
			if fs.FileServer == want {
				return nil
			}
			t = state.TypeFileServerUpdate
		}
	}
	_, err = c.SubmitFileServer(ctx, op, keysSigner{spec.Keys}, t, spec.Keys.X25519Public(), want.URL)
	return err
}
