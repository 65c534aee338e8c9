// Package attachment is the codec of Session's encrypted attachments and
// profile pictures (shared/spec/session-protocol.md §8, docs/attachments.md):
//
//   - the deterministic form (Seal, Encrypt, Open, Decrypt): 'S', a
//     libsodium secretstream (XChaCha20-Poly1305, 32 KiB chunks) keyed by a
//     BLAKE2b of the plaintext under the uploader's seed, with padding
//     00…00 01 that rounds the size to one of libsession's buckets;
//   - the legacy form (SealLegacy, EncryptLegacy, OpenLegacy,
//     DecryptLegacy): AES-256-CBC with HMAC-SHA256 and desktop's zero
//     padding, checked against AttachmentPointer's digest and size;
//   - legacy profile pictures (SealProfile, OpenProfile): AES-256-GCM;
//   - attachment URLs with their fragment parameters (ParseURL), and
//     Sotto's manifest of a large file uploaded in parts (ParseManifest).
//
// It does no networking and imports no server. Decryption verifies before
// it hands anything over: the legacy form checks MAC and digest over the
// whole blob before it decrypts a byte; the deterministic form
// authenticates each chunk before writing it (see Decrypt for what a
// caller does with a stream that fails part way).
//
// Keys, seeds and plaintext buffers the package owns are cleared when it is
// done with them. Go cannot wipe what the runtime copied (a slice grown by
// append, a stack moved), what crypto/aes and crypto/cipher keep in their
// own state, or the caller's buffers.
package attachment
