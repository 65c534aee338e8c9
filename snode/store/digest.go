package store

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"sync"
)

// DigestSize is the length of a digest element and of XOR digests.
const DigestSize = 16

// Digest is an XOR of digest elements.
type Digest [DigestSize]byte

// Kind separates message rows from revocation rows in digests.
type Kind uint8

// Digest kinds.
const (
	KindMessages    Kind = 0
	KindRevocations Kind = 1
)

// DigestKey names one reconciliation unit: the messages of an account in
// one namespace, or the revocations of an account (Namespace 0).
type DigestKey struct {
	Account   Account
	Kind      Kind
	Namespace int16
}

// KeyDigest is the digest of one key and the number of rows it covers.
type KeyDigest struct {
	Key    DigestKey
	Digest Digest
	Count  int
}

// Buckets is the number of digest buckets.
const Buckets = 256

// BucketOf returns the digest bucket of an account.
func BucketOf(a Account) uint8 {
	h := sha256.New()
	h.Write([]byte(labelBucket))
	h.Write(a[:])
	var sum [32]byte
	return h.Sum(sum[:0])[0]
}

func messageElem(hash string, mtime, expiry int64, deleted bool) Digest {
	var buf [len(labelMessageElem) + 64 + 17]byte
	b := append(buf[:0], labelMessageElem...)
	b = append(b, hash...)
	b = binary.BigEndian.AppendUint64(b, uint64(mtime))
	b = binary.BigEndian.AppendUint64(b, uint64(expiry))
	if deleted {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	sum := sha256.Sum256(b)
	return Digest(sum[:DigestSize])
}

func revocationElem(token [TokenSize]byte, revoked bool, mtime int64) Digest {
	var buf [len(labelRevocationElem) + TokenSize + 9]byte
	b := append(buf[:0], labelRevocationElem...)
	b = append(b, token[:]...)
	if revoked {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(mtime))
	sum := sha256.Sum256(b)
	return Digest(sum[:DigestSize])
}

// change moves one element in (delta 1) or out (delta -1) of a key's digest.
type change struct {
	key   DigestKey
	elem  Digest
	delta int
}

type acc struct {
	x      Digest
	n      int
	bucket uint8
}

// digests is the in-memory digest of every key, kept up to date by the
// writer after each commit.
type digests struct {
	mu   sync.RWMutex
	keys map[DigestKey]*acc
}

func (d *digests) init() { d.keys = make(map[DigestKey]*acc) }

func (d *digests) apply(c change) {
	a := d.keys[c.key]
	if a == nil {
		a = &acc{bucket: BucketOf(c.key.Account)}
		d.keys[c.key] = a
	}
	for i := range a.x {
		a.x[i] ^= c.elem[i]
	}
	a.n += c.delta
	if a.n == 0 {
		delete(d.keys, c.key)
	}
}

func (d *digests) applyAll(cs []change) {
	if len(cs) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range cs {
		d.apply(c)
	}
}

// BucketDigests returns the XOR of the key digests (mixed with their keys)
// in each of the 256 buckets, the first step of a reconciliation.
func (s *Store) BucketDigests() [Buckets]Digest {
	var out [Buckets]Digest
	s.dig.mu.RLock()
	defer s.dig.mu.RUnlock()
	for k, a := range s.dig.keys {
		m := mixKey(k, a.x, a.n)
		for i := range m {
			out[a.bucket][i] ^= m[i]
		}
	}
	return out
}

// mixKey binds a key digest to its key and count so that equal digests under
// different keys do not cancel out in a bucket.
func mixKey(k DigestKey, x Digest, n int) Digest {
	var buf [AccountSize + 3 + DigestSize + 8]byte
	b := append(buf[:0], k.Account[:]...)
	b = append(b, byte(k.Kind))
	b = binary.BigEndian.AppendUint16(b, uint16(k.Namespace))
	b = append(b, x[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(n))
	sum := sha256.Sum256(b)
	return Digest(sum[:DigestSize])
}

// KeyDigests returns the digests of every key in the given buckets, sorted
// by key.
func (s *Store) KeyDigests(buckets []uint8) []KeyDigest {
	var want [Buckets]bool
	for _, b := range buckets {
		want[b] = true
	}
	s.dig.mu.RLock()
	out := make([]KeyDigest, 0)
	for k, a := range s.dig.keys {
		if want[a.bucket] {
			out = append(out, KeyDigest{Key: k, Digest: a.x, Count: a.n})
		}
	}
	s.dig.mu.RUnlock()
	slices.SortFunc(out, func(a, b KeyDigest) int { return CompareKeys(a.Key, b.Key) })
	return out
}

// CompareKeys orders digest keys by account, kind, then namespace.
func CompareKeys(a, b DigestKey) int {
	for i := range a.Account {
		if a.Account[i] != b.Account[i] {
			return int(a.Account[i]) - int(b.Account[i])
		}
	}
	if a.Kind != b.Kind {
		return int(a.Kind) - int(b.Kind)
	}
	return int(a.Namespace) - int(b.Namespace)
}

// Accounts returns every account with rows in the store.
func (s *Store) Accounts() []Account {
	seen := make(map[Account]struct{})
	s.dig.mu.RLock()
	for k := range s.dig.keys {
		seen[k.Account] = struct{}{}
	}
	s.dig.mu.RUnlock()
	out := make([]Account, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Account) int { return CompareKeys(DigestKey{Account: a}, DigestKey{Account: b}) })
	return out
}
