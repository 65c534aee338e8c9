package groups

import (
	"crypto/cipher"
	"crypto/ed25519"
	"fmt"
	"strings"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/chacha20poly1305"
)

// keyMessageError is a rejected key message, with libsession's text.
func keyMessageError(text string) error { return errText(ErrKeyMessage, text) }

// btError reports a bt decoding failure of a key message.
func btError(err error) error {
	return keyMessageError("Failed to parse key message: " + err.Error())
}

// Load reads a key message from the group's namespace 12 (§4.8;
// load_key_message, keys.cpp:908-1118): a rekey or a supplement, in any
// order, with the hash and timestamp (ms) the swarm gave it. It reports
// whether the message held a key for this user. A message that holds none
// is still recorded (its hash stays in CurrentHashes while its generation
// is kept). Keys of a generation are dropped once the next generation is
// KeyExpiry older than the newest key. A malformed message, or one whose
// signature is not the group's, is an error matching ErrKeyMessage and
// changes nothing.
func (k *Keys) Load(hash string, data []byte, timestampMs int64) (found bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	newKeys, maxGen, hasGen, err := k.parseKeyMessage(data, timestampMs)
	if err != nil {
		return false, err
	}

	// Our own message, or a later generation, ends the pending key.
	if k.groupSecret != nil && len(newKeys) > 0 && k.pendingMsg != nil &&
		(newKeys[0].gen > k.pendingGen || newKeys[0].key == k.pendingKey) {
		k.pendingMsg = nil
		clear(k.pendingKey[:])
		k.needsDump = true
	}

	if len(newKeys) > 0 {
		for i := range newKeys {
			k.insertKey(hash, &newKeys[i])
		}
		return true, nil
	}
	if hasGen {
		k.addActive(maxGen, hash)
		k.removeExpired()
		k.needsDump = true
	}
	return false, nil
}

// parseKeyMessage checks a key message and returns the keys it holds for
// us; without one, gen is the generation to record the message under.
func (k *Keys) parseKeyMessage(data []byte, timestampMs int64) (keys []keyInfo, gen int64, hasGen bool, err error) {
	d, err := newBTDict(data)
	if err != nil {
		return nil, 0, false, btError(err)
	}
	groupX, err := k.groupX()
	if err != nil {
		return nil, 0, false, err
	}

	ok, err := d.skipUntil("#")
	if err != nil {
		return nil, 0, false, btError(err)
	}
	if !ok {
		return nil, 0, false, keyMessageError("Key message has no nonce")
	}
	nonce, err := d.str()
	if err != nil {
		return nil, 0, false, btError(err)
	}

	admin := k.groupSecret != nil
	var memberAEAD cipher.AEAD
	if !admin {
		memberAEAD = k.memberCipher(&groupX)
	}
	// libsession asserts a 24-byte nonce; a message with another size
	// decrypts nothing here.
	validNonce := len(nonce) == chacha20poly1305.NonceSizeX
	var openBuf [entrySize]byte
	tryOpen := func(ct []byte) ([]byte, bool) {
		if memberAEAD == nil || !validNonce {
			return nil, false
		}
		pt, err := memberAEAD.Open(openBuf[:0], nonce, ct, nil)
		return pt, err == nil
	}

	ok, err = d.skipUntil("+")
	if err != nil {
		return nil, 0, false, btError(err)
	}
	if ok {
		// Supplemental message: a list of encrypted key lists.
		if err := d.list(); err != nil {
			return nil, 0, false, btError(err)
		}
		var found []byte
		for i := 0; ; i++ {
			more, err := d.r.next()
			if err != nil {
				return nil, 0, false, btError(err)
			}
			if !more {
				break
			}
			ct, err := d.r.str()
			if err != nil {
				return nil, 0, false, btError(err)
			}
			if len(ct) < minSupplementEntry {
				return nil, 0, false, keyMessageError(fmt.Sprintf("Supplemental key message has invalid key info size at index %d", i))
			}
			if found != nil || admin {
				continue
			}
			if pt, ok := tryOpen(ct); ok {
				found = pt
			}
		}
		if found != nil {
			defer clear(found)
			if keys, err = parseSupplement(found); err != nil {
				return nil, 0, false, err
			}
		}
		ok, err = d.skipUntil("G")
		if err != nil {
			return nil, 0, false, btError(err)
		}
		if !ok {
			return nil, 0, false, keyMessageError("Supplemental key message missing required max generation field (G)")
		}
		if gen, err = d.int(); err != nil {
			return nil, 0, false, btError(err)
		}
		hasGen = true
	} else {
		nk := keyInfo{ts: timestampMs}
		foundKey := false
		ok, err = d.skipUntil("G")
		if err != nil {
			return nil, 0, false, btError(err)
		}
		if !ok {
			return nil, 0, false, keyMessageError("Key message missing required generation (G) field")
		}
		if nk.gen, err = d.int(); err != nil {
			return nil, 0, false, btError(err)
		}
		if nk.gen < 0 {
			return nil, 0, false, keyMessageError("Key message contains invalid negative generation")
		}
		ok, err = d.skipUntil("K")
		if err != nil {
			return nil, 0, false, btError(err)
		}
		if !ok {
			return nil, 0, false, keyMessageError("Non-supplemental key message is missing required admin key (K)")
		}
		adminKey, err := d.str()
		if err != nil {
			return nil, 0, false, btError(err)
		}
		if len(adminKey) != entrySize {
			return nil, 0, false, keyMessageError("Key message has invalid admin key length")
		}
		if admin {
			ak := k.seedHash(labelKeyAdminKey)
			a, _ := chacha20poly1305.NewX(ak)
			clear(ak)
			var pt []byte
			if validNonce {
				pt, err = a.Open(nil, nonce, adminKey, nil)
			}
			if !validNonce || err != nil {
				return nil, 0, false, keyMessageError("Failed to decrypt admin key from key message")
			}
			copy(nk.key[:], pt)
			clear(pt)
			foundKey = true
		}
		ok, err = d.skipUntil("k")
		if err != nil {
			return nil, 0, false, btError(err)
		}
		if !ok {
			return nil, 0, false, keyMessageError("Config is missing member keys list (k)")
		}
		if err := d.list(); err != nil {
			return nil, 0, false, btError(err)
		}
		n := 0
		for ; ; n++ {
			more, err := d.r.next()
			if err != nil {
				return nil, 0, false, btError(err)
			}
			if !more {
				break
			}
			ct, err := d.r.str()
			if err != nil {
				return nil, 0, false, btError(err)
			}
			if len(ct) != entrySize {
				return nil, 0, false, keyMessageError(fmt.Sprintf("Key message has invalid member key length at index %d", n))
			}
			if foundKey {
				continue
			}
			if pt, ok := tryOpen(ct); ok {
				copy(nk.key[:], pt)
				clear(pt)
				foundKey = true
			}
		}
		if n%keyMultiple != 0 {
			return nil, 0, false, keyMessageError("Member key list has wrong size (missing junk key padding?)")
		}
		if foundKey {
			keys = []keyInfo{nk}
		} else {
			gen, hasGen = nk.gen, true
		}
	}

	if err := k.verifySignature(d); err != nil {
		for i := range keys {
			clear(keys[i].key[:])
		}
		return nil, 0, false, err
	}
	return keys, gen, hasGen, nil
}

// memberCipher returns the member's cipher of "k" and "+" entries,
// XChaCha20-Poly1305 keyed with H(X25519(b, groupX) || groupX || B),
// computed once; nil if the X25519 fails. k.mu is held.
func (k *Keys) memberCipher(groupX *[32]byte) cipher.AEAD {
	if !k.memberAEADSet {
		mk, ok := memberKey(x25519Private(k.user), groupX, groupX[:], k.userX[:])
		if ok {
			k.memberAEAD, _ = chacha20poly1305.NewX(mk[:])
		}
		clear(mk[:])
		k.memberAEADSet = true
	}
	return k.memberAEAD
}

// parseSupplement reads the decrypted list of {"g","k","t"} of a
// supplement.
func parseSupplement(pt []byte) ([]keyInfo, error) {
	r := &btReader{b: pt}
	if err := r.open('l'); err != nil {
		return nil, btError(err)
	}
	var keys []keyInfo
	for {
		more, err := r.next()
		if err != nil {
			return nil, btError(err)
		}
		if !more {
			return keys, nil
		}
		ki, err := readKeyInfo(r, "Invalid supplemental key message: no `g` generation",
			"Invalid supplemental key message: no `k` key data",
			"Invalid supplemental key message: `k` key has wrong size",
			"Invalid supplemental key message: no `t` timestamp")
		if err != nil {
			return nil, err
		}
		keys = append(keys, ki)
	}
}

// readKeyInfo reads one {"g","k","t"} dict at r, with the texts of the
// errors for a missing g, a missing k, a bad k and a missing t. Other keys
// are ignored.
func readKeyInfo(r *btReader, noG, noK, badK, noT string) (keyInfo, error) {
	var ki keyInfo
	start := r.i
	if r.peek() != 'd' {
		return ki, btError(errBT)
	}
	if err := r.skip(0); err != nil {
		return ki, btError(err)
	}
	d, err := newBTDict(r.b[start:r.i])
	if err != nil {
		return ki, btError(err)
	}
	ok, err := d.skipUntil("g")
	if err != nil {
		return ki, btError(err)
	}
	if !ok {
		return ki, keyMessageError(noG)
	}
	if ki.gen, err = d.int(); err != nil {
		return ki, btError(err)
	}
	if ok, err = d.skipUntil("k"); err != nil {
		return ki, btError(err)
	}
	if !ok {
		return ki, keyMessageError(noK)
	}
	kb, err := d.str()
	if err != nil {
		return ki, btError(err)
	}
	if len(kb) != 32 {
		if strings.Contains(badK, "%d") {
			badK = fmt.Sprintf(badK, len(kb))
		}
		return ki, keyMessageError(badK)
	}
	copy(ki.key[:], kb)
	if ok, err = d.skipUntil("t"); err != nil {
		return ki, btError(err)
	}
	if !ok {
		return ki, keyMessageError(noT)
	}
	if ki.ts, err = d.int(); err != nil {
		return ki, btError(err)
	}
	return ki, nil
}

// verifySignature checks the "~" signature of the rest of d (libsession's
// verify_config_sig with the group key as verifier).
func (k *Keys) verifySignature(d *btDict) error {
	ok, err := d.skipUntil("~")
	if err != nil {
		return btError(err)
	}
	if !ok {
		return keyMessageError("Config signature is missing")
	}
	signed := d.r.b[:d.keyAt]
	sig, err := d.str()
	if err != nil {
		return btError(err)
	}
	if len(sig) != ed25519.SignatureSize {
		return keyMessageError("Config signature is invalid (not 64B)")
	}
	if !verify(k.groupPublic, signed, sig) {
		return keyMessageError("Config signature failed verification")
	}
	done, err := d.done()
	if err != nil {
		return btError(err)
	}
	if !done {
		return keyMessageError(`Invalid config: dict has invalid key(s) after "~"`)
	}
	return nil
}

// verify is crypto_sign_verify_detached: Ed25519 with libsodium's
// rejection of a small-order R.
func verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	if isSmallOrder(sig[:32]) {
		return false
	}
	return ed25519.Verify(pub, msg, sig)
}

// isSmallOrder reports whether b encodes a point of small order.
// Encodings that are not points fail ed25519.Verify anyway.
func isSmallOrder(b []byte) bool {
	P, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return false
	}
	return new(edwards25519.Point).MultByCofactor(P).Equal(edwards25519.NewIdentityPoint()) == 1
}

// insertKey adds a key found in message hash (keys.cpp insert_key).
func (k *Keys) insertKey(hash string, nk *keyInfo) {
	for i := range k.keys {
		if k.keys[i].gen == nk.gen && k.keys[i].key == nk.key {
			k.addActive(nk.gen, hash)
			return
		}
	}
	at := len(k.keys)
	for i := range k.keys {
		if k.keys[i].compare(nk) >= 0 {
			at = i
			break
		}
	}
	if n := len(k.keys); n >= 2 && at == 0 && nk.gen < k.keys[0].gen &&
		k.keys[0].ts+KeyExpiry.Milliseconds() < k.keys[n-1].ts {
		return // older than a generation that has expired already
	}
	k.addActive(nk.gen, hash)
	k.keys = append(k.keys, keyInfo{})
	copy(k.keys[at+1:], k.keys[at:])
	k.keys[at] = *nk
	k.removeExpired()
	k.needsDump = true
}

func (k *Keys) addActive(gen int64, hash string) {
	hs := k.active[gen]
	if hs == nil {
		hs = newHashSet()
		k.active[gen] = hs
	}
	hs.add(hash)
}

// removeExpired drops the generations that a later one replaced more
// than KeyExpiry before the newest key, and the hashes of every
// generation older than the oldest key kept (keys.cpp remove_expired).
func (k *Keys) removeExpired() {
	if n := len(k.keys); n >= 2 {
		newest := k.keys[n-1].ts
		lapsedEnd := 0
		for i := 0; i < n; {
			j := i + 1
			for j < n && k.keys[j].gen == k.keys[i].gen {
				i = j
				j++
			}
			if j == n {
				break
			}
			if k.keys[j].ts+KeyExpiry.Milliseconds() < newest {
				lapsedEnd = j
			} else {
				break
			}
			i = j
		}
		if lapsedEnd > 0 {
			for i := range lapsedEnd {
				clear(k.keys[i].key[:])
			}
			k.keys = append(k.keys[:0], k.keys[lapsedEnd:]...)
		}
	}
	if len(k.keys) == 0 {
		clear(k.active)
		return
	}
	oldest := k.keys[0].gen
	for g := range k.active {
		if g < oldest {
			delete(k.active, g)
		}
	}
}
