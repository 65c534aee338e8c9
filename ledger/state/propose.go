package state

import "sotto.dev/key"

// Propose chooses and orders the transactions of block height from the
// mempool's candidates (PrepareProposal): first the node duties (uptime
// proofs, votes) that pass their rules at their place in the block, then
// the user transactions, in mempool order, that would use their nonce
// (pay their fee) at theirs, while the block's bytes stay within
// MaxBlockBytes. Duties go first so that no amount of user traffic can keep
// a healthy node's proofs and its quorum's votes out of the chain. The
// state is not changed.
func (s *State) Propose(height uint64, txs [][]byte) [][]byte {
	c := s.Clone()
	c.height, c.inBlock = height, true
	var duties, users [][]byte
	for _, raw := range txs {
		// The type is the second byte; a malformed candidate is dropped by
		// the checks below either way.
		if len(raw) > 1 && TxType(raw[1]).Duty() {
			duties = append(duties, raw)
		} else {
			users = append(users, raw)
		}
	}
	budget := s.params.MaxBlockBytes
	var out [][]byte
	for _, raw := range duties {
		if int64(len(raw)) > budget || c.checkDuty(raw) != nil {
			continue
		}
		if _, err := c.Deliver(raw); err != nil {
			continue // unreachable: checkDuty ran the same rules
		}
		out = append(out, raw)
		budget -= int64(len(raw))
	}
	smallest := int64(minTxSize + len(s.chainID))
	for _, raw := range users {
		if budget < smallest {
			break
		}
		if int64(len(raw)) > budget {
			continue
		}
		tx, err := DecodeTx(raw)
		if err != nil {
			continue
		}
		before := c.Account(tx.Signer).Nonce
		if _, _ = c.Deliver(raw); c.Account(tx.Signer).Nonce == before {
			continue // it would not pay: leave it out
		}
		out = append(out, raw)
		budget -= int64(len(raw))
	}
	return out
}

// minTxSize is the encoding of the smallest transaction, an empty chain id
// aside: version, type, chain id length, signer, nonce, last valid height,
// a pool deposit's amount and the signature.
const minTxSize = 1 + 1 + 1 + 32 + 8 + 8 + 8 + 64

// checkDuty reports whether raw is a node duty that Deliver would apply
// now, without changing anything. A duty that fails pays nothing, so a
// proposer leaves it out.
func (s *State) checkDuty(raw []byte) error {
	tx, err := s.authenticate(raw)
	if err != nil {
		return err
	}
	if err := s.checkLifetime(tx, s.height); err != nil {
		return err
	}
	if n := s.Account(tx.Signer).Nonce; tx.Nonce != n {
		return reject(CodeBadNonce, "nonce %d, expected %d", tx.Nonce, n)
	}
	switch b := tx.Body.(type) {
	case *UptimeProof:
		_, err = s.checkUptimeProof(key.NodePublic(tx.Signer), b)
	case *Vote:
		_, _, err = s.checkVote(key.NodePublic(tx.Signer), b)
	default:
		err = reject(CodeInvalid, "%v is not a node duty", b.Type())
	}
	return err
}

// BlockFits reports whether txs stay within MaxBlockBytes
// (ProcessProposal's check).
func (s *State) BlockFits(txs [][]byte) bool {
	var n int64
	for _, raw := range txs {
		n += int64(len(raw))
	}
	return n <= s.params.MaxBlockBytes
}
