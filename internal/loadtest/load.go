package loadtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
)

// Result is the outcome of one load run.
type Result struct {
	Name        string         `json:"name"`
	Concurrency int            `json:"concurrency"`
	Requests    int            `json:"requests"` // answered with the expected status
	Errors      int            `json:"errors"`   // transport errors and unexpected statuses
	Elapsed     time.Duration  `json:"elapsed_ns"`
	PerSecond   float64        `json:"per_second"` // successful requests per second
	P50         time.Duration  `json:"p50_ns"`
	P90         time.Duration  `json:"p90_ns"`
	P99         time.Duration  `json:"p99_ns"`
	Max         time.Duration  `json:"max_ns"`
	Statuses    map[string]int `json:"statuses,omitempty"` // failures by HTTP status or error kind
	Note        string         `json:"note,omitempty"`
	// CPUPerRequest is the CPU time (user + system) this process spent per
	// successful request during the run: the load generator's own cost.
	CPUPerRequest time.Duration `json:"cpu_per_request_ns,omitempty"`
	// NodeCPUPerRequest is the same for the node process named by
	// BenchConfig.NodePID (Linux, same machine); 0 when not measured.
	NodeCPUPerRequest time.Duration `json:"node_cpu_per_request_ns,omitempty"`
	// LoadAverage is the machine's 1-minute load average at the end of
	// the run (Linux), a hint of how much other work shared the CPU.
	LoadAverage float64 `json:"load_average,omitempty"`
}

// op is one request of a load run: it returns nil on success or an error
// whose text names the failure kind (counted in Result.Statuses).
type op func(ctx context.Context, worker int) error

// statusError is an unexpected HTTP status.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %.120s", e.status, e.body) }

// loadSpec bounds a run: it ends after duration or count requests,
// whichever comes first (count 0: duration only).
type loadSpec struct {
	name        string
	concurrency int
	duration    time.Duration
	count       int
	// nodePID, when set, is a process whose CPU time is measured too.
	nodePID int
}

// runLoad runs fn from spec.concurrency workers and measures each call.
func runLoad(ctx context.Context, spec loadSpec, fn op) Result {
	if spec.concurrency < 1 {
		spec.concurrency = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if spec.duration > 0 {
		var c2 context.CancelFunc
		ctx, c2 = context.WithTimeout(ctx, spec.duration)
		defer c2()
	}
	var issued atomic.Int64
	lats := make([][]time.Duration, spec.concurrency)
	fails := make([]map[string]int, spec.concurrency)
	var wg sync.WaitGroup
	cpu0 := sampleCPU(spec.nodePID)
	start := time.Now()
	for w := range spec.concurrency {
		fails[w] = map[string]int{}
		wg.Go(func() {
			for ctx.Err() == nil {
				if spec.count > 0 && issued.Add(1) > int64(spec.count) {
					return
				}
				t0 := time.Now()
				err := fn(ctx, w)
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						return // cut off by the end of the run
					}
					fails[w][failKind(err)]++
					continue
				}
				lats[w] = append(lats[w], d)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1 := sampleCPU(spec.nodePID)
	r := Result{Name: spec.name, Concurrency: spec.concurrency, Elapsed: elapsed, Statuses: map[string]int{}}
	var all []time.Duration
	for w := range spec.concurrency {
		all = append(all, lats[w]...)
		for k, v := range fails[w] {
			r.Statuses[k] += v
			r.Errors += v
		}
	}
	slices.Sort(all)
	r.Requests = len(all)
	if elapsed > 0 {
		r.PerSecond = float64(r.Requests) / elapsed.Seconds()
	}
	r.P50, r.P90, r.P99 = percentile(all, 50), percentile(all, 90), percentile(all, 99)
	if len(all) > 0 {
		r.Max = all[len(all)-1]
	}
	if len(r.Statuses) == 0 {
		r.Statuses = nil
	}
	if r.Requests > 0 {
		r.CPUPerRequest = (cpu1.self - cpu0.self) / time.Duration(r.Requests)
		if cpu0.nodeOK && cpu1.nodeOK {
			r.NodeCPUPerRequest = (cpu1.node - cpu0.node) / time.Duration(r.Requests)
		}
	}
	r.LoadAverage = loadAverage()
	return r
}

// cpuSample is the CPU time used so far by this process and by another.
type cpuSample struct {
	self, node time.Duration
	nodeOK     bool
}

func sampleCPU(nodePID int) cpuSample {
	var s cpuSample
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if nodePID > 0 {
		s.node, s.nodeOK = procCPU(nodePID)
	}
	return s
}

// clockTick is the unit of the times in /proc/PID/stat (USER_HZ, 100 on
// every Linux platform Go supports).
const clockTick = 10 * time.Millisecond

// procCPU reads the user and system time of process pid (all its threads)
// from /proc/PID/stat; false where there is no such file.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses,
	// so the fields are counted from the last ')'. utime and stime are
	// fields 14 and 15, the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * clockTick, true
}

// loadAverage is the 1-minute load average, 0 where unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// percentile is the nearest-rank percentile p of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(float64(p) / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// failKind names an error for the failure table without its details.
func failKind(err error) string {
	if se, ok := err.(*statusError); ok {
		return fmt.Sprintf("HTTP %d", se.status)
	}
	s := err.Error()
	switch {
	case strings.Contains(s, "deadline exceeded") || strings.Contains(s, "timeout"):
		return "timeout"
	case strings.Contains(s, "connection refused"):
		return "refused"
	case strings.Contains(s, "connection reset"):
		return "reset"
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// printTable writes results as an aligned table.
func printTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "test\tconc\trequests\terrors\tseconds\tper sec\tp50\tp90\tp99\tmax\tcpu/req\tnode cpu/req\t")
	for _, r := range rs {
		node := "-"
		if r.NodeCPUPerRequest > 0 {
			node = us(r.NodeCPUPerRequest)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Name, r.Concurrency, r.Requests, r.Errors,
			r.Elapsed.Seconds(), r.PerSecond, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max), us(r.CPUPerRequest), node)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rs {
		if r.NodeCPUPerRequest > 0 {
			fmt.Fprintf(w, "%s: node CPU %s per request: %.0f requests/s on 2 dedicated cores (load average %.2f)\n",
				r.Name, us(r.NodeCPUPerRequest), 2/r.NodeCPUPerRequest.Seconds(), r.LoadAverage)
		} else if r.LoadAverage > 0 {
			fmt.Fprintf(w, "%s: load average %.2f\n", r.Name, r.LoadAverage)
		}
		if len(r.Statuses) > 0 {
			keys := make([]string, 0, len(r.Statuses))
			for k := range r.Statuses {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = fmt.Sprintf("%s ×%d", k, r.Statuses[k])
			}
			fmt.Fprintf(w, "%s failures: %s\n", r.Name, strings.Join(parts, ", "))
		}
		if r.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Name, r.Note)
		}
	}
	return nil
}

func us(d time.Duration) string {
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

func printJSON(w io.Writer, rs []Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rs)
}

// NewHTTPClient is an HTTPS client for load: it accepts the nodes'
// self-signed certificates (as Session clients do) and keeps up to conns
// connections per node; h2 multiplexes over HTTP/2 instead.
func NewHTTPClient(conns int, h2 bool) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, // nodes' certificates are self-signed
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     30 * time.Second,
		ForceAttemptHTTP2:   h2,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}
