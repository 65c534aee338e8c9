package groups_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"

	"sotto.dev/config"
	"sotto.dev/config/groups"
	"sotto.dev/identity"
)

// An admin creates a group of two, rekeys and pushes its info; the member
// loads the key message and reads the info.
func ExampleGroup() {
	user := func(tag string) *identity.Keys {
		s := sha256.Sum256([]byte("example:" + tag))
		k, err := identity.KeysFromSeed(s[:])
		if err != nil {
			panic(err)
		}
		return k
	}
	alice, bob := user("alice"), user("bob")
	gs := sha256.Sum256([]byte("example:group"))
	secret := ed25519.NewKeyFromSeed(gs[:])

	admin, err := groups.Open(groups.Options{User: alice.Ed25519Private(), Secret: secret})
	if err != nil {
		panic(err)
	}
	m := groups.NewMember(alice.SessionID())
	m.Name, m.Admin = "Alice", true
	_ = admin.Members.Set(m)
	m = groups.NewMember(bob.SessionID())
	m.Name = "Bob"
	m.SetInviteSent()
	_ = admin.Members.Set(m)
	_ = admin.Info.SetName("Book club")

	keyMsg, err := admin.Rekey() // stored in namespace 12
	if err != nil {
		panic(err)
	}
	// The admin loads its own key message once the swarm stored it.
	if _, err := admin.LoadKeyMessage("hash-k0", keyMsg, 1_700_000_000_000); err != nil {
		panic(err)
	}
	info, err := admin.Info.Push() // namespace 13
	if err != nil {
		panic(err)
	}
	admin.Info.ConfirmPushed(info.Seqno, "hash-i1")

	member, err := groups.Open(groups.Options{User: bob.Ed25519Private(), Public: secret.Public().(ed25519.PublicKey)})
	if err != nil {
		panic(err)
	}
	found, err := member.LoadKeyMessage("hash-k0", keyMsg, 1_700_000_000_000)
	if err != nil {
		panic(err)
	}
	if _, err := member.Info.Merge([]config.Incoming{{Hash: "hash-i1", Data: info.Messages[0]}}); err != nil {
		panic(err)
	}
	fmt.Println(found, member.Info.Name(), member.Admin(), errors.Is(member.Info.SetName("mine"), config.ErrReadOnly))
	// Output: true Book club false true
}
