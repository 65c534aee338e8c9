// Package clierr is the error the command lines (sotto, sottod and its
// ledger commands) show a person: an "error:" line and, where there is
// something to try, a "hint:" line (STYLE.md rule 13).
package clierr

import (
	"errors"
	"fmt"
	"io"
)

// Error is a failure meant for a person: Msg (and Err) becomes the
// "error:" line and Hint, when set, the "hint:" line.
type Error struct {
	Msg  string
	Hint string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Print writes err as an "error:" line and, when an *Error in its chain
// has a hint, a "hint:" line.
func Print(w io.Writer, err error) {
	fmt.Fprintf(w, "error: %v\n", err)
	var e *Error
	if errors.As(err, &e) && e.Hint != "" {
		fmt.Fprintf(w, "hint: %s\n", e.Hint)
	}
}
