package config

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestBTRoundTrip(t *testing.T) {
	tests := []struct {
		v   any
		enc string
	}{
		{int64(0), "i0e"},
		{int64(-42), "i-42e"},
		{int64(math.MaxInt64), "i9223372036854775807e"},
		{int64(math.MinInt64), "i-9223372036854775808e"},
		{"", "0:"},
		{"spam", "4:spam"},
		{[]any{}, "le"},
		{[]any{int64(1), "a", []any{}}, "li1e1:alee"},
		{map[string]any{}, "de"},
		{map[string]any{"b": int64(1), "a": "x", "": []any{}}, "d0:le1:a1:x1:bi1ee"},
	}
	for _, tt := range tests {
		got, err := EncodeBT(tt.v)
		if err != nil || string(got) != tt.enc {
			t.Errorf("EncodeBT(%v) = %q, %v; want %q", tt.v, got, err, tt.enc)
		}
		back, err := DecodeBT([]byte(tt.enc))
		if err != nil || !reflect.DeepEqual(back, tt.v) {
			t.Errorf("DecodeBT(%q) = %v, %v; want %v", tt.enc, back, err, tt.v)
		}
	}
}

func TestBTEncodeDictAndSet(t *testing.T) {
	d := Dict{"z": int64(1), "a": Set{"b": {}, int64(3): {}, "a": {}, int64(-1): {}}, "m": Dict{"k": "v"}}
	got, err := EncodeBT(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := "d1:ali-1ei3e1:a1:be1:md1:k1:ve1:zi1ee"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := EncodeBT(3.5); err == nil {
		t.Error("EncodeBT(float) succeeded")
	}
}

func TestBTDecodeRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"i",
		"ie",
		"i01e",
		"i-0e",
		"i-e",
		"i1",
		"i9223372036854775808e",  // over int64
		"i-9223372036854775809e", // under int64
		"i18446744073709551616e", // over uint64
		"01:a",
		"2:a",
		"1a",
		":",
		"l",
		"li1e",
		"d",
		"d1:a",
		"d1:ai1e",
		"d1:bi1e1:ai2ee", // keys out of order
		"d1:ai1e1:ai2ee", // duplicate key
		"di1ei2ee",       // non-string key
		"x",
		"i1ei2e", // trailing data
		"dee",
	} {
		if v, err := DecodeBT([]byte(in)); err == nil {
			t.Errorf("DecodeBT(%q) = %v, want an error", in, v)
		} else if !errors.Is(err, ErrBT) {
			t.Errorf("DecodeBT(%q): error %v does not wrap ErrBT", in, err)
		}
	}
}

func TestBTDecodeDepth(t *testing.T) {
	deep := bytes.Repeat([]byte("l"), maxBTDepth+1)
	deep = append(deep, bytes.Repeat([]byte("e"), maxBTDepth+1)...)
	if _, err := DecodeBT(deep); err == nil {
		t.Error("decoded lists nested too deeply")
	}
	ok := bytes.Repeat([]byte("l"), maxBTDepth)
	ok = append(ok, bytes.Repeat([]byte("e"), maxBTDepth)...)
	if _, err := DecodeBT(ok); err != nil {
		t.Errorf("lists nested %d deep: %v", maxBTDepth, err)
	}
}

// FuzzBT checks that whatever decodes encodes back to the same bytes: the
// decoder accepts only canonical encodings.
func FuzzBT(f *testing.F) {
	for _, s := range []string{"i0e", "li1e1:ae", "d1:ad1:bleee", "d1:#i0e1:&de1:<le1:=dee", "i-5e", "0:"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeBT(b)
		if err != nil {
			return
		}
		enc, err := EncodeBT(v)
		if err != nil {
			t.Fatalf("EncodeBT of a decoded value: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("round trip: %q -> %q", b, enc)
		}
	})
}
