package config

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"testing"

	"sotto.dev/key"
)

// benchSizes are the contact list sizes of docs/PERFORMANCE.md; 10,000
// contacts need multi-part messages.
var benchSizes = []int{100, 1000, 10000}

// benchContacts returns a contacts object with n contacts (random IDs, a
// name, approved, a creation time), pushed and confirmed once.
func benchContacts(b *testing.B, n int) *Contacts {
	b.Helper()
	cs, err := NewContacts(Options{Account: userAccount("bench")})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		id := key.NewSessionID(key.PrefixStandard, sha256.Sum256([]byte("bench contact "+strconv.Itoa(i))))
		if err := cs.Set(Contact{ID: id, Name: "Contact number " + strconv.Itoa(i), Approved: true, ApprovedMe: i%2 == 0, Created: 1700000000 + int64(i)}); err != nil {
			b.Fatal(err)
		}
	}
	p, err := cs.Push()
	if err != nil {
		b.Fatal(err)
	}
	cs.ConfirmPushed(p.Seqno, "h0")
	return cs
}

// BenchmarkContactsPush measures one change to a contact list and its push
// (serialize, compress, pad, encrypt, wrap or split into parts).
func BenchmarkContactsPush(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("contacts=%d", n), func(b *testing.B) {
			cs := benchContacts(b, n)
			first := cs.All()[0]
			size, parts := 0, 0
			i := 0
			for b.Loop() {
				i++
				first.Nickname = "nick " + strconv.Itoa(i)
				if err := cs.Set(first); err != nil {
					b.Fatal(err)
				}
				p, err := cs.Push()
				if err != nil {
					b.Fatal(err)
				}
				cs.ConfirmPushed(p.Seqno, "h"+strconv.Itoa(i))
				size, parts = 0, len(p.Messages)
				for _, m := range p.Messages {
					size += len(m)
				}
			}
			b.ReportMetric(float64(size), "bytes/push")
			b.ReportMetric(float64(parts), "msgs/push")
		})
	}
}

// BenchmarkContactsMerge measures a device merging another device's push
// of a whole contact list into an empty object, as a restored device does
// (unwrap, decrypt, decompress, join parts, parse, adopt).
func BenchmarkContactsMerge(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("contacts=%d", n), func(b *testing.B) {
			cs := benchContacts(b, n)
			p, err := cs.Push()
			if err != nil {
				b.Fatal(err)
			}
			in := make([]Incoming, len(p.Messages))
			for i, m := range p.Messages {
				in[i] = Incoming{Hash: "part" + strconv.Itoa(i), Data: m}
			}
			for b.Loop() {
				other, err := NewContacts(Options{Account: userAccount("bench")})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := other.Merge(in); err != nil {
					b.Fatal(err)
				}
				if other.Len() != n {
					b.Fatalf("merged %d contacts, want %d", other.Len(), n)
				}
			}
		})
	}
}
