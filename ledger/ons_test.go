package ledger

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

type onsVector struct {
	Name          string `json:"name"`
	NameHashB64   string `json:"name_hash_b64"`
	ValueAndNonce string `json:"value_and_nonce"`
	SessionID     string `json:"session_id"`
}

func loadONSVectors(t *testing.T) []onsVector {
	t.Helper()
	b, err := os.ReadFile("testdata/ons.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Names []onsVector `json:"names"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Names) == 0 {
		t.Fatal("no ONS vectors")
	}
	return f.Names
}

func TestONSVectors(t *testing.T) {
	for _, v := range loadONSVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			h := ONSNameHash(v.Name)
			if got := base64.StdEncoding.EncodeToString(h[:]); got != v.NameHashB64 {
				t.Fatalf("name hash %s, want %s", got, v.NameHashB64)
			}
			if parsed, err := ParseNameHash(v.NameHashB64); err != nil || parsed != h {
				t.Fatalf("ParseNameHash: %v", err)
			}
			vn, _ := hex.DecodeString(v.ValueAndNonce)
			value, nonce := vn[:ONSValueSize], [24]byte(vn[ONSValueSize:])
			id, err := ONSDecrypt(v.Name, value, nonce)
			if err != nil || hex.EncodeToString(id) != v.SessionID {
				t.Fatalf("decrypt: %x, %v", id, err)
			}
			// Names are case-insensitive.
			if id2, err := ONSDecrypt(upper(v.Name), value, nonce); err != nil || !bytes.Equal(id, id2) {
				t.Fatalf("upper-case name: %v", err)
			}
			if _, err := ONSDecrypt(v.Name+"x", value, nonce); !errors.Is(err, ErrONSDecrypt) {
				t.Fatalf("wrong name: %v", err)
			}
		})
	}
}

func upper(s string) string { return string(bytes.ToUpper([]byte(s))) }

func TestONSRoundTrip(t *testing.T) {
	id, _ := hex.DecodeString("05d871fc80ca007eed9b2f4df72853e2a2d5465a92fcb1889fb5c84aa2833b3b40")
	value, nonce, err := ONSEncrypt("Sotto_Name", id)
	if err != nil || len(value) != ONSValueSize {
		t.Fatal(err)
	}
	got, err := ONSDecrypt("sotto_name", value, nonce)
	if err != nil || !bytes.Equal(got, id) {
		t.Fatalf("round trip: %v", err)
	}
	if _, _, err := ONSEncrypt("x", id[:32]); err == nil {
		t.Fatal("short Session ID accepted")
	}
	if _, err := ONSDecrypt("x", value[:10], nonce); !errors.Is(err, ErrONSDecrypt) {
		t.Fatal("short value accepted")
	}
}

func TestCheckONSName(t *testing.T) {
	for _, ok := range []string{"a", "keejef", "with-dash", "_under_", "A1-b2"} {
		if err := CheckONSName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-lead", "trail-", "sp ace", "dot.name", "ünï", string(make([]byte, 65))} {
		if err := CheckONSName(bad); !errors.Is(err, ErrONSName) {
			t.Errorf("%q accepted", bad)
		}
	}
}
