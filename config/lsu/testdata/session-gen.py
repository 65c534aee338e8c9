#!/usr/bin/env python3
"""Generate config/lsu/testdata/session-oracle.json with the oracle.

Development tool, not run by tests:
    python3 config/lsu/testdata/session-gen.py config/lsu/testdata/session-oracle.json
Needs /work/shared (the oracle and the public vector file, for the test keys).
Commands with rng_seed are reproducible; the rest are deterministic.
"""
import json, subprocess, sys, hashlib

ORACLE = "/work/shared/tools/lsu-oracle"
pub = json.load(open("/work/shared/vectors/libsession-public.json"))
KP = pub["keypairs"]
def seed(tag): return KP[tag]["ed25519_sk"][:64]
def sk(tag): return KP[tag]["ed25519_sk"]
def xpk(tag): return KP[tag]["x25519_pk"]
def edpk(tag): return KP[tag]["ed25519_pk"]
def sid(tag): return KP[tag]["session_id"]
SRV = "a03c383cf63c3c4efe67acc52112a6dd734b3a946b9545f488aaa93da7991238"

def run(cmds):
    inp = "".join(json.dumps(c) + "\n" for c in cmds)
    out = subprocess.run([ORACLE], input=inp.encode(), capture_output=True, check=True).stdout.decode()
    reps = [json.loads(l) for l in out.splitlines() if l.strip()]
    assert len(reps) == len(cmds), (len(reps), len(cmds))
    return reps

vectors = []
def vec(vid, desc, cmds, chain=None):
    """chain: optional function(replies so far, cmds) to patch later commands."""
    calls = []
    for i, c in enumerate(cmds):
        if callable(c):
            c = c([x["response"] for x in calls])
        try:
            r = run([c])[0]
        except subprocess.CalledProcessError:
            print("CRASH", vid, i, json.dumps(c)[:300]); raise
        calls.append({"command": c, "response": r})
    vectors.append({"id": vid, "category": vid.split(".")[0], "description": desc, "calls": calls})

A, B = "alice", "bob"
R = ["r0", "r1", "r2"]
big = "ab" * 2000
uni = "héllo wörld ✓ 👋 日本語"

# --- keypair
vec("session.keypair", "keypair from a 32-byte seed and from the 64-byte secret key; bad lengths; a 64-byte key whose public half is not a point",
    [{"cmd": "keypair", "seed": seed(A)}, {"cmd": "keypair", "seed": sk(B)},
     {"cmd": "keypair", "seed": seed(A)[:32]}, {"cmd": "keypair"},
     {"cmd": "keypair", "seed": "zz"}])

# --- sign_for_recipient
vec("session.sign_for_recipient_forms", "sign_for_recipient: empty / unicode / large messages, bare and 05 recipient, 64-byte secret key, bad recipients",
    [{"cmd": "sign_for_recipient", "seed": seed(A), "recipient": sid(B), "message": ""},
     {"cmd": "sign_for_recipient", "seed": sk(A), "recipient": xpk(B), "message_text": uni},
     {"cmd": "sign_for_recipient", "seed": seed(A), "recipient": xpk(B), "message": big},
     {"cmd": "sign_for_recipient", "seed": seed(A), "recipient": "15" + xpk(B), "message": ""},
     {"cmd": "sign_for_recipient", "seed": seed(A), "recipient": xpk(B)[:62], "message": ""},
     {"cmd": "sign_for_recipient", "seed": seed(A), "recipient": sid(B)},
     {"cmd": "sign_for_recipient", "seed": seed(A)[:62], "recipient": sid(B), "message": ""}])

# --- encrypt_for_recipient / decrypt_incoming round trips
def enc_dec(vid, desc, msgfield, msg, rng, recipient_form):
    rcpt = sid(B) if recipient_form == "05" else xpk(B)
    c0 = {"cmd": "encrypt_for_recipient", "rng_seed": rng, "seed": seed(A), "recipient": rcpt, msgfield: msg}
    vec(vid, desc, [c0,
        lambda prev: {"cmd": "decrypt_incoming", "seed": seed(B), "ciphertext": prev[0]["ciphertext"]},
        lambda prev: {"cmd": "decrypt_incoming", "seed": sk(B), "ciphertext": prev[0]["ciphertext"]},
        lambda prev: {"cmd": "decrypt_incoming", "seed": seed("c1"), "ciphertext": prev[0]["ciphertext"]},
        lambda prev: {"cmd": "decrypt_incoming", "seed": seed(A), "ciphertext": prev[0]["ciphertext"]}])
enc_dec("session.encrypt_empty", "encrypt_for_recipient of an empty message (bare recipient key), decrypted by the recipient (seed and 64-byte key); the sender and a stranger cannot", "message", "", "10", "bare")
enc_dec("session.encrypt_unicode", "encrypt_for_recipient of a unicode message (05 recipient); recipient decrypts, others fail", "message_text", uni, "11", "05")
enc_dec("session.encrypt_large", "encrypt_for_recipient of a 2000-byte message", "message", big, "12", "05")

vec("session.encrypt_errors", "encrypt_for_recipient: 15 and short recipients, the all-zero key (crypto_box_seal refuses it), and the deterministic variant's refusal of the same",
    [{"cmd": "encrypt_for_recipient", "rng_seed": "13", "seed": seed(A), "recipient": "15" + xpk(B), "message": ""},
     {"cmd": "encrypt_for_recipient", "rng_seed": "13", "seed": seed(A), "recipient": xpk(B)[:10], "message": ""},
     {"cmd": "encrypt_for_recipient", "rng_seed": "13", "seed": seed(A), "recipient": "00" * 32, "message": ""},
     {"cmd": "encrypt_for_recipient_deterministic", "seed": seed(A), "recipient": "00" * 32, "message": ""},
     {"cmd": "encrypt_for_recipient", "rng_seed": "13", "seed": seed(A), "recipient": sid(B)}])

vec("session.deterministic_forms", "encrypt_for_recipient_deterministic: unicode and large messages, 64-byte sender key; decrypted by the recipient",
    [{"cmd": "encrypt_for_recipient_deterministic", "seed": seed(A), "recipient": sid(B), "message_text": uni},
     {"cmd": "encrypt_for_recipient_deterministic", "seed": sk(A), "recipient": xpk(B), "message_text": uni},
     {"cmd": "encrypt_for_recipient_deterministic", "seed": seed(A), "recipient": sid(B), "message": big},
     lambda prev: {"cmd": "decrypt_incoming", "seed": seed(B), "ciphertext": prev[2]["ciphertext"]}])

def flip(h, i):
    b = bytearray(bytes.fromhex(h)); b[i] ^= 1; return b.hex()
vec("session.decrypt_incoming_errors", "decrypt_incoming: too short (143 bytes), 144 zero bytes, a box with a flipped ciphertext byte and with a flipped ephemeral key byte; length checked before the key; missing fields",
    [{"cmd": "decrypt_incoming", "seed": seed(B), "ciphertext": "00" * 143},
     {"cmd": "decrypt_incoming", "seed": seed(B), "ciphertext": "00" * 144},
     {"cmd": "encrypt_for_recipient", "rng_seed": "14", "seed": seed(A), "recipient": sid(B), "message_text": "tamper me"},
     lambda prev: {"cmd": "decrypt_incoming", "seed": seed(B), "ciphertext": flip(prev[2]["ciphertext"], 40)},
     lambda prev: {"cmd": "decrypt_incoming", "seed": seed(B), "ciphertext": flip(prev[2]["ciphertext"], 0)},
     {"cmd": "decrypt_incoming", "seed": seed(A) + seed(A), "ciphertext": "00" * 143},
     {"cmd": "decrypt_incoming", "seed": seed(B)},
     {"cmd": "decrypt_incoming", "ciphertext": "00"}])

# --- blinding
vec("session.blinded_ids_more", "blinded_ids for several accounts and servers, with empty, unicode and no messages; bad server key",
    [{"cmd": "blinded_ids", "seed": seed("c1"), "server_pk": SRV, "message": ""},
     {"cmd": "blinded_ids", "seed": seed("c2"), "server_pk": SRV, "message_text": uni},
     {"cmd": "blinded_ids", "seed": seed("c3"), "server_pk": "00" * 32},
     {"cmd": "blinded_ids", "seed": sk("c4"), "server_pk": xpk("c5"), "message": big},
     {"cmd": "blinded_ids", "seed": seed(A), "server_pk": "00"},
     {"cmd": "blinded_ids", "seed": seed(A)}])

def ids(tag):
    return run([{"cmd": "blinded_ids", "seed": seed(tag), "server_pk": SRV}])[0]
ia, ib, ic = ids(A), ids(B), ids("c1")
for kind in ("15", "25"):
    kid = "blind%s_id" % kind
    for name, field, msg, rng in (("empty", "message", "", "%s01" % kind), ("unicode", "message_text", uni, "%s02" % kind), ("large", "message", big, "%s03" % kind)):
        vec("session.blinded_%s_%s" % (kind, name),
            "encrypt_for_blinded_recipient to a %s id (%s message); decrypted by the recipient, by the sender (outgoing copy, 64-byte key), not by a third account" % (kind, name),
            [{"cmd": "encrypt_for_blinded_recipient", "rng_seed": rng, "seed": seed(A), "server_pk": SRV, "recipient_blinded_id": ib[kid], field: msg},
             lambda prev, kid=kid: {"cmd": "decrypt_from_blinded_recipient", "seed": seed(B), "server_pk": SRV, "sender_id": ia[kid], "recipient_id": ib[kid], "ciphertext": prev[0]["ciphertext"]},
             lambda prev, kid=kid: {"cmd": "decrypt_from_blinded_recipient", "seed": sk(A), "server_pk": SRV, "sender_id": ia[kid], "recipient_id": ib[kid], "ciphertext": prev[0]["ciphertext"]},
             lambda prev, kid=kid: {"cmd": "decrypt_from_blinded_recipient", "seed": seed("c1"), "server_pk": SRV, "sender_id": ia[kid], "recipient_id": ib[kid], "ciphertext": prev[0]["ciphertext"]}])

vec("session.blinded_errors", "encrypt_for_blinded_recipient / decrypt_from_blinded_recipient errors: wrong prefix and lengths, a non-point recipient, mixed prefixes, short local/remote ids and server key, short, wrong version, short inner data, tampered, and a sender id that does not match the inner key",
    [{"cmd": "encrypt_for_blinded_recipient", "rng_seed": "30", "seed": seed(A), "server_pk": SRV, "recipient_blinded_id": sid(B), "message": "00"},
     {"cmd": "encrypt_for_blinded_recipient", "rng_seed": "30", "seed": seed(A), "server_pk": SRV, "recipient_blinded_id": ib["blind15_id"][2:], "message": "00"},
     {"cmd": "encrypt_for_blinded_recipient", "rng_seed": "30", "seed": seed(A), "server_pk": "00", "recipient_blinded_id": ib["blind15_id"], "message": "00"},
     {"cmd": "encrypt_for_blinded_recipient", "rng_seed": "30", "seed": seed(A), "server_pk": SRV, "recipient_blinded_id": "15" + "00" * 32, "message": "00"},
     {"cmd": "encrypt_for_blinded_recipient", "rng_seed": "30", "seed": seed(A), "server_pk": SRV, "recipient_blinded_id": "25" + seed(A), "message": "00"},
     {"cmd": "encrypt_for_blinded_recipient", "rng_seed": "31", "seed": seed(A), "server_pk": SRV, "recipient_blinded_id": ib["blind15_id"], "message_text": "x"},
     lambda prev: {"cmd": "decrypt_from_blinded_recipient", "seed": seed(B), "server_pk": SRV, "sender_id": ia["blind15_id"], "recipient_id": ib["blind15_id"], "ciphertext": prev[5]["ciphertext"][:80]},
     lambda prev: {"cmd": "decrypt_from_blinded_recipient", "seed": seed(B), "server_pk": SRV, "sender_id": ia["blind15_id"], "recipient_id": ib["blind25_id"], "ciphertext": prev[5]["ciphertext"]},
     lambda prev: {"cmd": "decrypt_from_blinded_recipient", "seed": seed(A), "server_pk": SRV, "sender_id": ia["blind15_id"], "recipient_id": "1500", "ciphertext": prev[5]["ciphertext"]},
     lambda prev: {"cmd": "decrypt_from_blinded_recipient", "seed": seed(B), "server_pk": SRV, "sender_id": ia["blind15_id"][:64], "recipient_id": ib["blind15_id"][:10], "ciphertext": prev[5]["ciphertext"]},
     lambda prev: {"cmd": "decrypt_from_blinded_recipient", "seed": seed(B), "server_pk": SRV, "sender_id": ia["blind15_id"][:64], "recipient_id": ib["blind15_id"], "ciphertext": prev[5]["ciphertext"]},
     lambda prev: {"cmd": "decrypt_from_blinded_recipient", "seed": seed(B), "server_pk": "00", "sender_id": ia["blind25_id"], "recipient_id": ib["blind25_id"], "ciphertext": prev[5]["ciphertext"]},
     lambda prev: {"cmd": "decrypt_from_blinded_recipient", "seed": seed(B), "server_pk": SRV, "sender_id": ia["blind15_id"], "recipient_id": ib["blind15_id"], "ciphertext": "01" + prev[5]["ciphertext"][2:]},
     lambda prev: {"cmd": "decrypt_from_blinded_recipient", "seed": seed(B), "server_pk": SRV, "sender_id": ia["blind15_id"], "recipient_id": ib["blind15_id"], "ciphertext": "00" * 60},
     lambda prev: {"cmd": "decrypt_from_blinded_recipient", "seed": seed(B), "server_pk": SRV, "sender_id": ia["blind15_id"], "recipient_id": ib["blind15_id"], "ciphertext": flip(prev[5]["ciphertext"], 5)},
     lambda prev: {"cmd": "decrypt_from_blinded_recipient", "seed": seed(B), "server_pk": SRV, "sender_id": ic["blind15_id"], "recipient_id": ib["blind15_id"], "ciphertext": prev[5]["ciphertext"]},
     lambda prev: {"cmd": "decrypt_from_blinded_recipient", "seed": seed(B), "server_pk": SRV, "sender_id": ia["blind15_id_candidates"][0] if ia["blind15_id_candidates"][0] != ia["blind15_id"] else ia["blind15_id_candidates"][1], "recipient_id": ib["blind15_id"], "ciphertext": prev[5]["ciphertext"]}])

# --- multi
N = "5a" * 24
rs = [xpk(t) for t in R]
vec("multi.encrypt_for_multiple_forms", "encrypt_for_multiple: one message for 1 and for 3 recipients, one per recipient, 05-prefixed recipients, an empty domain, a 70-byte domain (only 64 bytes key the hash), a 25-byte nonce (first 24 used), no recipients, messages given as a lone string",
    [{"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "d", "messages": ["00"], "recipients": rs[:1]},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "d", "messages": [""], "recipients": rs},
     {"cmd": "encrypt_for_multiple", "seed": sk(A), "nonce": N, "domain": "SessionGroupKeys", "messages": ["01", "0202", big], "recipients": ["05" + r for r in rs]},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "", "messages": ["01"], "recipients": rs},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "x" * 70, "messages": ["01"], "recipients": rs[:1]},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "x" * 64, "messages": ["01"], "recipients": rs[:1]},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N + "ff", "domain": "d", "messages": ["00"], "recipients": rs[:1]},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "d", "messages": ["00"], "recipients": []},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "d", "messages": "00", "recipients": rs[:1]}])

vec("multi.encrypt_for_multiple_errors", "encrypt_for_multiple errors: short nonce, 2 messages for 3 recipients, no messages, a 15-prefixed and a short recipient, the all-zero recipient key, missing nonce/domain/messages/recipients",
    [{"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N[:46], "domain": "d", "messages": ["00"], "recipients": rs},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "d", "messages": ["00", "01"], "recipients": rs},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "d", "messages": [], "recipients": rs},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "d", "messages": ["00"], "recipients": ["15" + rs[0]]},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "d", "messages": ["00"], "recipients": [rs[0][:62]]},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "d", "messages": ["00"], "recipients": [rs[0], "00" * 32]},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "domain": "d", "messages": ["00"], "recipients": rs},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "messages": ["00"], "recipients": rs},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "d", "recipients": rs},
     {"cmd": "encrypt_for_multiple", "seed": seed(A), "nonce": N, "domain": "d", "messages": ["00"]}])

def simple_case(vid, desc, enc_cmd, decs):
    cmds = [enc_cmd]
    for (tag, dom, sender) in decs:
        def mk(prev, tag=tag, dom=dom, sender=sender):
            c = {"cmd": "decrypt_for_multiple_simple", "seed": seed(tag), "encoded": prev[0]["encoded"], "domain": dom}
            c.update(sender)
            return c
        cmds.append(mk)
    vec(vid, desc, cmds)

simple_case("multi.simple_one_recipient", "encrypt_for_multiple_simple for one recipient, random nonce; decrypted with the X25519 and the Ed25519 sender key; wrong domain and a non-recipient get null",
    {"cmd": "encrypt_for_multiple_simple", "rng_seed": "40", "seed": seed(A), "domain": "dm", "messages_text": None, "messages": ["68656c6c6f"], "recipients": [sid(B)]} ,
    [(B, "dm", {"sender_x25519_pk": xpk(A)}), (B, "dm", {"sender_ed25519_pk": edpk(A)}), (B, "dm", {"sender_x25519_pk": sid(A)}),
     (B, "other", {"sender_x25519_pk": xpk(A)}), ("c1", "dm", {"sender_x25519_pk": xpk(A)}), (B, "dm", {"sender_x25519_pk": xpk("c1")})])
simple_case("multi.simple_many_padded", "encrypt_for_multiple_simple: 3 recipients, one message each, pad 4 (one junk entry as long as the first message), random nonce; each recipient decrypts its own",
    {"cmd": "encrypt_for_multiple_simple", "rng_seed": "41", "seed": seed(A), "domain": "d", "messages": ["0101", "020202", "03"], "recipients": rs, "pad": 4},
    [(t, "d", {"sender_x25519_pk": xpk(A)}) for t in R] + [(B, "d", {"sender_x25519_pk": xpk(A)})])
simple_case("multi.simple_pad_variants", "encrypt_for_multiple_simple with pad 1, -1 and an empty first message (no junk), a large message, a printable nonce",
    {"cmd": "encrypt_for_multiple_simple", "seed": seed(A), "nonce": "61" * 24, "domain": "d", "messages": [big], "recipients": rs[:2], "pad": 1},
    [("r1", "d", {"sender_x25519_pk": xpk(A)})])
vec("multi.simple_more", "encrypt_for_multiple_simple: empty first message with pad 3 (no junk), negative pad, no recipients with pad 3, non-printable nonces in encoded_json, errors (nonce length, recipients)",
    [{"cmd": "encrypt_for_multiple_simple", "rng_seed": "42", "seed": seed(A), "nonce": N, "domain": "d", "messages": [""], "recipients": rs[:1], "pad": 3},
     {"cmd": "encrypt_for_multiple_simple", "rng_seed": "43", "seed": seed(A), "nonce": N, "domain": "d", "messages": ["0102"], "recipients": rs[:1], "pad": -3},
     {"cmd": "encrypt_for_multiple_simple", "rng_seed": "44", "seed": seed(A), "nonce": N, "domain": "d", "messages": ["0102"], "recipients": [], "pad": 3},
     {"cmd": "encrypt_for_multiple_simple", "rng_seed": "45", "seed": seed(A), "nonce": "20" + "7e" * 23, "domain": "d", "messages": ["0102"], "recipients": rs[:1], "pad": 2},
     {"cmd": "encrypt_for_multiple_simple", "seed": seed(A), "nonce": "7f" + "41" * 23, "domain": "d", "messages": ["0102"], "recipients": rs[:1]},
     {"cmd": "encrypt_for_multiple_simple", "seed": seed(A), "nonce": "22" + "5c" * 23, "domain": "d", "messages": ["0102"], "recipients": rs[:1]},
     {"cmd": "encrypt_for_multiple_simple", "seed": seed(A), "nonce": "c3a9" + "41" * 22, "domain": "d", "messages": ["0102"], "recipients": rs[:1]},
     {"cmd": "encrypt_for_multiple_simple", "seed": seed(A), "nonce": N + "00", "domain": "d", "messages": ["0102"], "recipients": rs[:1]},
     {"cmd": "encrypt_for_multiple_simple", "seed": seed(A), "nonce": N, "domain": "d", "messages": ["0102"], "recipients": ["25" + rs[0]]},
     {"cmd": "encrypt_for_multiple_simple", "seed": seed(A), "nonce": N, "domain": "d", "messages": ["01", "02"], "recipients": rs}])
vec("multi.decrypt_simple_errors", "decrypt_for_multiple_simple: garbage and truncated encodings, a 23-byte nonce, a short or zero sender key (null); a bad Ed25519 sender key (error); missing fields",
    [{"cmd": "decrypt_for_multiple_simple", "seed": seed(B), "encoded": "00", "domain": "d", "sender_x25519_pk": xpk(A)},
     {"cmd": "decrypt_for_multiple_simple", "seed": seed(B), "encoded": "64313a2332333a" + "41" * 23 + "313a656c6565", "domain": "d", "sender_x25519_pk": xpk(A)},
     {"cmd": "decrypt_for_multiple_simple", "seed": seed(B), "encoded": "64313a2332343a" + "41" * 24 + "313a656c", "domain": "d", "sender_x25519_pk": xpk(A)},
     {"cmd": "decrypt_for_multiple_simple", "seed": seed(B), "encoded": "64313a2332343a" + "41" * 24 + "313a656c6565", "domain": "d", "sender_x25519_pk": xpk(A)[:62]},
     {"cmd": "decrypt_for_multiple_simple", "seed": seed(B), "encoded": "64313a2332343a" + "41" * 24 + "313a656c6565", "domain": "d", "sender_x25519_pk": "00" * 32},
     {"cmd": "decrypt_for_multiple_simple", "seed": seed(B), "encoded": "64313a2332343a" + "41" * 24 + "313a656c6565", "domain": "d", "sender_ed25519_pk": edpk(A)[:62]},
     {"cmd": "decrypt_for_multiple_simple", "seed": seed(B), "encoded": "64313a2332343a" + "41" * 24 + "313a656c6565", "domain": "d", "sender_ed25519_pk": "00" * 32},
     {"cmd": "decrypt_for_multiple_simple", "seed": seed(B), "encoded": "64313a2332343a" + "41" * 24 + "313a656c6565", "domain": "d"},
     {"cmd": "decrypt_for_multiple_simple", "seed": seed(B), "domain": "d", "sender_x25519_pk": xpk(A)},
     {"cmd": "decrypt_for_multiple_simple", "seed": seed(B), "encoded": "00", "sender_x25519_pk": xpk(A)}])

# --- xed25519
def xsk(tag): return run([{"cmd": "keypair", "seed": seed(tag)}])[0]["x25519_sk"]
vec("session.xed25519", "xed25519: ed_pubkey (sign bit 0) for accounts whose Ed25519 key has either sign; signatures of empty, unicode and large messages (64-byte random draw); no message gives no signature; an invalid u still maps",
    [{"cmd": "xed25519", "rng_seed": "50", "x25519_sk": xsk(A), "x25519_pk": xpk(A), "message": ""},
     {"cmd": "xed25519", "rng_seed": "51", "x25519_sk": xsk(B), "x25519_pk": xpk(B), "message_text": uni},
     {"cmd": "xed25519", "rng_seed": "52", "x25519_sk": xsk("c1"), "x25519_pk": xpk("c1"), "message": big},
     {"cmd": "xed25519", "x25519_sk": xsk("c2"), "x25519_pk": xpk("c2")},
     {"cmd": "xed25519", "x25519_sk": xsk("c2"), "x25519_pk": "ff" * 32},
     {"cmd": "xed25519", "x25519_pk": xpk("c2")}])

# drop None-valued keys
for v in vectors:
    for c in v["calls"]:
        c["command"] = {k: x for k, x in c["command"].items() if x is not None}

out = {"format": "lsu-vectors/1", "generator": "libsession-util 1.2.0 through shared/tools/lsu-oracle; session/blinding/multi commands (crypto helper)",
       "keypairs": {t: KP[t] for t in ["alice", "bob", "c1", "c2", "c3", "c4", "c5", "r0", "r1", "r2"]},
       "vector_count": len(vectors), "vectors": vectors}
json.dump(out, open(sys.argv[1], "w"), indent=1)
print(len(vectors), "vectors")
