package groups_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"sotto.dev/config/groups"
	"sotto.dev/identity"
	"sotto.dev/key"
)

func Example() {
	seed := func(tag string) []byte { s := sha256.Sum256([]byte(tag)); return s[:] }
	group := ed25519.NewKeyFromSeed(seed("group"))
	alice, _ := identity.KeysFromSeed(seed("alice")) // the admin
	bob, _ := identity.KeysFromSeed(seed("bob"))

	admin, _ := groups.NewKeys(groups.KeysOptions{User: alice.Ed25519Private(),
		GroupPublic: group.Public().(ed25519.PublicKey), GroupSecret: group})
	member, _ := groups.NewKeys(groups.KeysOptions{User: bob.Ed25519Private(),
		GroupPublic: group.Public().(ed25519.PublicKey)})

	// The admin rekeys and stores the message in namespace 12; everyone,
	// the admin included, loads it with the swarm's hash and timestamp.
	msg, _ := admin.Rekey([]key.SessionID{alice.SessionID(), bob.SessionID()})
	for _, k := range []*groups.Keys{admin, member} {
		found, err := k.Load("hash0", msg, 1_700_000_000_000)
		fmt.Println(found, err)
	}

	// Group messages (namespace 11).
	ct, _ := member.EncryptMessage([]byte("hello group"), true, groups.DefaultPadding)
	sender, pt, _ := admin.DecryptMessage(ct)
	fmt.Println(sender == bob.SessionID(), string(pt), len(ct))

	// Bob's access to the group's swarm.
	auth, _ := admin.MakeSubaccount(bob.SessionID(), true, false)
	sig, _ := groups.SubaccountSign(bob.Ed25519Private(), auth, []byte("retrieve111700000000000"))
	fmt.Println(sig.Token[0], sig.Token[1])
	// Output:
	// true <nil>
	// true <nil>
	// true hello group 256
	// 3 3
}
