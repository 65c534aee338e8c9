package snode

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sotto.dev/ledger"
	"sotto.dev/storagerpc"
)

// benchNode starts one node (a swarm of one, so each store is one local
// write) with rate limits off, for load measurements over real HTTPS.
func benchNode(b *testing.B) *testNode {
	b.Helper()
	dir := b.TempDir()
	keys, _, err := LoadOrCreateKeys(dir)
	if err != nil {
		b.Fatal(err)
	}
	view := staticView(b, &ledger.Snapshot{Nodes: []ledger.Node{{Ed25519: keys.Ed25519Public(), X25519: keys.X25519Public(),
		PublicIP: "127.0.0.1", StoragePort: 1, SwarmID: swarmA, State: ledger.StateActive}}})
	cfg := quietConfig(dir)
	cfg.Limits.MaxConcurrentRequests = 0
	n, err := New(cfg, Deps{View: view})
	if err != nil {
		b.Fatal(err)
	}
	tn := &testNode{dir: dir, keys: keys, node: n}
	done := make(chan error, 1)
	ctx, cancel := contextWithCancel()
	go func() { done <- n.Serve(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	return tn
}

// benchClient keeps many HTTP/1.1 keep-alive connections, like many
// clients would (HTTP/2 would multiplex everything on one connection).
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // self-signed node certificate
		MaxIdleConnsPerHost: 1024,
		MaxConnsPerHost:     1024,
	}}
}

func post(b *testing.B, c *http.Client, url string, body []byte) int {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// BenchmarkStore measures unsigned 1:1 stores (namespace 0, 500-byte
// messages, as Session clients send them) through /storage_rpc/v1 from
// 256 concurrent clients. Requests are built before the timer starts.
func BenchmarkStore(b *testing.B) {
	n := benchNode(b)
	c := benchClient()
	url := "https://" + n.node.Addr().String() + "/storage_rpc/v1"
	users := make([]*user, 64)
	for i := range users {
		users[i] = newUser(b)
	}
	bodies := requestBodies(b, b.N, func(i int) storagerpc.Request { return users[i%len(users)].store(0, randomData(b, 500), time.Hour) })
	var next atomic.Int64
	b.SetParallelism(128)
	cpu := startCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if st := post(b, c, url, bodies[i]); st != 200 {
				b.Fatalf("store: %d", st)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "stores/s")
	cpu.report(b)
	reportStore(b, n)
}

// BenchmarkRetrieve measures signed retrieves (each checks an Ed25519
// signature) of a 10-message mailbox from 256 concurrent clients.
func BenchmarkRetrieve(b *testing.B) {
	n := benchNode(b)
	c := benchClient()
	url := "https://" + n.node.Addr().String() + "/storage_rpc/v1"
	users := make([]*user, 64)
	for i := range users {
		users[i] = newUser(b)
		for range 10 {
			body, _ := storagerpc.EncodeRequest(users[i].store(0, randomData(b, 500), time.Hour))
			if st := post(b, c, url, body); st != 200 {
				b.Fatalf("setup store: %d", st)
			}
		}
	}
	bodies := requestBodies(b, b.N, func(i int) storagerpc.Request { return users[i%len(users)].retrieve(0, "", 0, 0) })
	var next atomic.Int64
	b.SetParallelism(128)
	cpu := startCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			resp, err := c.Post(url, "application/json", bytes.NewReader(bodies[i]))
			if err != nil {
				b.Fatal(err)
			}
			var r storagerpc.RetrieveResponse
			err = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if resp.StatusCode != 200 || err != nil || len(r.Messages) != 10 {
				b.Fatalf("retrieve: %d %v %d", resp.StatusCode, err, len(r.Messages))
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "retrieves/s")
	cpu.report(b)
}

func reportStore(b *testing.B, n *testNode) {
	st := n.node.store.Stats()
	if st.Commits > 0 {
		b.ReportMetric(float64(st.Ops)/float64(st.Commits), "ops/commit")
		b.ReportMetric(float64(st.CommitTime.Microseconds())/float64(st.Commits), "µs/commit")
	}
}

// cpuMeter measures the process's CPU time (user + system) over a
// benchmark: on a machine shared with other work, CPU time per operation
// is steadier than wall-clock rates, and 2 cores / (CPU per op) is the
// rate two dedicated cores would sustain. It includes the load
// generator's own CPU (TLS, JSON), which runs in the same process.
type cpuMeter struct{ start time.Duration }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuMeter { return cpuMeter{start: cpuTime()} }

func (m cpuMeter) report(b *testing.B) {
	perOp := float64((cpuTime() - m.start).Microseconds()) / float64(b.N)
	b.ReportMetric(perOp, "cpu-µs/op")
	if perOp > 0 {
		b.ReportMetric(2e6/perOp, "ops/s@2cores")
	}
}

// BenchmarkSwarmStore measures stores through a swarm of five nodes in one
// process: each store is checked at the entry node, forwarded to four
// peers and written on all five (five commits, five node signatures).
func BenchmarkSwarmStore(b *testing.B) {
	tn := newTestNet(b, []uint64{swarmA, swarmA, swarmA, swarmA, swarmA}, nil, func(c *Config) { c.Limits.MaxConcurrentRequests = 0 })
	c := benchClient()
	users := make([]*user, 64)
	for i := range users {
		users[i] = newUser(b)
	}
	bodies := requestBodies(b, b.N, func(i int) storagerpc.Request { return users[i%len(users)].store(0, randomData(b, 500), time.Hour) })
	urls := make([]string, 5)
	for i := range urls {
		urls[i] = "https://" + tn.nodes[i].node.Addr().String() + "/storage_rpc/v1"
	}
	var next atomic.Int64
	b.SetParallelism(128)
	cpu := startCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if st := post(b, c, urls[i%5], bodies[i]); st != 200 {
				b.Fatalf("store: %d", st)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "stores/s")
	cpu.report(b)
}

// BenchmarkHandleRetrieve measures the node's own work for a signed
// retrieve of a 10-message mailbox (100-byte messages), without HTTP or
// TLS: HandleRPC from decoding the body to the encoded answer.
func BenchmarkHandleRetrieve(b *testing.B) {
	n := benchNode(b)
	ctx := b.Context()
	users := make([]*user, 64)
	for i := range users {
		users[i] = newUser(b)
		for range 10 {
			body, _ := storagerpc.EncodeRequest(users[i].store(0, randomData(b, 100), time.Hour))
			if st, out := n.node.HandleRPC(ctx, body); st != 200 {
				b.Fatalf("setup store: %d %s", st, out)
			}
		}
	}
	bodies := requestBodies(b, len(users), func(i int) storagerpc.Request { return users[i].retrieve(0, "", 0, 0) })
	var next atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	cpu := startCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if st, out := n.node.HandleRPC(ctx, bodies[i%int64(len(bodies))]); st != 200 || len(out) < 2000 {
				b.Fatalf("retrieve: %d %.200s", st, out)
			}
		}
	})
	b.StopTimer()
	cpu.report(b)
}

// BenchmarkHandleStore measures the node's own work for an unsigned
// 100-byte store to namespace 0 without HTTP or TLS, from 64 concurrent
// callers (the store commits them in groups).
func BenchmarkHandleStore(b *testing.B) {
	n := benchNode(b)
	ctx := b.Context()
	users := make([]*user, 64)
	for i := range users {
		users[i] = newUser(b)
	}
	bodies := requestBodies(b, b.N, func(i int) storagerpc.Request { return users[i%len(users)].store(0, randomData(b, 100), time.Hour) })
	var next atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	cpu := startCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if st, out := n.node.HandleRPC(ctx, bodies[i]); st != 200 {
				b.Fatalf("store: %d %s", st, out)
			}
		}
	})
	b.StopTimer()
	cpu.report(b)
	reportStore(b, n)
}

// requestBodies encodes n requests, the i-th made by req(i), before a
// benchmark's timer starts.
func requestBodies(b *testing.B, n int, req func(i int) storagerpc.Request) [][]byte {
	b.Helper()
	bodies := make([][]byte, n)
	for i := range bodies {
		body, err := storagerpc.EncodeRequest(req(i))
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = body
	}
	return bodies
}
