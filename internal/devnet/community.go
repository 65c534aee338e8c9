package devnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"time"

	"sotto.dev/community"
	"sotto.dev/internal/testnet"
	"sotto.dev/ledger"
	ledgercli "sotto.dev/ledger/cli"
	"sotto.dev/ledger/state"
	"sotto.dev/storagerpc"
)

// A devnet runs one community server in its process (issue 15) with the
// room LobbyRoom, registers it in the ledger with the first node's
// operator key and names it in DIR/network.json as "communities", as it
// does for its file server (fileserver.go). The server is reached
// directly over HTTP on the devnet's loopback address and through onion
// v4 requests exit nodes make to that address.

// CommunityServer is a community server the devnet runs: the community
// package's server, or anything that serves the same API.
type CommunityServer interface {
	// Serve serves on CommunitySpec.Listen until ctx ends.
	Serve(ctx context.Context) error
}

// CommunitySpec is what the devnet gives the community server it starts.
type CommunitySpec struct {
	// Dir is the server's own directory, DIR/community, kept across
	// restarts of the devnet (sotto-community's --dir).
	Dir string
	// Listen is the address to listen on: the devnet's address and a port
	// kept for the server across restarts.
	Listen netip.AddrPort
	// Keys are the server's keys (DIR/community/key.json, as
	// sotto-community keeps them).
	Keys *community.Keys
	// Rooms are the public rooms the devnet lists: LobbyRoom.
	Rooms []string
	// Logger receives the server's logs.
	Logger *slog.Logger
}

// NewCommunityServer makes the community server of a devnet from its
// spec.
type NewCommunityServer func(CommunitySpec) (CommunityServer, error)

// Names inside the network directory, and the devnet's room.
const (
	// CommunityDir is the community server's directory.
	CommunityDir = "community"
	// CommunityPortFile (in CommunityDir) holds the port it listens on.
	CommunityPortFile = "devnet-community.json"
	// LobbyRoom is the room a devnet's community server has and lists.
	LobbyRoom = "lobby"
)

const communityPortFormat = "sotto-devnet-community-v1"

// RealCommunityServer is the community package's server with its default
// limits, the one `sottod devnet` runs; it adds the spec's rooms to the
// database the first time.
func RealCommunityServer(spec CommunitySpec) (CommunityServer, error) {
	if err := addRooms(spec.Dir, spec.Rooms); err != nil {
		return nil, err
	}
	cfg := community.DefaultConfig()
	cfg.Dir, cfg.Listen = spec.Dir, spec.Listen.String()
	return community.New(cfg, community.Deps{Keys: spec.Keys, Logger: spec.Logger})
}

// addRooms makes sure the database in dir has rooms, as `sotto-community
// room add` does.
func addRooms(dir string, rooms []string) error {
	ctx := context.Background()
	st, err := community.OpenStore(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, token := range rooms {
		_, err := st.Room(ctx, token)
		if errors.Is(err, community.ErrNoRoom) {
			_, err = st.AddRoom(ctx, token, token, nil, time.Now())
		}
		if err != nil {
			return fmt.Errorf("room %s: %w", token, err)
		}
	}
	return nil
}

// communitySpec loads the community server's keys and port from dir,
// making them the first time, with a free port on ip.
func communitySpec(dir string, ip netip.Addr, log *slog.Logger) (CommunitySpec, error) {
	spec := CommunitySpec{Dir: dir, Rooms: []string{LobbyRoom}, Logger: log}
	keys, _, err := community.LoadOrCreateKeys(filepath.Join(dir, community.KeyFileName))
	if err != nil {
		return spec, err
	}
	spec.Keys = keys
	port, err := loadPort(filepath.Join(dir, CommunityPortFile), communityPortFormat, ip)
	if err != nil {
		return spec, fmt.Errorf("community port: %w", err)
	}
	spec.Listen = netip.AddrPortFrom(ip, port)
	return spec, nil
}

// URL is the community server's base URL: plain HTTP on the devnet's
// loopback address (onion v4 protects what exit nodes send it).
func (s *CommunitySpec) URL() string { return "http://" + s.Listen.String() }

// entry is the spec's network-file entry (no Ed25519 key).
func (s *CommunitySpec) entry() storagerpc.Community {
	return storagerpc.Community{URL: s.URL(), Pubkey: s.Keys.OnionPublic().String(), Rooms: slices.Clone(s.Rooms)}
}

// communitySigner signs the ledger registration with the server's
// Ed25519 key.
type communitySigner struct{ k *community.Keys }

func (s communitySigner) PublicKey() [32]byte      { return [32]byte(s.k.Ed25519Public()) }
func (s communitySigner) Sign(msg []byte) [64]byte { return s.k.Sign(msg) }

// startCommunity starts the devnet's community server, waits until it
// accepts connections, registers it in the ledger of a CometBFT devnet
// and lists it in the network file.
func startCommunity(ctx context.Context, cfg Config, n *testnet.Network) (*runningFileServer, error) {
	spec, err := communitySpec(filepath.Join(n.Dir(), CommunityDir), n.ListenAddr(), cfg.Logger.With("component", "community"))
	if err != nil {
		return nil, err
	}
	srv, err := cfg.Community(spec)
	if err != nil {
		return nil, fmt.Errorf("community server: %w", err)
	}
	r, err := startServing(ctx, srv, spec.Listen)
	if err != nil {
		return nil, fmt.Errorf("community server: %w", err)
	}
	if c := n.LedgerClient(); c != nil {
		op, err := ledgercli.ReadKey(n.Node(0).OperatorKey)
		if err == nil {
			err = registerCommunity(ctx, c, op, &spec)
		}
		if err != nil {
			_ = r.stop()
			return nil, fmt.Errorf("community registration: %w", err)
		}
	}
	if err := n.SetCommunities([]testnet.CommunityEntry{spec.entry()}); err != nil {
		_ = r.stop()
		return nil, err
	}
	cfg.Logger.Info("community server up", "url", spec.URL(), "pubkey", spec.Keys.OnionPublic().String(), "rooms", spec.Rooms)
	return r, nil
}

// registerCommunity makes the ledger list the community server of spec
// for operator: registered, or updated if its URL, key or rooms changed,
// or left as it is.
func registerCommunity(ctx context.Context, c *ledger.Client, op state.Signer, spec *CommunitySpec) error {
	want := spec.entry()
	want.PubkeyEd25519 = spec.Keys.Ed25519Public().String()
	l, err := c.Communities(ctx)
	if err != nil {
		return err
	}
	t := state.TypeCommunityRegister
	for _, cs := range l.Communities {
		if cs.PubkeyEd25519 == want.PubkeyEd25519 {
			if cs.URL == want.URL && cs.Pubkey == want.Pubkey && slices.Equal(cs.Rooms, want.Rooms) {
				return nil
			}
			t = state.TypeCommunityUpdate
		}
	}
	_, err = c.SubmitCommunity(ctx, op, communitySigner{spec.Keys}, t, spec.Keys.OnionPublic(), want.URL, want.Rooms)
	return err
}
