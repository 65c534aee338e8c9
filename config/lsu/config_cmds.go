package lsu

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"sotto.dev/config"
)

// registerConfigCommands registers config_encrypt, config_decrypt,
// padded_size, protos_wrap and protos_unwrap. Inputs are read in the
// oracle's order and its error texts are given back for missing or
// malformed inputs and for every failure of the library calls.
func (r *Runner) registerConfigCommands() {
	r.handlers["config_encrypt"] = cmdConfigEncrypt
	r.handlers["config_decrypt"] = cmdConfigDecrypt
	r.handlers["padded_size"] = cmdPaddedSize
	r.handlers["protos_wrap"] = cmdProtosWrap
	r.handlers["protos_unwrap"] = cmdProtosUnwrap
}

// The reference library's exception texts for these commands
// (encrypt.cpp:36-38,114-115,131; the oracle's own input checks).
const (
	errKeyBase      = "encrypt called with key_base != 32 bytes"
	errDomainSize   = "encrypt called with domain size not in [1, 24]"
	errShortCT      = "Decryption failed: ciphertext is too short"
	errDecryptFail  = "Message decryption failed"
	errSeedSize     = "seed must be 32 (seed) or 64 (secret key) bytes"
	encryptOverhead = config.Overhead
)

// cipherArgs reads what config_encrypt and config_decrypt share, in the
// order the oracle checks it: domain, key, then the field named data.
func cipherArgs(q *Request, data string) (domain string, keyBase, in []byte, err error) {
	if domain, err = oracleText(q, "domain"); err != nil {
		return "", nil, nil, err
	}
	if keyBase, err = oracleBytes(q, "key"); err != nil {
		return "", nil, nil, err
	}
	if in, err = oracleBytes(q, data); err != nil {
		return "", nil, nil, err
	}
	return domain, keyBase, in, nil
}

func cmdConfigEncrypt(q *Request) (Reply, error) {
	domain, keyBase, pt, err := cipherArgs(q, "plaintext")
	if err != nil {
		return nil, err
	}
	kb, err := keyBase32(keyBase)
	if err != nil {
		return nil, err
	}
	ct, err := config.Encrypt(pt, kb, domain)
	if err != nil {
		return nil, encryptError(err)
	}
	return Reply{"ciphertext": Hex(ct)}, nil
}

func cmdConfigDecrypt(q *Request) (Reply, error) {
	domain, keyBase, ct, err := cipherArgs(q, "ciphertext")
	if err != nil {
		return nil, err
	}
	if len(ct) < encryptOverhead {
		return nil, libsessionError(errShortCT)
	}
	kb, err := keyBase32(keyBase)
	if err != nil {
		return nil, err
	}
	pt, err := config.Decrypt(ct, kb, domain)
	if err != nil {
		return nil, encryptError(err)
	}
	return Reply{"plaintext": Hex(pt)}, nil
}

func cmdPaddedSize(q *Request) (Reply, error) {
	size, err := oracleInt(q, "size")
	if err != nil {
		return nil, err
	}
	overhead := int64(config.Overhead)
	if _, ok := q.Raw("overhead"); ok {
		if overhead, err = oracleInt(q, "overhead"); err != nil {
			return nil, err
		}
	}
	// size_t arithmetic, as the library does it.
	s2 := uint64(size) + uint64(overhead)
	padded := uint64(config.PaddedSize(int(s2), 0)) - uint64(overhead)
	return Reply{"padded_size": padded}, nil
}

func cmdProtosWrap(q *Request) (Reply, error) {
	sk, err := oracleSeed(q)
	if err != nil {
		return nil, err
	}
	data, err := oracleBytes(q, "data")
	if err != nil {
		return nil, err
	}
	seqno, err := oracleInt(q, "seqno")
	if err != nil {
		return nil, err
	}
	ns, err := oracleInt(q, "namespace")
	if err != nil {
		return nil, err
	}
	w, err := config.WrapConfig(sk, data, seqno, int(int16(ns)))
	if err != nil {
		return nil, wrapperError(err)
	}
	return Reply{"wrapped": Hex(w)}, nil
}

func cmdProtosUnwrap(q *Request) (Reply, error) {
	sk, err := oracleSeed(q)
	if err != nil {
		return nil, err
	}
	data, err := oracleBytes(q, "data")
	if err != nil {
		return nil, err
	}
	ns, err := oracleInt(q, "namespace")
	if err != nil {
		return nil, err
	}
	inner, err := config.UnwrapConfig(sk, data, int(int16(ns)))
	if err != nil {
		return nil, wrapperError(err)
	}
	return Reply{"data": Hex(inner)}, nil
}

// libsessionError is an error whose text is the reference library's own,
// capitals and all.
type libsessionError string

func (e libsessionError) Error() string { return string(e) }

func keyBase32(b []byte) ([32]byte, error) {
	if len(b) != 32 {
		return [32]byte{}, libsessionError(errKeyBase)
	}
	return [32]byte(b), nil
}

// encryptError gives the library's text for an error of config.Encrypt or
// config.Decrypt.
func encryptError(err error) error {
	switch {
	case errors.Is(err, config.ErrDomain):
		return libsessionError(errDomainSize)
	case errors.Is(err, config.ErrShortCiphertext):
		return libsessionError(errShortCT)
	case errors.Is(err, config.ErrDecrypt):
		return libsessionError(errDecryptFail)
	}
	return err
}

// wrapperError gives the library's text for an error of the protobuf
// wrapper.
func wrapperError(err error) error {
	var we *config.WrapperError
	if errors.As(err, &we) {
		return libsessionError(we.Reason)
	}
	return err
}

// oracleSeed reads "seed", a 32-byte Ed25519 seed or a 64-byte secret key.
func oracleSeed(q *Request) (ed25519.PrivateKey, error) {
	b, err := oracleBytes(q, "seed")
	if err != nil {
		return nil, err
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		return ed25519.NewKeyFromSeed(b[:ed25519.SeedSize]), nil
	}
	return nil, libsessionError(errSeedSize)
}

// oracleBytes reads a required byte input with the oracle's error texts.
func oracleBytes(q *Request, name string) ([]byte, error) {
	if !q.Has(name) {
		return nil, fmt.Errorf("missing required byte field '%s' (or '%s_text')", name, name)
	}
	if raw, ok := q.Raw(name); ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, typeError("string", raw)
		}
		if _, err := hex.DecodeString(s); err != nil {
			return nil, fmt.Errorf("not valid hex: %s", s)
		}
	}
	return q.Bytes(name)
}

// oracleText reads a required text input with the oracle's error texts.
func oracleText(q *Request, name string) (string, error) {
	raw, ok := q.Raw(name)
	if !ok {
		if _, hasHex := q.Raw(name + "_hex"); hasHex {
			return q.Text(name)
		}
		return "", notFound(name)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", typeError("string", raw)
	}
	return s, nil
}

// oracleInt reads a required integer input with the oracle's error texts.
func oracleInt(q *Request, name string) (int64, error) {
	raw, ok := q.Raw(name)
	if !ok {
		return 0, notFound(name)
	}
	if jsonType(raw) != "number" {
		return 0, typeError("number", raw)
	}
	i, _, err := q.IntOK(name)
	return i, err
}

func notFound(name string) error {
	return fmt.Errorf("[json.exception.out_of_range.403] key '%s' not found", name)
}

func typeError(want string, raw json.RawMessage) error {
	return fmt.Errorf("[json.exception.type_error.302] type must be %s, but is %s", want, jsonType(raw))
}

// jsonType names a JSON value's type as nlohmann::json does.
func jsonType(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "null"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
