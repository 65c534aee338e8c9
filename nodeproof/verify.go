package nodeproof

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
)

// Trust is what a client trusts without proof: the chain id and the
// validator set of its network file.
type Trust struct {
	ChainID    string
	Validators []Validator
}

// ErrRefused is wrapped by every verification failure that is not a
// decoding error: the proof is well formed but does not prove the list.
var ErrRefused = errors.New("nodeproof: refused")

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRefused}, args...)...)
}

// VerifyHeader checks that sh is a block of trust's chain signed by vals,
// and that vals are trusted: more than 2/3 of vals' voting power signed
// sh's commit (vals must hash to the header's validators hash), and, when
// vals are not exactly the trusted set, more than 1/3 of the trusted
// set's power signed it too (CometBFT light's non-adjacent rule, without
// its trusting period).
func VerifyHeader(trust *Trust, sh *SignedHeader, vals []Validator) error {
	if sh.h.ChainID != trust.ChainID {
		return refused("header of chain %q, want %q", sh.h.ChainID, trust.ChainID)
	}
	if !bytes.Equal(ValidatorsHash(vals), sh.h.ValidatorsHash) {
		return refused("the validator set does not hash to the header's validators hash")
	}
	hash := headerHash(sh.h)
	if !bytes.Equal(sh.c.BlockID.Hash, hash) {
		return refused("the commit is for block %X, not this header (%X)", sh.c.BlockID.Hash, hash)
	}
	if len(vals) != len(sh.c.Signatures) {
		return refused("commit has %d signatures for %d validators", len(sh.c.Signatures), len(vals))
	}
	// Every validator of vals by index (VerifyCommitLight).
	if err := tally(trust.ChainID, sh.c, vals, true, 2, 3); err != nil {
		return err
	}
	if sameSet(vals, trust.Validators) {
		return nil
	}
	// The trusted validators by address (VerifyCommitLightTrusting, 1/3).
	if err := tally(trust.ChainID, sh.c, trust.Validators, false, 1, 3); err != nil {
		return fmt.Errorf("the validator set changed and %w", err)
	}
	return nil
}

// tally verifies the commit's signatures for the block and returns nil
// once they hold more than num/den of vals' power. byIndex pairs
// signature i with vals[i]; otherwise signatures are matched to vals by
// address and others are skipped.
func tally(chainID string, c *commitJSON, vals []Validator, byIndex bool, num, den int64) error {
	var total int64
	for i := range vals {
		total += vals[i].Power
	}
	needed := total * num / den
	var byAddr map[[20]byte]int
	if !byIndex {
		byAddr = make(map[[20]byte]int, len(vals))
		for i := range vals {
			byAddr[vals[i].Address()] = i
		}
	}
	seen := make(map[int]bool)
	var got int64
	for i := range c.Signatures {
		s := &c.Signatures[i]
		if s.Flag != flagCommit {
			continue
		}
		var v *Validator
		if byIndex {
			v = &vals[i]
			if a := v.Address(); !bytes.Equal(s.Address, a[:]) {
				return refused("signature %d is from %X, not validator %d (%X)", i, []byte(s.Address), i, a[:])
			}
		} else {
			j, ok := byAddr[[20]byte(s.Address)]
			if !ok {
				continue
			}
			if seen[j] {
				return refused("validator %X signed twice", []byte(s.Address))
			}
			seen[j] = true
			v = &vals[j]
		}
		if !ed25519.Verify(v.PubKey[:], voteSignBytes(chainID, c, s), s.Signature) {
			return refused("wrong signature %d (validator %X)", i, []byte(s.Address))
		}
		got += v.Power
		if got > needed {
			return nil
		}
	}
	return refused("signatures hold %d of %d voting power, need more than %d", got, total, needed)
}

// sameSet reports whether a and b hold the same keys with the same powers.
func sameSet(a, b []Validator) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[[32]byte]int64, len(a))
	for _, v := range a {
		m[v.PubKey] = v.Power
	}
	for _, v := range b {
		if p, ok := m[v.PubKey]; !ok || p != v.Power {
			return false
		}
		delete(m, v.PubKey)
	}
	return len(m) == 0
}
