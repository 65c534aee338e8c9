package groups

import (
	"crypto/ed25519"
	"crypto/sha512"

	"filippo.io/edwards25519"

	"sotto.dev/identity"
	"sotto.dev/key"
)

// Subaccount sizes (§4.10).
const (
	// SubaccountAuthSize is the size of a member's auth data: prefix,
	// flags, two reserved bytes, the blinding factor k and the group's
	// signature of the token.
	SubaccountAuthSize = 4 + 32 + 64
	// SubaccountTokenSize is the size of a token: prefix, flags, two
	// reserved bytes and k·T.
	SubaccountTokenSize = 4 + 32
)

// SubaccountSignature is what a member sends to the group's swarm to act
// as its subaccount: the token (`subaccount`), the group's signature of it
// (`subaccount_sig`) and the member's signature of the request
// (`signature`).
type SubaccountSignature struct {
	Token     [SubaccountTokenSize]byte
	TokenSig  [64]byte
	Signature [64]byte
}

func subaccountFlags(write, del bool) byte {
	f := byte(subaccountRead)
	if write {
		f |= subaccountWrite
	}
	if del {
		f |= subaccountDelete
	}
	return f
}

// blindFactor is k = reduce(H_64[key=seed_hash(SessionGroupSubaccountMask)](
// 0x05 || X || 0x03 || C)) (keys.cpp subaccount_blind_factor).
func (k *Keys) blindFactor(x *[32]byte) *edwards25519.Scalar {
	mask := k.seedHash(labelSubaccountMask)
	defer clear(mask)
	h := keyedHashKey(64, mask, []byte{byte(key.PrefixStandard)}, x[:], []byte{byte(key.PrefixGroup)}, k.groupPublic)
	s, _ := new(edwards25519.Scalar).SetUniformBytes(h) // 64 bytes: cannot fail
	return s
}

// subaccountToken returns prefix || flags || 0 0 || k·T and k for member.
func (k *Keys) subaccountToken(member key.SessionID, write, del bool) (tok [SubaccountTokenSize]byte, kk *edwards25519.Scalar, err error) {
	if k.groupSecret == nil {
		return tok, nil, errText(ErrNotAdmin, "Cannot make subaccount signature: admin keys required")
	}
	if member.Prefix() != key.PrefixStandard {
		return tok, nil, errText(ErrBadKey, "Invalid session ID: expected 05 prefix")
	}
	x := member.Key()
	T, err := identity.XEd25519Public(key.BoxPublic(x))
	if err != nil {
		return tok, nil, errText(ErrBadKey, "scalarmult failed: perhaps an invalid session id?")
	}
	kk = k.blindFactor(&x)
	kT, err := scalarMult(kk, T[:])
	if err != nil {
		return tok, nil, errText(ErrBadKey, "scalarmult failed: perhaps an invalid session id?")
	}
	tok[0] = byte(key.PrefixGroup)
	tok[1] = subaccountFlags(write, del)
	copy(tok[4:], kT)
	return tok, kk, nil
}

// scalarMult is crypto_scalarmult_ed25519_noclamp: s·P for a point P not
// of small order, failing on the identity.
func scalarMult(s *edwards25519.Scalar, p []byte) ([]byte, error) {
	P, err := new(edwards25519.Point).SetBytes(p)
	if err != nil {
		return nil, err
	}
	if isSmallOrder(p) {
		return nil, ErrBadKey
	}
	Q := new(edwards25519.Point).ScalarMult(s, P)
	if Q.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, ErrBadKey
	}
	return Q.Bytes(), nil
}

// MakeSubaccount returns member's 100-byte auth data (§4.10;
// swarm_make_subaccount): 0x03 || flags || 0 0 || k || the group's
// signature of the token. The member keeps it (in its user groups entry)
// and signs its swarm requests with SubaccountSign. Flags are read, plus
// write and delete as asked. Only an admin can make one.
func (k *Keys) MakeSubaccount(member key.SessionID, write, del bool) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	tok, kk, err := k.subaccountToken(member, write, del)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, SubaccountAuthSize)
	out = append(out, tok[:4]...)
	out = append(out, kk.Bytes()...)
	return append(out, ed25519.Sign(k.groupSecret, tok[:])...), nil
}

// SubaccountToken returns member's 36-byte token (§4.10;
// swarm_subaccount_token): what an admin revokes with revoke_subaccount.
// Only an admin can make one.
func (k *Keys) SubaccountToken(member key.SessionID, write, del bool) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	tok, _, err := k.subaccountToken(member, write, del)
	if err != nil {
		return nil, err
	}
	return tok[:], nil
}

// memberScalars returns, for the user's key, T = A with the sign bit
// cleared and t = ±a, negated if the bit was set.
func memberScalars(user ed25519.PrivateKey) (T []byte, t *edwards25519.Scalar) {
	T = append([]byte(nil), user[32:]...)
	neg := T[31]&0x80 != 0
	T[31] &= 0x7f
	h := sha512.Sum512(user[:ed25519.SeedSize])
	t, _ = new(edwards25519.Scalar).SetBytesWithClamping(h[:32]) // 32 bytes: cannot fail
	clear(h[:])
	if neg {
		t.Negate(t)
	}
	return T, t
}

// SubaccountSign signs msg (a storage request's signed string) as the
// subaccount that authData grants the user (§4.10; swarm_subaccount_sign):
// the token is authData's prefix and flags with k·T, the token signature
// is authData's, and the request signature an Ed25519 signature under
// k·T by the scalar k·t, with libsession's nonce
// r = H_64[key="SubaccountSig"](H_32[key="SubaccountSeed"](seed) || kT || msg).
func SubaccountSign(user ed25519.PrivateKey, authData, msg []byte) (SubaccountSignature, error) {
	var out SubaccountSignature
	if len(user) != ed25519.PrivateKeySize {
		return out, errText(ErrBadKey, "Invalid user ed25519 secret key")
	}
	if len(authData) != SubaccountAuthSize {
		return out, errText(ErrBadKey, "Invalid signing value: size is wrong")
	}
	kk, err := new(edwards25519.Scalar).SetCanonicalBytes(authData[4:36])
	if err != nil {
		// libsession multiplies by k as given; a k of 2^252 or more is
		// not one an admin makes.
		return out, errText(ErrBadKey, "scalarmult failed: perhaps an invalid session id or seed?")
	}
	T, t := memberScalars(user)
	kT, err := scalarMult(kk, T)
	if err != nil {
		return out, errText(ErrBadKey, "scalarmult failed: perhaps an invalid session id or seed?")
	}
	kt := new(edwards25519.Scalar).Multiply(kk, t)
	defer kt.Set(edwards25519.NewScalar())
	t.Set(edwards25519.NewScalar())

	copy(out.Token[:4], authData[:4])
	copy(out.Token[4:], kT)
	copy(out.TokenSig[:], authData[36:])

	hseed := keyedHash(32, labelSubaccountSeed, user[:ed25519.SeedSize])
	rh := keyedHash(64, labelSubaccountSig, hseed, kT, msg)
	clear(hseed)
	r, _ := new(edwards25519.Scalar).SetUniformBytes(rh) // 64 bytes: cannot fail
	clear(rh)
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()

	h := sha512.New()
	h.Write(R)
	h.Write(kT)
	h.Write(msg)
	c, _ := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil)) // 64 bytes: cannot fail
	S := new(edwards25519.Scalar).MultiplyAdd(c, kt, r)
	r.Set(edwards25519.NewScalar())
	copy(out.Signature[:32], R)
	copy(out.Signature[32:], S.Bytes())
	return out, nil
}

// VerifySubaccount reports whether authData is a valid grant of group's
// admins to the user, with write and delete permission if asked
// (§4.10; swarm_verify_subaccount): prefix 03 or the any-prefix flag, the
// read flag, the flags asked for, and the group's signature of the token
// the user derives.
func VerifySubaccount(group ed25519.PublicKey, user ed25519.PrivateKey, authData []byte, write, del bool) bool {
	if len(group) != ed25519.PublicKeySize || len(user) != ed25519.PrivateKeySize || len(authData) != SubaccountAuthSize {
		return false
	}
	flags := authData[1]
	switch {
	case authData[0] != byte(key.PrefixGroup) && flags&subaccountAnyPrefix == 0,
		flags&subaccountRead == 0,
		write && flags&subaccountWrite == 0,
		del && flags&subaccountDelete == 0:
		return false
	}
	kk, err := new(edwards25519.Scalar).SetCanonicalBytes(authData[4:36])
	if err != nil {
		return false
	}
	T := append([]byte(nil), user[32:]...)
	T[31] &= 0x7f
	kT, err := scalarMult(kk, T)
	if err != nil {
		return false
	}
	var tok [SubaccountTokenSize]byte
	copy(tok[:4], authData[:4])
	copy(tok[4:], kT)
	return verify(group, tok[:], authData[36:])
}
