package groups

import (
	"testing"

	"sotto.dev/key"
)

// BenchmarkMembers1000 adds 1,000 members whose invitations are not sent
// yet (each one joins the pending-send list), then pushes the config.
func BenchmarkMembers1000(b *testing.B) {
	sk := testGroupKey("bench")
	ids := make([]key.SessionID, 1000)
	for i := range ids {
		var k [32]byte
		k[0], k[1] = byte(i), byte(i>>8)
		ids[i] = key.NewSessionID(key.PrefixStandard, k)
	}
	for b.Loop() {
		ms, err := NewMembers(adminOpts(sk))
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range ids {
			m := NewMember(id)
			m.Name = "member"
			if err := ms.Set(m); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := ms.Push(); err != nil {
			b.Fatal(err)
		}
	}
}
