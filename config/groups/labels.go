package groups

import "time"

// Hash keys, domains and limits of groups v2 keys, messages and
// subaccounts. Each comment names the section of
// spec/libsession-configs.md, and the libsession-util 1.2.0 source it
// cites, that defines the value.
const (
	// labelKeySeed keys H_32(group seed), which enters the rekey hash and
	// the supplement nonce (§4.8; keys.cpp:246, seed_hash base.cpp:608-620).
	labelKeySeed = "SessionGroupKeySeed"

	// labelKeyGen keys the 56-byte rekey hash (key || nonce) and the
	// 24-byte supplement nonce (§4.8; keys.cpp:247,293-311,459-470).
	labelKeyGen = "SessionGroupKeyGen"

	// labelKeyAdminKey keys H_32(group seed), the key that encrypts "K",
	// the admins' copy of a generation's key (§4.8, §4.12 item 3;
	// keys.cpp:248). The header calls it "SessionGroupKeyAdmin": wrong.
	labelKeyAdminKey = "SessionGroupKeyAdminKey"

	// labelKeyMemberKey keys the per-member key H_32(X25519(a, B) || A ||
	// B) of "k" and "+" entries (§4.8, §4.12 item 3; keys.cpp:249,
	// multi_encrypt.cpp:20-52). The header calls it "…KeyMember": wrong.
	labelKeyMemberKey = "SessionGroupKeyMemberKey"

	// labelJunkMembers keys the seed of the deterministic junk entries of
	// a rekey (§4.8; keys.cpp:250,372-390).
	labelJunkMembers = "SessionGroupJunkMembers"

	// labelKicked is the encrypt_for_multiple_simple domain of the kick
	// notices admins leave in namespace −11 (session-android's
	// MultiEncrypt.KICKED_DOMAIN and GroupRevokedMessageHandler; not in
	// libsession 1.2.0's sources, docs/groups.md).
	labelKicked = "SessionGroupKickedMessage"

	// labelSubaccountMask keys H_32(group seed), the key of the subaccount
	// blinding factor k (§4.10; keys.cpp:541-560).
	labelSubaccountMask = "SessionGroupSubaccountMask"

	// labelSubaccountSeed keys H_32(user seed) in a member's subaccount
	// signature nonce (§4.10; keys.cpp swarm_subaccount_sign).
	labelSubaccountSeed = "SubaccountSeed"

	// labelSubaccountSig keys the 64-byte hash reduced to the subaccount
	// signature nonce r (§4.10; keys.cpp swarm_subaccount_sign).
	labelSubaccountSig = "SubaccountSig"
)

const (
	// keyMultiple is MESSAGE_KEY_MULTIPLE: the "k" list of a rekey is
	// padded with junk to a multiple of it (§4.8; keys.hpp:146).
	keyMultiple = 75

	// KeyExpiry is KEY_EXPIRY: a generation is dropped once the next one
	// is this much older than the newest key, by swarm timestamps (§4.8;
	// keys.hpp:164).
	KeyExpiry = 60 * 24 * time.Hour

	// MaxMessageSize is the largest group message plaintext, and the
	// largest a compressed one may expand to (§4.9; keys.hpp:167).
	MaxMessageSize = 1_000_000

	// messageVersion is the "" entry of a group message (§4.9).
	messageVersion = 1

	// DefaultPadding is encrypt_message's default padding multiple (§4.9).
	DefaultPadding = 256

	// entrySize is one encrypted key entry: a 32-byte key and a
	// Poly1305 tag (§4.8).
	entrySize = 32 + 16

	// minSupplementEntry is the smallest encrypted supplement entry:
	// d1:k32:…1:gi1e1:ti0ee and a tag (keys.cpp load_key_message).
	minSupplementEntry = 52 + 16
)

// Subaccount token flags (§4.10; oxen-storage-server subaccount_token.h).
const (
	subaccountRead      = 1
	subaccountWrite     = 2
	subaccountDelete    = 4
	subaccountAnyPrefix = 8
)
