#!/usr/bin/env python3
"""Generate config/lsu/testdata/objects-<topic>.json with the reference library.

Each topic below is a list of vectors: scenario commands on the four user
config objects (user_profile, contacts, convo_info_volatile, user_groups) of
the command language in the spec's section 2.2. The script writes them to a
command file, one JSON line per call, runs the oracle (libsession-util 1.2.0
behind the same language) on it, and stores command and reply side by side in
the public vectors' format, which config/lsu/vectors_test.go replays through
Sotto.

    python3 config/lsu/internal/gen/gen.py [--oracle PATH] [--out DIR] [topic...]

Conventions:
  * seeds are sha256("sotto-objects:seed:" + tag), plain ids
    "05" + sha256("sotto-objects:id:" + tag); group ids are real Ed25519
    keys (the oracle's keypair of sha256("sotto-objects:group:" + tag)).
  * convo_info_volatile reads the wall clock: every last_read is relative to
    generated_at_ms, the time the run started, and kept at least a day away
    from the 30-day (set) and 45-day (push) boundaries, so the replay at
    generated_at_ms gives the same answer.
  * layers.body / layers.bt over 12 kB are replaced by body_sha256 /
    bt_sha256 (SHA-256 of the bytes) and bt_json by a note, as in the
    public file.
  * no command here draws randomness (rng_draws is always empty).
"""

import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "..", "testdata"))
DEFAULT_ORACLE = os.environ.get("LSU_ORACLE", "/work/shared/tools/lsu-oracle")

HOUR = 3600 * 1000
DAY = 24 * HOUR
SHRINK = 12000  # bytes; larger layers.body/bt are stored as their SHA-256

NOW = int(time.time() * 1000)  # generated_at_ms, fixed before anything runs
ORACLE = DEFAULT_ORACLE


def sha(tag):
    return hashlib.sha256(tag.encode()).hexdigest()


def seed(tag):
    return sha("sotto-objects:seed:" + tag)


def sid(tag, prefix="05"):
    return prefix + sha("sotto-objects:id:" + tag)


def key32(tag):
    return sha("sotto-objects:key:" + tag)


def run_oracle(commands):
    """Runs the oracle once over commands and returns its replies."""
    inp = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in commands)
    p = subprocess.run([ORACLE], input=inp.encode(), capture_output=True, check=False)
    if p.returncode != 0:
        sys.exit("lsu-oracle exited %d: %s" % (p.returncode, p.stderr.decode()[:2000]))
    replies = [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
    if len(replies) != len(commands):
        sys.exit("lsu-oracle answered %d of %d commands: %s"
                 % (len(replies), len(commands), p.stderr.decode()[:2000]))
    return replies


_keypairs = {}


def group_keypair(tag):
    """The oracle's keypair for a group tag: (03-id, sk64 hex, seed hex)."""
    if tag not in _keypairs:
        s = sha("sotto-objects:group:" + tag)
        r = run_oracle([{"cmd": "keypair", "seed": s}])[0]
        _keypairs[tag] = ("03" + r["ed25519_pk"], r["ed25519_sk"], s)
    return _keypairs[tag]


def gid(tag):
    return group_keypair(tag)[0]


def gsk(tag):
    return group_keypair(tag)[1]


class Vec:
    """One vector: a single scenario call built step by step."""

    def __init__(self, vid, category, description):
        self.id = vid
        self.category = category
        self.description = description
        self.steps = []
        self.before = []  # stateless calls replayed before the scenario

    def new(self, name, typ, seed_hex, **kw):
        st = {"op": "new", "name": name, "type": typ, "seed": seed_hex}
        st.update(kw)
        self.steps.append(st)
        return self

    def do(self, op, obj, **kw):
        st = {"op": op}
        if obj is not None:
            st["obj"] = obj
        st.update(kw)
        self.steps.append(st)
        return self

    def fail(self, op, obj, **kw):
        """A step expected to throw (recorded with may_fail)."""
        return self.do(op, obj, may_fail=True, **kw)

    def push(self, obj, **kw):
        return self.do("push", obj, **kw)

    def get(self, obj):
        return self.do("get", obj)

    def merge(self, obj, *msgs, **kw):
        """msgs are (hash, ref) pairs or (hash, None, hexdata)."""
        out = []
        for m in msgs:
            if len(m) == 2:
                out.append({"hash": m[0], "data_ref": m[1]})
            else:
                out.append({"hash": m[0], "data": m[2]})
        return self.do("merge", obj, messages=out, **kw)

    def command(self):
        return {"cmd": "scenario", "steps": self.steps}

    def commands(self):
        return self.before + [self.command()]


# ---------------------------------------------------------------------------
# user_profile

def up_seed():
    return seed("profile")


def topic_user_profile():
    vs = []
    S = up_seed()

    v = Vec("objects.user_profile.name_lengths", "user_profile",
            "set_name at 0, 1, 99, 100 bytes (each pushed) and 101 bytes (throws, name unchanged)")
    v.new("a", "user_profile", S)
    v.do("set_name", "a", name="")
    v.push("a")
    for n in (1, 99, 100):
        v.do("set_name", "a", name="n" * n)
        v.push("a", confirm="h%d" % n)
    v.fail("set_name", "a", name="x" * 101)
    v.fail("set_name", "a", name="é" * 51)
    v.get("a").push("a")
    v.do("set_name", "a", name="")
    v.push("a")
    vs.append(v)

    v = Vec("objects.user_profile.name_truncated_utf8", "user_profile",
            "set_name_truncated cuts to 100 bytes without splitting a UTF-8 sequence (2-, 3- and 4-byte characters across the limit)")
    v.new("a", "user_profile", S)
    for name in ("a" * 99 + "é", "a" * 98 + "€", "a" * 97 + "🎂", "a" * 99 + "🎂",
                 "a" * 96 + "🎂", "a" * 100 + "b", "é" * 60, "€" * 40, "🎂" * 30, "ab"):
        v.do("set_name_truncated", "a", name=name)
    v.push("a")
    vs.append(v)

    v = Vec("objects.user_profile.unicode_names", "user_profile",
            "unicode names: accents, CJK, emoji with ZWJ and skin tone, RTL, combining marks, an embedded NUL via name_hex")
    v.new("a", "user_profile", S)
    for name in ("Ægir 北京", "👩🏽‍💻 dev", "مرحبا", "e\u0301\u0301", "🎂🎉🎈"):
        v.do("set_name", "a", name=name)
        v.push("a")
    v.do("set_name", "a", name_hex="61006263")
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.user_profile.pic", "user_profile",
            "profile picture: url with a 32-byte key, url without a key, keys of 31/33 bytes (throw), empty url with a key, clearing")
    v.new("a", "user_profile", S)
    v.do("set_pic", "a", url="http://filev2.getsession.org/file/abc", key=key32("pic1"))
    v.push("a", confirm="p1")
    v.do("set_pic", "a", url="http://filev2.getsession.org/file/def", key="")
    v.fail("set_pic", "a", url="http://filev2.getsession.org/file/def", key=key32("x")[:62])
    v.fail("set_pic", "a", url="http://filev2.getsession.org/file/def", key=key32("x") + "00")
    v.get("a")
    v.do("set_pic", "a", url="", key=key32("pic2"))
    v.get("a").push("a")
    v.do("set_pic", "a", url="https://example.org/" + "p" * 200, key=key32("pic3"))
    v.push("a")
    vs.append(v)

    v = Vec("objects.user_profile.nts_priority", "user_profile",
            "note-to-self priority: positive, zero (omitted), -1 (hidden), large negative and positive")
    v.new("a", "user_profile", S)
    for p in (5, 0, -1, -1000, 2 ** 40, 1):
        v.do("set_nts_priority", "a", priority=p)
        v.push("a")
    vs.append(v)

    v = Vec("objects.user_profile.nts_expiry", "user_profile",
            "note-to-self disappearing timer: 1 s, 1 day, 0 (removed), negative")
    v.new("a", "user_profile", S)
    for s in (1, 86400, 0, 30, -5):
        v.do("set_nts_expiry", "a", seconds=s)
        v.push("a")
    vs.append(v)

    v = Vec("objects.user_profile.blinded_msgreqs", "user_profile",
            "blinded message requests: true, false, null (unset, omitted) and back")
    v.new("a", "user_profile", S)
    for val in (True, False, None, False, True, None):
        v.do("set_blinded_msgreqs", "a", value=val)
        v.push("a")
    vs.append(v)

    v = Vec("objects.user_profile.every_field_and_clear", "user_profile",
            "every field set in one seqno, then each cleared in its own push (diff of one removal each)")
    v.new("a", "user_profile", S)
    v.get("a")
    v.do("set_name", "a", name="Everything ✓")
    v.do("set_pic", "a", url="http://filev2.getsession.org/file/999", key=key32("every"))
    v.do("set_nts_priority", "a", priority=3)
    v.do("set_nts_expiry", "a", seconds=600)
    v.do("set_blinded_msgreqs", "a", value=True)
    v.push("a", confirm="h1")
    v.do("set_pic", "a", url="", key="")
    v.push("a", confirm="h2")
    v.do("set_nts_priority", "a", priority=0)
    v.push("a", confirm="h3")
    v.do("set_nts_expiry", "a", seconds=0)
    v.push("a", confirm="h4")
    v.do("set_blinded_msgreqs", "a", value=None)
    v.push("a", confirm="h5")
    v.do("set_name", "a", name="")
    v.push("a", confirm="h6")
    v.do("current_hashes", "a").do("dump", "a")
    vs.append(v)

    v = Vec("objects.user_profile.set_same_value", "user_profile",
            "setting a field to its current value does not dirty a clean object; a different value does")
    v.new("a", "user_profile", S)
    v.do("set_name", "a", name="Same")
    v.push("a", confirm="h1")
    v.do("set_name", "a", name="Same")
    v.get("a").push("a")
    v.do("set_nts_priority", "a", priority=0)
    v.get("a")
    v.do("set_name", "a", name="Other")
    v.get("a").push("a")
    vs.append(v)
    return vs


# ---------------------------------------------------------------------------
# contacts

def topic_contacts():
    vs = []
    S = seed("contacts")

    v = Vec("objects.contacts.name_lengths", "contacts",
            "contact names and nicknames at 0, 1, 99, 100 and 101 bytes; over 100 they are cut, at a UTF-8 boundary")
    v.new("a", "contacts", S)
    cs = []
    for i, n in enumerate((0, 1, 99, 100, 101, 150)):
        cs.append({"session_id": sid("len%d" % i), "name": "n" * n, "nickname": "k" * n})
    cs.append({"session_id": sid("utf2"), "name": "a" * 99 + "é", "nickname": "b" * 99 + "ß"})
    cs.append({"session_id": sid("utf3"), "name": "a" * 98 + "€", "nickname": "b" * 99 + "€"})
    cs.append({"session_id": sid("utf4"), "name": "a" * 97 + "🎂", "nickname": "b" * 98 + "🎂"})
    cs.append({"session_id": sid("utf4b"), "name": "🎂" * 26, "nickname": "北" * 34})
    v.do("set_contacts", "a", contacts=cs)
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.contacts.unicode", "contacts",
            "unicode and emoji names and nicknames")
    v.new("a", "contacts", S)
    v.do("set_contacts", "a", contacts=[
        {"session_id": sid("u1"), "name": "Ægir 北京", "nickname": "🐝 Bee"},
        {"session_id": sid("u2"), "name": "👩🏽‍💻", "nickname": "مرحبا"},
        {"session_id": sid("u3"), "name": "e\u0301", "nickname": ""},
    ])
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.contacts.priorities", "contacts",
            "priorities: negative (hidden), zero (omitted), positive; changed in place")
    v.new("a", "contacts", S)
    v.do("set_contacts", "a", contacts=[
        {"session_id": sid("p%d" % i), "name": "P%d" % i, "priority": p}
        for i, p in enumerate((-1, -100, 0, 1, 7, 2 ** 33))])
    v.push("a", confirm="h1")
    v.do("set_contact", "a", contact={"session_id": sid("p0"), "priority": 0})
    v.do("set_contact", "a", contact={"session_id": sid("p2"), "priority": 4})
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.contacts.notifications_and_mute", "contacts",
            "notification modes 0-3 (3, mentions-only, is stored as 1 for contacts) and mute_until values")
    v.new("a", "contacts", S)
    v.do("set_contacts", "a", contacts=[
        {"session_id": sid("nt%d" % m), "name": "N%d" % m, "notifications": m, "mute_until": mu}
        for m, mu in ((0, 0), (1, 1900000000), (2, 0), (3, 1700000000))])
    v.push("a", confirm="h1").get("a")
    v.do("set_contact", "a", contact={"session_id": sid("nt1"), "notifications": 0, "mute_until": 0})
    v.do("set_contact", "a", contact={"session_id": sid("nt2"), "notifications": 3, "mute_until": 2 ** 40})
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.contacts.expiry_modes", "contacts",
            "disappearing modes none / after-send / after-read, each with and without a timer (mode and timer stored both or neither)")
    v.new("a", "contacts", S)
    cs = []
    for m in (0, 1, 2):
        for t in (0, 300):
            cs.append({"session_id": sid("ex%d_%d" % (m, t)), "name": "E", "exp_mode": m, "exp_seconds": t})
    cs.append({"session_id": sid("exneg"), "name": "E", "exp_mode": 1, "exp_seconds": -10})
    v.do("set_contacts", "a", contacts=cs)
    v.push("a", confirm="h1").get("a")
    v.do("set_contact", "a", contact={"session_id": sid("ex1_300"), "exp_mode": 0})
    v.do("set_contact", "a", contact={"session_id": sid("ex2_300"), "exp_seconds": 0})
    v.do("set_contact", "a", contact={"session_id": sid("ex0_300"), "exp_mode": 2})
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.contacts.flags_and_created", "contacts",
            "approved, approved_me, blocked in every combination, created timestamps; omitted fields keep their value")
    v.new("a", "contacts", S)
    cs = []
    for i in range(8):
        cs.append({"session_id": sid("fl%d" % i), "name": "F%d" % i, "approved": bool(i & 1),
                   "approved_me": bool(i & 2), "blocked": bool(i & 4), "created": 1700000000 + i})
    v.do("set_contacts", "a", contacts=cs)
    v.push("a", confirm="h1")
    v.do("set_contact", "a", contact={"session_id": sid("fl7"), "blocked": False})
    v.do("set_contact", "a", contact={"session_id": sid("fl0"), "approved": True, "created": 0})
    v.do("set_contact", "a", contact={"session_id": sid("fl3"), "name": "renamed"})
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.contacts.pics", "contacts",
            "contact pictures: url and 32-byte key, url without key, key of the wrong length (throws), key without url, clearing")
    v.new("a", "contacts", S)
    v.do("set_contact", "a", contact={"session_id": sid("pic1"), "name": "A", "pic_url": "http://filev2.getsession.org/file/1", "pic_key": key32("c1")})
    v.do("set_contact", "a", contact={"session_id": sid("pic2"), "name": "B", "pic_url": "http://filev2.getsession.org/file/2"})
    v.fail("set_contact", "a", contact={"session_id": sid("pic3"), "name": "C", "pic_url": "http://x/3", "pic_key": key32("c3")[:62]})
    v.fail("set_contact", "a", contact={"session_id": sid("pic3"), "name": "C", "pic_url": "http://x/3", "pic_key": key32("c3") + "aa"})
    v.do("set_contact", "a", contact={"session_id": sid("pic4"), "name": "D", "pic_url": "", "pic_key": key32("c4")})
    v.push("a", confirm="h1").get("a")
    v.do("set_contact", "a", contact={"session_id": sid("pic1"), "pic_url": "", "pic_key": ""})
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.contacts.invalid_session_ids", "contacts",
            "session ids rejected by set_contact and erase_contact: empty, short, long, 03/15/25/00 prefixes, non-hex, spaces; upper-case hex is accepted as the same id")
    v.new("a", "contacts", S)
    good = sid("valid")
    bad = ["", "05", good[:-2], good + "00", good[:-1], "03" + good[2:], "15" + good[2:],
           "25" + good[2:], "00" + good[2:], "05" + "zz" + good[4:], " " + good, good + " "]
    for b in bad:
        v.fail("set_contact", "a", contact={"session_id": b, "name": "bad"})
    v.do("set_contact", "a", contact={"session_id": "05" + sid("upper")[2:].upper(), "name": "upper"})
    v.do("set_contact", "a", contact={"session_id": sid("upper"), "nickname": "lower"})
    v.fail("erase_contact", "a", session_id="03" + good[2:])
    v.do("set_contact", "a", contact={"session_id": good, "name": "good"})
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.contacts.erase", "contacts",
            "erase a pushed contact, an unpushed one, a missing one; erase everything")
    v.new("a", "contacts", S)
    v.do("set_contacts", "a", contacts=[{"session_id": sid("er%d" % i), "name": "E%d" % i} for i in range(4)])
    v.push("a", confirm="h1")
    v.do("erase_contact", "a", session_id=sid("er1"))
    v.do("set_contact", "a", contact={"session_id": sid("er9"), "name": "new"})
    v.do("erase_contact", "a", session_id=sid("er9"))
    v.do("erase_contact", "a", session_id=sid("missing"))
    v.push("a", confirm="h2").get("a")
    for i in (0, 2, 3):
        v.do("erase_contact", "a", session_id=sid("er%d" % i))
    v.push("a", confirm="h3").get("a")
    v.do("set_contact", "a", contact={"session_id": sid("er1"), "name": "back"})
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.contacts.every_field_then_defaults", "contacts",
            "a contact with every field set, then every field put back to its default (the contact stays, with an empty name)")
    v.new("a", "contacts", S)
    full = {"session_id": sid("full"), "name": "Full", "nickname": "F", "pic_url": "http://x/f",
            "pic_key": key32("full"), "approved": True, "approved_me": True, "blocked": True,
            "priority": 2, "notifications": 2, "mute_until": 1900000000, "exp_mode": 2,
            "exp_seconds": 86400, "created": 1700000001}
    v.do("set_contact", "a", contact=full)
    v.push("a", confirm="h1")
    v.do("set_contact", "a", contact={"session_id": sid("full"), "name": "", "nickname": "", "pic_url": "",
                                       "pic_key": "", "approved": False, "approved_me": False, "blocked": False,
                                       "priority": 0, "notifications": 0, "mute_until": 0, "exp_mode": 0,
                                       "exp_seconds": 0, "created": 0})
    v.push("a").get("a")
    vs.append(v)
    return vs


# ---------------------------------------------------------------------------
# convo_info_volatile

COMMUNITY_PK = key32("community-server")


def b64(hexstr, pad=True):
    out = base64.b64encode(bytes.fromhex(hexstr)).decode()
    return out if pad else out.rstrip("=")


def b32z(hexstr):
    """z-base-32 of the bytes, as oxenc encodes it (most significant bits first)."""
    alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"
    n = int(hexstr, 16)
    bits = len(hexstr) * 4
    pad = (-bits) % 5
    n <<= pad
    return "".join(alphabet[(n >> (5 * i)) & 31] for i in reversed(range((bits + pad) // 5)))


def topic_convo():
    vs = []
    S = seed("convo")

    v = Vec("objects.convo.one_to_one", "convo_info_volatile",
            "1:1 entries read an hour, a day and 10 days ago, read and unread; last_read raised and lowered (lower is written unconditionally)")
    v.new("a", "convo_info_volatile", S)
    v.do("set_convos", "a", convos=[
        {"kind": "1to1", "session_id": sid("c1"), "last_read": NOW - HOUR},
        {"kind": "1to1", "session_id": sid("c2"), "last_read": NOW - DAY, "unread": True},
        {"kind": "1to1", "session_id": sid("c3"), "last_read": NOW - 10 * DAY, "unread": False},
    ])
    v.push("a", confirm="h1").get("a")
    v.do("set_convo", "a", convo={"kind": "1to1", "session_id": sid("c1"), "last_read": NOW - 2 * HOUR})
    v.do("set_convo", "a", convo={"kind": "1to1", "session_id": sid("c3"), "last_read": NOW - 5 * DAY})
    v.do("set_convo", "a", convo={"kind": "1to1", "session_id": sid("c2"), "last_read": NOW - DAY, "unread": False})
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.convo.set_cutoff_30d", "convo_info_volatile",
            "set() stores last_read only within 30 days of now (28 d stored, 32 d not; unread kept as u alone)")
    v.new("a", "convo_info_volatile", S)
    v.do("set_convos", "a", convos=[
        {"kind": "1to1", "session_id": sid("d28"), "last_read": NOW - 28 * DAY},
        {"kind": "1to1", "session_id": sid("d32"), "last_read": NOW - 32 * DAY},
        {"kind": "1to1", "session_id": sid("d32u"), "last_read": NOW - 32 * DAY, "unread": True},
        {"kind": "group", "id": gid("g1"), "last_read": NOW - 31 * DAY},
        {"kind": "legacy_group", "id": sid("lg1"), "last_read": NOW - 29 * DAY},
        {"kind": "community", "base_url": "https://example.org", "room": "old", "pubkey": COMMUNITY_PK,
         "last_read": NOW - 33 * DAY, "unread": True},
        {"kind": "1to1", "session_id": sid("zero"), "last_read": 0},
        {"kind": "1to1", "session_id": sid("future"), "last_read": NOW + 2 * DAY},
    ])
    v.push("a").get("a")
    vs.append(v)

    # A dump carrying entries read 43 and 47 days ago (they can only come from an
    # old state): push() prunes those past 45 days unless they are unread.
    def ent(ms, unread=False):
        d = "d1:ri%de" % ms
        if unread:
            d += "1:ui1e"
        return d + "e"
    ids = sorted([(bytes.fromhex(sid("o43")), ent(NOW - 43 * DAY)),
                  (bytes.fromhex(sid("o47")), ent(NOW - 47 * DAY)),
                  (bytes.fromhex(sid("o47u")), ent(NOW - 47 * DAY, True)),
                  (bytes.fromhex(sid("o2")), ent(NOW - 2 * DAY))])
    inner = b"".join(b"33:" + k + e.encode() for k, e in ids)
    msg = b"d1:#i3e1:&d1:1d" + inner + b"ee1:<le1:=dee"
    dump = b"d1:!i0e1:$" + str(len(msg)).encode() + b":" + msg + b"1:(0:1:)le1:+dee"
    v = Vec("objects.convo.push_prune_45d", "convo_info_volatile",
            "a clean dump (seqno 3) with entries read 2, 43 and 47 days ago (one unread): push() drops the 47-day read entry only, and must be pushed")
    v.new("a", "convo_info_volatile", S, dump=dump.hex())
    v.get("a").push("a").get("a").do("dump", "a")
    vs.append(v)

    v = Vec("objects.convo.groups_and_legacy", "convo_info_volatile",
            "03 groups and legacy groups, read and unread, updated and erased")
    v.new("a", "convo_info_volatile", S)
    v.do("set_convos", "a", convos=[
        {"kind": "group", "id": gid("g1"), "last_read": NOW - 3 * HOUR, "unread": True},
        {"kind": "group", "id": gid("g2"), "last_read": NOW - 3 * DAY},
        {"kind": "legacy_group", "id": sid("lg1"), "last_read": NOW - 4 * DAY},
        {"kind": "legacy_group", "id": sid("lg2"), "last_read": NOW - 5 * DAY, "unread": True},
    ])
    v.push("a", confirm="h1").get("a")
    v.do("erase_convo", "a", convo={"kind": "group", "id": gid("g2")})
    v.do("erase_convo", "a", convo={"kind": "legacy_group", "id": sid("lg2")})
    v.do("erase_convo", "a", convo={"kind": "legacy_group", "id": sid("none")})
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.convo.communities", "convo_info_volatile",
            "community URLs canonicalised (scheme and host case, default ports, trailing slash), rooms keyed lower-case, pubkey as hex (both cases), base64 (padded or not) and base32z, a truncated base32z (throws)")
    v.new("a", "convo_info_volatile", S)
    urls = ["HTTPS://Example.ORG:443/", "http://example.org:80", "http://example.org:8080/",
            "https://example.org:8443", "http://Open.GetSession.org", "https://sub.example.net/"]
    rooms = ["SudokuSolvers", "lowercase", "MiXeD-Room_1", "a", "UPPER", "x" * 64]
    cs = []
    for i, (u, r) in enumerate(zip(urls, rooms)):
        cs.append({"kind": "community", "base_url": u, "room": r, "pubkey": COMMUNITY_PK,
                   "last_read": NOW - (i + 1) * HOUR, "unread": i % 2 == 1})
    v.do("set_convos", "a", convos=cs)
    v.push("a", confirm="h1").get("a")
    v.do("set_convo", "a", convo={"kind": "community", "base_url": "https://example.org", "room": "sudokusolvers",
                                  "pubkey": COMMUNITY_PK, "last_read": NOW - 30 * 60 * 1000})
    v.do("set_convo", "a", convo={"kind": "community", "base_url": "https://example.org", "room": "SUDOKUSOLVERS",
                                  "pubkey": COMMUNITY_PK, "last_read": NOW - 20 * 60 * 1000, "unread": True})
    v.do("erase_convo", "a", convo={"kind": "community", "base_url": "HTTP://EXAMPLE.ORG:80/", "room": "LowerCase"})
    v.push("a").get("a")
    pk2 = key32("community-server-2")
    for i, form in enumerate((pk2.upper(), b64(pk2), b64(pk2, pad=False), b32z(pk2))):
        v.do("set_convo", "a", convo={"kind": "community", "base_url": "https://forms%d.example.org" % i,
                                      "room": "Forms", "pubkey": form, "last_read": NOW - 4 * HOUR})
    v.fail("set_convo", "a", convo={"kind": "community", "base_url": "https://forms.example.org", "room": "Forms",
                                    "pubkey": b32z(pk2)[:-1], "last_read": NOW - 4 * HOUR})
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.convo.invalid", "convo_info_volatile",
            "ids with the wrong prefix or length per kind, bad community URLs, rooms, pubkeys (all throw)")
    v.new("a", "convo_info_volatile", S)
    good = sid("valid")
    for c in ({"kind": "1to1", "session_id": "03" + good[2:]},
              {"kind": "1to1", "session_id": good[:-2]},
              {"kind": "1to1", "session_id": ""},
              {"kind": "group", "id": good},
              {"kind": "group", "id": gid("g1")[:-2]},
              {"kind": "legacy_group", "id": gid("g1")},
              {"kind": "community", "base_url": "example.org", "room": "r", "pubkey": COMMUNITY_PK},
              {"kind": "community", "base_url": "ftp://example.org", "room": "r", "pubkey": COMMUNITY_PK},
              {"kind": "community", "base_url": "https://example.org", "room": "bad room", "pubkey": COMMUNITY_PK},
              {"kind": "community", "base_url": "https://example.org", "room": "x" * 65, "pubkey": COMMUNITY_PK},
              {"kind": "community", "base_url": "https://example.org", "room": "r", "pubkey": "aa"}):
        c = dict(c)
        c["last_read"] = NOW - HOUR
        v.fail("set_convo", "a", convo=c)
    v.get("a")
    vs.append(v)
    return vs


# ---------------------------------------------------------------------------
# user_groups

def topic_user_groups():
    vs = []
    S = seed("groups")

    v = Vec("objects.user_groups.groups", "user_groups",
            "03 groups: admin (K = seed), invited with auth data (K empty, s), a secret key of another group (K empty), both, kicked and destroyed, every common field")
    v.new("a", "user_groups", S)
    v.do("set_groups", "a", groups=[
        {"kind": "group", "id": gid("admin"), "secretkey": gsk("admin"), "name": "Admin", "priority": 1,
         "joined_at": 1700000000, "notifications": 3, "mute_until": 1900000000},
        {"kind": "group", "id": gid("member"), "auth_data": "ab" * 100, "name": "Member", "invited": True,
         "notifications": 1},
        {"kind": "group", "id": gid("wrongsk"), "secretkey": gsk("admin"), "name": "Wrong key", "notifications": 2},
        {"kind": "group", "id": gid("both"), "secretkey": gsk("both"), "auth_data": "cd" * 100, "name": "Both",
         "priority": -1},
        {"kind": "group", "id": gid("kicked"), "name": "Kicked", "removed_status": 1},
        {"kind": "group", "id": gid("destroyed"), "name": "Destroyed", "removed_status": 2, "invited": True},
        {"kind": "group", "id": gid("bare")},
    ])
    v.push("a", confirm="h1").get("a")
    v.do("set_group", "a", group={"kind": "group", "id": gid("member"), "invited": False, "secretkey": gsk("member")})
    v.do("set_group", "a", group={"kind": "group", "id": gid("kicked"), "removed_status": 0})
    v.do("set_group", "a", group={"kind": "group", "id": gid("admin"), "priority": 0, "notifications": 0, "mute_until": 0})
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.user_groups.group_limits", "user_groups",
            "group names at 0, 100, 101 bytes (raw byte cut) and cut inside a UTF-8 character; secret key and auth data of the wrong length (accepted by set, dropped from the data); bad ids (throw)")
    v.new("a", "user_groups", S)
    v.do("set_groups", "a", groups=[
        {"kind": "group", "id": gid("n0"), "name": ""},
        {"kind": "group", "id": gid("n100"), "name": "n" * 100},
        {"kind": "group", "id": gid("n101"), "name": "n" * 101},
        {"kind": "group", "id": gid("nutf"), "name": "a" * 99 + "é"},
        {"kind": "group", "id": gid("nemoji"), "name": "a" * 98 + "🎂"},
    ])
    v.do("set_group", "a", group={"kind": "group", "id": gid("sk"), "secretkey": gsk("sk")[:126]})
    v.do("set_group", "a", group={"kind": "group", "id": gid("auth"), "auth_data": "ab" * 99})
    v.fail("set_group", "a", group={"kind": "group", "id": sid("x")})
    v.fail("set_group", "a", group={"kind": "group", "id": gid("x")[:-2]})
    v.fail("set_group", "a", group={"kind": "legacy_group", "session_id": gid("x"), "name": "L"})
    v.push("a").get("a")
    vs.append(v)

    me = sid("me")
    v = Vec("objects.user_groups.legacy", "user_groups",
            "legacy groups: members and admins, enc keypair, disappearing timer, name limits; members changed; erased")
    v.new("a", "user_groups", S)
    v.do("set_groups", "a", groups=[
        {"kind": "legacy_group", "session_id": sid("lg1"), "name": "Old group", "enc_pubkey": key32("lg1p"),
         "enc_seckey": key32("lg1s"), "disappearing_timer": 3600, "priority": 2, "joined_at": 1600000000,
         "notifications": 2, "mute_until": 1800000000,
         "members": {me: True, sid("m1"): False, sid("m2"): False, sid("m3"): True}},
        {"kind": "legacy_group", "session_id": sid("lg2"), "name": "", "members": {}},
        {"kind": "legacy_group", "session_id": sid("lg3"), "name": "L" * 101, "disappearing_timer": 0,
         "members": {me: False}},
        {"kind": "legacy_group", "session_id": sid("lg4"), "name": "Mentions", "notifications": 3, "priority": -1,
         "members": {sid("m1"): True}},
    ])
    v.push("a", confirm="h1").get("a")
    v.do("set_group", "a", group={"kind": "legacy_group", "session_id": sid("lg1"),
                                  "members": {me: True, sid("m2"): True, sid("m4"): False},
                                  "disappearing_timer": 0})
    v.do("erase_group", "a", group={"kind": "legacy_group", "session_id": sid("lg2")})
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.user_groups.communities", "user_groups",
            "communities: URL canonicalisation, room typed with capitals kept in n and keyed lower-case, set again with other capitals, pubkey forms, erase")
    v.new("a", "user_groups", S)
    v.do("set_groups", "a", groups=[
        {"kind": "community", "base_url": "HTTPS://Example.ORG:443/", "room": "SudokuSolvers",
         "pubkey": COMMUNITY_PK, "priority": 2, "joined_at": 1700000000, "notifications": 3},
        {"kind": "community", "base_url": "http://example.org:8080", "room": "lobby", "pubkey": COMMUNITY_PK},
        {"kind": "community", "base_url": "http://Open.GetSession.org/", "room": "Session", "pubkey": COMMUNITY_PK,
         "mute_until": 1900000000, "priority": -1},
    ])
    v.push("a", confirm="h1").get("a")
    v.do("set_group", "a", group={"kind": "community", "base_url": "https://example.org", "room": "SUDOKUsolvers",
                                  "pubkey": COMMUNITY_PK, "priority": 5})
    v.do("erase_group", "a", group={"kind": "community", "base_url": "HTTP://EXAMPLE.ORG:8080/", "room": "LOBBY",
                                    "pubkey": COMMUNITY_PK})
    v.fail("set_group", "a", group={"kind": "community", "base_url": "example.org", "room": "r", "pubkey": COMMUNITY_PK})
    v.fail("set_group", "a", group={"kind": "community", "base_url": "https://example.org", "room": "r!",
                                    "pubkey": COMMUNITY_PK})
    v.fail("set_group", "a", group={"kind": "community", "base_url": "https://example.org", "room": "r",
                                    "pubkey": COMMUNITY_PK[:60]})
    v.push("a").get("a")
    pk2 = key32("community-server-2")
    for i, form in enumerate((b64(pk2), b32z(pk2), pk2.upper())):
        v.do("set_group", "a", group={"kind": "community", "base_url": "https://forms%d.example.org" % i,
                                      "room": "Forms%d" % i, "pubkey": form})
    v.push("a").get("a")
    vs.append(v)

    v = Vec("objects.user_groups.erase_all_kinds", "user_groups",
            "erase a group, a legacy group and a community, and missing ones")
    v.new("a", "user_groups", S)
    v.do("set_groups", "a", groups=[
        {"kind": "group", "id": gid("e1"), "name": "G"},
        {"kind": "legacy_group", "session_id": sid("e2"), "name": "L", "members": {sid("m1"): True}},
        {"kind": "community", "base_url": "https://example.org", "room": "Room", "pubkey": COMMUNITY_PK},
    ])
    v.push("a", confirm="h1")
    v.do("erase_group", "a", group={"kind": "group", "id": gid("e1")})
    v.do("erase_group", "a", group={"kind": "group", "id": gid("e1")})
    v.do("erase_group", "a", group={"kind": "legacy_group", "session_id": sid("e2")})
    v.do("erase_group", "a", group={"kind": "community", "base_url": "https://example.org", "room": "room",
                                    "pubkey": COMMUNITY_PK})
    v.push("a").get("a")
    vs.append(v)
    return vs


# ---------------------------------------------------------------------------
# merges

def two(v, typ, S):
    v.new("A", typ, S).new("B", typ, S)


def topic_merge():
    vs = []
    S = up_seed()

    for tag, na, nb, winner in (("ab", "Alice A", "Alice B", "B's"), ("ba", "Zed B", "Zed A", "A's"),
                                ("xy", "x", "y", "B's")):
        v = Vec("objects.merge.same_field_conflict_" + tag, "user_profile",
                "two devices at seqno 1 both rename (seqno 2); each merges the other: the larger hash (here "
                + winner + ") wins on both, and they converge at seqno 3")
        two(v, "user_profile", S)
        v.do("set_name", "A", name="Base").push("A", save="p1", confirm="h1")
        v.merge("B", ("h1", "p1"))
        v.do("set_name", "A", name=na).push("A", save="pa", confirm="ha")
        v.do("set_name", "B", name=nb).push("B", save="pb", confirm="hb")
        v.merge("A", ("hb", "pb")).push("A", save="pam", confirm="ham")
        v.merge("B", ("ha", "pa")).push("B", save="pbm", confirm="hbm")
        v.merge("A", ("hbm", "pbm")).merge("B", ("ham", "pam"))
        v.get("A").get("B")
        vs.append(v)

    v = Vec("objects.merge.three_devices", "user_profile",
            "three devices diverge from seqno 1 (name, pic, priority, and two of them the expiry); A merges B and C at once; B and C merge A's result")
    v.new("A", "user_profile", S).new("B", "user_profile", S).new("C", "user_profile", S)
    v.do("set_name", "A", name="Start").push("A", save="p1", confirm="h1")
    v.merge("B", ("h1", "p1")).merge("C", ("h1", "p1"))
    v.do("set_name", "A", name="A name").do("set_nts_expiry", "A", seconds=60).push("A", save="pa", confirm="ha")
    v.do("set_pic", "B", url="http://x/b", key=key32("b")).do("set_nts_expiry", "B", seconds=120)
    v.push("B", save="pb", confirm="hb")
    v.do("set_nts_priority", "C", priority=4).push("C", save="pc", confirm="hc")
    v.merge("A", ("hb", "pb"), ("hc", "pc")).push("A", save="pm", confirm="hm")
    v.merge("B", ("hm", "pm"), ("hc", "pc")).merge("C", ("ha", "pa"), ("hb", "pb"), ("hm", "pm"))
    v.get("B").get("C").push("C")
    vs.append(v)

    CS = seed("contacts")
    v = Vec("objects.merge.contacts_set_vs_erase", "contacts",
            "A erases a contact while B changes its nickname (both seqno 2): the merge replays both diffs")
    two(v, "contacts", CS)
    v.do("set_contacts", "A", contacts=[{"session_id": sid("x"), "name": "X"}, {"session_id": sid("y"), "name": "Y"}])
    v.push("A", save="p1", confirm="h1").merge("B", ("h1", "p1"))
    v.do("erase_contact", "A", session_id=sid("x")).push("A", save="pa", confirm="ha")
    v.do("set_contact", "B", contact={"session_id": sid("x"), "nickname": "Ex"}).push("B", save="pb", confirm="hb")
    v.merge("A", ("hb", "pb")).push("A", save="pam", confirm="ham")
    v.merge("B", ("ha", "pa")).push("B", save="pbm", confirm="hbm")
    v.merge("A", ("hbm", "pbm")).merge("B", ("ham", "pam"))
    vs.append(v)

    v = Vec("objects.merge.contacts_field_conflicts", "contacts",
            "A and B change different and same fields of two contacts (priority, blocked, nickname, expiry); both merge both ways")
    two(v, "contacts", CS)
    v.do("set_contacts", "A", contacts=[{"session_id": sid("x"), "name": "X", "approved": True},
                                        {"session_id": sid("y"), "name": "Y"}])
    v.push("A", save="p1", confirm="h1").merge("B", ("h1", "p1"))
    v.do("set_contact", "A", contact={"session_id": sid("x"), "priority": 1, "nickname": "from A"})
    v.do("set_contact", "A", contact={"session_id": sid("y"), "exp_mode": 1, "exp_seconds": 60})
    v.push("A", save="pa", confirm="ha")
    v.do("set_contact", "B", contact={"session_id": sid("x"), "blocked": True, "nickname": "from B"})
    v.do("set_contact", "B", contact={"session_id": sid("y"), "exp_mode": 2, "exp_seconds": 120})
    v.do("set_contact", "B", contact={"session_id": sid("z"), "name": "Z"})
    v.push("B", save="pb", confirm="hb")
    v.merge("A", ("hb", "pb")).merge("B", ("ha", "pa"))
    v.push("A").push("B")
    vs.append(v)

    def chain(v, obj, n, first=2):
        for i in range(first, first + n):
            v.do("set_nts_priority", obj, priority=i).push(obj, save="a%d" % i, confirm="ah%d" % i)

    v = Vec("objects.merge.lag_within", "user_profile",
            "B diverges at seqno 2 (name) while A pushes seqnos 2-4 (priority): B's message is 2 behind, within lag 5, so both changes survive")
    two(v, "user_profile", S)
    v.do("set_name", "A", name="Base").push("A", save="p1", confirm="h1").merge("B", ("h1", "p1"))
    chain(v, "A", 3)
    v.do("set_name", "B", name="From B").push("B", save="pb", confirm="hb")
    v.merge("A", ("hb", "pb")).push("A", save="pm", confirm="hm")
    v.merge("B", ("ah2", "a2"), ("ah3", "a3"), ("ah4", "a4"), ("hm", "pm"))
    v.get("B")
    vs.append(v)

    v = Vec("objects.merge.lag_beyond", "user_profile",
            "B diverges at seqno 2 while A pushes seqnos 2-8: B's message is 6 behind, beyond lag 5, and is dropped as redundant")
    two(v, "user_profile", S)
    v.do("set_name", "A", name="Base").push("A", save="p1", confirm="h1").merge("B", ("h1", "p1"))
    chain(v, "A", 7)
    v.do("set_name", "B", name="From B").push("B", save="pb", confirm="hb")
    v.merge("A", ("hb", "pb")).push("A")
    v.merge("B", ("ah8", "a8")).get("B").push("B")
    vs.append(v)

    v = Vec("objects.merge.lag_exactly_5", "user_profile",
            "B's diverged seqno-2 message against A's seqno 7 (exactly lag behind) and 6 (one less)")
    v.new("A", "user_profile", S).new("B", "user_profile", S).new("C", "user_profile", S)
    v.do("set_name", "A", name="Base").push("A", save="p1", confirm="h1")
    v.merge("B", ("h1", "p1")).merge("C", ("h1", "p1"))
    v.do("set_name", "B", name="From B").push("B", save="pb", confirm="hb")
    chain(v, "A", 6)
    v.merge("C", ("hb", "pb"), ("ah6", "a6")).get("C")
    v.merge("B", ("ah7", "a7")).get("B")
    vs.append(v)

    v = Vec("objects.merge.catch_up_chain", "user_profile",
            "a fresh device merges a 7-push chain at once, in order and shuffled, and the last one alone")
    v.new("A", "user_profile", S).new("B", "user_profile", S).new("C", "user_profile", S)
    v.do("set_name", "A", name="Chain").push("A", save="a1", confirm="ah1")
    chain(v, "A", 6)
    v.merge("B", *[("ah%d" % i, "a%d" % i) for i in range(1, 8)])
    v.merge("C", *[("ah%d" % i, "a%d" % i) for i in (5, 2, 7, 1, 6, 3, 4)])
    v.get("C").push("B").push("C")
    v.new("D", "user_profile", S).merge("D", ("ah7", "a7"))
    vs.append(v)

    v = Vec("objects.merge.duplicates", "user_profile",
            "the same message twice in one merge, and again in later merges (nothing changes)")
    two(v, "user_profile", S)
    v.do("set_name", "A", name="Dup").push("A", save="p1", confirm="h1")
    v.merge("B", ("h1", "p1"), ("h1", "p1"))
    v.merge("B", ("h1", "p1"))
    v.merge("B", ("h1b", "p1"))
    v.do("current_hashes", "B").push("B")
    vs.append(v)

    v = Vec("objects.merge.older_seqno", "user_profile",
            "B at seqno 3 merges A's seqno-1 and seqno-2 messages: nothing changes")
    two(v, "user_profile", S)
    v.do("set_name", "A", name="One").push("A", save="a1", confirm="ah1")
    v.do("set_name", "A", name="Two").push("A", save="a2", confirm="ah2")
    v.do("set_name", "A", name="Three").push("A", save="a3", confirm="ah3")
    v.merge("B", ("ah3", "a3")).merge("B", ("ah1", "a1")).merge("B", ("ah2", "a2"), ("ah1", "a1"))
    v.get("B").push("B")
    vs.append(v)

    v = Vec("objects.merge.while_dirty", "user_profile",
            "B has an unpushed change (dirty) when it merges A's push: the merge includes both and B must push")
    two(v, "user_profile", S)
    v.do("set_name", "A", name="Base").push("A", save="p1", confirm="h1").merge("B", ("h1", "p1"))
    v.do("set_nts_priority", "A", priority=2).push("A", save="pa", confirm="ha")
    v.do("set_name", "B", name="Dirty B")
    v.merge("B", ("ha", "pa")).get("B").push("B", save="pb", confirm="hb")
    v.merge("A", ("hb", "pb"))
    vs.append(v)

    v = Vec("objects.merge.while_waiting", "user_profile",
            "B pushed but has not confirmed (waiting) when A's message arrives")
    two(v, "user_profile", S)
    v.do("set_name", "A", name="Base").push("A", save="p1", confirm="h1").merge("B", ("h1", "p1"))
    v.do("set_nts_priority", "A", priority=2).push("A", save="pa", confirm="ha")
    v.do("set_name", "B", name="Waiting B").push("B", save="pb")
    v.merge("B", ("ha", "pa")).get("B").push("B")
    v.do("confirm_pushed", "B", seqno=2, hash="hb").do("current_hashes", "B")
    vs.append(v)

    v = Vec("objects.merge.own_push_back", "user_profile",
            "A merges its own push back, before and after confirming it, and an older push of its own")
    v.new("A", "user_profile", S)
    v.do("set_name", "A", name="Mine").push("A", save="p1", confirm="h1")
    v.merge("A", ("h1", "p1"))
    v.do("set_name", "A", name="Mine 2").push("A", save="p2")
    v.merge("A", ("h2", "p2")).do("current_hashes", "A")
    v.do("confirm_pushed", "A", seqno=2, hash="h2")
    v.merge("A", ("h2", "p2"), ("h1", "p1")).do("current_hashes", "A").push("A")
    vs.append(v)

    # Double-wrapped pushes (a buggy old client wrapped twice): the receive
    # side unwraps a second time. The push is deterministic, so it is taken
    # from a first run and wrapped again with protos_wrap.
    pre = Vec("pre", "", "")
    pre.new("A", "user_profile", S).do("set_name", "A", name="Twice").push("A", save="p1", confirm="h1")
    pre.new("C", "contacts", seed("contacts"))
    pre.do("set_contact", "C", contact={"session_id": sid("x"), "name": "X"}).push("C")
    r = run_oracle([pre.command()])[0]
    data, cdata = r["results"][2]["data"], r["results"][5]["data"]
    v = Vec("objects.merge.double_wrapped", "user_profile",
            "a push wrapped a second time in the protobuf envelope (protos_wrap) is unwrapped twice and merged; one wrapped as namespace 3 (contacts) is skipped")
    v.before = [{"cmd": "protos_wrap", "seed": S, "data": data, "seqno": 1, "namespace": 2},
                {"cmd": "protos_wrap", "seed": S, "data": data, "seqno": 1, "namespace": 3}]
    wrapped = run_oracle(v.before)
    v.new("A", "user_profile", S).do("set_name", "A", name="Twice").push("A", save="p1", confirm="h1")
    v.new("B", "user_profile", S).new("D", "user_profile", S)
    v.merge("B", ("hw", None, wrapped[0]["wrapped"])).get("B")
    v.fail("merge", "D", messages=[{"hash": "hk", "data": wrapped[1]["wrapped"]}])
    v.merge("D", ("hk", None, wrapped[1]["wrapped"]), ("h1", "p1"))
    v.new("C", "contacts", seed("contacts")).fail("merge", "C", messages=[{"hash": "hp", "data": data}])
    v.merge("C", ("hc", None, cdata), ("hp", None, data))
    vs.append(v)

    garbage = "00" * 40
    garbage2 = "ff" * 300
    v = Vec("objects.merge.garbage", "user_profile",
            "garbage merged into a seqno-0 object throws; with one valid message it is skipped; after data it is ignored; an empty list at seqno 0 throws")
    two(v, "user_profile", S)
    v.do("set_name", "A", name="Real").push("A", save="p1", confirm="h1")
    v.fail("merge", "B", messages=[{"hash": "g1", "data": garbage}])
    v.fail("merge", "B", messages=[])
    v.get("B")
    v.merge("B", ("g1", None, garbage), ("h1", "p1"), ("g2", None, garbage2))
    v.merge("B", ("g3", None, garbage2))
    v.merge("B", ("g4", None, ""))
    v.get("B").push("B")
    vs.append(v)

    v = Vec("objects.merge.wrong_key", "user_profile",
            "another account's push: into a seqno-0 object it throws; into one with data it is skipped; the raw inner ciphertext is accepted")
    v.new("X", "user_profile", seed("other-account")).new("A", "user_profile", S).new("B", "user_profile", S)
    v.do("set_name", "X", name="Other").push("X", save="px", confirm="hx")
    v.fail("merge", "A", messages=[{"hash": "hx", "data_ref": "px"}])
    v.do("set_name", "B", name="Mine").push("B", save="pb", save_inner="ib", confirm="hb")
    v.merge("B", ("hx", "px"))
    v.merge("A", ("hb", "ib"), ("hx", "px")).get("A")
    vs.append(v)

    v = Vec("objects.merge.confirm_and_obsolete", "user_profile",
            "confirm_pushed and obsolete hashes: each push lists the hashes it replaces; confirming an old seqno or an unknown hash; current_hashes after each step; merged hashes become obsolete")
    two(v, "user_profile", S)
    v.do("set_name", "A", name="1").push("A", save="p1", confirm="h1").do("current_hashes", "A")
    v.do("set_name", "A", name="2").push("A", save="p2").do("current_hashes", "A")
    v.do("confirm_pushed", "A", seqno=1, hash="stale").do("current_hashes", "A")
    v.do("confirm_pushed", "A", seqno=2, hash="h2").do("current_hashes", "A")
    v.do("set_name", "B", name="B").push("B", save="pb", confirm="hb")
    v.merge("A", ("hb", "pb"), ("h2dup", "p2"), ("h1", "p1")).do("current_hashes", "A")
    v.push("A", save="pm").do("current_hashes", "A")
    v.do("confirm_pushed", "A", seqno=3, hash="hm").do("current_hashes", "A").push("A")
    v.do("set_name", "A", name="4").push("A", confirm="h4").do("current_hashes", "A")
    vs.append(v)

    v = Vec("objects.merge.dump_states", "user_profile",
            "dump and reload in the clean, dirty and waiting states; the reloaded objects then push and merge like the originals")
    v.new("A", "user_profile", S)
    v.do("set_name", "A", name="Clean").push("A", save="p1", confirm="h1").do("dump", "A", save="dclean")
    v.do("set_nts_priority", "A", priority=3).do("dump", "A", save="ddirty")
    v.push("A", save="p2").do("dump", "A", save="dwait")
    v.new("C", "user_profile", S, dump_ref="dclean").get("C").do("current_hashes", "C").push("C")
    v.new("D", "user_profile", S, dump_ref="ddirty").get("D").do("current_hashes", "D").push("D")
    v.new("W", "user_profile", S, dump_ref="dwait").get("W").do("current_hashes", "W").push("W")
    v.do("confirm_pushed", "W", seqno=2, hash="h2").do("dump", "W")
    v.merge("C", ("h2", "p2")).do("dump", "C")
    v.fail("new", None, name="bad", type="user_profile", seed=S, dump="64313a21693965")
    vs.append(v)

    v = Vec("objects.merge.contacts_dump_merged", "contacts",
            "a contacts object with merged (dirty) state is dumped and reloaded, then pushes")
    two(v, "contacts", CS)
    v.do("set_contact", "A", contact={"session_id": sid("x"), "name": "X"}).push("A", save="pa", confirm="ha")
    v.do("set_contact", "B", contact={"session_id": sid("y"), "name": "Y"}).push("B", save="pb", confirm="hb")
    v.merge("A", ("hb", "pb")).do("dump", "A", save="d")
    v.new("R", "contacts", CS, dump_ref="d").get("R").push("R")
    vs.append(v)

    v = Vec("objects.merge.dump_reload_each_type", "convo_info_volatile",
            "conversation info and user groups objects dumped dirty and clean, reloaded, read back and pushed")
    v.new("C", "convo_info_volatile", seed("convo")).new("G", "user_groups", seed("groups"))
    v.do("set_convos", "C", convos=[
        {"kind": "1to1", "session_id": sid("c1"), "last_read": NOW - HOUR, "unread": True},
        {"kind": "community", "base_url": "https://example.org", "room": "Room", "pubkey": COMMUNITY_PK,
         "last_read": NOW - DAY}])
    v.do("set_groups", "G", groups=[
        {"kind": "group", "id": gid("d1"), "secretkey": gsk("d1"), "name": "Dumped"},
        {"kind": "legacy_group", "session_id": sid("d2"), "name": "L", "members": {sid("m1"): True}},
        {"kind": "community", "base_url": "https://example.org", "room": "Room", "pubkey": COMMUNITY_PK}])
    v.do("dump", "C", save="cdirty").do("dump", "G", save="gdirty")
    v.push("C", confirm="hc").push("G", confirm="hg")
    v.do("dump", "C", save="cclean").do("dump", "G", save="gclean")
    for name, typ, sd, ref in (("C1", "convo_info_volatile", seed("convo"), "cdirty"),
                               ("C2", "convo_info_volatile", seed("convo"), "cclean"),
                               ("G1", "user_groups", seed("groups"), "gdirty"),
                               ("G2", "user_groups", seed("groups"), "gclean")):
        v.new(name, typ, sd, dump_ref=ref).get(name).do("current_hashes", name).push(name)
    vs.append(v)

    GS = seed("convo")
    v = Vec("objects.merge.convo_two_devices", "convo_info_volatile",
            "conversation read state from two devices: the later last_read and unread flags after a merge, an erase against an update")
    two(v, "convo_info_volatile", GS)
    v.do("set_convos", "A", convos=[
        {"kind": "1to1", "session_id": sid("c1"), "last_read": NOW - 5 * HOUR},
        {"kind": "1to1", "session_id": sid("c2"), "last_read": NOW - 5 * HOUR},
        {"kind": "community", "base_url": "https://example.org", "room": "Room", "pubkey": COMMUNITY_PK,
         "last_read": NOW - 5 * HOUR}])
    v.push("A", save="p1", confirm="h1").merge("B", ("h1", "p1"))
    v.do("set_convo", "A", convo={"kind": "1to1", "session_id": sid("c1"), "last_read": NOW - 2 * HOUR})
    v.do("erase_convo", "A", convo={"kind": "1to1", "session_id": sid("c2")})
    v.push("A", save="pa", confirm="ha")
    v.do("set_convo", "B", convo={"kind": "1to1", "session_id": sid("c1"), "last_read": NOW - 3 * HOUR, "unread": True})
    v.do("set_convo", "B", convo={"kind": "1to1", "session_id": sid("c2"), "last_read": NOW - HOUR})
    v.do("set_convo", "B", convo={"kind": "community", "base_url": "https://example.org", "room": "ROOM",
                                  "pubkey": COMMUNITY_PK, "last_read": NOW - HOUR})
    v.push("B", save="pb", confirm="hb")
    v.merge("A", ("hb", "pb")).merge("B", ("ha", "pa")).push("A").push("B")
    vs.append(v)

    US = seed("groups")
    v = Vec("objects.merge.user_groups_two_devices", "user_groups",
            "groups joined on two devices, a group's name and priority changed on both, a legacy group's members on one and erased on the other")
    two(v, "user_groups", US)
    v.do("set_groups", "A", groups=[
        {"kind": "group", "id": gid("m1"), "name": "G1", "auth_data": "11" * 100},
        {"kind": "legacy_group", "session_id": sid("lg"), "name": "L", "members": {sid("a"): True}}])
    v.push("A", save="p1", confirm="h1").merge("B", ("h1", "p1"))
    v.do("set_group", "A", group={"kind": "group", "id": gid("m1"), "name": "G1 from A", "priority": 1})
    v.do("set_group", "A", group={"kind": "legacy_group", "session_id": sid("lg"), "members": {sid("a"): True, sid("b"): False}})
    v.do("set_group", "A", group={"kind": "community", "base_url": "https://example.org", "room": "A", "pubkey": COMMUNITY_PK})
    v.push("A", save="pa", confirm="ha")
    v.do("set_group", "B", group={"kind": "group", "id": gid("m1"), "name": "G1 from B", "priority": 2, "secretkey": gsk("m1")})
    v.do("erase_group", "B", group={"kind": "legacy_group", "session_id": sid("lg")})
    v.do("set_group", "B", group={"kind": "group", "id": gid("m2"), "name": "G2", "invited": True, "auth_data": "22" * 100})
    v.push("B", save="pb", confirm="hb")
    v.merge("A", ("hb", "pb")).merge("B", ("ha", "pa")).push("A").push("B")
    vs.append(v)
    return vs


# ---------------------------------------------------------------------------
# large objects

def topic_large():
    vs = []
    CS = seed("contacts")

    def many(n, tag, extra=lambda i: {}):
        out = []
        for i in range(n):
            c = {"session_id": sid("%s%d" % (tag, i)), "name": "Contact %s %d" % (tag, i),
                 "approved": i % 3 != 0, "approved_me": i % 2 == 0, "priority": i % 5 - 1}
            c.update(extra(i))
            out.append(c)
        return out

    v = Vec("objects.large.contacts_300", "contacts",
            "300 contacts: compressed push (1024-byte padding chunks), merged by a second device, one change then re-pushed")
    two(v, "contacts", CS)
    v.do("set_contacts", "A", contacts=many(300, "m"))
    v.push("A", save="p1", confirm="h1")
    v.merge("B", ("h1", "p1"))
    v.do("set_contact", "B", contact={"session_id": sid("m7"), "nickname": "seven"})
    v.push("B", save="p2", confirm="h2")
    v.merge("A", ("h2", "p2"))
    vs.append(v)

    v = Vec("objects.large.contacts_600_full", "contacts",
            "600 contacts with nicknames, pictures and expiry: compressed into the 2048-byte padding class")
    v.new("A", "contacts", CS)
    v.do("set_contacts", "A", contacts=many(600, "f", lambda i: {
        "nickname": "nick %d" % i, "pic_url": "http://filev2.getsession.org/file/%d" % i,
        "pic_key": key32("pk%d" % i), "exp_mode": i % 3, "exp_seconds": 60 * (i % 4)}))
    v.push("A", save="p1", confirm="h1")
    v.do("erase_contact", "A", session_id=sid("f0"))
    v.push("A")
    vs.append(v)

    return vs


def topic_large_contacts_too_large():
    vs = []
    CS = seed("contacts")
    v = Vec("objects.large.contacts_too_large", "contacts",
            "1500 contacts with incompressible names: push() throws \"Config data is too large\", and still does after one is erased")
    v.new("A", "contacts", CS)
    big = [{"session_id": sid("t%d" % i), "name": sha("name%d" % i)[:24]} for i in range(1500)]
    v.do("set_contacts", "A", contacts=big)
    v.fail("push", "A")
    v.do("erase_contact", "A", session_id=sid("t0"))
    v.fail("push", "A")
    vs.append(v)

    return vs


def topic_large_other():
    vs = []
    GS = seed("convo")
    v = Vec("objects.large.convo_400", "convo_info_volatile",
            "400 1:1 conversations and 50 community rooms, compressed, merged by a second device")
    two(v, "convo_info_volatile", GS)
    cs = [{"kind": "1to1", "session_id": sid("cv%d" % i), "last_read": NOW - (i % 20) * DAY - i * 1000,
           "unread": i % 7 == 0} for i in range(400)]
    cs += [{"kind": "community", "base_url": "https://c%d.example.org" % (i % 5), "room": "Room%d" % i,
            "pubkey": COMMUNITY_PK, "last_read": NOW - i * HOUR} for i in range(50)]
    v.do("set_convos", "A", convos=cs)
    v.push("A", save="p1", confirm="h1").merge("B", ("h1", "p1"))
    vs.append(v)

    US = seed("groups")
    v = Vec("objects.large.user_groups_150", "user_groups",
            "100 communities and 50 legacy groups with 20 members each")
    v.new("A", "user_groups", US)
    gs = [{"kind": "community", "base_url": "https://s%d.example.org" % (i % 10), "room": "R%d" % i,
           "pubkey": COMMUNITY_PK, "priority": i % 3} for i in range(100)]
    gs += [{"kind": "legacy_group", "session_id": sid("big%d" % i), "name": "Legacy %d" % i,
            "members": {sid("mem%d" % j): j % 5 == 0 for j in range(i, i + 20)}} for i in range(50)]
    v.do("set_groups", "A", groups=gs)
    v.push("A", confirm="h1").do("dump", "A")
    vs.append(v)
    return vs


TOPICS = {
    "user_profile": topic_user_profile,
    "contacts": topic_contacts,
    "convo": topic_convo,
    "user_groups": topic_user_groups,
    "merge": topic_merge,
    "large_contacts": lambda: topic_large() + topic_large_contacts_too_large(),
    "large_other": topic_large_other,
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
            # keep the original key order of the public file: body, compressed, bt, ...
            out[k] = lay
        else:
            out[k] = shrink(e)
    return out


def check(vec, reply):
    """Fails on a scenario that failed; reports may_fail steps that did not throw."""
    if not reply.get("ok"):
        sys.exit("%s: scenario failed: %s" % (vec.id, reply.get("error")))
    for i, (st, r) in enumerate(zip(vec.steps, reply["results"])):
        if st.get("may_fail") and r.get("ok"):
            print("note: %s step %d (%s) did not fail" % (vec.id, i, st["op"]), file=sys.stderr)
        if r.get("rng_draws"):
            sys.exit("%s: step %d drew randomness" % (vec.id, i))
    if reply.get("rng_draws"):
        sys.exit("%s: drew randomness" % vec.id)


def main():
    global ORACLE, NOW
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--oracle", default=DEFAULT_ORACLE)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--now-ms", type=int, default=0,
                    help="generated_at_ms (default: now); must be within hours of the real clock")
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
        out = []
        steps = 0
        for v in vecs:
            calls = []
            for c in v.commands():
                r = replies.pop(0)
                if c["cmd"] != "scenario" and not r.get("ok"):
                    sys.exit("%s: %s failed: %s" % (v.id, c["cmd"], r.get("error")))
                calls.append({"command": c, "response": shrink(r)})
            check(v, calls[-1]["response"])
            steps += len(v.steps)
            out.append({"id": v.id, "category": v.category, "description": v.description, "calls": calls})
        doc = {
            "format": "libsession-vectors v1: differential vectors produced by tools/lsu-oracle "
                      "(config/lsu/internal/gen/gen.py; spec libsession-configs.md section 2)",
            "libsession": version,
            "generated_at_ms": NOW,
            "conventions": {
                "bytes": "lower-case hex; *_text fields in commands are UTF-8 strings",
                "time": "convo_info_volatile last_read values are relative to generated_at_ms and at least "
                        "a day away from the 30-day (set) and 45-day (push) boundaries",
                "shrunk": "layers.body/bt larger than 12 kB are replaced by *_sha256 (SHA-256 of the bytes)",
                "ids": "seeds sha256('sotto-objects:seed:'+tag); ids '05'+sha256('sotto-objects:id:'+tag)",
            },
            "vector_count": len(out),
            "step_count": steps,
            "vectors": out,
        }
        path = os.path.join(args.out, "objects-%s.json" % t)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print("%s: %d vectors, %d steps, %d bytes" % (path, len(out), steps, os.path.getsize(path)))


if __name__ == "__main__":
    main()
