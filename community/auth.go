package community

import (
	"crypto/ed25519"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync"
	"time"

	"filippo.io/edwards25519"

	"sotto.dev/internal/serverauth"

	"golang.org/x/crypto/blake2b"

	"sotto.dev/key"
)

// authWindow is how far X-SOGS-Timestamp may be from the server's clock
// (spec §5.4).
const authWindow = 24 * time.Hour

// authError is a refused request: its status and the plain-text reason
// session-pysogs answers with (routes/auth.py).
type authError struct {
	status int
	msg    string
}

func (e *authError) Error() string { return e.msg }

// signer is an authenticated request's key: its prefix (00, 15 or 25) and
// Ed25519 key, shown as the 66-hex id.
type signer struct {
	id    string
	nonce [16]byte
	ts    int64
}

// authRequest is what X-SOGS-Signature covers besides the headers.
type authRequest struct {
	method string
	path   string // URL-decoded, with "?query" when there is one
	body   []byte
}

// verifyAuth checks the X-SOGS-* headers h of req for the server key
// serverPK (spec §5.4): all absent is an anonymous request (ok false);
// some absent or malformed is 400; a timestamp more than a day off 425; a
// signature that does not verify 401; a nonce seen before 425. A blinded
// key is required when requireBlind is set. The nonce is recorded only
// for a request whose signature verifies.
func verifyAuth(h http.Header, req authRequest, serverPK [32]byte, now time.Time, requireBlind bool, nonces *nonceCache) (signer, bool, error) {
	pk, ts, nonce, sig := h.Get(headerPubkey), h.Get(headerTimestamp), h.Get(headerNonce), h.Get(headerSignature)
	missing := 0
	for _, v := range []string{pk, ts, nonce, sig} {
		if v == "" {
			missing++
		}
	}
	switch {
	case missing == 4:
		return signer{}, false, nil
	case missing > 0:
		return signer{}, false, &authError{http.StatusBadRequest, "Invalid authentication headers: missing " + strconv.Itoa(missing) + "/4 required X-SOGS-* headers"}
	}
	pkb, err := hex.DecodeString(pk)
	if err != nil || len(pkb) != 33 {
		return signer{}, false, &authError{http.StatusBadRequest, "Invalid authentication: X-SOGS-Pubkey is not a valid 66-hex digit id"}
	}
	switch key.Prefix(pkb[0]) {
	case key.PrefixBlind15, key.PrefixBlind25:
	case key.PrefixUnblinded:
		if requireBlind {
			return signer{}, false, &authError{http.StatusBadRequest, "Invalid authentication: this server requires the use of blinded ids"}
		}
	default:
		return signer{}, false, &authError{http.StatusBadRequest, "Invalid authentication: X-SOGS-Pubkey must be 00-, 15- or 25- prefixed"}
	}
	if !serverauth.ValidPoint(pkb[1:]) {
		return signer{}, false, &authError{http.StatusBadRequest, "Invalid authentication: given X-SOGS-Pubkey is not a valid Ed25519 pubkey"}
	}
	nb, err := serverauth.DecodeHexOrBase64(nonce, 16)
	if err != nil {
		return signer{}, false, &authError{http.StatusBadRequest, "Invalid authentication: X-SOGS-Nonce must be 16 bytes (encoded as base64 or hex)"}
	}
	sb, err := serverauth.DecodeHexOrBase64(sig, ed25519.SignatureSize)
	if err != nil {
		return signer{}, false, &authError{http.StatusBadRequest, "Invalid authentication: X-SOGS-Signature is not base64[88]"}
	}
	t, err := parseTimestamp(ts)
	if err != nil {
		return signer{}, false, &authError{http.StatusBadRequest, "Invalid authentication: X-SOGS-Timestamp is not a valid timestamp"}
	}
	if d := now.Sub(time.Unix(t, 0)); d > authWindow || d < -authWindow {
		return signer{}, false, &authError{http.StatusTooEarly, "Invalid authentication: X-SOGS-Timestamp is too far from current time"}
	}
	msg := make([]byte, 0, 32+16+len(ts)+len(req.method)+len(req.path)+blake2b.Size)
	msg = append(msg, serverPK[:]...)
	msg = append(msg, nb...)
	msg = append(msg, ts...)
	msg = append(msg, req.method...)
	msg = append(msg, req.path...)
	if len(req.body) > 0 {
		hb := blake2b.Sum512(req.body)
		msg = append(msg, hb[:]...)
	}
	if !ed25519.Verify(ed25519.PublicKey(pkb[1:]), msg, sb) {
		return signer{}, false, &authError{http.StatusUnauthorized, "Invalid authentication: X-SOGS-Signature verification failed"}
	}
	switch nonces.use([16]byte(nb), t, now) {
	case nonceReused:
		return signer{}, false, &authError{http.StatusTooEarly, "Invalid authentication: X-SOGS-Nonce cannot be reused"}
	case nonceFull:
		return signer{}, false, &authError{http.StatusTooManyRequests, "Too many requests"}
	}
	return signer{id: signerID(pkb), nonce: [16]byte(nb), ts: t}, true, nil
}

// signerID is the id a request's signer is known by: a blinded key as it
// is, an unblinded (00) Ed25519 key as the Session ID it belongs to, 05
// and the key's Montgomery form, as session-pysogs records such users
// (routes/auth.py), so that a moderator names them by their Session ID.
// pkb is a valid point (checked by the caller).
func signerID(pkb []byte) string {
	if key.Prefix(pkb[0]) != key.PrefixUnblinded {
		return hex.EncodeToString(pkb)
	}
	P, err := new(edwards25519.Point).SetBytes(pkb[1:])
	if err != nil {
		return hex.EncodeToString(pkb)
	}
	return hex.EncodeToString([]byte{byte(key.PrefixStandard)}) + hex.EncodeToString(P.BytesMontgomery())
}

// parseTimestamp parses decimal unix seconds: digits only, as SOGSHeaders
// writes them (a leading '-' for the negative values no client sends).
func parseTimestamp(s string) (int64, error) {
	if s == "" || len(s) > 19 || s[0] == '+' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(s, 10, 64)
}

type nonceResult int

const (
	nonceFresh nonceResult = iota
	nonceReused
	nonceFull
)

// nonceCache remembers the nonces of verified requests until their
// timestamps leave the ±24 h window, after which a replay is refused by
// the timestamp check. Nonces are kept in one set per hour of their
// timestamp, so expiry drops whole sets; max bounds the nonces held
// (beyond it, requests are refused with 429 until sets expire).
type nonceCache struct {
	max int

	mu    sync.Mutex
	n     int
	slots map[int64]map[[16]byte]struct{} // hour of the timestamp → nonces
}

const nonceSlot = int64(time.Hour / time.Second)

func newNonceCache(max int) *nonceCache {
	return &nonceCache{max: max, slots: map[int64]map[[16]byte]struct{}{}}
}

func (c *nonceCache) use(n [16]byte, ts int64, now time.Time) nonceResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A slot expires when its newest timestamp is older than the window.
	oldest := now.Add(-authWindow).Unix()
	for k, set := range c.slots {
		if (k+1)*nonceSlot <= oldest {
			c.n -= len(set)
			delete(c.slots, k)
		}
	}
	for _, set := range c.slots {
		if _, ok := set[n]; ok {
			return nonceReused
		}
	}
	if c.n >= c.max {
		return nonceFull
	}
	k := ts / nonceSlot
	if ts < 0 && ts%nonceSlot != 0 {
		k--
	}
	set := c.slots[k]
	if set == nil {
		set = map[[16]byte]struct{}{}
		c.slots[k] = set
	}
	set[n] = struct{}{}
	c.n++
	return nonceFresh
}
