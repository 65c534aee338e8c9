package ledger

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"

	"sotto.dev/ledger/state"
)

// AppVersion is the ABCI application protocol version.
const AppVersion = 1

// committed is the read-only state published after each Commit. Readers
// (queries, CheckTx, the View) use it without locking.
type committed struct {
	st        *state.State
	height    uint64
	stateHash [32]byte
	appHash   [32]byte
	blockHash []byte
}

// App is the ledger's ABCI application: it feeds CometBFT's blocks to the
// state machine of package state, persists the state at every commit (so
// a restart resumes at the same height and app hash) and answers queries.
//
// CometBFT calls it from its own goroutines, concurrently across its ABCI
// connections (mempool, consensus, query): App serialises block execution
// and publishes an immutable copy of the state after each commit, which
// CheckTx and queries read without locking.
type App struct {
	abci.BaseApplication // snapshots and vote extensions: unused

	log   *slog.Logger
	store *stateFile
	view  *ChainView

	mu        sync.Mutex // guards st and the block in progress
	st        *state.State
	blockHash []byte
	changes   []state.Change
	encoded   []byte // the state encoding after FinalizeBlock, saved at Commit

	cur atomic.Pointer[committed]
	mem atomic.Pointer[mempoolGauge]
}

// mempoolGauge reads the fill of the mempool of the node running the App.
type mempoolGauge struct {
	size     func() int
	bytes    func() int64
	maxTxs   int
	maxBytes int64
}

// dutyReserve is the part of the mempool (1/dutyReserve of its transactions
// and bytes) that CheckTx keeps for node duties: a flood of user
// transactions fills the rest and is refused with CodeBusy, so uptime
// proofs and votes still find room.
const dutyReserve = 4

// setMempool lets CheckTx see the mempool's fill (size and bytes are
// called from CheckTx and must be safe for concurrent use).
func (a *App) setMempool(size func() int, bytes func() int64, maxTxs int, maxBytes int64) {
	a.mem.Store(&mempoolGauge{size: size, bytes: bytes, maxTxs: maxTxs, maxBytes: maxBytes})
}

// mempoolBusy reports whether a new user transaction of n bytes would eat
// into the room kept for duties.
func (a *App) mempoolBusy(n int) bool {
	g := a.mem.Load()
	if g == nil {
		return false
	}
	return g.size() >= g.maxTxs-g.maxTxs/dutyReserve || g.bytes()+int64(n) > g.maxBytes-g.maxBytes/dutyReserve
}

var _ abci.Application = (*App)(nil)

// NewApp returns the application for data directory dir, loading the state
// committed there before, if any. dir "" keeps the state in memory only
// (tests). The view, if not nil, receives a snapshot after every commit.
func NewApp(dir string, view *ChainView, logger *slog.Logger) (*App, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &App{log: logger, view: view}
	if dir != "" {
		a.store = &stateFile{dir: dir}
		st, blockHash, err := a.store.load()
		if err != nil {
			return nil, err
		}
		if st != nil {
			a.st = st
			a.publish(st.Clone(), blockHash, st.StateHash())
			logger.Info("ledger state loaded", "height", st.Height())
		}
	}
	return a, nil
}

// publish makes st, whose state hash is stateHash, the committed state.
func (a *App) publish(st *state.State, blockHash []byte, stateHash [32]byte) {
	c := &committed{st: st, height: st.Height(), stateHash: stateHash,
		appHash: state.AppHash(stateHash, st.NodeListHash()), blockHash: blockHash}
	a.cur.Store(c)
	if a.view != nil {
		a.view.publish(snapshotOf(st, stateHash))
	}
}

// State returns the last committed state; callers must not modify it. It
// is nil before the chain's genesis.
func (a *App) State() *state.State {
	if c := a.cur.Load(); c != nil {
		return c.st
	}
	return nil
}

// Info reports the last committed height and app hash, from which
// CometBFT replays any blocks the application has not seen.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	resp := &abci.ResponseInfo{Data: "sotto-ledger", Version: "1", AppVersion: AppVersion}
	if c := a.cur.Load(); c != nil {
		resp.LastBlockHeight = int64(c.height)
		resp.LastBlockAppHash = c.appHash[:]
	}
	return resp, nil
}

// InitChain builds the genesis state from the genesis file's app_state.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	g, err := state.ParseGenesis(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	if req.InitialHeight < 1 {
		req.InitialHeight = 1
	}
	st, err := state.New(req.ChainId, g, uint64(req.InitialHeight))
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.st = st
	a.mu.Unlock()
	sh := st.StateHash()
	if a.view != nil {
		a.view.publish(snapshotOf(st, sh))
	}
	h := state.AppHash(sh, st.NodeListHash())
	a.log.Info("ledger genesis", "chain_id", req.ChainId, "nodes", len(st.Nodes()), "app_hash", hex.EncodeToString(h[:8]))
	return &abci.ResponseInitChain{AppHash: h[:]}, nil
}

// CheckTx admits a transaction to the mempool if it is well formed, signed,
// for this chain, not expired, its nonce is not used yet and it can pay its
// fee, or, for a node duty, it passes the duty's rules now
// (state.State.Check). A new user transaction is refused (CodeBusy) once
// the mempool is three quarters full: the rest is kept for node duties.
// CometBFT runs it again on every transaction left in the mempool after
// each block.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	c := a.cur.Load()
	if c == nil {
		return &abci.ResponseCheckTx{Code: uint32(state.CodeWrongState), Log: "ledger not initialised"}, nil
	}
	check := c.st.Check
	if req.Type == abci.CheckTxType_Recheck {
		check = c.st.Recheck
	}
	tx, err := check(req.Tx)
	if err != nil {
		return &abci.ResponseCheckTx{Code: uint32(state.CodeOf(err)), Log: err.Error()}, nil
	}
	if req.Type == abci.CheckTxType_New && !tx.Body.Type().Duty() && a.mempoolBusy(len(req.Tx)) {
		return &abci.ResponseCheckTx{Code: uint32(state.CodeBusy), Log: "busy: the mempool's last room is kept for node duties; try again later"}, nil
	}
	return &abci.ResponseCheckTx{Code: abci.CodeTypeOK}, nil
}

// PrepareProposal builds this validator's block from the whole mempool
// (the genesis sets CometBFT's block limit to -1 so that it hands over
// every transaction): node duties first, then user transactions that pay
// their fee, within the ledger's MaxBlockBytes (state.State.Propose).
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	a.mu.Lock()
	st := a.st
	var txs [][]byte
	if st != nil {
		// a.st is the state after the last committed block; Propose
		// works on a copy.
		txs = st.Propose(uint64(req.Height), req.Txs)
	}
	a.mu.Unlock()
	// CometBFT's own limit, with its encoding overhead, is far above
	// MaxBlockBytes; honour it anyway.
	var size int64
	for i, raw := range txs {
		if size += types.ComputeProtoSizeForTxs([]types.Tx{raw}); size > req.MaxTxBytes {
			txs = txs[:i]
			break
		}
	}
	return &abci.ResponsePrepareProposal{Txs: txs}, nil
}

// ProcessProposal accepts a proposal within the ledger's block size limit:
// invalid transactions are rejected one by one, with a code, when the block
// is executed.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	a.mu.Lock()
	fits := a.st == nil || a.st.BlockFits(req.Txs)
	a.mu.Unlock()
	if !fits {
		return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock executes a decided block.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.st == nil {
		return nil, errors.New("ledger: block before genesis")
	}
	if req.Height < 1 {
		return nil, fmt.Errorf("ledger: block height %d", req.Height)
	}
	if err := a.st.Begin(uint64(req.Height), req.Hash); err != nil {
		return nil, err
	}
	results := make([]*abci.ExecTxResult, len(req.Txs))
	for i, raw := range req.Txs {
		tx, err := a.st.Deliver(raw)
		r := &abci.ExecTxResult{Code: uint32(state.CodeOf(err))}
		if err != nil {
			r.Log = err.Error()
		}
		if tx != nil {
			r.Events = []abci.Event{{Type: "ledger_tx", Attributes: []abci.EventAttribute{
				{Key: "type", Value: tx.Body.Type().String(), Index: true},
				{Key: "signer", Value: tx.Signer.String(), Index: true},
			}}}
		}
		results[i] = r
	}
	changes, err := a.st.End()
	if err != nil {
		return nil, err
	}
	a.blockHash = append([]byte(nil), req.Hash...)
	a.changes = changes
	var events []abci.Event
	for _, ch := range changes {
		events = append(events, abci.Event{Type: "ledger_node", Attributes: []abci.EventAttribute{
			{Key: "node", Value: ch.Node.String(), Index: true},
			{Key: "change", Value: ch.Kind.String(), Index: true},
		}})
	}
	a.encoded = a.st.Encode()
	h := state.AppHash(state.HashEncoding(a.encoded), a.st.NodeListHash())
	return &abci.ResponseFinalizeBlock{TxResults: results, Events: events, AppHash: h[:]}, nil
}

// Commit persists the state of the block just executed and publishes it.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.st == nil {
		return nil, errors.New("ledger: commit before genesis")
	}
	if a.encoded == nil {
		a.encoded = a.st.Encode()
	}
	if a.store != nil {
		if err := a.store.save(a.encoded, a.blockHash); err != nil {
			return nil, err
		}
	}
	for _, ch := range a.changes {
		args := []any{"node", ch.Node.String()[:16], "height", a.st.Height()}
		if ch.Kind == state.ChangeSwarm {
			args = append(args, "swarm", ch.Swarm)
		}
		if ch.Reason != 0 {
			args = append(args, "reason", ch.Reason)
		}
		a.log.Info("ledger node "+ch.Kind.String(), args...)
	}
	a.changes = nil
	a.publish(a.st.Clone(), a.blockHash, state.HashEncoding(a.encoded))
	a.encoded = nil
	return &abci.ResponseCommit{}, nil
}

// Query answers read requests against the last committed state; see
// query.go for the paths.
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	c := a.cur.Load()
	if c == nil {
		return &abci.ResponseQuery{Code: uint32(state.CodeWrongState), Log: "ledger not initialised"}, nil
	}
	value, err := answer(c, req.Path, req.Data)
	if err != nil {
		return &abci.ResponseQuery{Code: uint32(state.CodeOf(err)), Log: err.Error(), Height: int64(c.height)}, nil
	}
	return &abci.ResponseQuery{Code: abci.CodeTypeOK, Value: value, Height: int64(c.height)}, nil
}
