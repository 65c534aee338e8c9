package client

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"sotto.dev/internal/testnet"
	"sotto.dev/key"
	ledgercli "sotto.dev/ledger/cli"
	"sotto.dev/ledger/state"
	"sotto.dev/storagerpc"
	"sotto.dev/swarm"
)

const testSeeds = `"seed_nodes": [{"url": "https://127.0.0.1:22021", "cert_sha256": "` + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" + `"}]`

func networkFileWith(servers string) []byte {
	return []byte(`{` + testSeeds + `, "file_servers": [` + servers + `]}`)
}

func fsEntry(url, x, ed string) string {
	return `{"url": "` + url + `", "pubkey_x25519": "` + x + `", "pubkey_ed25519": "` + ed + `"}`
}

func TestNetworkFileServers(t *testing.T) {
	x, ed := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	n, err := ParseNetwork(networkFileWith(fsEntry("http://127.0.0.1:22100", x, ed)))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.FileServers) != 1 || n.FileServers[0].URL != "http://127.0.0.1:22100" {
		t.Fatalf("parsed %+v", n.FileServers)
	}
	list, err := newNetwork(Config{}.withDefaults(), n).fileServers(context.Background())
	if err != nil || len(list) != 1 || list[0].X25519.String() != x || list[0].Ed25519.String() != ed {
		t.Fatalf("file servers of the network file: %+v, %v", list, err)
	}
	if n, err := ParseNetwork([]byte(`{` + testSeeds + `}`)); err != nil || n.FileServers != nil {
		t.Fatalf("without file_servers: %v", err)
	}
	for name, servers := range map[string]string{
		"query":           fsEntry("http://127.0.0.1:22100/?a=1", x, ed),
		"user info":       fsEntry("http://me@127.0.0.1:22100", x, ed),
		"fragment":        fsEntry("http://127.0.0.1:22100#x", x, ed),
		"scheme":          fsEntry("ws://127.0.0.1:22100", x, ed),
		"no host":         fsEntry("http://:22100", x, ed),
		"short key":       fsEntry("http://127.0.0.1:22100", x[2:], ed),
		"upper-case key":  fsEntry("http://127.0.0.1:22100", x, strings.ToUpper(ed)),
		"zero key":        fsEntry("http://127.0.0.1:22100", strings.Repeat("0", 64), ed),
		"missing key":     `{"url": "http://127.0.0.1:22100", "pubkey_x25519": "` + x + `"}`,
		"repeated server": fsEntry("http://127.0.0.1:22100", x, ed) + "," + fsEntry("http://127.0.0.1:22101", x, ed),
		"not an object":   `"http://127.0.0.1:22100"`,
	} {
		var ne *NetworkError
		if _, err := ParseNetwork(networkFileWith(servers)); !errors.As(err, &ne) || !strings.Contains(err.Error(), "file") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func testFileServer(name string) FileServer {
	return FileServer{
		URL:     "https://" + name + ".example.org",
		X25519:  key.OnionPublic(sha256.Sum256([]byte("x " + name))),
		Ed25519: key.FileServerPublic(sha256.Sum256([]byte("ed " + name))),
	}
}

func TestIntersectFileServers(t *testing.T) {
	a, b, c := testFileServer("a"), testFileServer("b"), testFileServer("c")
	moved := a
	moved.URL = "https://evil.example.org"
	rekeyed := b
	rekeyed.X25519[0] ^= 1
	for _, tc := range []struct {
		name  string
		lists [][]FileServer
		want  []FileServer
	}{
		{"agree", [][]FileServer{{a, b}, {a, b}, {b, a}}, []FileServer{a, b}},
		{"a liar adds its own", [][]FileServer{{a, b, c}, {a, b}, {a, b}}, []FileServer{a, b}},
		{"a liar moves a server", [][]FileServer{{a, b}, {moved, b}, {a, b}}, []FileServer{b}},
		{"a liar changes a key", [][]FileServer{{a, rekeyed}, {a, b}, {a, b}}, []FileServer{a}},
		{"a liar repeats one", [][]FileServer{{c, c, a}, {a}, {a}}, []FileServer{a}},
		{"a liar lists none", [][]FileServer{{a, b}, {}, {a, b}}, nil},
		{"no lists", nil, nil},
	} {
		got := intersectFileServers(tc.lists)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

func TestPickFileServer(t *testing.T) {
	if _, err := pickFileServer(nil, func(int) int { return 0 }); !errors.Is(err, ErrNoFileServer) {
		t.Fatalf("empty list: %v", err)
	}
	list := []FileServer{testFileServer("a"), testFileServer("b"), testFileServer("c")}
	for i := range list {
		fs, err := pickFileServer(list, func(n int) int {
			if n != len(list) {
				t.Fatalf("drew among %d", n)
			}
			return i
		})
		if err != nil || fs != list[i] {
			t.Fatalf("pick %d: %v, %v", i, fs, err)
		}
	}
	if _, err := (&Client{}).PickFileServer(context.Background()); !errors.Is(err, ErrNoNetwork) {
		t.Fatalf("offline client: %v", err)
	}
}

// TestFileServersFromLedger registers a file server in a CometBFT devnet's
// ledger and finds it as a client does, through onion requests to three
// nodes whose answers are cross-checked.
func TestFileServersFromLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("runs CometBFT")
	}
	nw := testnet.StartT(t, testnet.Options{Nodes: 6, CometBFT: true, Swarm: swarm.AssignParams{MinSize: 3, IdealSize: 5}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	op, err := ledgercli.ReadKey(nw.Node(0).OperatorKey)
	if err != nil {
		t.Fatal(err)
	}
	seed := sha256.Sum256([]byte("client test file server"))
	server := state.KeySigner(ed25519.NewKeyFromSeed(seed[:]))
	x := key.OnionPublic(sha256.Sum256([]byte("client test file server x25519")))
	const url = "http://127.0.0.1:9999/files"
	if _, err := nw.LedgerClient().SubmitFileServer(ctx, op, server, state.TypeFileServerRegister, x, url); err != nil {
		t.Fatal(err)
	}

	file, err := LoadNetwork(nw.NetworkFile())
	if err != nil {
		t.Fatal(err)
	}
	file.FileServers = nil
	n := newNetwork(Config{RequestTimeout: 10 * time.Second}.withDefaults(), file)
	defer n.close()
	list, err := n.fileServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := FileServer{URL: url, X25519: x, Ed25519: key.FileServerPublic(server.PublicKey())}
	if len(list) != 1 || list[0] != want {
		t.Fatalf("file servers %+v, want %+v", list, want)
	}
	fs, err := pickFileServer(list, n.intN)
	if err != nil || fs != want {
		t.Fatalf("picked %+v, %v", fs, err)
	}

	// The network file's own list comes first.
	file.FileServers = []NetworkFileServer{{URL: "http://127.0.0.1:9998", PubkeyX25519: strings.Repeat("12", 32), PubkeyEd25519: strings.Repeat("34", 32)}}
	if err := storagerpc.CheckFileServers(file.FileServers, true); err != nil {
		t.Fatal(err)
	}
	n2 := newNetwork(Config{RequestTimeout: 10 * time.Second}.withDefaults(), file)
	defer n2.close()
	if list, err := n2.fileServers(ctx); err != nil || len(list) != 1 || list[0].URL != "http://127.0.0.1:9998" {
		t.Fatalf("network file servers %+v, %v", list, err)
	}
}
