package nodeproof

import (
	"crypto/sha256"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// CometBFT hashes a header as the RFC 6962 Merkle root of its fields, each
// encoded as a protobuf message (crypto/merkle, types/block.go
// Header.Hash); a validator set as the root over each validator's
// SimpleValidator encoding; and a validator signs a commit vote as the
// length-delimited protobuf CanonicalVote (types/canonical.go). Proto3
// omits zero scalars and empty byte strings; gogoproto's non-nullable
// messages (part set headers, timestamps) are always written.

// merkleRoot is crypto/merkle.HashFromByteSlices.
func merkleRoot(items [][]byte) []byte {
	switch len(items) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		h := sha256.Sum256(append([]byte{0}, items[0]...))
		return h[:]
	}
	k := 1
	for k*2 < len(items) {
		k *= 2
	}
	l, r := merkleRoot(items[:k]), merkleRoot(items[k:])
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// appendMessageField writes a sub-message even when it is empty.
func appendMessageField(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func appendSfixed64Field(b []byte, num protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, uint64(v))
}

// timestamp encodes google.protobuf.Timestamp.
func timestamp(t time.Time) []byte {
	b := appendVarintField(nil, 1, uint64(t.Unix()))
	return appendVarintField(b, 2, uint64(int64(t.Nanosecond())))
}

// partSetHeader encodes PartSetHeader (and CanonicalPartSetHeader, the
// same fields).
func partSetHeader(p *partSetHeaderJSON) []byte {
	b := appendVarintField(nil, 1, uint64(p.Total))
	return appendBytesField(b, 2, p.Hash)
}

// blockID encodes BlockID (and CanonicalBlockID, the same fields).
func blockID(id *blockIDJSON) []byte {
	b := appendBytesField(nil, 1, id.Hash)
	return appendMessageField(b, 2, partSetHeader(&id.Parts))
}

// The gogoproto wrapper types of cdcEncode: StringValue, Int64Value,
// BytesValue, each field 1.
func stringValue(s string) []byte { return appendBytesField(nil, 1, []byte(s)) }
func int64Value(v int64) []byte   { return appendVarintField(nil, 1, uint64(v)) }
func bytesValue(v []byte) []byte  { return appendBytesField(nil, 1, v) }

// headerHash is types.Header.Hash.
func headerHash(h *headerJSON) []byte {
	version := appendVarintField(nil, 1, uint64(h.Version.Block))
	version = appendVarintField(version, 2, uint64(h.Version.App))
	return merkleRoot([][]byte{
		version,
		stringValue(h.ChainID),
		int64Value(int64(h.Height)),
		timestamp(h.Time),
		blockID(&h.LastBlockID),
		bytesValue(h.LastCommitHash),
		bytesValue(h.DataHash),
		bytesValue(h.ValidatorsHash),
		bytesValue(h.NextValidatorsHash),
		bytesValue(h.ConsensusHash),
		bytesValue(h.AppHash),
		bytesValue(h.LastResultsHash),
		bytesValue(h.EvidenceHash),
		bytesValue(h.ProposerAddress),
	})
}

// ValidatorsHash is types.ValidatorSet.Hash of vals in their order: the
// Merkle root of SimpleValidator{PublicKey{ed25519}, voting_power}.
func ValidatorsHash(vals []Validator) []byte {
	items := make([][]byte, len(vals))
	for i := range vals {
		pk := appendBytesField(nil, 1, vals[i].PubKey[:])
		b := appendMessageField(nil, 1, pk)
		items[i] = appendVarintField(b, 2, uint64(vals[i].Power))
	}
	return merkleRoot(items)
}

// precommitType is SignedMsgType PRECOMMIT.
const precommitType = 2

// voteSignBytes is Commit.VoteSignBytes for a signature with the commit
// flag: the length-delimited CanonicalVote of a precommit for the
// commit's block.
func voteSignBytes(chainID string, c *commitJSON, sig *commitSigJSON) []byte {
	b := appendVarintField(nil, 1, precommitType)
	b = appendSfixed64Field(b, 2, int64(c.Height))
	b = appendSfixed64Field(b, 3, int64(c.Round))
	if !c.BlockID.isZero() {
		b = appendMessageField(b, 4, blockID(&c.BlockID))
	}
	b = appendMessageField(b, 5, timestamp(sig.Timestamp))
	b = appendBytesField(b, 6, []byte(chainID))
	return protowire.AppendBytes(nil, b)
}
