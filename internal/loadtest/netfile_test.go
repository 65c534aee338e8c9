package loadtest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestReadNetworkFile(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"client form", `{"seed_nodes": [{"url": "https://127.0.0.1:1", "cert_sha256": "00"}, {"url": "https://127.0.0.1:2"}]}`, []string{"https://127.0.0.1:1", "https://127.0.0.1:2"}},
		// ../shared/tools/oss/fake_oxend.py writes bare URLs.
		{"bare URLs", `{"seed_nodes": ["https://127.0.0.1:22099"], "nodes": [{"https": "https://127.0.0.1:22200"}]}`, []string{"https://127.0.0.1:22099"}},
		{"no seeds", `{"seed_nodes": []}`, nil},
		{"not JSON", `seed_nodes`, nil},
		{"a number", `{"seed_nodes": [7]}`, nil},
		{"no url", `{"seed_nodes": [{"cert_sha256": "00"}]}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "network.json")
			if err := os.WriteFile(p, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readNetworkFile(p)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("read %q: no error", tc.file)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
