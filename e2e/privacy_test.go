package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto.dev/client"
	"sotto.dev/fileserver"
	"sotto.dev/identity"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	"sotto.dev/onion"
	"sotto.dev/snode"
	"sotto.dev/snode/relay"
)

// The observer table of docs/PRIVACY.md: the cells that no package test
// covers, each shown on real in-process nodes. The nodes listen on nodeIP
// and clients connect from clientIP (see checkSourceAddress).

// TestObservers runs one network and checks, observer by observer, what
// the guard, middle and exit relays, a watcher of a guard's connection, a
// seed, the recipient's and the sender's swarm, a community server and a
// file server get.
func TestObservers(t *testing.T) {
	checkSourceAddress(t)
	nw := startNetwork(t, testnet.Options{Nodes: 10, Swarm: swarmsOf5, Listen: nodeIP})
	t.Run("path relays", func(t *testing.T) { pathRelays(t, nw) })
	t.Run("watcher of a guard", func(t *testing.T) { guardWatcher(t, nw) })
	t.Run("seed", func(t *testing.T) { seedRequests(t, nw) })

	fsDir, stopFS := runFileServer(t, nw)
	sa, sb := twoSwarms(t, nw)
	alice := newUser(t, nw, "alice", sa)
	bob := newUser(t, nw, "bob", sb)
	sendFiles(t, alice, bob)
	t.Run("recipient's swarm", func(t *testing.T) { swarmFiles(t, nw, sb, bob, alice) })
	t.Run("sender's swarm", func(t *testing.T) { swarmFiles(t, nw, sa, alice, bob) })
	t.Run("community server", func(t *testing.T) { communityFiles(t, alice, bob) })
	alice.stop()
	bob.stop()
	t.Run("file server", func(t *testing.T) { fileServerFiles(t, fsDir, stopFS, alice, bob) })
}

// secrets are byte strings an observer must not see: each account's
// Session ID and keys (hex and raw) and the client's IP address.
func accountSecrets(kf ...*identity.KeyFile) [][]byte {
	out := [][]byte{[]byte(clientIP)}
	for _, k := range kf {
		x, ed := k.Keys.X25519Public(), k.Keys.Ed25519Public()
		out = append(out, []byte(k.Keys.SessionID().String()),
			[]byte(hex.EncodeToString(x[:])), []byte(hex.EncodeToString(ed[:])),
			bytes.Clone(x[:]), bytes.Clone(ed[:]))
	}
	return out
}

// containsAny returns the first of secrets that b contains, or nil.
func containsAny(b []byte, secrets [][]byte) []byte {
	low := bytes.ToLower(b)
	for _, s := range secrets {
		if bytes.Contains(b, s) || bytes.Contains(low, bytes.ToLower(s)) {
			return s
		}
	}
	return nil
}

// nodeKeys reads node i's keys from its data directory.
func nodeKeys(t *testing.T, nw *testnet.Network, i int) *snode.Keys {
	t.Helper()
	k, err := snode.LoadKeys(filepath.Join(nw.Node(i).DataDir, snode.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Wipe)
	return k
}

// peel does with frame what the relay does (snode/relay handle and
// relay) at a hop holding keys: it opens the layer and returns the
// decrypted layer (everything the hop learns), the frame the hop sends to
// the next one, and the relay instruction.
func peel(t *testing.T, keys *snode.Keys, frame []byte) (layer, next []byte, ctl *onion.RelayControl) {
	t.Helper()
	kp, err := onion.NewKeyPair(keys.X25519Private())
	if err != nil {
		t.Fatal(err)
	}
	o, err := onion.Open(kp, frame)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Key.Destroy()
	layer = o.Payload
	if o.Info.Sotto != 0 {
		if layer, err = onion.Unpad(layer); err != nil {
			t.Fatal(err)
		}
	}
	inner, err := onion.ParseHop(layer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := onion.ParseControl(inner.Control)
	if err != nil {
		t.Fatal(err)
	}
	ctl, ok := c.(*onion.RelayControl)
	if !ok {
		t.Fatalf("layer is %T, want a relay instruction", c)
	}
	li := onion.LayerInfo{EphemeralKey: ctl.EphemeralKey, Cipher: ctl.Cipher, HopNo: o.Info.HopNo + 1, Sotto: o.Info.Sotto}
	next, err = onion.EncodeHop(inner.Blob, li.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(layer), next, ctl
}

// onionRoute picks, for acct, a destination in its swarm and three other
// nodes as guard, middle and exit.
func onionRoute(t *testing.T, nw *testnet.Network, acct *testnet.Account) (hops []int, dest int) {
	t.Helper()
	_, members := nw.SwarmOf(acct.Key())
	if len(members) == 0 {
		t.Fatal("account has no swarm")
	}
	dest = members[0]
	for i := range nw.Len() {
		if i != dest && len(hops) < 3 {
			hops = append(hops, i)
		}
	}
	return hops, dest
}

func onionHop(nw *testnet.Network, i int) onion.Hop {
	n := nw.Node(i)
	return onion.Hop{Node: n.Ed25519, X25519: n.X25519}
}

// pathRelays stores a message through guard, middle and exit, and
// checks what each relay gets: the frame it receives (each obtained as
// the hop before obtains it, with that hop's key) and the layer it
// decrypts. The guard's names the middle, the middle's the exit, and
// neither holds the account, the destination node or the message; the
// exit's names the destination node but holds neither the account nor
// the message. No layer holds the client's address.
func pathRelays(t *testing.T, nw *testnet.Network) {
	acct, err := testnet.NewAccount()
	if err != nil {
		t.Fatal(err)
	}
	route, destIdx := onionRoute(t, nw, acct)
	guard, middle, exit := route[0], route[1], route[2]
	hops := []onion.Hop{onionHop(nw, guard), onionHop(nw, middle), onionHop(nw, exit)}
	dest := nw.Node(destIdx)
	keys := []*snode.Keys{nodeKeys(t, nw, guard), nodeKeys(t, nw, middle), nodeKeys(t, nw, exit)}
	marker := "relay marker " + rand.Text()
	content := [][]byte{[]byte(clientIP), []byte(acct.ID()), []byte(acct.ID()[2:]), []byte(marker)}
	destKeys := [][]byte{
		[]byte(dest.Ed25519.String()), []byte(dest.X25519.String()), dest.Ed25519[:], dest.X25519[:],
		[]byte(dest.Addr.String()),
	}
	names := []string{"guard", "middle", "exit"}
	next := []key.NodePublic{hops[1].Node, hops[2].Node, dest.Ed25519}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitFor(t, time.Minute, "a store through the path", func() error {
		body, rep, err := onion.BuildSottoSnodeRequest(hops, onionHop(nw, destIdx), storeBody(t, acct, marker), onion.CipherXChaCha20)
		if err != nil {
			t.Fatal(err)
		}
		in := body
		for i, k := range keys {
			layer, out, ctl := peel(t, k, in)
			if ctl.Destination != next[i] {
				t.Fatalf("the %s forwards to %s, want %s", names[i], ctl.Destination, next[i])
			}
			secrets := content
			if i < 2 {
				secrets = append(slices.Clone(content), destKeys...)
			}
			for _, b := range [][]byte{in, layer} {
				if s := containsAny(b, secrets); s != nil {
					t.Fatalf("the %s gets %q", names[i], s)
				}
			}
			in = out
		}
		// The same request on the real path: it reaches the destination.
		status, reply := post(t, ctx, nw.HTTPClient(), nw.Node(guard).URL+relay.Path, body)
		resp, err := onion.DecodeSottoSnodeResponse(rep, status, reply)
		if err != nil {
			return err
		}
		if resp.Status != http.StatusOK || !bytes.Contains(resp.Body, []byte(`"hash"`)) {
			return fmt.Errorf("store: %d %s", resp.Status, resp.Body)
		}
		return nil
	})
}

// connTap is a TCP proxy in front of one node that records what each
// connection sends to the node: what a watcher of the node's link sees.
type connTap struct {
	ln net.Listener
	wg sync.WaitGroup

	mu    sync.Mutex
	conns []*bytes.Buffer // what each connection sent so far; guarded by mu
}

func startTap(t *testing.T, target string) *connTap {
	t.Helper()
	ln, err := net.Listen("tcp", clientIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &connTap{ln: ln}
	tp.wg.Add(1)
	go func() {
		defer tp.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tp.wg.Add(1)
			go func() {
				defer tp.wg.Done()
				tp.serve(c, target)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		tp.wg.Wait()
	})
	return tp
}

// tapWriter records into a connection's buffer.
type tapWriter struct {
	tp  *connTap
	buf *bytes.Buffer
}

func (w tapWriter) Write(p []byte) (int, error) {
	w.tp.mu.Lock()
	defer w.tp.mu.Unlock()
	return w.buf.Write(p)
}

func (tp *connTap) serve(c net.Conn, target string) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	buf := new(bytes.Buffer)
	tp.mu.Lock()
	tp.conns = append(tp.conns, buf)
	tp.mu.Unlock()
	go func() {
		_, _ = io.Copy(c, s)
		c.Close()
	}()
	// Recorded before the node gets it: once the node has answered, the
	// record holds the whole request.
	_, _ = io.Copy(io.MultiWriter(tapWriter{tp, buf}, s), c)
}

// count is the number of connections so far.
func (tp *connTap) count() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return len(tp.conns)
}

// sent returns what connection i has sent so far.
func (tp *connTap) sent(i int) []byte {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return bytes.Clone(tp.conns[i].Bytes())
}

// tlsRecords checks that b is a sequence of TLS records, starting with a
// handshake, and returns their content types.
func tlsRecords(t *testing.T, b []byte) []byte {
	t.Helper()
	var types []byte
	for len(b) > 0 {
		if len(b) < 5 || b[0] < 20 || b[0] > 23 || b[1] != 3 {
			t.Fatalf("not a TLS record: % x", b[:min(len(b), 8)])
		}
		n := 5 + int(b[3])<<8 + int(b[4])
		if n > len(b) {
			t.Fatalf("TLS record of %d bytes, %d left", n, len(b))
		}
		types = append(types, b[0])
		b = b[n:]
	}
	if len(types) == 0 || types[0] != 22 {
		t.Fatalf("connection does not start with a TLS handshake: %v", types)
	}
	return types
}

// guardWatcher sends onion requests to a guard through a tap and checks
// what a watcher of that link sees: TLS records only, nothing of the
// account, the destination or the message in them, and, in the Sotto
// form, the same number of bytes for two messages of different lengths in
// one size class (in Session's form the lengths show through).
func guardWatcher(t *testing.T, nw *testnet.Network) {
	acct, err := testnet.NewAccount()
	if err != nil {
		t.Fatal(err)
	}
	route, destIdx := onionRoute(t, nw, acct)
	hops := []onion.Hop{onionHop(nw, route[0]), onionHop(nw, route[1]), onionHop(nw, route[2])}
	dest := nw.Node(destIdx)
	tp := startTap(t, nw.Node(route[0]).Addr.String())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	send := func(sotto bool, n int) []byte {
		t.Helper()
		marker := "watched " + rand.Text()
		payload := storeBody(t, acct, marker+strings.Repeat("x", n))
		var body []byte
		var err error
		if sotto {
			body, _, err = onion.BuildSottoSnodeRequest(hops, onionHop(nw, destIdx), payload, onion.CipherXChaCha20)
		} else {
			body, _, err = onion.BuildSnodeRequest(hops, onionHop(nw, destIdx), payload, onion.CipherXChaCha20)
		}
		if err != nil {
			t.Fatal(err)
		}
		// A new connection each time, as a watcher sees a new client.
		// What it sent is read once the answer is in, before the
		// connection closes (a close_notify at the end comes or not).
		hc := &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // node certificates are self-signed
		}}
		defer hc.CloseIdleConnections()
		before := tp.count()
		if status, _ := post(t, ctx, hc, "https://"+tp.ln.Addr().String()+relay.Path, body); status == 0 {
			t.Fatal("no answer from the guard")
		}
		if n := tp.count() - before; n != 1 {
			t.Fatalf("%d connections for one request", n)
		}
		up := tp.sent(before)
		types := tlsRecords(t, up)
		if bytes.Count(types, []byte{23}) == 0 {
			t.Fatalf("no application data records: %v", types)
		}
		secrets := [][]byte{[]byte(acct.ID()[2:]), []byte(marker), []byte(dest.Ed25519.String()), dest.Ed25519[:], []byte(relay.Path)}
		if s := containsAny(up, secrets); s != nil {
			t.Fatalf("a watcher of the guard's link reads %q", s)
		}
		return up
	}
	short, long := send(true, 20), send(true, 200)
	if len(short) != len(long) {
		t.Errorf("Sotto form: a watcher sees %d and %d bytes for two messages in one class", len(short), len(long))
	}
	if short, long := send(false, 20), send(false, 200); len(long)-len(short) < 180 {
		t.Errorf("Session's form: %d and %d bytes, want the length difference to show", len(short), len(long))
	}
}

// seedRequests runs a new client against a recording seed and checks that
// what the seed gets is the node-list request and nothing of the account.
func seedRequests(t *testing.T, nw *testnet.Network) {
	type seen struct {
		url    string
		header http.Header
		body   []byte
	}
	var (
		mu   sync.Mutex
		reqs []seen
	)
	target := nw.Node(0).URL + "/json_rpc"
	hc := nw.HTTPClient()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		reqs = append(reqs, seen{r.URL.String(), r.Header.Clone(), body})
		mu.Unlock()
		resp, err := hc.Post(target, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer srv.Close()
	file, err := client.LoadNetwork(nw.NetworkFile())
	if err != nil {
		t.Fatal(err)
	}
	pin := sha256.Sum256(srv.Certificate().Raw)
	file.SeedNodes = []client.Seed{{URL: srv.URL, CertSHA256: hex.EncodeToString(pin[:])}}

	k, seed, err := identity.NewKeys()
	clear(seed)
	if err != nil {
		t.Fatal(err)
	}
	kf, err := identity.NewKeyFile(k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Open(client.Config{Home: t.TempDir(), Network: file, RequestTimeout: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)}, kf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitFor(t, time.Minute, "a sync", func() error { return c.Sync(ctx) })

	mu.Lock()
	defer mu.Unlock()
	if len(reqs) == 0 {
		t.Fatal("the client never asked the seed")
	}
	secrets := accountSecrets(kf)[1:] // the seed sees the address itself
	for _, r := range reqs {
		var rpc struct {
			Method string `json:"method"`
		}
		if err := json.Unmarshal(r.body, &rpc); err != nil || rpc.Method != "get_n_service_nodes" {
			t.Errorf("seed request %s: %s (%v), want get_n_service_nodes", r.url, r.body, err)
		}
		hdr, _ := json.Marshal(r.header)
		for _, b := range [][]byte{[]byte(r.url), hdr, r.body} {
			if s := containsAny(b, secrets); s != nil {
				t.Errorf("the seed gets %q", s)
			}
		}
		for _, h := range []string{"Cookie", "Authorization"} {
			if r.header.Get(h) != "" {
				t.Errorf("the seed gets a %s header", h)
			}
		}
	}
}

// runFileServer runs a real file server on 127.0.0.1 and lists it in the
// network file (open clients after this). It returns the server's
// directory and a function that stops it (idempotent).
func runFileServer(t *testing.T, nw *testnet.Network) (string, func()) {
	t.Helper()
	dir := t.TempDir()
	keys, _, err := fileserver.LoadOrCreateKeys(filepath.Join(dir, fileserver.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	cfg := fileserver.DefaultConfig()
	cfg.Dir, cfg.Listen = dir, "127.0.0.1:0"
	srv, err := fileserver.New(cfg, fileserver.Deps{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("file server: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	err = nw.SetFileServers([]testnet.FileServerEntry{{
		URL: "http://" + srv.Addr().String(), PubkeyX25519: keys.X25519Public().String(), PubkeyEd25519: keys.Ed25519Public().String(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return dir, stop
}

// sendFiles sends two messages with a file each from alice to bob (the
// files go up to the file server through onion requests).
func sendFiles(t *testing.T, alice, bob *user) {
	t.Helper()
	work := t.TempDir()
	for i, n := range []int{3000, 300_000} {
		p := filepath.Join(work, fmt.Sprintf("file%d.bin", i))
		b := make([]byte, n)
		rand.Read(b)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := alice.client().Send(ctx, bob.id(), "a file", client.SendOptions{Files: []client.OutgoingFile{{Path: p}}})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// filesHolding walks dir and returns, for each file, the first of
// secrets it contains, and the bytes read.
func filesHolding(t *testing.T, dir string, secrets [][]byte) (found map[string][]byte, read int) {
	t.Helper()
	found = map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		read += len(data)
		if s := containsAny(data, secrets); s != nil {
			found[path] = s
		}
		if ipv4.Match(data) {
			found[path] = ipv4.Find(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found, read
}

// swarmFiles waits until every member of a swarm holds at least two
// messages in owner's inbox, then reads every file those nodes wrote:
// owner's account is there (the rows are its), other's is not, nor any IP
// address. For bob's swarm (alice's messages) that is the recipient's
// swarm not learning the sender; for alice's (her sync copies, bob's
// receipts) the sender's swarm not learning the recipient.
func swarmFiles(t *testing.T, nw *testnet.Network, swarmID uint64, owner, other *user) {
	members := nw.Swarms()[swarmID]
	for _, i := range members {
		waitFor(t, time.Minute, fmt.Sprintf("node %d holding %s's messages", i, owner.name), func() error {
			if n := len(nodeHashes(t, nw, i, owner)); n < 2 {
				return fmt.Errorf("holds %d", n)
			}
			return nil
		})
	}
	for _, i := range members {
		dir := nw.Node(i).DataDir
		if found, _ := filesHolding(t, dir, accountSecrets(owner.kf)[1:]); len(found) == 0 {
			t.Fatalf("node %d: no file names %s's account, which it stores for", i, owner.name)
		}
		found, _ := filesHolding(t, dir, accountSecrets(other.kf))
		for path, s := range found {
			t.Errorf("%s (%s's swarm) contains %q", path, owner.name, s)
		}
	}
}

// fileServerFiles reads every file the file server wrote after the
// uploads: none holds an account's Session ID or keys, or any IP address.
func fileServerFiles(t *testing.T, dir string, stop func(), alice, bob *user) {
	stop()
	found, read := filesHolding(t, dir, accountSecrets(alice.kf, bob.kf))
	for path, s := range found {
		t.Errorf("%s contains %q", path, s)
	}
	if read < 300_000 {
		t.Fatalf("the file server holds %d bytes, want the uploads", read)
	}
}

// communityFiles runs a real community server with one room; alice and
// bob join it and post through onion paths, then every file the server
// wrote is read: each member's blinded ID is there, neither's Session ID
// or keys, nor any IP address.
func communityFiles(t *testing.T, alice, bob *user) {
	cs := testnet.StartCommunity(t, testnet.CommunityRoom{Token: "lobby", Name: "Lobby"})
	dir, pk, lobby := cs.Dir, cs.PublicKey, cs.JoinURL("lobby")
	var blinded [][]byte
	for _, u := range []*user{alice, bob} {
		rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := u.client().JoinCommunity(rctx, lobby)
		if err == nil {
			_, err = u.client().PostToRoom(rctx, lobby, "hello from "+u.name, client.PostOptions{})
		}
		rcancel()
		if err != nil {
			t.Fatalf("%s: %v", u.name, err)
		}
		id, err := u.client().CommunityID(pk)
		if err != nil {
			t.Fatal(err)
		}
		blinded = append(blinded, []byte(id.String()))
	}
	cs.Stop()
	for _, b := range blinded {
		if found, _ := filesHolding(t, dir, [][]byte{b}); len(found) == 0 {
			t.Fatalf("no file of the server holds the blinded ID %s that posted", b)
		}
	}
	secrets := accountSecrets(alice.kf, bob.kf)
	for _, u := range []*user{alice, bob} {
		ed := u.kf.Keys.Ed25519Public()
		secrets = append(secrets, []byte(key.NewSessionID(key.PrefixUnblinded, ed).String()))
	}
	found, _ := filesHolding(t, dir, secrets)
	for path, s := range found {
		t.Errorf("%s contains %q", path, s)
	}
}

// checkLedgerBlocks reads every block of the network's CometBFT ledger,
// with its transactions decoded, and every block's results: none may
// contain one of secrets (accounts and the client's address).
func checkLedgerBlocks(t *testing.T, nw *testnet.Network, secrets [][]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	height, err := nw.LedgerClient().Height(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + strings.TrimPrefix(nw.LedgerRPC(), "tcp://")
	get := func(u string) []byte {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", u, resp.StatusCode, err)
		}
		return b
	}
	var txs int
	for h := uint64(1); h <= height; h++ {
		block := get(fmt.Sprintf("%s/block?height=%d", base, h))
		var b struct {
			Result struct {
				Block struct {
					Data struct {
						Txs []string `json:"txs"`
					} `json:"data"`
				} `json:"block"`
			} `json:"result"`
		}
		if err := json.Unmarshal(block, &b); err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
		parts := [][]byte{block, get(fmt.Sprintf("%s/block_results?height=%d", base, h))}
		for _, tx := range b.Result.Block.Data.Txs {
			raw, err := base64.StdEncoding.DecodeString(tx)
			if err != nil {
				t.Fatalf("block %d: tx: %v", h, err)
			}
			parts = append(parts, raw)
			txs++
		}
		for _, p := range parts {
			if s := containsAny(p, secrets); s != nil {
				t.Errorf("ledger block %d contains %q", h, s)
			}
		}
	}
	if txs < nw.Len() {
		t.Fatalf("read %d transactions in %d blocks, want at least the %d registrations", txs, height, nw.Len())
	}
}
