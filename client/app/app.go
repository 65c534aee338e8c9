// Package app is `sotto app`: the local web app, served by the client
// itself on a loopback address and used from the person's own browser.
//
// The app is a thin layer over package client: every action is a call on
// the same engine the command line uses, and the engine's event stream is
// forwarded to the page as Server-Sent Events. The front end (web/) is
// HTML rendered by html/template, CSS and ES modules the project writes,
// embedded in the binary.
//
// Security (docs/app.md): the server listens on loopback only; the URL it
// prints carries a one-time token that the first request trades for an
// HttpOnly, SameSite=Strict session cookie; every request without that
// cookie gets 401; the Host header must name the loopback address
// (DNS rebinding); requests that change state must carry an Origin equal
// to the app's own and a JSON body; every response carries a strict
// Content-Security-Policy (no inline script or style).
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"sotto.dev/client"
	"sotto.dev/identity"
)

// Config configures the app.
type Config struct {
	// Listen is the loopback address to serve on (default 127.0.0.1:0:
	// a free port). Other addresses are refused.
	Listen string
	// IdentityFile is the account's identity file. When it does not
	// exist, the page offers to create or restore an account.
	IdentityFile string
	// Client configures the engine (Home, NetworkFile, timeouts). Its
	// KeyFile is set to IdentityFile.
	Client client.Config
	// Passphrase unlocks an encrypted identity file at start; without it
	// the page asks for the passphrase.
	Passphrase []byte
	// KDF sets the key derivation of identity files made by onboarding
	// (zero: identity.DefaultKDFParams).
	KDF identity.KDFParams
	// NoNetworkHint is shown when Client.NetworkFile is empty: how to
	// start a network and point the app at it.
	NoNetworkHint string
	Logger        *slog.Logger
}

// DefaultNoNetworkHint explains how to run the app on a local devnet.
const DefaultNoNetworkHint = "start a local network with 'sottod devnet --dir DIR' (from the source tree: go run ./cmd/sottod devnet --dir DIR), then run 'sotto app --network DIR/network.json'"

// Server is a running app: the HTTP server and, once an account is open,
// its engine.
type Server struct {
	cfg   Config
	log   *slog.Logger
	ln    net.Listener
	hosts map[string]bool // accepted Host headers
	orig  string          // the app's origin, http://127.0.0.1:port
	cname string          // the session cookie's name
	hub   *hub
	mux   *http.ServeMux
	pages *pages

	mu      sync.Mutex
	token   string // one-time, "" once used
	cookies map[string]bool
	c       *client.Client
	kf      *identity.KeyFile // the open account's keys, wiped after c closes
	pending *pendingAccount   // an account shown but not yet confirmed
	ctx     context.Context   // Serve's, for the engine's goroutines
	wg      sync.WaitGroup
	started bool
}

// CookieName is the session cookie's name prefix; the port follows, since
// browsers share cookies between the ports of a host and two apps (two
// accounts) may run side by side.
const CookieName = "sotto_session"

// New listens on cfg.Listen and opens the account when its identity file
// exists and can be read (unencrypted or with cfg.Passphrase).
func New(cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.KDF == (identity.KDFParams{}) {
		cfg.KDF = identity.DefaultKDFParams()
	}
	if cfg.NoNetworkHint == "" {
		cfg.NoNetworkHint = DefaultNoNetworkHint
	}
	cfg.Client.KeyFile = cfg.IdentityFile
	if cfg.Client.Logger == nil {
		cfg.Client.Logger = cfg.Logger
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("app: listen address %q: %w", cfg.Listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("app: listen address %q is not a loopback address: the app serves only this computer", cfg.Listen)
	}
	pg, err := loadPages()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("app: listen: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	s := &Server{
		cfg: cfg, log: cfg.Logger, ln: ln, hub: newHub(), pages: pg,
		token: randomHex(32), cookies: map[string]bool{},
		hosts: map[string]bool{
			addr.String():                          true,
			fmt.Sprintf("localhost:%d", addr.Port): true,
		},
		orig: "http://" + addr.String(), cname: fmt.Sprintf("%s_%d", CookieName, addr.Port),
	}
	if err := s.openExisting(); err != nil {
		ln.Close()
		return nil, err
	}
	s.routes()
	return s, nil
}

// openExisting opens the account if its identity file exists and opens
// without a prompt.
func (s *Server) openExisting() error {
	if _, err := os.Stat(s.cfg.IdentityFile); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	kf, err := identity.LoadKeyFile(s.cfg.IdentityFile, s.cfg.Passphrase)
	if errors.Is(err, identity.ErrLocked) {
		return nil // the page asks for the passphrase
	}
	if err != nil {
		return fmt.Errorf("app: read identity: %w", err)
	}
	return s.open(kf)
}

// open opens the engine for kf and, when Serve runs, starts it.
func (s *Server) open(kf *identity.KeyFile) error {
	c, err := client.Open(s.cfg.Client, kf)
	if err != nil {
		kf.Wipe()
		return fmt.Errorf("app: open account: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		c.Close()
		kf.Wipe()
		return errExists
	}
	s.c, s.kf = c, kf // the engine uses kf's keys until it is closed
	if s.ctx != nil {
		s.startLocked()
	}
	return nil
}

// startLocked starts the engine's receive loop and the event pump; s.mu
// is held and s.ctx set.
func (s *Server) startLocked() {
	if s.started || s.c == nil {
		return
	}
	s.started = true
	c, ctx := s.c, s.ctx
	if c.Online() {
		s.wg.Go(func() {
			if err := c.Serve(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("app: engine stopped", "err", err)
			}
		})
	}
	s.wg.Go(func() { s.pump(ctx, c) })
}

// engine returns the open engine, or nil before an account exists.
func (s *Server) engine() *client.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c
}

// Client returns the open engine, or nil before an account is open.
func (s *Server) Client() *client.Client { return s.engine() }

// Addr returns the address the app listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Origin returns the app's origin, http://127.0.0.1:port.
func (s *Server) Origin() string { return s.orig }

// URL returns the URL to open in a browser: the app's origin with the
// one-time token.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orig + "/?token=" + s.token
}

// Serve serves the app until ctx ends, then stops the engine and closes
// it. It waits for every goroutine it started.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.ctx = ctx
	s.startLocked()
	s.mu.Unlock()

	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	s.hub.close()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = srv.Shutdown(sctx)
	scancel()
	if err == nil {
		err = <-errc
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	s.wg.Wait()
	s.mu.Lock()
	c, kf := s.c, s.kf
	s.c, s.kf = nil, nil
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	if c != nil {
		c.Close()
		kf.Wipe()
	}
	if pending != nil {
		pending.keys.Wipe()
	}
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
