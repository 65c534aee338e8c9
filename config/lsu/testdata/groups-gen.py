#!/usr/bin/env python3
"""Generate config/lsu/testdata/groups-<topic>.json with the reference library.

Closed groups v2 (issue 14): scenario commands on `type: "group"` objects
(groups::Info + groups::Members + groups::Keys, spec libsession-configs.md
section 2.2), run through the oracle (libsession-util 1.2.0) and stored with
its replies in the public vectors' format (category "groups"), which
config/lsu/vectors_test.go replays through `sotto debug libsession`.

Development tool; tests never run it. From the repository root:

    python3 config/lsu/testdata/groups-gen.py                      # every topic
    python3 config/lsu/testdata/groups-gen.py rekey messages       # some topics
    python3 config/lsu/testdata/groups-gen.py --oracle PATH --now-ms MS

Conventions:
  * user seeds are sha256("sotto-groups:seed:" + tag); group seeds
    sha256("sotto-groups:group:" + tag); filler member ids
    "05" + sha256("sotto-groups:id:" + tag) with the first byte moved into
    0x40..0xbf, so that the real users chosen for the ends of a sorted member
    list (first byte below 0x40 / above 0xbf) really are its ends.
  * scenarios that encrypt a group message carry "rng_seed" (the message
    nonce is the only randomness); rng_seed is sha256("sotto-groups:rng:" + id).
  * swarm timestamps (timestamp_ms) are fixed: T0 = 1700000000000 and offsets.
  * a group object's dumps (keys_dump, info/members dump) are given back to
    "new" inline: the oracle ignores keys_dump_ref/info_dump_ref/
    members_dump_ref on a group "new". Such vectors are built in two runs (the
    prefix is run first to read the dump; the oracle is deterministic given
    rng_seed, so the final run repeats it exactly).
  * messages the oracle cannot produce (a group message of another version, a
    bad signature under a valid AEAD tag, a key list that is not a multiple of
    75) are made here from the oracle's own output: the group key comes from
    keys_state, XChaCha20-Poly1305 is implemented below in plain Python.
  * layers.body / layers.bt over 12 kB are replaced by body_sha256 /
    bt_sha256 and bt_json by a note, as in the public file.
"""

import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ORACLE = os.environ.get("LSU_ORACLE", "/work/shared/tools/lsu-oracle")
ORACLE = DEFAULT_ORACLE
SHRINK = 12000
NOW = int(time.time() * 1000)

T0 = 1700000000000
MIN = 60 * 1000
DAY = 86400 * 1000


def sha(tag):
    return hashlib.sha256(tag.encode()).hexdigest()


def seed(tag):
    return sha("sotto-groups:seed:" + tag)


def gseed(tag):
    return sha("sotto-groups:group:" + tag)


def filler(tag):
    """A member id that is no real user, first byte in 0x40..0xbf."""
    h = bytearray(hashlib.sha256(("sotto-groups:id:" + tag).encode()).digest())
    h[0] = 0x40 + (h[0] % 0x80)
    return "05" + h.hex()


def run_oracle(commands):
    inp = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in commands)
    p = subprocess.run([ORACLE], input=inp.encode(), capture_output=True, check=False)
    if p.returncode != 0:
        sys.exit("lsu-oracle exited %d: %s" % (p.returncode, p.stderr.decode()[:2000]))
    replies = [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
    if len(replies) != len(commands):
        sys.exit("lsu-oracle answered %d of %d commands: %s"
                 % (len(replies), len(commands), p.stderr.decode()[:2000]))
    return replies


_kp = {}


def keypair(seed_hex):
    if seed_hex not in _kp:
        _kp[seed_hex] = run_oracle([{"cmd": "keypair", "seed": seed_hex}])[0]
    return _kp[seed_hex]


def keypairs(seeds):
    todo = [s for s in seeds if s not in _kp]
    if todo:
        for s, r in zip(todo, run_oracle([{"cmd": "keypair", "seed": s} for s in todo])):
            _kp[s] = r
    return [_kp[s] for s in seeds]


class User:
    def __init__(self, tag):
        self.tag = tag
        self.seed = seed(tag)
        self.sid = keypair(self.seed)["session_id"]


class Group:
    def __init__(self, tag):
        self.seed = gseed(tag)
        kp = keypair(self.seed)
        self.pk = kp["ed25519_pk"]
        self.id = "03" + self.pk
        self.sk = kp["ed25519_sk"]


def users_by_end(prefix, want):
    """Real users whose session id's first byte (after 05) is below 0x40
    ("low"), above 0xbf ("high") or in between ("mid"): want is a list of
    those words; returns Users in the same order."""
    out = [None] * len(want)
    i = 0
    while any(u is None for u in out):
        tags = ["%s-%d" % (prefix, i + j) for j in range(64)]
        keypairs([seed(t) for t in tags])
        for t in tags:
            b = int(keypair(seed(t))["session_id"][2:4], 16)
            kind = "low" if b < 0x40 else "high" if b > 0xbf else "mid"
            for k, w in enumerate(want):
                if out[k] is None and w == kind:
                    out[k] = User(t)
                    break
        i += 64
    return out


# ---------------------------------------------------------------------------
# bt and XChaCha20-Poly1305, for the messages the oracle cannot make


def bt_decode(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c == b"l":
        out, i = [], i + 1
        while b[i:i + 1] != b"e":
            v, i = bt_decode(b, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        out, i = [], i + 1  # a list of pairs: keeps order
        while b[i:i + 1] != b"e":
            k, i = bt_decode(b, i)
            v, i = bt_decode(b, i)
            out.append((k, v))
        return out, i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n


def bt_encode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, bytes):
        return b"%d:" % len(v) + v
    if isinstance(v, list) and v and isinstance(v[0], tuple):
        return b"d" + b"".join(bt_encode(k) + bt_encode(x) for k, x in v) + b"e"
    if isinstance(v, list):
        return b"l" + b"".join(bt_encode(x) for x in v) + b"e"
    raise TypeError(v)


def _rotl(v, c):
    return ((v << c) & 0xffffffff) | (v >> (32 - c))


def _qr(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xffffffff
    s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xffffffff
    s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xffffffff
    s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xffffffff
    s[b] = _rotl(s[b] ^ s[c], 7)


def _rounds(s):
    for _ in range(10):
        _qr(s, 0, 4, 8, 12)
        _qr(s, 1, 5, 9, 13)
        _qr(s, 2, 6, 10, 14)
        _qr(s, 3, 7, 11, 15)
        _qr(s, 0, 5, 10, 15)
        _qr(s, 1, 6, 11, 12)
        _qr(s, 2, 7, 8, 13)
        _qr(s, 3, 4, 9, 14)


_SIGMA = list(struct.unpack("<4I", b"expand 32-byte k"))


def hchacha20(key, nonce16):
    s = _SIGMA + list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    _rounds(s)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def chacha20_block(key, counter, nonce12):
    init = _SIGMA + list(struct.unpack("<8I", key)) + [counter] + list(struct.unpack("<3I", nonce12))
    s = list(init)
    _rounds(s)
    return struct.pack("<16I", *((x + y) & 0xffffffff for x, y in zip(s, init)))


def chacha20_xor(key, counter, nonce12, data):
    out = bytearray()
    for i in range(0, len(data), 64):
        ks = chacha20_block(key, counter + i // 64, nonce12)
        out += bytes(a ^ b for a, b in zip(data[i:i + 64], ks))
    return bytes(out)


def poly1305(key, msg):
    r = int.from_bytes(key[:16], "little") & 0x0ffffffc0ffffffc0ffffffc0fffffff
    s = int.from_bytes(key[16:], "little")
    p = (1 << 130) - 5
    a = 0
    for i in range(0, len(msg), 16):
        n = int.from_bytes(msg[i:i + 16] + b"\x01", "little")
        a = (a + n) * r % p
    return ((a + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def _pad16(b):
    return b"\x00" * (-len(b) % 16)


def _tag(key, nonce12, ct):
    otk = chacha20_block(key, 0, nonce12)[:32]
    mac = ct + _pad16(ct) + struct.pack("<QQ", 0, len(ct))
    return poly1305(otk, mac)


def xchacha_open(key, nonce24, ct):
    sub = hchacha20(key, nonce24[:16])
    n12 = b"\x00" * 4 + nonce24[16:]
    body, tag = ct[:-16], ct[-16:]
    if _tag(sub, n12, body) != tag:
        raise ValueError("bad tag")
    return chacha20_xor(sub, 1, n12, body)


def xchacha_seal(key, nonce24, pt):
    sub = hchacha20(key, nonce24[:16])
    n12 = b"\x00" * 4 + nonce24[16:]
    body = chacha20_xor(sub, 1, n12, pt)
    return body + _tag(sub, n12, body)


def reseal_message(key_hex, msg_hex, edit):
    """Opens a group message (nonce || XChaCha20-Poly1305) with the group
    key, applies edit to its bt dict (a list of pairs) and seals it again
    under the same key and nonce, with the same trailing zero padding."""
    key, msg = bytes.fromhex(key_hex), bytes.fromhex(msg_hex)
    pt = xchacha_open(key, msg[:24], msg[24:])
    d, end = bt_decode(pt)
    pad = pt[end:]
    assert pad == b"\x00" * len(pad)
    body = bt_encode(edit(d))
    pt2 = body + b"\x00" * max(0, len(pt) - len(body))
    return (msg[:24] + xchacha_seal(key, msg[:24], pt2)).hex()


def flip(hexstr, byte_index):
    b = bytearray(bytes.fromhex(hexstr))
    b[byte_index] ^= 0x01
    return b.hex()


# ---------------------------------------------------------------------------
# vectors


class Vec:
    """One vector: a single scenario call, built step by step."""

    def __init__(self, vid, description, rng=False):
        self.id = vid
        self.description = description
        self.steps = []
        self.rng = sha("sotto-groups:rng:" + vid) if rng else None
        self.after = []  # stateless calls after the scenario

    def command(self):
        c = {"cmd": "scenario"}
        if self.rng:
            c["rng_seed"] = self.rng
        c["steps"] = self.steps
        return c

    def commands(self):
        return [self.command()] + self.after

    def do(self, op, obj=None, **kw):
        st = {"op": op}
        if obj is not None:
            st["obj"] = obj
        st.update(kw)
        self.steps.append(st)
        return len(self.steps) - 1

    def fail(self, op, obj=None, **kw):
        return self.do(op, obj, may_fail=True, **kw)

    def admin(self, name, user, group, **kw):
        return self.do("new", None, name=name, type="group", user_seed=user.seed, group_seed=group.seed, **kw)

    def member(self, name, user, group, **kw):
        return self.do("new", None, name=name, type="group", user_seed=user.seed, group_pk=group.id, **kw)

    def load(self, obj, h, ref, ts, **kw):
        return self.do("load_key_message", obj, hash=h, data_ref=ref, timestamp_ms=ts, **kw)

    def merge(self, obj, conf, *msgs, **kw):
        return self.do("merge", obj, conf=conf, messages=[{"hash": h, "data_ref": r} for h, r in msgs], **kw)

    def results(self):
        """Runs the scenario built so far and returns its step results."""
        r = run_oracle([self.command()])[0]
        if not r.get("ok"):
            sys.exit("%s: prefix failed: %s" % (self.id, r.get("error")))
        return r["results"]


def members_of(*users, **extra):
    return [dict({"session_id": u.sid}, **extra) for u in users]


def setup(v, admin, group, members, gen0=True, name="Group"):
    """adm creates the group with members (Users or ids), rekeys (gen 0, k0)
    and loads its own key message."""
    v.admin("adm", admin, group)
    ids = [m if isinstance(m, str) else m.sid for m in members]
    v.do("member_set", "adm", members=[{"session_id": i} for i in ids])
    v.do("info_set", "adm", name=name, created=1700000000)
    if gen0:
        v.do("rekey", "adm", save="k0")
        v.load("adm", "kh0", "k0", T0)


# --- rekey sizes ------------------------------------------------------------

def topic_rekey():
    vecs = []
    adm, low, high, non = users_by_end("rk", ["mid", "low", "high", "mid"])
    for n in (1, 2, 3, 74, 75, 76, 99, 100, 101, 1000):
        g = Group("rekey-%d" % n)
        if n == 1:
            members, ends = [low.sid], [low]
        elif n == 2:
            members, ends = [low.sid, high.sid], [low, high]
        else:
            members = [adm.sid, low.sid, high.sid] + [filler("rk%d-%d" % (n, i)) for i in range(n - 3)]
            ends = [low, high]
        slots = (n + 74) // 75 * 75
        v = Vec("groups.rekey_%d_members" % n,
                "rekey over %d member(s) (%d key slots): the key message bytes; the admin and the members "
                "at both ends of the sorted member list find the key, a non-member does not; %s"
                % (n, slots, "keys dumps after loading" if n <= 3 else "keys_state after each load"))
        v.admin("adm", adm, g)
        v.do("member_set", "adm", members=[{"session_id": m} for m in members])
        v.do("rekey", "adm", save="k0")
        v.do("keys_state", "adm")
        v.load("adm", "kh0", "k0", T0)
        for i, u in enumerate(ends):
            v.member("m%d" % i, u, g)
            v.load("m%d" % i, "kh0", "k0", T0 + 1000)
            if n <= 3:
                v.do("keys_dump", "m%d" % i)
        v.member("x", non, g)
        v.load("x", "kh0", "k0", T0 + 1000)
        v.do("keys_state", "x")
        if n in (100, 1000):
            v.do("push", "adm", conf="members", save="mm1", confirm="mh1")
            v.merge("m0", "members", ("mh1", "mm1"))
        if n == 1000:
            # remove one member and rekey again (generation 1)
            v.do("member_erase", "adm", session_id=members[5])
            v.do("rekey", "adm", save="k1")
            v.load("adm", "kh1", "k1", T0 + MIN)
            v.load("m1", "kh1", "k1", T0 + MIN)
        vecs.append(v)

    # members whose key cannot be used for a slot: X25519 low-order points
    g = Group("rekey-bad-ids")
    v = Vec("groups.rekey_low_order_ids",
            "rekey over members whose ids are X25519 low-order points (u = 0, u = 1) next to two real members: "
            "how many key slots the message has and that the real members still find the key")
    v.admin("adm", adm, g)
    v.do("member_set", "adm", members=[{"session_id": "05" + "00" * 32}, {"session_id": "05" + "01" + "00" * 31},
                                       {"session_id": low.sid}, {"session_id": high.sid}])
    v.do("rekey", "adm", save="k0")
    v.load("adm", "kh0", "k0", T0)
    v.member("m0", low, g)
    v.load("m0", "kh0", "k0", T0)
    v.member("m1", high, g)
    v.load("m1", "kh0", "k0", T0)
    vecs.append(v)

    # rekey with no member at all, twice in a row without loading
    g = Group("rekey-empty")
    v = Vec("groups.rekey_empty_and_unloaded",
            "rekey with an empty members config; a second rekey before the first is loaded (pending key "
            "replaced, generation 1); the first message loaded late; needs_rekey/pending in keys_state")
    v.admin("adm", adm, g)
    v.do("rekey", "adm", save="k0")
    v.do("keys_state", "adm")
    v.do("member_set", "adm", member={"session_id": low.sid})
    v.do("rekey", "adm", save="k1")
    v.do("keys_state", "adm")
    v.do("keys_dump", "adm")
    v.load("adm", "kh1", "k1", T0 + MIN)
    v.do("keys_state", "adm")
    v.load("adm", "kh0", "k0", T0)
    v.do("keys_state", "adm")
    v.member("m0", low, g)
    v.load("m0", "kh0", "k0", T0)
    v.load("m0", "kh1", "k1", T0 + MIN)
    v.do("keys_dump", "m0")
    vecs.append(v)
    return vecs


# --- generations, orders, supplements, reload --------------------------------

def topic_keys():
    vecs = []
    adm, m0, m1, m2, m3, m4 = (User("keys-" + t) for t in ("adm", "m0", "m1", "m2", "m3", "m4"))
    g = Group("keys")

    def three_gens(v):
        """gen 0 {adm, m0, m1}; gen 1 {adm, m0, m2} (m1 removed); gen 2 {adm, m0, m2, m3}."""
        setup(v, adm, g, [adm, m0, m1])
        v.do("keys_dump", "adm")
        v.do("member_erase", "adm", session_id=m1.sid)
        v.do("member_set", "adm", member={"session_id": m2.sid, "name": "m2"})
        v.do("rekey", "adm", save="k1")
        v.load("adm", "kh1", "k1", T0 + MIN)
        v.do("keys_dump", "adm")
        v.do("member_set", "adm", member={"session_id": m3.sid, "name": "m3"})
        v.do("rekey", "adm", save="k2")
        v.load("adm", "kh2", "k2", T0 + 2 * MIN)
        v.do("keys_dump", "adm")

    ts = {0: T0, 1: T0 + MIN, 2: T0 + 2 * MIN}
    orders = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
    v = Vec("groups.keys_three_generations_every_order",
            "three rekeys with membership changes (m1 removed at gen 1, m2 added at gen 1, m3 at gen 2); m0 "
            "(in every generation) loads the three key messages in each of the 6 orders, keys_state and "
            "keys_dump after every load; m1, m2, m3 load all three and find only theirs; loading a message twice")
    three_gens(v)
    for oi, order in enumerate(orders):
        name = "o%d" % oi
        v.member(name, m0, g)
        for gen in order:
            v.load(name, "kh%d" % gen, "k%d" % gen, ts[gen])
            v.do("keys_state", name)
            v.do("keys_dump", name)
    v.load("o0", "kh2", "k2", ts[2])
    v.do("keys_dump", "o0")
    for name, u in (("r1", m1), ("r2", m2), ("r3", m3)):
        v.member(name, u, g)
        for gen in (2, 0, 1):
            v.load(name, "kh%d" % gen, "k%d" % gen, ts[gen])
        v.do("keys_dump", name)
    vecs.append(v)

    # reload from dumps, then read an old-generation message
    v = Vec("groups.keys_reload_from_dump",
            "admin and member dump keys/info/members after three generations and are rebuilt from the dumps: "
            "same keys_state; the rebuilt member decrypts a gen-0 and a gen-2 message; the rebuilt admin "
            "rekeys (gen 3) and the rebuilt member finds it", rng=True)
    three_gens(v)
    v.member("mem", m0, g)
    v.load("mem", "kh0", "k0", ts[0])
    v.do("encrypt_message", "adm", plaintext_text="before gen 1", save="old")  # encrypted under gen 2 here
    for gen in (2, 1):
        v.load("mem", "kh%d" % gen, "k%d" % gen, ts[gen])
    v.do("push", "adm", conf="info", save="i1", confirm="ih1")
    v.do("push", "adm", conf="members", save="mm1", confirm="mh1")
    v.merge("mem", "info", ("ih1", "i1"))
    v.merge("mem", "members", ("mh1", "mm1"))
    v.do("encrypt_message", "adm", plaintext_text="gen 2 message", save="e2")
    dk = v.do("keys_dump", "mem")
    di = v.do("dump", "mem", conf="info")
    dm = v.do("dump", "mem", conf="members")
    ak = v.do("keys_dump", "adm")
    ai = v.do("dump", "adm", conf="info")
    am = v.do("dump", "adm", conf="members")
    r = v.results()
    v.member("mem2", m0, g, keys_dump=r[dk]["dump"], info_dump=r[di]["dump"], members_dump=r[dm]["dump"])
    v.do("keys_state", "mem2")
    v.do("get", "mem2", conf="info")
    v.do("get", "mem2", conf="members")
    v.do("decrypt_message", "mem2", data_ref="old")
    v.do("decrypt_message", "mem2", data_ref="e2")
    v.admin("adm2", adm, g, keys_dump=r[ak]["dump"], info_dump=r[ai]["dump"], members_dump=r[am]["dump"])
    v.do("keys_state", "adm2")
    v.do("get", "adm2", conf="members")
    v.do("rekey", "adm2", save="k3")
    v.load("adm2", "kh3", "k3", T0 + 3 * MIN)
    v.load("mem2", "kh3", "k3", T0 + 3 * MIN)
    v.do("keys_dump", "mem2")
    vecs.append(v)

    # a member who held gen 0 only, reloaded from a dump, decrypts a gen-0 message
    v = Vec("groups.keys_old_generation_messages",
            "messages encrypted in generations 0, 1 and 2 are decrypted by m0 (who holds every key) and the "
            "gen-0 one by m1 (removed at gen 1); m1 cannot read the later ones", rng=True)
    setup(v, adm, g, [adm, m0, m1])
    v.member("m0", m0, g)
    v.member("m1", m1, g)
    v.load("m0", "kh0", "k0", T0)
    v.load("m1", "kh0", "k0", T0)
    v.do("encrypt_message", "m1", plaintext_text="gen 0 by m1", save="e0")
    v.do("member_erase", "adm", session_id=m1.sid)
    v.do("rekey", "adm", save="k1")
    v.load("adm", "kh1", "k1", T0 + MIN)
    v.load("m0", "kh1", "k1", T0 + MIN)
    v.load("m1", "kh1", "k1", T0 + MIN)
    v.do("encrypt_message", "m0", plaintext_text="gen 1 by m0", save="e1")
    v.do("rekey", "adm", save="k2")
    v.load("adm", "kh2", "k2", T0 + 2 * MIN)
    v.load("m0", "kh2", "k2", T0 + 2 * MIN)
    v.do("encrypt_message", "adm", plaintext_text="gen 2 by adm", save="e2")
    for obj in ("adm", "m0"):
        for e in ("e0", "e1", "e2"):
            v.do("decrypt_message", obj, data_ref=e)
    v.do("decrypt_message", "m1", data_ref="e0")
    v.fail("decrypt_message", "m1", data_ref="e1")
    v.fail("decrypt_message", "m1", data_ref="e2")
    vecs.append(v)

    # key expiry: a generation is dropped 60 days after the next one
    v = Vec("groups.keys_expiry",
            "generation timestamps 30 days, then 61 days apart (KEY_EXPIRY = 60 days): the older generation is "
            "dropped once the next one is more than 60 days older than the newest key; loaded in order and "
            "in reverse")
    setup(v, adm, g, [adm, m0])
    v.do("rekey", "adm", save="k1")
    v.load("adm", "kh1", "k1", T0 + 30 * DAY)
    v.do("keys_state", "adm")
    v.do("rekey", "adm", save="k2")
    v.load("adm", "kh2", "k2", T0 + 91 * DAY)
    v.do("keys_state", "adm")
    v.do("rekey", "adm", save="k3")
    v.load("adm", "kh3", "k3", T0 + 151 * DAY + 1)
    v.do("keys_state", "adm")
    v.do("keys_dump", "adm")
    v.member("a", m0, g)
    for gen, t in ((0, T0), (1, T0 + 30 * DAY), (2, T0 + 91 * DAY), (3, T0 + 151 * DAY + 1)):
        v.load("a", "kh%d" % gen, "k%d" % gen, t)
        v.do("keys_state", "a")
    v.member("b", m0, g)
    for gen, t in ((3, T0 + 151 * DAY + 1), (2, T0 + 91 * DAY), (1, T0 + 30 * DAY), (0, T0)):
        v.load("b", "kh%d" % gen, "k%d" % gen, t)
        v.do("keys_state", "b")
    v.do("keys_dump", "b")
    vecs.append(v)

    # supplements
    v = Vec("groups.keys_supplement_one",
            "after two generations a new member gets a supplemental key message (no rekey), loads it and reads "
            "a gen-0 and a gen-1 message and the info config; a member already in the group loads it and finds "
            "nothing; supplement then the next rekey loaded in both orders", rng=True)
    setup(v, adm, g, [adm, m0])
    v.member("m0", m0, g)
    v.load("m0", "kh0", "k0", T0)
    v.do("encrypt_message", "m0", plaintext_text="old gen 0", save="e0")
    v.do("rekey", "adm", save="k1")
    v.load("adm", "kh1", "k1", T0 + MIN)
    v.load("m0", "kh1", "k1", T0 + MIN)
    v.do("encrypt_message", "adm", plaintext_text="old gen 1", save="e1")
    v.do("push", "adm", conf="info", save="i1", confirm="ih1")
    v.do("member_set", "adm", member={"session_id": m4.sid, "name": "late", "invite_status": 1, "supplement": True})
    v.do("push", "adm", conf="members", save="mm1", confirm="mh1")
    v.do("key_supplement", "adm", session_ids=[m4.sid], save="s1")
    v.do("keys_state", "adm")
    v.member("n", m4, g)
    v.load("n", "sh1", "s1", T0 + 2 * MIN)
    v.do("keys_state", "n")
    v.do("keys_dump", "n")
    v.do("decrypt_message", "n", data_ref="e0")
    v.do("decrypt_message", "n", data_ref="e1")
    v.merge("n", "info", ("ih1", "i1"))
    v.merge("n", "members", ("mh1", "mm1"))
    v.load("m0", "sh1", "s1", T0 + 2 * MIN)
    v.do("keys_state", "m0")
    v.load("adm", "sh1", "s1", T0 + 2 * MIN)
    v.do("keys_state", "adm")
    v.do("rekey", "adm", save="k2")
    v.load("adm", "kh2", "k2", T0 + 3 * MIN)
    v.load("n", "kh2", "k2", T0 + 3 * MIN)
    v.do("keys_dump", "n")
    v.member("n2", m4, g)
    v.load("n2", "kh2", "k2", T0 + 3 * MIN)
    v.load("n2", "sh1", "s1", T0 + 2 * MIN)
    v.do("keys_dump", "n2")
    v.do("decrypt_message", "n2", data_ref="e0")
    vecs.append(v)

    v = Vec("groups.keys_supplement_several",
            "a supplement for three new members at once (one of them already holding gen 0) and one for a "
            "member id that is no real user; each new member loads it; a supplement for nobody", rng=True)
    setup(v, adm, g, [adm, m0])
    v.do("rekey", "adm", save="k1")
    v.load("adm", "kh1", "k1", T0 + MIN)
    v.do("encrypt_message", "adm", plaintext_text="for the late ones", save="e1")
    new = [m2, m3, m4]
    v.do("member_set", "adm", members=[{"session_id": u.sid, "supplement": True} for u in new])
    v.do("key_supplement", "adm", session_ids=[u.sid for u in new], save="s")
    v.do("key_supplement", "adm", session_ids=[filler("supp")], save="sf")
    v.fail("key_supplement", "adm", session_ids=[])
    for i, u in enumerate(new):
        v.member("n%d" % i, u, g)
        v.load("n%d" % i, "sh", "s", T0 + 2 * MIN)
        v.load("n%d" % i, "shf", "sf", T0 + 2 * MIN)
        v.do("keys_dump", "n%d" % i)
        v.do("decrypt_message", "n%d" % i, data_ref="e1")
    v.member("o", m0, g)
    v.load("o", "sh", "s", T0 + 2 * MIN)
    v.do("keys_state", "o")
    vecs.append(v)

    # two admins rekey the same generation
    adm2 = User("keys-adm2")
    v = Vec("groups.keys_rekey_collision",
            "two admins rekey generation 1 at the same time over different member lists: everyone who loads "
            "both holds two generation-1 keys (ordered by timestamp, not by key bytes), admins see needs_rekey, messages "
            "under either key decrypt; a third rekey (generation 2) settles it", rng=True)
    setup(v, adm, g, [adm, adm2, m0, m1])
    v.do("push", "adm", conf="members", save="mm0", confirm="mh0")
    v.admin("b", adm2, g)
    v.load("b", "kh0", "k0", T0)
    v.merge("b", "members", ("mh0", "mm0"))
    v.member("m0", m0, g)
    v.load("m0", "kh0", "k0", T0)
    v.do("member_erase", "adm", session_id=m1.sid)
    v.do("member_set", "b", member={"session_id": m2.sid})
    v.do("rekey", "adm", save="ka")
    v.do("rekey", "b", save="kb")
    v.do("encrypt_message", "adm", plaintext_text="under A's pending key", save="ea")
    v.do("encrypt_message", "b", plaintext_text="under B's pending key", save="eb")
    # A's message is stored 5 ms after B's: the two generation-1 keys sort by timestamp before key
    v.load("adm", "kha", "ka", T0 + MIN + 5)
    v.load("b", "khb", "kb", T0 + MIN)
    v.load("adm", "khb", "kb", T0 + MIN)
    v.load("b", "kha", "ka", T0 + MIN + 5)
    v.do("keys_state", "adm")
    v.do("keys_state", "b")
    v.load("m0", "khb", "kb", T0 + MIN)
    v.load("m0", "kha", "ka", T0 + MIN + 5)
    v.do("keys_state", "m0")
    v.do("keys_dump", "m0")
    v.do("decrypt_message", "m0", data_ref="ea")
    v.do("decrypt_message", "m0", data_ref="eb")
    v.do("encrypt_message", "m0", plaintext_text="after the collision", save="em")
    v.do("decrypt_message", "adm", data_ref="em")
    v.do("decrypt_message", "b", data_ref="em")
    v.do("rekey", "adm", save="k2")
    v.load("adm", "kh2", "k2", T0 + 2 * MIN)
    v.load("b", "kh2", "k2", T0 + 2 * MIN)
    v.load("m0", "kh2", "k2", T0 + 2 * MIN)
    v.do("keys_state", "adm")
    v.do("keys_state", "b")
    v.do("keys_dump", "m0")
    vecs.append(v)

    # malformed and foreign key messages
    other = Group("keys-other")
    v = Vec("groups.keys_bad_messages",
            "key messages that must be refused: without nonce, generation, admin key, key list or signature; a "
            "negative generation; a short admin key or slot; no slot at all; truncated; a bit flipped in the "
            "signature, the nonce and a key slot; a key list one short of 75; another group's; garbage; "
            "supplements with a short entry, without G, with a flipped signature; keys unchanged afterwards")
    setup(v, adm, g, [adm, m0])
    v.admin("oth", adm, other)
    v.do("member_set", "oth", member={"session_id": m0.sid})
    v.do("rekey", "oth", save="ko")
    kst = v.do("rekey", "adm", save="k1")
    r = v.results()
    k1 = r[kst]["key_message"]
    v.member("m", m0, g)
    v.load("m", "kh0", "k0", T0)
    raw = bytes.fromhex(k1)
    d, _ = bt_decode(raw)
    short = [(k, (x[:-1] if k == b"k" else x)) for k, x in d]
    def edit(dd, key, val=None, drop=False):
        out = []
        for k, x in dd:
            if k == key:
                if drop:
                    continue
                x = val
            out.append((k, x))
        return bt_encode(out).hex()

    slots = dict(d)[b"k"]
    cases = [
        ("no-nonce", edit(d, b"#", drop=True)),
        ("negative-gen", edit(d, b"G", -1)),
        ("no-gen", edit(d, b"G", drop=True)),
        ("no-admin-key", edit(d, b"K", drop=True)),
        ("short-admin-key", edit(d, b"K", dict(d)[b"K"][:-1])),
        ("no-slots", edit(d, b"k", drop=True)),
        ("slot-47-bytes", edit(d, b"k", [slots[0][:-1]] + slots[1:])),
        ("no-slot", edit(d, b"k", [])),
        ("no-sig", edit(d, b"~", drop=True)),
        ("trunc", k1[:-20]),
        ("sig", flip(k1, len(raw) - 3)),
        ("nonce", flip(k1, raw.index(b"1:#24:") + 8)),
        ("slot", flip(k1, raw.index(b"1:kl48:") + 9)),
        ("short", bt_encode(short).hex()),
        ("garbage", "00" * 40),
        ("empty", ""),
    ]
    for name, data in cases:
        v.fail("load_key_message", "m", hash="bad-" + name, data=data, timestamp_ms=T0 + MIN)
    v.fail("load_key_message", "m", hash="foreign", data_ref="ko", timestamp_ms=T0 + MIN)
    # supplements: a bad entry, no G, a flipped signature
    v.do("member_set", "adm", member={"session_id": m4.sid, "supplement": True})
    sst = v.do("key_supplement", "adm", session_ids=[m4.sid, m3.sid], save="s")
    r = v.results()
    s = r[sst]["supplement_message"]
    sd, _ = bt_decode(bytes.fromhex(s))
    ents = dict(sd)[b"+"]
    v.member("n", m4, g)
    for name, data in (("supp-short-entry", edit(sd, b"+", [ents[0], ents[1][:60]])),
                       ("supp-no-gen", edit(sd, b"G", drop=True)),
                       ("supp-sig", flip(s, len(s) // 2 - 3))):
        v.fail("load_key_message", "n", hash="bad-" + name, data=data, timestamp_ms=T0 + MIN)
    v.do("keys_state", "n")
    v.load("n", "sh", "s", T0 + MIN)
    v.do("keys_state", "m")
    v.load("m", "kh1", "k1", T0 + MIN)
    v.do("keys_state", "m")
    vecs.append(v)
    return vecs


# --- members ----------------------------------------------------------------

def topic_members():
    vecs = []
    adm, m0, m1 = (User("mem-" + t) for t in ("adm", "m0", "m1"))
    g = Group("members")
    others = [User("mem-s%d" % i) for i in range(12)]
    v = Vec("groups.members_every_status",
            "members with every status combination: invite not sent/sent/failed/accepted, promotion "
            "not sent/pending/sent/failed/accepted, admin, removed (1) and removed with messages (2), "
            "supplement, names (unicode, 100+ bytes, empty), pictures (with and without key); push; a member "
            "merges and reads them all")
    setup(v, adm, g, [adm, m0])
    st = [
        {"name": "invite not sent", "invite_status": 3},
        {"name": "invite sent", "invite_status": 1},
        {"name": "invite failed", "invite_status": 2},
        {"name": "accepted", "invite_status": 0},
        {"name": "promo pending", "admin": True, "promotion_status": 3},
        {"name": "promo sent", "admin": True, "promotion_status": 1},
        {"name": "promo failed", "admin": True, "promotion_status": 2},
        {"name": "promo accepted", "admin": True, "promotion_status": 0},
        {"name": "removed", "removed_status": 1},
        {"name": "removed+msgs", "removed_status": 2},
        {"name": "supp", "supplement": True, "invite_status": 1},
        {"name": "ü" * 60, "pic_url": "http://filev2.getsession.org/file/1", "pic_key": "ab" * 32},
    ]
    v.do("member_set", "adm", members=[dict({"session_id": u.sid}, **s) for u, s in zip(others, st)])
    v.do("get", "adm", conf="members")
    v.do("push", "adm", conf="members", save="mm1", confirm="mh1")
    v.member("m0", m0, g)
    v.load("m0", "kh0", "k0", T0)
    v.merge("m0", "members", ("mh1", "mm1"))
    v.do("dump", "m0", conf="members")
    vecs.append(v)

    v = Vec("groups.members_status_changes",
            "one member through its life: invited (sent, failed, sent again), accepted, promoted (pending, "
            "sent, failed, accepted), removed, removed with messages; names/pics set and cleared; invalid "
            "statuses and ids; member_erase of a present and an absent member; each change pushed and merged "
            "by a member")
    setup(v, adm, g, [adm, m0])
    v.member("m0", m0, g)
    v.load("m0", "kh0", "k0", T0)
    x = m1.sid
    changes = [
        {"invite_status": 1},
        {"invite_status": 2},
        {"invite_status": 1, "name": "Bob"},
        {"invite_status": 0},
        {"admin": True, "promotion_status": 3},
        {"promotion_status": 1},
        {"promotion_status": 2},
        {"promotion_status": 0},
        {"pic_url": "http://x.org/p", "pic_key": "cd" * 32},
        {"pic_url": "", "pic_key": ""},
        {"name": ""},
        {"name": "n" * 101},
        {"admin": False},
        {"removed_status": 1},
        {"removed_status": 2},
        {"removed_status": 0, "supplement": True},
    ]
    for i, ch in enumerate(changes):
        v.do("member_set", "adm", member=dict({"session_id": x}, **ch))
        v.do("push", "adm", conf="members", save="p%d" % i, confirm="h%d" % i)
        v.merge("m0", "members", ("h%d" % i, "p%d" % i))
    # statuses out of range are stored as they are (no throw)
    for odd in ({"invite_status": 7}, {"promotion_status": -1}, {"removed_status": 3}):
        v.do("member_set", "adm", member=dict({"session_id": x}, **odd))
        v.do("get", "adm", conf="members")
    for bad in ({"session_id": "05" + "ab" * 31},
                {"session_id": "03" + m1.sid[2:]}, {"session_id": x, "pic_key": "ab" * 31},
                {"name": "no id"}):
        v.fail("member_set", "adm", member=bad)
    v.do("get", "adm", conf="members")
    v.do("member_erase", "adm", session_id=x)
    v.do("member_erase", "adm", session_id=x)
    v.fail("member_erase", "adm", session_id="05")
    v.do("push", "adm", conf="members", save="pe", confirm="he")
    v.merge("m0", "members", ("he", "pe"))
    v.do("get", "m0", conf="members")
    vecs.append(v)

    v = Vec("groups.members_full_profiles_size",
            "members with full profiles (unicode name, picture URL and key): 700 push (compressed) and a member "
            "merges them; 1,500 exceed what libsession 1.2.0 pushes (\"Config data is too large\", no "
            "multipart) and the object is left as it was; without profiles 1,000 push (groups.rekey_1000_members)")
    setup(v, adm, g, [adm, m0])
    v.member("m0", m0, g)
    v.load("m0", "kh0", "k0", T0)

    def profiles(lo, hi):
        return [{"session_id": filler("prof%d" % i), "name": "Member number %d ✓" % i,
                 "pic_url": "http://filev2.getsession.org/file/%d" % (10 ** 9 + i),
                 "pic_key": sha("sotto-groups:pic:%d" % i)} for i in range(lo, hi)]

    v.do("member_set", "adm", members=profiles(0, 700))
    v.do("push", "adm", conf="members", save="mm1", confirm="mh1")
    v.merge("m0", "members", ("mh1", "mm1"))
    v.do("member_set", "adm", members=profiles(700, 1500))
    v.fail("push", "adm", conf="members")
    v.do("member_erase", "adm", session_id=filler("prof1499"))
    v.fail("push", "adm", conf="members")
    v.do("current_hashes", "adm", conf="members")
    vecs.append(v)

    v = Vec("groups.members_member_cannot_write",
            "a member (no group key) cannot change the members config (read-only); its push gives back the "
            "admin's message it merged; the admin's next message still merges")
    setup(v, adm, g, [adm, m0])
    v.member("m0", m0, g)
    v.load("m0", "kh0", "k0", T0)
    v.do("push", "adm", conf="members", save="mm1", confirm="mh1")
    v.merge("m0", "members", ("mh1", "mm1"))
    v.fail("member_set", "m0", member={"session_id": m1.sid, "name": "sneaky"})
    v.do("get", "m0", conf="members")
    v.do("push", "m0", conf="members")  # no throw: the admin's message, as merged
    v.do("member_set", "adm", member={"session_id": m1.sid, "name": "real"})
    v.do("push", "adm", conf="members", save="mm2", confirm="mh2")
    v.merge("m0", "members", ("mh2", "mm2"))
    v.do("get", "m0", conf="members")
    vecs.append(v)
    return vecs


# --- info -------------------------------------------------------------------

def topic_info():
    vecs = []
    adm, adm2, m0 = (User("info-" + t) for t in ("adm", "adm2", "m0"))
    g = Group("info")
    v = Vec("groups.info_every_field",
            "every info field set, pushed and merged by a member: name, description, picture, expiry timer, "
            "created, delete_before, delete_attach_before; then cleared; then destroyed (destroy is final)")
    setup(v, adm, g, [adm, m0])
    v.member("m0", m0, g)
    v.load("m0", "kh0", "k0", T0)
    v.do("info_set", "adm", name="Name ✨", description="Desc\nline 2", pic_url="http://filev2.getsession.org/file/9",
         pic_key="ef" * 32, expiry_timer=86400, created=1700000001, delete_before=1700000100,
         delete_attach_before=1700000200)
    v.do("push", "adm", conf="info", save="i1", confirm="ih1")
    v.merge("m0", "info", ("ih1", "i1"))
    v.do("info_set", "adm", expiry_timer=0, delete_before=0, delete_attach_before=0, pic_url="", pic_key="")
    v.do("push", "adm", conf="info", save="i2", confirm="ih2")
    v.merge("m0", "info", ("ih2", "i2"))
    v.do("info_set", "adm", expiry_timer=-5, created=0, name="", description="")
    v.do("push", "adm", conf="info", save="i3", confirm="ih3")
    v.merge("m0", "info", ("ih3", "i3"))
    v.do("info_set", "adm", pic_url="http://x.org/nokey")
    v.fail("info_set", "adm", pic_url="http://x.org/p", pic_key="ef" * 31)
    v.do("info_set", "adm", destroy=True)
    v.do("push", "adm", conf="info", save="i4", confirm="ih4")
    v.merge("m0", "info", ("ih4", "i4"))
    v.do("info_set", "adm", name="after destroy", destroy=False)
    v.do("get", "adm", conf="info")
    v.do("dump", "adm", conf="info")
    v.do("dump", "m0", conf="info")
    vecs.append(v)

    v = Vec("groups.info_name_description_limits",
            "name limit 100 bytes and description 2000 bytes counted in UTF-8 bytes: exact, one over (throws), "
            "truncated setters cutting 2-, 3- and 4-byte characters without splitting them")
    setup(v, adm, g, [adm])
    for nm in ("a" * 100, "é" * 50, "€" * 33 + "a", "😀" * 25):
        v.do("info_set", "adm", name=nm)
    for nm in ("a" * 101, "é" * 50 + "a", "😀" * 25 + "a"):
        v.fail("info_set", "adm", name=nm)
    for nm in ("a" * 99 + "é", "a" * 98 + "€", "a" * 97 + "😀", "a" * 99 + "😀", "€" * 40, "x" * 300, ""):
        v.do("info_set", "adm", name_truncated=nm)
    for d in ("d" * 2000, "é" * 1000, "😀" * 500):
        v.do("info_set", "adm", description=d)
    for d in ("d" * 2001, "é" * 1000 + "x"):
        v.fail("info_set", "adm", description=d)
    for d in ("d" * 1999 + "é", "d" * 1998 + "😀", "€" * 700, "d" * 5000):
        v.do("info_set", "adm", description_truncated=d)
    v.do("info_set", "adm", name_hex="ff41c3", description_hex="c3")
    v.do("push", "adm", conf="info")
    v.do("dump", "adm", conf="info")
    vecs.append(v)

    v = Vec("groups.info_two_admins_conflict",
            "two admins (same group key, different users) change info concurrently at the same seqno; each "
            "merges the other's push and they converge; a member that cannot sign receives both in either "
            "order and keeps the winning one; a third push after the merge")
    setup(v, adm, g, [adm, adm2, m0])
    v.admin("b", adm2, g)
    v.load("b", "kh0", "k0", T0)
    v.do("info_set", "adm", description="base")
    v.do("push", "adm", conf="info", save="i1", confirm="ih1")
    v.merge("b", "info", ("ih1", "i1"))
    v.do("info_set", "adm", name="from A", expiry_timer=60)
    v.do("info_set", "b", name="from B", delete_before=1700000300)
    v.do("push", "adm", conf="info", save="ia", confirm="iha")
    v.do("push", "b", conf="info", save="ib", confirm="ihb")
    v.merge("adm", "info", ("ihb", "ib"))
    v.merge("b", "info", ("iha", "ia"))
    v.do("push", "adm", conf="info", save="ma", confirm="mha")
    v.do("push", "b", conf="info", save="mb", confirm="mhb")
    v.merge("b", "info", ("mha", "ma"))
    v.do("get", "b", conf="info")
    for name, order in (("x", ("a", "b")), ("y", ("b", "a"))):
        v.member(name, m0, g)
        v.load(name, "kh0", "k0", T0)
        v.merge(name, "info", ("ih1", "i1"))
        for o in order:
            v.merge(name, "info", ("ih" + o, "i" + o))
        v.do("get", name, conf="info")
    v.merge("x", "info", ("mha", "ma"), ("mhb", "mb"))
    v.do("dump", "x", conf="info")
    # the same conflict on the members config
    v.do("member_set", "adm", member={"session_id": m0.sid, "name": "A's name"})
    v.do("member_set", "b", member={"session_id": m0.sid, "invite_status": 2})
    v.do("push", "adm", conf="members", save="pa", confirm="pha")
    v.do("push", "b", conf="members", save="pb", confirm="phb")
    v.merge("adm", "members", ("phb", "pb"))
    v.merge("b", "members", ("pha", "pa"))
    v.do("get", "adm", conf="members")
    v.do("get", "b", conf="members")
    v.merge("y", "members", ("pha", "pa"), ("phb", "pb"))
    v.do("get", "y", conf="members")
    vecs.append(v)

    v = Vec("groups.config_steps",
            "the generic config steps on a group's info and members: push with save_inner, confirm_pushed "
            "(wrong seqno, then right), current_hashes, explain by the admin and by a member (also of a push "
            "under an older key after a rekey), dump of a dirty and a clean config, needs_push in get")
    setup(v, adm, g, [adm, m0])
    v.member("m0", m0, g)
    v.load("m0", "kh0", "k0", T0)
    for conf in ("info", "members"):
        v.do("current_hashes", "adm", conf=conf)
        v.do("get", "adm", conf=conf)
        v.do("push", "adm", conf=conf, save="p" + conf, save_inner="pi" + conf)
        v.do("dump", "adm", conf=conf)
        v.do("confirm_pushed", "adm", conf=conf, seqno=5, hash="wrong")
        v.do("confirm_pushed", "adm", conf=conf, seqno=1, hash="h" + conf)
        v.do("current_hashes", "adm", conf=conf)
        v.do("dump", "adm", conf=conf)
        v.do("get", "adm", conf=conf)
        v.do("explain", "adm", conf=conf, data_ref="p" + conf)
        v.do("explain", "m0", conf=conf, data_ref="p" + conf)
        v.do("explain", "m0", conf=conf, data_ref="pi" + conf)
        v.merge("m0", conf, ("h" + conf, "p" + conf))
        v.do("current_hashes", "m0", conf=conf)
    v.do("rekey", "adm", save="k1")
    v.do("get", "adm", conf="info")
    v.do("push", "adm", conf="info", save="pinfo2", confirm="hinfo2")
    v.load("adm", "kh1", "k1", T0 + MIN)
    v.do("explain", "adm", conf="info", data_ref="pinfo")
    v.do("explain", "m0", conf="info", data_ref="pinfo2")  # no key yet: layers has only an error
    v.load("m0", "kh1", "k1", T0 + MIN)
    v.do("explain", "m0", conf="info", data_ref="pinfo2")
    v.merge("m0", "info", ("hinfo2", "pinfo2"))
    v.do("current_hashes", "m0", conf="info")
    vecs.append(v)

    other = Group("info-other")
    v = Vec("groups.info_foreign_and_unreadable",
            "info and members pushes of another group (another key and signer) are not accepted; a push made "
            "before the member held the key is accepted once the key message is loaded; garbage merges")
    setup(v, adm, g, [adm, m0])
    v.admin("o", adm, other)
    v.do("member_set", "o", member={"session_id": m0.sid})
    v.do("rekey", "o", save="ko")
    v.load("o", "kho", "ko", T0)
    v.do("info_set", "o", name="other group")
    v.do("push", "o", conf="info", save="oi", confirm="ohi")
    v.do("push", "o", conf="members", save="om", confirm="ohm")
    v.do("push", "adm", conf="info", save="i1", confirm="ih1")
    v.member("m0", m0, g)
    v.merge("m0", "info", ("ih1", "i1"), may_fail=True)
    v.load("m0", "kh0", "k0", T0)
    v.merge("m0", "info", ("ih1", "i1"))
    v.merge("m0", "info", ("ohi", "oi"))
    v.merge("m0", "members", ("ohm", "om"), may_fail=True)  # seqno 0: throws
    v.do("merge", "m0", conf="info", messages=[{"hash": "junk", "data": "00" * 64}])
    v.do("get", "m0", conf="info")
    vecs.append(v)
    return vecs


# --- messages ---------------------------------------------------------------

def topic_messages():
    vecs = []
    adm, m0, m1 = (User("msg-" + t) for t in ("adm", "m0", "m1"))
    g = Group("messages")
    other = Group("messages-other")

    def base(v):
        setup(v, adm, g, [adm, m0, m1])
        v.member("m0", m0, g)
        v.load("m0", "kh0", "k0", T0)
        v.member("m1", m1, g)
        v.load("m1", "kh0", "k0", T0)

    v = Vec("groups.messages_forms",
            "encrypt_message with compression on/off, padding 0/1/256/other, empty, unicode, a large "
            "compressible and a large incompressible text; each decrypted by another member and the admin",
            rng=True)
    base(v)
    incompressible = hashlib.sha256(b"x").hexdigest()
    blob = "".join(hashlib.sha256(("blob%d" % i).encode()).hexdigest() for i in range(200))  # 6400 bytes
    cases = [
        dict(plaintext=""),
        dict(plaintext="", padding=1),
        dict(plaintext_text="hi"),
        dict(plaintext_text="hi", compress=False),
        dict(plaintext_text="héllo wörld ✓ 👋 日本語"),
        dict(plaintext_text="pad one", padding=1),
        dict(plaintext_text="pad zero", padding=0),
        dict(plaintext_text="pad 100", padding=100),
        dict(plaintext_text="pad 1000", padding=1000),
        dict(plaintext_text="pad 7", padding=7),
        dict(plaintext_text="ab" * 3000),
        dict(plaintext_text="ab" * 3000, compress=False),
        dict(plaintext=blob),
        dict(plaintext=blob, compress=False, padding=1),
        dict(plaintext=incompressible * 10, compress=True, padding=0),
        dict(plaintext="00" * 300),
    ]
    for i, c in enumerate(cases):
        sender = ("m0", "adm", "m1")[i % 3]
        v.do("encrypt_message", sender, save="e%d" % i, **c)
        empty = c.get("plaintext", None) == ""  # libsession refuses an empty "d" when decrypting
        for rcv in ("m0", "adm", "m1"):
            if rcv != sender:
                v.do("decrypt_message", rcv, data_ref="e%d" % i, **({"may_fail": True} if empty else {}))
                break
    v.fail("decrypt_message", "m1", data_ref="e0")
    vecs.append(v)

    v = Vec("groups.messages_big",
            "a 100 kB compressible message and a 60 kB incompressible one; decrypted by a member", rng=True)
    base(v)
    v.do("encrypt_message", "m0", plaintext_text="Session " * 12500, save="big1")
    v.do("decrypt_message", "m1", data_ref="big1")
    big = "".join(hashlib.sha256(("big%d" % i).encode()).hexdigest() for i in range(1875))
    v.do("encrypt_message", "adm", plaintext=big, save="big2")
    v.do("decrypt_message", "m0", data_ref="big2")
    vecs.append(v)

    v = Vec("groups.messages_refused",
            "messages that must not decrypt: a bit flipped in the nonce, the ciphertext body and the tag; "
            "truncated; too short; a message of another group; a message after a rekey that removed the "
            "reader; re-sealed (valid tag) with version 0 and 2, without signature, with a bad signature, with "
            "a sender that did not sign, with non-zero padding", rng=True)
    base(v)
    v.admin("oth", adm, other)
    v.do("member_set", "oth", member={"session_id": m0.sid})
    v.do("rekey", "oth", save="ko")
    v.load("oth", "kho", "ko", T0)
    v.do("encrypt_message", "oth", plaintext_text="foreign", save="fx")
    e = v.do("encrypt_message", "m0", plaintext_text="tamper with me", save="t")
    ez = v.do("encrypt_message", "m0", plaintext_text="zz" * 500, save="tz")
    ks = v.do("keys_state", "m0")
    r = v.results()
    ct = r[e]["ciphertext"]
    ctz = r[ez]["ciphertext"]
    key = r[ks]["keys"]["group_keys"][0]
    n = len(ct) // 2
    v.do("decrypt_message", "m1", data_ref="t")
    for name, data in (("nonce", flip(ct, 3)), ("body", flip(ct, 40)), ("tag", flip(ct, n - 2)),
                       ("trunc", ct[:-2]), ("short", ct[:60]), ("empty", ""), ("nonce-only", ct[:48])):
        v.fail("decrypt_message", "m1", data=data)
    v.fail("decrypt_message", "m1", data_ref="fx")
    v.do("decrypt_message", "oth", data_ref="fx")
    v.fail("decrypt_message", "oth", data_ref="t")

    def setk(k, val):
        return lambda d: [(a, (val if a == k else b)) for a, b in d]

    def drop(k):
        return lambda d: [(a, b) for a, b in d if a != k]

    def sflip(k):
        def f(d):
            out = []
            for a, b in d:
                if a == k:
                    bb = bytearray(b)
                    bb[0] ^= 1
                    b = bytes(bb)
                out.append((a, b))
            return out
        return f

    def sender(pk):
        return setk(b"a", bytes.fromhex(pk))

    m1pk = keypair(m1.seed)["ed25519_pk"]
    edits = [
        ("same", lambda d: d),
        ("v0", setk(b"", 0)),
        ("v2", setk(b"", 2)),
        ("nosig", drop(b"s")),
        ("badsig", sflip(b"s")),
        ("baddata", sflip(b"d")),
        ("other-sender", sender(m1pk)),
        ("nodata", drop(b"d")),
    ]
    for name, ed in edits:
        data = reseal_message(key, ct, ed)
        if name == "same":
            v.do("decrypt_message", "m1", data=data)
        else:
            v.fail("decrypt_message", "m1", data=data)
    v.fail("decrypt_message", "m1", data=reseal_message(key, ctz, sflip(b"z")))
    v.do("decrypt_message", "m1", data=reseal_message(key, ctz, lambda d: d))
    # non-zero padding byte at the end of the plaintext
    raw = bytes.fromhex(ct)
    pt = xchacha_open(bytes.fromhex(key), raw[:24], raw[24:])
    pt2 = pt[:-1] + b"\x01"
    v.fail("decrypt_message", "m1", data=(raw[:24] + xchacha_seal(bytes.fromhex(key), raw[:24], pt2)).hex())
    # removal then rekey: m1 cannot read what follows
    v.do("member_erase", "adm", session_id=m1.sid)
    v.do("rekey", "adm", save="k1")
    v.load("adm", "kh1", "k1", T0 + MIN)
    v.load("m0", "kh1", "k1", T0 + MIN)
    v.load("m1", "kh1", "k1", T0 + MIN)
    v.do("encrypt_message", "m0", plaintext_text="after removal", save="after")
    v.do("decrypt_message", "adm", data_ref="after")
    v.fail("decrypt_message", "m1", data_ref="after")
    v.do("decrypt_message", "m1", data_ref="t")
    vecs.append(v)
    return vecs


# --- subaccounts and promotion ----------------------------------------------

def topic_auth():
    vecs = []
    adm, m0, m1, m2 = (User("auth-" + t) for t in ("adm", "m0", "m1", "m2"))
    g = Group("auth")
    other = Group("auth-other")
    v = Vec("groups.subaccounts",
            "swarm_make_subaccount / token / sign / verify for flags r, rw, rwd (and d without w): the member "
            "signs storage requests; verify with the needed flags; another user, another group and tampered "
            "sign values fail; a member without the key messages verifies too")
    setup(v, adm, g, [adm, m0, m1])
    v.member("m0", m0, g)
    v.load("m0", "kh0", "k0", T0)
    v.member("m1", m1, g)
    v.load("m1", "kh0", "k0", T0)
    v.admin("oa", adm, other)
    v.member("om0", m0, other)
    flags = {"r": dict(write=False, **{"del": False}), "rw": dict(write=True, **{"del": False}),
             "rwd": dict(write=True, **{"del": True}), "rd": dict(write=False, **{"del": True})}
    for f, kw in flags.items():
        v.do("swarm_make_subaccount", "adm", session_id=m0.sid, save="sv_" + f, **kw)
        v.do("swarm_subaccount_token", "adm", session_id=m0.sid, **kw)
    v.do("swarm_make_subaccount", "adm", session_id=m0.sid, save="sv_default")
    v.do("swarm_subaccount_token", "adm", session_id=m0.sid)
    v.do("swarm_make_subaccount", "oa", session_id=m0.sid, save="sv_other")
    for f in flags:
        v.do("swarm_subaccount_sign", "m0", msg_text="retrieve111700000000000", sign_value_ref="sv_" + f)
        v.do("swarm_subaccount_sign", "m0", msg_text="store121700000000000", sign_value_ref="sv_" + f)
        v.do("swarm_subaccount_sign", "m0", msg="", sign_value_ref="sv_" + f)
        for need in (dict(write=False, **{"del": False}), dict(write=True, **{"del": False}),
                     dict(write=True, **{"del": True}), dict(write=False, **{"del": True})):
            v.do("swarm_verify_subaccount", "m0", sign_value_ref="sv_" + f, **need)
        v.do("swarm_verify_subaccount", "m1", sign_value_ref="sv_" + f)
        v.do("swarm_verify_subaccount", "om0", sign_value_ref="sv_" + f)
    v.do("swarm_verify_subaccount", "om0", sign_value_ref="sv_other")
    v.do("swarm_verify_subaccount", "m0", sign_value_ref="sv_other")
    v.do("swarm_subaccount_sign", "m1", msg_text="retrieve111700000000000", sign_value_ref="sv_rw")
    sv = v.do("swarm_make_subaccount", "adm", session_id=m0.sid, write=True, save="sv_t")
    r = v.results()
    s = r[sv]["sign_value"]
    for name, i in (("prefix", 0), ("flags", 1), ("reserved", 2), ("k", 10), ("sig", 60), ("sig-last", 99)):
        v.do("swarm_verify_subaccount", "m0", sign_value=flip(s, i), write=True)
    v.do("swarm_verify_subaccount", "m0", sign_value="0f" + s[2:], write=True)
    v.do("swarm_verify_subaccount", "m0", sign_value=s[:-2], write=True)
    v.fail("swarm_subaccount_sign", "m0", msg_text="x", sign_value=s[:-2])
    v.fail("swarm_make_subaccount", "m0", session_id=m1.sid)
    v.fail("swarm_subaccount_token", "m0", session_id=m1.sid)
    v.fail("swarm_make_subaccount", "adm", session_id="05" + "ab" * 31)
    v.fail("swarm_make_subaccount", "adm", session_id=g.id)
    v.fail("swarm_make_subaccount", "adm", session_id=filler("nobody"))  # not always a valid point
    v.do("swarm_make_subaccount", "adm", session_id=adm.sid, save="sv_self")
    v.do("swarm_subaccount_sign", "adm", msg_text="x", sign_value_ref="sv_self")
    v.do("swarm_verify_subaccount", "adm", sign_value_ref="sv_self", write=True)
    res = v.results()
    sign_values = {st["save"]: res[i]["sign_value"] for i, st in enumerate(v.steps)
                   if st["op"] == "swarm_make_subaccount" and "save" in st and res[i].get("ok")}
    # swarm_verify_subaccount_static (stateless)
    for f, kw in flags.items():
        for who in (m0, m1):
            for need in (dict(write=False, **{"del": False}), dict(write=True, **{"del": True})):
                v.after.append({"cmd": "swarm_verify_subaccount_static", "group_id": g.id, "user_seed": who.seed,
                                "sign_value": sign_values["sv_" + f], **need})
    v.after.append({"cmd": "swarm_verify_subaccount_static", "group_id": other.id, "user_seed": m0.seed,
                    "sign_value": sign_values["sv_rw"], "write": True, "del": False})
    v.after.append({"cmd": "swarm_verify_subaccount_static", "group_id": other.id, "user_seed": m0.seed,
                    "sign_value": sign_values["sv_other"], "write": True, "del": False})
    v.after.append({"cmd": "swarm_verify_subaccount_static", "group_id": g.id, "user_seed": m0.seed,
                    "sign_value": flip(sign_values["sv_rw"], 50), "write": True, "del": False})
    v.after.append({"cmd": "swarm_verify_subaccount_static", "group_id": g.pk, "user_seed": m0.seed,
                    "sign_value": sign_values["sv_rw"], "write": False, "del": False})
    v.after.append({"cmd": "swarm_verify_subaccount_static", "group_id": g.id, "user_seed": m0.seed,
                    "sign_value": sign_values["sv_rw"][:-2], "write": False, "del": False})
    v.after.append({"cmd": "swarm_verify_subaccount_static", "group_id": g.id[:-2], "user_seed": m0.seed,
                    "sign_value": sign_values["sv_rw"], "write": False, "del": False})
    vecs.append(v)

    v = Vec("groups.promotion",
            "a member is promoted: load_admin_key with a wrong seed fails, with the group seed succeeds (keys "
            "become admin); the new admin rekeys over the members, pushes info and members, makes a "
            "subaccount; the old admin and another member load and merge it")
    setup(v, adm, g, [adm, m0, m1])
    v.do("push", "adm", conf="info", save="i1", confirm="ih1")
    v.do("member_set", "adm", member={"session_id": m0.sid, "admin": True, "promotion_status": 1})
    v.do("push", "adm", conf="members", save="mm1", confirm="mh1")
    v.member("m0", m0, g)
    v.load("m0", "kh0", "k0", T0)
    v.merge("m0", "info", ("ih1", "i1"))
    v.merge("m0", "members", ("mh1", "mm1"))
    v.fail("rekey", "m0")
    v.fail("info_set", "m0", name="not yet")
    v.fail("load_admin_key", "m0", group_seed=other.seed)
    v.fail("load_admin_key", "m0", group_seed=seed("not a group"))
    v.fail("load_admin_key", "m0", group_seed="00" * 31)
    v.do("keys_state", "m0")
    v.do("load_admin_key", "m0", group_seed=g.seed)
    v.do("keys_state", "m0")
    v.do("load_admin_key", "m0", group_seed=g.seed)
    v.do("member_set", "m0", member={"session_id": m0.sid, "admin": True, "promotion_status": 0})
    v.do("member_set", "m0", member={"session_id": m2.sid, "name": "added by m0"})
    v.do("rekey", "m0", save="k1")
    v.load("m0", "kh1", "k1", T0 + MIN)
    v.do("info_set", "m0", name="renamed by m0")
    v.do("push", "m0", conf="info", save="i2", confirm="ih2")
    v.do("push", "m0", conf="members", save="mm2", confirm="mh2")
    v.do("swarm_make_subaccount", "m0", session_id=m2.sid)
    v.do("keys_dump", "m0")
    v.load("adm", "kh1", "k1", T0 + MIN)
    v.merge("adm", "info", ("ih2", "i2"))
    v.merge("adm", "members", ("mh2", "mm2"))
    v.member("m1", m1, g)
    v.load("m1", "kh0", "k0", T0)
    v.load("m1", "kh1", "k1", T0 + MIN)
    v.merge("m1", "info", ("ih2", "i2"))
    v.merge("m1", "members", ("mh2", "mm2"))
    v.member("m2", m2, g)
    v.load("m2", "kh1", "k1", T0 + MIN)
    v.merge("m2", "info", ("ih2", "i2"))
    vecs.append(v)

    v = Vec("groups.new_object_errors",
            "group objects that cannot be made or used: bad seeds and group keys, a member object asked for "
            "admin steps, a dump of the wrong kind (encrypt_message draws its nonce before it fails)", rng=True)
    v.fail("new", None, name="a", type="group", user_seed=adm.seed)
    v.fail("new", None, name="b", type="group", user_seed=adm.seed[:-2], group_seed=g.seed)
    v.fail("new", None, name="c", type="group", user_seed=adm.seed, group_seed=g.seed[:-2])
    v.fail("new", None, name="d", type="group", user_seed=adm.seed, group_pk="05" + g.pk)
    v.fail("new", None, name="e", type="group", user_seed=adm.seed, group_pk=g.pk[:-2])
    v.do("new", None, name="f", type="group", user_seed=m0.seed, group_pk=g.pk)  # 32 bytes, no 03
    v.admin("adm", adm, g)
    v.member("m", m0, g)
    v.fail("key_supplement", "m", session_ids=[m1.sid])
    v.fail("swarm_subaccount_token", "m", session_id=m1.sid)
    v.fail("encrypt_message", "m", plaintext_text="no keys yet")
    v.fail("encrypt_message", "adm", plaintext_text="no keys yet")
    v.fail("new", None, name="g", type="group", user_seed=m0.seed, group_pk=g.id, keys_dump="00")
    v.fail("new", None, name="h", type="group", user_seed=m0.seed, group_pk=g.id, info_dump="64313a2169306565")
    v.fail("bogus", "m")
    v.fail("get", "m", conf="nope")
    vecs.append(v)
    return vecs


TOPICS = {
    "rekey": topic_rekey,
    "keys": topic_keys,
    "members": topic_members,
    "info": topic_info,
    "messages": topic_messages,
    "auth": topic_auth,
}


def shrink(x):
    """Replaces large layers.body/bt by their SHA-256, as the public file does."""
    if isinstance(x, list):
        return [shrink(e) for e in x]
    if not isinstance(x, dict):
        return x
    out = {}
    for k, e in x.items():
        if k == "layers" and isinstance(e, dict):
            lay = dict(e)
            big = False
            for f in ("body", "bt"):
                if isinstance(lay.get(f), str) and len(lay[f]) // 2 > SHRINK:
                    b = bytes.fromhex(lay.pop(f))
                    lay[f + "_sha256"] = hashlib.sha256(b).hexdigest()
                    big = True
            if big and "bt_json" in lay:
                lay["bt_json"] = "(omitted: large)"
            out[k] = lay
        else:
            out[k] = shrink(e)
    return out


def check(vec, reply, notes):
    if not reply.get("ok"):
        sys.exit("%s: scenario failed at step %s: %s" % (vec.id, reply.get("failed_step"), reply.get("error")))
    if reply.get("rng_draws") and not vec.rng:
        sys.exit("%s: draws randomness without rng_seed" % vec.id)
    for i, (st, r) in enumerate(zip(vec.steps, reply["results"])):
        if st.get("may_fail") and r.get("ok"):
            notes.append("%s step %d (%s) did not fail" % (vec.id, i, st["op"]))


def main():
    global ORACLE, NOW
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--oracle", default=DEFAULT_ORACLE)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--now-ms", type=int, default=0, help="generated_at_ms (default: now)")
    ap.add_argument("topics", nargs="*", default=list(TOPICS))
    args = ap.parse_args()
    ORACLE = args.oracle
    if args.now_ms:
        NOW = args.now_ms
    version = run_oracle([{"cmd": "version"}])[0]
    version.pop("rng_draws", None)
    version.pop("ok", None)
    for t in args.topics:
        vecs = TOPICS[t]()
        ids = [v.id for v in vecs]
        if len(set(ids)) != len(ids):
            sys.exit("duplicate vector ids in " + t)
        replies = run_oracle([c for v in vecs for c in v.commands()])
        out, notes, steps = [], [], 0
        for v in vecs:
            calls = []
            for c in v.commands():
                calls.append({"command": c, "response": shrink(replies.pop(0))})
            check(v, calls[0]["response"], notes)
            steps += len(v.steps)
            out.append({"id": v.id, "category": "groups", "description": v.description, "calls": calls})
        doc = {
            "format": "libsession-vectors v1: differential vectors produced by tools/lsu-oracle "
                      "(config/lsu/testdata/groups-gen.py; spec libsession-configs.md section 2.2)",
            "libsession": version,
            "generated_at_ms": NOW,
            "conventions": {
                "bytes": "lower-case hex; *_text fields in commands are UTF-8 strings",
                "rng": "scenarios with rng_seed draw their randomness (group message nonces) from it",
                "time": "timestamp_ms values are swarm timestamps from 1700000000000; nothing reads the clock",
                "shrunk": "layers.body/bt larger than 12 kB are replaced by *_sha256 (SHA-256 of the bytes)",
                "ids": "user seeds sha256('sotto-groups:seed:'+tag), group seeds sha256('sotto-groups:group:'+tag)",
            },
            "vector_count": len(out),
            "step_count": steps,
            "vectors": out,
        }
        path = os.path.join(args.out, "groups-%s.json" % t)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print("%s: %d vectors, %d steps, %d bytes" % (os.path.relpath(path), len(out), steps, os.path.getsize(path)))
        for n in notes:
            print("  note: " + n)


if __name__ == "__main__":
    main()
