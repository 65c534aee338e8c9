package storagerpc

import (
	"crypto/ed25519"
	"errors"
	"strconv"
	"time"

	"sotto.dev/key"
)

// SignatureSize is the size of an Ed25519 signature.
const SignatureSize = ed25519.SignatureSize

// Signature is an Ed25519 signature (base64 in JSON).
type Signature [SignatureSize]byte

// SubaccountFlags are the permission bits of a subaccount token
// (session-protocol.md §3.3, Session's oxenss/common/subaccount_token.h).
type SubaccountFlags uint8

// Subaccount permissions.
const (
	// SubaccountRead allows retrieve and get_expiries.
	SubaccountRead SubaccountFlags = 1 << iota
	// SubaccountWrite allows store and extending expiries.
	SubaccountWrite
	// SubaccountDelete allows deletes and shortening expiries.
	SubaccountDelete
	// SubaccountAnyPrefix lets the token act for the same key under any
	// network prefix, not only the token's own.
	SubaccountAnyPrefix
)

// SubaccountTokenSize is the size of a subaccount token.
const SubaccountTokenSize = 36

// SubaccountToken is a subaccount grant: [0] network prefix, [1] flags,
// [2:4] reserved (zero), [4:36] the subaccount's Ed25519 public key. The
// account owner signs the 36 bytes; the subaccount key then signs
// requests.
type SubaccountToken [SubaccountTokenSize]byte

// NewSubaccountToken builds a token.
func NewSubaccountToken(prefix key.Prefix, flags SubaccountFlags, pub key.AccountPublic) SubaccountToken {
	var t SubaccountToken
	t[0] = byte(prefix)
	t[1] = byte(flags)
	copy(t[4:], pub[:])
	return t
}

// ParseSubaccountToken parses a token written as 48 base64 characters or
// 72 hex digits, as Session accepts in JSON.
func ParseSubaccountToken(s string) (SubaccountToken, error) {
	var t SubaccountToken
	switch {
	case len(s) == SubaccountTokenSize*4/3 && isBase64(s):
		if decodeBase64Into(t[:], s) {
			return t, nil
		}
	case len(s) == SubaccountTokenSize*2:
		if decodeHexInto(t[:], s) {
			return t, nil
		}
	}
	return SubaccountToken{}, ErrSubaccountToken
}

// ErrSubaccountToken reports a token that is neither 48 base64 characters
// nor 72 hex digits.
var ErrSubaccountToken = errors.New("storagerpc: subaccount token is not 48 base64 characters or 72 hex digits")

// Prefix is the network prefix the token grants access to.
func (t SubaccountToken) Prefix() key.Prefix { return key.Prefix(t[0]) }

// Flags returns the permission bits.
func (t SubaccountToken) Flags() SubaccountFlags { return SubaccountFlags(t[1]) }

// Has reports whether every flag in f is set.
func (t SubaccountToken) Has(f SubaccountFlags) bool { return t.Flags()&f == f }

// PublicKey is the subaccount's Ed25519 key that signs requests.
func (t SubaccountToken) PublicKey() key.AccountPublic {
	return key.AccountPublic(t[4:])
}

// PrefixAllowed reports whether the token may act for an account with
// prefix p: its own prefix, or any with SubaccountAnyPrefix.
func (t SubaccountToken) PrefixAllowed(p key.Prefix) bool {
	return t.Prefix() == p || t.Has(SubaccountAnyPrefix)
}

// String returns the token in base64 (the form clients send).
func (t SubaccountToken) String() string { return b64(t[:]) }

// SignedSubaccount is a token with the account owner's signature of its
// 36 bytes (the `subaccount` and `subaccount_sig` parameters).
type SignedSubaccount struct {
	Token SubaccountToken
	Sig   Signature
}

// Auth holds the authentication parameters of a request. Nil fields were
// absent.
type Auth struct {
	// Signature is the request signature (`signature`).
	Signature *Signature
	// PubkeyEd25519 is the Ed25519 key of a 05 account
	// (`pubkey_ed25519`), whose X25519 image must be the account key.
	PubkeyEd25519 *key.AccountPublic
	// Subaccount is the subaccount grant (`subaccount`, `subaccount_sig`).
	Subaccount *SignedSubaccount
}

// AuthError says why VerifyAuth rejected a request. The reason is for
// logs; clients only get Session's per-method "signature verification
// failed" text (no oracle beyond what Session returns).
type AuthError struct{ Reason string }

func (e *AuthError) Error() string { return "storagerpc: authentication failed: " + e.Reason }

// Reasons of AuthError.
const (
	reasonNoSignature  = "no signature"
	reasonEdMismatch   = "pubkey_ed25519 does not convert to the account key"
	reasonRevoked      = "subaccount is revoked"
	reasonSubPrefix    = "subaccount network prefix mismatch"
	reasonSubFlags     = "subaccount is missing the required permissions"
	reasonSubSignature = "subaccount token signature verification failed"
	reasonBadKey       = "verification key is not a valid Ed25519 key"
	reasonBadSignature = "signature verification failed"
)

// VerifyAuth checks that auth authorises msg for acct (session-protocol.md
// §3.3; Session's verify_signature in request_handler.cpp):
//
//   - a 05 account that carries pubkey_ed25519 signs with that key, whose
//     X25519 image must equal the account key. Without pubkey_ed25519, every
//     account, 05 included, signs with its own 32 bytes read as an Ed25519
//     key (03 groups: the group key). For a real 05 account that second path
//     admits nobody: its 32 bytes are an X25519 key, and no one holds an
//     Ed25519 secret for them. Session's storage server does the same
//     (oxen-storage-server, oxenss/rpc/request_handler.cpp, verify_signature:
//     it falls back to the pubkey's own bytes whenever pubkey_ed25519 is
//     absent), so tools that sign that way work here too.
//   - with a subaccount, the token must not be revoked (revoked may be nil
//     to skip the check, as for unrevocable namespaces), must allow the
//     account's prefix, must have every flag in need, and must be signed by
//     the account's signing key; the request is then signed by the token's
//     key.
//   - the signature over msg must verify. Like libsodium, keys and R
//     values of small order and non-canonical keys are rejected.
//
// Errors are *AuthError.
func VerifyAuth(acct Account, auth Auth, msg []byte, need SubaccountFlags, revoked func(SubaccountToken) bool) error {
	return verifyAuth(acct, auth, msg, need, revoked, authCaches{})
}

// verifyAuth is VerifyAuth with an optional cache of verified
// pubkey_ed25519 conversions.
//
// The conversion of pubkey_ed25519 is the Edwards → Montgomery map
// u = (1+y)/(1−y) alone, without the prime-order subgroup check that
// identity.Ed25519ToX25519 (and libsodium's
// crypto_sign_ed25519_pk_to_curve25519, which Session's storage server
// calls) makes. That check is not needed to decide whether a key may sign
// for the account: u depends on y only, and a y fixes a point up to the
// sign of x, so a key A' whose image equals the account's X25519 key is
// ±A, where A is the Ed25519 key the account's owner derived that X25519
// key from (any A' that is not a curve point at all fails the signature
// check below). Signing as −A takes the secret scalar of A (negated), so
// nobody else can. The one difference from Session: for an account whose
// own key has a small-order component (which only a deliberately built
// account can have; every Session client derives both keys from one seed),
// Session refuses every request and Sotto lets a signature by that key
// through, which gives nobody access to another account.
func verifyAuth(acct Account, auth Auth, msg []byte, need SubaccountFlags, revoked func(SubaccountToken) bool, caches authCaches) error {
	keys := caches.keys
	if auth.Signature == nil {
		return &AuthError{reasonNoSignature}
	}
	signer := acct.key
	var (
		edKey  *key.AccountPublic
		edX    [32]byte
		cached bool
		// verified is a subaccount grant checked here, cached once the
		// request verifies too.
		verified *grant
	)
	if acct.prefix == key.PrefixStandard && auth.PubkeyEd25519 != nil {
		edKey = auth.PubkeyEd25519
		if keys != nil {
			edX, cached = keys.get(edKey)
		}
		if !cached {
			var ok bool
			if !canonicalY((*[32]byte)(edKey)) {
				return &AuthError{reasonEdMismatch}
			}
			if edX, ok = edwardsToMontgomery((*[32]byte)(edKey)); !ok {
				return &AuthError{reasonEdMismatch}
			}
		}
		if edX != acct.key {
			return &AuthError{reasonEdMismatch}
		}
		signer = *edKey
	}
	if sub := auth.Subaccount; sub != nil {
		if revoked != nil && revoked(sub.Token) {
			return &AuthError{reasonRevoked}
		}
		if !sub.Token.PrefixAllowed(acct.prefix) {
			return &AuthError{reasonSubPrefix}
		}
		if !sub.Token.Has(need) {
			return &AuthError{reasonSubFlags}
		}
		g := &grant{acct: signer, token: sub.Token, sig: sub.Sig}
		if caches.grants == nil || !caches.grants.has(g) {
			if err := verifyEd25519(signer, sub.Token[:], &sub.Sig, caches.sigs); err != nil {
				if err.Reason == reasonBadSignature {
					err.Reason = reasonSubSignature
				}
				return err
			}
			verified = g
		}
		signer = sub.Token.PublicKey()
	}
	if err := verifyEd25519(signer, msg, auth.Signature, caches.sigs); err != nil {
		return err
	}
	if verified != nil && caches.grants != nil {
		caches.grants.add(verified)
	}
	if keys != nil && edKey != nil && !cached {
		keys.add(edKey, edX)
	}
	return nil
}

// authCaches are the caches a node keeps for verifyAuth (either may be nil).
type authCaches struct {
	keys   *KeyCache
	grants *GrantCache
	sigs   *SigBatcher
}

// verifyEd25519 verifies sig with libsodium's extra rules: the key must be
// canonically encoded and not of small order, and R not of small order.
// Keys that are not curve points fail in ed25519.Verify. With a batcher,
// the signature is checked in a batch with concurrent requests' ones.
func verifyEd25519(pub [32]byte, msg []byte, sig *Signature, batch *SigBatcher) *AuthError {
	if !strongKey(&pub) {
		return &AuthError{reasonBadKey}
	}
	if hasSmallOrder((*[32]byte)(sig[:32])) {
		return &AuthError{reasonBadSignature}
	}
	var ok bool
	if batch != nil {
		ok = batch.Verify(&pub, msg, (*[64]byte)(sig))
	} else {
		ok = ed25519.Verify(pub[:], msg, sig[:])
	}
	if !ok {
		return &AuthError{reasonBadSignature}
	}
	return nil
}

// CheckTimestamp checks that the signed timestamp tsMillis is within
// window of now; otherwise it returns Session's 406 "<what> timestamp too
// far from current time" (what is the method, or "store signature").
func CheckTimestamp(what string, tsMillis int64, now time.Time, window time.Duration) error {
	n, w := now.UnixMilli(), window.Milliseconds()
	if tsMillis < n-w || tsMillis > n+w {
		return NotAcceptable(what + " timestamp too far from current time")
	}
	return nil
}

// Signed messages (session-protocol.md §3.3, Session's
// client_rpc_endpoints.h). Integers are decimal ASCII without padding;
// ns is "" for the default namespace.

func sigMessage(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func concat(ss []string) string {
	n := 0
	for _, s := range ss {
		n += len(s)
	}
	b := make([]byte, 0, n)
	for _, s := range ss {
		b = append(b, s...)
	}
	return string(b)
}

// StoreSigMessage is "store" || ns || sig_timestamp.
func StoreSigMessage(ns Namespace, sigTimestamp int64) []byte {
	return sigMessage(sigStore, ns.SigString(), itoa(sigTimestamp))
}

// RetrieveSigMessage is "retrieve" || ns || timestamp.
func RetrieveSigMessage(ns Namespace, timestamp int64) []byte {
	return sigMessage(sigRetrieve, ns.SigString(), itoa(timestamp))
}

// DeleteSigMessage is "delete" || hash[0] || hash[1] || ... (no timestamp).
func DeleteSigMessage(hashes []string) []byte {
	return sigMessage(sigDelete, concat(hashes))
}

// DeleteAllSigMessage is "delete_all" || ns || timestamp, ns being "all"
// for every namespace.
func DeleteAllSigMessage(ns NamespaceSel, timestamp int64) []byte {
	return sigMessage(sigDeleteAll, ns.SigString(), itoa(timestamp))
}

// DeleteBeforeSigMessage is "delete_before" || ns || before.
func DeleteBeforeSigMessage(ns NamespaceSel, before int64) []byte {
	return sigMessage(sigDeleteBefore, ns.SigString(), itoa(before))
}

// ExpireMode restricts an expire to shortening or extending.
type ExpireMode uint8

// Expire modes.
const (
	ExpireAny     ExpireMode = iota // set the expiry either way
	ExpireShorten                   // only shorten ("shorten": true)
	ExpireExtend                    // only extend ("extend": true)
)

// String is the word signed for the mode: "", "shorten" or "extend".
func (m ExpireMode) String() string {
	switch m {
	case ExpireShorten:
		return sigShorten
	case ExpireExtend:
		return sigExtend
	}
	return ""
}

// ExpireSigMessage is "expire" || mode || expiry || hash[0] || ..., where
// expiry is the decimal expiry, or all the expiries concatenated when the
// request gives one per message.
func ExpireSigMessage(mode ExpireMode, expiries []int64, hashes []string) []byte {
	return sigMessage(sigExpire, mode.String(), joinInts(expiries), concat(hashes))
}

func joinInts(ns []int64) string {
	b := make([]byte, 0, 13*len(ns))
	for _, n := range ns {
		b = strconv.AppendInt(b, n, 10)
	}
	return string(b)
}

// ExpireAllSigMessage is "expire_all" || ns || expiry.
func ExpireAllSigMessage(ns NamespaceSel, expiry int64) []byte {
	return sigMessage(sigExpireAll, ns.SigString(), itoa(expiry))
}

// GetExpiriesSigMessage is "get_expiries" || timestamp || hash[0] || ...
func GetExpiriesSigMessage(timestamp int64, hashes []string) []byte {
	return sigMessage(sigGetExpiries, itoa(timestamp), concat(hashes))
}

// RevokeSubaccountSigMessage is "revoke_subaccount" || timestamp ||
// token[0] || ... with the raw 36-byte tokens.
func RevokeSubaccountSigMessage(timestamp int64, tokens []SubaccountToken) []byte {
	return sigMessage(sigRevokeSubaccount, itoa(timestamp), joinTokens(tokens))
}

// UnrevokeSubaccountSigMessage is "unrevoke_subaccount" || timestamp ||
// token[0] || ...
func UnrevokeSubaccountSigMessage(timestamp int64, tokens []SubaccountToken) []byte {
	return sigMessage(sigUnrevokeSubaccount, itoa(timestamp), joinTokens(tokens))
}

func joinTokens(tokens []SubaccountToken) string {
	b := make([]byte, 0, SubaccountTokenSize*len(tokens))
	for _, t := range tokens {
		b = append(b, t[:]...)
	}
	return string(b)
}
