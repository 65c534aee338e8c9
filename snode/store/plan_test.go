package store

import (
	"strings"
	"testing"

	"github.com/ncruces/go-sqlite3"
)

// TestRetrievePlan pins the page query to the (owner, namespace, id)
// index: a scan here would make every retrieve read the whole table.
func TestRetrievePlan(t *testing.T) {
	s := open(t, Options{})
	mustStore(t, s, msg(acct(1), 0, 1, 1000, 1<<50), 1000)
	a := acct(1)
	rows, err := s.rdb.Query("EXPLAIN QUERY PLAN "+pageQuery, a[:], 0, "h", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	for _, want := range []string{
		"SEARCH messages USING INDEX messages_owner_ns (owner=? AND namespace=? AND id>?)", // the page
		"SEARCH messages USING INDEX sqlite_autoindex_messages_1 (hash=?)",                 // last_hash
		"SEARCH owners USING COVERING INDEX sqlite_autoindex_owners_1 (pubkey=?)",
	} {
		if !strings.Contains(strings.Join(plan, "\n"), want) {
			t.Fatalf("page query plan lacks %q:\n%s", want, strings.Join(plan, "\n"))
		}
	}
	t.Logf("plan:\n%s", strings.Join(plan, "\n"))
	if strings.Contains(strings.Join(plan, "\n"), "SCAN") {
		t.Fatalf("page query plan scans:\n%s", strings.Join(plan, "\n"))
	}
}

// The retrieve connections keep their prepared page query: SQLite reports
// no re-preparation after many retrieves with and without last_hash.
func TestRetrieveNoReprepare(t *testing.T) {
	s := open(t, Options{ReadConns: 1})
	a := acct(1)
	for i := range 3 {
		mustStore(t, s, msg(a, int16(i%2), i, 1000, 1<<50), int64(1000+i))
	}
	for i := range 20 {
		q := RetrieveQuery{Account: a, Namespace: int16(i % 2), Now: 2000}
		if i%3 == 0 {
			q.LastHash = msg(a, 0, 0, 0, 0).Hash
		}
		if _, _, err := s.Retrieve(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	r := <-s.readers
	defer func() { s.readers <- r }()
	if n := r.page.Status(sqlite3.STMTSTATUS_REPREPARE, false); n != 0 {
		t.Errorf("page query re-prepared %d times", n)
	}
}
