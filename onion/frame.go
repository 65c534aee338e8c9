package onion

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"sotto.dev/key"
)

// Frame is one decoded hop blob (§4.2):
//
//	[ N : u32 little-endian ][ N bytes: Blob ][ Control: UTF-8 JSON object ]
//
// The outermost HTTP body, every decrypted layer and the payload a relay
// proxies to a server all have this shape.
type Frame struct {
	Blob    []byte // the inner ciphertext or, at a snode destination, the request
	Control []byte // the JSON object, exactly as received
}

// FrameErrorKind says what is wrong with a frame.
type FrameErrorKind uint8

// Frame error kinds.
const (
	FrameTruncated      FrameErrorKind = iota + 1 // fewer than 4 bytes
	FrameLengthOverflow                           // N is larger than what follows
	FrameBadJSON                                  // the rest is not valid JSON
	FrameNotObject                                // the rest is JSON but not an object
)

// FrameError reports a malformed frame.
type FrameError struct {
	Kind FrameErrorKind
	Len  uint64 // the declared blob length (FrameLengthOverflow)
	Have int    // bytes available after the length prefix
}

func (e *FrameError) Error() string {
	switch e.Kind {
	case FrameTruncated:
		return fmt.Sprintf("onion: frame of %d bytes has no 4-byte length", e.Have)
	case FrameLengthOverflow:
		return fmt.Sprintf("onion: frame declares a %d-byte blob but only %d bytes follow", e.Len, e.Have)
	case FrameBadJSON:
		return "onion: frame control is not valid JSON"
	case FrameNotObject:
		return "onion: frame control is not a JSON object"
	}
	return "onion: malformed frame"
}

// EncodeHop builds [u32 LE len(blob)][blob][control]. control must be a
// JSON object (use the Marshal methods of the control types).
func EncodeHop(blob, control []byte) ([]byte, error) {
	if uint64(len(blob)) > math.MaxUint32 {
		return nil, &FrameError{Kind: FrameLengthOverflow, Len: uint64(len(blob))}
	}
	if !isJSONObject(control) {
		return nil, &FrameError{Kind: FrameNotObject}
	}
	out := make([]byte, 4, 4+len(blob)+len(control))
	binary.LittleEndian.PutUint32(out, uint32(len(blob)))
	out = append(out, blob...)
	return append(out, control...), nil
}

// ParseHop splits a frame. The returned slices alias b. The control part
// must be a single JSON object (surrounding whitespace allowed, as the
// storage server's JSON parser allows it).
func ParseHop(b []byte) (Frame, error) {
	if len(b) < 4 {
		return Frame{}, &FrameError{Kind: FrameTruncated, Have: len(b)}
	}
	n := binary.LittleEndian.Uint32(b)
	rest := b[4:]
	if uint64(n) > uint64(len(rest)) {
		return Frame{}, &FrameError{Kind: FrameLengthOverflow, Len: uint64(n), Have: len(rest)}
	}
	f := Frame{Blob: rest[:n:n], Control: rest[n:]}
	var buf [8]field
	if _, err := parseObject(f.Control, buf[:0]); err != nil {
		return Frame{}, err
	}
	return f, nil
}

func isJSONObject(b []byte) bool {
	var buf [8]field
	_, err := parseObject(b, buf[:0])
	return err == nil
}

// ControlError reports a control object with a missing or ill-typed key.
type ControlError struct {
	Key    string
	Reason string
}

func (e *ControlError) Error() string {
	return fmt.Sprintf("onion: control key %q: %s", e.Key, e.Reason)
}

func (m controlObject) cipher() (Cipher, error) {
	s, ok, err := m.str(keyEncType)
	if err != nil {
		return 0, err
	}
	if !ok {
		return CipherAESGCM, nil // §4.2: absent enc_type means aes-gcm
	}
	c, err := ParseCipher(s)
	if err != nil {
		return 0, &ControlError{Key: keyEncType, Reason: "unknown cipher " + fmt.Sprintf("%q", s)}
	}
	return c, nil
}

func (m controlObject) ephemeral(required bool) (key.OnionPublic, bool, error) {
	k, ok, err := m.hex32(keyEphemeral)
	if err != nil {
		return key.OnionPublic{}, false, err
	}
	if !ok && required {
		return key.OnionPublic{}, false, &ControlError{Key: keyEphemeral, Reason: "missing"}
	}
	return key.OnionPublic(k), ok, nil
}

// LayerInfo is the control object of an outer request body, of a frame a
// relay forwards to the next node, and (among other keys) of the payload
// a server destination receives: how to decrypt the blob.
type LayerInfo struct {
	EphemeralKey key.OnionPublic
	Cipher       Cipher
	// HopNo is the hop number; a relay forwards hop_no+1 and refuses
	// values over MaxHops. Absent means 0; negative values count as 0
	// (storage server https.cpp: max(0, hop_no)).
	HopNo int
	// Sotto is the Sotto form's version ("sotto", SottoVersion); 0 (absent)
	// is Session's form. Session relays ignore the key.
	Sotto int
}

// ParseLayerInfo reads ephemeral_key (required), enc_type (default
// aes-gcm) and hop_no (default 0) from a control object; other keys are
// ignored.
func ParseLayerInfo(control []byte) (LayerInfo, error) {
	var buf [8]field
	m, err := parseObject(control, buf[:0])
	if err != nil {
		return LayerInfo{}, err
	}
	var li LayerInfo
	if li.EphemeralKey, _, err = m.ephemeral(true); err != nil {
		return LayerInfo{}, err
	}
	if li.Cipher, err = m.cipher(); err != nil {
		return LayerInfo{}, err
	}
	hop, ok, err := m.integer(keyHopNo)
	if err != nil {
		return LayerInfo{}, err
	}
	if ok && hop > 0 {
		li.HopNo = int(min(hop, math.MaxInt32))
	}
	v, _, err := m.integer(keySotto)
	if err != nil {
		return LayerInfo{}, err
	}
	li.Sotto = int(max(min(v, math.MaxInt32), math.MinInt32))
	return li, nil
}

// Marshal encodes the control object with keys in sorted order, as
// libsession does; hop_no and sotto are written only when non-zero.
func (li LayerInfo) Marshal() []byte {
	type withHop struct {
		EncType string `json:"enc_type"`
		Eph     string `json:"ephemeral_key"`
		HopNo   int    `json:"hop_no,omitempty"`
		Sotto   int    `json:"sotto,omitempty"`
	}
	return mustMarshal(withHop{EncType: li.Cipher.String(), Eph: li.EphemeralKey.String(), HopNo: li.HopNo, Sotto: li.Sotto})
}

// Control is what a decrypted layer tells its hop to do: *RelayControl,
// *SnodeControl or *ServerControl.
type Control interface {
	// Marshal encodes the control object.
	Marshal() []byte
	isControl()
}

// RelayControl asks the hop to forward the blob to the next node (§4.2 item 1).
type RelayControl struct {
	Destination  key.NodePublic
	EphemeralKey key.OnionPublic // for the next layer
	Cipher       Cipher          // of the next layer
}

// SnodeControl says the hop is the destination: the blob is a storage RPC
// request (§4.2 item 2). Only the presence of "headers" matters.
type SnodeControl struct {
	JSON   bool // "json": embed a JSON response body unescaped
	Base64 bool // "base64": base64 the encrypted reply (default true)
}

// ServerControl asks the hop to POST the whole decrypted payload to an
// HTTP(S) server (§4.2 item 3). EphemeralKey and Cipher are for the
// server, which reads them from the same object.
type ServerControl struct {
	Host         string
	Target       string
	Port         uint16 // default 443 for https, 80 for http
	Protocol     string // "https" (default) or "http"
	Method       string // informational; the relay always POSTs
	EphemeralKey key.OnionPublic
	Cipher       Cipher
}

func (*RelayControl) isControl()  {}
func (*SnodeControl) isControl()  {}
func (*ServerControl) isControl() {}

// Marshal encodes {"destination","enc_type","ephemeral_key"} in sorted key order.
func (c *RelayControl) Marshal() []byte {
	return mustMarshal(struct {
		Dest    string `json:"destination"`
		EncType string `json:"enc_type"`
		Eph     string `json:"ephemeral_key"`
	}{c.Destination.String(), c.Cipher.String(), c.EphemeralKey.String()})
}

// Marshal encodes {"headers":""} plus the non-default json/base64 flags.
func (c *SnodeControl) Marshal() []byte {
	type snode struct {
		Base64  *bool  `json:"base64,omitempty"`
		Headers string `json:"headers"`
		JSON    bool   `json:"json,omitempty"`
	}
	s := snode{JSON: c.JSON}
	if !c.Base64 {
		f := false
		s.Base64 = &f
	}
	return mustMarshal(s)
}

// Marshal encodes the server route in sorted key order (libsession's
// final_route object).
func (c *ServerControl) Marshal() []byte {
	return mustMarshal(struct {
		EncType  string `json:"enc_type"`
		Eph      string `json:"ephemeral_key"`
		Host     string `json:"host"`
		Method   string `json:"method"`
		Port     uint16 `json:"port"`
		Protocol string `json:"protocol"`
		Target   string `json:"target"`
	}{c.Cipher.String(), c.EphemeralKey.String(), c.Host, c.Method, c.Port, c.Protocol, c.Target})
}

// URL is where the relay POSTs: protocol://host[:port]target, the port
// omitted when it is the protocol's default (storage server
// process_onion_req for RelayToServerInfo).
func (c *ServerControl) URL() string {
	var b strings.Builder
	b.WriteString(c.Protocol)
	b.WriteString("://")
	b.WriteString(c.Host)
	if (c.Protocol == "https" && c.Port != 443) || (c.Protocol == "http" && c.Port != 80) {
		fmt.Fprintf(&b, ":%d", c.Port)
	}
	if !strings.HasPrefix(c.Target, "/") {
		b.WriteByte('/')
	}
	b.WriteString(c.Target)
	return b.String()
}

// Allowed reports whether a relay may proxy to this destination: protocol
// http or https, a host, and a target that starts with /loki/ or /oxen/,
// ends with /lsrpc and has no '?' (§4.2 item 3).
func (c *ServerControl) Allowed() bool {
	return (c.Protocol == "http" || c.Protocol == "https") && validHost(c.Host) && TargetAllowed(c.Target)
}

// TargetAllowed applies the storage server's proxy target rule.
func TargetAllowed(t string) bool {
	return (strings.HasPrefix(t, targetPrefixLoki) || strings.HasPrefix(t, targetPrefixOxen)) &&
		strings.HasSuffix(t, targetSuffix) && !strings.Contains(t, "?")
}

// validHost accepts a DNS name, an IPv4 address or a bracketed IPv6
// address: nothing that could change the URL's meaning.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if h[0] == '[' {
		return h[len(h)-1] == ']' && strings.Trim(h[1:len(h)-1], "0123456789abcdefABCDEF:.") == ""
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ParseControl classifies a decrypted layer's control object the way the
// storage server does (process_inner_request): "headers" present → the
// hop is the destination; else "host" present → proxy to a server; else
// relay to "destination".
func ParseControl(control []byte) (Control, error) {
	var buf [8]field
	m, err := parseObject(control, buf[:0])
	if err != nil {
		return nil, err
	}
	switch {
	case m.has(keyHeaders):
		c := &SnodeControl{}
		if c.JSON, err = m.boolean(keyJSON, false); err != nil {
			return nil, err
		}
		if c.Base64, err = m.boolean(keyBase64, true); err != nil {
			return nil, err
		}
		return c, nil
	case m.has(keyHost):
		return parseServerControl(m)
	default:
		c := &RelayControl{}
		d, ok, err := m.hex32(keyDestination)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &ControlError{Key: keyDestination, Reason: "missing"}
		}
		c.Destination = key.NodePublic(d)
		if c.EphemeralKey, _, err = m.ephemeral(true); err != nil {
			return nil, err
		}
		if c.Cipher, err = m.cipher(); err != nil {
			return nil, err
		}
		return c, nil
	}
}

func parseServerControl(m controlObject) (*ServerControl, error) {
	c := &ServerControl{Protocol: "https", Method: "POST"}
	var err error
	var ok bool
	if c.Host, _, err = m.str(keyHost); err != nil {
		return nil, err
	}
	if c.Target, ok, err = m.str(keyTarget); err != nil {
		return nil, err
	} else if !ok {
		return nil, &ControlError{Key: keyTarget, Reason: "missing"}
	}
	if p, ok, err := m.str(keyProtocol); err != nil {
		return nil, err
	} else if ok {
		c.Protocol = p
	}
	if meth, ok, err := m.str(keyMethod); err != nil {
		return nil, err
	} else if ok {
		c.Method = meth
	}
	port, ok, err := m.integer(keyPort)
	switch {
	case err != nil:
		return nil, err
	case !ok && c.Protocol == "http":
		c.Port = 80
	case !ok:
		c.Port = 443
	case port < 1 || port > math.MaxUint16:
		return nil, &ControlError{Key: keyPort, Reason: "out of range"}
	default:
		c.Port = uint16(port)
	}
	if c.EphemeralKey, _, err = m.ephemeral(false); err != nil {
		return nil, err
	}
	if c.Cipher, err = m.cipher(); err != nil {
		return nil, err
	}
	return c, nil
}

func mustMarshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only plain strings, numbers and bools reach here.
		panic("onion: marshal control: " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
