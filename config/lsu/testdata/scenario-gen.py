#!/usr/bin/env python3
"""Records scenario-objects.json: the reference library's replies to the
scenario steps of the four user objects, edge cases and error texts
included. Run from this directory with the oracle (a development tool that
tests never run):

    ./scenario-gen.py ../../../../shared/tools/lsu-oracle > scenario-objects.json

Conversation info reads the wall clock, so its last_read values are relative
to generated_at_ms, which the replay test uses as its clock.
"""
import hashlib
import json
import subprocess
import sys
import time

oracle = sys.argv[1]
now = int(time.time() * 1000)
DAY = 86400 * 1000


def seed(tag):
    return hashlib.sha256(("lsu-scenario:" + tag).encode()).hexdigest()


def sid(tag, prefix="05"):
    return prefix + hashlib.sha256(("id:" + tag).encode()).hexdigest()


S = seed("user")
SPK = json.loads(subprocess.run([oracle], input=json.dumps({"cmd": "keypair", "seed": S}) + "\n",
                                capture_output=True, text=True, check=True).stdout)["ed25519_pk"]
B, C, D = sid("bob"), sid("carol"), sid("dave")
G = sid("group", "03")
# The group below is the Ed25519 key pair of seed 11…11 (oracle "keypair").
GSEED = "11" * 32
GPK = "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737"
GID = "03" + GPK
PK = "a03c383cf63c3c4efe67acc52112a6dd734b3a946b9545f488aaa93da7991238"


def new(name, typ):
    return {"op": "new", "name": name, "type": typ, "seed": S}


def mf(step):
    step["may_fail"] = True
    return step


vectors = []


def case(vid, category, description, steps):
    vectors.append({"id": vid, "category": category, "description": description,
                    "calls": [{"command": {"cmd": "scenario", "steps": steps}}]})


case("scenario.user_profile.steps", "user_profile",
     "every user_profile step, limits and clearing, dump and reload, explain, errors", [
         new("a", "user_profile"),
         {"op": "get", "obj": "a"},
         {"op": "set_name", "obj": "a", "name": "é" * 50},
         mf({"op": "set_name", "obj": "a", "name": "é" * 50 + "x"}),
         {"op": "set_name_truncated", "obj": "a", "name": "a" * 98 + "🎂"},
         {"op": "set_name", "obj": "a", "name_hex": "ff41c3"},
         mf({"op": "set_pic", "obj": "a", "url": "http://x.org/p", "key": "aa" * 31}),
         {"op": "set_pic", "obj": "a", "url": "http://x.org/p", "key": "aa" * 32},
         {"op": "set_pic", "obj": "a", "url": "http://x.org/p"},
         {"op": "set_pic", "obj": "a", "url": "http://filev2.getsession.org/file/1", "key_text": "k" * 32},
         {"op": "set_nts_priority", "obj": "a", "priority": -1},
         {"op": "set_nts_priority", "obj": "a", "priority": 4294967298},
         {"op": "set_nts_expiry", "obj": "a", "seconds": 86400},
         {"op": "set_blinded_msgreqs", "obj": "a", "value": True},
         {"op": "set_blinded_msgreqs", "obj": "a", "value": False},
         mf({"op": "set_blinded_msgreqs", "obj": "a"}),
         mf({"op": "set_nts_priority", "obj": "a", "priority": "1"}),
         mf({"op": "bogus", "obj": "a"}),
         {"op": "current_hashes", "obj": "a"},
         {"op": "push", "obj": "a", "save": "p1", "save_inner": "i1"},
         {"op": "push", "obj": "a"},
         {"op": "confirm_pushed", "obj": "a", "seqno": 7, "hash": "wrong"},
         {"op": "confirm_pushed", "obj": "a", "seqno": 1, "hash": "h1"},
         {"op": "current_hashes", "obj": "a"},
         {"op": "explain", "obj": "a", "data_ref": "p1", "wrapped": True},
         {"op": "explain", "obj": "a", "data_ref": "i1"},
         {"op": "explain", "obj": "a", "data_ref": "p1"},
         {"op": "explain", "obj": "a", "data": "00112233"},
         mf({"op": "explain", "obj": "a", "data": "00112233", "wrapped": True}),
         mf({"op": "explain", "obj": "a", "data_ref": "i1", "wrapped": True}),
         {"op": "dump", "obj": "a", "save": "d1"},
         {"op": "set_blinded_msgreqs", "obj": "a", "value": None},
         {"op": "set_nts_expiry", "obj": "a", "seconds": -5},
         {"op": "set_name", "obj": "a", "name": ""},
         {"op": "set_pic", "obj": "a", "url": "", "key": "aa" * 32},
         {"op": "set_nts_priority", "obj": "a", "priority": 0},
         {"op": "dump", "obj": "a"},
         {"op": "push", "obj": "a", "confirm": "h2"},
         {"op": "new", "name": "b", "type": "user_profile", "seed": S, "dump_ref": "d1"},
         {"op": "get", "obj": "b"},
         {"op": "new", "name": "c", "type": "user_profile", "seed": S},
         {"op": "merge", "obj": "c", "messages": [{"hash": "h1", "data_ref": "p1"}]},
         {"op": "merge", "obj": "c", "messages": [{"hash": "junk", "data": "00"}]},
         {"op": "new", "name": "d", "type": "user_profile", "seed": seed("other")},
         mf({"op": "merge", "obj": "d", "messages": [{"hash": "h1", "data_ref": "p1"}]}),
         {"op": "explain", "obj": "d", "data_ref": "i1"},
         mf({"op": "get", "obj": "nobody"}),
     ])

case("scenario.contacts.steps", "contacts",
     "set_contact keeps omitted fields, truncation, odd modes, C int priority, erase, id and type errors", [
         new("a", "contacts"),
         {"op": "set_contact", "obj": "a", "contact": {"session_id": B.upper().replace("0X", "0x")}},
         {"op": "get", "obj": "a"},
         {"op": "set_contact", "obj": "a", "contact": {"session_id": B, "name": "a" + "é" * 50,
                                                        "nickname": "n" * 120, "approved": True}},
         {"op": "set_contact", "obj": "a", "contact": {"session_id": B, "exp_mode": 2, "exp_seconds": 60,
                                                        "notifications": 3, "priority": 5000000000}},
         {"op": "get", "obj": "a"},
         {"op": "set_contact", "obj": "a", "contact": {"session_id": B, "exp_mode": 1}},
         {"op": "set_contact", "obj": "a", "contact": {"session_id": C, "exp_seconds": 60, "notifications": 7,
                                                        "mute_until": -3, "created": -1, "blocked": True}},
         {"op": "set_contact", "obj": "a", "contact": {"session_id": D, "exp_mode": 5, "exp_seconds": 9,
                                                        "pic_url": "http://x.org/p"}},
         {"op": "push", "obj": "a"},
         {"op": "get", "obj": "a"},
         {"op": "set_contact", "obj": "a", "contact": {"session_id": D, "pic_key": "bb" * 32}},
         {"op": "set_contact", "obj": "a", "contact": {"session_id": D, "pic_url": "http://x.org/q",
                                                        "pic_key": "bb" * 32, "name_hex": "ff41c3"}},
         {"op": "set_contact", "obj": "a", "contact": {"session_id": D, "pic_url": ""}},
         mf({"op": "set_contact", "obj": "a", "contact": {"session_id": D, "pic_key": "bb"}}),
         mf({"op": "set_contact", "obj": "a", "contact": {"session_id": sid("x", "03")}}),
         mf({"op": "set_contact", "obj": "a", "contact": {"session_id": B[:64]}}),
         mf({"op": "set_contact", "obj": "a", "contact": {"session_id": B[:-1] + "g"}}),
         mf({"op": "set_contact", "obj": "a", "contact": {"session_id": B, "approved": 1}}),
         mf({"op": "set_contact", "obj": "a", "contact": {"name": "x"}}),
         mf({"op": "set_contact", "obj": "a"}),
         {"op": "erase_contact", "obj": "a", "session_id": C},
         {"op": "erase_contact", "obj": "a", "session_id": C},
         mf({"op": "erase_contact", "obj": "a", "session_id": "05"}),
         {"op": "set_contacts", "obj": "a", "contacts": [{"session_id": sid("c%d" % i), "name": "C%d" % i,
                                                          "priority": i - 2} for i in range(5)]},
         {"op": "get", "obj": "a"},
         {"op": "push", "obj": "a", "confirm": "h2"},
         {"op": "get", "obj": "a"},
     ])

case("scenario.convo.steps", "convo_info_volatile",
     "set_convo of every kind, ages around the 30-day cutoff, moving last_read back, community addresses, erase, errors", [
         new("a", "convo_info_volatile"),
         {"op": "set_convo", "obj": "a", "convo": {"kind": "1to1", "session_id": B, "last_read": now - DAY}},
         {"op": "set_convo", "obj": "a", "convo": {"kind": "1to1", "session_id": B, "last_read": 5}},
         {"op": "set_convo", "obj": "a", "convo": {"kind": "1to1", "session_id": B}},
         {"op": "set_convo", "obj": "a", "convo": {"kind": "1to1", "session_id": C, "last_read": now - 31 * DAY}},
         {"op": "set_convo", "obj": "a", "convo": {"kind": "1to1", "session_id": D, "last_read": now - 60 * DAY,
                                                   "unread": True}},
         {"op": "set_convo", "obj": "a", "convo": {"kind": "group", "id": G, "last_read": now - 2 * DAY}},
         {"op": "set_convo", "obj": "a", "convo": {"kind": "legacy_group", "id": C, "last_read": now - 3 * DAY}},
         {"op": "set_convo", "obj": "a", "convo": {"kind": "community", "base_url": "HTTPs://Foo.BAR:0443/",
                                                   "room": "Ab-_1", "pubkey": PK, "last_read": now - DAY}},
         {"op": "set_convo", "obj": "a", "convo": {"kind": "community", "base_url": "https://foo.bar", "room": "AB-_1",
                                                   "pubkey": "oDw4PPY8PE7+Z6zFIRKm3XNLOpRrlUX0iKqpPaeZEjg=",
                                                   "unread": True}},
         {"op": "set_convo", "obj": "a", "convo": {"kind": "community", "base_url": "http://foo.bar:8080",
                                                   "room": "r2",
                                                   "pubkey": "wy6dox8s8o6r79u8iun1nrig5i3wsqwwpqkwm7reikwu5jh3nehh",
                                                   "last_read": now - DAY}},
         {"op": "get", "obj": "a"},
         {"op": "push", "obj": "a", "confirm": "h1"},
         {"op": "erase_convo", "obj": "a", "convo": {"kind": "community", "base_url": "http://foo.bar:8080",
                                                     "room": "R2"}},
         {"op": "erase_convo", "obj": "a", "convo": {"kind": "community", "base_url": "http://foo.bar:8080",
                                                     "room": "R2"}},
         {"op": "erase_convo", "obj": "a", "convo": {"kind": "1to1", "session_id": B}},
         {"op": "erase_convo", "obj": "a", "convo": {"kind": "group", "id": G}},
         {"op": "erase_convo", "obj": "a", "convo": {"kind": "legacy_group", "id": B}},
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "group", "id": B}}),
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "legacy_group", "id": G}}),
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "community", "base_url": "ftp://foo.bar",
                                                      "room": "x", "pubkey": PK}}),
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "community", "base_url": "http://foo",
                                                      "room": "x", "pubkey": PK}}),
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "community", "base_url": "http://foo.bar/x",
                                                      "room": "x", "pubkey": PK}}),
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "community", "base_url": "http://foo.bar:99999",
                                                      "room": "x", "pubkey": PK}}),
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "community", "base_url": "http://foo.bar",
                                                      "room": "x y", "pubkey": PK}}),
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "community", "base_url": "http://foo.bar",
                                                      "room": "", "pubkey": PK}}),
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "community", "base_url": "http://foo.bar",
                                                      "room": "r" * 65, "pubkey": PK}}),
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "community", "base_url": "http://foo.bar",
                                                      "room": "x", "pubkey": "abcd"}}),
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "community", "base_url": "http://foo.bar",
                                                      "room": "x", "pubkey": "oDw4PPY8PE7-Z6zFIRKm3XNLOpRrlUX0iKqpPaeZEjg"}}),
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "community", "base_url": "http://foo.bar",
                                                      "room": "x"}}),
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "bogus", "id": G}}),
         mf({"op": "set_convo", "obj": "a", "convo": {"kind": "1to1", "session_id": B, "last_read": "1"}}),
         {"op": "get", "obj": "a"},
         {"op": "push", "obj": "a"},
         # An entry emptied by a set stays (and counts) until a push prunes it.
         {"op": "set_convo", "obj": "a", "convo": {"kind": "1to1", "session_id": C, "last_read": now - 40 * DAY,
                                                   "unread": True}},
         {"op": "set_convo", "obj": "a", "convo": {"kind": "1to1", "session_id": C, "unread": False}},
         {"op": "get", "obj": "a"},
         {"op": "erase_convo", "obj": "a", "convo": {"kind": "1to1", "session_id": C}},
         {"op": "set_convo", "obj": "a", "convo": {"kind": "1to1", "session_id": C, "last_read": now - 40 * DAY,
                                                   "unread": True}},
         {"op": "set_convo", "obj": "a", "convo": {"kind": "1to1", "session_id": C, "unread": False}},
         {"op": "push", "obj": "a"},
         {"op": "get", "obj": "a"},
         {"op": "erase_convo", "obj": "a", "convo": {"kind": "1to1", "session_id": C}},
     ])

case("scenario.user_groups.steps", "user_groups",
     "set_group of the three kinds: admin key match, auth data, name cuts, legacy members, community spelling, erase, errors", [
         new("a", "user_groups"),
         {"op": "set_group", "obj": "a", "group": {"kind": "group", "id": GID, "secretkey": GSEED + GPK,
                                                   "name": "Admin", "priority": 1, "joined_at": 1700000000,
                                                   "notifications": 3}},
         {"op": "set_group", "obj": "a", "group": {"kind": "group", "id": G, "secretkey": GSEED + GPK,
                                                   "auth_data": "ab" * 100, "name": "a" + "é" * 50,
                                                   "invited": True, "mute_until": 1800000000}},
         {"op": "set_group", "obj": "a", "group": {"kind": "group", "id": sid("g2", "03"), "auth_data": "ab" * 99,
                                                   "secretkey": "00" * 32, "removed_status": 2, "joined_at": -5}},
         {"op": "get", "obj": "a"},
         {"op": "set_group", "obj": "a", "group": {"kind": "group", "id": G, "priority": -1}},
         {"op": "set_group", "obj": "a", "group": {"kind": "legacy_group", "session_id": B, "name": "L" * 101,
                                                   "enc_pubkey": "11" * 32, "members": {C: True, D: False},
                                                   "disappearing_timer": -4, "joined_at": 7, "invited": True}},
         {"op": "set_group", "obj": "a", "group": {"kind": "legacy_group", "session_id": B, "members": {C: False},
                                                   "enc_seckey": "22" * 32, "disappearing_timer": 60}},
         {"op": "set_group", "obj": "a", "group": {"kind": "community", "base_url": "https://Foo.bar",
                                                   "room": "Room", "pubkey": PK, "invited": True, "name": "x"}},
         {"op": "set_group", "obj": "a", "group": {"kind": "community", "base_url": "https://foo.bar:443",
                                                   "room": "ROOM", "pubkey": PK, "priority": 3}},
         {"op": "get", "obj": "a"},
         {"op": "push", "obj": "a", "confirm": "h1"},
         mf({"op": "set_group", "obj": "a", "group": {"kind": "legacy_group", "session_id": C,
                                                      "members": {"05zz": True}}}),
         mf({"op": "set_group", "obj": "a", "group": {"kind": "group", "id": B}}),
         mf({"op": "set_group", "obj": "a", "group": {"kind": "group", "id": G, "invited": 1}}),
         mf({"op": "set_group", "obj": "a", "group": {"kind": "bogus", "id": G}}),
         mf({"op": "erase_group", "obj": "a", "group": {"kind": "bogus", "id": G}}),
         {"op": "erase_group", "obj": "a", "group": {"kind": "community", "base_url": "https://foo.bar",
                                                     "room": "room"}},
         {"op": "erase_group", "obj": "a", "group": {"kind": "legacy_group", "session_id": B}},
         {"op": "erase_group", "obj": "a", "group": {"kind": "group", "id": G}},
         {"op": "erase_group", "obj": "a", "group": {"kind": "group", "id": G}},
         {"op": "get", "obj": "a"},
         {"op": "push", "obj": "a"},
     ])

case("scenario.errors.new", "user_profile", "errors of new: seed length, type, missing name", [
    mf({"op": "new", "name": "a", "type": "contacts", "seed": "abcd"}),
    mf({"op": "new", "name": "a", "type": "contactz", "seed": S}),
    mf({"op": "new", "type": "contacts", "seed": S}),
    mf({"type": "contacts", "seed": S}),
    mf({"op": "new", "name": "a", "type": "contacts", "seed": S + "00" * 32}),
    {"op": "new", "name": "a", "type": "contacts", "seed": S + SPK},
    {"op": "new", "name": "a", "type": "user_profile", "seed": S},
    {"op": "get", "obj": "a"},
])

case("scenario.errors.inputs", "contacts", "missing and malformed inputs of the generic steps", [
    new("a", "contacts"),
    mf({"op": "new", "name": "b", "type": "contacts"}),
    mf({"op": "new", "name": "c", "type": "contacts", "seed": "zz"}),
    mf({"op": "new", "name": "c", "type": "contacts", "seed": S, "dump": "zz"}),
    mf({"op": "merge", "obj": "a", "messages": [{"hash": "x"}]}),
    mf({"op": "merge", "obj": "a", "messages": [{"data": "00"}]}),
    mf({"op": "merge", "obj": "a"}),
    mf({"op": "merge", "obj": "a", "messages": [{"hash": "x", "data_ref": "nope"}]}),
    mf({"op": "explain", "obj": "a"}),
    mf({"op": "confirm_pushed", "obj": "a"}),
    mf({"op": "confirm_pushed", "obj": "a", "seqno": 1}),
    mf({"op": "confirm_pushed", "obj": "a", "hash": "h"}),
    mf({"op": "erase_contact", "obj": "a"}),
    mf({"op": "set_contacts", "obj": "a"}),
    mf({"op": "get"}),
    {"op": "get", "obj": "a"},
])

case("scenario.errors.failed_step", "contacts", "a failing step without may_fail ends the scenario", [
    new("a", "contacts"),
    {"op": "set_contact", "obj": "a", "contact": {"session_id": B}},
    {"op": "erase_contact", "obj": "a", "session_id": "03" + B[2:]},
    {"op": "get", "obj": "a"},
])

out = []
for v in vectors:
    cmd = v["calls"][0]["command"]
    r = subprocess.run([oracle], input=json.dumps(cmd) + "\n", capture_output=True, text=True, check=True)
    v["calls"][0]["response"] = json.loads(r.stdout)
    out.append(v)
vectors = out
# The scenario command without steps.
vectors.append({"id": "scenario.errors.no_steps", "category": "user_profile", "description": "no steps",
                "calls": [{"command": {"cmd": "scenario"}}]})
r = subprocess.run([oracle], input='{"cmd":"scenario"}\n', capture_output=True, text=True, check=True)
vectors[-1]["calls"][0]["response"] = json.loads(r.stdout)

json.dump({"format": "sotto lsu vectors v1", "generated_at_ms": now, "vectors": vectors},
          sys.stdout, indent=1, ensure_ascii=False)
print()
