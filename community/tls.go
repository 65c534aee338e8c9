package community

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certFiles is the HTTPS certificate: a PEM chain and key file pair,
// loaded again at a handshake after either file's modification time or
// size changed (a renewal), so a renewed certificate needs no restart.
// A pair that fails to load (a renewal half written) leaves the last good
// one in use until a file changes again.
type certFiles struct {
	certFile, keyFile string

	mu   sync.Mutex
	cert *tls.Certificate
	seen [2]fileStamp
}

// fileStamp is what tells a changed file.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stamp(name string) (fileStamp, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime(), fi.Size()}, nil
}

// loadCertFiles loads the pair, which must be valid now.
func loadCertFiles(certFile, keyFile string) (*certFiles, error) {
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("HTTPS needs a certificate file and a key file")
	}
	c := &certFiles{certFile: certFile, keyFile: keyFile}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// reload loads the pair if its files changed since the last load; c.mu is
// held or c is not shared yet.
func (c *certFiles) reload() error {
	var now [2]fileStamp
	var err error
	if now[0], err = stamp(c.certFile); err != nil {
		return fmt.Errorf("TLS certificate: %w", err)
	}
	if now[1], err = stamp(c.keyFile); err != nil {
		return fmt.Errorf("TLS key: %w", err)
	}
	if c.cert != nil && now == c.seen {
		return nil
	}
	// A pair that does not load is tried again only when a file changes.
	c.seen = now
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate and key: %w", err)
	}
	c.cert = &cert
	return nil
}

// get is tls.Config.GetCertificate.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.reload() // on failure the last good pair stays
	return c.cert, nil
}
