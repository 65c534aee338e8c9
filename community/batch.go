package community

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxSubrequests bounds a /batch or /sequence.
const maxSubrequests = 128

// subrequest is one element of a /batch or /sequence body.
type subrequest struct {
	method  string
	path    string // without the query
	query   url.Values
	body    []byte
	headers map[string]string
}

// parseBatch parses a /batch or /sequence body (pysogs
// routes/subrequest.py): a JSON array of {"method", "path" (starting with
// "/", with its query), at most one of "json", "b64" or "bytes" for the
// body, "headers"?}. Subrequests have no X-SOGS-* headers of their own:
// the batch's authentication applies to all of them.
func parseBatch(b []byte) ([]subrequest, error) {
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, errors.New("body is not a JSON array of objects")
	}
	if len(raw) == 0 || len(raw) > maxSubrequests {
		return nil, errors.New("a batch has 1 to 128 subrequests")
	}
	out := make([]subrequest, len(raw))
	for i, r := range raw {
		var sr subrequest
		var method, path string
		if err := json.Unmarshal(r["method"], &method); err != nil || method == "" {
			return nil, errors.New("subrequest without a method")
		}
		for j := 0; j < len(method); j++ {
			if method[j] < 'A' || method[j] > 'Z' {
				return nil, errors.New("subrequest method is not upper case")
			}
		}
		if err := json.Unmarshal(r["path"], &path); err != nil || !strings.HasPrefix(path, "/") {
			return nil, errors.New(`subrequest path must start with "/"`)
		}
		p, q, _ := strings.Cut(path, "?")
		dp, err := url.PathUnescape(p)
		if err != nil {
			return nil, errors.New("subrequest path is not URL-encoded")
		}
		if sr.query, err = url.ParseQuery(q); err != nil {
			return nil, errors.New("subrequest query is not URL-encoded")
		}
		sr.method, sr.path = method, dp
		n := 0
		if v, ok := r["json"]; ok {
			n++
			sr.body = v
		}
		if v, ok := r["b64"]; ok {
			n++
			var s string
			if json.Unmarshal(v, &s) != nil {
				return nil, errors.New("subrequest b64 is not a string")
			}
			if sr.body, err = base64.StdEncoding.DecodeString(s); err != nil {
				return nil, errors.New("subrequest b64 is not base64")
			}
		}
		if v, ok := r["bytes"]; ok {
			n++
			var s string
			if json.Unmarshal(v, &s) != nil {
				return nil, errors.New("subrequest bytes is not a string")
			}
			sr.body = []byte(s)
		}
		if n > 1 {
			return nil, errors.New("subrequest has more than one of json, b64 and bytes")
		}
		if h, ok := r["headers"]; ok {
			var hs map[string]string
			if json.Unmarshal(h, &hs) != nil {
				return nil, errors.New("subrequest headers is not an object of strings")
			}
			sr.headers = map[string]string{}
			for k, v := range hs {
				sr.headers[http.CanonicalHeaderKey(k)] = v
			}
		}
		out[i] = sr
	}
	return out, nil
}

// batch runs the subrequests of a /batch (all of them) or a /sequence (up
// to the first that fails) as the batch's user and answers with an array
// of {"code", "headers", "body"}: body is the JSON of a JSON response, else
// the base64 of its bytes.
func (s *Server) batch(c *call, sequence bool) response {
	subs, err := parseBatch(c.body)
	if err != nil {
		return textResp(http.StatusBadRequest, "Invalid batch request: "+err.Error())
	}
	out := make([]map[string]any, 0, len(subs))
	for _, sr := range subs {
		sc := &call{ctx: c.ctx, method: sr.method, path: sr.path, query: sr.query, body: sr.body, user: c.user, now: c.now, headers: sr.headers}
		ep, r := s.dispatch(sc, false)
		s.m.requests.WithLabelValues(ep, strconv.Itoa(r.code)).Inc()
		var body any
		if r.contentType == "application/json" && json.Valid(r.body) {
			body = json.RawMessage(r.body)
		} else {
			body = base64.StdEncoding.EncodeToString(r.body)
		}
		out = append(out, map[string]any{
			"code":    r.code,
			"headers": map[string]string{"content-type": r.contentType},
			"body":    body,
		})
		if sequence && r.code >= 400 {
			break
		}
	}
	return jsonResp(http.StatusOK, out)
}
