package storagerpc

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestCheckFileServerURL(t *testing.T) {
	good := []string{
		"https://files.example.org",
		"http://files.example.org/",
		"https://files.example.org:443",
		"https://a-b.c0.example/x/y_z.1~/",
		"https://203.0.113.9:8080",
		"https://[2001:db8::1]:8443/files",
		"https://[2001:db8::1]",
	}
	for _, u := range good {
		if err := CheckFileServerURL(u, false); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	private := []string{"http://localhost:8080", "http://127.0.0.1:8080", "http://10.1.2.3", "http://[::1]:80", "http://169.254.1.1", "http://[fe80::1]"}
	for _, u := range private {
		if err := CheckFileServerURL(u, true); err != nil {
			t.Errorf("%s (devnet): %v", u, err)
		}
		if err := CheckFileServerURL(u, false); err == nil {
			t.Errorf("%s: a private address accepted", u)
		}
	}
	bad := []string{
		"", "files.example.org", "HTTPS://files.example.org", "https:/files.example.org", "ftp://files.example.org",
		"https://", "https:///x", "https://user@files.example.org", "https://user:pw@files.example.org",
		"https://files.example.org?x", "https://files.example.org/?x=1", "https://files.example.org#x", "https://files.example.org/#",
		"https://files.example.org:", "https://files.example.org:0", "https://files.example.org:080", "https://files.example.org:65536",
		"https://files.example.org:8a", "https://files.example.org:-1", "https://Files.example.org", "https://files", "https://-a.example.org",
		"https://a-.example.org", "https://a..example.org", "https://a.example.org.", "https://a_b.example.org",
		"https://1.2.3.4.5", "https://1.2.3", "https://01.2.3.4", "https://0.0.0.0", "https://255.255.255.255", "https://224.0.0.1",
		"https://[2001:db8::1", "https://[2001:db8::1]x", "https://[2001:DB8::1]", "https://[::ffff:1.2.3.4]", "https://2001:db8::1",
		"https://[fe80::1%25eth0]", "https://files.example.org//x", "https://files.example.org/./x", "https://files.example.org/../x",
		"https://files.example.org/a%20b", "https://files.example.org/a b", "https://files.example.org\\x",
		"https://files.example.org/" + string(make([]byte, MaxFileServerURL)),
	}
	for _, u := range bad {
		if err := CheckFileServerURL(u, true); err == nil || !errors.Is(err, ErrFileServerURL) {
			t.Errorf("%q: %v", u, err)
		}
	}
}

func goodFileServer(i byte) FileServer {
	return FileServer{
		URL:           "https://files" + string('a'+rune(i)) + ".example.org",
		PubkeyX25519:  strings.Repeat(string("0123456789abcdef"[i%16]), 63) + "1",
		PubkeyEd25519: strings.Repeat(string("fedcba9876543210"[i%16]), 63) + "2",
	}
}

func TestCheckFileServers(t *testing.T) {
	a, b := goodFileServer(0), goodFileServer(1)
	if err := CheckFileServers([]FileServer{a, b}, false); err != nil {
		t.Fatal(err)
	}
	if err := CheckFileServers(nil, false); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(fs *FileServer){
		"bad url":        func(fs *FileServer) { fs.URL = "https://files.example.org?x" },
		"private url":    func(fs *FileServer) { fs.URL = "http://127.0.0.1:8080" },
		"short x25519":   func(fs *FileServer) { fs.PubkeyX25519 = fs.PubkeyX25519[2:] },
		"long ed25519":   func(fs *FileServer) { fs.PubkeyEd25519 += "00" },
		"upper-case hex": func(fs *FileServer) { fs.PubkeyEd25519 = strings.ToUpper(fs.PubkeyEd25519) },
		"not hex":        func(fs *FileServer) { fs.PubkeyEd25519 = "g" + fs.PubkeyEd25519[1:] },
		"zero x25519":    func(fs *FileServer) { fs.PubkeyX25519 = strings.Repeat("0", 64) },
		"same url":       func(fs *FileServer) { fs.URL = a.URL },
		"same x25519":    func(fs *FileServer) { fs.PubkeyX25519 = a.PubkeyX25519 },
		"x25519 as ed":   func(fs *FileServer) { fs.PubkeyEd25519 = a.PubkeyX25519 },
		"same ed25519":   func(fs *FileServer) { fs.PubkeyEd25519 = a.PubkeyEd25519 },
		"empty entry":    func(fs *FileServer) { *fs = FileServer{} },
	} {
		c := b
		mut(&c)
		if err := CheckFileServers([]FileServer{a, c}, false); !errors.Is(err, ErrFileServer) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A devnet accepts its loopback server.
	c := b
	c.URL = "http://127.0.0.1:8080"
	if err := CheckFileServers([]FileServer{a, c}, true); err != nil {
		t.Fatal(err)
	}
}

func TestParseFileServerList(t *testing.T) {
	l, err := ParseFileServerList([]byte(`{"height": 7, "file_servers": [{"url": "https://files.example.org", "pubkey_x25519": "`+
		strings.Repeat("ab", 32)+`", "pubkey_ed25519": "`+strings.Repeat("cd", 32)+`", "extra": 1}]}`), false)
	if err != nil {
		t.Fatal(err)
	}
	if l.Height != 7 || len(l.FileServers) != 1 || l.FileServers[0].URL != "https://files.example.org" {
		t.Fatalf("parsed %+v", l)
	}
	if l, err := ParseFileServerList([]byte(`{"height": 1, "file_servers": []}`), false); err != nil || len(l.FileServers) != 0 {
		t.Fatalf("empty list: %v %v", l, err)
	}
	for _, bad := range []string{``, `[]`, `{"height": 1}`, `{"height": 1, "file_servers": null}`, `{"height": -1, "file_servers": []}`,
		`{"height": 1, "file_servers": []} {}`, `{"height": 1, "file_servers": [{}]}`, `{"height": 1, "file_servers": [1]}`} {
		if _, err := ParseFileServerList([]byte(bad), true); !errors.Is(err, ErrFileServer) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzCheckFileServerURL(f *testing.F) {
	for _, s := range []string{"https://files.example.org", "http://127.0.0.1:8080/x/", "https://[2001:db8::1]:443", "https://a@b.c?d#e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckFileServerURL(s, true)
		if err != nil {
			if !errors.Is(err, ErrFileServerURL) {
				t.Fatalf("error %v does not wrap ErrFileServerURL", err)
			}
			return
		}
		// What the rule accepts is a plain URL that net/url reads back
		// with the same scheme, host and path and nothing else.
		u, perr := url.Parse(s)
		if perr != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || u.Host == "" ||
			(u.Scheme != "http" && u.Scheme != "https") || u.Scheme+"://"+u.Host+u.Path != s {
			t.Fatalf("accepted %q, which net/url reads as %+v (%v)", s, u, perr)
		}
	})
}
