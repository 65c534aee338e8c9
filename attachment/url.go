package attachment

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// Fragment parameters of an attachment URL (desktop ts/session/url.ts,
// FileServerApi.ts): the fragment is a query string that never reaches the
// server.
const (
	// paramServerKey is the file server's Ed25519 key in hex, given for
	// every server but Session's default one.
	paramServerKey = "p"
	// paramDeterministic marks the deterministic form; its presence counts,
	// not its value.
	paramDeterministic = "d"
	// paramProfileKey is a profile picture's key in hex, which desktop adds
	// to profile picture URLs it stores.
	paramProfileKey = "e"

	// maxURLLen bounds what ParseURL accepts.
	maxURLLen = 2048
)

// URL is an attachment's download URL (AttachmentPointer.url,
// LokiProfile.profilePicture) with its fragment parameters.
type URL struct {
	// Base is the URL without its fragment, e.g.
	// http://filev2.getsession.org/file/<id>.
	Base string
	// Deterministic is the "d" parameter: the file is in the
	// deterministic form.
	Deterministic bool
	// ServerKey is the "p" parameter, the file server's Ed25519 public
	// key; nil means Session's default file server.
	ServerKey []byte
	// ProfileKey is the "e" parameter, a profile picture's key; nil when
	// absent.
	ProfileKey []byte
}

// ParseURL parses an attachment URL: an http or https URL with a host, no
// user information, and a file id (letters, digits, '-' and '_') as its
// last path segment, and a fragment of parameters. "p" and "e" must be 32
// bytes in hex; a parameter given twice is an error; parameters this
// version does not know are ignored, as desktop ignores them.
func ParseURL(s string) (*URL, error) {
	if len(s) > maxURLLen {
		return nil, fmt.Errorf("URL of %d bytes, limit %d: %w", len(s), maxURLLen, ErrURL)
	}
	base, frag, _ := strings.Cut(s, "#")
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrURL, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("scheme %q, want http or https: %w", u.Scheme, ErrURL)
	case u.Host == "":
		return nil, fmt.Errorf("no host: %w", ErrURL)
	case u.User != nil:
		return nil, fmt.Errorf("user information in the URL: %w", ErrURL)
	case u.Opaque != "":
		return nil, fmt.Errorf("opaque URL: %w", ErrURL)
	}
	if !validFileID(fileID(u.EscapedPath())) {
		return nil, fmt.Errorf("no file id at the end of the path: %w", ErrURL)
	}
	out := &URL{Base: base}
	seen := map[string]bool{}
	if frag != "" {
		for _, p := range strings.Split(frag, "&") {
			k, v, _ := strings.Cut(p, "=")
			k, err1 := url.QueryUnescape(k)
			v, err2 := url.QueryUnescape(v)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("fragment parameter is not query-escaped: %w", ErrURL)
			}
			if k != paramServerKey && k != paramDeterministic && k != paramProfileKey {
				continue
			}
			if seen[k] {
				return nil, fmt.Errorf("fragment parameter %q given twice: %w", k, ErrURL)
			}
			seen[k] = true
			switch k {
			case paramDeterministic:
				out.Deterministic = true
			case paramServerKey:
				if out.ServerKey, err = hex32(v); err != nil {
					return nil, fmt.Errorf("server key (p): %w", err)
				}
			case paramProfileKey:
				if out.ProfileKey, err = hex32(v); err != nil {
					return nil, fmt.Errorf("profile key (e): %w", err)
				}
			}
		}
	}
	return out, nil
}

func hex32(s string) ([]byte, error) {
	if len(s) != 64 {
		return nil, fmt.Errorf("%d hex digits, want 64: %w", len(s), ErrURL)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not hex: %w", ErrURL)
	}
	return b, nil
}

// String formats the URL as desktop does: Base, then a fragment with "p",
// "d" (written "d=", as URLSearchParams writes an empty value) and "e", in
// that order, when any is set.
func (u *URL) String() string {
	var params []string
	if u.ServerKey != nil {
		params = append(params, paramServerKey+"="+hex.EncodeToString(u.ServerKey))
	}
	if u.Deterministic {
		params = append(params, paramDeterministic+"=")
	}
	if u.ProfileKey != nil {
		params = append(params, paramProfileKey+"="+hex.EncodeToString(u.ProfileKey))
	}
	if len(params) == 0 {
		return u.Base
	}
	return u.Base + "#" + strings.Join(params, "&")
}

// FileID returns the file's id on its server, the last segment of the
// path.
func (u *URL) FileID() string {
	b, _, _ := strings.Cut(u.Base, "?")
	return fileID(b)
}

func fileID(path string) string {
	path = strings.TrimRight(path, "/")
	return path[strings.LastIndexByte(path, '/')+1:]
}

func validFileID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
