package identity

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strconv"
	"testing"

	"sotto.dev/internal/vectors"
	"sotto.dev/key"
)

func TestBlindingKeys(t *testing.T) {
	v := vectors.Get(t, "blinding.libsession.keys")
	k1 := mustKeys(t, v.InHex(t, "seed1"))
	k2 := mustKeys(t, v.InHex(t, "seed2"))
	checks := []struct{ name, got, want string }{
		{"ed_pk1", k1.Ed25519Public().String(), v.OutString(t, "ed_pk1")},
		{"ed_pk2_negative", k2.Ed25519Public().String(), v.OutString(t, "ed_pk2_negative")},
		{"session_id1", k1.SessionID().String(), v.OutString(t, "session_id1")},
		{"session_id2", k2.SessionID().String(), v.OutString(t, "session_id2")},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
	abs, err := XEd25519Public(k2.X25519Public())
	if err != nil || abs.String() != v.OutString(t, "ed_pk2_abs") {
		t.Errorf("XEd25519Public(X2) = %s, %v", abs, err)
	}
}

func TestBlind15IDs(t *testing.T) {
	v := vectors.Get(t, "blinding.libsession.blind15_ids")
	var cases []struct {
		SessionID string `json:"session_id"`
		ServerPK  string `json:"server_pk"`
	}
	var want []string
	v.In(t, "cases", &cases)
	v.Out(t, "blinded_ids_positive_variant", &want)
	if len(cases) != len(want) {
		t.Fatal("vector has mismatched cases")
	}
	keys := vectors.Get(t, "blinding.libsession.keys")
	seeds := map[string][]byte{
		keys.OutString(t, "session_id1"): keys.InHex(t, "seed1"),
		keys.OutString(t, "session_id2"): keys.InHex(t, "seed2"),
	}
	for i, c := range cases {
		id := mustID(t, c.SessionID)
		server := mustHex32(t, c.ServerPK)
		ids, err := Blind15IDs(id, server)
		if err != nil {
			t.Fatal(err)
		}
		if ids[0].String() != want[i] {
			t.Errorf("case %d: positive id = %s, want %s", i, ids[0], want[i])
		}
		if k := ids[1].Key(); k[31] != ids[0].Key()[31]^0x80 {
			t.Errorf("case %d: negative variant does not flip the sign bit", i)
		}
		// The holder of the keys gets the variant matching its sign.
		k := mustKeys(t, seeds[c.SessionID])
		kp, err := k.Blind15(server)
		if err != nil {
			t.Fatal(err)
		}
		real := ids[0]
		if k.Ed25519Public()[31]&0x80 != 0 {
			real = ids[1]
		}
		if kp.ID() != real {
			t.Errorf("case %d: Keys.Blind15 = %s, want %s", i, kp.ID(), real)
		}
		for _, b := range ids {
			if !SessionIDMatchesBlinded(id, b, server) {
				t.Errorf("case %d: %s does not match %s", i, id, b)
			}
		}
	}
}

func TestBlind25IDs(t *testing.T) {
	v := extraVector(t, "extra.blind25_ids")
	var cases []struct {
		SessionID string `json:"session_id"`
		ServerPK  string `json:"server_pk"`
	}
	var want []string
	v.In(t, "cases", &cases)
	v.Out(t, "blind25_ids", &want)
	keys := vectors.Get(t, "blinding.libsession.keys")
	seeds := map[string][]byte{
		keys.OutString(t, "session_id1"): keys.InHex(t, "seed1"),
		keys.OutString(t, "session_id2"): keys.InHex(t, "seed2"),
	}
	for i, c := range cases {
		id := mustID(t, c.SessionID)
		server := mustHex32(t, c.ServerPK)
		got, err := Blind25ID(id, server)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want[i] {
			t.Errorf("case %d: Blind25ID = %s, want %s", i, got, want[i])
		}
		kp, err := mustKeys(t, seeds[c.SessionID]).Blind25(server)
		if err != nil {
			t.Fatal(err)
		}
		if kp.ID().String() != want[i] {
			t.Errorf("case %d: Keys.Blind25 = %s, want %s (sign-negation rule)", i, kp.ID(), want[i])
		}
		if !SessionIDMatchesBlinded(id, got, server) {
			t.Errorf("case %d: no match", i)
		}
	}
}

func TestBlindSignatures(t *testing.T) {
	vs := append(vectors.WithPrefix(t, "blinding.libsession.sign_"),
		extraVector(t, "extra.sign_4"), extraVector(t, "extra.sign_5"), extraVector(t, "extra.sign_6"))
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			k := mustKeys(t, v.InHex(t, "ed25519_seed"))
			server := mustHex32(t, v.InString(t, "server_pk"))
			msg := []byte(v.InString(t, "message_utf8"))

			sig15, err := k.Blind15Sign(server, msg, NonceSK64)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sig15[:], v.OutHex(t, "blind15_signature")) {
				t.Errorf("blind15 signature = %x", sig15)
			}
			kp15, _ := k.Blind15(server)
			if !ed25519.Verify(kp15.Public[:], msg, sig15[:]) {
				t.Error("blind15 signature does not verify with the blinded key")
			}

			sig25, err := k.Blind25Sign(server, msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sig25[:], v.OutHex(t, "blind25_signature")) {
				t.Errorf("blind25 signature = %x", sig25)
			}
			id25, err := Blind25ID(k.SessionID(), server)
			if err != nil {
				t.Fatal(err)
			}
			pub := id25.Key()
			if !ed25519.Verify(pub[:], msg, sig25[:]) {
				t.Error("blind25 signature does not verify with the ID computed from the Session ID")
			}
		})
	}
}

func TestVersionKey(t *testing.T) {
	v := vectors.Get(t, "blinding.version.keypair_and_sign")
	k := mustKeys(t, v.InHex(t, "ed25519_seed"))
	if got := k.VersionKey(); !bytes.Equal(got, v.OutHex(t, "sk64")) {
		t.Errorf("version sk64 = %x", []byte(got))
	}
	pub := k.VersionPublic()
	if pk := pub.Key(); pub.Prefix() != key.PrefixVersion || !bytes.Equal(pk[:], v.OutHex(t, "pubkey")) {
		t.Errorf("version public = %s", pub)
	}
	var ts int64
	var platform string
	v.In(t, "timestamp", &ts)
	v.In(t, "platform", &platform)
	msg := v.InString(t, "signed_message_utf8")
	if built := strconv.FormatInt(ts, 10) + "GET/session_version?platform=" + platform; built != msg {
		t.Fatalf("signed message %q, built %q", msg, built)
	}
	if sig := k.VersionSign([]byte(msg)); !bytes.Equal(sig[:], v.OutHex(t, "signature")) {
		t.Errorf("version signature = %x", sig)
	}
}

func TestPysogsBlind15(t *testing.T) {
	for _, v := range vectors.WithPrefix(t, "blinding.pysogs.blind15_") {
		k := mustKeys(t, v.InHex(t, "ed25519_seed"))
		server := mustHex32(t, v.InString(t, "server_pk"))
		want := v.OutString(t, "blinded_id")
		kp, err := k.Blind15(server)
		if err != nil {
			t.Fatal(err)
		}
		if kp.ID().String() != want {
			t.Errorf("%s: Blind15 = %s, want %s", v.Name, kp.ID(), want)
		}
		if !SessionIDMatchesBlinded(k.SessionID(), mustBlinded(t, want), server) {
			t.Errorf("%s: Session ID does not match its blinded ID", v.Name)
		}
	}
}

// sogsMessage builds the SOGS signed string (session-protocol.md §5.4) for
// a body-less request.
func sogsMessage(t *testing.T, v vectors.Vector) []byte {
	t.Helper()
	nonce, err := base64.StdEncoding.DecodeString(v.InString(t, "nonce_b64"))
	if err != nil {
		t.Fatal(err)
	}
	var ts int64
	v.In(t, "timestamp", &ts)
	msg := append([]byte(nil), v.InHex(t, "server_pk")...)
	msg = append(msg, nonce...)
	msg = strconv.AppendInt(msg, ts, 10)
	msg = append(msg, v.InString(t, "method")...)
	msg = append(msg, v.InString(t, "path")...)
	return msg
}

func TestSOGSHeaderSignatures(t *testing.T) {
	cases := []struct {
		name string
		nk   NonceKey
	}{
		{"sogs.auth_headers.blinded_no_body", NonceSeed},
		{"sogs.auth_headers.blinded_no_body_libsession_nonce", NonceSK64},
	}
	for _, c := range cases {
		v := vectors.Get(t, c.name)
		k := mustKeys(t, v.InHex(t, "ed25519_seed"))
		if k.Ed25519Public().String() != v.InString(t, "ed25519_pk") {
			t.Fatalf("%s: seed gives pk %s", c.name, k.Ed25519Public())
		}
		server := mustHex32(t, v.InString(t, "server_pk"))
		sig, err := k.Blind15Sign(server, sogsMessage(t, v), c.nk)
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.StdEncoding.EncodeToString(sig[:]); got != v.OutString(t, "X-SOGS-Signature") {
			t.Errorf("%s: signature %s", c.name, got)
		}
		if _, ok := v.Expected["X-SOGS-Pubkey"]; ok {
			kp, _ := k.Blind15(server)
			if kp.ID().String() != v.OutString(t, "X-SOGS-Pubkey") {
				t.Errorf("%s: pubkey %s", c.name, kp.ID())
			}
		}
	}

	v := vectors.Get(t, "sogs.auth_headers.unblinded_no_body")
	k := mustKeys(t, v.InHex(t, "ed25519_seed"))
	if got := key.NewSessionID(key.PrefixUnblinded, k.Ed25519Public()).String(); got != v.OutString(t, "X-SOGS-Pubkey") {
		t.Errorf("unblinded pubkey %s", got)
	}
	sig := k.Sign(sogsMessage(t, v))
	if got := base64.StdEncoding.EncodeToString(sig[:]); got != v.OutString(t, "X-SOGS-Signature") {
		t.Errorf("unblinded signature %s", got)
	}
}

func TestDerivedBlindedDMIDs(t *testing.T) {
	for _, name := range []string{"derived.blinded_dm_15", "derived.blinded_dm_25"} {
		v := vectors.Get(t, name)
		server := mustHex32(t, v.InString(t, "server_pk"))
		for _, who := range []string{"sender", "recipient"} {
			k := mustKeys(t, v.InHex(t, who+"_ed25519_seed"))
			var kp *BlindedKeyPair
			var err error
			if name == "derived.blinded_dm_15" {
				kp, err = k.Blind15(server)
			} else {
				kp, err = k.Blind25(server)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := kp.ID().String(), v.OutString(t, who+"_blinded_id"); got != want {
				t.Errorf("%s %s: blinded id %s, want %s", name, who, got, want)
			}
		}
	}
}

func TestBlindingErrors(t *testing.T) {
	k := mustKeys(t, make([]byte, 16))
	server := [32]byte{1}
	if _, err := k.Blind15Sign(server, nil, NonceKey(7)); !errors.Is(err, ErrNonceKey) {
		t.Errorf("bad nonce key: err = %v", err)
	}
	blinded, err := k.Blind15(server)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []key.SessionID{blinded.ID().SessionID(), key.NewSessionID(key.PrefixGroup, k.X25519Public())} {
		var pe *key.PrefixError
		if _, err := Blind15IDs(id, server); !errors.As(err, &pe) {
			t.Errorf("Blind15IDs(%s): err = %v", id, err)
		}
		if _, err := Blind25ID(id, server); !errors.As(err, &pe) {
			t.Errorf("Blind25ID(%s): err = %v", id, err)
		}
	}
	// An X25519 key with no Edwards image.
	bad := key.NewSessionID(key.PrefixStandard, mustHex32(t, "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"))
	var pt *PointError
	if _, err := Blind15IDs(bad, server); !errors.As(err, &pt) {
		t.Errorf("Blind15IDs(bad key): err = %v", err)
	}
	if _, err := Blind25ID(bad, server); !errors.As(err, &pt) {
		t.Errorf("Blind25ID(bad key): err = %v", err)
	}
}

func TestSessionIDMatchesBlindedNegative(t *testing.T) {
	k := mustKeys(t, bytes.Repeat([]byte{5}, 16))
	other := mustKeys(t, bytes.Repeat([]byte{6}, 16))
	server, otherServer := [32]byte{9}, [32]byte{10}
	b15, _ := k.Blind15(server)
	b25, _ := k.Blind25(server)
	id := k.SessionID()
	if !SessionIDMatchesBlinded(id, b15.ID(), server) || !SessionIDMatchesBlinded(id, b25.ID(), server) {
		t.Fatal("own blinded IDs do not match")
	}
	altered := b25.ID().Key()
	altered[0] ^= 1
	cases := []struct {
		name    string
		id      key.SessionID
		blinded key.BlindedID
		server  [32]byte
	}{
		{"other server 15", id, b15.ID(), otherServer},
		{"other server 25", id, b25.ID(), otherServer},
		{"other account", other.SessionID(), b15.ID(), server},
		{"altered", id, key.NewBlindedID(key.PrefixBlind25, altered), server},
		{"25 key under 15 prefix", id, key.NewBlindedID(key.PrefixBlind15, b25.Public), server},
		{"version key as blinded", id, k.VersionPublic(), server},
		{"blinded as id", b15.ID().SessionID(), b15.ID(), server},
	}
	for _, c := range cases {
		if SessionIDMatchesBlinded(c.id, c.blinded, c.server) {
			t.Errorf("%s: matched", c.name)
		}
	}
}

func BenchmarkBlind15Sign(b *testing.B) {
	k, _, err := NewKeys()
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 256)
	for b.Loop() {
		if _, err := k.Blind15Sign([32]byte{1}, msg, NonceSK64); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlind25Sign(b *testing.B) {
	k, _, err := NewKeys()
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 256)
	for b.Loop() {
		if _, err := k.Blind25Sign([32]byte{1}, msg); err != nil {
			b.Fatal(err)
		}
	}
}
