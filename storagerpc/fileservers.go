package storagerpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// File servers (docs/ledger.md "File servers"): the ledger lists the
// attachment file servers operators register; nodes answer
// sotto_file_servers with that list, and a devnet's network file names
// its own. Both the ledger (a consensus rule) and clients check entries
// with the functions here.

// OxendFileServers is Sotto's own oxend_request endpoint (and /json_rpc
// method): the ledger's listed file servers, as a FileServerList.
const OxendFileServers = "sotto_file_servers"

// MaxFileServerURL bounds a file server's URL, in bytes.
const MaxFileServerURL = 200

// MaxFileServers bounds the entries of a FileServerList a client accepts.
const MaxFileServers = 4096

// FileServer is a file server as nodes and network files list it.
type FileServer struct {
	// URL is where the server is reached (the onion exit node's
	// destination), checked by CheckFileServerURL.
	URL string `json:"url"`
	// PubkeyX25519 is the key of onion v4 requests to the server, in hex.
	PubkeyX25519 string `json:"pubkey_x25519"`
	// PubkeyEd25519 is the server's identity key, which registered it, in
	// hex.
	PubkeyEd25519 string `json:"pubkey_ed25519"`
}

// FileServerList is the answer of sotto_file_servers: the file servers
// the ledger lists at Height, sorted by Ed25519 key.
type FileServerList struct {
	Height      uint64       `json:"height"`
	FileServers []FileServer `json:"file_servers"`
}

// ErrFileServerURL is wrapped by CheckFileServerURL's errors.
var ErrFileServerURL = errors.New("bad file server URL")

// CheckFileServerURL applies the ledger's rule for a file server URL:
// at most MaxFileServerURL bytes of "http://" or "https://" (lower case),
// a host, an optional port and an optional path, and nothing else — no
// user info, query or fragment. The host is a lower-case DNS name (labels
// of a-z, 0-9 and '-', not starting or ending with '-', at least two
// labels or "localhost"), an IPv4 dotted quad or a bracketed IPv6
// address; the port is 1..65535 without leading zeros; the path is
// segments of letters, digits and "-._~" separated by single '/', with no
// "." or ".." segment. With allowPrivate false (every network but a
// devnet), loopback, private, link-local and unspecified addresses and
// "localhost" are refused.
//
// This is a consensus rule of the ledger (ledger/state checks every
// registration with it): a change that accepts or refuses a URL it did
// not makes nodes disagree on the state; change it only with a new
// transaction type.
func CheckFileServerURL(s string, allowPrivate bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %q: %s", ErrFileServerURL, s, fmt.Sprintf(format, args...))
	}
	if len(s) > MaxFileServerURL {
		return bad("%d bytes, at most %d", len(s), MaxFileServerURL)
	}
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "http://"); !ok {
			return bad("not an http:// or https:// URL")
		}
	}
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	host, port := authority, ""
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return bad("unclosed '['")
		}
		host = authority[:end+1]
		if tail := authority[end+1:]; tail != "" {
			p, ok := strings.CutPrefix(tail, ":")
			if !ok {
				return bad("junk after the IPv6 address")
			}
			port = p
		}
	} else if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		host, port = authority[:i], authority[i+1:]
		if port == "" {
			return bad("empty port")
		}
	}
	if err := checkHost(host, allowPrivate); err != nil {
		return bad("%v", err)
	}
	if port != "" || strings.HasSuffix(authority, ":") {
		if port == "" || port[0] == '0' {
			return bad("port %q", port)
		}
		for _, c := range []byte(port) {
			if c < '0' || c > '9' {
				return bad("port %q", port)
			}
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad("port %q", port)
		}
	}
	if path != "" && path != "/" {
		segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
		if segs[len(segs)-1] == "" {
			segs = segs[:len(segs)-1] // one trailing slash
		}
		for _, seg := range segs {
			if seg == "" || seg == "." || seg == ".." {
				return bad("path %q", path)
			}
			for _, c := range []byte(seg) {
				if !isAlnum(c) && c != '-' && c != '.' && c != '_' && c != '~' {
					return bad("character %q in the path (no user info, query or fragment)", c)
				}
			}
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func checkHost(h string, allowPrivate bool) error {
	if h == "" {
		return errors.New("no host")
	}
	if strings.HasPrefix(h, "[") {
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !a.Is6() || a.Zone() != "" || a.Is4In6() || a.String() != h[1:len(h)-1] {
			return fmt.Errorf("host %s is not a canonical IPv6 address", h)
		}
		return checkHostAddr(a, allowPrivate)
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if !a.Is4() {
			return fmt.Errorf("host %s: an IPv6 address goes in brackets", h)
		}
		return checkHostAddr(a, allowPrivate)
	}
	if h == "localhost" {
		if !allowPrivate {
			return errors.New("localhost cannot be registered")
		}
		return nil
	}
	labels := strings.Split(h, ".")
	if len(h) > 253 || len(labels) < 2 {
		return fmt.Errorf("host %q is not a domain name with a dot", h)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("host %q has a bad label %q", h, l)
		}
		for _, c := range []byte(l) {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return fmt.Errorf("host %q: character %q (lower-case letters, digits, '-' and '.')", h, c)
			}
		}
	}
	// All-digit last labels look like a (malformed) IPv4 address.
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		return fmt.Errorf("host %q is neither a domain name nor an IPv4 address", h)
	}
	return nil
}

func checkHostAddr(a netip.Addr, allowPrivate bool) error {
	if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return fmt.Errorf("address %s cannot be registered", a)
	}
	if !allowPrivate && (a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || !a.IsGlobalUnicast()) {
		return fmt.Errorf("address %s is not public", a)
	}
	return nil
}

// ErrFileServer is wrapped by the errors of CheckFileServer and
// ParseFileServerList.
var ErrFileServer = errors.New("bad file server entry")

// CheckFileServer checks an entry exactly: its URL (CheckFileServerURL)
// and both keys as 64 lower-case hex digits, not all zero.
func CheckFileServer(fs FileServer, allowPrivate bool) error {
	if err := CheckFileServerURL(fs.URL, allowPrivate); err != nil {
		return fmt.Errorf("%w: %w", ErrFileServer, err)
	}
	for _, k := range []struct{ name, v string }{{"pubkey_x25519", fs.PubkeyX25519}, {"pubkey_ed25519", fs.PubkeyEd25519}} {
		if len(k.v) != 64 || strings.Trim(k.v, "0123456789abcdef") != "" {
			return fmt.Errorf("%w: %s must be 64 lower-case hex digits, got %q", ErrFileServer, k.name, k.v)
		}
		if strings.Trim(k.v, "0") == "" {
			return fmt.Errorf("%w: %s is zero", ErrFileServer, k.name)
		}
	}
	return nil
}

// CheckFileServers checks every entry of a list and that no two share a
// URL or a key.
func CheckFileServers(list []FileServer, allowPrivate bool) error {
	if len(list) > MaxFileServers {
		return fmt.Errorf("%w: %d entries, at most %d", ErrFileServer, len(list), MaxFileServers)
	}
	seen := make(map[string]int, 3*len(list))
	for i, fs := range list {
		if err := CheckFileServer(fs, allowPrivate); err != nil {
			return fmt.Errorf("file_servers[%d]: %w", i, err)
		}
		for _, v := range []string{"url " + fs.URL, "key " + fs.PubkeyX25519, "key " + fs.PubkeyEd25519} {
			if j, dup := seen[v]; dup {
				return fmt.Errorf("%w: file_servers[%d] repeats the %s of file_servers[%d]", ErrFileServer, i, strings.Fields(v)[0], j)
			}
			seen[v] = i
		}
	}
	return nil
}

// ParseFileServerList parses a sotto_file_servers answer: one JSON object
// with file_servers (possibly empty), each entry passing CheckFileServers.
func ParseFileServerList(b []byte, allowPrivate bool) (*FileServerList, error) {
	var l FileServerList
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%w: not a file server list: %v", ErrFileServer, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the list", ErrFileServer)
	}
	if l.FileServers == nil {
		return nil, fmt.Errorf("%w: no file_servers", ErrFileServer)
	}
	if err := CheckFileServers(l.FileServers, allowPrivate); err != nil {
		return nil, err
	}
	return &l, nil
}
