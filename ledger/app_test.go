package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"sotto.dev/ledger/state"
)

// newTestApp returns an in-memory App past its first committed block.
func newTestApp(t *testing.T, p state.Params) *App {
	t.Helper()
	a, err := NewApp("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := json.Marshal(testGenesis(p, map[string]uint64{"alice": 100 * state.Coin}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: "sotto-app-test", InitialHeight: 1, AppStateBytes: g}); err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("block 1"))
	if _, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1, Hash: hash[:]}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	return a
}

func transfers(n int) [][]byte {
	var out [][]byte
	for i := range n {
		tx := &state.Tx{ChainID: "sotto-app-test", Nonce: uint64(i), LastValid: 10, Body: &state.Transfer{To: testPub("bob"), Amount: 1}}
		tx.Sign(testPriv("alice"))
		out = append(out, tx.Encode())
	}
	return out
}

// CheckTx keeps the last quarter of the mempool for node duties; rechecks
// of transactions already in it are not refused.
func TestCheckTxKeepsRoomForDuties(t *testing.T) {
	a := newTestApp(t, testParams())
	var fill int
	a.setMempool(func() int { return fill }, func() int64 { return 0 }, 100, 1<<20)
	raw := transfers(1)[0]
	ctx := context.Background()
	for _, tc := range []struct {
		fill int
		typ  abci.CheckTxType
		code state.Code
	}{
		{74, abci.CheckTxType_New, state.CodeOK},
		{75, abci.CheckTxType_New, state.CodeBusy},
		{99, abci.CheckTxType_Recheck, state.CodeOK},
	} {
		fill = tc.fill
		res, err := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw, Type: tc.typ})
		if err != nil || state.Code(res.Code) != tc.code {
			t.Fatalf("fill %d, %v: code %d (%s), want %v", tc.fill, tc.typ, res.Code, res.Log, tc.code)
		}
	}
}

// Proposals stay within MaxBlockBytes and CometBFT's limit; larger ones
// are rejected.
func TestProposalLimits(t *testing.T) {
	p := testParams()
	p.MaxBlockBytes = state.MaxTxSize
	a := newTestApp(t, p)
	ctx := context.Background()
	txs := transfers(state.MaxPendingNonces)
	res, err := a.PrepareProposal(ctx, &abci.RequestPrepareProposal{Height: 2, Txs: txs, MaxTxBytes: 1 << 20})
	if err != nil || len(res.Txs) != len(txs) {
		t.Fatalf("proposal of %d of %d transactions: %v", len(res.Txs), len(txs), err)
	}
	res, err = a.PrepareProposal(ctx, &abci.RequestPrepareProposal{Height: 2, Txs: txs, MaxTxBytes: int64(3*len(txs[0]) + 10)})
	if err != nil || len(res.Txs) != 3 {
		t.Fatalf("CometBFT's limit: %d transactions proposed: %v", len(res.Txs), err)
	}
	for _, tc := range []struct {
		txs  [][]byte
		want abci.ResponseProcessProposal_ProposalStatus
	}{
		{txs, abci.ResponseProcessProposal_ACCEPT},
		{append(txs, make([]byte, state.MaxTxSize)), abci.ResponseProcessProposal_REJECT},
	} {
		pr, err := a.ProcessProposal(ctx, &abci.RequestProcessProposal{Height: 2, Txs: tc.txs})
		if err != nil || pr.Status != tc.want {
			t.Fatalf("ProcessProposal of %d transactions: %v %v, want %v", len(tc.txs), pr.Status, err, tc.want)
		}
	}
}
