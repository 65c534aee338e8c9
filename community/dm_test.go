package community

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"sotto.dev/key"
	"sotto.dev/sessionproto"
)

type dmJSONT struct {
	ID        int64   `json:"id"`
	PostedAt  float64 `json:"posted_at"`
	ExpiresAt float64 `json:"expires_at"`
	Sender    string  `json:"sender"`
	Recipient string  `json:"recipient"`
	Message   *string `json:"message"`
}

func parseBlinded(t *testing.T, s string) key.BlindedID {
	t.Helper()
	id, err := key.ParseSessionID(s)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := id.Blinded()
	if !ok {
		t.Fatalf("%s is not blinded", s)
	}
	return b
}

// TestBlindedDMs: two members exchange blinded DMs (spec §5.6) through the
// inbox; each decrypts what the other sent and learns the other's
// Session ID, while the server holds only blinded ids and ciphertext.
func TestBlindedDMs(t *testing.T) {
	h := newHarness(t, nil)
	h.viaV4 = true
	alice, bob := h.newUser(sessionproto.SOGSOptions{}), h.newUser(sessionproto.SOGSOptions{})
	send := func(from, to *user, text string) dmJSONT {
		t.Helper()
		ct, err := sessionproto.EncryptBlinded(from.keys, parseBlinded(t, to.id), h.pk, sessionproto.Pad([]byte(text)))
		if err != nil {
			t.Fatal(err)
		}
		r := from.call(http.MethodPost, "/inbox/"+to.id, jsonBody(map[string]string{"message": base64.StdEncoding.EncodeToString(ct)}))
		wantCode(t, "send", r, http.StatusCreated)
		var d dmJSONT
		r.json(t, &d)
		if d.Sender != from.id || d.Recipient != to.id || d.Message != nil || d.ExpiresAt != d.PostedAt+DMExpiry.Seconds() {
			t.Fatalf("sent: %s", r.body)
		}
		return d
	}
	wantCode(t, "to a stranger", alice.call(http.MethodPost, "/inbox/"+bob.id, jsonBody(map[string]string{"message": "aGk="})), http.StatusNotFound)
	wantCode(t, "bob shows up", bob.call(http.MethodGet, "/inbox", nil), http.StatusOK)
	d1 := send(alice, bob, "hello bob")
	d2 := send(bob, alice, "hello alice")

	read := func(u *user, path string) []dmJSONT {
		t.Helper()
		r := u.call(http.MethodGet, path, nil)
		wantCode(t, path, r, http.StatusOK)
		var ds []dmJSONT
		r.json(t, &ds)
		return ds
	}
	open := func(u *user, d dmJSONT, want string, wantSender *user) {
		t.Helper()
		ct, _ := base64.StdEncoding.DecodeString(*d.Message)
		pt, sender, err := sessionproto.DecryptBlinded(u.keys, h.pk, parseBlinded(t, d.Sender), parseBlinded(t, d.Recipient), ct)
		if err != nil || string(sessionproto.Unpad(pt)) != want || sender != wantSender.keys.SessionID() {
			t.Fatalf("decrypt: %q from %s, %v", pt, sender, err)
		}
	}
	in := read(bob, "/inbox")
	if len(in) != 1 || in[0].ID != d1.ID {
		t.Fatalf("bob's inbox: %+v", in)
	}
	open(bob, in[0], "hello bob", alice)
	in = read(alice, "/inbox")
	if len(in) != 1 || in[0].ID != d2.ID {
		t.Fatalf("alice's inbox: %+v", in)
	}
	open(alice, in[0], "hello alice", bob)
	// The outbox holds one's own copies, which the sender decrypts too.
	out := read(alice, "/outbox")
	if len(out) != 1 || out[0].ID != d1.ID {
		t.Fatalf("alice's outbox: %+v", out)
	}
	open(alice, out[0], "hello bob", alice)

	wantCode(t, "nothing new", bob.call(http.MethodGet, "/inbox/since/"+itoa(d1.ID), nil), http.StatusNotModified)
	d3 := send(alice, bob, "again")
	if in := read(bob, "/inbox/since/"+itoa(d1.ID)); len(in) != 1 || in[0].ID != d3.ID {
		t.Fatalf("since: %+v", in)
	}
	var del map[string]int64
	bob.call(http.MethodDelete, "/inbox", nil).json(t, &del)
	if del["deleted"] != 2 {
		t.Fatalf("delete inbox: %v", del)
	}
	if in := read(bob, "/inbox"); len(in) != 0 {
		t.Fatalf("after delete: %+v", in)
	}

	// Errors: no auth, unblinded mailbox, bad recipient, bad body; expiry.
	wantCode(t, "anonymous", h.do(http.MethodGet, "/inbox", nil, nil), http.StatusUnauthorized)
	wantCode(t, "05 recipient", alice.call(http.MethodPost, "/inbox/"+bob.keys.SessionID().String(), jsonBody(map[string]string{"message": "aGk="})), http.StatusNotFound)
	for _, body := range []string{`{}`, `{"message":""}`, `{"message":"!"}`, `[]`} {
		wantCode(t, "body "+body, alice.call(http.MethodPost, "/inbox/"+bob.id, []byte(body)), http.StatusBadRequest)
	}
	send(alice, bob, "expiring")
	h.clock.Add(DMExpiry)
	if in := read(bob, "/inbox"); len(in) != 0 {
		t.Fatalf("expired message served: %+v", in)
	}
	var raw json.RawMessage
	alice.call(http.MethodGet, "/outbox", nil).json(t, &raw)
	if string(raw) != "[]" {
		t.Fatalf("outbox after expiry: %s", raw)
	}
}

// TestDMNeedsBlinding: an unblinded signer may not use a mailbox.
func TestDMNeedsBlinding(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RequireBlind = false })
	u := h.newUser(sessionproto.SOGSOptions{Unblinded: true})
	wantCode(t, "unblinded inbox", u.call(http.MethodGet, "/inbox", nil), http.StatusUnauthorized)
}
