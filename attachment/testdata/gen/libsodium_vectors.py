#!/usr/bin/env python3
"""Writes ../secretstream.json, ../blake2b.json and ../deterministic.json from
the system libsodium (libsodium.so.23, loaded with ctypes).

The secretstream vectors are libsodium's own output; the deterministic
attachment vectors re-run libsession's construction (docs/attachments.md) on
libsodium's primitives: BLAKE2b with key and personalisation, a secretstream
whose state is set from the derived header (init_pull computes exactly what
init_push would with that header), padding 00..00 01, 32 KiB chunks.
Regenerate with: python3 libsodium_vectors.py (from this directory).
"""
import ctypes, hashlib, json, os

so = ctypes.CDLL("libsodium.so.23")
assert so.sodium_init() >= 0

STATE = 52
def push(st, m, tag):
    out = ctypes.create_string_buffer(len(m) + 17)
    olen = ctypes.c_ulonglong()
    assert so.crypto_secretstream_xchacha20poly1305_push(st, out, ctypes.byref(olen), m, ctypes.c_ulonglong(len(m)), None, ctypes.c_ulonglong(0), ctypes.c_ubyte(tag)) == 0
    return out.raw[:olen.value]

def init_with_header(key, header):
    st = ctypes.create_string_buffer(STATE)
    assert so.crypto_secretstream_xchacha20poly1305_init_pull(st, header, key) == 0
    return st

def b2b(key, personal, outlen, data):
    out = ctypes.create_string_buffer(outlen)
    assert so.crypto_generichash_blake2b_salt_personal(out, ctypes.c_size_t(outlen), data, ctypes.c_ulonglong(len(data)), key, ctypes.c_size_t(len(key)), None, personal) == 0
    return out.raw

def det(n, i):
    return bytes((j * 7 + i) % 256 for j in range(n))

# --- secretstream: libsodium's init_push (random header), then messages.
streams = []
for case, spec in enumerate([
    [(0, 0), (1, 0), (15, 0), (16, 0), (17, 0), (63, 0), (64, 0), (65, 0), (1000, 3)],
    [(100, 0), (100, 2), (100, 1), (33, 0), (0, 2), (7, 3)],
    [(32768, 0), (32768, 0), (5, 3)],
]):
    key = bytes((case * 31 + j) % 256 for j in range(32))
    st = ctypes.create_string_buffer(STATE)
    header = ctypes.create_string_buffer(24)
    assert so.crypto_secretstream_xchacha20poly1305_init_push(st, header, key) == 0
    msgs = []
    for k, (n, tag) in enumerate(spec):
        m = det(n, k)
        msgs.append({"plaintext": m.hex(), "tag": tag, "sealed": push(st, m, tag).hex()})
    streams.append({"key": key.hex(), "header": header.raw.hex(), "messages": msgs})

# Counter wrap: the state's counter (nonce[0:4], after the 32-byte key)
# set to 0xffffffff, so the next push wraps it to zero and rekeys.
key = bytes(range(32, 64))
header = bytes(range(100, 124))
st = init_with_header(key, header)
ctypes.memmove(ctypes.addressof(st) + 32, b"\xff\xff\xff\xff", 4)
wrap = {"key": key.hex(), "header": header.hex(), "counter": 0xffffffff, "messages": []}
for k, n in enumerate([10, 20, 30]):
    m = det(n, k)
    wrap["messages"].append({"plaintext": m.hex(), "tag": 0, "sealed": push(st, m, 0).hex()})

with open("../secretstream.json", "w") as f:
    json.dump({"source": "libsodium 1.0.18 crypto_secretstream_xchacha20poly1305 (system libsodium.so.23 via ctypes)",
               "streams": streams, "counter_wrap": wrap}, f, indent=1)

# --- BLAKE2b with key and personalisation.
b2 = []
for n in [0, 1, 127, 128, 129, 255, 256, 257, 1000, 100000]:
    for klen, outlen, pers in [(32, 56, b"SessionAttachmnt"), (32, 56, b"Session_Prof_Pic"), (0, 64, b"xed25519signatur"), (64, 32, b"0123456789abcdef"), (1, 1, b"\x00" * 16)]:
        key = bytes((j * 13 + 5) % 256 for j in range(klen))
        data = det(n, 3)
        b2.append({"key": key.hex(), "personal": pers.hex(), "size": outlen, "len": n, "hash": b2b(key, pers, outlen, data).hex()})
with open("../blake2b.json", "w") as f:
    json.dump({"source": "libsodium 1.0.18 crypto_generichash_blake2b_salt_personal, salt NULL; input byte j is (7j+3) mod 256", "cases": b2}, f, indent=1)

# --- deterministic attachments (libsession's construction).
CHUNK, OVER = 32768, 17
TOTAL = CHUNK + OVER
def bit_floor(x):
    return 1 << (x.bit_length() - 1)
def encrypted_padding(n):
    chunks = (n + CHUNK - 1) // CHUNK
    enc = n + 25 + 1 + chunks * OVER
    f = bit_floor(max(enc, 131072)) >> 5
    padded = (enc + f - 1) // f * f
    pad = padded - enc + 1
    imp = 0
    if pad >= TOTAL:
        imp = (pad // TOTAL) * OVER
    free = chunks * CHUNK - n
    if pad % TOTAL > free:
        imp += OVER
    return pad - imp

def encrypt(seed, pers, data):
    nk = b2b(seed, pers, 56, data)
    header, key = nk[:24], nk[24:]
    st = init_with_header(key, header)
    pad = encrypted_padding(len(data))
    stream = b"\x00" * (pad - 1) + b"\x01" + data
    out = [b"S", header]
    for off in range(0, len(stream), CHUNK):
        piece = stream[off:off + CHUNK]
        out.append(push(st, piece, 3 if off + CHUNK >= len(stream) else 0))
    return key, b"".join(out)

def make_data(n):  # libsession's tests: byte i is 7i mod 256
    return bytes(i * 7 % 256 for i in range(n))

vecs = []
seed = bytes.fromhex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
for n in [0, 1, 2, 100, 4053, 4054, 8149, 8150, 32767, 32768, 32769, 33333, 65536, 100000, 261982, 261983, 523991]:
    for dom, pers in [("attachment", b"SessionAttachmnt"), ("profile_picture", b"Session_Prof_Pic")]:
        if dom == "profile_picture" and n not in (0, 100, 33333):
            continue
        key, ct = encrypt(seed, pers, make_data(n))
        v = {"domain": dom, "plaintext_len": n, "key": key.hex(), "ciphertext_len": len(ct), "ciphertext_sha256": hashlib.sha256(ct).hexdigest()}
        if len(ct) <= 8192:
            v["ciphertext"] = ct.hex()
        vecs.append(v)
with open("../deterministic.json", "w") as f:
    json.dump({"source": "libsession-util src/attachments.cpp construction on libsodium 1.0.18 primitives; plaintext byte i is 7i mod 256 (libsession's make_data)",
               "seed": seed.hex(), "vectors": vecs}, f, indent=1)
