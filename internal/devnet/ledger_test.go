package devnet

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sotto.dev/internal/testnet"
	"sotto.dev/ledger"
	"sotto.dev/storagerpc"
	"sotto.dev/swarm"
)

// listed is a node as get_n_service_nodes reports it.
type listed struct {
	Ed25519 string `json:"pubkey_ed25519"`
	IP      string `json:"public_ip"`
	Port    uint16 `json:"storage_port"`
	Swarm   uint64 `json:"swarm_id"`
}

func (l listed) url() string {
	return "https://" + net.JoinHostPort(l.IP, strconv.Itoa(int(l.Port)))
}

// checkServedSwarms checks a CometBFT devnet in dir against its ledger:
// get_n_service_nodes (asked of every node) lists every node with the
// swarm id the ledger holds, and every node serves exactly the accounts
// of that swarm: a store for an account of its swarm succeeds, one for an
// account of another swarm gets 421 naming the right swarm.
func checkServedSwarms(t *testing.T, dir string, nodes int) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // node certificates are self-signed, as for Session clients
	}}
	defer hc.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	inLedger := ledgerSwarms(t, ctx, dir, nodes)
	list := checkListedSwarms(t, ctx, hc, dir, nodes, inLedger)
	checkStoresBySwarm(t, ctx, hc, list, accountPerSwarm(t, list))
}

// ledgerSwarms returns the swarm of every active node in the ledger of the
// devnet in dir, after checking that the ledger lists nodes active ones.
func ledgerSwarms(t *testing.T, ctx context.Context, dir string, nodes int) map[string]uint64 {
	t.Helper()
	rpc, err := os.ReadFile(filepath.Join(dir, testnet.LedgerRPCFile))
	if err != nil {
		t.Fatal(err)
	}
	lc, err := ledger.Dial(strings.TrimSpace(string(rpc)))
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	infos, err := lc.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inLedger := map[string]uint64{}
	for _, ni := range infos {
		if ni.Active {
			inLedger[ni.Ed25519] = ni.SwarmID
		}
	}
	if len(inLedger) != nodes {
		t.Fatalf("ledger lists %d active nodes, want %d", len(inLedger), nodes)
	}
	return inLedger
}

// checkListedSwarms asks every seed node of the devnet in dir for
// get_n_service_nodes and checks that it lists every node in the swarm
// inLedger holds; it returns the last seed's list.
func checkListedSwarms(t *testing.T, ctx context.Context, hc *http.Client, dir string, nodes int, inLedger map[string]uint64) []listed {
	t.Helper()
	var list []listed
	for _, seed := range readSeeds(t, filepath.Join(dir, "network.json")).SeedNodes {
		st, body, err := testnet.Post(ctx, hc, seed+"/json_rpc",
			[]byte(`{"jsonrpc":"2.0","id":1,"method":"get_n_service_nodes","params":{"active_only":true,"fields":{"pubkey_ed25519":true,"public_ip":true,"storage_port":true,"swarm_id":true}}}`))
		if err != nil || st != http.StatusOK {
			t.Fatalf("%s get_n_service_nodes: %d %s %v", seed, st, body, err)
		}
		var resp struct {
			Result struct {
				States []listed `json:"service_node_states"`
			} `json:"result"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		got := resp.Result.States
		if len(got) != nodes {
			t.Fatalf("%s lists %d nodes", seed, len(got))
		}
		for _, n := range got {
			if id, ok := inLedger[n.Ed25519]; !ok || id != n.Swarm {
				t.Fatalf("%s lists %s in swarm %x; the ledger has %x (%v)", seed, n.Ed25519, n.Swarm, id, ok)
			}
		}
		list = got
	}
	return list
}

// accountPerSwarm returns a new account for each swarm of the listed
// nodes, after checking that there are at least two swarms.
func accountPerSwarm(t *testing.T, list []listed) map[uint64]*testnet.Account {
	t.Helper()
	var ids []uint64
	for _, n := range list {
		if !slices.Contains(ids, n.Swarm) {
			ids = append(ids, n.Swarm)
		}
	}
	slices.Sort(ids)
	if len(ids) < 2 {
		t.Fatalf("one swarm only (%x): no 421 to see", ids)
	}
	accounts := map[uint64]*testnet.Account{}
	for len(accounts) < len(ids) {
		a, err := testnet.NewAccount()
		if err != nil {
			t.Fatal(err)
		}
		id, _ := swarm.SelectKey(ids, a.Key())
		accounts[id] = a
	}
	return accounts
}

// checkStoresBySwarm stores for every account of accounts (by swarm) on
// every listed node: a node takes the accounts of its swarm and answers
// the others with 421 naming their swarm.
func checkStoresBySwarm(t *testing.T, ctx context.Context, hc *http.Client, list []listed, accounts map[uint64]*testnet.Account) {
	t.Helper()
	for _, n := range list {
		for id, a := range accounts {
			body, err := a.StoreRequest(fmt.Appendf(nil, "to %s", n.Ed25519[:8]), time.Hour, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			st, resp, err := testnet.Post(ctx, hc, n.url()+"/storage_rpc/v1", body)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case id == n.Swarm && st != http.StatusOK:
				t.Fatalf("node %s of swarm %x refused an account of its swarm: %d %s", n.Ed25519, n.Swarm, st, resp)
			case id != n.Swarm:
				var sw storagerpc.GetSwarmResponse
				if st != http.StatusMisdirectedRequest || json.Unmarshal(resp, &sw) != nil {
					t.Fatalf("node %s of swarm %x, account of swarm %x: %d %s", n.Ed25519, n.Swarm, id, st, resp)
				}
				if got, err := sw.SwarmID(); err != nil || got != id {
					t.Fatalf("421 names swarm %x (%v), want %x", got, err, id)
				}
			}
		}
	}
}
