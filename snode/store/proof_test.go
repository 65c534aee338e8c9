package store

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"testing"
)

// oldSchema is the store's schema before proofs were kept.
const oldSchema = `
CREATE TABLE owners (id INTEGER PRIMARY KEY, pubkey BLOB NOT NULL UNIQUE);
CREATE TABLE messages (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, owner INTEGER NOT NULL REFERENCES owners(id),
	namespace INTEGER NOT NULL, timestamp INTEGER NOT NULL, expiry INTEGER NOT NULL, mtime INTEGER NOT NULL, data BLOB);
CREATE TABLE revoked (owner INTEGER NOT NULL REFERENCES owners(id), token BLOB NOT NULL, revoked INTEGER NOT NULL,
	mtime INTEGER NOT NULL, PRIMARY KEY (owner, token)) WITHOUT ROWID;
`

// TestOpenOldStore opens a store written before proofs were kept: its rows
// are served, without proofs, and new rows keep theirs.
func TestOpenOldStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := sql.Open("sqlite3", dsn(path, false, walBufVFS))
	if err != nil {
		t.Fatal(err)
	}
	a := acct(1)
	old := msg(a, 0, 1, 1000, 100_000)
	for _, q := range []struct {
		q    string
		args []any
	}{
		{oldSchema, nil},
		{"INSERT INTO owners (id, pubkey) VALUES (1, ?)", []any{a[:]}},
		{"INSERT INTO messages (hash, owner, namespace, timestamp, expiry, mtime, data) VALUES (?, 1, 0, 1000, 100000, 1000, ?)", []any{old.Hash, old.Data}},
		{"INSERT INTO revoked (owner, token, revoked, mtime) VALUES (1, ?, 1, 1000)", []any{make([]byte, TokenSize)}},
	} {
		if _, err := db.Exec(q.q, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := open(t, Options{Path: path})
	got, _, err := s.Retrieve(ctx, RetrieveQuery{Account: a, MaxCount: 10, MaxSize: 1 << 20, Now: 2000})
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].Data, old.Data) {
		t.Fatalf("old row: %v %v", got, err)
	}
	recs, err := s.Fetch(ctx, []string{old.Hash})
	if err != nil || len(recs) != 1 || recs[0].StoreProof != nil || recs[0].ChangeProof != nil {
		t.Fatalf("old row fetched as %+v (%v), want no proofs", recs, err)
	}

	// New rows keep their proofs through every change.
	m := msg(a, 0, 2, 1000, 100_000)
	m.StoreProof = []byte("store request")
	mustStore(t, s, m, 1500)
	if _, err := s.DeleteByHash(ctx, a, []string{m.Hash}, 1600, []byte("delete request")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateExpiry(ctx, a, []string{old.Hash}, []int64{50_000}, ExpiryAny, 1700, []byte("expire request")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, a, [][TokenSize]byte{{1}}, 1800, []byte("revoke request")); err != nil {
		t.Fatal(err)
	}
	recs, err = s.Fetch(ctx, []string{m.Hash, old.Hash})
	if err != nil || len(recs) != 2 {
		t.Fatalf("fetch: %v %v", recs, err)
	}
	if string(recs[0].StoreProof) != "store request" || string(recs[0].ChangeProof) != "delete request" || !recs[0].Deleted {
		t.Errorf("deleted row: %+v", recs[0])
	}
	if recs[1].StoreProof != nil || string(recs[1].ChangeProof) != "expire request" || recs[1].Expiry != 50_000 {
		t.Errorf("expired row: %+v", recs[1])
	}
	_, revs, err := s.Export(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range revs {
		if want := r.Token == [TokenSize]byte{1}; want != (string(r.Proof) == "revoke request") {
			t.Errorf("revocation %x: proof %q", r.Token[:1], r.Proof)
		}
	}

	// A merged row takes the pushed proofs.
	dst := open(t, Options{})
	if _, err := dst.Merge(ctx, recs, revs, 2000); err != nil {
		t.Fatal(err)
	}
	got2, err := dst.Fetch(ctx, []string{m.Hash})
	if err != nil || len(got2) != 1 || string(got2[0].StoreProof) != "store request" || string(got2[0].ChangeProof) != "delete request" {
		t.Errorf("merged: %+v %v", got2, err)
	}
}
