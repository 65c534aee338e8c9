package snode

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"sotto.dev/ledger"
	"sotto.dev/storagerpc"
)

func TestCommunitiesEndpoint(t *testing.T) {
	dir := t.TempDir()
	keys, _, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	view := staticView(t, &ledger.Snapshot{Height: 12, Nodes: []ledger.Node{{Ed25519: keys.Ed25519Public(), X25519: keys.X25519Public(),
		PublicIP: "127.0.0.1", StoragePort: 1, SwarmID: swarmA, State: ledger.StateActive}}})
	listed := &storagerpc.CommunityList{Height: 40, Communities: []storagerpc.Community{{
		URL: "https://chat.example.org", Pubkey: strings.Repeat("ab", 32), PubkeyEd25519: strings.Repeat("cd", 32), Rooms: []string{"lobby"}}}}
	var fail error
	list := func(context.Context) (*storagerpc.CommunityList, error) { return listed, fail }

	oxend := func(n *Node) (int, *storagerpc.CommunityList) {
		t.Helper()
		body, _ := storagerpc.EncodeRequest(&storagerpc.OxendRequestParams{Endpoint: storagerpc.OxendCommunities})
		st, out := n.HandleRPC(context.Background(), body)
		if st != 200 {
			return st, nil
		}
		var resp storagerpc.OxendResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		l, err := storagerpc.ParseCommunityList(resp.Result, false)
		if err != nil {
			t.Fatalf("answer %s: %v", resp.Result, err)
		}
		return st, l
	}
	jsonRPC := func(n *Node) string {
		t.Helper()
		rec := httptest.NewRecorder()
		n.handleJSONRPC(rec, httptest.NewRequest("POST", "/json_rpc", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"sotto_communities"}`)))
		return rec.Body.String()
	}

	n, err := New(quietConfig(dir), Deps{View: view, Communities: list})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if st, l := oxend(n); st != 200 || l.Height != 40 || len(l.Communities) != 1 || l.Communities[0].URL != listed.Communities[0].URL ||
		!slices.Equal(l.Communities[0].Rooms, []string{"lobby"}) {
		t.Fatalf("oxend_request: %d %+v", st, l)
	}
	if out := jsonRPC(n); !strings.Contains(out, `"result":{"height":40,"communities":[{"url":"https://chat.example.org"`) {
		t.Fatalf("json_rpc: %s", out)
	}
	fail = errors.New("ledger down")
	if st, _ := oxend(n); st != 502 {
		t.Fatalf("failing ledger: %d", st)
	}
	if out := jsonRPC(n); !strings.Contains(out, `"error":{"code":-32000`) {
		t.Fatalf("json_rpc with a failing ledger: %s", out)
	}
	n.Close()

	n2, err := New(quietConfig(dir), Deps{View: view})
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if st, l := oxend(n2); st != 200 || l.Height != 12 || len(l.Communities) != 0 {
		t.Fatalf("without a ledger: %d %+v", st, l)
	}
}
