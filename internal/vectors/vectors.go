// Package vectors gives tests access to Session's published test vectors
// (a copy of shared/vectors/session-public.json, embedded so that tests
// never depend on anything outside the repository).
package vectors

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

//go:embed session-public.json
var raw []byte

// Vector is one entry of the vector file. Inputs and Expected keep their
// JSON form; use the helpers to read typed fields.
type Vector struct {
	Name        string                     `json:"name"`
	Description string                     `json:"description"`
	Inputs      map[string]json.RawMessage `json:"inputs"`
	Expected    map[string]json.RawMessage `json:"expected"`
	Verified    bool                       `json:"verified"`
	Derived     bool                       `json:"derived"`
}

type file struct {
	Format  string   `json:"format"`
	Vectors []Vector `json:"vectors"`
}

// All returns every vector in file order.
func All() ([]Vector, error) {
	var f file
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("decode vector file: %w", err)
	}
	return f.Vectors, nil
}

// WithPrefix returns the vectors whose name starts with prefix, failing the
// test when there are none.
func WithPrefix(t testing.TB, prefix string) []Vector {
	t.Helper()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	var out []Vector
	for _, v := range all {
		if strings.HasPrefix(v.Name, prefix) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no vectors with prefix %q", prefix)
	}
	return out
}

// Get returns the vector with the given name, failing the test if absent.
func Get(t testing.TB, name string) Vector {
	t.Helper()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range all {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no vector named %q", name)
	return Vector{}
}

func field(t testing.TB, m map[string]json.RawMessage, where, key string) json.RawMessage {
	t.Helper()
	r, ok := m[key]
	if !ok {
		t.Fatalf("vector has no %s field %q", where, key)
	}
	return r
}

// In decodes input field key into dst.
func (v Vector) In(t testing.TB, key string, dst any) {
	t.Helper()
	if err := json.Unmarshal(field(t, v.Inputs, "input", key), dst); err != nil {
		t.Fatalf("%s: input %q: %v", v.Name, key, err)
	}
}

// Out decodes expected field key into dst.
func (v Vector) Out(t testing.TB, key string, dst any) {
	t.Helper()
	if err := json.Unmarshal(field(t, v.Expected, "expected", key), dst); err != nil {
		t.Fatalf("%s: expected %q: %v", v.Name, key, err)
	}
}

// InHex decodes a hex string input field.
func (v Vector) InHex(t testing.TB, key string) []byte {
	t.Helper()
	var s string
	v.In(t, key, &s)
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%s: input %q: %v", v.Name, key, err)
	}
	return b
}

// OutHex decodes a hex string expected field.
func (v Vector) OutHex(t testing.TB, key string) []byte {
	t.Helper()
	var s string
	v.Out(t, key, &s)
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%s: expected %q: %v", v.Name, key, err)
	}
	return b
}

// InString returns a string input field.
func (v Vector) InString(t testing.TB, key string) string {
	t.Helper()
	var s string
	v.In(t, key, &s)
	return s
}

// OutString returns a string expected field.
func (v Vector) OutString(t testing.TB, key string) string {
	t.Helper()
	var s string
	v.Out(t, key, &s)
	return s
}
