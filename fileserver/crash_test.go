package fileserver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"

	"sotto.dev/onion"
)

// crashChildEnv makes the test binary a file server on the directory it
// names (see TestMain): the child process of TestKillDuringUploads.
const crashChildEnv = "FILESERVER_CRASH_CHILD_DIR"

// crashChild runs a file server on dir until it is killed, printing its
// address on the first line of standard output.
func crashChild(dir string) {
	keys, err := KeysFromSeed(testSeed)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg := DefaultConfig()
	cfg.Dir, cfg.Listen, cfg.Limits = dir, "127.0.0.1:0", Limits{}
	s, err := New(cfg, Deps{Keys: keys})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(s.Addr().String())
	if err := s.Serve(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

// child is a file server process.
type child struct {
	cmd  *exec.Cmd
	dest onion.ServerDest
	url  string
}

func startChild(t *testing.T, dir string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %v", err)
	}
	addr, err := net.ResolveTCPAddr("tcp", line[:len(line)-1])
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := KeysFromSeed(testSeed)
	return &child{
		cmd:  cmd,
		dest: onion.ServerDest{Host: "127.0.0.1", Port: uint16(addr.Port), Protocol: "http", X25519: keys.X25519Public()},
		url:  "http://" + addr.String() + onion.TargetV4,
	}
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

func (c *child) call(t *testing.T, hc *http.Client, method, endpoint string, body []byte) (onion.V4Response, error) {
	frame, lk := onionRequest(t, c.dest, onion.CipherXChaCha20, onion.V4RequestInfo{Method: method, Endpoint: endpoint}, body)
	return postFrame(hc, c.url, frame, lk)
}

// TestKillDuringUploads kills the server with SIGKILL while several
// uploads are in flight, three times, restarting it on the same directory
// each time: every acknowledged upload must be served intact afterwards,
// and an upload cut short is either absent or served whole, never in part.
func TestKillDuringUploads(t *testing.T) {
	dir := t.TempDir()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	rng := rand.New(rand.NewPCG(1, 2))

	var mu sync.Mutex
	acked := map[FileID][]byte{}
	tried := map[FileID][]byte{}

	verify := func(c *child) {
		t.Helper()
		for id, data := range tried {
			r, err := c.call(t, hc, "GET", "/file/"+string(id), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, isAcked := acked[id]
			switch {
			case r.Code == 200 && !bytes.Equal(r.Body, data):
				t.Fatalf("file %s served with %d bytes of %d, or different bytes", id, len(r.Body), len(data))
			case r.Code != 200 && isAcked:
				t.Fatalf("acknowledged file %s lost: %d", id, r.Code)
			case r.Code != 200 && r.Code != 404:
				t.Fatalf("file %s: %d", id, r.Code)
			}
		}
	}

	const rounds, workers = 3, 4
	tag := 0
	for round := range rounds {
		c := startChild(t, dir)
		verify(c)
		killAt := 10 + rng.IntN(30)
		sizes := make([][]int, workers)
		for w := range sizes {
			for range 200 {
				n := 1 + rng.IntN(300_000)
				if rng.IntN(10) == 0 {
					n = 2_000_000 + rng.IntN(1_000_000)
				}
				sizes[w] = append(sizes[w], n)
			}
		}
		var wg sync.WaitGroup
		var once sync.Once
		count := 0
		for w := range workers {
			base := tag + w*1000
			wg.Go(func() {
				for i, n := range sizes[w] {
					data := payload(base+i, n)
					id := ContentID(data)
					mu.Lock()
					tried[id] = data
					mu.Unlock()
					r, err := c.call(t, hc, "POST", "/file", data)
					if err != nil {
						return // the server is gone
					}
					if r.Code != 200 {
						t.Errorf("upload: %d %s", r.Code, r.Body)
						return
					}
					mu.Lock()
					acked[id] = data
					count++
					kill := count == killAt
					mu.Unlock()
					if kill {
						once.Do(func() { c.kill(t) })
					}
				}
			})
		}
		wg.Wait()
		once.Do(func() { c.kill(t) })
		tag += workers * 1000
		t.Logf("round %d: killed after %d acknowledged uploads (%d tried in all)", round, count, len(tried))
	}

	c := startChild(t, dir)
	verify(c)
	c.kill(t)
	// The store itself: nothing left in tmp, and exactly the files served.
	s, err := openStore(t.Context(), dir, 0, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if es, _ := os.ReadDir(s.tmpDir()); len(es) != 0 {
		t.Fatalf("%d temporary files after restart", len(es))
	}
	var want, wantBytes int64
	for id, data := range tried {
		if _, err := s.lookup(t.Context(), id); err == nil {
			want++
			wantBytes += int64(len(data))
		}
	}
	if b, n := s.usage(); n != want || b != wantBytes || n < int64(len(acked)) {
		t.Fatalf("store holds %d files (%d bytes), want %d (%d bytes), %d acknowledged", n, b, want, wantBytes, len(acked))
	}
	t.Logf("%d uploads tried, %d acknowledged, %d stored", len(tried), len(acked), want)
}
