// Command gen writes testdata/oracle-groups.json: group scenarios run
// through the reference library (the lsu-oracle of
// spec/libsession-configs.md §2), in the format of the public vectors.
// Tests never run it; rerun it by hand after changing a scenario:
//
//	go run ./config/groups/testdata/gen -oracle /work/shared/tools/lsu-oracle \
//	    -out config/groups/testdata/oracle-groups.json
//
// Some scenarios feed the oracle crafted inputs (tampered key messages,
// malformed group messages); they are built here with the group key, which
// the generator computes with package groups. The answers are the
// oracle's alone.
package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/chacha20poly1305"

	"sotto.dev/config/groups"
	"sotto.dev/identity"
	"sotto.dev/key"
)

type vector struct {
	ID          string `json:"id"`
	Category    string `json:"category"`
	Description string `json:"description"`
	Calls       []call `json:"calls"`
}

type call struct {
	Command  map[string]any `json:"command"`
	Response map[string]any `json:"response"`
}

type step = map[string]any

// user is a test identity: seed sha256("gkeys:"+tag).
type user struct {
	seed []byte
	sk   ed25519.PrivateKey
	id   key.SessionID
}

func newUser(tag string) user {
	s := sha256.Sum256([]byte("gkeys:" + tag))
	k, err := identity.KeysFromSeed(s[:])
	if err != nil {
		log.Fatal(err)
	}
	return user{seed: s[:], sk: k.Ed25519Private(), id: k.SessionID()}
}

func (u user) hexSeed() string { return hex.EncodeToString(u.seed) }

var (
	groupSeed   = bytes.Repeat([]byte{0x42}, 32)
	groupSecret = ed25519.NewKeyFromSeed(groupSeed)
	groupPK     = "03" + hex.EncodeToString(groupSecret[32:])
	otherSeed   = bytes.Repeat([]byte{0x17}, 32)
	otherPK     = "03" + hex.EncodeToString(ed25519.NewKeyFromSeed(otherSeed)[32:])
)

func newAdmin(name string, u user) step {
	return step{"op": "new", "name": name, "type": "group", "user_seed": u.hexSeed(), "group_seed": hex.EncodeToString(groupSeed)}
}

func newMember(name string, u user) step {
	return step{"op": "new", "name": name, "type": "group", "user_seed": u.hexSeed(), "group_pk": groupPK}
}

func memberSet(obj string, us ...user) step {
	var ms []any
	for i, u := range us {
		ms = append(ms, map[string]any{"session_id": u.id.String(), "name": "m" + strconv.Itoa(i)})
	}
	return step{"op": "member_set", "obj": obj, "members": ms}
}

func load(obj, hash, ref string, ts int64) step {
	return step{"op": "load_key_message", "obj": obj, "hash": hash, "data_ref": ref, "timestamp_ms": ts}
}

func loadData(obj, hash string, data []byte, ts int64) step {
	return step{"op": "load_key_message", "obj": obj, "hash": hash, "data": hex.EncodeToString(data), "timestamp_ms": ts, "may_fail": true}
}

func scenario(steps ...step) map[string]any {
	var s []any
	for _, st := range steps {
		s = append(s, st)
	}
	return map[string]any{"cmd": "scenario", "steps": s}
}

const (
	t0  = int64(1_700_000_000_000)
	day = int64(24 * 3600 * 1000)
)

func users(prefix string, n int) []user {
	out := make([]user, n)
	for i := range out {
		out[i] = newUser(prefix + strconv.Itoa(i))
	}
	return out
}

// groupKey computes the key of a rekey over members at generation 0, as
// the admin's pending key.
func groupKey(admin user, members []user) [32]byte {
	k, err := groups.NewKeys(groups.KeysOptions{User: admin.sk, GroupPublic: groupSecret.Public().(ed25519.PublicKey), GroupSecret: groupSecret})
	if err != nil {
		log.Fatal(err)
	}
	var ids []key.SessionID
	for _, m := range members {
		ids = append(ids, m.id)
	}
	if _, err := k.Rekey(ids); err != nil {
		log.Fatal(err)
	}
	pk, _, _ := k.Pending()
	return pk
}

// seal encrypts a group message body with key and a fixed nonce.
func seal(k [32]byte, body []byte) []byte {
	a, _ := chacha20poly1305.NewX(k[:])
	nonce := bytes.Repeat([]byte{7}, 24)
	return a.Seal(nonce, nonce, body, nil)
}

func btStr(b []byte) string { return strconv.Itoa(len(b)) + ":" + string(b) }

// body builds a group message body with the given entries in order.
func body(entries ...string) []byte { return []byte("d" + strings.Join(entries, "") + "e") }

func main() {
	oracle := flag.String("oracle", "/work/shared/tools/lsu-oracle", "the reference oracle")
	out := flag.String("out", "config/groups/testdata/oracle-groups.json", "output file")
	flag.Parse()

	admin := newUser("admin")
	admin2 := newUser("admin2")
	var vs []vector
	add := func(id, desc string, cmds ...map[string]any) {
		v := vector{ID: "gkeys." + id, Category: "groups", Description: desc}
		for _, c := range cmds {
			v.Calls = append(v.Calls, call{Command: c})
		}
		vs = append(vs, v)
	}

	// Rekeys of 1, 2, 99, 100, 101 and 1000 members (admin included); the
	// last member finds its key, an outsider does not.
	for _, n := range []int{1, 2, 99, 100, 101, 1000} {
		ms := append([]user{admin}, users(fmt.Sprintf("n%d-", n), n-1)...)
		last := ms[len(ms)-1]
		outsider := newUser("outsider")
		steps := []step{newAdmin("adm", admin), newMember("last", last), newMember("out", outsider),
			memberSet("adm", ms...), step{"op": "rekey", "obj": "adm", "save": "k0"},
			load("adm", "h0", "k0", t0), load("last", "h0", "k0", t0), load("out", "h0", "k0", t0),
			step{"op": "rekey", "obj": "adm", "save": "k1"}, load("last", "h1", "k1", t0+1000),
			load("adm", "h1", "k1", t0+1000), step{"op": "keys_dump", "obj": "last"}}
		add(fmt.Sprintf("rekey_%d", n), fmt.Sprintf("rekey of %d members, twice; the last member and an outsider load both", n), scenario(steps...))
	}

	// Loading in any order, supplements, hashes without keys.
	{
		m := users("order-", 4)
		steps := []step{newAdmin("adm", admin), newMember("m0", m[0]), newMember("m1", m[1]), newMember("m3", m[3]),
			memberSet("adm", admin, m[0], m[1]),
			step{"op": "rekey", "obj": "adm", "save": "k0"}, load("adm", "h0", "k0", t0),
			step{"op": "rekey", "obj": "adm", "save": "k1"}, load("adm", "h1", "k1", t0+day),
			step{"op": "member_erase", "obj": "adm", "session_id": m[1].id.String()},
			step{"op": "rekey", "obj": "adm", "save": "k2"}, load("adm", "h2", "k2", t0+2*day),
			load("m0", "h2", "k2", t0+2*day), load("m0", "h0", "k0", t0), load("m0", "h1", "k1", t0+day),
			load("m0", "h1", "k1", t0+day), load("m1", "h1", "k1", t0+day), load("m1", "h2", "k2", t0+2*day), load("m1", "h0", "k0", t0),
			step{"op": "key_supplement", "obj": "adm", "session_ids": []any{m[3].id.String(), m[0].id.String()}, "save": "s"},
			load("m3", "hs", "s", t0+3*day), load("m0", "hs", "s", t0+3*day), load("adm", "hs", "s", t0+3*day),
			step{"op": "key_supplement", "obj": "adm", "session_ids": []any{m[2].id.String()}, "save": "s2"},
			load("m3", "hs2", "s2", t0+3*day),
			step{"op": "keys_dump", "obj": "m0"}, step{"op": "keys_dump", "obj": "m1"}, step{"op": "keys_dump", "obj": "m3"}, step{"op": "keys_dump", "obj": "adm"},
			step{"op": "key_supplement", "obj": "m0", "session_ids": []any{m[2].id.String()}, "may_fail": true},
			step{"op": "rekey", "obj": "m0", "may_fail": true},
			step{"op": "swarm_make_subaccount", "obj": "m0", "session_id": m[2].id.String(), "may_fail": true},
		}
		add("load_order", "three generations loaded out of order by a member, a removed member, supplements to new members (one with the whole history), admin-only operations refused to members", scenario(steps...))
	}

	// Expiry: a generation is dropped once the next is more than 60
	// days older than the newest key; a stale generation loaded late is
	// ignored.
	{
		m := newUser("exp-0")
		steps := []step{newAdmin("adm", admin), newMember("m", m), newMember("late", m), memberSet("adm", admin, m)}
		ts := []int64{t0, t0 + day, t0 + 61*day, t0 + 62*day, t0 + 200*day}
		for i, tt := range ts {
			h := "e" + strconv.Itoa(i)
			steps = append(steps, step{"op": "rekey", "obj": "adm", "save": h}, load("adm", h, h, tt))
		}
		for _, i := range []int{0, 1, 2, 3} {
			h := "e" + strconv.Itoa(i)
			steps = append(steps, load("m", h, h, ts[i]))
		}
		steps = append(steps, load("m", "e4", "e4", ts[4]), load("m", "e0", "e0", ts[0]), step{"op": "keys_dump", "obj": "m"})
		steps = append(steps, load("late", "e4", "e4", ts[4]), load("late", "e2", "e2", ts[2]), load("late", "e3", "e3", ts[3]), load("late", "e0", "e0", ts[0]), step{"op": "keys_state", "obj": "late"})
		add("expiry", "KEY_EXPIRY: generations replaced more than 60 days before the newest key are dropped, with their hashes; a stale key loaded late is ignored", scenario(steps...))
	}

	// The hashes of a generation, in libstdc++'s unordered_set order
	// through its rehashes, across a dump and a restore.
	{
		m := newUser("hash-0")
		steps := []step{newAdmin("adm", admin), newMember("m", m), memberSet("adm", admin, m),
			{"op": "rekey", "obj": "adm", "save": "k0"}}
		dumpAt := map[int]bool{1: true, 2: true, 3: true, 5: true, 12: true, 13: true, 14: true, 15: true, 29: true, 30: true, 31: true, 60: true, 128: true, 258: true, 300: true}
		for i := 1; i <= 300; i++ {
			h := fmt.Sprintf("%x", sha256.Sum256([]byte{byte(i), byte(i >> 8)}))[:8+i%50]
			steps = append(steps, load("m", h, "k0", t0+int64(i)))
			if dumpAt[i] {
				steps = append(steps, step{"op": "keys_dump", "obj": "m", "save": "d" + strconv.Itoa(i)})
			}
		}
		steps = append(steps, step{"op": "new", "name": "r", "type": "group", "user_seed": m.hexSeed(), "group_pk": groupPK, "keys_dump_ref": "d14"},
			step{"op": "keys_dump", "obj": "r"}, load("r", "after-restore", "k0", t0+1000), step{"op": "keys_dump", "obj": "r"})
		add("hash_order", "one key message loaded under 300 hashes: the dump lists them in libsession's (libstdc++ unordered_set) order through every rehash, and after a restore", scenario(steps...))
	}

	// Two admins rekey at once: same generation, two keys, needs_rekey.
	{
		m := newUser("conf-0")
		steps := []step{newAdmin("a1", admin), newAdmin("a2", admin2), newMember("m", m),
			memberSet("a1", admin, admin2, m), memberSet("a2", admin, admin2),
			step{"op": "rekey", "obj": "a1", "save": "x"}, step{"op": "rekey", "obj": "a2", "save": "y"},
			step{"op": "keys_state", "obj": "a1"},
			load("a1", "hy", "y", t0+5), load("a1", "hx", "x", t0), load("a2", "hx", "x", t0), load("a2", "hy", "y", t0+5),
			load("m", "hx", "x", t0), load("m", "hy", "y", t0+5),
			step{"op": "rekey", "obj": "a1", "save": "z"}, load("a1", "hz", "z", t0+10), load("a2", "hz", "z", t0+10), load("m", "hz", "z", t0+10),
			step{"op": "keys_dump", "obj": "a1"},
		}
		add("conflict", "two admins rekey the same generation with different keys: both kept, needs_rekey for admins, resolved by the next rekey", scenario(steps...))
	}

	// Pending keys survive a dump; promotion.
	{
		m := newUser("pend-0")
		steps := []step{newAdmin("adm", admin), newMember("m", m), memberSet("adm", admin, m),
			step{"op": "rekey", "obj": "adm", "save": "k0"}, step{"op": "keys_dump", "obj": "adm", "save": "d0"},
			step{"op": "new", "name": "adm2", "type": "group", "user_seed": admin.hexSeed(), "group_seed": hex.EncodeToString(groupSeed), "keys_dump_ref": "d0"},
			step{"op": "keys_state", "obj": "adm2"}, load("adm2", "h0", "k0", t0), step{"op": "keys_dump", "obj": "adm2", "save": "d1"},
			load("m", "h0", "k0", t0), step{"op": "keys_dump", "obj": "m", "save": "dm"},
			step{"op": "new", "name": "m2", "type": "group", "user_seed": m.hexSeed(), "group_pk": groupPK, "keys_dump_ref": "dm"},
			step{"op": "keys_state", "obj": "m2"},
			step{"op": "load_admin_key", "obj": "m2", "group_seed": hex.EncodeToString(otherSeed), "may_fail": true},
			step{"op": "keys_state", "obj": "m2"},
			step{"op": "load_admin_key", "obj": "m2", "group_seed": hex.EncodeToString(groupSeed)},
			step{"op": "keys_state", "obj": "m2"}, memberSet("m2", admin, m),
			step{"op": "rekey", "obj": "m2", "save": "k1"}, load("adm2", "h1", "k1", t0+1), load("m2", "h1", "k1", t0+1),
			step{"op": "keys_dump", "obj": "m2"},
			step{"op": "swarm_make_subaccount", "obj": "m2", "session_id": admin.id.String()},
		}
		add("pending_dump_promotion", "an admin's pending key in a dump, restored and confirmed; a member's dump; promotion with a wrong and the right group seed, then a rekey by the promoted admin", scenario(steps...))
	}

	// Bad key messages.
	{
		m := newUser("bad-0")
		ms := []user{admin, m}
		good := goodKeyMessage(admin, ms)
		var steps []step
		steps = append(steps, newAdmin("adm", admin), newMember("m", m), newMember("o", m), memberSet("adm", ms...))
		steps[2]["group_pk"] = otherPK
		for i, bad := range badKeyMessages(good) {
			h := "bad" + strconv.Itoa(i)
			steps = append(steps, loadData("m", h, bad, t0), loadData("adm", h, bad, t0))
		}
		steps = append(steps, loadData("o", "foreign", good, t0), step{"op": "keys_state", "obj": "m"}, loadData("m", "good", good, t0), step{"op": "keys_state", "obj": "m"})
		add("bad_key_messages", "tampered, truncated and malformed key messages (signature, nonce, generation, admin key, member key list sizes, junk padding, supplements, trailing keys); a message of another group", scenario(steps...))
	}

	// Group messages.
	{
		m := newUser("msg-0")
		o := newUser("msg-outsider")
		ms := []user{admin, m}
		gk := groupKey(admin, ms)
		big := make([]byte, 5000)
		for i := range big {
			big[i] = byte(i*7 + i/13)
		}
		steps := []step{newAdmin("adm", admin), newMember("m", m), memberSet("adm", ms...),
			step{"op": "rekey", "obj": "adm", "save": "k0"},
			step{"op": "encrypt_message", "obj": "adm", "plaintext_text": "pending key", "save": "p0"},
			load("adm", "h0", "k0", t0), load("m", "h0", "k0", t0),
			step{"op": "decrypt_message", "obj": "m", "data_ref": "p0"},
			step{"op": "encrypt_message", "obj": "m", "plaintext": "", "save": "e0"},
			step{"op": "encrypt_message", "obj": "m", "plaintext_text": "x", "padding": 1, "save": "e1"},
			step{"op": "encrypt_message", "obj": "m", "plaintext_text": "y", "padding": 0, "save": "e2"},
			step{"op": "encrypt_message", "obj": "m", "plaintext_text": "z", "padding": 100, "save": "e3"},
			step{"op": "encrypt_message", "obj": "m", "plaintext": hex.EncodeToString(big), "save": "e4"},
			step{"op": "encrypt_message", "obj": "m", "plaintext_text": strings.Repeat("squash ", 2000), "save": "e5"},
			step{"op": "encrypt_message", "obj": "m", "plaintext_text": strings.Repeat("no squash ", 100), "compress": false, "save": "e6"},
		}
		for i := range 7 {
			steps = append(steps, step{"op": "decrypt_message", "obj": "adm", "data_ref": "e" + strconv.Itoa(i), "may_fail": true})
		}
		steps = append(steps, step{"op": "rekey", "obj": "adm", "save": "k1"}, load("adm", "h1", "k1", t0+1), load("m", "h1", "k1", t0+1),
			step{"op": "decrypt_message", "obj": "m", "data_ref": "e1"},
			step{"op": "encrypt_message", "obj": "m", "plaintext_text": "gen 1", "save": "f0"},
			step{"op": "decrypt_message", "obj": "adm", "data_ref": "f0"})
		steps = append(steps, newMember("out", o), step{"op": "decrypt_message", "obj": "out", "data_ref": "e1", "may_fail": true},
			step{"op": "encrypt_message", "obj": "out", "plaintext_text": "no keys", "may_fail": true})
		for _, c := range craftedMessages(gk, m) {
			steps = append(steps, step{"op": "decrypt_message", "obj": "adm", "data": hex.EncodeToString(c), "may_fail": true})
		}
		add("messages", "group messages: pending key, empty, padding 1/0/100, incompressible and compressible large, uncompressed, over the size limit; older generations; an outsider; crafted bodies (versions, signatures, missing fields, padding, decompression limit)",
			withSeed(scenario(steps...), "6b657973"))
	}

	// Subaccounts for several members (both signs of the Ed25519 key).
	{
		ms := users("sub-", 6)
		steps := []step{newAdmin("adm", admin)}
		for i, u := range ms {
			n := "m" + strconv.Itoa(i)
			sv := "sv" + strconv.Itoa(i)
			steps = append(steps, newMember(n, u),
				step{"op": "swarm_make_subaccount", "obj": "adm", "session_id": u.id.String(), "write": i%2 == 0, "del": i%3 == 0, "save": sv},
				step{"op": "swarm_subaccount_token", "obj": "adm", "session_id": u.id.String(), "write": i%2 == 0, "del": i%3 == 0},
				step{"op": "swarm_subaccount_sign", "obj": n, "msg_text": "store11" + strconv.Itoa(1700000000000+i), "sign_value_ref": sv},
				step{"op": "swarm_subaccount_sign", "obj": n, "msg_text": "", "sign_value_ref": sv},
				step{"op": "swarm_verify_subaccount", "obj": n, "sign_value_ref": sv},
				step{"op": "swarm_verify_subaccount", "obj": n, "sign_value_ref": sv, "write": true},
				step{"op": "swarm_verify_subaccount", "obj": n, "sign_value_ref": sv, "write": true, "del": true},
				step{"op": "swarm_verify_subaccount", "obj": "m0", "sign_value_ref": sv},
			)
		}
		add("subaccounts", "subaccount auth data, tokens, signatures and verification for six members with every flag combination", scenario(steps...))
		var pk []string
		for _, u := range ms {
			pk = append(pk, hex.EncodeToString(u.sk[32:34]))
		}
		log.Printf("subaccount members' key prefixes: %v", pk)
	}

	for i := range vs {
		for j := range vs[i].Calls {
			resolveDumpRefs(*oracle, vs[i].Calls[j].Command)
		}
	}
	runOracle(*oracle, vs)
	// The 300 loads of hash_order each answer with every hash so far;
	// the dumps are what that vector checks.
	for i := range vs {
		if vs[i].ID != "gkeys.hash_order" {
			continue
		}
		steps := vs[i].Calls[0].Command["steps"].([]any)
		for j, r := range vs[i].Calls[0].Response["results"].([]any) {
			if steps[j].(map[string]any)["op"] == "load_key_message" {
				delete(r.(map[string]any), "keys")
			}
		}
	}
	b, err := json.MarshalIndent(map[string]any{"format": "lsu-oracle vectors (gkeys)", "vectors": vs}, "", " ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %d vectors to %s", len(vs), *out)
}

func withSeed(c map[string]any, seed string) map[string]any {
	c["rng_seed"] = seed
	return c
}

// goodKeyMessage is the generation-0 key message over members.
func goodKeyMessage(admin user, members []user) []byte {
	k, err := groups.NewKeys(groups.KeysOptions{User: admin.sk, GroupPublic: groupSecret.Public().(ed25519.PublicKey), GroupSecret: groupSecret})
	if err != nil {
		log.Fatal(err)
	}
	var ids []key.SessionID
	for _, m := range members {
		ids = append(ids, m.id)
	}
	msg, err := k.Rekey(ids)
	if err != nil {
		log.Fatal(err)
	}
	return msg
}

// resign replaces the signature of a key message body (everything up to
// "1:~") by the group's.
func resign(body []byte) []byte {
	b := append([]byte(nil), body...)
	sig := ed25519.Sign(groupSecret, b)
	b = append(b, "1:~64:"...)
	b = append(b, sig...)
	return append(b, 'e')
}

func badKeyMessages(good []byte) [][]byte {
	good = bytes.Clone(good)
	i := bytes.Index(good, []byte("1:~64:"))
	unsigned := good[:i:i]
	flip := append([]byte(nil), good...)
	flip[len(flip)-2] ^= 1
	kStart := bytes.Index(unsigned, []byte("1:kl")) + 4
	entries := bytes.Clone(unsigned[kStart : len(unsigned)-1]) // 75 × "48:…"
	var out [][]byte
	out = append(out,
		flip,               // bad signature
		good[:len(good)-1], // truncated
		unsigned,           // no signature
		append(append([]byte(nil), unsigned...), 'e'),
		[]byte("garbage"),
		[]byte("de"),
		[]byte("le"),
		append(append([]byte(nil), good...), "xyz"...), // trailing bytes after the dict
		[]byte("d1:#24:"+strings.Repeat("n", 24)),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:Gi0e1:K48:"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:Gi99999999999999999999e"),
		[]byte("d1:#i3ee"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:Gi0e1:Kle"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:Gi0e1:K48:"+strings.Repeat("k", 48)+"1:k5:abcdee"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:Gi0e1:K48:"+strings.Repeat("k", 48)+"1:kli1eee"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:Gi0e1:K48:"+strings.Repeat("k", 48)+"1:klee"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:Gi0e1:K48:"+strings.Repeat("k", 48)+"1:kle1:~3:abce"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:Gi0e1:K48:"+strings.Repeat("k", 48)+"1:kle1:~64:"+strings.Repeat("s", 64)+"e"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:Gi0e1:K48:"+strings.Repeat("k", 48)+"1:kle1:~64:"+strings.Repeat("s", 64)),
		[]byte("d2:##24:"+strings.Repeat("n", 24)+"e"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:#3:abce"),
		[]byte("d1:#30:"+strings.Repeat("n", 24)+"e"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:+i0ee"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:+l5:abcdee"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:Gi01ee"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:Gi-0ee"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:Gie"),
		[]byte("d1:#24:"+strings.Repeat("n", 24)+"1:G3:abce"),
		resign([]byte(strings.Replace(string(unsigned), "1:Gi0e", "1:Gi-1e", 1))),
		resign([]byte(strings.Replace(string(unsigned), "1:Gi0e", "1:Gi5e", 1))),
		resign(append([]byte("d1:#24:"+strings.Repeat("n", 24)), unsigned[len("d1:#24:")+24:]...)), // wrong nonce
		resign([]byte("d1:Gi0ee")[:len("d1:Gi0e")]),
		resign(append(append([]byte(nil), unsigned[:kStart]...), append(entries[:len(entries)-51], 'e')...)),                                      // 74 entries
		resign(append(append([]byte(nil), unsigned[:kStart]...), append(append(append([]byte(nil), entries...), entries[:51]...), 'e')...)),       // 76
		resign(append(append([]byte(nil), unsigned[:kStart]...), append([]byte("47:"+strings.Repeat("j", 47)), append(entries[51:], 'e')...)...)), // short entry
		resign(append(append([]byte(nil), unsigned...), "1:xi1e"...)),                                                                             // unknown key before "~"
		append(append([]byte(nil), good[:len(good)-1]...), "1:zi1ee"...),                                                                          // key after "~"
		resign([]byte(strings.Replace(string(unsigned), "1:K48:", "1:K47:", 1)[:len(unsigned)-0])),
		resign([]byte("d1:#24:"+strings.Repeat("n", 24)+"1:+l10:0123456789e1:Gi0e")),
		resign([]byte("d1:#24:"+strings.Repeat("n", 24)+"1:+le")),
		resign([]byte("d1:#24:"+strings.Repeat("n", 24)+"1:+l68:"+strings.Repeat("s", 68)+"e1:Gi3e")),
		resign([]byte("d1:#24:"+strings.Repeat("n", 24)+"1:+l68:"+strings.Repeat("s", 68)+"e")),
	)
	return out
}

// craftedMessages are group message bodies encrypted with the group key
// and m's signature, each malformed in one way.
func craftedMessages(gk [32]byte, m user) [][]byte {
	a := m.sk[32:]
	sig := func(d []byte) []byte { return ed25519.Sign(m.sk, d) }
	d := []byte("hi")
	s := sig(d)
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	bomb := enc.EncodeAll(make([]byte, 1_000_001), nil)
	fits := enc.EncodeAll(make([]byte, 1_000_000), nil)
	bombSig, fitsSig := sig(bomb), sig(fits)
	notZstd := []byte("not zstd at all")
	pad := func(b []byte, n int) []byte { return append(b, make([]byte, n)...) }
	bodies := [][]byte{
		body("0:i1e", "1:a"+btStr(a), "1:d"+btStr(d), "1:s"+btStr(s)),
		body("0:i2e", "1:a"+btStr(a), "1:d"+btStr(d), "1:s"+btStr(s)),
		body("1:a"+btStr(a), "1:d"+btStr(d), "1:s"+btStr(s)),
		body("0:i1e", "1:d"+btStr(d), "1:s"+btStr(s)),
		body("0:i1e", "1:a"+btStr(a[:31]), "1:d"+btStr(d), "1:s"+btStr(s)),
		body("0:i1e", "1:a"+btStr(a), "1:s"+btStr(s)),
		body("0:i1e", "1:a"+btStr(a), "1:d"+btStr(d)),
		body("0:i1e", "1:a"+btStr(a), "1:d"+btStr(d), "1:s"+btStr(s[:63])),
		body("0:i1e", "1:a"+btStr(a), "1:d"+btStr([]byte("ho")), "1:s"+btStr(s)),
		body("0:i1e", "1:a"+btStr(a), "1:d"+btStr(d), "1:s"+btStr(s), "1:z"+btStr(d)),
		body("0:i1e", "1:a"+btStr(a), "1:s"+btStr(bombSig), "1:z"+btStr(bomb)),
		body("0:i1e", "1:a"+btStr(a), "1:s"+btStr(fitsSig), "1:z"+btStr(fits)),
		body("0:i1e", "1:a"+btStr(a), "1:s"+btStr(sig(notZstd)), "1:z"+btStr(notZstd)),
		pad(body("0:i1e", "1:a"+btStr(a), "1:d"+btStr(d), "1:s"+btStr(s)), 500),
		pad(body("0:i1e", "1:a"+btStr(a), "1:d"+btStr(d), "1:s"+btStr(s), "1:xi0e"), 3),
		append(body("0:i1e", "1:a"+btStr(a), "1:d"+btStr(d), "1:s"+btStr(s)), "junk"...),
		[]byte("garbage"),
		{},
		make([]byte, 10),
		body("0:i1e", "1:a"+btStr(a), "1:s"+btStr(sig(nil)), "1:z0:"),
		body("0:i1e", "1:a"+btStr(a), "1:d"+btStr(d), "1:s"+btStr(s), "1:~i1e"),
		body("0:i1e", "1:a"+btStr(a), "1:d"+btStr(d), "1:s"+btStr(append(bytes.Clone(s[:30]), strings.Repeat("x", 34)...))),
		body(),
		[]byte("dxe"),
		[]byte("d0:i1ee\x00x"),
		body("0:i1e", "1:a"+btStr(a), "1:d"+btStr(d), "1:d"+btStr(d), "1:s"+btStr(s)),
		body("0:i1e", "1:a"+btStr(make([]byte, 32)), "1:d"+btStr(d), "1:s"+btStr(s)),
		body("0:i1e", "1:a"+btStr(make([]byte, 32)), "1:d"+btStr(d)),
		body("0:i1e", "1:a"+btStr(make([]byte, 32)), "1:d0:", "1:s"+btStr(s)),
		body("0:i1e", "1:a"+btStr(a), "1:d"+btStr(d), "1:s"+btStr(s), "1:z"+btStr(d), "1:zi0e"),
		body("0:i1e", "1:a"+btStr(a), "1:d"+btStr(d), "1:s"+btStr(s), "1:zi0e"),
		body("0:i1e", "1:a"+btStr(a), "1:s"+btStr(sig(enc.EncodeAll(nil, nil))), "1:z"+btStr(enc.EncodeAll(nil, nil))),
	}
	var out [][]byte
	for _, b := range bodies {
		out = append(out, seal(gk, b))
	}
	out = append(out, make([]byte, 39), seal(gk, nil)[:39])
	return out
}

// resolveDumpRefs replaces each "keys_dump_ref" of a new step by the
// dump itself ("keys_dump"), which the oracle's new step requires: it
// ignores keys_dump_ref. The dump is what the oracle returns for the
// scenario up to that step.
func resolveDumpRefs(path string, cmd map[string]any) {
	steps := cmd["steps"].([]any)
	for i, st := range steps {
		s := st.(map[string]any)
		ref, ok := s["keys_dump_ref"].(string)
		if !ok {
			continue
		}
		prefix := map[string]any{"cmd": "scenario", "steps": steps[:i]}
		if seed, ok := cmd["rng_seed"]; ok {
			prefix["rng_seed"] = seed
		}
		v := []vector{{Calls: []call{{Command: prefix}}}}
		runOracle(path, v)
		results := v[0].Calls[0].Response["results"].([]any)
		for j, pst := range steps[:i] {
			if pst.(map[string]any)["save"] == ref {
				s["keys_dump"] = results[j].(map[string]any)["dump"]
			}
		}
		if s["keys_dump"] == nil {
			log.Fatalf("no dump saved as %q", ref)
		}
		delete(s, "keys_dump_ref")
	}
}

func runOracle(path string, vs []vector) {
	var in bytes.Buffer
	for _, v := range vs {
		for _, c := range v.Calls {
			b, err := json.Marshal(c.Command)
			if err != nil {
				log.Fatal(err)
			}
			in.Write(append(b, '\n'))
		}
	}
	cmd := exec.Command(path)
	cmd.Stdin = &in
	cmd.Stderr = os.Stderr
	outp, err := cmd.Output()
	if err != nil {
		log.Fatalf("oracle: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(outp))
	sc.Buffer(nil, 1<<30)
	for i := range vs {
		for j := range vs[i].Calls {
			if !sc.Scan() {
				log.Fatalf("oracle: too few replies")
			}
			var r map[string]any
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				log.Fatal(err)
			}
			strip(r)
			vs[i].Calls[j].Response = r
		}
	}
}

// strip drops the diagnostics (*_json, layers) from replies and, as the
// public vectors do, replaces hex strings over 12 kB by the SHA-256 of
// their bytes (field "X_sha256").
func strip(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if strings.HasSuffix(k, "_json") || k == "layers" {
				delete(v, k)
				continue
			}
			if str, ok := x.(string); ok && len(str) > 12000 {
				if b, err := hex.DecodeString(str); err == nil {
					sum := sha256.Sum256(b)
					v[k+"_sha256"] = hex.EncodeToString(sum[:])
					delete(v, k)
					continue
				}
			}
			strip(x)
		}
	case []any:
		for _, x := range v {
			strip(x)
		}
	}
}
