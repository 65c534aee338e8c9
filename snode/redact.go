package snode

import (
	"bytes"
	"io"
	"log"
	"log/slog"
	"regexp"
)

// Client addresses never reach the node's log (docs/snode.md, "Limits"):
// the node's own lines do not carry them, and the lines net/http writes
// itself (http.Server.ErrorLog: "TLS handshake error from 1.2.3.4:5678",
// HTTP/2 connection errors, an i/o timeout naming both ends) go through
// addrRedactor, which replaces every IP address, with its port, before the
// line reaches the handler.

// redactedAddr replaces an address in a log line.
const redactedAddr = "[addr]"

// ipPattern matches an IPv4 address with an optional port, and a bracketed
// IPv6 address (Go's host:port form) with an optional port. An IPv4-mapped
// IPv6 address outside brackets loses its IPv4 part.
var ipPattern = regexp.MustCompile(`\[[0-9A-Fa-f:.%a-zA-Z0-9]*:[0-9A-Fa-f:.%a-zA-Z0-9]*\](:[0-9]+)?|\b[0-9]{1,3}(\.[0-9]{1,3}){3}(:[0-9]+)?\b`)

// redactAddrs returns b with every IP address replaced by redactedAddr.
func redactAddrs(b []byte) []byte {
	return ipPattern.ReplaceAll(b, []byte(redactedAddr))
}

// addrRedactor is an io.Writer for a log.Logger that redacts addresses and
// passes each line on.
type addrRedactor struct{ w io.Writer }

func (r addrRedactor) Write(p []byte) (int, error) {
	if _, err := r.w.Write(redactAddrs(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// serverErrorLog is the ErrorLog of the node's HTTP servers: net/http's
// lines at debug level, addresses redacted.
func serverErrorLog(l *slog.Logger) *log.Logger {
	return log.New(addrRedactor{w: slogWriter{l}}, "", 0)
}

// slogWriter turns each write (one log.Logger line) into a debug record.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Debug(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
