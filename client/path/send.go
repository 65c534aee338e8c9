package path

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"

	"sotto.dev/key"
	"sotto.dev/onion"
)

// Sender sends onion requests over a Path: it builds the layers, POSTs
// them to the guard's /onion_req/v2 and decodes the reply. Its errors are
// shaped for Manager.Do: a guard that does not answer is a *NodeError, a
// relay error is an *onion.PathError.
type Sender struct {
	// Client reaches the guards. Service nodes use self-signed
	// certificates that Session clients do not verify (§3.1); the caller
	// configures TLS.
	Client *http.Client
	// Cipher is the layer cipher (default xchacha20, libsession's default).
	Cipher onion.Cipher
	// MaxResponse bounds a reply (default 16 MiB).
	MaxResponse int64
	// SessionOnly sends every request in Session's form. Otherwise a
	// request goes in the Sotto form (replies re-encrypted at every hop,
	// sizes padded; docs/onion.md) when every hop of the path, and a snode
	// destination, announces it (Node.Sotto).
	SessionOnly bool
	// Known, if set, tells what the node list says about a node; a snode
	// destination that comes from a swarm answer (which carries no
	// version) is looked up in it.
	Known func(key.NodePublic) (Node, bool)
}

// sotto reports whether a request through p (to dest, when not nil) goes
// in the Sotto form.
func (s *Sender) sotto(p Path, dest *Node) bool {
	if s.SessionOnly {
		return false
	}
	for _, n := range p.Hops {
		if !n.Sotto {
			return false
		}
	}
	if dest == nil || dest.Sotto {
		return true
	}
	if s.Known != nil {
		if n, ok := s.Known(dest.Ed25519); ok && n.X25519 == dest.X25519 {
			return n.Sotto
		}
	}
	return false
}

// Snode sends a storage RPC request ({"method","params"} JSON) through p
// to the service node dest and returns the node's status and body.
func (s *Sender) Snode(ctx context.Context, p Path, dest Node, payload []byte) (onion.SnodeResponse, error) {
	if s.sotto(p, &dest) {
		body, rep, err := onion.BuildSottoSnodeRequest(p.OnionHops(), dest.Hop(), payload, s.cipher())
		if err != nil {
			return onion.SnodeResponse{}, Permanent(err)
		}
		defer rep.Destroy()
		status, reply, err := s.post(ctx, p.Guard(), body)
		if err != nil {
			return onion.SnodeResponse{}, err
		}
		return onion.DecodeSottoSnodeResponse(rep, status, reply)
	}
	body, key, err := onion.BuildSnodeRequest(p.OnionHops(), dest.Hop(), payload, s.cipher())
	if err != nil {
		return onion.SnodeResponse{}, Permanent(err)
	}
	defer key.Destroy()
	status, reply, err := s.post(ctx, p.Guard(), body)
	if err != nil {
		return onion.SnodeResponse{}, err
	}
	return onion.DecodeSnodeResponse(key, status, reply)
}

// Server sends a v4 request (onion.EncodeV4Request) through p to an HTTP
// server destination and returns its v4 response.
func (s *Sender) Server(ctx context.Context, p Path, dest onion.ServerDest, v4req []byte) (onion.V4Response, error) {
	if s.sotto(p, nil) {
		body, rep, err := onion.BuildSottoServerRequest(p.OnionHops(), dest, v4req, s.cipher())
		if err != nil {
			return onion.V4Response{}, Permanent(err)
		}
		defer rep.Destroy()
		status, reply, err := s.post(ctx, p.Guard(), body)
		if err != nil {
			return onion.V4Response{}, err
		}
		return onion.DecodeSottoServerResponse(rep, status, reply)
	}
	body, key, err := onion.BuildServerRequest(p.OnionHops(), dest, v4req, s.cipher())
	if err != nil {
		return onion.V4Response{}, Permanent(err)
	}
	defer key.Destroy()
	status, reply, err := s.post(ctx, p.Guard(), body)
	if err != nil {
		return onion.V4Response{}, err
	}
	return onion.DecodeServerResponse(key, status, reply)
}

func (s *Sender) cipher() onion.Cipher { return cmp.Or(s.Cipher, onion.CipherXChaCha20) }

// post sends the outer body to the guard. Transport failures blame the
// guard.
func (s *Sender) post(ctx context.Context, guard Node, body []byte) (int, []byte, error) {
	url := "https://" + guard.Addr().String() + "/onion_req/v2"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, Permanent(err)
	}
	// The headers Session desktop sends, so that our requests look alike.
	req.Header.Set("User-Agent", "WhatsApp")
	req.Header.Set("Accept-Language", "en-us")
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := s.Client.Do(req)
	if err != nil {
		return 0, nil, &NodeError{Node: guard.Ed25519, Err: err}
	}
	defer resp.Body.Close()
	limit := cmp.Or(s.MaxResponse, 16<<20)
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return 0, nil, &NodeError{Node: guard.Ed25519, Err: err}
	}
	if int64(len(b)) > limit {
		return 0, nil, fmt.Errorf("path: reply larger than %d bytes", limit)
	}
	return resp.StatusCode, b, nil
}
