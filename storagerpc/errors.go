package storagerpc

import (
	"errors"
	"fmt"
)

// HTTP statuses of the storage RPC and what they mean to a client
// (session-protocol.md §3.4; Session's oxenss/server/utils.h and the
// desktop client's snode_api/onions.ts). This table is the one place where
// statuses are chosen: handlers return *Error values from the
// constructors below and servers send StatusOf(err).
const (
	StatusOK                  = 200
	StatusBadRequest          = 400 // malformed request or parameters
	StatusUnauthorized        = 401 // missing or bad signature
	StatusForbidden           = 403 // TTL out of range, feature not active
	StatusNotFound            = 404 // delete with `required` found nothing
	StatusNotAcceptable       = 406 // clock out of sync
	StatusGone                = 410 // deprecated long-poll header
	StatusPayloadTooLarge     = 413 // body over MaxRequestBody
	StatusMisdirectedRequest  = 421 // wrong swarm; body is the right swarm
	StatusTooEarly            = 425 // clock out of sync (clients treat it as 406)
	StatusTooManyRequests     = 429 // rate limited
	StatusInternalServerError = 500 // storage failed; or every swarm member failed
	StatusBadGateway          = 502 // upstream (ledger, peer) gave bad data
	StatusServiceUnavailable  = 503 // node not ready or overloaded
	StatusGatewayTimeout      = 504 // upstream timed out
	StatusInsufficientStorage = 507 // node store full (Session answers 500)
)

// Error is a failure to report to the client: an HTTP status and the
// plain-text body Session sends with it. Body, when set, replaces Msg as a
// JSON body (used for 421, whose body is the correct swarm).
type Error struct {
	Status int
	Msg    string
	Body   any
}

func (e *Error) Error() string { return fmt.Sprintf("storagerpc: %d: %s", e.Status, e.Msg) }

// Is makes errors.Is(err, &Error{Status: s}) match any *Error with status s.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status && (t.Msg == "" || t.Msg == e.Msg)
}

// StatusOf returns the status and plain-text body to send for err: the
// *Error's own when err is or wraps one, else 500 "request failed" (like
// Session, an unexpected error is not described to the client).
func StatusOf(err error) (int, string) {
	if err == nil {
		return StatusOK, ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status, e.Msg
	}
	return StatusInternalServerError, msgRequestFailed
}

// Texts shared by several constructors.
const (
	msgRequestFailed = "request failed"
	msgInvalidPrefix = "invalid request: "
)

func newError(status int, msg string) *Error { return &Error{Status: status, Msg: msg} }

// BadRequest is a 400 with msg as body.
func BadRequest(msg string) *Error { return newError(StatusBadRequest, msg) }

// InvalidRequest is the 400 Session returns when parameters fail to parse:
// "invalid request: " + what.
func InvalidRequest(what string) *Error { return newError(StatusBadRequest, msgInvalidPrefix+what) }

// Unauthorized is a 401 with msg as body.
func Unauthorized(msg string) *Error { return newError(StatusUnauthorized, msg) }

// Forbidden is a 403 with msg as body.
func Forbidden(msg string) *Error { return newError(StatusForbidden, msg) }

// NotFound is a 404 with msg as body.
func NotFound(msg string) *Error { return newError(StatusNotFound, msg) }

// NotAcceptable is a 406 (clock out of sync) with msg as body.
func NotAcceptable(msg string) *Error { return newError(StatusNotAcceptable, msg) }

// Gone is a 410 with msg as body.
func Gone(msg string) *Error { return newError(StatusGone, msg) }

// PayloadTooLarge is Session's 413 for a body over MaxRequestBody.
func PayloadTooLarge() *Error { return newError(StatusPayloadTooLarge, "Request body too large") }

// Misdirected is the 421 a node returns for an account outside its swarm;
// swarm is the correct swarm (normally a *GetSwarmResponse), sent as the
// JSON body.
func Misdirected(swarm any) *Error {
	return &Error{Status: StatusMisdirectedRequest, Msg: "Misdirected Request", Body: swarm}
}

// TooEarly is a 425 with msg as body.
func TooEarly(msg string) *Error { return newError(StatusTooEarly, msg) }

// TooManyRequests is a 429 for a rate-limited client.
func TooManyRequests() *Error {
	return newError(StatusTooManyRequests, "Too many requests, try again later")
}

// Internal is a 500 with msg as body; msg must not describe internals.
func Internal(msg string) *Error { return newError(StatusInternalServerError, msg) }

// BadGateway is a 502 with msg as body.
func BadGateway(msg string) *Error { return newError(StatusBadGateway, msg) }

// Unavailable is a 503 with msg as body.
func Unavailable(msg string) *Error { return newError(StatusServiceUnavailable, msg) }

// GatewayTimeout is a 504 with msg as body.
func GatewayTimeout(msg string) *Error { return newError(StatusGatewayTimeout, msg) }

// InsufficientStorage is a 507: the node's store is full.
func InsufficientStorage() *Error {
	return newError(StatusInsufficientStorage, "Insufficient storage: node is full")
}
