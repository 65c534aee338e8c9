package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
)

// Limits of a community address (libsession community.hpp:18-21).
const (
	MaxBaseURLLength = 267 // "https://" + a 253-byte host + ":65535"
	MaxRoomLength    = 64
)

// Errors of community addresses (libsession community.cpp).
var (
	ErrURLProtocol    = errors.New("config: community URL: invalid or missing protocol://")
	ErrURLHost        = errors.New("config: community URL: invalid hostname")
	ErrURLPort        = errors.New("config: community URL: invalid port")
	ErrURLTrailing    = errors.New("config: community URL: unexpected trailing value")
	ErrURLTooLong     = errors.New("config: community URL: base URL is too long")
	ErrRoomTooLong    = errors.New("config: community room: too long")
	ErrRoomEmpty      = errors.New("config: community room: empty")
	ErrRoomCharacters = errors.New("config: community room: invalid characters")
	ErrCommunityKey   = errors.New("config: community pubkey: expected hex, base32z or base64")
)

// Community is the address of a community room: the canonical base URL
// of its server, the room token as the user typed it, and the server's
// X25519 public key. Configs key rooms by RoomKey, the lower-case token.
type Community struct {
	BaseURL string
	Room    string
	Pubkey  [32]byte
}

// NewCommunity canonicalizes baseURL and checks room, as libsession's
// community constructor does.
func NewCommunity(baseURL, room string, pubkey [32]byte) (Community, error) {
	u, err := CanonicalURL(baseURL)
	if err != nil {
		return Community{}, err
	}
	if _, err := CanonicalRoom(room); err != nil {
		return Community{}, err
	}
	return Community{BaseURL: u, Room: room, Pubkey: pubkey}, nil
}

// RoomKey is the lower-case room token that keys the room in a config.
func (c Community) RoomKey() string { return lowerASCII(c.Room) }

// CanonicalURL returns a community server URL in canonical form
// (community.cpp, parse_url and canonical_url): "http://" or "https://",
// the lower-case host name, and the port only when it is not the
// protocol's default. Nothing may follow the host and port but one "/".
func CanonicalURL(url string) (string, error) {
	var proto string
	if i := strings.Index(url, "://"); i >= 0 {
		switch strings.ToLower(url[:i]) {
		case "http":
			proto = "http://"
		case "https":
			proto = "https://"
		}
		url = url[i+3:]
	}
	if proto == "" {
		return "", ErrURLProtocol
	}
	var host strings.Builder
	allowDot, hasDot := false, false
	for url != "" {
		c := url[0]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c == '-':
			host.WriteByte(c)
			allowDot = true
		case c >= 'A' && c <= 'Z':
			host.WriteByte(c + 'a' - 'A')
			allowDot = true
		case allowDot && c == '.':
			host.WriteByte('.')
			hasDot, allowDot = true, false
		default:
			goto hostDone
		}
		url = url[1:]
	}
hostDone:
	h := host.String()
	if len(h) < 4 || !hasDot || h[len(h)-1] == '.' {
		return "", ErrURLHost
	}
	port := 0
	if url != "" && url[0] == ':' {
		url = url[1:]
		n := 0
		for n < len(url) && url[n] >= '0' && url[n] <= '9' {
			n++
		}
		p, err := strconv.ParseUint(url[:n], 10, 16)
		if n == 0 || err != nil {
			return "", ErrURLPort
		}
		url = url[n:]
		port = int(p)
		if (port == 80 && proto == "http://") || (port == 443 && proto == "https://") {
			port = 0
		}
	}
	url = strings.TrimPrefix(url, "/")
	if url != "" {
		return "", ErrURLTrailing
	}
	out := proto + h
	if port != 0 {
		out += ":" + strconv.Itoa(port)
	}
	if len(out) > MaxBaseURLLength {
		return "", ErrURLTooLong
	}
	return out, nil
}

// CanonicalRoom returns the lower-case room token after checking it: 1 to
// 64 characters from [-0-9_a-z] once lower-cased (canonicalize_room).
func CanonicalRoom(room string) (string, error) {
	r := lowerASCII(room)
	switch {
	case len(r) > MaxRoomLength:
		return "", ErrRoomTooLong
	case r == "":
		return "", ErrRoomEmpty
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return "", ErrRoomCharacters
		}
	}
	return r, nil
}

// DecodeCommunityPubkey decodes a server public key given as 64 hex
// digits, 52 base32z characters, or standard base64 (43 characters, or 44
// ending in "="), in either case for hex and base32z, as libsession's
// decode_pubkey accepts.
func DecodeCommunityPubkey(s string) ([32]byte, error) {
	var pk [32]byte
	switch {
	case len(s) == 64:
		if _, err := hex.Decode(pk[:], []byte(s)); err == nil {
			return pk, nil
		}
	case len(s) == 43 || len(s) == 44 && s[43] == '=':
		if b, err := base64.RawStdEncoding.DecodeString(strings.TrimSuffix(s, "=")); err == nil && len(b) == 32 {
			return [32]byte(b), nil
		}
	case len(s) == 52:
		if b, ok := decodeBase32z(s); ok {
			return b, nil
		}
	}
	return pk, ErrCommunityKey
}

const base32zAlphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"

// decodeBase32z decodes 52 z-base-32 characters into 32 bytes (the last 4
// bits are padding).
func decodeBase32z(s string) ([32]byte, bool) {
	var out [32]byte
	var acc uint32
	bits, n := 0, 0
	for i := 0; i < len(s); i++ {
		v := strings.IndexByte(base32zAlphabet, lowerASCII(s[i : i+1])[0])
		if v < 0 {
			return out, false
		}
		acc = acc<<5 | uint32(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			if n < len(out) {
				out[n] = byte(acc >> bits)
			}
			n++
			acc &= 1<<bits - 1
		}
	}
	return out, n == len(out)
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
