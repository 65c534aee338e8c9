package vectors

import "testing"

func TestFileDecodes(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 40 {
		t.Fatalf("got %d vectors, want the full Session set", len(all))
	}
	seen := map[string]bool{}
	for _, v := range all {
		if v.Name == "" || seen[v.Name] {
			t.Fatalf("vector name %q empty or duplicated", v.Name)
		}
		seen[v.Name] = true
	}
}
