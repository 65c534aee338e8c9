package snode

import (
	"crypto/ed25519"
	"crypto/sha256"
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
// the ledger lists. Peers pin it to the ledger key; clients pin a seed's
// certificate by its SHA-256 (CertificateSHA256), as Session's clients pin
// the seeds' certificates (session-protocol.md §3.7).
//
// The certificate is a function of the key alone, so that its fingerprint
// outlives restarts: the serial is derived from the key, the validity is
// fixed (from 2024-01-01 to RFC 5280's "no expiry" date, 9999-12-31), and
// Ed25519 signatures are deterministic. A new key gives a new fingerprint.
func selfSignedCert(k *Keys) (tls.Certificate, error) {
	pub := k.Ed25519Public()
	h := sha256.Sum256(append([]byte(certSerialLabel), pub[:]...))
	h[0] &= 0x7f // a positive serial of at most 20 octets
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(h[:16]),
		Subject:               pkix.Name{CommonName: hex.EncodeToString(pub[:]) + ".snode"},
		NotBefore:             certNotBefore,
		NotAfter:              certNotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	priv := k.ed25519Private()
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, ed25519.PublicKey(pub[:]), priv)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}, nil
}

// certSerialLabel personalises the hash that gives a node certificate its
// serial number.
const certSerialLabel = "sotto node certificate serial v1"

var (
	certNotBefore = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	certNotAfter  = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// CertificateSHA256 is the SHA-256 of the DER certificate that a node with
// keys k presents: the pin a network file gives for a seed node.
func CertificateSHA256(k *Keys) ([32]byte, error) {
	c, err := selfSignedCert(k)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(c.Certificate[0]), nil
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
// certificate's own signature proves nothing and is not checked.) It
// offers HTTP/2 only, or with h1 HTTP/1.1 only.
func peerTLS(cert tls.Certificate, want key.NodePublic, h1 bool) *tls.Config {
	proto := "h2"
	if h1 {
		proto = "http/1.1"
	}
	return &tls.Config{
		Certificates:       []tls.Certificate{cert},
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{proto},
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
