package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"sotto.dev/key"
	"sotto.dev/ledger/state"
)

// Registration describes a node an operator registers.
type Registration struct {
	// Operator signs the registration and stakes Stake.
	Operator state.Signer
	// NodeKey is the node's identity key; it signs its consent.
	NodeKey state.Signer
	X25519  key.OnionPublic
	IP      state.IPv4
	Port    uint16
	FeeBps  uint16
	// Stake is the operator's stake; 0 means the full requirement.
	Stake    uint64
	Reserved []state.Reservation
}

// Register submits a node registration.
func (c *Client) Register(ctx context.Context, r Registration) (*Result, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	stake := r.Stake
	if stake == 0 {
		stake = st.Params.StakingRequirement
	}
	op := state.Address(r.Operator.PublicKey())
	b := &state.Register{
		Node:     key.NodePublic(r.NodeKey.PublicKey()),
		X25519:   r.X25519,
		IP:       r.IP,
		Port:     r.Port,
		FeeBps:   r.FeeBps,
		Stake:    stake,
		Reserved: r.Reserved,
		NodeSig:  state.SignRegistrationWith(r.NodeKey, st.ChainID, op, r.X25519),
	}
	return c.SubmitWith(ctx, r.Operator, b)
}

// EnsureRegistered registers the node with the full stake unless the
// ledger already holds a live registration for it (what a devnet node does
// at start). It returns whether a registration was submitted.
func (c *Client) EnsureRegistered(ctx context.Context, r Registration) (bool, error) {
	k := key.NodePublic(r.NodeKey.PublicKey())
	n, err := c.Node(ctx, k)
	switch {
	case err == nil && n.State != state.StatusDeregistered.String():
		return false, nil
	case err == nil:
		return false, fmt.Errorf("ledger: node %s is deregistered; its stake returns at height %d", k, n.StakeReturnHeight)
	case !errors.Is(err, ErrNotFound):
		return false, err
	}
	_, err = c.Register(ctx, r)
	return err == nil, err
}

// UptimeConfig configures an Uptime sender.
type UptimeConfig struct {
	NodeKey state.Signer
	Client  *Client
	IP      state.IPv4
	Port    uint16
	Version [3]uint16
	Caps    uint32 // capability bits the proofs announce
	Logger  *slog.Logger
	// Poll is how often the ledger is checked (default 1 s).
	Poll time.Duration
}

// Uptime sends the node's uptime proofs: one as soon as the node is
// registered (or its address changed), then every ProofInterval blocks.
type Uptime struct {
	c   UptimeConfig
	key key.NodePublic
}

// NewUptime returns an uptime sender; run it with Serve.
func NewUptime(c UptimeConfig) *Uptime {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	return &Uptime{c: c, key: key.NodePublic(c.NodeKey.PublicKey())}
}

// Serve sends proofs until ctx ends.
func (u *Uptime) Serve(ctx context.Context) error {
	t := time.NewTicker(u.c.Poll)
	defer t.Stop()
	var lastErr string
	for {
		sent, err := u.Tick(ctx)
		switch {
		case err != nil && ctx.Err() == nil && err.Error() != lastErr:
			u.c.Logger.Warn("uptime proof failed", "err", err)
			lastErr = err.Error()
		case sent:
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick sends a proof if one is due and reports whether it did.
func (u *Uptime) Tick(ctx context.Context) (bool, error) {
	st, err := u.c.Client.Status(ctx)
	if err != nil {
		return false, err
	}
	n, err := u.c.Client.Node(ctx, u.key)
	if errors.Is(err, ErrNotFound) {
		return false, nil // not registered (yet)
	}
	if err != nil {
		return false, err
	}
	if n.State == state.StatusAwaiting.String() || n.State == state.StatusDeregistered.String() {
		return false, nil
	}
	p := st.Params
	moved := n.PublicIP != u.c.IP.String() || n.StoragePort != u.c.Port || n.Version != u.c.Version || n.Caps != u.c.Caps
	due := n.LastProofHeight == 0 || st.Height+1 >= n.LastProofHeight+p.ProofInterval
	allowed := n.LastProofHeight == 0 || st.Height+1 >= n.LastProofHeight+p.ProofInterval/2
	if !(due || (moved && allowed)) {
		return false, nil
	}
	_, err = u.c.Client.SubmitWith(ctx, u.c.NodeKey, &state.UptimeProof{IP: u.c.IP, Port: u.c.Port, Version: u.c.Version, Caps: u.c.Caps})
	var te *state.TxError
	if errors.As(err, &te) && te.Code == state.CodeTooSoon {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}
