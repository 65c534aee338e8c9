package snode

import (
	"encoding/json"
	"testing"
	"time"

	"sotto.dev/storagerpc"
)

// BenchmarkAEVerify measures what a receiver spends on rows pushed by
// anti-entropy before it merges them: decoding the push and checking every
// row (validRecords), per push of 256 rows of 500 bytes from 64 accounts.
// "proofs" are rows of signed namespace 1 with their store requests (one
// Ed25519 verification each); "no_proofs" are public-inbox rows, which
// need none and get only the checks every row gets (data hash, times, TTL),
// what a receiver did for every row before proofs.
//
//	go test -run '^$' -bench AEVerify -benchtime 20x ./snode/
func BenchmarkAEVerify(b *testing.B) {
	for _, c := range []struct {
		name string
		ns   storagerpc.Namespace
	}{{"proofs", 1}, {"no_proofs", 0}} {
		b.Run(c.name, func(b *testing.B) {
			n := benchNode(b)
			n.node.sync.done()
			users := make([]*user, 64)
			for i := range users {
				users[i] = newUser(b)
			}
			const rows = 256
			var push aeRecords
			for i := range rows {
				p := users[i%len(users)].store(c.ns, randomData(b, 500), time.Hour)
				r := aeRecord{Account: storeAccount(p.Account).Hex(), NS: int16(p.Namespace), Hash: p.Hash(),
					Timestamp: p.Timestamp, Expiry: p.Expiry, MTime: p.Timestamp, Data: p.Data}
				if c.ns.StoreNeedsAuth() {
					r.StoreProof = makeProof(p)
				}
				push.Records = append(push.Records, r)
			}
			body, err := json.Marshal(&push)
			if err != nil {
				b.Fatal(err)
			}
			m := n.node.mem.Load()
			ctx := b.Context()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				var in aeRecords
				if err := json.Unmarshal(body, &in); err != nil {
					b.Fatal(err)
				}
				recs, _, rejected, _ := n.node.validRecords(ctx, m, in, time.Now())
				if rejected != 0 || len(recs) != rows {
					b.Fatalf("%d rows kept, %d rejected", len(recs), rejected)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*rows), "µs/row")
		})
	}
}
