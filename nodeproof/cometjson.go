package nodeproof

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The JSON of CometBFT v0.38 (its libs/json, as the RPC's /commit and
// /validators answer): 64-bit integers as decimal strings, byte strings
// tagged HexBytes as upper- or lower-case hex, other byte strings (the
// signatures, the public key) as standard base64, times as RFC 3339.

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("nodeproof: malformed")

// int64s is a 64-bit integer in CometBFT's JSON: a quoted decimal.
type int64s int64

func (v *int64s) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("integer %s: not a quoted decimal", b)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("integer %q: %w", s, err)
	}
	*v = int64s(n)
	return nil
}

// uint64s is an unsigned 64-bit integer in CometBFT's JSON.
type uint64s uint64

func (v *uint64s) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("integer %s: not a quoted decimal", b)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("integer %q: %w", s, err)
	}
	*v = uint64s(n)
	return nil
}

// hexBytes is CometBFT's HexBytes.
type hexBytes []byte

func (v *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("hex bytes %s: not a string", b)
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("hex bytes %q: %w", s, err)
	}
	*v = d
	return nil
}

// hash is a HexBytes that must be empty or 32 bytes (CometBFT's
// ValidateHash).
func (v hexBytes) checkHash(name string) error {
	if len(v) != 0 && len(v) != sha256.Size {
		return fmt.Errorf("%s: %d bytes, want 0 or 32", name, len(v))
	}
	return nil
}

type partSetHeaderJSON struct {
	Total uint32   `json:"total"`
	Hash  hexBytes `json:"hash"`
}

type blockIDJSON struct {
	Hash  hexBytes          `json:"hash"`
	Parts partSetHeaderJSON `json:"parts"`
}

func (b *blockIDJSON) isZero() bool {
	return len(b.Hash) == 0 && b.Parts.Total == 0 && len(b.Parts.Hash) == 0
}

type headerJSON struct {
	Version struct {
		Block uint64s `json:"block"`
		App   uint64s `json:"app"`
	} `json:"version"`
	ChainID            string      `json:"chain_id"`
	Height             int64s      `json:"height"`
	Time               time.Time   `json:"time"`
	LastBlockID        blockIDJSON `json:"last_block_id"`
	LastCommitHash     hexBytes    `json:"last_commit_hash"`
	DataHash           hexBytes    `json:"data_hash"`
	ValidatorsHash     hexBytes    `json:"validators_hash"`
	NextValidatorsHash hexBytes    `json:"next_validators_hash"`
	ConsensusHash      hexBytes    `json:"consensus_hash"`
	AppHash            hexBytes    `json:"app_hash"`
	LastResultsHash    hexBytes    `json:"last_results_hash"`
	EvidenceHash       hexBytes    `json:"evidence_hash"`
	ProposerAddress    hexBytes    `json:"proposer_address"`
}

// Block ID flags of a commit signature.
const (
	flagAbsent = 1
	flagCommit = 2
	flagNil    = 3
)

type commitSigJSON struct {
	Flag      uint8     `json:"block_id_flag"`
	Address   hexBytes  `json:"validator_address"`
	Timestamp time.Time `json:"timestamp"`
	Signature []byte    `json:"signature"` // base64
}

type commitJSON struct {
	Height     int64s          `json:"height"`
	Round      int32           `json:"round"`
	BlockID    blockIDJSON     `json:"block_id"`
	Signatures []commitSigJSON `json:"signatures"`
}

type signedHeaderJSON struct {
	Header *headerJSON `json:"header"`
	Commit *commitJSON `json:"commit"`
}

type pubKeyJSON struct {
	Type  string `json:"type"`
	Value []byte `json:"value"` // base64
}

type validatorJSON struct {
	Address          hexBytes   `json:"address"`
	PubKey           pubKeyJSON `json:"pub_key"`
	VotingPower      int64s     `json:"voting_power"`
	ProposerPriority int64s     `json:"proposer_priority"`
}

// ed25519KeyType is the amino name of an Ed25519 public key.
const ed25519KeyType = "tendermint/PubKeyEd25519"

// maxValidators bounds a decoded validator set or commit (CometBFT's
// MaxVotesCount is 10 000).
const maxValidators = 10_000

// decodeStrict decodes one JSON value, refusing unknown fields and
// trailing data.
func decodeStrict(b []byte, dst any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(dst); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	var extra json.RawMessage
	if d.Decode(&extra) == nil {
		return errors.New("trailing data")
	}
	return nil
}

// SignedHeader is a decoded CometBFT signed header: the header and the
// commit that signs it.
type SignedHeader struct {
	h *headerJSON
	c *commitJSON
}

// ParseSignedHeader decodes CometBFT's JSON of a SignedHeader and checks
// its shape (CometBFT's ValidateBasic of the header and the commit, minus
// what needs the validators).
func ParseSignedHeader(b []byte) (*SignedHeader, error) {
	var sh signedHeaderJSON
	if err := decodeStrict(b, &sh); err != nil {
		return nil, fmt.Errorf("%w: signed header: %v", ErrMalformed, err)
	}
	if sh.Header == nil || sh.Commit == nil {
		return nil, fmt.Errorf("%w: signed header without header or commit", ErrMalformed)
	}
	h, c := sh.Header, sh.Commit
	for _, f := range []struct {
		name string
		v    hexBytes
	}{
		{"last_block_id.hash", h.LastBlockID.Hash}, {"last_block_id.parts.hash", h.LastBlockID.Parts.Hash},
		{"last_commit_hash", h.LastCommitHash}, {"data_hash", h.DataHash}, {"validators_hash", h.ValidatorsHash},
		{"next_validators_hash", h.NextValidatorsHash}, {"consensus_hash", h.ConsensusHash},
		{"last_results_hash", h.LastResultsHash}, {"evidence_hash", h.EvidenceHash},
		{"commit.block_id.hash", c.BlockID.Hash}, {"commit.block_id.parts.hash", c.BlockID.Parts.Hash},
	} {
		if err := f.v.checkHash(f.name); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	switch {
	case h.Height <= 0:
		return nil, fmt.Errorf("%w: header height %d", ErrMalformed, h.Height)
	case len(h.ChainID) == 0 || len(h.ChainID) > 50:
		return nil, fmt.Errorf("%w: chain id of %d bytes", ErrMalformed, len(h.ChainID))
	case len(h.ValidatorsHash) == 0:
		return nil, fmt.Errorf("%w: header without validators hash", ErrMalformed)
	case len(h.ProposerAddress) != 20:
		return nil, fmt.Errorf("%w: proposer address of %d bytes", ErrMalformed, len(h.ProposerAddress))
	case c.Height != h.Height:
		return nil, fmt.Errorf("%w: commit height %d for header height %d", ErrMalformed, c.Height, h.Height)
	case c.Round < 0:
		return nil, fmt.Errorf("%w: commit round %d", ErrMalformed, c.Round)
	case len(c.Signatures) == 0 || len(c.Signatures) > maxValidators:
		return nil, fmt.Errorf("%w: commit with %d signatures", ErrMalformed, len(c.Signatures))
	}
	for i, s := range c.Signatures {
		switch s.Flag {
		case flagAbsent:
			if len(s.Address) != 0 || len(s.Signature) != 0 || !s.Timestamp.IsZero() {
				return nil, fmt.Errorf("%w: absent signature %d carries data", ErrMalformed, i)
			}
		case flagCommit, flagNil:
			if len(s.Address) != 20 || len(s.Signature) == 0 || len(s.Signature) > 64 {
				return nil, fmt.Errorf("%w: signature %d: address of %d bytes, signature of %d", ErrMalformed, i, len(s.Address), len(s.Signature))
			}
		default:
			return nil, fmt.Errorf("%w: signature %d: block id flag %d", ErrMalformed, i, s.Flag)
		}
	}
	return &SignedHeader{h: h, c: c}, nil
}

// ChainID returns the header's chain id.
func (sh *SignedHeader) ChainID() string { return sh.h.ChainID }

// Height returns the header's height.
func (sh *SignedHeader) Height() int64 { return int64(sh.h.Height) }

// AppHash returns the header's app hash (the state after the previous
// block).
func (sh *SignedHeader) AppHash() []byte { return sh.h.AppHash }

// ValidatorsHash returns the hash of the validator set that signs this
// block.
func (sh *SignedHeader) ValidatorsHash() []byte { return sh.h.ValidatorsHash }

// Hash returns the header hash as CometBFT computes it.
func (sh *SignedHeader) Hash() []byte { return headerHash(sh.h) }

// Validator is one member of a validator set.
type Validator struct {
	PubKey [32]byte // Ed25519
	Power  int64
}

// Address is the validator's CometBFT address: SHA-256(key)[:20].
func (v *Validator) Address() [20]byte {
	s := sha256.Sum256(v.PubKey[:])
	return [20]byte(s[:20])
}

// ParseValidators decodes CometBFT's JSON of a validator list (the
// "validators" of the RPC's /validators answer, in its order). Every key
// must be Ed25519, every power positive, every address the key's.
func ParseValidators(b []byte) ([]Validator, error) {
	var vs []validatorJSON
	if err := decodeStrict(b, &vs); err != nil {
		return nil, fmt.Errorf("%w: validators: %v", ErrMalformed, err)
	}
	if len(vs) == 0 || len(vs) > maxValidators {
		return nil, fmt.Errorf("%w: %d validators", ErrMalformed, len(vs))
	}
	out := make([]Validator, len(vs))
	var total int64
	for i, v := range vs {
		if v.PubKey.Type != ed25519KeyType || len(v.PubKey.Value) != 32 {
			return nil, fmt.Errorf("%w: validator %d: key type %q of %d bytes, want %s", ErrMalformed, i, v.PubKey.Type, len(v.PubKey.Value), ed25519KeyType)
		}
		// CometBFT's MaxTotalVotingPower keeps sums far from overflow.
		if v.VotingPower <= 0 || int64(v.VotingPower) > maxTotalPower-total {
			return nil, fmt.Errorf("%w: validator %d: voting power %d", ErrMalformed, i, v.VotingPower)
		}
		total += int64(v.VotingPower)
		out[i] = Validator{PubKey: [32]byte(v.PubKey.Value), Power: int64(v.VotingPower)}
		if a := out[i].Address(); !bytes.Equal(v.Address, a[:]) {
			return nil, fmt.Errorf("%w: validator %d: address is not its key's", ErrMalformed, i)
		}
	}
	return out, nil
}

// maxTotalPower is CometBFT's MaxTotalVotingPower (int64 max / 8).
const maxTotalPower = int64(^uint64(0)>>1) / 8
