package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"sotto.dev/internal/testnet"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		in   []time.Duration
		p    int
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 99, 4 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 100, 10 * time.Millisecond},
	} {
		if got := percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("p%d of %v = %v, want %v", tc.p, tc.in, got, tc.want)
		}
	}
}

func TestRunLoadCountsAndFailures(t *testing.T) {
	calls := 0
	r := runLoad(context.Background(), loadSpec{name: "x", concurrency: 1, count: 10, duration: time.Minute},
		func(context.Context, int) error {
			calls++
			if calls%5 == 0 {
				return &statusError{status: 503, body: "busy"}
			}
			return nil
		})
	if calls != 10 || r.Requests != 8 || r.Errors != 2 || r.Statuses["HTTP 503"] != 2 {
		t.Fatalf("%d calls, result %+v", calls, r)
	}
	var buf bytes.Buffer
	if err := printTable(&buf, []Result{r}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "x failures: HTTP 503 ×2") || !strings.Contains(buf.String(), "p99") {
		t.Fatalf("table:\n%s", buf.String())
	}
}

// runBench runs the bench command with args.
func runBench(args []string, stdout io.Writer) error {
	cmd := Command()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(io.Discard)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.Execute()
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"-c", "x", "store"}, {"--bogus", "store"}} {
		if err := runBench(args, io.Discard); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: %v", args, err)
		}
	}
	if _, err := Bench(context.Background(), BenchConfig{Tests: []string{"nope"}, Count: 1}); err == nil {
		t.Error("unknown test accepted")
	}
	if _, err := Bench(context.Background(), BenchConfig{Tests: []string{"store"}}); err == nil {
		t.Error("unbounded run accepted")
	}
}

// TestBenchEveryTest runs each load test for a few requests against a
// small network and checks that every request succeeded.
func TestBenchEveryTest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	n := testnet.StartT(t, testnet.Options{Nodes: 5})
	var out bytes.Buffer
	args := []string{"--network", n.NetworkFile(), "-c", "2", "-n", "6", "-d", "2m", "--messages", "3", "--json", "all"}
	if err := runBench(args, &out); err != nil {
		t.Fatal(err)
	}
	var rs []Result
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
		if r.Requests != 6 || r.Errors != 0 || r.P50 <= 0 || r.P99 < r.P50 || r.PerSecond <= 0 {
			t.Errorf("%s: %+v", r.Name, r)
		}
	}
	if fmt.Sprint(names) != "[store retrieve poll onion e2e]" {
		t.Fatalf("tests run: %v", names)
	}
}

// TestBenchLinks runs the load tool with the link knobs on the devnet it
// starts itself: the nodes' links and its own are emulated, so a store
// takes at least a round trip of the latency.
func TestBenchLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	var out bytes.Buffer
	args := []string{"--nodes", "5", "-c", "1", "-n", "3", "-d", "2m", "--json",
		"--latency", "10ms", "--jitter", "1ms", "--loss", "0", "--seed", "4", "store", "onion"}
	if err := runBench(args, &out); err != nil {
		t.Fatal(err)
	}
	var rs []Result
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	for _, r := range rs {
		if r.Requests != 3 || r.Errors != 0 || r.P50 < 18*time.Millisecond {
			t.Errorf("%s over 10 ± 1 ms links: %+v; want 3 requests, each at least a round trip (18 ms)", r.Name, r)
		}
	}
}

func TestNodeURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:22021":          "https://127.0.0.1:22021",
		"https://10.0.0.1:22021/":  "https://10.0.0.1:22021",
		"https://[::1]:22021":      "https://[::1]:22021",
		"http://example.org:22021": "http://example.org:22021",
	} {
		if got := nodeURL(in); got != want {
			t.Errorf("nodeURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// procCPU reads the same clock getrusage does, for any process.
func TestProcCPU(t *testing.T) {
	before, ok := procCPU(os.Getpid())
	if !ok {
		t.Skip("no /proc/PID/stat here")
	}
	start := sampleCPU(0).self
	x := 0
	for sampleCPU(0).self-start < 100*time.Millisecond {
		for i := range 100000 {
			x += i
		}
	}
	after, ok := procCPU(os.Getpid())
	if !ok || after-before < 50*time.Millisecond {
		t.Fatalf("procCPU went from %v to %v (%d) over 100 ms of CPU", before, after, x)
	}
	if _, ok := procCPU(-1); ok {
		t.Error("procCPU of no process")
	}
}
