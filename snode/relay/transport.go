package relay

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// HTTPSForwarder is the default Forwarder: an HTTPS POST of the framed
// layer to https://ip:port/onion_req/v2 of the next node, over a client
// whose TLS the node configures (node-to-node authentication).
type HTTPSForwarder struct {
	Client      *http.Client
	MaxResponse int64 // 0 means 16 MiB
}

// Forward implements Forwarder.
func (f *HTTPSForwarder) Forward(ctx context.Context, next Next, body []byte) (int, []byte, error) {
	url := "https://" + next.Addr.String() + Path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", octetStream)
	resp, err := f.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	limit := f.MaxResponse
	if limit <= 0 {
		limit = 16 << 20
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return 0, nil, err
	}
	if int64(len(b)) > limit {
		return 0, nil, fmt.Errorf("relay: next node answered more than %d bytes", limit)
	}
	return resp.StatusCode, b, nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// errPrivateAddress refuses proxied connections into private networks.
var errPrivateAddress = errors.New("relay: server destination is a private address")

// newServerClient is the default client for server destinations: system
// TLS roots, no redirects (the storage server sets Redirect{0}), no
// environment proxy, and a dialer that refuses loopback, private,
// link-local, multicast and unspecified addresses unless allowPrivate. The
// check runs on the resolved address, so DNS cannot smuggle one in.
func newServerClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return errPrivateAddress
			}
			if a := ap.Addr().Unmap(); !publicAddr(a) {
				return errPrivateAddress
			}
			return nil
		}
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         d.DialContext,
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: 10 * time.Second,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func publicAddr(a netip.Addr) bool {
	return a.IsValid() && !a.IsLoopback() && !a.IsPrivate() && !a.IsLinkLocalUnicast() &&
		!a.IsLinkLocalMulticast() && !a.IsInterfaceLocalMulticast() && !a.IsMulticast() && !a.IsUnspecified() &&
		!isCGNAT(a)
}

// isCGNAT reports the shared address space of RFC 6598, 100.64.0.0/10.
func isCGNAT(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	b := a.As4()
	return b[0] == 100 && b[1]&0xc0 == 64
}

func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout())
}

// errorKind names an error's class for debug logs without its text, which
// could carry an address.
func errorKind(err error) string {
	switch {
	case isTimeout(err):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	}
	return "failed"
}
