package lsu

import (
	"errors"
	"fmt"

	"filippo.io/edwards25519/field"

	"sotto.dev/config/groups"
	"sotto.dev/identity"
	"sotto.dev/key"
	"sotto.dev/sessionproto"
)

// registerSessionCommands registers the Session-protocol helpers: keypair,
// sign_for_recipient, encrypt_for_recipient[_deterministic],
// decrypt_incoming, blinded_ids, the blinded and multi-recipient
// encryption commands and xed25519.
func (r *Runner) registerSessionCommands() {
	r.handlers["keypair"] = cmdKeypair
	r.handlers["sign_for_recipient"] = cmdSignForRecipient
	r.handlers["encrypt_for_recipient"] = func(q *Request) (Reply, error) { return cmdEncryptForRecipient(q, false) }
	r.handlers["encrypt_for_recipient_deterministic"] = func(q *Request) (Reply, error) { return cmdEncryptForRecipient(q, true) }
	r.handlers["decrypt_incoming"] = cmdDecryptIncoming
	r.handlers["blinded_ids"] = cmdBlindedIDs
	r.handlers["encrypt_for_blinded_recipient"] = cmdEncryptForBlinded
	r.handlers["decrypt_from_blinded_recipient"] = cmdDecryptFromBlinded
	r.handlers["encrypt_for_multiple"] = cmdEncryptForMultiple
	r.handlers["encrypt_for_multiple_simple"] = cmdEncryptForMultipleSimple
	r.handlers["decrypt_for_multiple_simple"] = cmdDecryptForMultipleSimple
	r.handlers["xed25519"] = cmdXEd25519
	r.handlers["swarm_verify_subaccount_static"] = cmdVerifySubaccountStatic
}

// cmdVerifySubaccountStatic checks a member's subaccount auth data
// (sign_value) for the group group_id, without a group object
// (libsession groups::Keys::swarm_verify_subaccount, static form).
func cmdVerifySubaccountStatic(q *Request) (Reply, error) {
	gid, err := textField(q, "group_id")
	if err != nil {
		return nil, err
	}
	gb, err := sessionID(gid, "03")
	if err != nil {
		return nil, err
	}
	k, err := seedKeys(q, "user_seed")
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	sv, err := needBytes(q, "sign_value")
	if err != nil {
		return nil, err
	}
	write, del, err := writeDel(q)
	if err != nil {
		return nil, err
	}
	return Reply{"valid": groups.VerifySubaccount(gb[1:], k.Ed25519Private(), sv, write, del)}, nil
}

// libErr is an error whose text is libsession-util's exception text,
// verbatim (capitalised as the library writes it).
type libErr string

func (e libErr) Error() string { return string(e) }

// Error texts of libsession-util (src/session_encrypt.cpp,
// src/multi_encrypt.cpp), which the oracle returns.
const (
	errTextRecipient      = "Invalid recipient_pubkey: expected 32 bytes (33 with 05 prefix)"
	errTextDecrypt        = "Decryption failed"
	errTextTooSmall       = "Invalid incoming message: ciphertext is too small"
	errTextSenderKey      = "Sender ed25519 pubkey to x25519 pubkey conversion failed"
	errTextSharedSecret   = "Shared secret generation failed"
	errTextBlindedShort   = "Invalid ciphertext: too short to contain valid encrypted data"
	errTextMultiRecipient = "encrypt_for_multiple requires 32-byte recipients pubkeys"
)

func cmdKeypair(q *Request) (Reply, error) {
	k, err := seedKeys(q, "seed")
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	x := k.X25519Private()
	defer x.Wipe()
	edPK, xPK := k.Ed25519Public(), k.X25519Public()
	sk := k.Ed25519Private()
	defer clear(sk)
	return Reply{
		"ed25519_pk": Hex(edPK[:]),
		"ed25519_sk": Hex(sk),
		"x25519_sk":  Hex(x[:]),
		"x25519_pk":  Hex(xPK[:]),
		"session_id": k.SessionID().String(),
	}, nil
}

// senderRecipientMessage reads the inputs of the 1:1 commands.
func senderRecipientMessage(q *Request) (*identity.Keys, key.SessionID, []byte, error) {
	seed, err := needBytes(q, "seed")
	if err != nil {
		return nil, key.SessionID{}, nil, err
	}
	rb, err := needBytes(q, "recipient")
	if err != nil {
		return nil, key.SessionID{}, nil, err
	}
	msg, err := needBytes(q, "message")
	if err != nil {
		return nil, key.SessionID{}, nil, err
	}
	k, err := keysFromSecret(seed)
	if err != nil {
		return nil, key.SessionID{}, nil, err
	}
	rid, ok := standardRecipient(rb)
	if !ok {
		k.Wipe()
		return nil, key.SessionID{}, nil, libErr(errTextRecipient)
	}
	return k, rid, msg, nil
}

func cmdSignForRecipient(q *Request) (Reply, error) {
	k, rid, msg, err := senderRecipientMessage(q)
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	signed, err := sessionproto.SignForRecipient(k, rid, msg)
	if err != nil {
		return nil, err
	}
	return Reply{"signed": Hex(signed)}, nil
}

func cmdEncryptForRecipient(q *Request, deterministic bool) (Reply, error) {
	k, rid, msg, err := senderRecipientMessage(q)
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	var ct []byte
	if deterministic {
		ct, err = sessionproto.SealDeterministic(k, rid, msg)
	} else {
		ct, err = sessionproto.SealFrom(k, rid, msg, q.Rand)
	}
	switch {
	case errors.Is(err, sessionproto.ErrPeerKey) && deterministic:
		return nil, libErr("Crypto box encryption failed")
	case errors.Is(err, sessionproto.ErrPeerKey):
		return nil, libErr("Sealed box encryption failed")
	case err != nil:
		return nil, err
	}
	return Reply{"ciphertext": Hex(ct)}, nil
}

func cmdDecryptIncoming(q *Request) (Reply, error) {
	seed, err := needBytes(q, "seed")
	if err != nil {
		return nil, err
	}
	ct, err := needBytes(q, "ciphertext")
	if err != nil {
		return nil, err
	}
	// libsession checks the ciphertext's length before using the key.
	if (len(seed) == 32 || len(seed) == 64) && len(ct) < sessionproto.SealOverhead {
		return nil, libErr(errTextTooSmall)
	}
	k, err := keysFromSecret(seed)
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	op, err := sessionproto.Open(k, ct)
	var le *sessionproto.LengthError
	switch {
	case errors.As(err, &le):
		return nil, libErr(errTextTooSmall)
	case errors.Is(err, sessionproto.ErrDecrypt):
		return nil, libErr(errTextDecrypt)
	case errors.Is(err, sessionproto.ErrSignature):
		return nil, libErr("Signature verification failed")
	case errors.Is(err, sessionproto.ErrSenderKey):
		return nil, libErr(errTextSenderKey)
	case err != nil:
		return nil, err
	}
	return Reply{
		"plaintext":         Hex(op.Plaintext),
		"sender_ed25519_pk": Hex(op.SenderEd25519[:]),
		"sender_session_id": op.Sender.String(),
	}, nil
}

func cmdBlindedIDs(q *Request) (Reply, error) {
	k, err := seedKeys(q, "seed")
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	spk, err := needBytes(q, "server_pk")
	if err != nil {
		return nil, err
	}
	msg, withMsg, err := optBytes(q, "message")
	if err != nil {
		return nil, err
	}
	if len(spk) != 32 {
		return nil, libErr("blind15_id_from_ed: server_pk must be 32 bytes")
	}
	server := [32]byte(spk)
	b15, err := k.Blind15(server)
	if err != nil {
		return nil, err
	}
	b25, err := k.Blind25(server)
	if err != nil {
		return nil, err
	}
	cands, err := identity.Blind15IDs(k.SessionID(), server)
	if err != nil {
		return nil, err
	}
	fromSID, err := identity.Blind25ID(k.SessionID(), server)
	if err != nil {
		return nil, err
	}
	rep := Reply{
		"session_id":            k.SessionID().String(),
		"blind15_id":            b15.ID().String(),
		"blind25_id":            b25.ID().String(),
		"blind15_id_candidates": []string{cands[0].String(), cands[1].String()},
		"blind25_id_from_sid":   fromSID.String(),
		"blind15_pk":            Hex(b15.Public[:]),
		"blind15_sk":            Hex(b15.Scalar.Bytes()),
		"blind25_pk":            Hex(b25.Public[:]),
		"blind25_sk":            Hex(b25.Scalar.Bytes()),
	}
	if withMsg {
		s15, err := k.Blind15Sign(server, msg, identity.NonceSK64)
		if err != nil {
			return nil, err
		}
		s25, err := k.Blind25Sign(server, msg)
		if err != nil {
			return nil, err
		}
		rep["blind15_sig"] = Hex(s15[:])
		rep["blind25_sig"] = Hex(s25[:])
	}
	return rep, nil
}

func cmdEncryptForBlinded(q *Request) (Reply, error) {
	seed, err := needBytes(q, "seed")
	if err != nil {
		return nil, err
	}
	spk, err := needBytes(q, "server_pk")
	if err != nil {
		return nil, err
	}
	rb, err := needBytes(q, "recipient_blinded_id")
	if err != nil {
		return nil, err
	}
	msg, err := needBytes(q, "message")
	if err != nil {
		return nil, err
	}
	k, err := keysFromSecret(seed)
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	switch {
	case len(spk) != 32:
		return nil, libErr("Invalid server_pk: expected 32 bytes")
	case len(rb) != 33:
		return nil, libErr("Invalid recipient_blinded_id: expected 33 bytes")
	case rb[0] != byte(key.PrefixBlind15) && rb[0] != byte(key.PrefixBlind25):
		return nil, libErr("Invalid recipient_blinded_id: must start with 0x15 or 0x25")
	}
	rid := key.NewBlindedID(key.Prefix(rb[0]), [32]byte(rb[1:]))
	ct, err := sessionproto.EncryptBlindedFrom(k, rid, [32]byte(spk), msg, q.Rand)
	if errors.Is(err, sessionproto.ErrPeerKey) {
		return nil, libErr(errTextSharedSecret)
	} else if err != nil {
		return nil, err
	}
	return Reply{"ciphertext": Hex(ct)}, nil
}

func cmdDecryptFromBlinded(q *Request) (Reply, error) {
	var in [5][]byte
	for i, name := range []string{"seed", "server_pk", "sender_id", "recipient_id", "ciphertext"} {
		b, err := needBytes(q, name)
		if err != nil {
			return nil, err
		}
		in[i] = b
	}
	seed, spk, sb, rb, ct := in[0], in[1], in[2], in[3], in[4]
	k, err := keysFromSecret(seed)
	if err != nil {
		return nil, err
	}
	defer k.Wipe()

	// The checks in libsession's order (decrypt_from_blinded_recipient,
	// blinded_shared_secret).
	if len(ct) < 1+16+24 {
		return nil, libErr(errTextBlindedShort)
	}
	if len(spk) != 32 {
		kind := "15"
		if len(rb) > 0 && rb[0] == byte(key.PrefixBlind25) {
			kind = "25"
		}
		return nil, fmt.Errorf("blind%s_id_from_ed: server_pk must be 32 bytes", kind)
	}
	if len(sb) != 33 || len(rb) != 33 {
		// libsession calls the sender id "local" when it is our own
		// blinded id (of the recipient id's kind), else the recipient id.
		local, remote := rb, sb
		if len(sb) == 33 && isOwnBlindedID(k, sb, rb, [32]byte(spk)) {
			local, remote = sb, rb
		}
		if len(local) != 33 {
			return nil, libErr("Invalid local blinded id: expected 33 bytes")
		}
		if len(remote) != 33 {
			return nil, libErr("Invalid remote blinded id: expected 33 bytes")
		}
	}
	if sb[0] != rb[0] || (sb[0] != byte(key.PrefixBlind15) && sb[0] != byte(key.PrefixBlind25)) {
		return nil, libErr("Both ids must start with the same 0x15 or 0x25 prefix")
	}
	if ct[0] != 0 {
		return nil, libErr("Invalid ciphertext: version is not 0")
	}
	if len(ct) < sessionproto.BlindedOverhead {
		return nil, libErr("Invalid ciphertext: innerBytes too short")
	}
	sid := key.NewBlindedID(key.Prefix(sb[0]), [32]byte(sb[1:]))
	rid := key.NewBlindedID(key.Prefix(rb[0]), [32]byte(rb[1:]))
	pt, sender, err := sessionproto.DecryptBlinded(k, [32]byte(spk), sid, rid, ct)
	switch {
	case errors.Is(err, sessionproto.ErrPeerKey):
		return nil, libErr(errTextSharedSecret)
	case errors.Is(err, sessionproto.ErrDecrypt):
		return nil, libErr(errTextDecrypt)
	case errors.Is(err, sessionproto.ErrSenderKey):
		return nil, libErr(errTextSenderKey)
	case errors.Is(err, sessionproto.ErrBlindedSender):
		return nil, libErr("Blinded sender id does not match the actual sender")
	case err != nil:
		return nil, err
	}
	return Reply{"plaintext": Hex(pt), "sender_session_id": sender.String()}, nil
}

// isOwnBlindedID reports whether id is k's blinded id for server, of kind
// 25 when other starts with 0x25 and 15 otherwise.
func isOwnBlindedID(k *identity.Keys, id, other []byte, server [32]byte) bool {
	var kp *identity.BlindedKeyPair
	var err error
	if len(other) > 0 && other[0] == byte(key.PrefixBlind25) {
		kp, err = k.Blind25(server)
	} else {
		kp, err = k.Blind15(server)
	}
	return err == nil && string(kp.ID().Bytes()) == string(id)
}

// multiInputs reads the inputs shared by the two multi-recipient
// encryption commands: the sender's keys, the domain, the messages and the
// recipients (X25519 keys, bare or 05-prefixed).
func multiInputs(q *Request) (*identity.Keys, string, [][]byte, []key.BoxPublic, error) {
	k, err := seedKeys(q, "seed")
	if err != nil {
		return nil, "", nil, nil, err
	}
	fail := func(err error) (*identity.Keys, string, [][]byte, []key.BoxPublic, error) {
		k.Wipe()
		return nil, "", nil, nil, err
	}
	domain, err := needString(q, "domain")
	if err != nil {
		return fail(err)
	}
	msgs, err := needHexList(q, "messages")
	if err != nil {
		return fail(err)
	}
	rbs, err := needHexList(q, "recipients")
	if err != nil {
		return fail(err)
	}
	rs := make([]key.BoxPublic, len(rbs))
	for i, b := range rbs {
		id, ok := standardRecipient(b)
		if !ok {
			return fail(libErr(errTextMultiRecipient))
		}
		rs[i] = key.BoxPublic(id.Key())
	}
	return k, domain, msgs, rs, nil
}

// multiError words the errors of the multi-recipient primitives as
// libsession does.
func multiError(err error) error {
	switch {
	case errors.Is(err, sessionproto.ErrMultiMessages):
		return libErr("encrypt_for_multiple requires either 1 or recipients.size() messages")
	case errors.Is(err, sessionproto.ErrPeerKey):
		return libErr("Unable to compute shared encrypted key: invalid pubkey?")
	}
	return err
}

func cmdEncryptForMultiple(q *Request) (Reply, error) {
	nb, err := needBytes(q, "nonce")
	if err != nil {
		return nil, err
	}
	k, domain, msgs, rs, err := multiInputs(q)
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	// libsession reads the first 24 bytes of a longer nonce.
	if len(nb) < sessionproto.MultiNonceSize {
		return nil, libErr("nonce must be 24 bytes")
	}
	nonce := [sessionproto.MultiNonceSize]byte(nb[:sessionproto.MultiNonceSize])
	x := k.X25519Private()
	defer x.Wipe()
	cts, err := sessionproto.EncryptForMultiple(msgs, rs, &nonce, &x, k.X25519Public(), domain)
	if err != nil {
		return nil, multiError(err)
	}
	out := make([]string, len(cts))
	for i, c := range cts {
		out[i] = Hex(c)
	}
	return Reply{"ciphertexts": out}, nil
}

func cmdEncryptForMultipleSimple(q *Request) (Reply, error) {
	k, domain, msgs, rs, err := multiInputs(q)
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	nb, withNonce, err := optBytes(q, "nonce")
	if err != nil {
		return nil, err
	}
	pad, err := q.Int("pad", 0)
	if err != nil {
		return nil, err
	}
	var nonce *[sessionproto.MultiNonceSize]byte
	if withNonce {
		if len(nb) != sessionproto.MultiNonceSize {
			return nil, libErr("Invalid nonce: nonce must be 24 bytes")
		}
		nonce = (*[sessionproto.MultiNonceSize]byte)(nb)
	}
	x := k.X25519Private()
	defer x.Wipe()
	// pad is a C int in libsession; larger values behave as "no padding"
	// there only by overflow, so Sotto refuses them.
	if pad > 1<<16 {
		return nil, fmt.Errorf("pad %d is too large", pad)
	}
	enc, err := sessionproto.EncryptForMultipleSimple(msgs, rs, &x, k.X25519Public(), domain, nonce, int(pad), q.Rand)
	if err != nil {
		return nil, multiError(err)
	}
	n, entries, err := sessionproto.ParseMultiSimple(enc)
	if err != nil {
		return nil, err
	}
	shown := make([]string, len(entries))
	for i, e := range entries {
		shown[i] = printableOrHex(e)
	}
	return Reply{
		"encoded":          Hex(enc),
		"encoded_json":     map[string]any{"#": printableOrHex(n[:]), "e": shown},
		"sender_x25519_pk": k.X25519Public().String(),
	}, nil
}

func cmdDecryptForMultipleSimple(q *Request) (Reply, error) {
	k, err := seedKeys(q, "seed")
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	enc, err := needBytes(q, "encoded")
	if err != nil {
		return nil, err
	}
	domain, err := needString(q, "domain")
	if err != nil {
		return nil, err
	}
	var sender key.BoxPublic
	edb, withEd, err := optBytes(q, "sender_ed25519_pk")
	if err != nil {
		return nil, err
	}
	senderOK := true
	if withEd {
		if len(edb) != 32 {
			return nil, libErr("Invalid sender Ed25519 pubkey: expected 32 bytes")
		}
		if sender, err = identity.Ed25519ToX25519(key.AccountPublic(edb)); err != nil {
			return nil, libErr("Failed to convert Ed25519 key to X25519: invalid secret key")
		}
	} else {
		xb, err := needBytes(q, "sender_x25519_pk")
		if err != nil {
			return nil, err
		}
		// A sender key of another size decrypts nothing.
		var id key.SessionID
		id, senderOK = standardRecipient(xb)
		sender = key.BoxPublic(id.Key())
	}
	x := k.X25519Private()
	defer x.Wipe()
	if !senderOK {
		return Reply{"plaintext": nil}, nil
	}
	pt, err := sessionproto.DecryptForMultipleSimple(enc, &x, k.X25519Public(), sender, domain)
	if err != nil {
		// libsession answers nothing (std::nullopt) for every failure here.
		return Reply{"plaintext": nil}, nil
	}
	return Reply{"plaintext": Hex(pt)}, nil
}

func cmdXEd25519(q *Request) (Reply, error) {
	skb, err := needBytes(q, "x25519_sk")
	if err != nil {
		return nil, err
	}
	pkb, err := needBytes(q, "x25519_pk")
	if err != nil {
		return nil, err
	}
	msg, withMsg, err := optBytes(q, "message")
	if err != nil {
		return nil, err
	}
	// libsession reads 32 bytes from each whatever their length.
	if len(skb) != 32 {
		return nil, fmt.Errorf("x25519_sk must be 32 bytes, not %d", len(skb))
	}
	if len(pkb) != 32 {
		return nil, fmt.Errorf("x25519_pk must be 32 bytes, not %d", len(pkb))
	}
	rep := Reply{"ed_pubkey": Hex(xedPubkeyUnchecked(pkb))}
	if withMsg {
		sk := key.BoxPrivate(skb)
		defer sk.Wipe()
		sig, err := identity.XEd25519Sign(&sk, msg, q.Rand)
		if err != nil {
			return nil, err
		}
		rep["signature"] = Hex(sig[:])
	}
	return rep, nil
}

// xedPubkeyUnchecked is libsession's xed25519::pubkey: y = (u−1)/(u+1)
// with u's top bit ignored and no check that y is a point (an inverse of
// zero is zero). identity.XEd25519Public is the checked form Sotto uses
// elsewhere; the command reproduces the library on any input.
func xedPubkeyUnchecked(u32 []byte) []byte {
	u, _ := new(field.Element).SetBytes(u32) // 32 bytes: cannot fail
	one := new(field.Element).One()
	num := new(field.Element).Subtract(u, one)
	den := new(field.Element).Add(u, one)
	return new(field.Element).Multiply(num, den.Invert(den)).Bytes()
}
