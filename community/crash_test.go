package community

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"

	"sotto.dev/sessionproto"
)

// crashChildEnv makes the test binary a community server on the directory
// it names (see TestMain): the child process of TestKillDuringPosts.
const crashChildEnv = "COMMUNITY_CRASH_CHILD_DIR"

// crashChild runs a server with a room "lobby" on dir until it is killed,
// printing its address on the first line of standard output.
func crashChild(dir string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	keys, err := KeysFromSeed(testSeed)
	if err != nil {
		fail(err)
	}
	cfg := DefaultConfig()
	cfg.Dir, cfg.Listen, cfg.PostLimit, cfg.AddrRate, cfg.Rate = dir, "127.0.0.1:0", 0, 0, 0
	s, err := New(cfg, Deps{Keys: keys})
	if err != nil {
		fail(err)
	}
	if _, err := s.Store().Room(context.Background(), "lobby"); err != nil {
		if _, err := s.Store().AddRoom(context.Background(), "lobby", "Lobby", nil, systemClock{}.Now()); err != nil {
			fail(err)
		}
	}
	fmt.Println(s.Addr().String())
	if err := s.Serve(context.Background()); err != nil {
		fail(err)
	}
}

type child struct {
	cmd *exec.Cmd
	h   *harness
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
	return &child{cmd: cmd, h: &harness{t: t, base: "http://" + addr.String(), port: uint16(addr.Port), pk: testKeys(t).Public()}}
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

// tryPost posts data as u without failing the test on a transport error
// (the server may be gone); it returns the new message's id when the
// post was acknowledged.
func tryPost(u *user, hc *http.Client, data []byte) (int64, bool, error) {
	body, _ := json.Marshal(map[string]string{
		"data": base64.StdEncoding.EncodeToString(data), "signature": base64.StdEncoding.EncodeToString(u.sign(data))})
	const path = "/room/lobby/message"
	req, err := http.NewRequest(http.MethodPost, u.h.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, false, err
	}
	for k, v := range u.headers(http.MethodPost, path, body) {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, false, nil
	}
	defer resp.Body.Close()
	var m struct {
		ID int64 `json:"id"`
	}
	if resp.StatusCode != http.StatusCreated {
		return 0, false, fmt.Errorf("post: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return 0, false, nil // cut short by the kill
	}
	return m.ID, true, nil
}

// TestKillDuringPosts kills the server with SIGKILL while posts are in
// flight, three times, restarting it on the same directory each time:
// every acknowledged post must be served intact afterwards.
func TestKillDuringPosts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	acked := map[int64][]byte{}
	var mu sync.Mutex

	verify := func(c *child) {
		t.Helper()
		for id, data := range acked {
			r := c.h.do(http.MethodGet, "/room/lobby/message/"+itoa(id), nil, nil)
			wantCode(t, "acknowledged post "+itoa(id), r, http.StatusOK)
			var m struct {
				Data []byte `json:"data"`
			}
			r.json(t, &m)
			if !bytes.Equal(m.Data, data) {
				t.Fatalf("post %d served as %x, posted %x", id, m.Data, data)
			}
		}
	}

	const rounds, workers = 3, 4
	for round := range rounds {
		c := startChild(t, dir)
		verify(c)
		hc := &http.Client{Transport: &http.Transport{}}
		killAt := 20 + rng.IntN(60)
		var wg sync.WaitGroup
		var once sync.Once
		count := 0
		for w := range workers {
			u := c.h.newUser(sessionproto.SOGSOptions{})
			seed := rng.Uint64()
			wg.Go(func() {
				r := rand.New(rand.NewPCG(seed, uint64(w)))
				for range 500 {
					data := sessionproto.Pad(fmt.Appendf(nil, "post %d from %d in round %d", r.Uint64(), w, round))
					id, ok, err := tryPost(u, hc, data)
					if err != nil {
						t.Error(err)
						return
					}
					if !ok {
						return // the server is gone
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
		hc.CloseIdleConnections()
		t.Logf("round %d: killed after %d acknowledged posts", round, count)
	}
	c := startChild(t, dir)
	verify(c)
	c.kill(t)
	http.DefaultClient.CloseIdleConnections()
}
