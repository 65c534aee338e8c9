package community

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sotto.dev/sessionproto"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with serial
// number serial, and its key, to certFile and keyFile, stamped with
// modification time mod, and returns the certificate.
func writeCert(t *testing.T, certFile, keyFile string, serial int64, mod time.Time) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "sotto-community test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name, typ string
		der       []byte
	}{{certFile, "CERTIFICATE", der}, {keyFile, "PRIVATE KEY", kder}} {
		if err := os.WriteFile(f.name, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			t.Fatal(err)
		}
		// An explicit time: file times have a coarse granularity.
		if err := os.Chtimes(f.name, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHTTPS posts and polls with signed requests over HTTPS on 127.0.0.1
// while plain HTTP keeps serving, and checks that a renewed certificate
// is served without a restart.
func TestHTTPS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	mod := time.Unix(1_760_000_000, 0)
	first := writeCert(t, certFile, keyFile, 1, mod)
	h := newHarness(t, func(c *Config) {
		c.TLSListen, c.TLSCertFile, c.TLSKeyFile = "127.0.0.1:0", certFile, keyFile
	})
	h.addRoom("lobby")
	plain := h.base
	pool := x509.NewCertPool()
	pool.AddCert(first)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	h.client = &http.Client{Transport: tr}
	h.base = "https://" + h.srv.TLSAddr().String()

	u := h.newUser(sessionproto.SOGSOptions{})
	data := sessionproto.Pad([]byte("over HTTPS"))
	posted := u.post("lobby", data)
	got := u.messages("/room/lobby/messages/since/0")
	if len(got) != 1 || got[0].ID != posted.ID || got[0].Data == nil || *got[0].Data != *posted.Data {
		t.Fatalf("HTTPS poll: %+v, want the post %+v", got, posted)
	}
	// The response really came over TLS: a plain client is refused there.
	if _, err := http.Get(h.base + "/capabilities"); err == nil {
		t.Fatal("HTTPS listener answered a request without TLS")
	}

	h.base, h.client = plain, nil
	if got := u.messages("/room/lobby/messages/since/0"); len(got) != 1 || got[0].ID != posted.ID {
		t.Fatalf("plain HTTP poll: %+v", got)
	}

	second := writeCert(t, certFile, keyFile, 2, mod.Add(time.Hour))
	conn, err := tls.Dial("tcp", h.srv.TLSAddr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if peer := conn.ConnectionState().PeerCertificates[0]; !peer.Equal(second) {
		t.Fatalf("after renewal the server presents serial %v, want %v", peer.SerialNumber, second.SerialNumber)
	}
}

// TestHTTPSConfig refuses HTTPS without a loadable certificate and key.
func TestHTTPSConfig(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 1, time.Unix(1_760_000_000, 0))
	other := filepath.Join(dir, "other.pem")
	writeCert(t, filepath.Join(dir, "c2.pem"), other, 2, time.Unix(1_760_000_000, 0))
	for name, files := range map[string][2]string{
		"no key":         {certFile, ""},
		"no certificate": {"", keyFile},
		"missing file":   {certFile, filepath.Join(dir, "absent.pem")},
		"key mismatch":   {certFile, other},
		"not PEM":        {certFile, filepath.Join(dir, "key-not-pem")},
	} {
		os.WriteFile(filepath.Join(dir, "key-not-pem"), []byte("not a key"), 0o600)
		cfg := DefaultConfig()
		cfg.Dir, cfg.Listen, cfg.TLSListen, cfg.TLSCertFile, cfg.TLSKeyFile = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0", files[0], files[1]
		if srv, err := New(cfg, Deps{Keys: testKeys(t)}); err == nil {
			srv.Close()
			t.Errorf("%s: New accepted it", name)
		}
	}
}
