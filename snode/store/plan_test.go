package store

import (
	"strings"
	"testing"
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
