package onion

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"golang.org/x/crypto/blake2b"

	"sotto.dev/key"
)

// The Sotto form of an onion request (docs/onion.md "The Sotto form"):
// the same layer crypto, framing and control objects as Session's, plus
//
//   - every request layer's plaintext is padded ([u32 LE n][n bytes][zeros])
//     so that the innermost layer is a size class and each outer layer is
//     hopBudget bytes larger: a hop sees only the class and its position;
//   - the node that answers pads its reply to a size class, and every node
//     on the way back XORs it with an AES-CTR key stream under its own reply
//     key (ReplyKey, derived from its layer key): the reply is the same size
//     but different bytes at every hop, and only the client, which has all
//     the reply keys, can remove them.
//
// Integrity is end to end: the answering node's AEAD covers the content
// and the client requires the padding to be zeros, so a hop that alters
// any byte of the reply is detected (DecodeSottoSnodeResponse).

// SottoVersion is the value of the "sotto" key in a Sotto-form LayerInfo.
const SottoVersion = 1

// SottoNodeVersion is the version a node that relays the Sotto form
// announces in its uptime proofs (and so in get_service_nodes'
// storage_server_version and in proven node lists): Session's storage RPC
// 2.11.0 plus the Sotto onion form at patch level 1. Clients no longer
// read it: the form is negotiated by CapSottoOnion.
var SottoNodeVersion = [3]uint16{2, 11, 1}

// CapSottoOnion is the capability bit of a node that relays the Sotto
// form. A node sets it in its uptime proofs (state.UptimeProof.Caps); the
// ledger commits it in the node list (nodeproof.Node.Caps) and answers it
// as get_service_nodes' "capabilities" (docs/onion.md "Negotiation").
const CapSottoOnion uint32 = 1 << 0

// SpeaksSotto reports whether a node that announces the capability bits
// caps relays the Sotto form: CapSottoOnion is set.
func SpeaksSotto(caps uint32) bool { return caps&CapSottoOnion != 0 }

// MaxPadded is the largest size class: a relay's 16 MiB body limit.
const MaxPadded = 16 << 20

// SizeClass returns the smallest size class of at least n bytes: 1, 4, 16,
// 64 and 256 KiB, then multiples of 256 KiB up to MaxPadded. ok is false
// when n is larger than MaxPadded.
func SizeClass(n int) (class int, ok bool) {
	const step = 256 << 10
	if n < 0 || n > MaxPadded {
		return 0, false
	}
	for c := 1 << 10; c < step; c <<= 2 {
		if n <= c {
			return c, true
		}
	}
	return max(step, (n+step-1)/step*step), true
}

// IsSizeClass reports whether n is one of the size classes.
func IsSizeClass(n int) bool {
	c, ok := SizeClass(n)
	return ok && c == n
}

// PadError reports a padded plaintext that is malformed.
type PadError struct{ Reason string }

func (e *PadError) Error() string { return "onion: padded plaintext: " + e.Reason }

// Pad returns [u32 LE len(content)][content][zeros], total bytes long.
func Pad(content []byte, total int) ([]byte, error) {
	if total < padPrefix+len(content) {
		return nil, &PadError{Reason: fmt.Sprintf("%d bytes do not fit in %d", len(content), total)}
	}
	out := make([]byte, total)
	binary.LittleEndian.PutUint32(out, uint32(len(content)))
	copy(out[padPrefix:], content)
	return out, nil
}

// Unpad returns the content of a padded plaintext. It is exact: the length
// must fit and every padding byte must be zero. The result aliases b.
func Unpad(b []byte) ([]byte, error) {
	if len(b) < padPrefix {
		return nil, &PadError{Reason: "shorter than its length"}
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-padPrefix) {
		return nil, &PadError{Reason: fmt.Sprintf("length %d past the end (%d bytes)", n, len(b)-padPrefix)}
	}
	end := padPrefix + int(n)
	var or byte
	for _, c := range b[end:] {
		or |= c
	}
	if or != 0 {
		return nil, &PadError{Reason: "padding is not zeros"}
	}
	return b[padPrefix:end:end], nil
}

// PadReply pads a reply to its size class.
func PadReply(content []byte) ([]byte, error) {
	c, ok := SizeClass(padPrefix + len(content))
	if !ok {
		return nil, &PadError{Reason: fmt.Sprintf("a %d-byte reply is larger than the largest class", len(content))}
	}
	return Pad(content, c)
}

// ReplyKey is one hop's key for its layer of a Sotto reply: an AES-256-CTR
// key stream (zero IV: the key is fresh for every request, as the layer's
// ephemeral key is) XORed over the reply. Applying it twice removes it.
// AES-CTR rather than ChaCha20: the standard library's is assembly on the
// CPUs relays run on, several times the pure-Go ChaCha20 here, and the
// key stream covers the whole padded reply at every hop.
type ReplyKey struct{ key [32]byte }

// ReplyKey derives the hop's reply key, BLAKE2b-256(key = layer key,
// replyKeyLabel). The client and the hop derive the same one.
func (k *LayerKey) ReplyKey() *ReplyKey {
	h, _ := blake2b.New256(k.key[:]) // a 32-byte key is always valid
	h.Write([]byte(replyKeyLabel))
	rk := &ReplyKey{}
	h.Sum(rk.key[:0])
	return rk
}

// Apply XORs the key stream over b in place.
func (rk *ReplyKey) Apply(b []byte) {
	block, _ := aes.NewCipher(rk.key[:]) // a 32-byte key is always valid
	var iv [aes.BlockSize]byte
	cipher.NewCTR(block, iv[:]).XORKeyStream(b, b)
}

// Destroy wipes the key.
func (rk *ReplyKey) Destroy() { clear(rk.key[:]) }

// LogValue keeps the key out of logs.
func (rk *ReplyKey) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// SottoReply is what a client keeps to read the reply of a Sotto-form
// request: the reply key of every node that handles it, in path order,
// and the destination's layer key.
type SottoReply struct {
	replies []*ReplyKey
	dest    *LayerKey
}

// Destroy wipes the keys.
func (r *SottoReply) Destroy() {
	for _, rk := range r.replies {
		rk.Destroy()
	}
	r.dest.Destroy()
}

// BuildSottoSnodeRequest is BuildSnodeRequest in the Sotto form. Every
// path hop and dest must speak it (SpeaksSotto).
func BuildSottoSnodeRequest(path []Hop, dest Hop, payload []byte, c Cipher) ([]byte, *SottoReply, error) {
	return buildSottoSnode(rand.Reader, path, dest, payload, c)
}

// BuildSottoServerRequest is BuildServerRequest in the Sotto form: every
// path hop must speak it; the server sees Session's v4 request unchanged
// (the last path hop pads the server's reply).
func BuildSottoServerRequest(path []Hop, server ServerDest, v4req []byte, c Cipher) ([]byte, *SottoReply, error) {
	return buildSottoServer(rand.Reader, path, server, v4req, c)
}

func buildSottoSnode(r io.Reader, path []Hop, dest Hop, payload []byte, c Cipher) ([]byte, *SottoReply, error) {
	if err := checkBuild(path, c, 0); err != nil {
		return nil, nil, err
	}
	frame, err := EncodeHop(payload, (&SnodeControl{Base64: true}).Marshal())
	if err != nil {
		return nil, nil, err
	}
	ct, eph, lk, err := sottoLayer(r, c, dest.X25519, frame, 0)
	if err != nil {
		return nil, nil, err
	}
	rep := &SottoReply{dest: lk}
	route := &RelayControl{Destination: dest.Node, EphemeralKey: eph, Cipher: c}
	body, err := wrapSottoPath(r, path, c, ct, eph, route, rep)
	if err != nil {
		return nil, nil, err
	}
	rep.replies = append(rep.replies, lk.ReplyKey())
	return body, rep, nil
}

func buildSottoServer(r io.Reader, path []Hop, s ServerDest, v4req []byte, c Cipher) ([]byte, *SottoReply, error) {
	// The server layer is Session's; build it as BuildServerRequest does
	// and take the route it made.
	if err := checkBuild(path, c, 1); err != nil {
		return nil, nil, err
	}
	route, err := serverRoute(s, c)
	if err != nil {
		return nil, nil, err
	}
	ct, eph, lk, err := encryptLayer(r, c, s.X25519, v4req)
	if err != nil {
		return nil, nil, err
	}
	route.EphemeralKey = eph
	rep := &SottoReply{dest: lk}
	body, err := wrapSottoPath(r, path, c, ct, eph, route, rep)
	if err != nil {
		return nil, nil, err
	}
	return body, rep, nil
}

// wrapSottoPath adds the padded path layers around ct and the outer
// LayerInfo frame, and records each hop's reply key in rep. The innermost
// Sotto layer (the destination's for a snode, else the last hop's) is a
// size class; each outer one is hopBudget bytes larger.
func wrapSottoPath(r io.Reader, path []Hop, c Cipher, ct []byte, eph key.OnionPublic, route Control, rep *SottoReply) ([]byte, error) {
	control := route
	size := 0 // the first wrapped layer is a size class when ct is not padded (server route)
	if _, isServer := route.(*ServerControl); !isServer {
		size = len(ct) + hopBudget
	}
	keys := make([]*ReplyKey, len(path))
	for i := len(path) - 1; i >= 0; i-- {
		if i < len(path)-1 {
			control = &RelayControl{Destination: path[i+1].Node, EphemeralKey: eph, Cipher: c}
		}
		frame, err := EncodeHop(ct, control.Marshal())
		if err != nil {
			return nil, err
		}
		var lk *LayerKey
		ct, eph, lk, err = sottoLayer(r, c, path[i].X25519, frame, size)
		if err != nil {
			return nil, err
		}
		keys[i] = lk.ReplyKey()
		lk.Destroy()
		size = len(ct) + hopBudget
	}
	rep.replies = append(keys, rep.replies...)
	return EncodeHop(ct, LayerInfo{EphemeralKey: eph, Cipher: c, Sotto: SottoVersion}.Marshal())
}

// sottoLayer pads frame so that the layer's ciphertext is size bytes (a
// size class when size is 0) and encrypts it to remote.
func sottoLayer(r io.Reader, c Cipher, remote key.OnionPublic, frame []byte, size int) ([]byte, key.OnionPublic, *LayerKey, error) {
	need := padPrefix + len(frame) + c.Overhead()
	if size == 0 {
		var ok bool
		if size, ok = SizeClass(need); !ok {
			return nil, key.OnionPublic{}, nil, &BuildError{Reason: fmt.Sprintf("a %d-byte layer is larger than the largest size class", need)}
		}
	}
	if need > size {
		return nil, key.OnionPublic{}, nil, &BuildError{Reason: fmt.Sprintf("a hop's control object is too long for the Sotto form (%d bytes over)", need-size)}
	}
	padded, err := Pad(frame, size-c.Overhead())
	if err != nil {
		return nil, key.OnionPublic{}, nil, err
	}
	return encryptLayer(r, c, remote, padded)
}

// openSotto removes every reply layer and the padding and opens the
// destination's ciphertext. Any altered byte fails here: the key streams
// move a change to the same place, where it breaks the padding or the
// destination's AEAD.
func openSotto(r *SottoReply, httpStatus int, body []byte) ([]byte, error) {
	if httpStatus != http.StatusOK {
		return nil, &PathError{Status: httpStatus, Body: append([]byte(nil), body...)}
	}
	if !IsSizeClass(len(body)) {
		return nil, &ResponseError{Reason: fmt.Sprintf("a Sotto reply of %d bytes is not a size class", len(body))}
	}
	buf := append([]byte(nil), body...)
	for _, rk := range r.replies {
		rk.Apply(buf)
	}
	content, err := Unpad(buf)
	if err != nil {
		return nil, fmt.Errorf("decrypt reply: %w (%v)", ErrDecrypt, err)
	}
	pt, err := r.dest.Open(content)
	if err != nil {
		return nil, fmt.Errorf("decrypt reply: %w", err)
	}
	return pt, nil
}

// DecodeSottoSnodeResponse is DecodeSnodeResponse for a Sotto-form
// request. A reply that any hop altered gives an error wrapping ErrDecrypt.
func DecodeSottoSnodeResponse(r *SottoReply, httpStatus int, body []byte) (SnodeResponse, error) {
	pt, err := openSotto(r, httpStatus, body)
	if err != nil {
		return SnodeResponse{}, err
	}
	return decodeSnodePlain(pt)
}

// DecodeSottoServerResponse is DecodeServerResponse for a Sotto-form
// request.
func DecodeSottoServerResponse(r *SottoReply, httpStatus int, body []byte) (V4Response, error) {
	pt, err := openSotto(r, httpStatus, body)
	if err != nil {
		return V4Response{}, err
	}
	return DecodeV4Response(pt)
}

// SealSottoReply is how the node that answers a Sotto-form request
// encrypts it: content (already sealed for the client, or a server's
// reply) padded to its size class, then the node's reply layer.
func SealSottoReply(rk *ReplyKey, content []byte) ([]byte, error) {
	out, err := PadReply(content)
	if err != nil {
		return nil, err
	}
	rk.Apply(out)
	return out, nil
}
