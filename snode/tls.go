package snode

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"sotto.dev/key"
)

// selfSignedCert makes the node's TLS certificate: self-signed with the
// node's Ed25519 identity key, so that the certificate's key is the key
// the ledger lists. Clients do not verify it (Session's clients don't);
// peers pin it to the ledger key.
func selfSignedCert(k *Keys, now time.Time) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate serial: %w", err)
	}
	pub := k.Ed25519Public()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hex.EncodeToString(pub[:]) + ".snode"},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	priv := k.ed25519Private()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ed25519.PublicKey(pub[:]), priv)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}, nil
}

// serverTLS is the listener's configuration: the node certificate, HTTP/2
// and HTTP/1.1, and a requested (not required) client certificate that the
// node-to-node endpoints check against the ledger.
func serverTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
		ClientAuth:   tls.RequestClientCert,
	}
}

// ErrPeerKey is returned when a peer's certificate key is not the key the
// ledger lists for it.
var ErrPeerKey = errors.New("peer certificate key does not match the ledger")

// peerKeyOf returns the Ed25519 key of a TLS peer's leaf certificate.
func peerKeyOf(certs []*x509.Certificate) (key.NodePublic, bool) {
	if len(certs) == 0 {
		return key.NodePublic{}, false
	}
	pk, ok := certs[0].PublicKey.(ed25519.PublicKey)
	if !ok || len(pk) != ed25519.PublicKeySize {
		return key.NodePublic{}, false
	}
	return key.NodePublic(pk), true
}

// peerTLS is the client configuration for a connection to the node whose
// ledger key is want: TLS 1.3 only, our certificate as client
// certificate, and the server's certificate key pinned to want. (The TLS
// handshake proves the server holds the certificate's private key; the
// certificate's own signature proves nothing and is not checked.)
func peerTLS(cert tls.Certificate, want key.NodePublic) *tls.Config {
	return &tls.Config{
		Certificates:       []tls.Certificate{cert},
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{"h2"},
		InsecureSkipVerify: true, // replaced by the pin below
		VerifyConnection: func(cs tls.ConnectionState) error {
			got, ok := peerKeyOf(cs.PeerCertificates)
			if !ok || got != want {
				return ErrPeerKey
			}
			return nil
		},
	}
}
