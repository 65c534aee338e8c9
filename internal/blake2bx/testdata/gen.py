#!/usr/bin/env python3
"""Writes vectors.json: BLAKE2b with key, salt and personalisation, computed
with Python's hashlib.blake2b (its parameter block is RFC 7693's, as is
libsodium's crypto_generichash_blake2b_salt_personal).

It first recomputes the known answers of the three users' own tests and
checks that hashlib agrees with them: attachment/testdata/blake2b.json
(libsodium, key and personalisation) and fileserver/testdata/fileid.json
(Python, salt). Those cases are written again, with the users' parameters,
next to cases that set key, salt and personalisation together.
Input byte j is (7j+3) mod 256, or the case's "text".
Regenerate with: python3 gen.py (from this directory).
"""
import base64, hashlib, json

def data(n):
    return bytes((7 * j + 3) % 256 for j in range(n))

def b2b(size, key, salt, personal, msg):
    return hashlib.blake2b(msg, digest_size=size, key=key, salt=salt, person=personal).digest()

def case(size, key, salt, personal, n=None, text=None, source=""):
    msg = text.encode() if text is not None else data(n)
    c = {"source": source, "size": size, "key": key.hex(), "salt": salt.hex(), "personal": personal.hex()}
    if text is not None:
        c["text"] = text
    else:
        c["len"] = n
    c["hash"] = b2b(size, key, salt, personal, msg).hex()
    return c

zero = bytes(16)
cases = []

with open("../../../attachment/testdata/blake2b.json") as f:
    for c in json.load(f)["cases"]:
        key, personal = bytes.fromhex(c["key"]), bytes.fromhex(c["personal"])
        got = case(c["size"], key, zero, personal, n=c["len"], source="attachment/testdata/blake2b.json")
        assert got["hash"] == c["hash"], c
        cases.append(got)

fileid_salt = b"SessionFileSvr\0\0"
with open("../../../fileserver/testdata/fileid.json") as f:
    for v in json.load(f)["vectors"]:
        got = case(33, b"", fileid_salt, zero, n=v.get("len"), text=v.get("text"), source="fileserver/testdata/fileid.json")
        assert base64.urlsafe_b64encode(bytes.fromhex(got["hash"])).decode() == v["id"], v
        cases.append(got)

# Key, salt and personalisation together, and each alone with a key.
key32 = data(32)
key64 = bytes((5 * j + 1) % 256 for j in range(64))
salt = b"0123456789abcdef"
personal = b"xed25519signatur"
for n in [0, 1, 127, 128, 129, 255, 256, 257, 1000]:
    cases.append(case(64, key64, salt, personal, n=n))
    cases.append(case(33, key32, salt, zero, n=n))
    cases.append(case(1, b"\x05", zero, personal, n=n))
    cases.append(case(20, b"", salt, personal, n=n))

with open("vectors.json", "w") as f:
    json.dump({"source": "Python 3 hashlib.blake2b, gen.py", "cases": cases}, f, indent=1)
    f.write("\n")
