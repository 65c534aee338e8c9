// Package onion implements Session's onion requests (shared/spec
// session-protocol.md §4), shared by the client, the relay in every
// service node and any HTTP server that is an onion destination:
//
//   - hop crypto: per-layer X25519 with an ephemeral key, AES-256-GCM
//     ("aes-gcm", key HMAC-SHA256("LOKI", shared)) or XChaCha20-Poly1305
//     ("xchacha20", key BLAKE2b-256(shared || E || B)) — LayerKey,
//     ClientLayerKey, ServerLayerKey;
//   - the hop framing [u32 LE len][blob][JSON object] — EncodeHop,
//     ParseHop, and the control objects a layer carries (LayerInfo,
//     RelayControl, SnodeControl, ServerControl, ParseControl);
//   - client request building and reply decoding — BuildSnodeRequest,
//     BuildServerRequest, DecodeSnodeResponse, DecodeServerResponse;
//   - the v4 server codec l<len>:<json><len>:<body>e — EncodeV4Request,
//     DecodeV4Request, EncodeV4Response, DecodeV4Response — and V4Handler,
//     which makes any http.Handler an onion destination;
//   - the Sotto form, Sotto's own extension that relays and clients
//     negotiate (docs/onion.md): padded request layers, replies padded to
//     size classes and re-encrypted at every hop — BuildSottoSnodeRequest,
//     BuildSottoServerRequest, DecodeSottoSnodeResponse, ReplyKey, Pad,
//     Unpad, SizeClass, SpeaksSotto.
//
// Keys are the types of package sotto.dev/key: a hop is named by its
// key.NodePublic and encrypted to its key.OnionPublic; a node opens layers
// with its key.OnionPrivate.
//
// The package imports only the standard library, golang.org/x/crypto and
// sotto.dev/key, and never logs. Parsers are exact and return typed errors (*FrameError,
// *ControlError, *KeyError, *V4Error, *CipherError, *PadError, or ErrDecrypt).
//
// Secrets: key.OnionPrivate, LayerKey and ReplyKey have no String method and redact
// themselves in slog. Builders wipe the layer keys they do not return, and
// LayerKey.Destroy wipes a key's bytes; the expanded AES and ChaCha20
// state inside the standard library and the ecdh.PrivateKey copy inside a
// KeyPair cannot be wiped from Go.
package onion
