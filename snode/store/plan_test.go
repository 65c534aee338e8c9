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
	rows, err := s.rdb.Query("EXPLAIN QUERY PLAN "+pageQuery, a[:], 0, 0, 0)
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
	if !strings.Contains(strings.Join(plan, "\n"), "USING INDEX messages_owner_ns (owner=? AND namespace=? AND id>?)") {
		t.Fatalf("page query plan:\n%s", strings.Join(plan, "\n"))
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
	for _, st := range []*sqlite3.Stmt{r.page, r.lastID} {
		if n := st.Status(sqlite3.STMTSTATUS_REPREPARE, false); n != 0 {
			t.Errorf("%q re-prepared %d times", st.SQL(), n)
		}
	}
}
