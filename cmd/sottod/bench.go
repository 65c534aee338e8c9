package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/identity"
	"sotto.dev/storagerpc"
)

// benchCmd is a load tool for a running node: signed retrieves or
// unsigned 1:1 stores, as Session clients send them, from many concurrent
// HTTPS connections.
func benchCmd(stdout io.Writer) *cobra.Command {
	var o benchOpts
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load a node with stores or retrieves and report the rate",
		Long: `Load a running node's /storage_rpc/v1 with stores (namespace 0, unsigned, as
Session clients send 1:1 messages) or signed retrieves, and report requests
per second and latency percentiles. The node's per-IP rate limit applies:
start the node with --client-rate 0 to measure its capacity.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			r, err := runBench(ctx, o)
			if err != nil {
				return err
			}
			return r.print(stdout, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.target, "target", "127.0.0.1:22021", "node HTTPS address")
	f.StringVar(&o.kind, "kind", "store", "store or retrieve")
	f.IntVar(&o.concurrency, "concurrency", 128, "requests in flight")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "how long to load")
	f.IntVar(&o.size, "size", 500, "message size in bytes")
	f.IntVar(&o.accounts, "accounts", 64, "accounts used")
	f.BoolVar(&o.asJSON, "json", false, "print JSON")
	return cmd
}

type benchOpts struct {
	target      string
	kind        string
	concurrency int
	duration    time.Duration
	size        int
	accounts    int
	asJSON      bool
}

type benchResult struct {
	Kind     string        `json:"kind"`
	Requests int64         `json:"requests"`
	Seconds  float64       `json:"seconds"`
	Rate     float64       `json:"per_second"`
	P50ms    float64       `json:"p50_ms"`
	P99ms    float64       `json:"p99_ms"`
	Statuses map[int]int64 `json:"statuses"`
	Errors   int64         `json:"transport_errors"`
}

func (r *benchResult) print(w io.Writer, o benchOpts) error {
	if o.asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	fmt.Fprintf(w, "%s: %d requests in %.1fs: %.0f/s\n", r.Kind, r.Requests, r.Seconds, r.Rate)
	fmt.Fprintf(w, "latency: p50 %.2f ms, p99 %.2f ms\n", r.P50ms, r.P99ms)
	codes := make([]int, 0, len(r.Statuses))
	for c := range r.Statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		fmt.Fprintf(w, "status %d: %d\n", c, r.Statuses[c])
	}
	if r.Errors > 0 {
		fmt.Fprintf(w, "transport errors: %d\n", r.Errors)
	}
	return nil
}

type benchUser struct {
	keys *identity.Keys
	acct storagerpc.Account
}

func (u *benchUser) auth(msg []byte) storagerpc.Auth {
	sig := storagerpc.Signature(u.keys.Sign(msg))
	pk := u.keys.Ed25519Public()
	return storagerpc.Auth{Signature: &sig, PubkeyEd25519: &pk}
}

func runBench(ctx context.Context, o benchOpts) (*benchResult, error) {
	if o.kind != "store" && o.kind != "retrieve" {
		return nil, &userError{msg: "unknown --kind " + o.kind, hint: "--kind store or --kind retrieve"}
	}
	if o.concurrency < 1 || o.accounts < 1 || o.size < 1 || o.size > storagerpc.MaxMessageSize {
		return nil, &userError{msg: "bad --concurrency, --accounts or --size"}
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // nodes use self-signed certificates; Session clients do not verify them
		MaxIdleConnsPerHost: o.concurrency,
		MaxConnsPerHost:     o.concurrency,
	}}
	defer client.CloseIdleConnections()
	url := "https://" + o.target + "/storage_rpc/v1"
	post := func(body []byte) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	data := make([]byte, o.size)
	store := func(u *benchUser, i int) []byte {
		ts := time.Now().UnixMilli()
		d := append([]byte(nil), data...)
		copy(d, fmt.Sprint(i, ts))
		b, _ := storagerpc.EncodeRequest(&storagerpc.StoreParams{Account: u.acct, Timestamp: ts, Expiry: ts + 3_600_000, Data: d})
		return b
	}
	// Accounts the target's swarm owns (a 421 means another swarm).
	var users []*benchUser
	for tries := 0; len(users) < o.accounts; tries++ {
		if tries > 100*o.accounts {
			return nil, &userError{msg: "the target owns none of the accounts tried", hint: "is --target a node in a swarm?"}
		}
		k, _, err := identity.NewKeys()
		if err != nil {
			return nil, err
		}
		u := &benchUser{keys: k, acct: storagerpc.AccountFromSessionID(k.SessionID())}
		st, body, err := post(store(u, -1))
		if err != nil {
			return nil, &userError{msg: "cannot reach " + o.target, err: err}
		}
		switch st {
		case 200:
			users = append(users, u)
		case 421:
		default:
			return nil, &userError{msg: fmt.Sprintf("setup store answered %d: %.200s", st, body)}
		}
	}
	if o.kind == "retrieve" {
		for _, u := range users {
			for i := range 9 {
				if st, body, err := post(store(u, i)); err != nil || st != 200 {
					return nil, &userError{msg: fmt.Sprintf("setup store: %d %.200s", st, body), err: err}
				}
			}
		}
	}

	var (
		count, errs atomic.Int64
		mu          sync.Mutex
		statuses    = map[int]int64{}
		lat         []time.Duration
	)
	deadline := time.Now().Add(o.duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range o.concurrency {
		wg.Go(func() {
			var local []time.Duration
			codes := map[int]int64{}
			for i := w; time.Now().Before(deadline) && ctx.Err() == nil; i += o.concurrency {
				u := users[i%len(users)]
				var body []byte
				if o.kind == "store" {
					body = store(u, i)
				} else {
					ts := time.Now().UnixMilli()
					body, _ = storagerpc.EncodeRequest(&storagerpc.RetrieveParams{Account: u.acct, Timestamp: ts, Auth: u.auth(storagerpc.RetrieveSigMessage(0, ts))})
				}
				t0 := time.Now()
				st, _, err := post(body)
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						errs.Add(1)
					}
					continue
				}
				local = append(local, time.Since(t0))
				codes[st]++
				count.Add(1)
			}
			mu.Lock()
			lat = append(lat, local...)
			for c, n := range codes {
				statuses[c] += n
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	return &benchResult{Kind: o.kind, Requests: count.Load(), Seconds: el, Rate: float64(count.Load()) / el,
		P50ms: pct(0.5), P99ms: pct(0.99), Statuses: statuses, Errors: errs.Load()}, nil
}
