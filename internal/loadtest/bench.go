package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"sotto.dev/internal/linkem"
	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	"sotto.dev/onion"
	"sotto.dev/storagerpc"
	"sotto.dev/swarm"
)

// BenchConfig configures Bench.
type BenchConfig struct {
	// Tests to run, in order: "store", "retrieve", "poll", "onion", "e2e".
	Tests []string
	// Network is a network file (DIR/network.json); Node, when set, is the
	// node that store and retrieve load, as a base URL or host:port
	// (default: the first seed). With Node alone, the node list is asked
	// of that node. The node is found in the list by its URL or, failing
	// that, by the key it answers /ping_test/v1 with (a node behind an
	// address translation announces another address). With neither,
	// Bench starts a devnet of DevnetNodes nodes in a temporary directory.
	Network     string
	Node        string
	DevnetNodes int
	// Concurrency is the number of requests in flight.
	Concurrency int
	// Duration and Count bound each test (the first reached ends it;
	// Count 0 means Duration only).
	Duration time.Duration
	Count    int
	// Size is the message size in bytes (store, onion).
	Size int
	// Messages is how many messages each account holds for retrieve.
	Messages int
	// Accounts is how many accounts store and retrieve spread the load
	// over (default 64).
	Accounts int
	// NodePID, when set, is the process ID of the loaded node on this
	// machine (Linux): each result then gives the node's CPU time per
	// request besides the load generator's own.
	NodePID int
	// HTTP2 multiplexes requests over HTTP/2 instead of one HTTP/1.1
	// connection per worker.
	HTTP2 bool
	// Link, if set, emulates the links of the bench's own connections (its
	// load client and the e2e clients, linkem.Dialer) and, in the devnet
	// it starts without Network or Node, the nodes' links too.
	Link *linkem.Network
	// Progress receives a line per test as it starts; nil discards.
	Progress io.Writer
}

// Node is a node as the bench learns it from get_n_service_nodes.
type Node struct {
	Ed25519 key.NodePublic
	X25519  key.OnionPublic
	URL     string
	Swarm   uint64
}

// Hop is the node as an onion path hop.
func (n Node) Hop() onion.Hop { return onion.Hop{Node: n.Ed25519, X25519: n.X25519} }

// bench holds what the tests share.
type bench struct {
	cfg    BenchConfig
	client *http.Client
	nodes  []Node
	swarms []uint64
	target Node
	// e2e runs the e2e test; nil when no devnet/client is available.
	network string
}

// Bench runs the configured tests and returns one Result each.
func Bench(ctx context.Context, cfg BenchConfig) ([]Result, error) {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	if cfg.Duration <= 0 && cfg.Count <= 0 {
		return nil, errors.New("bench: need a duration or a count")
	}
	if cfg.Size <= 0 {
		cfg.Size = 100
	}
	if cfg.Messages <= 0 {
		cfg.Messages = 10
	}
	if cfg.Accounts <= 0 {
		cfg.Accounts = 64
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	for _, t := range cfg.Tests {
		if !slices.Contains([]string{"store", "retrieve", "poll", "onion", "e2e"}, t) {
			return nil, fmt.Errorf("bench: unknown test %q (store, retrieve, poll, onion, e2e)", t)
		}
	}
	b := &bench{cfg: cfg, client: NewHTTPClient(cfg.Concurrency, cfg.HTTP2), network: cfg.Network}
	if cfg.Link != nil {
		b.client.Transport.(*http.Transport).DialContext = cfg.Link.Dialer("bench", nil)
		p := cfg.Link.Default()
		fmt.Fprintf(cfg.Progress, "emulated links: seed %d, latency %v ± %v, loss %g, bandwidth %d B/s\n", cfg.Link.Seed(), p.Delay, p.Jitter, p.Loss, p.Bandwidth)
	}
	defer b.client.CloseIdleConnections()

	var seeds []string
	switch {
	case cfg.Network != "":
		nf, err := readNetworkFile(cfg.Network)
		if err != nil {
			return nil, err
		}
		seeds = nf
	case cfg.Node != "":
		seeds = []string{nodeURL(cfg.Node)}
	default:
		nodes := cfg.DevnetNodes
		if nodes <= 0 {
			nodes = DefaultDevnetNodes
		}
		fmt.Fprintf(cfg.Progress, "starting a devnet of %d nodes\n", nodes)
		n, err := testnet.Start(ctx, testnet.Options{Nodes: nodes, Link: cfg.Link})
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer n.Close()
		seeds = n.SeedURLs()
		b.network = n.NetworkFile()
	}
	if err := b.discover(ctx, seeds); err != nil {
		return nil, err
	}
	var out []Result
	for _, t := range cfg.Tests {
		fmt.Fprintf(cfg.Progress, "running %s: %d in flight, %s\n", t, cfg.Concurrency, bounds(cfg))
		// Each test starts on new connections. A POST sent on a kept
		// connection just as the server closes it fails with EOF, which
		// the transport does not retry; at a test's end the cancelled
		// requests close every busy connection, so the next test would
		// start on whatever the pool kept longest, such as one opened and
		// never used, which a server drops 10 s after its handshake (the
		// first request's header timeout, net/http's and sottod's). Once,
		// in bench.sh, the retrieve test's fill failed that way.
		b.client.CloseIdleConnections()
		var r Result
		var err error
		switch t {
		case "store":
			r, err = b.store(ctx)
		case "retrieve":
			r, err = b.retrieve(ctx, false)
		case "poll":
			r, err = b.retrieve(ctx, true)
		case "onion":
			r, err = b.onionStore(ctx)
		case "e2e":
			r, err = b.e2e(ctx)
		}
		if err != nil {
			return out, fmt.Errorf("bench %s: %w", t, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func bounds(cfg BenchConfig) string {
	switch {
	case cfg.Count > 0 && cfg.Duration > 0:
		return fmt.Sprintf("%d requests or %v", cfg.Count, cfg.Duration)
	case cfg.Count > 0:
		return fmt.Sprintf("%d requests", cfg.Count)
	}
	return cfg.Duration.String()
}

// readNetworkFile returns the seed URLs of a network file. A seed is the
// client's {"url": …, "cert_sha256": …} or a bare URL string, the form of
// the network file ../shared/tools/oss writes for Session's server.
func readNetworkFile(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var nf struct {
		SeedNodes []json.RawMessage `json:"seed_nodes"`
	}
	if err := json.Unmarshal(data, &nf); err != nil || len(nf.SeedNodes) == 0 {
		return nil, fmt.Errorf("bench: %s is not a network file with seed_nodes", path)
	}
	urls := make([]string, len(nf.SeedNodes))
	for i, raw := range nf.SeedNodes {
		var seed struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(raw, &urls[i]) == nil {
			continue
		}
		if err := json.Unmarshal(raw, &seed); err != nil || seed.URL == "" {
			return nil, fmt.Errorf("bench: %s: seed_nodes[%d] is neither a URL nor {\"url\": …}", path, i)
		}
		urls[i] = seed.URL
	}
	return urls, nil
}

// discover reads the node list from the first seed that answers and picks
// the target node (cfg.Node, or the first seed).
func (b *bench) discover(ctx context.Context, seeds []string) error {
	var last error
	for _, s := range seeds {
		nodes, err := FetchNodes(ctx, b.client, s)
		if err != nil {
			last = err
			continue
		}
		b.nodes = nodes
		break
	}
	if b.nodes == nil {
		return fmt.Errorf("bench: no seed answered get_n_service_nodes: %v", last)
	}
	ids := map[uint64]bool{}
	for _, n := range b.nodes {
		if n.Swarm != swarm.UnassignedID {
			ids[n.Swarm] = true
		}
	}
	for id := range ids {
		b.swarms = append(b.swarms, id)
	}
	slices.Sort(b.swarms)
	want := seeds[0]
	if b.cfg.Node != "" {
		want = nodeURL(b.cfg.Node)
	}
	if i := slices.IndexFunc(b.nodes, func(n Node) bool { return n.URL == want }); i >= 0 {
		b.target = b.nodes[i]
		return nil
	}
	key, err := pingKey(ctx, b.client, want)
	if err != nil {
		return fmt.Errorf("bench: node %s is not in the node list and did not answer ping_test: %w", want, err)
	}
	i := slices.IndexFunc(b.nodes, func(n Node) bool { return n.Ed25519 == key })
	if i < 0 {
		return fmt.Errorf("bench: node %s (key %x) is not in the node list", want, key[:])
	}
	b.target = b.nodes[i]
	b.target.URL = want // its address as seen from here
	return nil
}

// nodeURL turns host:port into an HTTPS base URL; URLs pass unchanged
// (without a trailing slash).
func nodeURL(s string) string {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	return strings.TrimSuffix(s, "/")
}

// pingKey asks a node's /ping_test/v1 for its Ed25519 key (Session's
// reachability test answers with it in X-Oxen-Snode-Pubkey).
func pingKey(ctx context.Context, c *http.Client, url string) (key.NodePublic, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/ping_test/v1", nil)
	if err != nil {
		return key.NodePublic{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return key.NodePublic{}, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return key.NodePublic{}, &statusError{status: resp.StatusCode}
	}
	k, err := base64.StdEncoding.DecodeString(resp.Header.Get("X-Oxen-Snode-Pubkey"))
	if err != nil || len(k) != len(key.NodePublic{}) {
		return key.NodePublic{}, errors.New("ping_test answer has no node key")
	}
	return key.NodePublic(k), nil
}

// FetchNodes asks seed (a node's base URL) for the active nodes.
func FetchNodes(ctx context.Context, c *http.Client, seed string) ([]Node, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, body, err := testnet.Post(ctx, c, strings.TrimSuffix(seed, "/")+"/json_rpc",
		[]byte(`{"jsonrpc":"2.0","id":0,"method":"get_n_service_nodes","params":{"active_only":true,"fields":{"pubkey_ed25519":true,"pubkey_x25519":true,"public_ip":true,"storage_port":true,"swarm_id":true}}}`))
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, &statusError{status: st, body: string(body)}
	}
	var resp struct {
		Result struct {
			States []struct {
				Ed25519 string `json:"pubkey_ed25519"`
				X25519  string `json:"pubkey_x25519"`
				IP      string `json:"public_ip"`
				Port    uint16 `json:"storage_port"`
				Swarm   uint64 `json:"swarm_id"`
			} `json:"service_node_states"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("get_n_service_nodes: %w", err)
	}
	var out []Node
	for _, s := range resp.Result.States {
		ed, err1 := hex.DecodeString(s.Ed25519)
		x, err2 := hex.DecodeString(s.X25519)
		if err1 != nil || err2 != nil || len(ed) != 32 || len(x) != 32 || s.Port == 0 {
			return nil, errors.New("get_n_service_nodes: malformed node entry")
		}
		out = append(out, Node{
			Ed25519: key.NodePublic(ed), X25519: key.OnionPublic(x), Swarm: s.Swarm,
			URL: "https://" + net.JoinHostPort(s.IP, strconv.Itoa(int(s.Port))),
		})
	}
	if len(out) == 0 {
		return nil, errors.New("get_n_service_nodes: empty node list")
	}
	return out, nil
}

// accountsIn makes n accounts whose swarm is id.
func (b *bench) accountsIn(id uint64, n int) ([]*testnet.Account, error) {
	out := make([]*testnet.Account, 0, n)
	for tries := 0; len(out) < n; tries++ {
		if tries > 1000*n {
			return nil, errors.New("bench: cannot find accounts for the target's swarm")
		}
		a, err := testnet.NewAccount()
		if err != nil {
			return nil, err
		}
		if s, ok := swarm.SelectKey(b.swarms, a.Key()); ok && s == id {
			out = append(out, a)
		}
	}
	return out, nil
}

// post sends a storage RPC body to a node and wants 200.
func (b *bench) post(ctx context.Context, url string, body []byte) ([]byte, error) {
	st, resp, err := testnet.Post(ctx, b.client, url+"/storage_rpc/v1", body)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, &statusError{status: st, body: string(resp)}
	}
	return resp, nil
}

func (b *bench) spec(name string) loadSpec {
	return loadSpec{name: name, concurrency: b.cfg.Concurrency, duration: b.cfg.Duration, count: b.cfg.Count, nodePID: b.cfg.NodePID}
}

// store: unique messages to accounts of the target's swarm, sent to the
// target directly (which replicates each to its swarm peers).
func (b *bench) store(ctx context.Context) (Result, error) {
	accts, err := b.accountsIn(b.target.Swarm, b.cfg.Accounts)
	if err != nil {
		return Result{}, err
	}
	seq := make([]int, b.cfg.Concurrency)
	r := runLoad(ctx, b.spec("store"), func(ctx context.Context, w int) error {
		seq[w]++
		data := make([]byte, b.cfg.Size)
		rand.Read(data)
		body, err := accts[(w+seq[w])%len(accts)].StoreRequest(data, time.Hour, time.Now())
		if err != nil {
			return err
		}
		_, err = b.post(ctx, b.target.URL, body)
		return err
	})
	r.Note = fmt.Sprintf("%d-byte messages for %d accounts to %s (replicated to its swarm of %d)", b.cfg.Size, len(accts), b.target.URL, b.swarmSize(b.target.Swarm))
	return r, nil
}

func (b *bench) swarmSize(id uint64) int {
	n := 0
	for _, nd := range b.nodes {
		if nd.Swarm == id {
			n++
		}
	}
	return n
}

// retrieve: signed retrieves of accounts holding cfg.Messages messages
// each, from the target: the whole inbox (last_hash empty), or with poll
// only what is newer than the newest message (nothing: the usual answer to
// a client that keeps up). Request bodies are signed once per second per
// account (a signature is valid for a minute), so the client's signing
// does not compete with the node for the CPU; the node checks every
// signature all the same.
func (b *bench) retrieve(ctx context.Context, poll bool) (Result, error) {
	nAccts := b.cfg.Accounts
	accts, err := b.accountsIn(b.target.Swarm, nAccts)
	if err != nil {
		return Result{}, err
	}
	last := make([]string, nAccts)
	for i, a := range accts {
		acct, err := storagerpc.ParseAccount(a.ID())
		if err != nil {
			return Result{}, err
		}
		for k := range b.cfg.Messages {
			data := make([]byte, b.cfg.Size)
			rand.Read(data)
			data[0] = byte(k)
			body, err := a.StoreRequest(data, time.Hour, time.Now())
			if err != nil {
				return Result{}, err
			}
			if _, err := b.post(ctx, b.target.URL, body); err != nil {
				return Result{}, fmt.Errorf("fill: %w", err)
			}
			last[i] = storagerpc.MessageHash(acct, storagerpc.NamespaceDefault, data)
		}
	}
	want := b.cfg.Messages
	if poll {
		want = 0
	}
	type signed struct {
		body []byte
		at   time.Time
	}
	var mu sync.Mutex
	cache := make([]signed, nAccts)
	bodyFor := func(i int) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(cache[i].at) < time.Second {
			return cache[i].body, nil
		}
		after := ""
		if poll {
			after = last[i]
		}
		body, err := accts[i].RetrieveRequest(after, time.Now())
		if err != nil {
			return nil, err
		}
		cache[i] = signed{body, time.Now()}
		return body, nil
	}
	name := "retrieve"
	if poll {
		name = "poll"
	}
	seq := make([]int, b.cfg.Concurrency)
	r := runLoad(ctx, b.spec(name), func(ctx context.Context, w int) error {
		seq[w]++
		body, err := bodyFor((w + seq[w]) % nAccts)
		if err != nil {
			return err
		}
		resp, err := b.post(ctx, b.target.URL, body)
		if err != nil {
			return err
		}
		// Each message has one "hash" key and the answer none of its
		// own: counting them checks the answer at a fraction of the cost
		// of decoding it, which would compete with the node for the CPU.
		if n := bytes.Count(resp, []byte(`"hash"`)); n != want {
			return fmt.Errorf("%s returned %d messages, want %d", name, n, want)
		}
		return nil
	})
	if poll {
		r.Note = fmt.Sprintf("signed retrieves after the newest of %d messages (empty answers, %d accounts) from %s", b.cfg.Messages, nAccts, b.target.URL)
	} else {
		r.Note = fmt.Sprintf("signed retrieves of %d messages of %d bytes (%d accounts) from %s", b.cfg.Messages, b.cfg.Size, nAccts, b.target.URL)
	}
	return r, nil
}

// onionStore: the client → swarm store of a message through a 3-hop onion
// path (random distinct nodes) to a node of the recipient's swarm, with
// the reply decrypted; the latency includes building the onion.
func (b *bench) onionStore(ctx context.Context) (Result, error) {
	if len(b.nodes) < 4 {
		return Result{}, errors.New("need at least 4 nodes for 3 hops and a destination")
	}
	type dest struct {
		acct  *testnet.Account
		nodes []Node
	}
	var dests []dest
	for _, id := range b.swarms {
		accts, err := b.accountsIn(id, 16)
		if err != nil {
			return Result{}, err
		}
		var members []Node
		for _, n := range b.nodes {
			if n.Swarm == id {
				members = append(members, n)
			}
		}
		for _, a := range accts {
			dests = append(dests, dest{a, members})
		}
	}
	r := runLoad(ctx, b.spec("onion"), func(ctx context.Context, w int) error {
		d := dests[randN(len(dests))]
		to := d.nodes[randN(len(d.nodes))]
		path := b.randomPath(3, to.Ed25519)
		data := make([]byte, b.cfg.Size)
		rand.Read(data)
		payload, err := d.acct.StoreRequest(data, time.Hour, time.Now())
		if err != nil {
			return err
		}
		hops := make([]onion.Hop, len(path))
		for i, p := range path {
			hops[i] = p.Hop()
		}
		body, key, err := onion.BuildSnodeRequest(hops, to.Hop(), payload, onion.CipherXChaCha20)
		if err != nil {
			return err
		}
		defer key.Destroy()
		st, reply, err := testnet.Post(ctx, b.client, path[0].URL+"/onion_req/v2", body)
		if err != nil {
			return err
		}
		resp, err := onion.DecodeSnodeResponse(key, st, reply)
		if err != nil {
			var pe *onion.PathError
			if errors.As(err, &pe) {
				return &statusError{status: pe.Status, body: string(pe.Body)}
			}
			return err
		}
		if resp.Status != http.StatusOK {
			return &statusError{status: resp.Status, body: string(resp.Body)}
		}
		return nil
	})
	r.Note = fmt.Sprintf("%d-byte stores through 3 hops to the recipient's swarm, XChaCha20 layers", b.cfg.Size)
	return r, nil
}

// randomPath picks n distinct nodes other than exclude.
func (b *bench) randomPath(n int, exclude key.NodePublic) []Node {
	out := make([]Node, 0, n)
	for len(out) < n {
		c := b.nodes[randN(len(b.nodes))]
		if c.Ed25519 == exclude || slices.ContainsFunc(out, func(o Node) bool { return o.Ed25519 == c.Ed25519 }) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func randN(n int) int { return mrand.IntN(n) }
