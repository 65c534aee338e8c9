package testnet

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"sotto.dev/community"
)

// CommunityRoom is a room that StartCommunity adds: its token and name.
type CommunityRoom struct {
	Token, Name string
}

// CommunityServer is a community server that a test runs on 127.0.0.1
// (StartCommunity).
type CommunityServer struct {
	// Server is the running server; Server.Store() changes its rooms and
	// moderators.
	Server *community.Server
	// Dir is the server's directory: its key and its database.
	Dir string
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
	// PublicKey is the server's X25519 key, which join URLs carry.
	PublicKey [32]byte

	t        testing.TB
	stopOnce sync.Once
	cancel   context.CancelFunc
	done     <-chan error
}

// StartCommunity runs a community server with a new key in a temporary
// directory of t, listening on 127.0.0.1 (plain HTTP), with rooms added
// in order. It stops when the test ends, or earlier with Stop.
func StartCommunity(t testing.TB, rooms ...CommunityRoom) *CommunityServer {
	t.Helper()
	dir := t.TempDir()
	keys, _, err := community.LoadOrCreateKeys(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := community.DefaultConfig()
	cfg.Dir, cfg.Listen = dir, "127.0.0.1:0"
	srv, err := community.New(cfg, community.Deps{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rooms {
		if _, err := srv.Store().AddRoom(context.Background(), r.Token, r.Name, nil, time.Now()); err != nil {
			srv.Close()
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	s := &CommunityServer{
		Server: srv, Dir: dir, URL: "http://" + srv.Addr().String(), PublicKey: keys.Public(),
		t: t, cancel: cancel, done: done,
	}
	t.Cleanup(s.Stop)
	return s
}

// JoinURL is room token's join URL: URL/token?public_key=HEX.
func (s *CommunityServer) JoinURL(token string) string {
	return s.URL + "/" + token + "?public_key=" + hex.EncodeToString(s.PublicKey[:])
}

// Stop stops the server and waits until it has closed its store (so
// that its files can be read); the test fails if it ended with an error.
// Only the first call does anything.
func (s *CommunityServer) Stop() {
	s.stopOnce.Do(func() {
		s.cancel()
		if err := <-s.done; err != nil {
			s.t.Errorf("community server: %v", err)
		}
	})
}
