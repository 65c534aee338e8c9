package groups

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"

	"sotto.dev/identity"
	"sotto.dev/internal/sodiumrng"
	"sotto.dev/key"
)

// keyedHash is BLAKE2b of size bytes keyed with label.
func keyedHash(size int, label string, parts ...[]byte) []byte {
	return keyedHashKey(size, []byte(label), parts...)
}

// keyedHashKey is BLAKE2b of size bytes keyed with key.
func keyedHashKey(size int, key []byte, parts ...[]byte) []byte {
	h, err := blake2b.New(size, key)
	if err != nil {
		panic(err) // fixed sizes
	}
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// seedHash is libsession's seed_hash: H_32[key=label](group seed).
func (k *Keys) seedHash(label string) []byte {
	return keyedHash(32, label, k.groupSecret[:ed25519.SeedSize])
}

// xSecret is crypto_sign_ed25519_sk_to_curve25519: the clamped first half
// of SHA-512(seed).
func xSecret(sk ed25519.PrivateKey) [32]byte {
	h := sha512.Sum512(sk[:ed25519.SeedSize])
	var x [32]byte
	copy(x[:], h[:32])
	clear(h[:])
	x[0] &= 248
	x[31] &= 127
	x[31] |= 64
	return x
}

// xPublic is crypto_sign_ed25519_pk_to_curve25519.
func xPublic(pk []byte) ([32]byte, error) {
	x, err := identity.Ed25519ToX25519(key.AccountPublic(pk))
	if err != nil {
		return [32]byte{}, errText(ErrBadKey, "An error occured while attempting to convert Ed25519 pubkey to X25519; is the pubkey valid?")
	}
	return x, nil
}

func userX25519(user ed25519.PrivateKey) ([32]byte, error) { return xPublic(user[32:]) }

// memberKey is the key of one encrypt_for_multiple entry (§4.8;
// multi_encrypt.cpp:20-52): H_32[key=SessionGroupKeyMemberKey](X25519(own
// secret, peer) || sender || recipient). ok is false if the X25519 result
// is all zero (libsession skips such recipients).
func memberKey(own *ecdh.PrivateKey, peer *[32]byte, sender, recipient []byte) (k [32]byte, ok bool) {
	pub, err := ecdh.X25519().NewPublicKey(peer[:])
	if err != nil {
		return k, false
	}
	dh, err := own.ECDH(pub)
	if err != nil {
		return k, false
	}
	copy(k[:], keyedHash(32, labelKeyMemberKey, dh, sender, recipient))
	clear(dh)
	return k, true
}

// x25519Private is the X25519 key of an Ed25519 private key, for
// memberKey (crypto/ecdh computes its public key once, here).
func x25519Private(sk ed25519.PrivateKey) *ecdh.PrivateKey {
	x := xSecret(sk)
	defer clear(x[:])
	k, err := ecdh.X25519().NewPrivateKey(x[:])
	if err != nil {
		panic(err) // 32 bytes: cannot fail
	}
	return k
}

// sealForMembers encrypts pt for each member with memberKey under nonce,
// as encrypt_for_multiple does, skipping members whose X25519 fails. It
// spreads the X25519s, the cost of a large group's rekey, over the CPUs.
func sealForMembers(group *ecdh.PrivateKey, groupX []byte, members []key.SessionID, nonce, pt []byte) [][]byte {
	out := make([][]byte, len(members))
	seal := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			b := members[i].Key()
			mk, ok := memberKey(group, &b, groupX, b[:])
			if !ok {
				continue // libsession's "ignore invalid"
			}
			a, _ := chacha20poly1305.NewX(mk[:])
			clear(mk[:])
			out[i] = a.Seal(nil, nonce, pt, nil)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(members)/parallelMin)
	if workers <= 1 {
		seal(0, len(members))
		return out
	}
	var wg sync.WaitGroup
	per := (len(members) + workers - 1) / workers
	for lo := 0; lo < len(members); lo += per {
		wg.Go(func() { seal(lo, min(lo+per, len(members))) })
	}
	wg.Wait()
	return out
}

// parallelMin is the fewest members per goroutine of sealForMembers.
const parallelMin = 64

// members returns the 05 ids sorted and deduplicated, with their X25519
// keys.
func sortedMembers(members []key.SessionID) ([]key.SessionID, error) {
	out := slices.Clone(members)
	for _, m := range out {
		if m.Prefix() != key.PrefixStandard {
			return nil, errText(ErrBadKey, fmt.Sprintf("Invalid session ID: expected 05 prefix, got %s", m.Prefix()))
		}
	}
	slices.SortFunc(out, func(a, b key.SessionID) int {
		ak, bk := a.Key(), b.Key()
		return slices.Compare(ak[:], bk[:])
	})
	return slices.Compact(out), nil
}

// Rekey makes a new group key and its key message (§4.8; keys.cpp:254-414)
// for members, which must list every member of the group, admins
// included (Keys sorts them). The key becomes the pending key, used to
// encrypt at once; the admin must then Load its own message, with the
// swarm's hash and timestamp, for it to become a generation like any
// other. Only an admin can rekey.
func (k *Keys) Rekey(members []key.SessionID) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.groupSecret == nil {
		return nil, errText(ErrNotAdmin, "Unable to issue a new group encryption key without the main group keys")
	}
	ms, err := sortedMembers(members)
	if err != nil {
		return nil, err
	}
	groupX, err := k.groupX()
	if err != nil {
		return nil, err
	}
	groupXSecret := x25519Private(k.groupSecret)

	var gen int64
	if n := len(k.keys); n > 0 {
		gen = k.keys[n-1].gen + 1
	}

	// h1 = H_56[key=SessionGroupKeyGen](sid hex… || decimal gen ||
	// seed_hash(SessionGroupKeySeed)); key = h1[:32], nonce = h1[32:].
	h, _ := blake2b.New(56, []byte(labelKeyGen))
	var hexID []byte
	for _, m := range ms {
		hexID, _ = m.AppendText(hexID[:0])
		h.Write(hexID)
	}
	h.Write(strconv.AppendInt(nil, gen, 10))
	h.Write(k.seedHash(labelKeySeed))
	h1 := h.Sum(nil)
	defer clear(h1)
	encKey, nonce := h1[:32], h1[32:56]

	adminKey := k.seedHash(labelKeyAdminKey)
	defer clear(adminKey)
	aead, _ := chacha20poly1305.NewX(adminKey)

	entries := len(ms)
	if r := entries % keyMultiple; r != 0 {
		entries += keyMultiple - r
	}
	msg := make([]byte, 0, 64+entries*(entrySize+3)+72)
	msg = append(msg, 'd')
	msg = appendStr(msg, "#", nonce)
	msg = appendKey(msg, "G")
	msg = appendInt(msg, gen)
	msg = appendStr(msg, "K", aead.Seal(nil, nonce, encKey, nil))
	msg = appendKey(msg, "k")
	msg = append(msg, 'l')

	count := 0
	for _, e := range sealForMembers(groupXSecret, groupX[:], ms, nonce, encKey) {
		if e != nil {
			msg = appendBytes(msg, e)
			count++
		}
	}
	if r := count % keyMultiple; r != 0 {
		junk := make([]byte, entrySize*(keyMultiple-r))
		seed := [sodiumrng.SeedSize]byte(keyedHash(sodiumrng.SeedSize, labelJunkMembers, h1, k.groupSecret))
		sodiumrng.Fill(junk, &seed)
		clear(seed[:])
		for len(junk) > 0 {
			msg = appendBytes(msg, junk[:entrySize])
			junk = junk[entrySize:]
		}
	}
	msg = append(msg, 'e')
	msg = k.appendSignature(msg)

	k.pendingGen = gen
	copy(k.pendingKey[:], encKey)
	k.pendingMsg = msg
	k.needsDump = true
	return slices.Clone(msg), nil
}

// appendSignature appends "~" with the group's signature of the dict so
// far and closes the dict (oxenc's append_signature).
func (k *Keys) appendSignature(msg []byte) []byte {
	sig := ed25519.Sign(k.groupSecret, msg)
	msg = appendStr(msg, "~", sig)
	return append(msg, 'e')
}

// Supplement makes a supplemental key message (§4.8; keys.cpp:423-537)
// that gives members, in the order given, every key k holds, with its
// generation and timestamp: how a member added without a rekey gets the
// current key and the history. Only an admin that holds a key can make
// one.
func (k *Keys) Supplement(members []key.SessionID) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.groupSecret == nil {
		return nil, errText(ErrNotAdmin, "Unable to issue supplemental group encryption keys without the main group keys")
	}
	if len(k.keys) == 0 {
		return nil, errText(ErrNoKeys, "Unable to create supplemental keys: this object has no keys at all")
	}
	for _, m := range members {
		if m.Prefix() != key.PrefixStandard {
			return nil, errText(ErrBadKey, fmt.Sprintf("Invalid session ID: expected 05 prefix, got %s", m.Prefix()))
		}
	}
	groupX, err := k.groupX()
	if err != nil {
		return nil, err
	}
	groupXSecret := x25519Private(k.groupSecret)

	supp := []byte{'l'}
	for _, ki := range k.keys {
		supp = appendKeyInfo(supp, &ki)
	}
	supp = append(supp, 'e')
	defer clear(supp)

	h, _ := blake2b.New(24, []byte(labelKeyGen))
	var hexID []byte
	for _, m := range members {
		hexID, _ = m.AppendText(hexID[:0])
		h.Write(hexID)
	}
	h.Write(supp)
	h.Write(k.seedHash(labelKeySeed))
	nonce := h.Sum(nil)

	msg := []byte{'d'}
	msg = appendStr(msg, "#", nonce)
	msg = appendKey(msg, "+")
	msg = append(msg, 'l')
	count := 0
	for _, e := range sealForMembers(groupXSecret, groupX[:], members, nonce, supp) {
		if e != nil {
			msg = appendBytes(msg, e)
			count++
		}
	}
	if count == 0 {
		return nil, errText(ErrBadKey, "Unable to construct supplemental messages: invalid session ids given")
	}
	msg = append(msg, 'e')
	msg = appendKey(msg, "G")
	msg = appendInt(msg, k.keys[len(k.keys)-1].gen)
	return k.appendSignature(msg), nil
}

// appendKeyInfo appends {"g": gen, "k": key, "t": ms}, the form of a key
// in supplements and dumps.
func appendKeyInfo(b []byte, ki *keyInfo) []byte {
	b = append(b, 'd')
	b = appendKey(b, "g")
	b = appendInt(b, ki.gen)
	b = appendStr(b, "k", ki.key[:])
	b = appendKey(b, "t")
	b = appendInt(b, ki.ts)
	return append(b, 'e')
}

// bt producers.

func appendBytes(b, s []byte) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func appendKey(b []byte, k string) []byte { return appendBytes(b, []byte(k)) }

func appendStr(b []byte, k string, v []byte) []byte { return appendBytes(appendKey(b, k), v) }

func appendInt(b []byte, v int64) []byte {
	b = append(b, 'i')
	b = strconv.AppendInt(b, v, 10)
	return append(b, 'e')
}
