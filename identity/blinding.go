package identity

import (
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"
	"log/slog"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/blake2b"

	"sotto.dev/key"
)

// NonceKey selects the secret from which a blind15 signature's nonce is
// derived (session-protocol.md §5.1, §10 item 1). Verifiers cannot tell the
// variants apart; they matter only for byte-exact test vectors.
type NonceKey int

const (
	// NonceSK64 hashes the 64-byte Ed25519 secret key: H_rh =
	// SHA-512(seed32 || A)[32:64]. libsession, iOS and Android; the default.
	NonceSK64 NonceKey = iota
	// NonceSeed hashes the 32-byte seed: H_rh = SHA-512(seed32)[32:64].
	// Session desktop and pysogs.
	NonceSeed
)

// BlindedKeyPair is a blinded key pair: Public = Scalar·B, shown to a
// server as Prefix || Public. Scalar is secret.
type BlindedKeyPair struct {
	Prefix key.Prefix
	Scalar *edwards25519.Scalar
	Public [32]byte
}

// ID returns the blinded ID, Prefix || Public.
func (b *BlindedKeyPair) ID() key.BlindedID { return key.NewBlindedID(b.Prefix, b.Public) }

// LogValue implements slog.LogValuer and shows only the public ID.
func (b *BlindedKeyPair) LogValue() slog.Value { return slog.StringValue(b.ID().String()) }

// Format implements fmt.Formatter and prints only the public ID.
func (b *BlindedKeyPair) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(b.ID().String())) }

// blind15Factor returns k = reduce(BLAKE2b-512(serverPK)) (§5.1).
func blind15Factor(serverPK [32]byte) (*edwards25519.Scalar, error) {
	h := blake2b.Sum512(serverPK[:])
	return nonZero(new(edwards25519.Scalar).SetUniformBytes(h[:]))
}

// blind25Factor returns k = reduce(BLAKE2b-512(05 || X || serverPK)) (§5.2).
func blind25Factor(x key.BoxPublic, serverPK [32]byte) (*edwards25519.Scalar, error) {
	h, _ := blake2b.New512(nil) // unkeyed: cannot fail
	h.Write([]byte{byte(key.PrefixStandard)})
	h.Write(x[:])
	h.Write(serverPK[:])
	return nonZero(new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil)))
}

func nonZero(s *edwards25519.Scalar, err error) (*edwards25519.Scalar, error) {
	if err != nil {
		return nil, err // only for a wrong input length, which callers never pass
	}
	if s.Equal(edwards25519.NewScalar()) == 1 {
		return nil, ErrDegenerate
	}
	return s, nil
}

// Blind15 returns the account's 15-blinded key pair for a community server:
// ka = k·a, kA = ka·B with k = reduce(BLAKE2b-512(serverPK)) (§5.1).
func (k *Keys) Blind15(serverPK [32]byte) (*BlindedKeyPair, error) {
	f, err := blind15Factor(serverPK)
	if err != nil {
		return nil, err
	}
	ka := f.Multiply(f, &k.scalar)
	kA := new(edwards25519.Point).ScalarBaseMult(ka)
	return &BlindedKeyPair{Prefix: key.PrefixBlind15, Scalar: ka, Public: [32]byte(kA.Bytes())}, nil
}

// Blind25 returns the account's 25-blinded key pair: k is negated when the
// account's Ed25519 public key has its sign bit set, so that the result
// equals the ID anyone computes from the Session ID with Blind25ID (§5.2).
func (k *Keys) Blind25(serverPK [32]byte) (*BlindedKeyPair, error) {
	f, err := blind25Factor(k.xPub, serverPK)
	if err != nil {
		return nil, err
	}
	if k.negSign {
		f.Negate(f)
	}
	a := f.Multiply(f, &k.scalar)
	A := new(edwards25519.Point).ScalarBaseMult(a)
	return &BlindedKeyPair{Prefix: key.PrefixBlind25, Scalar: a, Public: [32]byte(A.Bytes())}, nil
}

// Blind15Sign signs msg with the 15-blinded key for serverPK. The result
// is a standard Ed25519 signature verifiable with the blinded public key
// (§5.1): r = reduce(SHA-512(H_rh || kA || M)), R = r·B,
// S = r + reduce(SHA-512(R || kA || M))·ka.
func (k *Keys) Blind15Sign(serverPK [32]byte, msg []byte, nk NonceKey) ([64]byte, error) {
	var hrh *[32]byte
	switch nk {
	case NonceSK64:
		hrh = &k.sk64Hi
	case NonceSeed:
		hrh = &k.hashHi
	default:
		return [64]byte{}, ErrNonceKey
	}
	kp, err := k.Blind15(serverPK)
	if err != nil {
		return [64]byte{}, err
	}
	h := sha512.New()
	h.Write(hrh[:])
	h.Write(kp.Public[:])
	h.Write(msg)
	sig := signWithNonce(h.Sum(nil), kp, msg)
	*kp.Scalar = edwards25519.Scalar{}
	return sig, nil
}

// Blind25Sign signs msg with the 25-blinded key for serverPK (§5.2): the
// nonce is r = reduce(BLAKE2b-512[key=SessCommBlind25_sig](seedhash || P || M))
// with seedhash = BLAKE2b-256[key=SessCommBlind25_seed](seed32) and P the
// 25-blinded public key.
func (k *Keys) Blind25Sign(serverPK [32]byte, msg []byte) ([64]byte, error) {
	kp, err := k.Blind25(serverPK)
	if err != nil {
		return [64]byte{}, err
	}
	sh, _ := blake2b.New256([]byte(labelBlind25Seed)) // key ≤ 64 bytes: cannot fail
	sh.Write(k.seed32[:])
	seedHash := sh.Sum(nil)
	h, _ := blake2b.New512([]byte(labelBlind25Sig))
	h.Write(seedHash)
	h.Write(kp.Public[:])
	h.Write(msg)
	clear(seedHash)
	sig := signWithNonce(h.Sum(nil), kp, msg)
	*kp.Scalar = edwards25519.Scalar{}
	return sig, nil
}

// signWithNonce finishes an Ed25519-style signature by the blinded key kp
// with the 64-byte nonce hash rh: R = r·B, S = r + SHA-512(R||P||M)·s.
func signWithNonce(rh []byte, kp *BlindedKeyPair, msg []byte) [64]byte {
	r, _ := new(edwards25519.Scalar).SetUniformBytes(rh) // 64 bytes: cannot fail
	clear(rh)
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	h := sha512.New()
	h.Write(R)
	h.Write(kp.Public[:])
	h.Write(msg)
	c, _ := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	S := new(edwards25519.Scalar).MultiplyAdd(c, kp.Scalar, r)
	*r = edwards25519.Scalar{}
	var sig [64]byte
	copy(sig[:32], R)
	copy(sig[32:], S.Bytes())
	return sig
}

// standardKey returns the X25519 key of a standard (05) Session ID.
func standardKey(id key.SessionID) (key.BoxPublic, error) {
	x, ok := id.Box()
	if !ok {
		return key.BoxPublic{}, &key.PrefixError{What: "session ID", Got: id.Prefix(), Want: []key.Prefix{key.PrefixStandard}}
	}
	return x, nil
}

// Blind15IDs returns the two possible 15-blinded IDs of a standard Session
// ID (§5.1): 15 || k·A' with A' = XEd25519Public(X), and the same with the
// top bit of the last byte flipped. The account's real 15 ID is the first
// when its Ed25519 key has sign bit 0, else the second.
func Blind15IDs(id key.SessionID, serverPK [32]byte) ([2]key.BlindedID, error) {
	x, err := standardKey(id)
	if err != nil {
		return [2]key.BlindedID{}, err
	}
	P, err := xedPoint(x)
	if err != nil {
		return [2]key.BlindedID{}, err
	}
	f, err := blind15Factor(serverPK)
	if err != nil {
		return [2]key.BlindedID{}, err
	}
	pos := [32]byte(new(edwards25519.Point).ScalarMult(f, P).Bytes())
	neg := pos
	neg[31] ^= 0x80
	return [2]key.BlindedID{key.NewBlindedID(key.PrefixBlind15, pos), key.NewBlindedID(key.PrefixBlind15, neg)}, nil
}

// Blind25ID returns the 25-blinded ID of a standard Session ID (§5.2):
// 25 || k·A' with A' = XEd25519Public(X) and k = reduce(BLAKE2b-512(05||X||S)).
func Blind25ID(id key.SessionID, serverPK [32]byte) (key.BlindedID, error) {
	x, err := standardKey(id)
	if err != nil {
		return key.BlindedID{}, err
	}
	P, err := xedPoint(x)
	if err != nil {
		return key.BlindedID{}, err
	}
	f, err := blind25Factor(x, serverPK)
	if err != nil {
		return key.BlindedID{}, err
	}
	return key.NewBlindedID(key.PrefixBlind25, [32]byte(new(edwards25519.Point).ScalarMult(f, P).Bytes())), nil
}

// SessionIDMatchesBlinded reports whether blinded (prefix 15 or 25) is a
// blinded ID of the standard Session ID id for serverPK; for 15 either sign
// matches. Any other prefix or an invalid key gives false.
func SessionIDMatchesBlinded(id key.SessionID, blinded key.BlindedID, serverPK [32]byte) bool {
	switch blinded.Prefix() {
	case key.PrefixBlind15:
		ids, err := Blind15IDs(id, serverPK)
		return err == nil && (ids[0] == blinded || ids[1] == blinded)
	case key.PrefixBlind25:
		b, err := Blind25ID(id, serverPK)
		return err == nil && b == blinded
	}
	return false
}

// versionSeed returns seed' = BLAKE2b-256[key=VersionCheckKey_sig](seed32) (§5.3).
func (k *Keys) versionSeed() []byte {
	h, _ := blake2b.New256([]byte(labelVersionCheck)) // key ≤ 64 bytes: cannot fail
	h.Write(k.seed32[:])
	return h.Sum(nil)
}

// VersionKey returns the 07 version-check Ed25519 private key used to sign
// file-server version requests (§5.3). The caller owns and should clear it.
func (k *Keys) VersionKey() ed25519.PrivateKey {
	s := k.versionSeed()
	defer clear(s)
	return ed25519.NewKeyFromSeed(s)
}

// VersionPublic returns the version-check public key as a Session ID with
// prefix 07 (the X-FS-Pubkey header value).
func (k *Keys) VersionPublic() key.BlindedID {
	sk := k.VersionKey()
	defer clear(sk)
	return key.NewBlindedID(key.PrefixVersion, [32]byte(sk[32:]))
}

// VersionSign signs msg with the version-check key (plain Ed25519).
func (k *Keys) VersionSign(msg []byte) [64]byte {
	sk := k.VersionKey()
	defer clear(sk)
	return [64]byte(ed25519.Sign(sk, msg))
}
