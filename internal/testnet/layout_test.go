package testnet

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestParseLayout(t *testing.T) {
	good := `{"format":"sotto-devnet-v1","listen":"127.0.0.1","nodes":[{"dir":"node-00","port":1000,"swarm_id":0},{"dir":"node-01","port":1001,"swarm_id":0}]}`
	if l, err := parseLayout("x", []byte(good)); err != nil || len(l.Nodes) != 2 || l.Nodes[1].Port != 1001 {
		t.Fatalf("good layout: %+v %v", l, err)
	}
	for name, in := range map[string]string{
		"not json":      `nope`,
		"unknown field": `{"format":"sotto-devnet-v1","listen":"127.0.0.1","nodes":[{"dir":"node-00","port":1}],"x":1}`,
		"trailing":      good + `{}`,
		"format":        `{"format":"v0","listen":"127.0.0.1","nodes":[{"dir":"node-00","port":1}]}`,
		"listen ipv6":   `{"format":"sotto-devnet-v1","listen":"::1","nodes":[{"dir":"node-00","port":1}]}`,
		"listen any":    `{"format":"sotto-devnet-v1","listen":"0.0.0.0","nodes":[{"dir":"node-00","port":1}]}`,
		"no nodes":      `{"format":"sotto-devnet-v1","listen":"127.0.0.1","nodes":[]}`,
		"zero port":     `{"format":"sotto-devnet-v1","listen":"127.0.0.1","nodes":[{"dir":"node-00","port":0}]}`,
		"same port":     `{"format":"sotto-devnet-v1","listen":"127.0.0.1","nodes":[{"dir":"node-00","port":5},{"dir":"node-01","port":5}]}`,
		"dir escapes":   `{"format":"sotto-devnet-v1","listen":"127.0.0.1","nodes":[{"dir":"../etc","port":5}]}`,
		"dir order":     `{"format":"sotto-devnet-v1","listen":"127.0.0.1","nodes":[{"dir":"node-01","port":5}]}`,
		"port overflow": `{"format":"sotto-devnet-v1","listen":"127.0.0.1","nodes":[{"dir":"node-00","port":70000}]}`,
	} {
		var le *LayoutError
		if _, err := parseLayout("x", []byte(in)); !errors.As(err, &le) {
			t.Errorf("%s: %v, want a *LayoutError", name, err)
		}
	}
}

func FuzzParseLayout(f *testing.F) {
	f.Add([]byte(`{"format":"sotto-devnet-v1","listen":"127.0.0.1","nodes":[{"dir":"node-00","port":1000,"swarm_id":0}]}`))
	f.Add([]byte(`{"format":"sotto-devnet-v1","listen":"10.0.0.1","nodes":[{"dir":"node-00","port":1},{"dir":"node-01","port":2,"swarm_id":18446744073709551615}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := parseLayout("fuzz", data)
		if err != nil {
			var le *LayoutError
			if !errors.As(err, &le) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// A layout that parses survives a round trip unchanged.
		out, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		l2, err := parseLayout("fuzz", out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		out2, _ := json.Marshal(l2)
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip differs:\n%s\n%s", out, out2)
		}
	})
}
