package onion

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"sotto.dev/key"
)

// Hop is a service node as a path element or a snode destination.
type Hop struct {
	Node   key.NodePublic  // Ed25519 key: how the previous hop names it
	X25519 key.OnionPublic // onion-layer key
}

// ServerDest is an HTTP(S) server reached as an onion destination (a
// community or file server).
type ServerDest struct {
	Host     string          // host name or IP the last path hop connects to
	Port     uint16          // 0 means the protocol's default
	Protocol string          // "https" (default when empty) or "http"
	Target   string          // TargetV4 when empty
	X25519   key.OnionPublic // the server's onion key
}

// BuildError reports a request that cannot be built.
type BuildError struct{ Reason string }

func (e *BuildError) Error() string { return "onion: build request: " + e.Reason }

// BuildSnodeRequest builds the outer /onion_req/v2 body that sends payload
// (a storage RPC request, {"method":...,"params":...}) through path to the
// service node dest, with every layer in cipher c. It returns the body
// for the first hop and the destination layer key, which decrypts the
// reply (DecodeSnodeResponse). An empty path addresses dest directly.
//
// Layers are built innermost first (§4.2; libsession Builder::build): the
// destination gets [len][payload]{"headers":""}, each path hop gets
// [len][inner ciphertext]{"destination","enc_type","ephemeral_key"}.
func BuildSnodeRequest(path []Hop, dest Hop, payload []byte, c Cipher) ([]byte, *LayerKey, error) {
	return buildSnode(rand.Reader, path, dest, payload, c)
}

// BuildServerRequest builds the outer body that sends a v4 request (see
// EncodeV4Request) through path to an HTTP(S) server; the last path hop
// proxies it. It returns the body for the first hop and the server layer
// key, which decrypts the reply (DecodeServerResponse).
func BuildServerRequest(path []Hop, server ServerDest, v4req []byte, c Cipher) ([]byte, *LayerKey, error) {
	return buildServer(rand.Reader, path, server, v4req, c)
}

func checkBuild(path []Hop, c Cipher, minPath int) error {
	if !c.valid() {
		return &CipherError{Name: c.String()}
	}
	if len(path) < minPath {
		return &BuildError{Reason: fmt.Sprintf("need at least %d path hops", minPath)}
	}
	if len(path) > MaxHops {
		return &BuildError{Reason: fmt.Sprintf("%d path hops is more than relays accept (%d)", len(path), MaxHops)}
	}
	return nil
}

func buildSnode(r io.Reader, path []Hop, dest Hop, payload []byte, c Cipher) ([]byte, *LayerKey, error) {
	if err := checkBuild(path, c, 0); err != nil {
		return nil, nil, err
	}
	inner, err := EncodeHop(payload, (&SnodeControl{Base64: true}).Marshal())
	if err != nil {
		return nil, nil, err
	}
	ct, eph, key, err := encryptLayer(r, c, dest.X25519, inner)
	if err != nil {
		return nil, nil, err
	}
	route := &RelayControl{Destination: dest.Node, EphemeralKey: eph, Cipher: c}
	body, err := wrapPath(r, path, c, ct, eph, route)
	if err != nil {
		return nil, nil, err
	}
	return body, key, nil
}

func buildServer(r io.Reader, path []Hop, s ServerDest, v4req []byte, c Cipher) ([]byte, *LayerKey, error) {
	if err := checkBuild(path, c, 1); err != nil {
		return nil, nil, err
	}
	route, err := serverRoute(s, c)
	if err != nil {
		return nil, nil, err
	}
	ct, eph, key, err := encryptLayer(r, c, s.X25519, v4req)
	if err != nil {
		return nil, nil, err
	}
	route.EphemeralKey = eph
	body, err := wrapPath(r, path, c, ct, eph, route)
	if err != nil {
		return nil, nil, err
	}
	return body, key, nil
}

// serverRoute is the last path hop's control object for server s, with
// the defaults filled in; its EphemeralKey is set by the caller.
func serverRoute(s ServerDest, c Cipher) (*ServerControl, error) {
	route := &ServerControl{Host: s.Host, Port: s.Port, Protocol: s.Protocol, Target: s.Target, Method: "POST", Cipher: c}
	if route.Protocol == "" {
		route.Protocol = "https"
	}
	if route.Target == "" {
		route.Target = TargetV4
	}
	if route.Port == 0 {
		route.Port = 443
		if route.Protocol == "http" {
			route.Port = 80
		}
	}
	if !route.Allowed() {
		return nil, &BuildError{Reason: "server destination is not one a relay proxies to (protocol, host or target)"}
	}
	return route, nil
}

// wrapPath adds the path layers around the destination ciphertext ct
// (whose ephemeral key is eph) and the outer LayerInfo frame. route is the
// control object for the last path hop.
func wrapPath(r io.Reader, path []Hop, c Cipher, ct []byte, eph key.OnionPublic, route Control) ([]byte, error) {
	control := route
	for i := len(path) - 1; i >= 0; i-- {
		if i < len(path)-1 {
			control = &RelayControl{Destination: path[i+1].Node, EphemeralKey: eph, Cipher: c}
		}
		plain, err := EncodeHop(ct, control.Marshal())
		if err != nil {
			return nil, err
		}
		var key *LayerKey
		ct, eph, key, err = encryptLayer(r, c, path[i].X25519, plain)
		if err != nil {
			return nil, err
		}
		key.Destroy()
	}
	return EncodeHop(ct, LayerInfo{EphemeralKey: eph, Cipher: c}.Marshal())
}

// encryptLayer encrypts plain to remote under a fresh ephemeral key and
// returns the ciphertext, the ephemeral public key and the layer key.
func encryptLayer(r io.Reader, c Cipher, remote key.OnionPublic, plain []byte) ([]byte, key.OnionPublic, *LayerKey, error) {
	eph, err := generateKeyPair(r)
	if err != nil {
		return nil, key.OnionPublic{}, nil, err
	}
	lk, err := ClientLayerKey(c, eph, remote)
	if err != nil {
		return nil, key.OnionPublic{}, nil, err
	}
	ct, err := lk.sealWith(r, plain)
	if err != nil {
		return nil, key.OnionPublic{}, nil, err
	}
	return ct, eph.Public(), lk, nil
}

// PathError is a non-200 outer HTTP status: the request failed on the
// path (or at a proxied server) and the body, if any, is unencrypted
// (§4.3 "Path/relay errors").
type PathError struct {
	Status int
	Body   []byte
}

func (e *PathError) Error() string {
	const max = 200
	b := e.Body
	if len(b) > max {
		b = b[:max]
	}
	return fmt.Sprintf("onion: path error: HTTP %d: %q", e.Status, b)
}

// NextNodeNotFound reports the node a relay could not find, from a 502
// "Next node not found: <hex>" body.
func (e *PathError) NextNodeNotFound() (key.NodePublic, bool) {
	if e.Status != 502 || len(e.Body) != len(ErrBodyNextNodeNotFound)+64 || string(e.Body[:len(ErrBodyNextNodeNotFound)]) != ErrBodyNextNodeNotFound {
		return key.NodePublic{}, false
	}
	id, err := key.ParseNodePublic(string(e.Body[len(ErrBodyNextNodeNotFound):]))
	return id, err == nil
}

// IsPathError reports whether err is or wraps a *PathError.
func IsPathError(err error) bool {
	var pe *PathError
	return errors.As(err, &pe)
}
