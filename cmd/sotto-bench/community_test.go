package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sotto.dev/community"
)

// TestBenchCommunity runs every community test, directly and through onion
// v4, against an in-process server: each request answered with the status
// it expects (poll10 checks its ten messages), and the server's CPU time
// reported for this process.
func TestBenchCommunity(t *testing.T) {
	cfg := communityConfig{Room: "lobby", Clients: 4, Concurrency: 4, Count: 40, V4: true, PID: os.Getpid(),
		Tests: []string{"poll0", "poll10", "post"}}
	rs, err := benchCommunity(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 6 {
		t.Fatalf("%d results, want 6", len(rs))
	}
	for _, r := range rs {
		want := cfg.Count
		if r.Test == "poll10" {
			want-- // the first request checked the ten messages
		}
		if r.Requests != want || r.Errors != 0 || r.Rate <= 0 || r.P50 <= 0 || r.Max < r.P99 {
			t.Errorf("%s (%s): %+v", r.Test, r.Via, r)
		}
	}
}

// TestBenchCommunityHTTPS polls and posts over HTTPS against a server with
// a self-signed certificate the load tool is told to trust (--ca).
func TestBenchCommunityHTTPS(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := community.KeysFromSeed(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := community.OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.AddRoom(ctx, "lobby", "Lobby", nil, time.Now())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := community.DefaultConfig()
	cfg.Dir, cfg.PostLimit, cfg.Rate, cfg.AddrRate = dir, 0, 0, 0
	cfg.Listen, cfg.TLSListen, cfg.TLSCertFile, cfg.TLSKeyFile = "", "127.0.0.1:0", certFile, keyFile
	srv, err := community.New(cfg, community.Deps{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	if srv.Addr() != nil {
		t.Errorf("plain HTTP listening on %v with --listen \"\"", srv.Addr())
	}
	pk := keys.Public()
	bc := communityConfig{URL: "https://" + srv.TLSAddr().String(), CA: certFile, PubKey: hex.EncodeToString(pk[:]), Room: "lobby",
		Clients: 4, Concurrency: 4, Count: 20, V4: true, Tests: []string{"poll10", "post"}}
	rs, err := benchCommunity(ctx, bc, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 4 {
		t.Fatalf("%d results, want 4", len(rs))
	}
	for _, r := range rs {
		if r.Errors != 0 || r.Requests < bc.Count-1 {
			t.Errorf("%s (%s): %+v", r.Test, r.Via, r)
		}
	}
	bc.CA = keyFile
	if _, err := benchCommunity(ctx, bc, io.Discard); err == nil {
		t.Error("a --ca without a certificate was accepted")
	}
}
