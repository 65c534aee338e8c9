package fileserver

import (
	"crypto/ed25519"
	"net/http"
	"strconv"
	"time"

	"sotto.dev/internal/serverauth"

	"golang.org/x/crypto/blake2b"

	"sotto.dev/key"
)

// authError is a failed version-check authentication: the status and the
// plain-text reason session-file-server answers with.
type authError struct {
	status int
	msg    string
}

func (e *authError) Error() string { return e.msg }

// checkVersionAuth checks the optional X-FS-* headers of GET
// /session_version (§5.3; session-file-server routes.py
// valid_blinded_version_id_for_auth): absent altogether is fine (ok is
// false); otherwise the 07 key must sign timestamp || METHOD || PATH
// [|| "?" query] [|| BLAKE2b-512(body)], with the timestamp within a day of
// now.
func checkVersionAuth(h http.Header, method, path, rawQuery string, body []byte, now time.Time) (id key.BlindedID, ok bool, err error) {
	pk, ts, sig := h.Get(headerPubkey), h.Get(headerTimestamp), h.Get(headerSignature)
	missing := 0
	for _, v := range []string{pk, ts, sig} {
		if v == "" {
			missing++
		}
	}
	switch missing {
	case 3:
		return key.BlindedID{}, false, nil
	case 1, 2:
		return key.BlindedID{}, false, &authError{http.StatusBadRequest, "Invalid authentication: one or more X-FS-* auth headers is missing"}
	}
	pkb, derr := serverauth.DecodeHexOrBase64(pk, 33)
	if derr != nil {
		return key.BlindedID{}, false, &authError{http.StatusBadRequest, "Invalid authentication: X-FS-Pubkey is not a valid 66-hex digit id"}
	}
	if key.Prefix(pkb[0]) != key.PrefixVersion {
		return key.BlindedID{}, false, &authError{http.StatusBadRequest, "Invalid authentication: X-FS-Pubkey must be 07- prefixed"}
	}
	if !serverauth.ValidPoint(pkb[1:]) {
		return key.BlindedID{}, false, &authError{http.StatusBadRequest, "Invalid authentication: given X-FS-Pubkey is not a valid Ed25519 pubkey"}
	}
	sigb, derr := serverauth.DecodeHexOrBase64(sig, ed25519.SignatureSize)
	if derr != nil {
		return key.BlindedID{}, false, &authError{http.StatusBadRequest, "Invalid authentication: X-FS-Signature is not base64[86]"}
	}
	t, perr := strconv.ParseInt(ts, 10, 64)
	if perr != nil {
		return key.BlindedID{}, false, &authError{http.StatusBadRequest, "Invalid authentication: X-FS-Timestamp is not a valid timestamp"}
	}
	if d := now.Sub(time.Unix(t, 0)); d > authClockWindow || d < -authClockWindow {
		return key.BlindedID{}, false, &authError{http.StatusTooEarly, "Invalid authentication: X-FS-Timestamp is too far from current time"}
	}
	msg := strconv.AppendInt(nil, t, 10)
	msg = append(msg, method...)
	msg = append(msg, path...)
	if rawQuery != "" {
		msg = append(append(msg, '?'), rawQuery...)
	}
	if len(body) > 0 {
		hb := blake2b.Sum512(body)
		msg = append(msg, hb[:]...)
	}
	if !ed25519.Verify(ed25519.PublicKey(pkb[1:]), msg, sigb) {
		return key.BlindedID{}, false, &authError{http.StatusUnauthorized, "Invalid authentication: X-FS-Signature verification failed"}
	}
	return key.NewBlindedID(key.PrefixVersion, [32]byte(pkb[1:])), true, nil
}
