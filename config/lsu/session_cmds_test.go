package lsu

import (
	"testing"
)

// Where Sotto answers differently from the oracle on purpose: inputs the
// library reads out of bounds or signs with as given.
func TestSessionCommandsRefuse(t *testing.T) {
	const (
		alice   = "f2a26789582cc7090794a016b77429187b86f9ce3ca85fc2453f7d58ee3d40ee"
		alicePK = "729d685f0c7c4cf466cb5699019004f43040495fcc1274febe43becb51387928"
		bobX    = "7cf9dab54eef8628dfa9d6e84e4639f2ee4f7b1163da646c6accd29960dde535"
	)
	r := New(Options{})
	tests := []struct{ name, line, err string }{
		{"secret key with a foreign public half", `{"cmd":"keypair","seed":"` + alice + alice + `"}`, errSecretKeyMismatch.Error()},
		{"short x25519_sk", `{"cmd":"xed25519","x25519_sk":"f0","x25519_pk":"` + bobX + `","message":""}`, "x25519_sk must be 32 bytes, not 1"},
		{"short x25519_pk", `{"cmd":"xed25519","x25519_sk":"` + bobX + `","x25519_pk":"00"}`, "x25519_pk must be 32 bytes, not 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Answer([]byte(tc.line))
			if got["ok"] != false || got["error"] != tc.err {
				t.Errorf("reply %v, want error %q", got, tc.err)
			}
		})
	}
	// A 64-byte secret key whose halves agree is the seed's key.
	got := r.Answer([]byte(`{"cmd":"keypair","seed":"` + alice + alicePK + `"}`))
	if got["ok"] != true || got["ed25519_pk"] != alicePK {
		t.Errorf("matching 64-byte key: %v", got)
	}
}

// Each Read of the command's random source is one oracle draw: a
// command's ciphertext depends only on its rng_seed.
func TestSessionCommandsRNGSeed(t *testing.T) {
	const line = `{"cmd":"encrypt_for_blinded_recipient","rng_seed":"0315","seed":"f2a26789582cc7090794a016b77429187b86f9ce3ca85fc2453f7d58ee3d40ee","server_pk":"a03c383cf63c3c4efe67acc52112a6dd734b3a946b9545f488aaa93da7991238","recipient_blinded_id":"152a5b6497a320f10b5b279fdfc8ec4be42e6644eb4fbd590dd4747c7f3a3817e3","message_text":"blinded 15 hi"}`
	r := New(Options{})
	a, b := r.Answer([]byte(line)), r.Answer([]byte(line))
	if a["ok"] != true || a["ciphertext"] != b["ciphertext"] {
		t.Fatalf("same rng_seed, different replies: %v / %v", a, b)
	}
	noSeed := r.Answer([]byte(`{"cmd":"encrypt_for_blinded_recipient",` + line[len(`{"cmd":"encrypt_for_blinded_recipient","rng_seed":"0315",`):]))
	if noSeed["ok"] != true || noSeed["ciphertext"] == a["ciphertext"] {
		t.Fatalf("without rng_seed: %v", noSeed)
	}
}
