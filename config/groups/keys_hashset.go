package groups

import (
	"encoding/binary"
	"math"
	"slices"
)

// hashSet is a set of message hashes that iterates in the order of
// libstdc++'s std::unordered_set<std::string>, which libsession keeps the
// hashes of each generation in and writes into dumps in its iteration
// order (keys.cpp make_dump). Reproducing it keeps Dump byte for byte
// equal to libsession's. It models libstdc++'s _Hashtable (one singly
// linked list; a new node goes to the front of its bucket, or of the list
// when the bucket is empty; _Prime_rehash_policy with load factor 1) and
// std::hash<std::string> (_Hash_bytes, seed 0xc70f6907).
type hashSet struct {
	index      map[string]struct{}
	items      []string
	hashes     []uint64
	next       []int // node → next node, -1 at the end
	head       int   // first node (_M_before_begin._M_nxt), -1 if none
	buckets    []int // bucket → node before its first node, beforeBegin, or noNode
	nextResize uint64
}

const (
	noNode      = -2
	beforeBegin = -1
)

func newHashSet() *hashSet {
	return &hashSet{index: make(map[string]struct{}), head: -1, buckets: []int{noNode}}
}

func (s *hashSet) has(h string) bool { _, ok := s.index[h]; return ok }

// add inserts h if it is new.
func (s *hashSet) add(h string) {
	if s.has(h) {
		return
	}
	code := cxxHashBytes([]byte(h))
	if ok, n := s.needRehash(uint64(len(s.buckets)), uint64(len(s.items)), 1); ok {
		s.rehash(n)
	}
	node := len(s.items)
	s.index[h] = struct{}{}
	s.items = append(s.items, h)
	s.hashes = append(s.hashes, code)
	s.next = append(s.next, -1)
	s.insertBucketBegin(int(code%uint64(len(s.buckets))), node)
}

func (s *hashSet) nextOf(n int) int {
	if n == beforeBegin {
		return s.head
	}
	return s.next[n]
}

func (s *hashSet) setNext(n, to int) {
	if n == beforeBegin {
		s.head = to
	} else {
		s.next[n] = to
	}
}

func (s *hashSet) insertBucketBegin(bkt, node int) {
	if prev := s.buckets[bkt]; prev != noNode {
		s.next[node] = s.nextOf(prev)
		s.setNext(prev, node)
		return
	}
	s.next[node] = s.head
	s.head = node
	if nx := s.next[node]; nx != -1 {
		s.buckets[s.hashes[nx]%uint64(len(s.buckets))] = node
	}
	s.buckets[bkt] = beforeBegin
}

func (s *hashSet) rehash(n uint64) {
	nb := make([]int, n)
	for i := range nb {
		nb[i] = noNode
	}
	p := s.head
	s.head = -1
	var bbegin uint64
	for p != -1 {
		nx := s.next[p]
		b := s.hashes[p] % n
		if nb[b] == noNode {
			s.next[p] = s.head
			s.head = p
			nb[b] = beforeBegin
			if s.next[p] != -1 {
				nb[bbegin] = p
			}
			bbegin = b
		} else {
			prev := nb[b]
			if prev == beforeBegin {
				s.next[p] = s.head
				s.head = p
			} else {
				s.next[p] = s.next[prev]
				s.next[prev] = p
			}
		}
		p = nx
	}
	s.buckets = nb
}

// needRehash is _Prime_rehash_policy::_M_need_rehash.
func (s *hashSet) needRehash(nBkt, nElt, nIns uint64) (bool, uint64) {
	if nElt+nIns <= s.nextResize {
		return false, 0
	}
	minBkts := nElt + nIns
	if s.nextResize == 0 && minBkts < 11 {
		minBkts = 11
	}
	if minBkts >= nBkt {
		return true, s.nextBkt(max(minBkts+1, nBkt*2))
	}
	s.nextResize = nBkt
	return false, 0
}

// fastBkt and primes are libstdc++'s bucket counts (hashtable_c++0x.cc,
// hashtable-aux.cc), as far as a group's hashes can need them.
var (
	fastBkt = [14]uint64{2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13}
	primes  = []uint64{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61,
		67, 71, 73, 79, 83, 89, 97, 103, 109, 113, 127, 137, 139, 149, 157, 167, 179, 193,
		199, 211, 227, 241, 257, 277, 293, 313, 337, 359, 383, 409, 439, 467, 503, 541, 577,
		619, 661, 709, 761, 823, 887, 953, 1031, 1109, 1193, 1289, 1381, 1493, 1613, 1741,
		1879, 2029, 2179, 2357, 2549, 2753, 2971, 3209, 3469, 3739, 4027, 4349, 4703, 5087,
		5503, 5953, 6427, 6949, 7517, 8123, 8783, 9497, 10273, 11113, 12011, 12983, 14033,
		15173, 16411, 17749, 19183, 20753, 22447, 24281, 26267, 28411, 30727, 33223, 35933,
		38873, 42043, 45481, 49201, 53201, 57557, 62233, 67307, 72817, 78779, 85229, 92203,
		99733, 107897, 116731, 126271, 136607, 147793, 159871, 172933, 187091, 202409,
		218971, 236897, 256279, 277261, 299951, 324503, 351061, 379787, 410857, 444487,
		480881, 520241, 562841, 608903, 658753, 712697, 771049, 834181, 902483, 976369}
)

// nextBkt is _Prime_rehash_policy::_M_next_bkt.
func (s *hashSet) nextBkt(n uint64) uint64 {
	if n < uint64(len(fastBkt)) {
		if n == 0 {
			return 1
		}
		s.nextResize = fastBkt[n]
		return fastBkt[n]
	}
	i, _ := slices.BinarySearch(primes[6:], n)
	if i+6 < len(primes) {
		p := primes[i+6]
		s.nextResize = p
		return p
	}
	s.nextResize = math.MaxUint64
	return n | 1 // beyond any group's size
}

// ordered returns the hashes in libstdc++'s iteration order.
func (s *hashSet) ordered() []string {
	out := make([]string, 0, len(s.items))
	for p := s.head; p != -1; p = s.next[p] {
		out = append(out, s.items[p])
	}
	return out
}

// cxxHashBytes is libstdc++'s std::_Hash_bytes on 64-bit targets with the
// seed of std::hash<std::string> (0xc70f6907).
func cxxHashBytes(b []byte) uint64 {
	const mul = 0xc6a4a793<<32 + 0x5bd1e995
	shiftMix := func(v uint64) uint64 { return v ^ v>>47 }
	h := uint64(0xc70f6907) ^ uint64(len(b))*mul
	n := len(b) &^ 7
	for i := 0; i < n; i += 8 {
		d := shiftMix(binary.LittleEndian.Uint64(b[i:])*mul) * mul
		h ^= d
		h *= mul
	}
	if r := len(b) & 7; r != 0 {
		var d uint64
		for i := r - 1; i >= 0; i-- {
			d = d<<8 + uint64(b[n+i])
		}
		h ^= d
		h *= mul
	}
	h = shiftMix(h) * mul
	return shiftMix(h)
}
