package snode

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto.dev/snode/relay"
	"sotto.dev/storagerpc"
)

// clientIP is the loopback source address the test's clients dial from
// (Linux routes all of 127.0.0.0/8 to lo); nodes listen on 127.0.0.1.
const clientIP = "127.0.0.77"

// logCapture collects every log line of the nodes of a test.
type logCapture struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced at every line
}

func newLogCapture() *logCapture { return &logCapture{changed: make(chan struct{})} }

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	close(c.changed)
	c.changed = make(chan struct{})
	return len(p), nil
}

func (c *logCapture) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// waitFor waits until a line containing s was logged.
func (c *logCapture) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		found, changed := strings.Contains(c.buf.String(), s), c.changed
		c.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no log line with %q; log:\n%s", s, c.text())
		}
	}
}

// dialFrom opens a TCP connection to addr from clientIP.
func dialFrom(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", clientIP, err)
	}
	return c
}

// TestNoClientAddressInLogs runs real nodes logging at debug level and
// makes a client at 127.0.0.77 do everything that used to put an address in
// a node's log: plain HTTP and garbage to the TLS port, an abandoned TLS
// handshake, an HTTP/2 connection without its preface, a slow sender cut
// off by the read timeout, bursts past the per-address rate limit on the
// storage RPC and at the onion guard, a bad onion request. The address
// appears in no log line; the lines net/http writes are there, redacted.
func TestNoClientAddressInLogs(t *testing.T) {
	capture := newLogCapture()
	tn := startTestNet(&testNet{
		t:   t,
		log: slog.New(slog.NewTextHandler(capture, &slog.HandlerOptions{Level: slog.LevelDebug})),
		tweak: func(c *Config) {
			c.Limits.ClientRate, c.Limits.ClientBurst = 1, 3
			c.Limits.ReadTimeout = Duration(500 * time.Millisecond)
		},
		setup: func(n *Node) {
			if _, err := n.EnableOnionRelay(relay.Config{}); err != nil {
				t.Fatal(err)
			}
		},
	}, []uint64{swarmA, swarmA}, nil)
	addr := tn.nodes[0].node.Addr().String()

	// Each exchange ends when the node closed the connection, so the
	// node's handling (and its log line) is done or under way.
	drain := func(c net.Conn) {
		t.Helper()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.Copy(io.Discard, c)
		c.Close()
	}

	// Plain HTTP to the TLS port.
	c := dialFrom(t, addr)
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	drain(c)
	capture.waitFor(t, "client sent an HTTP request to an HTTPS server")

	// Garbage.
	c = dialFrom(t, addr)
	c.Write(bytes.Repeat([]byte{0x16, 0x03, 0x01, 0xff, 0xff, 0x42}, 50))
	drain(c)

	// A TLS handshake the client abandons: it refuses the certificate.
	c = dialFrom(t, addr)
	tc := tls.Client(c, &tls.Config{
		InsecureSkipVerify:    true,
		VerifyPeerCertificate: func([][]byte, [][]*x509.Certificate) error { return errors.New("refused") },
	})
	if err := tc.Handshake(); err == nil {
		t.Fatal("handshake completed")
	}
	c.Close()
	capture.waitFor(t, "bad certificate")

	// HTTP/2 negotiated, then no connection preface.
	c = dialFrom(t, addr)
	tc = tls.Client(c, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}) // node certificates are self-signed
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tc.Write([]byte("not the preface of an HTTP/2 connection\r\n\r\n"))
	drain(tc)

	// A slow sender: the headers, then part of the body, until the read
	// timeout closes the connection.
	c = dialFrom(t, addr)
	tc = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	fmt.Fprintf(tc, "POST /storage_rpc/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"method\":")
	drain(tc)

	// Bursts past the rate limit, on the storage RPC and at the guard,
	// and a bad onion request.
	hc := &http.Client{Transport: &http.Transport{
		DialContext:     (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}}).DialContext,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // node certificates are self-signed
	}}
	defer hc.CloseIdleConnections()
	u := newUser(t)
	body, err := storagerpc.EncodeRequest(u.retrieve(0, "", 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	limited := map[string]bool{}
	for _, path := range []string{"/storage_rpc/v1", relay.Path} {
		for range 10 {
			resp, err := hc.Post("https://"+addr+path, "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				limited[path] = true
			}
		}
	}
	if !limited["/storage_rpc/v1"] || !limited[relay.Path] {
		t.Fatalf("bursts not rate limited: %v", limited)
	}
	capture.waitFor(t, "rate limiting a client")
	tn.stopAll()

	log := capture.text()
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, clientIP) {
			t.Errorf("client address in a log line: %s", line)
		}
	}
	if !strings.Contains(log, "TLS handshake error from "+redactedAddr) {
		t.Errorf("net/http's handshake errors are not in the log, redacted:\n%s", log)
	}
}

// TestRedactAddrs checks the redaction of the lines net/http writes.
func TestRedactAddrs(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http: TLS handshake error from 127.0.0.77:50312: EOF", "http: TLS handshake error from [addr]: EOF"},
		{"read tcp 127.0.0.1:4433->10.1.2.3:999: i/o timeout", "read tcp [addr]->[addr]: i/o timeout"},
		{"http2: server: error reading preface from client [2001:db8::7]:4000: bogus", "http2: server: error reading preface from client [addr]: bogus"},
		{"from [fe80::1%eth0]:80 and [::ffff:192.0.2.1]:1", "from [addr] and [addr]"},
		{"host 192.0.2.1 then ::ffff:192.0.2.9", "host [addr] then ::ffff:[addr]"},
		{"version 1.2.3 and 2026-12-05T04:15:08Z stay", "version 1.2.3 and 2026-12-05T04:15:08Z stay"},
	} {
		if got := string(redactAddrs([]byte(c.in))); got != c.want {
			t.Errorf("redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
