package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cstypes "github.com/cometbft/cometbft/consensus/types"

	"sotto.dev/internal/linkem"
	"sotto.dev/key"
	"sotto.dev/ledger/state"
)

// splitWindow is how long the split network is watched for a commit:
// twenty block times.
const splitWindow = 20 * 300 * time.Millisecond

// TestValidatorPartition runs four validator processes whose p2p
// connections all pass through link-emulating proxies (linkem.Proxy, one
// per direction of each pair; peer exchange off, so no validator learns a
// direct address) and splits them 2–2. Neither side holds more than two
// thirds of the power: for the whole window no validator commits a block,
// each stands in its round at the next height, and a registration sent to
// validator 0 reaches validator 1's mempool but not the other side's. After
// the heal blocks resume, the registration is committed once (it stays in
// side A's mempools, and it cannot expire: its last valid height is 60
// blocks past a chain that stood still; a replay of it is refused), and
// all four report the same block hash and app hash at every height.
func TestValidatorPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	if os.Getenv(childHomeEnv) != "" {
		t.Skip("child process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	seed := uint64(time.Now().UnixNano())
	t.Logf("link seed %d", seed)
	link := linkem.New(seed, linkem.Profile{Delay: 2 * time.Millisecond, Jitter: time.Millisecond})
	name := func(i int) string { return fmt.Sprintf("v%d", i) }
	pctx, pstop := context.WithCancel(context.Background())
	var proxies sync.WaitGroup
	t.Cleanup(func() { pstop(); proxies.Wait() }) // after the validators stop
	via := func(i, j int, addr string) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := link.NewProxy(ln, linkem.ProxyConfig{Name: name(j), From: name(i), Target: addr})
		proxies.Go(func() {
			if err := p.Serve(pctx); err != nil {
				t.Errorf("proxy %s→%s: %v", name(i), name(j), err)
			}
		})
		return p.Addr().String()
	}
	procs := startValidatorsVia(t, 4, via)
	fail := func(format string, args ...any) {
		t.Helper()
		for i, pr := range procs {
			t.Logf("--- validator %d log tail ---\n%s", i, pr.logTail())
		}
		t.Fatalf(format, args...)
	}
	poll := func(what string, done func() (bool, error)) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 90*time.Second)
		defer wcancel()
		for {
			ok, err := done()
			if ok {
				return
			}
			select {
			case <-wctx.Done():
				fail("%s: %v (last error: %v)", what, wctx.Err(), err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	heights := func() []uint64 {
		t.Helper()
		out := make([]uint64, len(procs))
		for i, pr := range procs {
			h, err := pr.client.Height(ctx)
			if err != nil {
				fail("height of v%d: %v", i, err)
			}
			out[i] = h
		}
		return out
	}

	// Every validator peered with the three others, through the proxies.
	for i, pr := range procs {
		poll(fmt.Sprintf("v%d peered with three", i), func() (bool, error) {
			rpc, err := pr.client.get(ctx)
			if err != nil {
				return false, err
			}
			ni, err := rpc.NetInfo(ctx)
			if err != nil {
				return false, err
			}
			h, err := pr.client.Height(ctx)
			return err == nil && ni.NPeers == 3 && h >= 3, err
		})
	}
	t.Logf("connections opened before the split: %v", link.Opened())

	// Split 2–2 and wait until every validator stands in a round of the
	// height after its last commit (any commit under way when the split
	// came has then finished).
	link.Partition([]string{"v0", "v1"}, []string{"v2", "v3"})
	var split []uint64
	poll("validators in a round after the split", func() (bool, error) {
		split = heights()
		for i, pr := range procs {
			h, _, step, err := roundState(ctx, pr.client)
			if err != nil || h != split[i]+1 || step < cstypes.RoundStepPrevote {
				return false, err
			}
		}
		return true, nil
	})
	t.Logf("split at heights %v", split)

	// A registration sent to validator 0 during the split.
	c0 := procs[0].client
	r := Registration{Operator: state.KeySigner(testPriv("op")), NodeKey: state.KeySigner(testPriv("split")),
		X25519: key.OnionPublic(sha256.Sum256([]byte("split"))), IP: state.IPv4{127, 0, 2, 9}, Port: 20000}
	op := state.Address(r.Operator.PublicKey())
	before, err := c0.Account(ctx, op)
	if err != nil {
		fail("account: %v", err)
	}
	raw, err := registrationTx(ctx, c0, r)
	if err != nil {
		fail("registration: %v", err)
	}
	txHash := sha256.Sum256(raw)
	type outcome struct {
		res *Result
		err error
	}
	sent := make(chan outcome, 1)
	go func() {
		res, err := c0.Broadcast(ctx, raw)
		sent <- outcome{res, err}
	}()
	poll("registration in v1's mempool", func() (bool, error) {
		return inMempool(ctx, procs[1].client, raw)
	})

	// The window: no validator commits, and the registration does not
	// cross the split.
	deadline := time.After(splitWindow)
	for watching := true; watching; {
		select {
		case <-deadline:
			watching = false
		case <-time.After(100 * time.Millisecond):
		}
		if now := heights(); !slices.Equal(now, split) {
			fail("a validator committed during the split: heights %v, at the split %v", now, split)
		}
	}
	for i, pr := range procs {
		h, round, step, err := roundState(ctx, pr.client)
		t.Logf("v%d after the window: height %d round %d step %v (%v)", i, h, round, step, err)
	}
	for _, i := range []int{2, 3} {
		if ok, err := inMempool(ctx, procs[i].client, raw); ok || err != nil {
			fail("registration in v%d's mempool across the split (%v)", i, err)
		}
	}
	select {
	case o := <-sent:
		fail("registration finished during the split: %+v, %v", o.res, o.err)
	default:
	}

	// Heal: blocks resume and the registration is committed once.
	link.Heal()
	top := slices.Max(split)
	for i, pr := range procs {
		poll(fmt.Sprintf("v%d past height %d", i, top+5), func() (bool, error) {
			h, err := pr.client.Height(ctx)
			return err == nil && h >= top+5, err
		})
	}
	o := <-sent
	if o.err != nil {
		fail("registration sent during the split: %v", o.err)
	}
	if o.res.Height <= top {
		fail("registration committed at height %d, not after the split at %d", o.res.Height, top)
	}
	t.Logf("registration sent during the split committed at height %d", o.res.Height)
	for i, pr := range procs {
		rpc, err := pr.client.get(ctx)
		if err != nil {
			fail("v%d: %v", i, err)
		}
		tr, err := rpc.Tx(ctx, txHash[:], false)
		if err != nil || uint64(tr.Height) != o.res.Height || tr.TxResult.Code != 0 {
			fail("v%d: registration %v, want committed at height %d: %v", i, tr, o.res.Height, err)
		}
	}
	for i, pr := range procs {
		ni, err := pr.client.Node(ctx, key.NodePublic(r.NodeKey.PublicKey()))
		if err != nil || ni.State != state.StatusActive.String() {
			fail("v%d does not list the node registered during the split: %+v, %v", i, ni, err)
		}
	}
	if _, err := procs[2].client.Broadcast(ctx, raw); err == nil {
		fail("a replay of the registration was accepted")
	} else {
		t.Logf("replay refused: %v", err)
	}
	h, err := c0.Height(ctx)
	if err != nil {
		fail("height: %v", err)
	}
	poll("two more blocks", func() (bool, error) {
		now, err := c0.Height(ctx)
		return err == nil && now >= h+2, err
	})
	after, err := c0.Account(ctx, op)
	if err != nil {
		fail("account: %v", err)
	}
	if after.Nonce != before.Nonce+1 {
		fail("operator nonce %d after the heal, %d before the split: want one transaction", after.Nonce, before.Nonce)
	}

	// No fork: the same block and app hash at every height on all four.
	last := slices.Min(heights())
	ref, err := blockHashes(ctx, procs[0].client, last)
	if err != nil {
		fail("v0 blocks: %v", err)
	}
	for i, pr := range procs[1:] {
		got, err := blockHashes(ctx, pr.client, last)
		if err != nil {
			fail("v%d blocks: %v", i+1, err)
		}
		for hgt := range ref {
			if got[hgt] != ref[hgt] {
				fail("v%d at height %d: block %s, v0 %s", i+1, hgt+1, got[hgt], ref[hgt])
			}
		}
	}
	t.Logf("all four agree on heights 1 to %d; connections opened: %v", last, link.Opened())
}

// registrationTx is the signed transaction Register would send.
func registrationTx(ctx context.Context, c *Client, r Registration) ([]byte, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	op := state.Address(r.Operator.PublicKey())
	body := &state.Register{Node: key.NodePublic(r.NodeKey.PublicKey()), X25519: r.X25519, IP: r.IP, Port: r.Port,
		Stake: st.Params.StakingRequirement, NodeSig: state.SignRegistrationWith(r.NodeKey, st.ChainID, op, r.X25519)}
	tx, _, err := c.Prepare(ctx, op, body)
	if err != nil {
		return nil, err
	}
	tx.SignWith(r.Operator)
	return tx.Encode(), nil
}

// roundState is the height, round and step of a validator's consensus.
func roundState(ctx context.Context, c *Client) (h uint64, round int, step cstypes.RoundStepType, err error) {
	rpc, err := c.get(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	cs, err := rpc.ConsensusState(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	var rs cstypes.RoundStateSimple
	if err := json.Unmarshal(cs.RoundState, &rs); err != nil {
		return 0, 0, 0, err
	}
	parts := strings.Split(rs.HeightRoundStep, "/")
	if len(parts) != 3 {
		return 0, 0, 0, fmt.Errorf("round state %q", rs.HeightRoundStep)
	}
	h, err1 := strconv.ParseUint(parts[0], 10, 64)
	round, err2 := strconv.Atoi(parts[1])
	s, err3 := strconv.ParseUint(parts[2], 10, 8)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, fmt.Errorf("round state %q", rs.HeightRoundStep)
	}
	return h, round, cstypes.RoundStepType(s), nil
}

// inMempool reports whether the validator's mempool holds tx.
func inMempool(ctx context.Context, c *Client, tx []byte) (bool, error) {
	rpc, err := c.get(ctx)
	if err != nil {
		return false, err
	}
	limit := 100
	res, err := rpc.UnconfirmedTxs(ctx, &limit)
	if err != nil {
		return false, err
	}
	for _, m := range res.Txs {
		if bytes.Equal(m, tx) {
			return true, nil
		}
	}
	return false, nil
}

// blockHashes are the block hash and app hash of heights 1 to last, as
// one string per height.
func blockHashes(ctx context.Context, c *Client, last uint64) ([]string, error) {
	rpc, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, last)
	for lo := int64(1); lo <= int64(last); lo += 20 {
		hi := min(lo+19, int64(last))
		res, err := rpc.BlockchainInfo(ctx, lo, hi)
		if err != nil {
			return nil, err
		}
		// Newest first.
		for k := len(res.BlockMetas) - 1; k >= 0; k-- {
			m := res.BlockMetas[k]
			out = append(out, fmt.Sprintf("%s app %s", m.BlockID.Hash, hex.EncodeToString(m.Header.AppHash)))
		}
		if int64(len(out)) != hi {
			return nil, fmt.Errorf("blocks %d to %d: got %d", lo, hi, len(res.BlockMetas))
		}
	}
	return out, nil
}
