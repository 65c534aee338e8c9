package groups

import (
	"fmt"
	"testing"

	"sotto.dev/key"
)

func benchMembers(b *testing.B, n int) []testUser {
	us := make([]testUser, n)
	for i := range us {
		us[i] = newTestUser(b, fmt.Sprint("bench", i))
	}
	return us
}

// BenchmarkRekey measures an admin's rekey of 100 and 1,000 members (one
// X25519 and one XChaCha20-Poly1305 per member, junk to a multiple of 75,
// one signature), and reports the key message size.
func BenchmarkRekey(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			us := benchMembers(b, n)
			admin := newTestKeys(b, us[0], testGroup(b), true)
			members := make([]key.SessionID, n)
			for i, u := range us {
				members[i] = u.id
			}
			var size int
			for b.Loop() {
				msg, err := admin.Rekey(members)
				if err != nil {
					b.Fatal(err)
				}
				size = len(msg)
			}
			b.ReportMetric(float64(size), "msg-bytes")
		})
	}
}

// BenchmarkLoad measures a member loading a rekey of 100 and 1,000
// members whose entry is the last one tried.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			us := benchMembers(b, n)
			group := testGroup(b)
			admin := newTestKeys(b, us[0], group, true)
			members := make([]key.SessionID, n)
			for i, u := range us {
				members[i] = u.id
			}
			msg, err := admin.Rekey(members)
			if err != nil {
				b.Fatal(err)
			}
			// The member whose id sorts last has the last entry.
			last := us[0]
			for _, u := range us {
				if u.id.String() > last.id.String() {
					last = u
				}
			}
			member := newTestKeys(b, last, group, false)
			for b.Loop() {
				found, err := member.Load("h", msg, 1)
				if err != nil || !found {
					b.Fatal(found, err)
				}
			}
		})
	}
}

func BenchmarkEncryptMessage(b *testing.B) {
	_, member, _ := messageKeys(b)
	pt := make([]byte, 1000)
	for b.Loop() {
		if _, err := member.EncryptMessage(pt, true, DefaultPadding); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecryptMessage(b *testing.B) {
	admin, member, _ := messageKeys(b)
	ct, err := member.EncryptMessage(make([]byte, 1000), true, DefaultPadding)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := admin.DecryptMessage(ct); err != nil {
			b.Fatal(err)
		}
	}
}
