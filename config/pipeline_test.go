package config

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/blake2b"
)

var (
	kindProfile  = Kind{Name: "user_profile", Namespace: 2, Domain: "UserProfile", Protobuf: true}
	kindContacts = Kind{Name: "contacts", Namespace: 3, Domain: "Contacts", Protobuf: true}
	kindInfo     = Kind{Name: "groups_info", Namespace: 13, Domain: "groups::Info"}
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testAccount(tag string) (ed25519.PrivateKey, [32]byte) {
	seed := blake2b.Sum256([]byte("pipeline-test:" + tag))
	return ed25519.NewKeyFromSeed(seed[:]), seed
}

// oracleCall is one command of the oracle vectors in lsu/testdata, with
// its reply.
type oracleCall struct {
	Command  map[string]any `json:"command"`
	Response map[string]any `json:"response"`
}

func (c oracleCall) str(k string) string { s, _ := c.Command[k].(string); return s }

func (c oracleCall) num(k string) (int64, bool) {
	f, ok := c.Command[k].(float64)
	return int64(f), ok
}

func (c oracleCall) ok() bool { ok, _ := c.Response["ok"].(bool); return ok }

func (c oracleCall) out(k string) string { s, _ := c.Response[k].(string); return s }

// oracleCalls loads every call of cmd in the oracle's vector files of
// config/lsu/testdata (produced by lsu-oracle; see pipeline-gen.py).
func oracleCalls(t *testing.T, cmd string) []oracleCall {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("lsu", "testdata", "pipeline-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vector files: %v", err)
	}
	var calls []oracleCall
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Vectors []struct {
				Calls []oracleCall `json:"calls"`
			} `json:"vectors"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, v := range doc.Vectors {
			for _, c := range v.Calls {
				if c.str("cmd") == cmd {
					calls = append(calls, c)
				}
			}
		}
	}
	if len(calls) == 0 {
		t.Fatalf("no %s vectors", cmd)
	}
	return calls
}

func TestPaddedSizeVectors(t *testing.T) {
	for _, c := range oracleCalls(t, "padded_size") {
		size, ok := c.num("size")
		if !ok || !c.ok() {
			continue
		}
		overhead, ok := c.num("overhead")
		if !ok {
			overhead = Overhead
		}
		want := int(c.Response["padded_size"].(float64))
		if got := PaddedSize(int(size), int(overhead)); got != want {
			t.Errorf("PaddedSize(%d, %d) = %d, want %d", size, overhead, got, want)
		}
	}
}

func TestPad(t *testing.T) {
	for _, n := range []int{0, 1, 216, 217, 5080, 5081, 76760} {
		msg := bytes.Repeat([]byte{'d'}, n)
		p := Pad(msg)
		if len(p) != PaddedSize(n, Overhead) || !bytes.HasSuffix(p, msg) || len(unpad(p)) != n {
			t.Errorf("Pad(%d bytes): %d bytes, suffix %v", n, len(p), bytes.HasSuffix(p, msg))
		}
		if (len(p)+Overhead)%256 != 0 {
			t.Errorf("Pad(%d bytes) + overhead = %d, not a multiple of 256", n, len(p)+Overhead)
		}
	}
}

// libsessionEncryptErr maps the oracle's error texts to this package's
// errors.
var libsessionEncryptErr = map[string]error{
	"encrypt called with domain size not in [1, 24]": ErrDomain,
	"Decryption failed: ciphertext is too short":     ErrShortCiphertext,
	"Message decryption failed":                      ErrDecrypt,
}

func TestEncryptVectors(t *testing.T) {
	n := 0
	for _, c := range oracleCalls(t, "config_encrypt") {
		key, err := hex.DecodeString(c.str("key"))
		pt, err2 := hex.DecodeString(c.str("plaintext"))
		domain, isText := c.Command["domain"].(string)
		if err != nil || err2 != nil || len(key) != 32 || !isText || c.Command["plaintext"] == nil {
			continue // input errors the runner reports
		}
		ct, err := Encrypt(pt, [32]byte(key), domain)
		if !c.ok() {
			if want := libsessionEncryptErr[c.out("error")]; !errors.Is(err, want) {
				t.Errorf("Encrypt(domain %q): %v, want %v", domain, err, want)
			}
			continue
		}
		n++
		if err != nil || hex.EncodeToString(ct) != c.out("ciphertext") {
			t.Errorf("Encrypt(%d bytes, domain %q) = %x…, %v; want %.40s…", len(pt), domain, ct[:min(len(ct), 20)], err, c.out("ciphertext"))
		}
	}
	if n < 40 {
		t.Errorf("only %d encryptions checked", n)
	}
}

func TestDecryptVectors(t *testing.T) {
	for _, c := range oracleCalls(t, "config_decrypt") {
		key, err := hex.DecodeString(c.str("key"))
		ct, err2 := hex.DecodeString(c.str("ciphertext"))
		domain, isText := c.Command["domain"].(string)
		if err != nil || err2 != nil || len(key) != 32 || !isText || c.Command["ciphertext"] == nil {
			continue
		}
		pt, err := Decrypt(ct, [32]byte(key), domain)
		if !c.ok() {
			if want := libsessionEncryptErr[c.out("error")]; !errors.Is(err, want) {
				t.Errorf("Decrypt(%d bytes, domain %q): %v, want %v", len(ct), domain, err, want)
			}
			continue
		}
		if err != nil || hex.EncodeToString(pt) != c.out("plaintext") {
			t.Errorf("Decrypt(%d bytes, domain %q): %v", len(ct), domain, err)
		}
	}
}

// oracleSeedKey reads the "seed" of a protos command (32 or 64 bytes).
func oracleSeedKey(c oracleCall) ed25519.PrivateKey {
	b, err := hex.DecodeString(c.str("seed"))
	if err != nil || (len(b) != 32 && len(b) != 64) {
		return nil
	}
	return ed25519.NewKeyFromSeed(b[:32])
}

func TestWrapVectors(t *testing.T) {
	for _, c := range oracleCalls(t, "protos_wrap") {
		sk := oracleSeedKey(c)
		data, err := hex.DecodeString(c.str("data"))
		seqno, ok1 := c.num("seqno")
		ns, ok2 := c.num("namespace")
		if sk == nil || err != nil || c.Command["data"] == nil || !ok1 || !ok2 {
			continue
		}
		w, err := WrapConfig(sk, data, seqno, int(ns))
		if !c.ok() {
			var we *WrapperError
			if !errors.As(err, &we) || we.Reason != c.out("error") {
				t.Errorf("WrapConfig(ns %d): %v, want %q", ns, err, c.out("error"))
			}
			continue
		}
		if err != nil || hex.EncodeToString(w) != c.out("wrapped") {
			t.Errorf("WrapConfig(%d bytes, seqno %d, ns %d): %v, bytes differ", len(data), seqno, ns, err)
		}
	}
}

func TestUnwrapVectors(t *testing.T) {
	for _, c := range oracleCalls(t, "protos_unwrap") {
		sk := oracleSeedKey(c)
		data, err := hex.DecodeString(c.str("data"))
		ns, ok := c.num("namespace")
		if sk == nil || err != nil || c.Command["data"] == nil || !ok {
			continue
		}
		got, err := UnwrapConfig(sk, data, int(ns))
		if !c.ok() {
			var we *WrapperError
			if !errors.As(err, &we) || we.Reason != c.out("error") {
				t.Errorf("UnwrapConfig(%.32x…, ns %d): %v, want %q", data, ns, err, c.out("error"))
			}
			continue
		}
		if err != nil || hex.EncodeToString(got) != c.out("data") {
			t.Errorf("UnwrapConfig(%.32x…, ns %d): %v", data, ns, err)
		}
	}
}

// push is a push step of a public vector (testdata/pipeline-pushes.json).
type push struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Seed       string `json:"seed"`
	Seqno      int64  `json:"seqno"`
	Data       string `json:"data"`
	Inner      string `json:"inner"`
	Compressed bool   `json:"compressed"`
	PaddedLen  int    `json:"padded_plaintext_len"`
	BT         string `json:"bt"`
	BTSHA256   string `json:"bt_sha256"`
}

func loadPushes(t *testing.T) []push {
	b, err := os.ReadFile(filepath.Join("testdata", "pipeline-pushes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Pushes []push }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Pushes
}

// TestPushVectors opens libsession's own pushes (one compressed by zstd
// 1.5.2), and seals the uncompressed one back to the same bytes.
func TestPushVectors(t *testing.T) {
	for _, p := range loadPushes(t) {
		t.Run(p.ID, func(t *testing.T) {
			kind := map[string]Kind{"user_profile": kindProfile, "contacts": kindContacts}[p.Type]
			seed := [32]byte(unhex(t, p.Seed))
			account := ed25519.NewKeyFromSeed(seed[:])
			o, err := Open(unhex(t, p.Data), kind, [][32]byte{seed}, account)
			if err != nil {
				t.Fatal(err)
			}
			if p.BT != "" && hex.EncodeToString(o.Plain) != p.BT {
				t.Errorf("Open: %x, want %s", o.Plain, p.BT)
			}
			if p.BTSHA256 != "" && fmt.Sprintf("%x", sha256.Sum256(o.Plain)) != p.BTSHA256 {
				t.Errorf("Open: plaintext SHA-256 differs")
			}
			// The raw inner ciphertext opens too (user_profile.merge_raw_inner).
			if o2, err := Open(unhex(t, p.Inner), kind, [][32]byte{seed}, account); err != nil || !bytes.Equal(o2.Plain, o.Plain) {
				t.Errorf("Open(inner): %v", err)
			}

			s, err := Seal(o.Plain, kind, seed, account, p.Seqno)
			if err != nil {
				t.Fatal(err)
			}
			if s.Compressed != p.Compressed || len(s.Messages) != 1 {
				t.Fatalf("Seal: compressed %v, %d messages", s.Compressed, len(s.Messages))
			}
			if !p.Compressed {
				if hex.EncodeToString(s.Messages[0]) != p.Data || hex.EncodeToString(s.Inner) != p.Inner || s.PaddedLen != p.PaddedLen {
					t.Errorf("Seal differs from libsession's push")
				}
			}
			back, err := Open(s.Messages[0], kind, [][32]byte{seed}, account)
			if err != nil || !bytes.Equal(back.Plain, o.Plain) {
				t.Errorf("Open(Seal) = %v", err)
			}
		})
	}
}

// contactsMessage builds a serialized contacts-like config message of n
// entries: 33-byte ids from a hash (so that they do not compress) with a
// name, nickname and flags, about what n real contacts take.
func contactsMessage(n int) []byte {
	var b bytes.Buffer
	b.WriteString("d1:#i7e1:&d1:cd")
	for i := range n {
		id := blake2b.Sum256([]byte(fmt.Sprint("contact ", i)))
		name := fmt.Sprintf("Contact number %d", i)
		nick := fmt.Sprintf("nick %x", id[:3])
		fmt.Fprintf(&b, "33:\x05%s", id[:])
		fmt.Fprintf(&b, "d1:Ai1e1:N%d:%s1:ai1e1:ji%de1:n%d:%se", len(nick), nick, 1700000000+i, len(name), name)
	}
	b.WriteString("ee1:<le1:=d1:cdeee")
	return b.Bytes()
}

func TestSealOpenRoundTrip(t *testing.T) {
	account, seed := testAccount("a")
	rnd := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		b[0] = 'd'
		return b
	}
	tests := []struct {
		name       string
		kind       Kind
		msg        []byte
		compressed bool
		parts      int  // 0: one whole message
		raw        bool // the message is stored without its protobuf wrapper
	}{
		{"empty profile", kindProfile, []byte("d1:#i0e1:&de1:<le1:=dee"), false, 0, false},
		{"group info", kindInfo, []byte("d1:#i3e1:&d1:n4:teame1:<le1:=d1:n0:ee"), false, 0, false},
		{"compressible", kindContacts, contactsMessage(300), true, 0, false},
		{"wrapper fits", kindContacts, random(70000), false, 0, false},
		{"wrapper too large", kindContacts, random(75000), false, 0, true},
		{"just over one message", kindContacts, random(76800), false, 2, false},
		{"group info parts", kindInfo, random(200000), false, 3, false},
		{"10,000 contacts", kindContacts, contactsMessage(10000), true, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct := account
			if !tt.kind.Protobuf {
				acct = nil
			}
			s, err := Seal(tt.msg, tt.kind, seed, acct, 9)
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range s.Messages {
				if len(m) > MaxMessageSize {
					t.Errorf("message %d is %d bytes", i, len(m))
				}
			}
			keys := [][32]byte{blake2b.Sum256([]byte("old key")), seed}
			if tt.parts == 0 {
				if len(s.Messages) != 1 || s.Compressed != tt.compressed {
					t.Fatalf("%d messages, compressed %v", len(s.Messages), s.Compressed)
				}
				if tt.kind.Protobuf && bytes.Equal(s.Messages[0], s.Inner) != tt.raw {
					t.Errorf("stored raw: %v, want %v", !tt.raw, tt.raw)
				}
				o, err := Open(s.Messages[0], tt.kind, keys, acct)
				if err != nil || !bytes.Equal(o.Plain, tt.msg) || o.KeyIndex != 1 || o.Part != nil {
					t.Fatalf("Open: %v, key %d", err, o.KeyIndex)
				}
				return
			}
			if s.Inner != nil || s.PaddedLen != 0 {
				t.Errorf("parts have single-message layers")
			}
			if tt.parts > 0 && len(s.Messages) != tt.parts || len(s.Messages) < 2 {
				t.Fatalf("%d parts, want %d", len(s.Messages), tt.parts)
			}
			t.Logf("%d bytes in %d parts", len(tt.msg), len(s.Messages))
			parts := make([]Part, len(s.Messages))
			for i, m := range s.Messages {
				o, err := Open(m, tt.kind, keys, acct)
				if err != nil || o.Part == nil || o.Plain != nil {
					t.Fatalf("Open(part %d): %v", i, err)
				}
				if o.Part.Index != i || o.Part.Count != len(s.Messages) || o.Part.Hash != blake2b.Sum256(tt.msg) {
					t.Errorf("part %d: index %d of %d", i, o.Part.Index, o.Part.Count)
				}
				if i < len(s.Messages)-1 && len(m) != MaxMessageSize {
					t.Errorf("part %d is %d bytes, want %d", i, len(m), MaxMessageSize)
				}
				parts[i] = *o.Part
			}
			rnd.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
			got, err := JoinParts(parts)
			if err != nil || !bytes.Equal(got, tt.msg) {
				t.Fatalf("JoinParts: %v", err)
			}
		})
	}
}

func TestSealErrors(t *testing.T) {
	account, seed := testAccount("a")
	if _, err := Seal([]byte("de"), Kind{Domain: ""}, seed, nil, 1); !errors.Is(err, ErrDomain) {
		t.Errorf("empty domain: %v", err)
	}
	if _, err := Seal([]byte("de"), Kind{Domain: "UserProfile", Namespace: 7, Protobuf: true}, seed, account, 1); err == nil {
		t.Errorf("wrapper of namespace 7: no error")
	}
	if _, err := Seal([]byte("de"), kindProfile, seed, nil, 1); err == nil {
		t.Errorf("wrapper without an account: no error")
	}
	if _, err := splitParts(make([]byte, MaxMultipartBody+1), [32]byte{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("splitParts over the maximum: %v", err)
	}
	if parts, err := splitParts(make([]byte, MaxMultipartBody), [32]byte{}); err != nil || len(parts) != MaxParts {
		t.Errorf("splitParts at the maximum: %d parts, %v", len(parts), err)
	}
}

// sealRaw encrypts an arbitrary body the way Seal encrypts a message.
func sealRaw(t *testing.T, body []byte, key [32]byte, domain string) []byte {
	ct, err := Encrypt(Pad(body), key, domain)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func TestOpenErrors(t *testing.T) {
	_, key := testAccount("a")
	keys := [][32]byte{key}
	zBomb, _ := compress(make([]byte, MaxDecompressedSize+1))
	notZstd := []byte("zzzz")
	tests := []struct {
		name string
		data []byte
		kind Kind
		keys [][32]byte
		want error
	}{
		{"short", make([]byte, 39), kindInfo, keys, ErrShortCiphertext},
		{"garbage", make([]byte, 300), kindInfo, keys, ErrDecrypt},
		{"no keys", sealRaw(t, []byte("de"), key, "groups::Info"), kindInfo, nil, nil},
		{"wrong domain", sealRaw(t, []byte("de"), key, "groups::Members"), kindInfo, keys, ErrDecrypt},
		{"bad domain", sealRaw(t, []byte("de"), key, "x"), Kind{Domain: ""}, keys, ErrDomain},
		{"all zeros", sealRaw(t, nil, key, "x"), Kind{Domain: "x"}, keys, ErrMalformed},
		{"not a dict", sealRaw(t, []byte("l1:ae"), key, "x"), Kind{Domain: "x"}, keys, ErrMalformed},
		{"bad zstd", sealRaw(t, notZstd, key, "x"), Kind{Domain: "x"}, keys, ErrDecompress},
		{"zstd bomb", sealRaw(t, zBomb, key, "x"), Kind{Domain: "x"}, keys, ErrDecompress},
		{"zstd of nothing", sealRaw(t, compressAlways(nil), key, "x"), Kind{Domain: "x"}, keys, ErrDecompress},
		{"zstd of a list", sealRaw(t, compressAlways([]byte("le")), key, "x"), Kind{Domain: "x"}, keys, ErrMalformed},
		{"bad part", sealRaw(t, []byte("ml32:"), key, "x"), Kind{Domain: "x"}, keys, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.data, tt.kind, tt.keys, nil)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Open: %v, want %v", err, tt.want)
			}
		})
	}
}

func compressAlways(msg []byte) []byte {
	return Zstd([]byte{prefixCompressed}, msg)
}

// TestCompressFrame checks that a compressed body is one zstd frame that
// states its content size, as ZSTD_compress writes it, and that
// decompression accepts concatenated frames as libsession's loop does.
func TestCompressFrame(t *testing.T) {
	msg := contactsMessage(50)
	body, ok := compress(msg)
	if !ok || body[0] != 'z' {
		t.Fatalf("not compressed")
	}
	if !bytes.Equal(body[1:5], []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		t.Fatalf("no zstd magic: %x", body[1:5])
	}
	fhd := body[5]
	if fhd>>6 == 0 && fhd&0x20 == 0 {
		t.Errorf("frame header %08b has no content size", fhd)
	}
	if out, err := decompress(body); err != nil || !bytes.Equal(out, msg) {
		t.Errorf("decompress: %v", err)
	}
	two := append(compressAlways([]byte("d1:a")), compressAlways([]byte("i1ee"))[1:]...)
	if out, err := decompress(two); err != nil || string(out) != "d1:ai1ee" {
		t.Errorf("two frames: %q, %v", out, err)
	}
	if small, ok := compress([]byte("d1:#i0e1:&de1:<le1:=dee")); ok || small[0] != 'd' {
		t.Errorf("a small message was compressed")
	}
}

func TestParts(t *testing.T) {
	msg := []byte("d1:#i1e1:&de1:<le1:=dee")
	hash := blake2b.Sum256(msg)
	body := Pad(msg)
	mk := func(cut ...int) []Part {
		var ps []Part
		prev := 0
		for i, c := range append(cut, len(body)) {
			ps = append(ps, Part{Hash: hash, Index: i, Count: len(cut) + 1, Chunk: body[prev:c]})
			prev = c
		}
		return ps
	}
	if got, err := JoinParts(mk(100, 150)); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("JoinParts: %q, %v", got, err)
	}
	for _, p := range mk(100, 150) {
		enc := encodePart(p)
		dec, err := decodePart(enc)
		if err != nil || dec.Hash != p.Hash || dec.Index != p.Index || dec.Count != p.Count || !bytes.Equal(dec.Chunk, p.Chunk) {
			t.Errorf("decodePart(encodePart(part %d)): %v", p.Index, err)
		}
	}
	bad := map[string]func() []Part{
		"none":        func() []Part { return nil },
		"missing":     func() []Part { return mk(100, 150)[:2] },
		"duplicate":   func() []Part { p := mk(100, 150); p[2] = p[1]; return p },
		"other hash":  func() []Part { p := mk(100, 150); p[1].Hash[0] ^= 1; return p },
		"other count": func() []Part { p := mk(100, 150); p[1].Count = 4; return p },
		"index over":  func() []Part { p := mk(100, 150); p[1].Index = 3; return p },
		"negative":    func() []Part { p := mk(100, 150); p[1].Index = -1; return p },
		"count zero":  func() []Part { p := mk(100); p[0].Count, p[1].Count = 0, 0; return p },
		"wrong hash":  func() []Part { p := mk(100); p[0].Hash, p[1].Hash = [32]byte{}, [32]byte{}; return p },
		"swapped":     func() []Part { p := mk(100); p[0].Index, p[1].Index = 1, 0; return p },
		"too many":    func() []Part { return make([]Part, 256) },
		"corrupt chunk": func() []Part {
			p := mk(100)
			p[1].Chunk = append([]byte{}, p[1].Chunk...)
			p[1].Chunk[0] ^= 1
			return p
		},
	}
	for name, f := range bad {
		if _, err := JoinParts(f()); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	badParts := []string{
		"", "m", "d", "ml", "mle",
		"ml31:" + string(make([]byte, 31)) + "1:\x001:\x012:abe",
		"ml32:" + string(make([]byte, 32)) + "1:\x001:\x002:abe", // count 0
		"ml32:" + string(make([]byte, 32)) + "1:\x011:\x012:abe", // index 1 of 1
		"ml32:" + string(make([]byte, 32)) + "2:\x00\x001:\x012:abe",
		"ml32:" + string(make([]byte, 32)) + "1:\x001:\x010:e",    // empty chunk
		"ml32:" + string(make([]byte, 32)) + "1:\x001:\x0102:abe", // leading zero
		"ml32:" + string(make([]byte, 32)) + "1:\x001:\x012:ab",   // unterminated
		"ml32:" + string(make([]byte, 32)) + "1:\x001:\x012:abi1ee",
		"ml32:" + string(make([]byte, 32)) + "1:\x001:\x019:abe",
		"ml32:" + string(make([]byte, 32)) + "1:\x001:\x01-2:abe",
	}
	for _, s := range badParts {
		if _, err := decodePart([]byte(s)); !errors.Is(err, ErrMalformed) {
			t.Errorf("decodePart(%q): %v", s, err)
		}
	}
}

func TestEncryptDeterministic(t *testing.T) {
	_, key := testAccount("a")
	a, _ := Encrypt([]byte("same"), key, "x")
	b, _ := Encrypt([]byte("same"), key, "x")
	c, _ := Encrypt([]byte("samf"), key, "x")
	if !bytes.Equal(a, b) || bytes.Equal(a, c) || len(a) != 4+Overhead {
		t.Errorf("Encrypt is not deterministic per message")
	}
	if bytes.Equal(a[len(a)-24:], c[len(c)-24:]) {
		t.Errorf("two messages have the same nonce")
	}
}
