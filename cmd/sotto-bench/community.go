package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/community"
	"sotto.dev/identity"
	"sotto.dev/internal/loadtest"
	"sotto.dev/key"
	"sotto.dev/onion"
	"sotto.dev/sessionproto"
)

// communityConfig is what `sotto-bench community` loads.
type communityConfig struct {
	URL         string // base URL of a running server; empty: start one in-process
	CA          string // PEM file of the certificate(s) to trust for an https URL; empty: the system's
	PubKey      string // its public key, hex
	Room        string
	Clients     int
	Concurrency int
	Count       int
	V4          bool // also through onion v4 (the request the exit node forwards)
	PID         int  // the server's process on this machine: report its CPU time (Linux)
	Tests       []string
}

// communityResult is one test's figures.
type communityResult struct {
	Test     string        `json:"test"`
	Via      string        `json:"via"`
	Requests int           `json:"requests"`
	Errors   int           `json:"errors"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Rate     float64       `json:"per_second"`
	P50      time.Duration `json:"p50_ns"`
	P90      time.Duration `json:"p90_ns"`
	P99      time.Duration `json:"p99_ns"`
	Max      time.Duration `json:"max_ns"`
	// CPU is the server's CPU time per request (with --pid), and
	// PerCore the requests per second one core would serve at that cost.
	CPU     time.Duration `json:"server_cpu_ns,omitempty"`
	PerCore float64       `json:"per_core_second,omitempty"`
}

func communityCmd() *cobra.Command {
	var cfg communityConfig
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "community [flags] TEST...",
		Short: "Load a community server: polls and posts by signed clients",
		Long: `Load a community server (sotto-community serve) with --clients signed
(blinded 15) clients and print requests per second and latency percentiles.
TEST is poll0 (messages/since with nothing new), poll10 (with 10 new), post, or
all. Requests are signed before the clock starts, so the figures are the
server's (signing is the client's cost). Run the server with --post-limit 0
--rate 0 --addr-rate 0 to measure capacity. Without --url a server is started
in this process. --v4 repeats each test inside onion v4 requests, as the
path's exit node forwards them to /oxen/v4/lsrpc.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return fmt.Errorf("%w: name at least one test (poll0, poll10, post or all)", loadtest.ErrUsage)
			}
			cfg.Tests = args
			if len(args) == 1 && args[0] == "all" {
				cfg.Tests = []string{"poll0", "poll10", "post"}
			}
			for _, t := range cfg.Tests {
				if t != "poll0" && t != "poll10" && t != "post" {
					return fmt.Errorf("%w: unknown test %q (poll0, poll10, post or all)", loadtest.ErrUsage, t)
				}
			}
			if cfg.Clients < 1 || cfg.Concurrency < 1 || cfg.Count < 1 {
				return fmt.Errorf("%w: --clients, --concurrency and --count must be positive", loadtest.ErrUsage)
			}
			rs, err := benchCommunity(cmd.Context(), cfg, cmd.ErrOrStderr())
			if len(rs) > 0 {
				if asJSON {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					if perr := enc.Encode(rs); perr != nil {
						return perr
					}
				} else if perr := printCommunity(cmd.OutOrStdout(), rs); perr != nil {
					return perr
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.URL, "url", "", "base URL of a running server, http://host:port or https://host:port (default: start one in this process)")
	f.StringVar(&cfg.PubKey, "pubkey", "", "the server's public key, hex (with --url)")
	f.StringVar(&cfg.CA, "ca", "", "PEM certificate to trust for an https --url (e.g. a self-signed one)")
	f.StringVar(&cfg.Room, "room", "lobby", "room to load (with --url it must exist)")
	f.IntVar(&cfg.Clients, "clients", 64, "signed clients")
	f.IntVarP(&cfg.Concurrency, "concurrency", "c", 32, "requests in flight")
	f.IntVarP(&cfg.Count, "count", "n", 20000, "requests per test")
	f.BoolVar(&cfg.V4, "v4", false, "also run each test through onion v4")
	f.IntVar(&cfg.PID, "pid", 0, "process ID of the server on this machine: report its CPU time per request (Linux)")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

// benchClient is one signed client.
type benchClient struct {
	keys *identity.Keys
	post []byte // a signed post body
}

type communityBench struct {
	cfg     communityConfig
	base    string
	pk      [32]byte
	clients []*benchClient
	http    *http.Client
}

func benchCommunity(ctx context.Context, cfg communityConfig, progress io.Writer) ([]communityResult, error) {
	b := &communityBench{cfg: cfg, base: strings.TrimSuffix(cfg.URL, "/")}
	tr := &http.Transport{MaxIdleConns: cfg.Concurrency * 2, MaxIdleConnsPerHost: cfg.Concurrency * 2}
	if cfg.CA != "" {
		pem, err := os.ReadFile(cfg.CA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: --ca %s holds no PEM certificate", loadtest.ErrUsage, cfg.CA)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	b.http = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	if cfg.URL == "" {
		stop, err := b.startServer(ctx)
		if err != nil {
			return nil, err
		}
		defer stop()
	} else {
		pk, err := hex.DecodeString(cfg.PubKey)
		if err != nil || len(pk) != 32 {
			return nil, fmt.Errorf("%w: --pubkey must be the server's 64 hex digits", loadtest.ErrUsage)
		}
		b.pk = [32]byte(pk)
	}
	fmt.Fprintf(progress, "community: %d clients on %s room %s\n", cfg.Clients, b.base, cfg.Room)
	data := sessionproto.Pad([]byte("a message of some length, as a short chat line is"))
	for range cfg.Clients {
		keys, _, err := identity.NewKeys()
		if err != nil {
			return nil, err
		}
		sig, err := keys.Blind15Sign(b.pk, data, identity.NonceSK64)
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(map[string]string{"data": base64.StdEncoding.EncodeToString(data), "signature": base64.StdEncoding.EncodeToString(sig[:])})
		if err != nil {
			return nil, err
		}
		b.clients = append(b.clients, &benchClient{keys: keys, post: body})
	}
	// Ten posts or more, so that poll10 has ten new.
	for i := range 10 {
		c := b.clients[i%len(b.clients)]
		req, err := b.request(c, http.MethodPost, "/room/"+cfg.Room+"/message", c.post, false)
		if err != nil {
			return nil, err
		}
		if code, body, err := b.send(req); err != nil || code != http.StatusCreated {
			return nil, fmt.Errorf("community: seed post: %d %s %v", code, body, err)
		}
	}
	var rs []communityResult
	vias := []bool{false}
	if cfg.V4 {
		vias = append(vias, true)
	}
	for _, test := range cfg.Tests {
		for _, v4 := range vias {
			r, err := b.run(ctx, test, v4, progress)
			if err != nil {
				return rs, err
			}
			rs = append(rs, r)
		}
	}
	return rs, nil
}

// startServer runs a server with no limits in a temporary directory.
func (b *communityBench) startServer(ctx context.Context) (func(), error) {
	dir, err := os.MkdirTemp("", "sotto-bench-community-")
	if err != nil {
		return nil, err
	}
	seed := make([]byte, 32)
	rand.Read(seed)
	keys, err := community.KeysFromSeed(seed)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	st, err := community.OpenStore(ctx, dir)
	if err == nil {
		_, err = st.AddRoom(ctx, b.cfg.Room, "Bench", nil, time.Now())
		st.Close()
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfg := community.DefaultConfig()
	cfg.Dir, cfg.PostLimit, cfg.Rate, cfg.AddrRate = dir, 0, 0, 0
	srv, err := community.New(cfg, community.Deps{Keys: keys, Listener: ln})
	if err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	b.pk, b.base = keys.Public(), "http://"+ln.Addr().String()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	return func() { cancel(); <-done; os.RemoveAll(dir) }, nil
}

// benchRequest is a request ready to send; lk is set for onion v4.
type benchRequest struct {
	method, path string
	body         []byte
	hdr          map[string]string
	lk           *onion.LayerKey
}

// request signs a request by c; v4 wraps it as an onion v4 request.
func (b *communityBench) request(c *benchClient, method, path string, body []byte, v4 bool) (*benchRequest, error) {
	var nonce [16]byte
	rand.Read(nonce[:])
	hs, err := sessionproto.SOGSHeaders(c.keys, b.pk, time.Now().Unix(), nonce, method, path, body, sessionproto.SOGSOptions{})
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		// As Session clients send it; pysogs (Flask) refuses JSON bodies
		// without it.
		hs["Content-Type"] = "application/json"
	}
	if !v4 {
		return &benchRequest{method: method, path: path, body: body, hdr: hs}, nil
	}
	if method == http.MethodGet {
		body = nil
	}
	inner, err := onion.EncodeV4Request(onion.V4RequestInfo{Method: method, Endpoint: path, Headers: hs}, body)
	if err != nil {
		return nil, err
	}
	eph, err := onion.GenerateKeyPair()
	if err != nil {
		return nil, err
	}
	lk, err := onion.ClientLayerKey(onion.CipherXChaCha20, eph, key.OnionPublic(b.pk))
	if err != nil {
		return nil, err
	}
	control := &onion.ServerControl{Host: "127.0.0.1", Port: 80, Protocol: "http", Target: onion.TargetV4,
		Method: http.MethodPost, Cipher: onion.CipherXChaCha20, EphemeralKey: eph.Public()}
	frame, err := onion.EncodeHop(lk.Seal(inner), control.Marshal())
	if err != nil {
		return nil, err
	}
	return &benchRequest{path: onion.TargetV4, body: frame, method: http.MethodPost, lk: lk}, nil
}

// send sends r and returns the (inner) status and body.
func (b *communityBench) send(r *benchRequest) (int, []byte, error) {
	req, err := http.NewRequest(r.method, b.base+r.path, bytes.NewReader(r.body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range r.hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, nil, err
	}
	if r.lk == nil {
		return resp.StatusCode, body, nil
	}
	v4, err := onion.DecodeServerResponse(r.lk, resp.StatusCode, body)
	if err != nil {
		return 0, nil, err
	}
	return v4.Code, v4.Body, nil
}

// sequence is the room's message_sequence.
func (b *communityBench) sequence() (int64, error) {
	req, err := b.request(b.clients[0], http.MethodGet, "/room/"+b.cfg.Room, nil, false)
	if err != nil {
		return 0, err
	}
	code, body, err := b.send(req)
	if err != nil {
		return 0, err
	}
	var info struct {
		Seq int64 `json:"message_sequence"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &info) != nil {
		return 0, fmt.Errorf("community: room info: %d %s", code, body)
	}
	return info.Seq, nil
}

func (b *communityBench) run(ctx context.Context, test string, v4 bool, progress io.Writer) (communityResult, error) {
	via := "direct"
	if v4 {
		via = "onion v4"
	}
	res := communityResult{Test: test, Via: via}
	method, path, want := http.MethodGet, "", http.StatusOK
	switch test {
	case "poll0", "poll10":
		seq, err := b.sequence()
		if err != nil {
			return res, err
		}
		if test == "poll10" {
			seq -= 10
		}
		path = "/room/" + b.cfg.Room + "/messages/since/" + strconv.FormatInt(seq, 10)
	case "post":
		method, path, want = http.MethodPost, "/room/"+b.cfg.Room+"/message", http.StatusCreated
	}
	fmt.Fprintf(progress, "community: signing %d %s requests (%s)\n", b.cfg.Count, test, via)
	reqs := make([]*benchRequest, b.cfg.Count)
	var wg sync.WaitGroup
	var signErr atomic.Value
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < len(reqs); i += 2 {
				c := b.clients[i%len(b.clients)]
				var body []byte
				if method == http.MethodPost {
					body = c.post
				}
				r, err := b.request(c, method, path, body, v4)
				if err != nil {
					signErr.Store(err)
					return
				}
				reqs[i] = r
			}
		})
	}
	wg.Wait()
	if err, ok := signErr.Load().(error); ok {
		return res, err
	}
	if test == "poll10" {
		code, body, err := b.send(reqs[0])
		var msgs []json.RawMessage
		if err != nil || code != http.StatusOK || json.Unmarshal(body, &msgs) != nil || len(msgs) != 10 {
			return res, fmt.Errorf("community: poll10 check: %d, %d messages, %v", code, len(msgs), err)
		}
		reqs = reqs[1:]
	}
	fmt.Fprintf(progress, "community: %s (%s), %d requests, %d in flight\n", test, via, len(reqs), b.cfg.Concurrency)
	lat := make([][]time.Duration, b.cfg.Concurrency)
	var next, errs atomic.Int64
	var firstErr atomic.Value
	cpu0, cpuErr := procCPU(b.cfg.PID)
	start := time.Now()
	for w := range b.cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(reqs)) {
					return
				}
				t0 := time.Now()
				code, body, err := b.send(reqs[i])
				lat[w] = append(lat[w], time.Since(t0))
				if err == nil && code != want {
					err = fmt.Errorf("status %d: %.200s", code, body)
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	if cpu1, err := procCPU(b.cfg.PID); b.cfg.PID != 0 && cpuErr == nil && err == nil && len(reqs) > 0 {
		res.CPU = (cpu1 - cpu0) / time.Duration(len(reqs))
		if res.CPU > 0 {
			res.PerCore = float64(time.Second) / float64(res.CPU)
		}
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	res.Requests, res.Errors = len(all), int(errs.Load())
	if len(all) > 0 {
		res.Rate = float64(len(all)) / res.Elapsed.Seconds()
		pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
		res.P50, res.P90, res.P99, res.Max = pct(0.50), pct(0.90), pct(0.99), all[len(all)-1]
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if err, ok := firstErr.Load().(error); ok {
		return res, fmt.Errorf("community: %s (%s): %d errors, the first: %w", test, via, res.Errors, err)
	}
	return res, nil
}

// procCPU is the user and system CPU time of process pid (Linux: from
// /proc/pid/stat, in clock ticks of 10 ms).
func procCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("community: /proc stat without a command")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("community: short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

func printCommunity(w io.Writer, rs []communityResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TEST\tVIA\tREQUESTS\tERRORS\tPER SECOND\tP50\tP90\tP99\tMAX\tSERVER CPU/REQ\tPER CORE-SECOND")
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms" }
	for _, r := range rs {
		cpu, perCore := "-", "-"
		if r.CPU > 0 {
			cpu, perCore = strconv.FormatFloat(float64(r.CPU)/1e3, 'f', 0, 64)+"µs", strconv.FormatFloat(r.PerCore, 'f', 0, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Test, r.Via, r.Requests, r.Errors, r.Rate, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max), cpu, perCore)
	}
	return errors.Join(tw.Flush())
}
