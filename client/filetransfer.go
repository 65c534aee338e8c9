package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sotto.dev/attachment"
	"sotto.dev/client/path"
	"sotto.dev/identity"
	"sotto.dev/key"
	"sotto.dev/onion"
)

// The file server API as a client uses it (session-protocol.md §8.3,
// docs/fileserver.md): POST /file and GET /file/<id>, each one onion v4
// request through a path of Config.PathLength hops, never a direct
// connection.

// fileTimeout bounds one upload or download of up to 10 MB through a path.
const fileTimeout = 2 * time.Minute

// Session's default file server (§8.3), for URLs without a "p" fragment.
const (
	defaultFileServerX25519 = "09324794aa9c11948189762d198c618148e9136ac9582068180661208927ef34"
)

// FileServerError is a file server's refusal.
type FileServerError struct {
	Op     string
	Status int
}

func (e *FileServerError) Error() string {
	return fmt.Sprintf("client: file server: %s: status %d", e.Op, e.Status)
}

// permanent reports whether retrying cannot help: the file is gone (404),
// was found damaged by the server (500) or the request is refused as such.
func (e *FileServerError) permanent() bool {
	switch e.Status {
	case http.StatusNotFound, http.StatusInternalServerError, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return true
	}
	return false
}

// serverDest is where onion requests to a file server at base go, and the
// path prefix of its endpoints.
func serverDest(base string, x key.OnionPublic) (onion.ServerDest, string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return onion.ServerDest{}, "", fmt.Errorf("client: file server URL %q", base)
	}
	var port uint64
	if p := u.Port(); p != "" {
		if port, err = strconv.ParseUint(p, 10, 16); err != nil {
			return onion.ServerDest{}, "", fmt.Errorf("client: file server URL %q: port", base)
		}
	}
	d := onion.ServerDest{Host: u.Hostname(), Port: uint16(port), Protocol: u.Scheme, X25519: x}
	if d.Port == 0 && u.Scheme == "http" {
		d.Port = 80
	}
	return d, strings.TrimSuffix(u.EscapedPath(), "/"), nil
}

// serverCall sends one v4 request to dest through an onion path.
func (n *network) serverCall(ctx context.Context, dest onion.ServerDest, info onion.V4RequestInfo, body []byte) (onion.V4Response, error) {
	m, err := n.manager(ctx)
	if err != nil {
		return onion.V4Response{}, err
	}
	req, err := onion.EncodeV4Request(info, body)
	if err != nil {
		return onion.V4Response{}, err
	}
	var resp onion.V4Response
	err = n.do(ctx, m, nil, func(ctx context.Context, p path.Path) error {
		actx, cancel := context.WithTimeout(ctx, max(n.timeout, fileTimeout))
		defer cancel()
		r, err := n.sender.Server(actx, p, dest, req)
		if err != nil {
			return err
		}
		resp = r
		return nil
	})
	if errors.Is(err, path.ErrNotEnoughNodes) {
		n.resetPaths(m)
		return resp, &UnreachableError{Err: err}
	}
	return resp, err
}

// upload stores data on fs and returns its download URL (with the "p"
// fragment naming fs, and "d" when deterministic) and its expiry.
func (n *network) upload(ctx context.Context, fs FileServer, data []byte, deterministic bool) (*attachment.URL, time.Time, error) {
	dest, prefix, err := serverDest(fs.URL, fs.X25519)
	if err != nil {
		return nil, time.Time{}, err
	}
	r, err := n.serverCall(ctx, dest, onion.V4RequestInfo{Method: http.MethodPost, Endpoint: prefix + "/file",
		Headers: map[string]string{"Content-Type": "application/octet-stream"}}, data)
	if err != nil {
		return nil, time.Time{}, err
	}
	if r.Code != http.StatusOK {
		return nil, time.Time{}, &FileServerError{Op: "upload", Status: r.Code}
	}
	var up struct {
		ID      json.RawMessage `json:"id"`
		Expires float64         `json:"expires"`
	}
	if err := json.Unmarshal(r.Body, &up); err != nil {
		return nil, time.Time{}, fmt.Errorf("client: file server: upload: bad answer: %w", err)
	}
	id := strings.Trim(string(up.ID), `"`)
	u, err := attachment.ParseURL(strings.TrimSuffix(fs.URL, "/") + "/file/" + id)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("client: file server: upload: bad id: %w", err)
	}
	u.Deterministic = deterministic
	u.ServerKey = fs.Ed25519[:]
	var exp time.Time
	if up.Expires > 0 {
		exp = time.UnixMilli(int64(up.Expires * 1000))
	}
	return u, exp, nil
}

// resume asks fs to extend the file blob would be stored as (file ids
// are content hashes, attachment.FileID): ok reports that fs holds it, of
// the same size, so that uploading it again can be skipped. A server that
// does not have it answers 404, and ok is false.
func (n *network) resume(ctx context.Context, fs FileServer, blob []byte) (u *attachment.URL, ok bool, err error) {
	dest, prefix, err := serverDest(fs.URL, fs.X25519)
	if err != nil {
		return nil, false, err
	}
	id := attachment.FileID(blob)
	r, err := n.serverCall(ctx, dest, onion.V4RequestInfo{Method: http.MethodPost, Endpoint: prefix + "/file/" + id + "/extend"}, nil)
	if err != nil {
		return nil, false, err
	}
	if r.Code == http.StatusNotFound {
		return nil, false, nil
	}
	if r.Code != http.StatusOK {
		return nil, false, &FileServerError{Op: "extend", Status: r.Code}
	}
	var info struct {
		Size int64 `json:"size"`
	}
	if err := json.Unmarshal(r.Body, &info); err != nil || info.Size != int64(len(blob)) {
		return nil, false, nil // not what we would store: upload it
	}
	if u, err = attachment.ParseURL(strings.TrimSuffix(fs.URL, "/") + "/file/" + id); err != nil {
		return nil, false, fmt.Errorf("client: file server: bad id: %w", err)
	}
	u.Deterministic = true
	u.ServerKey = fs.Ed25519[:]
	return u, true, nil
}

// download fetches the file at u, reaching its server by the "p" key (or
// Session's default server without one), and refuses more than limit
// bytes.
func (n *network) download(ctx context.Context, u *attachment.URL, limit int64) ([]byte, error) {
	var x key.OnionPublic
	if u.ServerKey != nil {
		xb, err := identity.Ed25519ToX25519(key.AccountPublic(u.ServerKey))
		if err != nil {
			return nil, fmt.Errorf("client: file server key: %w", err)
		}
		x = key.OnionPublic(xb)
	} else if err := x.UnmarshalText([]byte(defaultFileServerX25519)); err != nil {
		return nil, err
	}
	dest, endpoint, err := serverDest(u.Base, x)
	if err != nil {
		return nil, err
	}
	r, err := n.serverCall(ctx, dest, onion.V4RequestInfo{Method: http.MethodGet, Endpoint: endpoint}, nil)
	if err != nil {
		return nil, err
	}
	if r.Code != http.StatusOK {
		return nil, &FileServerError{Op: "download", Status: r.Code}
	}
	if int64(len(r.Body)) > limit {
		return nil, fmt.Errorf("client: file server: download of %d bytes, expected at most %d", len(r.Body), limit)
	}
	return r.Body, nil
}
