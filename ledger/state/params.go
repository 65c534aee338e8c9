package state

import (
	"fmt"
	"time"
)

// Params are every rule of the ledger that a network may choose. They are
// fixed at genesis and part of the state (and of its hash). Durations are
// in blocks; BlockTime converts them to wall time.
//
// MainnetParams gives Session's values (service-node-network.md, cited per
// field); DevnetParams gives small values for a local network.
type Params struct {
	// BlockTime is the target time between blocks (CometBFT's
	// timeout_commit is derived from it). Session: 2 minutes (§1.1).
	BlockTime time.Duration `json:"block_time"`

	// StakingRequirement is the full stake of one node (§1.1 HF21: 25 000).
	StakingRequirement uint64 `json:"staking_requirement"`
	// OperatorMinDivisor: the operator stakes at least
	// StakingRequirement / OperatorMinDivisor (§1.2: 4, i.e. 25 %).
	OperatorMinDivisor uint64 `json:"operator_min_divisor"`
	// MaxContributors counts the operator and reserved spots (§1.2: 10).
	MaxContributors int `json:"max_contributors"`
	// RegistrationExpiry: a registration that is not fully staked after
	// this many blocks is cancelled and refunded (Session's 14-day
	// registration window, §1.4; HF20 removed unfunded nodes, §1.2).
	RegistrationExpiry uint64 `json:"registration_expiry"`
	// UnlockDelay: blocks between an unlock request and the stake's
	// return (§1.4: 15 days).
	UnlockDelay uint64 `json:"unlock_delay"`
	// SmallContributorUnlockDelay: a contributor holding less than a
	// quarter of the stake may not request an unlock for this many blocks
	// after contributing (§1.4: 30 days).
	SmallContributorUnlockDelay uint64 `json:"small_contributor_unlock_delay"`
	// DeregistrationLock: a deregistered node's stake stays locked this
	// long (§1.4: 30 days).
	DeregistrationLock uint64 `json:"deregistration_lock"`
	// DeregistrationPenaltyBps is the part of a deregistered node's total
	// stake, taken from the operator's share, that goes to the reward pool
	// when the lock ends (§6.6: 0.03 % + 0.17 % = 20 basis points).
	DeregistrationPenaltyBps uint64 `json:"deregistration_penalty_bps"`
	// PayableAfter: a node earns rewards only this many blocks after it
	// became active or was recommissioned (§1.4: 720).
	PayableAfter uint64 `json:"payable_after"`

	// ProofInterval is how often a node sends an uptime proof; proofs
	// closer than half of it to the previous one are rejected (§2.1: 1 h).
	ProofInterval uint64 `json:"proof_interval"`
	// ProofValidity: a node whose last proof is older is decommissioned
	// (§2.1: 2 h 5 min).
	ProofValidity uint64 `json:"proof_validity"`
	// MinVersion is the lowest node version accepted in proofs (§2.2).
	MinVersion [3]uint16 `json:"min_version"`
	// AllowPrivateIPs accepts loopback and private addresses (devnets).
	AllowPrivateIPs bool `json:"allow_private_ips"`

	// QuorumInterval: an obligation quorum is drawn every this many
	// blocks (§3.1: every block).
	QuorumInterval uint64 `json:"quorum_interval"`
	// QuorumSize is the number of testing nodes (§3.1: 10).
	QuorumSize int `json:"quorum_size"`
	// QuorumMinVotes of QuorumSize must agree (§3.1: 7). Smaller quorums
	// need the same proportion, rounded up.
	QuorumMinVotes int `json:"quorum_min_votes"`
	// MinWorkers and WorkerDivisor size the tested set:
	// min(remaining, max(MinWorkers, remaining/WorkerDivisor)) (§3.1: 50, 100).
	MinWorkers    int `json:"min_workers"`
	WorkerDivisor int `json:"worker_divisor"`
	// VoteLifetime: votes for a quorum are accepted this many blocks after
	// it was drawn (§3.3: 60).
	VoteLifetime uint64 `json:"vote_lifetime"`

	// Credits, in blocks (§3.3): initial 60, 24 per day of service, at
	// most 1 440; a failing node with less than DecommissionMinimum is
	// deregistered instead of decommissioned.
	CreditInitial       uint64 `json:"credit_initial"`
	CreditPerDay        uint64 `json:"credit_per_day"`
	CreditMax           uint64 `json:"credit_max"`
	DecommissionMinimum uint64 `json:"decommission_minimum"`
	// BlocksPerDay converts CreditPerDay into a per-block rate (720).
	BlocksPerDay uint64 `json:"blocks_per_day"`

	// SwarmMinSize and SwarmIdealSize are the swarm sizes (§4.1: 5, 7).
	SwarmMinSize   int `json:"swarm_min_size"`
	SwarmIdealSize int `json:"swarm_ideal_size"`

	// RewardRatePerMille of the pool is paid out per year, spread evenly
	// over BlocksPerYear blocks (§6.3: 151 ‰, 365 × 720 blocks).
	RewardRatePerMille uint64 `json:"reward_rate_per_mille"`
	BlocksPerYear      uint64 `json:"blocks_per_year"`

	// NameFee is paid to the reward pool per NameTerm blocks of a name
	// registration; a name is held for at most MaxNameTerms terms ahead.
	// Session does not publish its name prices; these are Sotto's.
	NameFee      uint64 `json:"name_fee"`
	NameTerm     uint64 `json:"name_term"`
	MaxNameTerms uint64 `json:"max_name_terms"`
	// MaxNameValue bounds an encrypted name value (a Session ID encrypted
	// with XChaCha20-Poly1305 is 33 + 16 bytes).
	MaxNameValue int `json:"max_name_value"`

	// TxFeeBase + TxFeePerByte × (encoded size) is the fee every user
	// transaction pays into the reward pool, whether its body succeeds or
	// fails: use of the ledger funds the nodes that run it. Node duties
	// (uptime proofs, votes) pay nothing. Session's own transactions pay
	// a per-byte fee to the block producer; Sotto pays it to the pool
	// (docs/ledger.md "Fees").
	TxFeeBase    uint64 `json:"tx_fee_base"`
	TxFeePerByte uint64 `json:"tx_fee_per_byte"`
	// MaxTxLifetime bounds a transaction's last valid height: at most this
	// many blocks after the block that includes it (or, in CheckTx, after
	// the next block), so signed bytes expire within a known time.
	MaxTxLifetime uint64 `json:"max_tx_lifetime"`
	// MaxBlockBytes bounds the transactions of a block (their bytes). The
	// ledger enforces it itself in PrepareProposal and ProcessProposal, so
	// that it can put node duties first: CometBFT's own block limit would
	// hand the application only the oldest transactions of the mempool.
	MaxBlockBytes int64 `json:"max_block_bytes"`
}

// TxFee returns the fee of a transaction of type t whose encoding is size
// bytes: zero for node duties.
func (p *Params) TxFee(t TxType, size int) uint64 {
	if t.Duty() {
		return 0
	}
	// size ≤ MaxTxSize and Validate bounds both terms: no overflow.
	return p.TxFeeBase + p.TxFeePerByte*uint64(size)
}

// MainnetParams returns Session's rules (service-node-network.md).
func MainnetParams() Params {
	const day = 720 // blocks of 2 minutes
	return Params{
		BlockTime:                   2 * time.Minute,
		StakingRequirement:          25_000 * Coin,
		OperatorMinDivisor:          4,
		MaxContributors:             10,
		RegistrationExpiry:          14 * day,
		UnlockDelay:                 15 * day,
		SmallContributorUnlockDelay: 30 * day,
		DeregistrationLock:          30 * day,
		DeregistrationPenaltyBps:    20,
		PayableAfter:                day,
		ProofInterval:               30,
		ProofValidity:               63,
		MinVersion:                  [3]uint16{0, 1, 0},
		QuorumInterval:              1,
		QuorumSize:                  10,
		QuorumMinVotes:              7,
		MinWorkers:                  50,
		WorkerDivisor:               100,
		VoteLifetime:                60,
		CreditInitial:               60,
		CreditPerDay:                24,
		CreditMax:                   1440,
		DecommissionMinimum:         60,
		BlocksPerDay:                day,
		SwarmMinSize:                5,
		SwarmIdealSize:              7,
		RewardRatePerMille:          151,
		BlocksPerYear:               365 * day,
		NameFee:                     10 * Coin,
		NameTerm:                    365 * day,
		MaxNameTerms:                10,
		MaxNameValue:                128,
		// A 180-byte transfer pays 0.01 + 180 × 0.0001 = 0.028 coin; a
		// full 8 KiB transaction about 0.83 coin.
		TxFeeBase:     Coin / 100,
		TxFeePerByte:  Coin / 10_000,
		MaxTxLifetime: day,
		// About 5 000 transfers a block.
		MaxBlockBytes: 1 << 20,
	}
}

// DevnetParams returns small values for a local network with one-second
// blocks: a node costs 100 coins, proofs every 10 blocks, quorums of 3
// every 5 blocks, a day of 60 blocks.
func DevnetParams() Params {
	const day = 60
	return Params{
		BlockTime:                   time.Second,
		StakingRequirement:          100 * Coin,
		OperatorMinDivisor:          4,
		MaxContributors:             10,
		RegistrationExpiry:          day,
		UnlockDelay:                 20,
		SmallContributorUnlockDelay: 10,
		DeregistrationLock:          30,
		DeregistrationPenaltyBps:    20,
		PayableAfter:                0,
		ProofInterval:               10,
		ProofValidity:               25,
		AllowPrivateIPs:             true,
		QuorumInterval:              5,
		QuorumSize:                  3,
		QuorumMinVotes:              2,
		MinWorkers:                  5,
		WorkerDivisor:               100,
		VoteLifetime:                20,
		CreditInitial:               20,
		CreditPerDay:                10,
		CreditMax:                   60,
		DecommissionMinimum:         10,
		BlocksPerDay:                day,
		SwarmMinSize:                5,
		SwarmIdealSize:              7,
		RewardRatePerMille:          151,
		BlocksPerYear:               365 * day,
		NameFee:                     Coin,
		NameTerm:                    365 * day,
		MaxNameTerms:                10,
		MaxNameValue:                128,
		// A transfer pays about 0.0012 coin.
		TxFeeBase:     Coin / 1000,
		TxFeePerByte:  Coin / 1_000_000,
		MaxTxLifetime: 300,
		MaxBlockBytes: 256 << 10,
	}
}

// ParamError names a parameter with an unusable value.
type ParamError struct {
	Field string
	Msg   string
}

func (e *ParamError) Error() string { return fmt.Sprintf("ledger params: %s: %s", e.Field, e.Msg) }

// Validate checks that the rules can work together.
func (p Params) Validate() error {
	bad := func(f, m string) error { return &ParamError{Field: f, Msg: m} }
	switch {
	case p.BlockTime <= 0:
		return bad("block_time", "must be positive")
	case p.StakingRequirement == 0:
		return bad("staking_requirement", "must be positive")
	case p.OperatorMinDivisor == 0:
		return bad("operator_min_divisor", "must be positive")
	case p.MaxContributors < 1 || p.MaxContributors > 64:
		return bad("max_contributors", "must be 1..64")
	case p.RegistrationExpiry == 0:
		return bad("registration_expiry", "must be positive")
	case p.DeregistrationPenaltyBps > FeeBasis:
		return bad("deregistration_penalty_bps", "over 10000")
	case p.ProofInterval < 2:
		return bad("proof_interval", "must be at least 2")
	case p.ProofValidity <= p.ProofInterval:
		return bad("proof_validity", "must exceed proof_interval")
	case p.QuorumInterval == 0:
		return bad("quorum_interval", "must be positive")
	case p.QuorumSize < 1 || p.QuorumSize > 255:
		return bad("quorum_size", "must be 1..255")
	case p.QuorumMinVotes < 1 || p.QuorumMinVotes > p.QuorumSize:
		return bad("quorum_min_votes", "must be 1..quorum_size")
	case p.MinWorkers < 1 || p.MinWorkers > maxWorkers:
		return bad("min_workers", fmt.Sprintf("must be 1..%d", maxWorkers))
	case p.WorkerDivisor < 1:
		return bad("worker_divisor", "must be positive")
	case p.VoteLifetime == 0:
		return bad("vote_lifetime", "must be positive")
	case p.CreditMax < p.CreditInitial || p.CreditMax < p.DecommissionMinimum:
		return bad("credit_max", "must be at least credit_initial and decommission_minimum")
	case p.BlocksPerDay == 0:
		return bad("blocks_per_day", "must be positive")
	case p.SwarmMinSize < 1 || p.SwarmIdealSize < p.SwarmMinSize:
		return bad("swarm_min_size", "need 1 <= swarm_min_size <= swarm_ideal_size")
	case p.RewardRatePerMille > 1000:
		return bad("reward_rate_per_mille", "over 1000")
	case p.BlocksPerYear == 0:
		return bad("blocks_per_year", "must be positive")
	case p.NameTerm == 0:
		return bad("name_term", "must be positive")
	case p.MaxNameTerms == 0 || p.MaxNameTerms > 255:
		return bad("max_name_terms", "must be 1..255")
	case p.MaxNameValue < 1 || p.MaxNameValue > maxNameValue:
		return bad("max_name_value", fmt.Sprintf("must be 1..%d", maxNameValue))
	case p.TxFeeBase == 0:
		return bad("tx_fee_base", "must be positive (a free transaction is free spam)")
	case p.TxFeeBase > maxFee || p.TxFeePerByte > maxFee/MaxTxSize:
		return bad("tx_fee_base", "fee of a transaction overflows")
	case p.MaxTxLifetime == 0:
		return bad("max_tx_lifetime", "must be positive")
	case p.MaxBlockBytes < MaxTxSize || p.MaxBlockBytes > maxBlockBytes:
		return bad("max_block_bytes", fmt.Sprintf("must be %d..%d", MaxTxSize, maxBlockBytes))
	}
	return nil
}

// Limits of the encoding, independent of Params.
const (
	maxWorkers     = 4096 // results in one vote
	maxNameValue   = 1024
	maxChainID     = 64
	maxReserved    = 63
	MaxTxSize      = 8192
	maxVoteResults = maxWorkers
	maxFee         = 1 << 62 // TxFeeBase and TxFeePerByte·MaxTxSize each
)

// maxBlockBytes is the largest MaxBlockBytes: well under CometBFT's hard
// limit of 100 MiB a block.
const maxBlockBytes = 64 << 20

func (p *Params) encode(w *writer) {
	w.i64(int64(p.BlockTime))
	w.u64(p.StakingRequirement)
	w.u64(p.OperatorMinDivisor)
	w.u32(uint32(p.MaxContributors))
	w.u64(p.RegistrationExpiry)
	w.u64(p.UnlockDelay)
	w.u64(p.SmallContributorUnlockDelay)
	w.u64(p.DeregistrationLock)
	w.u64(p.DeregistrationPenaltyBps)
	w.u64(p.PayableAfter)
	w.u64(p.ProofInterval)
	w.u64(p.ProofValidity)
	for _, v := range p.MinVersion {
		w.u16(v)
	}
	w.boolean(p.AllowPrivateIPs)
	w.u64(p.QuorumInterval)
	w.u32(uint32(p.QuorumSize))
	w.u32(uint32(p.QuorumMinVotes))
	w.u32(uint32(p.MinWorkers))
	w.u32(uint32(p.WorkerDivisor))
	w.u64(p.VoteLifetime)
	w.u64(p.CreditInitial)
	w.u64(p.CreditPerDay)
	w.u64(p.CreditMax)
	w.u64(p.DecommissionMinimum)
	w.u64(p.BlocksPerDay)
	w.u32(uint32(p.SwarmMinSize))
	w.u32(uint32(p.SwarmIdealSize))
	w.u64(p.RewardRatePerMille)
	w.u64(p.BlocksPerYear)
	w.u64(p.NameFee)
	w.u64(p.NameTerm)
	w.u64(p.MaxNameTerms)
	w.u32(uint32(p.MaxNameValue))
	w.u64(p.TxFeeBase)
	w.u64(p.TxFeePerByte)
	w.u64(p.MaxTxLifetime)
	w.i64(p.MaxBlockBytes)
}

func (p *Params) decode(r *reader) {
	p.BlockTime = time.Duration(r.i64("params"))
	p.StakingRequirement = r.u64("params")
	p.OperatorMinDivisor = r.u64("params")
	p.MaxContributors = int(r.u32("params"))
	p.RegistrationExpiry = r.u64("params")
	p.UnlockDelay = r.u64("params")
	p.SmallContributorUnlockDelay = r.u64("params")
	p.DeregistrationLock = r.u64("params")
	p.DeregistrationPenaltyBps = r.u64("params")
	p.PayableAfter = r.u64("params")
	p.ProofInterval = r.u64("params")
	p.ProofValidity = r.u64("params")
	for i := range p.MinVersion {
		p.MinVersion[i] = r.u16("params")
	}
	p.AllowPrivateIPs = r.boolean("params")
	p.QuorumInterval = r.u64("params")
	p.QuorumSize = int(r.u32("params"))
	p.QuorumMinVotes = int(r.u32("params"))
	p.MinWorkers = int(r.u32("params"))
	p.WorkerDivisor = int(r.u32("params"))
	p.VoteLifetime = r.u64("params")
	p.CreditInitial = r.u64("params")
	p.CreditPerDay = r.u64("params")
	p.CreditMax = r.u64("params")
	p.DecommissionMinimum = r.u64("params")
	p.BlocksPerDay = r.u64("params")
	p.SwarmMinSize = int(r.u32("params"))
	p.SwarmIdealSize = int(r.u32("params"))
	p.RewardRatePerMille = r.u64("params")
	p.BlocksPerYear = r.u64("params")
	p.NameFee = r.u64("params")
	p.NameTerm = r.u64("params")
	p.MaxNameTerms = r.u64("params")
	p.MaxNameValue = int(r.u32("params"))
	p.TxFeeBase = r.u64("params")
	p.TxFeePerByte = r.u64("params")
	p.MaxTxLifetime = r.u64("params")
	p.MaxBlockBytes = r.i64("params")
	if r.err == nil {
		if err := p.Validate(); err != nil {
			r.fail("params", err.Error())
		}
	}
}
