package clierr

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestPrint(t *testing.T) {
	base := errors.New("connection refused")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"plain error", base, "error: connection refused\n"},
		{"no hint", &Error{Msg: "cannot send", Err: base}, "error: cannot send: connection refused\n"},
		{"hint", &Error{Msg: "no data directory", Hint: "pass --data-dir"}, "error: no data directory\nhint: pass --data-dir\n"},
		{"wrapped", fmt.Errorf("run: %w", &Error{Msg: "bad flag", Hint: "see --help"}), "error: run: bad flag\nhint: see --help\n"},
	} {
		var b bytes.Buffer
		Print(&b, tc.err)
		if b.String() != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, b.String(), tc.want)
		}
	}
	if e := (&Error{Msg: "x", Err: base}); !errors.Is(e, base) {
		t.Error("Unwrap does not reach the cause")
	}
}
