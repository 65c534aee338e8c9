package onion

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
)

// SnodeResponse is the decrypted reply of a snode destination: the
// storage RPC status and body.
type SnodeResponse struct {
	Status int
	// Body is the storage RPC response body: the string's bytes when the
	// node sent it as a JSON string (the default), or the raw JSON when it
	// embedded it ("json": true).
	Body []byte
}

// ResponseError reports a 200 reply that does not decode.
type ResponseError struct{ Reason string }

func (e *ResponseError) Error() string { return "onion: bad response: " + e.Reason }

// DecodeSnodeResponse checks the outer HTTP status (non-200 gives a
// *PathError with the unencrypted body) and decrypts a snode destination's
// reply with the destination layer key. It accepts every form Session
// nodes send (§4.3): base64 of the ciphertext (the default), the raw
// ciphertext ("base64": false) and desktop's {"result": "<base64>"}
// wrapper; inside, {"status"|"status_code": N, "body": string|JSON}.
func DecodeSnodeResponse(key *LayerKey, httpStatus int, body []byte) (SnodeResponse, error) {
	pt, err := openReply(key, httpStatus, body, true)
	if err != nil {
		return SnodeResponse{}, err
	}
	return decodeSnodePlain(pt)
}

// decodeSnodePlain reads a decrypted {"status"|"status_code", "body"} reply.
func decodeSnodePlain(pt []byte) (SnodeResponse, error) {
	m, err := parseObject(pt, nil)
	if err != nil {
		return SnodeResponse{}, &ResponseError{Reason: "decrypted reply is not a JSON object"}
	}
	var r SnodeResponse
	status, ok, err := m.integer("status")
	if err == nil && !ok {
		status, ok, err = m.integer("status_code")
	}
	if err != nil || !ok || status < 100 || status > 999 {
		return SnodeResponse{}, &ResponseError{Reason: "reply has no valid status"}
	}
	r.Status = int(status)
	if raw, ok := m.get("body"); ok && string(raw) != "null" {
		if raw[0] == '"' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return SnodeResponse{}, &ResponseError{Reason: "reply body string: " + err.Error()}
			}
			r.Body = []byte(s)
		} else {
			r.Body = bytes.Clone(raw)
		}
	}
	return r, nil
}

// DecodeServerResponse checks the outer HTTP status and decrypts a v4
// server reply (raw ciphertext of a v4 response, §4.3).
func DecodeServerResponse(key *LayerKey, httpStatus int, body []byte) (V4Response, error) {
	pt, err := openReply(key, httpStatus, body, false)
	if err != nil {
		return V4Response{}, err
	}
	return DecodeV4Response(pt)
}

// openReply decrypts a reply body. When tryText is set it first tries the
// text forms ({"result": b64} and plain base64), then the raw bytes. AEAD
// authentication makes the first form that opens the right one.
func openReply(key *LayerKey, httpStatus int, body []byte, tryText bool) ([]byte, error) {
	if httpStatus != http.StatusOK {
		return nil, &PathError{Status: httpStatus, Body: bytes.Clone(body)}
	}
	if len(body) == 0 {
		return nil, &ResponseError{Reason: "empty body"}
	}
	if tryText {
		text := bytes.TrimSpace(body)
		if len(text) > 0 && text[0] == '{' {
			var wrapped struct {
				Result *string `json:"result"`
			}
			if json.Unmarshal(text, &wrapped) == nil && wrapped.Result != nil {
				text = []byte(*wrapped.Result)
			}
		}
		if ct, err := decodeBase64(text); err == nil {
			if pt, err := key.Open(ct); err == nil {
				return pt, nil
			}
		}
	}
	pt, err := key.Open(body)
	if err != nil {
		return nil, fmt.Errorf("decrypt reply: %w", err)
	}
	return pt, nil
}

func decodeBase64(b []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if len(b)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	out := make([]byte, enc.DecodedLen(len(b)))
	n, err := enc.Decode(out, b)
	return out[:n], err
}
