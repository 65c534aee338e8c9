package sessionproto

import (
	"crypto/ed25519"
	"encoding/base64"
	"strconv"

	"golang.org/x/crypto/blake2b"

	"sotto.dev/identity"
	"sotto.dev/key"
)

// SOGSOptions selects how a SOGS request is signed.
type SOGSOptions struct {
	// Unblinded signs with the account's plain Ed25519 key and shows it as
	// 00 || A. The default is the 15-blinded key, which servers may require.
	Unblinded bool
	// Nonce selects the blind15 nonce derivation; both are valid and
	// verifiers cannot tell them apart (spec §5.1). The zero value is
	// identity.NonceSK64, libsession's; identity.NonceSeed reproduces
	// Session desktop's signatures byte for byte.
	Nonce identity.NonceKey
}

// SOGSHeaders returns the four X-SOGS-* headers that authenticate a request
// to the community server serverPK (spec §5.4; session-desktop
// sogsBlinding.ts getOpenGroupHeaders, session-pysogs auth): the signature
// covers serverPK || nonce || ts || method || path, followed by
// BLAKE2b-512(body) when body is not empty. ts is in unix seconds; method
// is the upper-case HTTP method; path is the URL-decoded path with its
// query, starting with "/". nonce must be fresh random bytes for every
// request. The headers go on the inner request (inside the onion request),
// and for /batch and /sequence on the outer request only.
func SOGSHeaders(keys *identity.Keys, serverPK [32]byte, ts int64, nonce [16]byte, method, path string, body []byte, opts SOGSOptions) (map[string]string, error) {
	if ts < 0 {
		return nil, &RequestError{Field: "timestamp", Reason: "is negative"}
	}
	if !validMethod(method) {
		return nil, &RequestError{Field: "method", Reason: "must be upper-case letters, e.g. GET"}
	}
	if len(path) == 0 || path[0] != '/' {
		return nil, &RequestError{Field: "path", Reason: `must start with "/"`}
	}
	tsText := strconv.FormatInt(ts, 10)

	msg := make([]byte, 0, 32+16+len(tsText)+len(method)+len(path)+blake2b.Size)
	msg = append(msg, serverPK[:]...)
	msg = append(msg, nonce[:]...)
	msg = append(msg, tsText...)
	msg = append(msg, method...)
	msg = append(msg, path...)
	if len(body) > 0 {
		h := blake2b.Sum512(body)
		msg = append(msg, h[:]...)
	}

	var pubkey string
	var sig [64]byte
	if opts.Unblinded {
		A := keys.Ed25519Public()
		pubkey = key.NewSessionID(key.PrefixUnblinded, A).String()
		sk := keys.Ed25519Private()
		copy(sig[:], ed25519.Sign(sk, msg))
		clear(sk)
	} else {
		kp, err := keys.Blind15(serverPK)
		if err != nil {
			return nil, err
		}
		wipeScalar(kp.Scalar)
		pubkey = kp.ID().String()
		if sig, err = keys.Blind15Sign(serverPK, msg, opts.Nonce); err != nil {
			return nil, err
		}
	}
	return map[string]string{
		HeaderSOGSPubkey:    pubkey,
		HeaderSOGSTimestamp: tsText,
		HeaderSOGSNonce:     base64.StdEncoding.EncodeToString(nonce[:]),
		HeaderSOGSSignature: base64.StdEncoding.EncodeToString(sig[:]),
	}, nil
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return false
		}
	}
	return true
}
