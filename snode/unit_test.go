package snode

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"sotto.dev/ledger"
	"sotto.dev/ledger/state"
	"sotto.dev/storagerpc"
)

func TestConfigDefaultsAndValidate(t *testing.T) {
	c := DefaultConfig()
	if c.Limits.ClientRate != 300 || c.Limits.ClientBurst != 600 || c.Limits.PeerRate != 600 ||
		c.Limits.MaxClients != 10_000 || c.Limits.MaxBodyBytes != 10<<20 || c.Limits.MaxStoreBytes != 3584<<20 ||
		c.Intervals.Sweep.D() != 10*time.Second || c.Limits.ForwardTimeout.D() != 5*time.Second {
		t.Fatalf("defaults are not Session's: %+v", c)
	}
	if err := c.Validate(); err == nil {
		t.Fatal("config without data_dir and public_ip accepted")
	}
	c.DataDir, c.PublicIP = "/tmp/x", "203.0.113.9"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field string
		mut   func(*Config)
	}{
		{"listen_addr", func(c *Config) { c.ListenAddr = "nope" }},
		{"public_ip", func(c *Config) { c.PublicIP = "::1" }},
		{"public_ip", func(c *Config) { c.PublicIP = "0.0.0.0" }},
		{"admin_addr", func(c *Config) { c.AdminAddr = "x" }},
		{"limits.max_body_bytes", func(c *Config) { c.Limits.MaxBodyBytes = 10 }},
		{"limits.max_store_bytes", func(c *Config) { c.Limits.MaxStoreBytes = 100 }},
		{"limits.client_rate", func(c *Config) { c.Limits.ClientRate = -1 }},
		{"limits.peer_burst", func(c *Config) { c.Limits.PeerBurst = 0 }},
		{"limits.max_clients", func(c *Config) { c.Limits.MaxClients = 0 }},
		{"intervals.sweep", func(c *Config) { c.Intervals.Sweep = 0 }},
		{"limits.forward_timeout", func(c *Config) { c.Limits.ForwardTimeout = -1 }},
	} {
		bad := c
		tc.mut(&bad)
		err := bad.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
}

func TestDecodeConfig(t *testing.T) {
	c, err := DecodeConfig([]byte(`{"public_ip":"198.51.100.1","data_dir":"/var/lib/sottod","limits":{"client_rate":50},"intervals":{"sweep":"3s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.ClientRate != 50 || c.Limits.ClientBurst != 600 || c.Intervals.Sweep.D() != 3*time.Second || c.ListenAddr != ":22021" {
		t.Fatalf("decoded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{`{"nope":1}`, `{"intervals":{"sweep":"soon"}}`, `{} {}`, `[`} {
		if _, err := DecodeConfig([]byte(in)); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
	// Flags override the file.
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"--client-rate", "7", "--public-port", "443", "--sweep-interval", "1m"}); err != nil {
		t.Fatal(err)
	}
	if c.Limits.ClientRate != 7 || c.PublicPort != 443 || c.Intervals.Sweep.D() != time.Minute {
		t.Fatalf("flags: %+v", c)
	}
	// Round trip through JSON.
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := DecodeConfig(b)
	if err != nil || c2 != c {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, c2, c)
	}
}

func TestNodeKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, created, err := LoadOrCreateKeys(dir)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKeys(dir)
	if err != nil || created || k2.Ed25519Public() != k1.Ed25519Public() || k2.X25519Public() != k1.X25519Public() {
		t.Fatalf("reload: %v %v", created, err)
	}
	// The X25519 key is Session's conversion of the Ed25519 key.
	if x, err := ed25519ToX(k1.Ed25519Public()); err != nil || x != k1.X25519Public() {
		t.Fatalf("x25519 not derived from ed25519: %v", err)
	}
	for _, bad := range []string{`{}`, `{"format":"sotto-node-key-v1","ed25519_seed":"zz"}`, `{"format":"sotto-node-key-v1","ed25519_seed":"` + strings.Repeat("g", 64) + `"}`, `nope`} {
		p := filepath.Join(t.TempDir(), "k.json")
		if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		var kfe *KeyFileError
		if _, err := LoadKeys(p); !errors.As(err, &kfe) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if s := formatKeys(k1); strings.Contains(s, "seed") || !strings.Contains(s, k1.Ed25519Public().String()) {
		t.Fatalf("keys format as %q", s)
	}
}

func TestNewErrors(t *testing.T) {
	cfg := quietConfig(t.TempDir())
	if _, err := New(cfg, Deps{}); err == nil {
		t.Fatal("New without a view")
	}
	cfg.PublicIP = ""
	view := staticView(t, &ledger.Snapshot{})
	if _, err := New(cfg, Deps{View: view}); err == nil {
		t.Fatal("New with an invalid config")
	}
}

// A node outside every swarm answers 503, as Session's.
func TestNotInSwarm(t *testing.T) {
	cfg := quietConfig(t.TempDir())
	n, err := New(cfg, Deps{View: staticView(t, &ledger.Snapshot{})})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	u := newUser(t)
	body, _ := storagerpc.EncodeRequest(u.store(0, []byte("x"), time.Hour))
	st, out := n.HandleRPC(context.Background(), body)
	if st != 503 || !strings.Contains(string(out), "not in any swarm") {
		t.Fatalf("%d %s", st, out)
	}
}

// staticView writes a genesis file and returns its view.
func staticView(t testing.TB, s *ledger.Snapshot) *ledger.GenesisView {
	t.Helper()
	p := filepath.Join(t.TempDir(), "genesis.json")
	if err := ledger.WriteGenesis(p, s); err != nil {
		t.Fatal(err)
	}
	v, err := ledger.NewGenesisView(p, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// FuzzHandleRPC feeds arbitrary request bodies to a node's RPC entry
// point: every answer has a known status and, for JSON answers, valid JSON.
func FuzzHandleRPC(f *testing.F) {
	dir := f.TempDir()
	keys, _, err := LoadOrCreateKeys(dir)
	if err != nil {
		f.Fatal(err)
	}
	view := staticView(f, &ledger.Snapshot{Nodes: []ledger.Node{{Ed25519: keys.Ed25519Public(), X25519: keys.X25519Public(),
		PublicIP: "127.0.0.1", StoragePort: 1, SwarmID: swarmA, State: ledger.StateActive}}})
	n, err := New(quietConfig(dir), Deps{View: view})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { n.Close() })
	u := newUser(f)
	for _, req := range []storagerpc.Request{
		u.store(0, []byte("hello"), time.Hour), u.store(2, []byte("cfg"), time.Hour), u.retrieve(0, "", 3, 0),
		&storagerpc.InfoParams{}, &storagerpc.GetSwarmParams{Account: u.acct},
		&storagerpc.BatchParams{Requests: []storagerpc.Request{u.retrieve(2, "", 0, -2), &storagerpc.InfoParams{}}},
		&storagerpc.OxendRequestParams{Endpoint: "get_service_nodes", Params: json.RawMessage(`{"fields":{"public_ip":true}}`)},
	} {
		b, err := storagerpc.EncodeRequest(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"method":"delete_all","params":{"pubkey":"05` + strings.Repeat("ab", 32) + `","namespace":"all","timestamp":1,"signature":"x"}}`))
	f.Add([]byte(`{"method":"sequence","params":{"requests":[{"method":"info","params":{}}]}}`))
	known := map[int]bool{200: true, 400: true, 401: true, 403: true, 404: true, 406: true, 413: true, 421: true, 500: true, 503: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		st, out := n.HandleRPC(context.Background(), body)
		if !known[st] {
			t.Fatalf("status %d for %q: %s", st, body, out)
		}
		if (st == 200 || st == 421) && !json.Valid(out) {
			t.Fatalf("status %d with invalid JSON %q", st, out)
		}
	})
}

func TestONSResolveFromNames(t *testing.T) {
	dir := t.TempDir()
	keys, _, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	view := staticView(t, &ledger.Snapshot{Nodes: []ledger.Node{{Ed25519: keys.Ed25519Public(), X25519: keys.X25519Public(),
		PublicIP: "127.0.0.1", StoragePort: 1, SwarmID: swarmA, State: ledger.StateActive}}})
	want := ledger.ONSNameHash("test")
	names := func(_ context.Context, h state.NameHash) (*ledger.NameInfo, error) {
		if h != want {
			return nil, ledger.ErrNotFound
		}
		return &ledger.NameInfo{EncryptedValue: "abcd", Nonce: "0011"}, nil
	}
	n, err := New(quietConfig(dir), Deps{View: view, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ask := func(hash []byte) (int, string) {
		body, _ := storagerpc.EncodeRequest(&storagerpc.OxendRequestParams{Endpoint: storagerpc.OxendONSResolve,
			Params: json.RawMessage(`{"type":0,"name_hash":"` + base64.StdEncoding.EncodeToString(hash) + `"}`)})
		st, out := n.HandleRPC(context.Background(), body)
		return st, string(out)
	}
	if st, out := ask(want[:]); st != 200 || !strings.Contains(out, `"encrypted_value":"abcd"`) {
		t.Fatalf("known name: %d %s", st, out)
	}
	if st, out := ask(make([]byte, 32)); st != 200 || !strings.Contains(out, `"result":{}`) {
		t.Fatalf("unknown name: %d %s", st, out)
	}
	if st, out := ask([]byte("short")); st != 400 {
		t.Fatalf("bad hash: %d %s", st, out)
	}
}

func FuzzDecodeConfig(f *testing.F) {
	f.Add([]byte(`{"public_ip":"198.51.100.1","data_dir":"/d","limits":{"client_rate":50},"intervals":{"sweep":"3s"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeConfig(data)
		if err != nil {
			return
		}
		_ = c.Validate()
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := DecodeConfig(b)
		if err != nil || c2 != c {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// fuzzNodeWithPeer is a node (not started) in a view that lists it and
// peer in one swarm, for fuzzing the handlers peers call.
func fuzzNodeWithPeer(f *testing.F) (*Node, *Keys) {
	f.Helper()
	dir := f.TempDir()
	keys, _, err := LoadOrCreateKeys(dir)
	if err != nil {
		f.Fatal(err)
	}
	peer, err := NewNodeKeys()
	if err != nil {
		f.Fatal(err)
	}
	view := staticView(f, &ledger.Snapshot{Nodes: []ledger.Node{
		{Ed25519: keys.Ed25519Public(), X25519: keys.X25519Public(), PublicIP: "127.0.0.1", StoragePort: 1, SwarmID: swarmA, State: ledger.StateActive},
		{Ed25519: peer.Ed25519Public(), X25519: peer.X25519Public(), PublicIP: "127.0.0.2", StoragePort: 1, SwarmID: swarmA, State: ledger.StateActive},
	}})
	n, err := New(quietConfig(dir), Deps{View: view})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { n.Close() })
	return n, peer
}

// FuzzPeerEndpoints feeds arbitrary bodies to the node-to-node handlers
// as a listed swarm peer would send them.
func FuzzPeerEndpoints(f *testing.F) {
	n, peer := fuzzNodeWithPeer(f)
	u := newUser(f)
	store, _ := u.store(0, []byte("x"), time.Hour).MarshalJSON()
	f.Add(uint8(0), []byte(`{"op":`+strconv.FormatInt(nowMs(), 10)+`,"method":"store","params":`+string(store)+`}`))
	f.Add(uint8(1), []byte(`{"buckets":"`+base64.StdEncoding.EncodeToString(make([]byte, 4096))+`"}`))
	f.Add(uint8(2), []byte(`{"keys":[{"a":"`+u.acct.String()+`","k":0,"n":0}]}`))
	f.Add(uint8(3), []byte(`{"hashes":["`+strings.Repeat("A", 43)+`"]}`))
	f.Add(uint8(4), []byte(`{"records":[{"a":"`+u.acct.String()+`","n":0,"h":"`+strings.Repeat("A", 43)+`","t":1,"e":9999999999999,"m":1,"d":true}]}`))
	f.Add(uint8(5), []byte(`{"records":[{"a":"`+u.acct.String()+`","n":1,"h":"`+strings.Repeat("A", 43)+`","t":1,"e":9,"m":1,"data":"eA==","sp":"e30="}],"revocations":[{"a":"`+u.acct.String()+`","t":"`+base64.StdEncoding.EncodeToString(make([]byte, 36))+`","m":1,"p":"e30="}]}`))
	handlers := []peerFunc{n.handleForward, n.handleAEBuckets, n.handleAEHeaders, n.handleAEFetch, n.handleAEPush, n.handleHandoff}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		st, val, err := handlers[int(which)%len(handlers)](context.Background(), peer.Ed25519Public(), body)
		st, out, isJSON := encodeReply(st, val, err)
		if st == 0 || (isJSON && !json.Valid(out)) {
			t.Fatalf("status %d body %q", st, out)
		}
	})
}

func TestSplitRecords(t *testing.T) {
	in := aeRecords{Revocations: []aeRevocation{{Account: "x"}}}
	for i := range 10 {
		in.Records = append(in.Records, aeRecord{Hash: strconv.Itoa(i), Data: make([]byte, 300)})
	}
	in.Records = append(in.Records, aeRecord{Hash: "big", Data: make([]byte, 5000)})
	const limit = 3*(300+aeRowOverhead) + aeRowOverhead // three rows and a revocation
	chunks := splitRecords(in, limit)
	n := 0
	for i, c := range chunks {
		size := len(c.Revocations) * aeRowOverhead
		for _, r := range c.Records {
			size += len(r.Data) + aeRowOverhead
		}
		if size > limit && len(c.Records) > 1 {
			t.Fatalf("chunk %d holds %d bytes in %d rows", i, size, len(c.Records))
		}
		if (i == 0) != (len(c.Revocations) == 1) {
			t.Fatalf("revocations in chunk %d: %d", i, len(c.Revocations))
		}
		n += len(c.Records)
	}
	if n != 11 || len(chunks) != 5 {
		t.Fatalf("%d rows in %d chunks", n, len(chunks))
	}
}

// A node's certificate is a function of its key, so that a seed's pinned
// fingerprint outlives restarts, and another key never matches it.
func TestCertificateStable(t *testing.T) {
	k, err := NewNodeKeys()
	if err != nil {
		t.Fatal(err)
	}
	a, err := CertificateSHA256(k)
	if err != nil {
		t.Fatal(err)
	}
	b, err := CertificateSHA256(k)
	if err != nil || a != b {
		t.Fatalf("two certificates of one key differ: %x, %x (%v)", a, b, err)
	}
	other, err := NewNodeKeys()
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := CertificateSHA256(other); c == a {
		t.Fatal("two keys share a certificate fingerprint")
	}
	cert, err := selfSignedCert(k)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := peerKeyOf([]*x509.Certificate{cert.Leaf}); !ok || got != k.Ed25519Public() {
		t.Errorf("certificate key %x, want the node key", got)
	}
	if err := cert.Leaf.CheckSignature(cert.Leaf.SignatureAlgorithm, cert.Leaf.RawTBSCertificate, cert.Leaf.Signature); err != nil {
		t.Errorf("certificate is not self-signed: %v", err)
	}
}
