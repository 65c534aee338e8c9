package snode

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sotto.dev/key"
)

// rawConn opens a TLS connection to n that speaks HTTP/1.1 only.
func rawConn(t *testing.T, n *testNode) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	c, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(n.port))),
		&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) // node certificates are self-signed
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, bufio.NewReader(c)
}

func rpcRequest(path, body string, extra ...string) string {
	h := "POST " + path + " HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + "\r\n" + body
}

const infoBody = `{"method":"info","params":{}}`

// readAnswer reads one answer; its body is checked to be what its
// Content-Length says.
func readAnswer(t *testing.T, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer body: %v", err)
	}
	resp.Body.Close()
	return resp, string(b)
}

func checkInfo(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	var info struct {
		Version []int `json:"version"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &info) != nil || len(info.Version) == 0 {
		t.Fatalf("info: %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Date") == "" {
		t.Fatalf("info headers: %v", resp.Header)
	}
}

func expectInfo(t *testing.T, br *bufio.Reader) {
	t.Helper()
	resp, body := readAnswer(t, br)
	checkInfo(t, resp, body)
}

// TestFastPath sends storage RPCs (the fast path), then a request of
// another kind on the same connection (net/http from then on), then
// storage RPCs again, some of them written together.
func TestFastPath(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA}, nil, nil)
	n := tn.nodes[0]
	c, br := rawConn(t, n)

	for range 3 {
		if _, err := io.WriteString(c, rpcRequest("/storage_rpc/v1", infoBody)); err != nil {
			t.Fatal(err)
		}
		expectInfo(t, br)
	}
	// Two at once: answered in order.
	if _, err := io.WriteString(c, rpcRequest("/storage_rpc/v1", infoBody)+rpcRequest("/storage_rpc/v1", `{"method":"nope","params":{}}`)); err != nil {
		t.Fatal(err)
	}
	expectInfo(t, br)
	if resp, body := readAnswer(t, br); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown method: %d %q", resp.StatusCode, body)
	}
	// A ping, written together with a storage RPC: the connection goes to
	// net/http with both, and net/http answers both.
	if _, err := io.WriteString(c, rpcRequest("/ping_test/v1", "")+rpcRequest("/storage_rpc/v1", infoBody)); err != nil {
		t.Fatal(err)
	}
	if resp, body := readAnswer(t, br); resp.StatusCode != http.StatusOK || resp.Header.Get("X-Oxen-Snode-Pubkey") == "" {
		t.Fatalf("ping: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	expectInfo(t, br)
	if _, err := io.WriteString(c, rpcRequest("/storage_rpc/v1", infoBody)); err != nil {
		t.Fatal(err)
	}
	expectInfo(t, br)
}

// TestFastPathRefuses sends requests that a server could read two ways,
// or that the fast path leaves to net/http's rules: each gets net/http's
// answer, and nothing after a refused request is read as a request of
// its own.
func TestFastPathRefuses(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA}, nil, func(c *Config) { c.Limits.MaxBodyBytes = 64 << 10 })
	n := tn.nodes[0]
	for _, tc := range []struct {
		name   string
		req    string
		status int
	}{
		{"two lengths", "POST /storage_rpc/v1 HTTP/1.1\r\nHost: node\r\nContent-Length: 29\r\nContent-Length: 0\r\n\r\n" + infoBody, http.StatusBadRequest},

		{"no host", "POST /storage_rpc/v1 HTTP/1.1\r\nContent-Length: 29\r\n\r\n" + infoBody, http.StatusBadRequest},
		// A head larger than the fast path's buffer: net/http reads it.
		{"large head", rpcRequest("/storage_rpc/v1", infoBody, "X-Pad: "+strings.Repeat("a", 8000)), http.StatusOK},
		{"too large", rpcRequest("/storage_rpc/v1", `{"method":"info","params":{"x":"`+strings.Repeat("a", 70<<10)+`"}}`), http.StatusRequestEntityTooLarge},
		{"long poll", rpcRequest("/storage_rpc/v1", infoBody, "X-Loki-Long-Poll: true"), http.StatusGone},
		// net/http joins a folded line to the header before it.
		{"folded header", "POST /storage_rpc/v1 HTTP/1.1\r\nHost: node\r\nContent-Length: 29\r\nX: a\r\n b\r\n\r\n" + infoBody, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, br := rawConn(t, n)
			if _, err := io.WriteString(c, tc.req); err != nil {
				t.Fatal(err)
			}
			resp, body := readAnswer(t, br)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, body, tc.status)
			}
			if resp.StatusCode == http.StatusBadRequest {
				// net/http closes after a request it cannot read; a
				// second answer would mean a smuggled request was served.
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				if extra, err := br.ReadString('\n'); err == nil {
					t.Fatalf("a second answer after a refused request: %q", extra)
				}
			}
		})
	}
}

// TestFastPathChunked: a request with both a Content-Length and a chunked
// body is read as net/http reads it, by its chunks (RFC 9112 §6.3): the
// empty chunked body gets its answer, and the bytes after it are the
// next request. Had the fast path used the Content-Length, it would have
// taken them for the body and answered once.
func TestFastPathChunked(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA}, nil, nil)
	c, br := rawConn(t, tn.nodes[0])
	next := rpcRequest("/storage_rpc/v1", infoBody)
	req := "POST /storage_rpc/v1 HTTP/1.1\r\nHost: node\r\nContent-Length: " + strconv.Itoa(len("0\r\n\r\n")+len(next)) +
		"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + next
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	if resp, body := readAnswer(t, br); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("empty chunked body: %d %q", resp.StatusCode, body)
	}
	expectInfo(t, br)
}

// TestFastPathSlowBody: a body slower than the read timeout gets a 400
// and the connection closes, as through net/http.
func TestFastPathSlowBody(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA}, nil, func(c *Config) { c.Limits.ReadTimeout = Duration(300 * time.Millisecond) })
	c, br := rawConn(t, tn.nodes[0])
	req := rpcRequest("/storage_rpc/v1", infoBody)
	if _, err := io.WriteString(c, req[:len(req)-10]); err != nil {
		t.Fatal(err)
	}
	resp, body := readAnswer(t, br)
	if resp.StatusCode != http.StatusBadRequest || body != "could not read request body" {
		t.Fatalf("slow body: %d %q", resp.StatusCode, body)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the connection stayed open after a body that timed out")
	}
}

// TestFastPathHTTP2: a client that negotiates HTTP/2 is served by net/http.
func TestFastPathHTTP2(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA}, nil, nil)
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // node certificates are self-signed
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	url := fmt.Sprintf("https://127.0.0.1:%d/storage_rpc/v1", tn.nodes[0].port)
	for range 2 {
		resp, err := cl.Post(url, "application/json", strings.NewReader(infoBody))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
		}
		checkInfo(t, resp, string(b))
	}
}

// TestFastPathShutdown: a node with idle kept-alive connections and one
// connection in the middle of a request head stops promptly.
func TestFastPathShutdown(t *testing.T) {
	tn := newTestNet(t, []uint64{swarmA}, nil, nil)
	n := tn.nodes[0]
	c, br := rawConn(t, n)
	if _, err := io.WriteString(c, rpcRequest("/storage_rpc/v1", infoBody)); err != nil {
		t.Fatal(err)
	}
	expectInfo(t, br)
	half, _ := rawConn(t, n)
	if _, err := io.WriteString(half, "POST /storage_rpc/v1 HTTP/1.1\r\nHost"); err != nil {
		t.Fatal(err)
	}
	tn.stop(n)
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("an idle connection stayed open after the node stopped")
	}
}

// peerConn opens an HTTP/1.1 connection to n as the holder of keys (a
// node's TLS client certificate), or with no certificate when keys is
// nil.
func peerConn(t *testing.T, n *testNode, keys *Keys) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}} // node certificates are self-signed
	if keys != nil {
		cert, err := selfSignedCert(keys)
		if err != nil {
			t.Fatal(err)
		}
		cfg = peerTLS(cert, n.keys.Ed25519Public(), true)
	}
	c, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(n.port))), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, bufio.NewReader(c)
}

// TestFastPathForward sends batches of forwarded stores to the fast path
// as a swarm peer, and as attackers: a client with no certificate and a
// node the ledger does not list are refused before the body is read, a
// peer gets no more than fwdPeerSlots batches in progress, a body over
// the peer limit goes to net/http (413).
func TestFastPathForward(t *testing.T) {
	var (
		holding atomic.Bool
		entered = make(chan struct{}, fwdPeerSlots)
		release = make(chan struct{})
		built   atomic.Int32
	)
	tn := newTestNetWith(t, []uint64{swarmA, swarmA}, nil, nil, func(n *Node) {
		if built.Add(1) != 2 {
			return
		}
		n.forwardStores = func(ctx context.Context, peer key.NodePublic, body []byte) (int, []byte) {
			if holding.Load() {
				entered <- struct{}{}
				<-release
			}
			return n.handleForwardStores(ctx, peer, body)
		}
	})
	sender, n := tn.nodes[0], tn.nodes[1]
	batch := func(count int) string {
		items := randomFwdStores(t, count, time.Now().UnixMilli())
		return rpcRequest(pathForwardStores, string(appendFwdStores(nil, items)))
	}
	answer := func(br *bufio.Reader, count int) {
		t.Helper()
		resp, body := readAnswer(t, br)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("batch: %d %q %v", resp.StatusCode, body, resp.Header)
		}
		answers, err := parseFwdAnswers([]byte(body), count)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range answers {
			if a.OK == nil {
				t.Fatalf("store %d: %+v", i, a.Failure)
			}
		}
	}

	stranger, err := NewNodeKeys()
	if err != nil {
		t.Fatal(err)
	}
	for name, keys := range map[string]*Keys{"no certificate": nil, "unlisted node": stranger} {
		t.Run(name, func(t *testing.T) {
			c, br := peerConn(t, n, keys)
			if _, err := io.WriteString(c, batch(3)); err != nil {
				t.Fatal(err)
			}
			if resp, body := readAnswer(t, br); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d %q, want 403", resp.StatusCode, body)
			}
			if _, err := br.ReadByte(); err == nil {
				t.Fatal("the connection stayed open after a refused batch")
			}
		})
	}

	// A peer's batches, kept alive on one connection.
	c, br := peerConn(t, n, sender.keys)
	for _, count := range []int{1, 5} {
		if _, err := io.WriteString(c, batch(count)); err != nil {
			t.Fatal(err)
		}
		answer(br, count)
	}

	// fwdPeerSlots batches in progress: the next is refused, and its
	// connection stays usable.
	holding.Store(true)
	conns := make([]*bufio.Reader, fwdPeerSlots)
	for i := range conns {
		c, br := peerConn(t, n, sender.keys)
		if _, err := io.WriteString(c, batch(2)); err != nil {
			t.Fatal(err)
		}
		<-entered
		conns[i] = br
	}
	if _, err := io.WriteString(c, batch(2)); err != nil {
		t.Fatal(err)
	}
	if resp, body := readAnswer(t, br); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("batch past the slots: %d %q, want 503", resp.StatusCode, body)
	}
	holding.Store(false)
	close(release)
	for _, br := range conns {
		answer(br, 2)
	}
	if _, err := io.WriteString(c, batch(2)); err != nil {
		t.Fatal(err)
	}
	answer(br, 2)

	// Over the peer body limit: net/http reads up to the limit and answers
	// 413.
	c, br = peerConn(t, n, sender.keys)
	go func() {
		_, _ = io.WriteString(c, "POST "+pathForwardStores+" HTTP/1.1\r\nHost: node\r\nContent-Length: "+strconv.Itoa(maxPeerBody+1)+"\r\n\r\n")
		_, _ = c.Write(make([]byte, maxPeerBody+1))
	}()
	if resp, body := readAnswer(t, br); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized batch: %d %q, want 413", resp.StatusCode, body)
	}
}
