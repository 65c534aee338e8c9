package identity

// Hash keys and domain strings. Each is used as the raw key of an unkeyed or
// keyed BLAKE2b (libsodium crypto_generichash) unless stated otherwise; the
// comment names the section of spec/session-protocol.md that defines it.
const (
	// labelBlind25Seed keys BLAKE2b-256 over seed32 to derive the secret
	// from which blind25 signature nonces are made (§5.2).
	labelBlind25Seed = "SessCommBlind25_seed"

	// labelBlind25Sig keys BLAKE2b-512 over seedhash || P || M, with P the
	// 25-blinded public key: the blind25 signature nonce (§5.2).
	labelBlind25Sig = "SessCommBlind25_sig"

	// labelVersionCheck keys BLAKE2b-256 over seed32 to derive the seed of the
	// 07 version-check key pair used with the file server (§5.3).
	labelVersionCheck = "VersionCheckKey_sig"

	// labelXEd25519Personal is the 16-byte BLAKE2b personalisation of the
	// xed25519 signature nonce hash (§5.5, §11; libsession-util
	// src/xed25519.cpp, xed25519_compute_r).
	labelXEd25519Personal = "xed25519signatur"
)

// Sotto's own labels (not part of the Session protocol; docs/identity.md).
const (
	// keyFileFormat is the "format" field of an identity file.
	keyFileFormat = "sotto-identity"

	// labelKeyFileAAD starts the associated data that binds an encrypted
	// identity file's header (version, Session ID, KDF parameters) to its
	// ciphertext.
	labelKeyFileAAD = "sotto-identity-file-v1"
)
