package state

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"net/netip"
)

// Coin is one whole staking token in atomic units (Session's SESH_UNIT,
// service-node-network.md §1.1).
const Coin uint64 = 1_000_000_000

// FeeBasis is the denominator of operator fees, in basis points (Session's
// STAKING_FEE_BASIS, §1.3).
const FeeBasis = 10_000

// Address names an account: the account holder's Ed25519 public key.
type Address [32]byte

func (a Address) String() string { return hex.EncodeToString(a[:]) }

// NameHash is the ONS name hash: BLAKE2b-256 of the lowercase name
// (session-protocol.md §9). The ledger never sees the name itself.
type NameHash [32]byte

func (h NameHash) String() string { return hex.EncodeToString(h[:]) }

// IPv4 is a node's public address.
type IPv4 [4]byte

func (ip IPv4) String() string { return netip.AddrFrom4(ip).String() }

// Addr returns ip as a netip.Addr.
func (ip IPv4) Addr() netip.Addr { return netip.AddrFrom4(ip) }

// ParseIPv4 parses a dotted quad.
func ParseIPv4(s string) (IPv4, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return IPv4{}, fmt.Errorf("%q is not an IPv4 dotted quad", s)
	}
	return IPv4(a.As4()), nil
}

// ParseKey parses 64 hex digits into a 32-byte key.
func ParseKey(s string) ([32]byte, error) {
	var k [32]byte
	b, err := hex.DecodeString(s)
	if err != nil {
		return k, fmt.Errorf("key %q: not hex", s)
	}
	if len(b) != 32 {
		return k, fmt.Errorf("key %q: %d bytes, want 32", s, len(b))
	}
	return [32]byte(b), nil
}

// usableIP reports whether ip can be announced: never 0.0.0.0 or a
// broadcast, multicast or unspecified address; private and loopback
// addresses only when allowPrivate (devnets).
func usableIP(ip IPv4, allowPrivate bool) bool {
	a := ip.Addr()
	if a.IsUnspecified() || a.IsMulticast() || ip == (IPv4{255, 255, 255, 255}) {
		return false
	}
	if allowPrivate {
		return true
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	// 100.64.0.0/10 is carrier-grade NAT space, not reachable from outside.
	return ip[0] != 100 || ip[1]&0xc0 != 0x40
}

// verify checks an Ed25519 signature made by key over msg.
func verify(key [32]byte, msg []byte, sig [64]byte) bool {
	return ed25519.Verify(ed25519.PublicKey(key[:]), msg, sig[:])
}
