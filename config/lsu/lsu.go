// Package lsu runs the JSON-lines command language that Session's
// reference library speaks in the project's oracle (docs/config.md, "The
// command language"), over Sotto's own implementation: package config, the
// identity and sessionproto codecs. `sotto debug libsession` is a thin
// wrapper around Run, so that one command file can be fed to both and the
// replies compared line by line.
package lsu

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// maxLine bounds one command line (the 1,400-contact vectors are ~200 KB).
const maxLine = 64 << 20

// Options configure a Runner.
type Options struct {
	// Now is the clock used by objects that read it (conversation info
	// pruning). Nil means time.Now. A command may override it with
	// "now_ms" (a Sotto extension, so that vectors recorded at a known
	// time replay exactly).
	Now func() time.Time
}

// Reply is the JSON object answered to one command, without "ok" and "id".
type Reply map[string]any

type handler func(*Request) (Reply, error)

// Runner answers commands. It is not safe for concurrent use.
type Runner struct {
	opts     Options
	handlers map[string]handler
}

// New returns a Runner with every command registered.
func New(opts Options) *Runner {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Runner{opts: opts, handlers: map[string]handler{}}
	r.registerStateless()
	r.registerScenario()
	return r
}

// Run reads commands from in, one JSON object per line, and writes one
// reply line each to out until in ends. Blank lines are skipped. It fails
// only when reading or writing fails.
func (r *Runner) Run(in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	w := bufio.NewWriter(out)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		b, err := json.Marshal(r.Answer(line))
		if err != nil {
			return fmt.Errorf("lsu: encode reply: %w", err)
		}
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("lsu: write: %w", err)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("lsu: write: %w", err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("lsu: read: %w", err)
	}
	return nil
}

// Answer answers one command line.
func (r *Runner) Answer(line []byte) map[string]any {
	out := map[string]any{}
	req, err := r.parse(line)
	if req != nil {
		if id, ok := req.fields["id"]; ok {
			out["id"] = id
		}
	}
	if err == nil {
		var rep Reply
		h, ok := r.handlers[req.Cmd]
		if !ok {
			err = fmt.Errorf("unknown command %q", req.Cmd)
		} else {
			rep, err = h(req)
		}
		for k, v := range rep {
			out[k] = v
		}
	}
	if err != nil {
		out["ok"] = false
		out["error"] = err.Error()
		return out
	}
	out["ok"] = true
	return out
}

func (r *Runner) parse(line []byte) (*Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		return nil, fmt.Errorf("command is not a JSON object: %w", err)
	}
	req := &Request{fields: fields, refs: map[string][]byte{}, runner: r}
	cmd, err := req.Text("cmd")
	if err != nil {
		return req, err
	}
	req.Cmd = cmd
	req.Now = r.opts.Now
	if ms, ok, err := req.IntOK("now_ms"); err != nil {
		return req, err
	} else if ok {
		t := time.UnixMilli(ms)
		req.Now = func() time.Time { return t }
	}
	seed, ok, err := req.BytesOK("rng_seed")
	if err != nil {
		return req, err
	}
	if ok {
		req.Rand = NewDeterministicRNG(seed)
	} else {
		req.Rand = rand.Reader
	}
	return req, nil
}

// Request is one command, or one object inside it (a scenario step, a
// contact), with typed accessors that implement the language's input
// conventions: bytes as hex, or X_text (UTF-8), or X_ref (a saved variable);
// text as a string, or X_hex.
type Request struct {
	Cmd string
	// Rand is the randomness of this command: the deterministic generator
	// of rng_seed, or crypto/rand. Each random value must be read with a
	// single Read call, which is one libsodium draw.
	Rand io.Reader
	// Now is the clock of this command.
	Now func() time.Time

	fields map[string]json.RawMessage
	refs   map[string][]byte // shared by every Request of one command
	runner *Runner
}

// Has reports whether the field (in any of its forms) is present.
func (q *Request) Has(name string) bool {
	for _, k := range []string{name, name + "_text", name + "_hex", name + "_ref"} {
		if _, ok := q.fields[k]; ok {
			return true
		}
	}
	return false
}

// IsNull reports whether the field is present and JSON null.
func (q *Request) IsNull(name string) bool {
	v, ok := q.fields[name]
	return ok && string(bytes.TrimSpace(v)) == "null"
}

// Raw returns the field's raw JSON.
func (q *Request) Raw(name string) (json.RawMessage, bool) {
	v, ok := q.fields[name]
	return v, ok
}

// Save stores b under name for later X_ref inputs of the same command.
func (q *Request) Save(name string, b []byte) { q.refs[name] = append([]byte(nil), b...) }

// Ref returns the bytes saved under name.
func (q *Request) Ref(name string) ([]byte, bool) {
	b, ok := q.refs[name]
	return b, ok
}

// BytesOK returns a byte input and whether it was given.
func (q *Request) BytesOK(name string) ([]byte, bool, error) {
	if v, ok := q.fields[name+"_ref"]; ok {
		var ref string
		if err := json.Unmarshal(v, &ref); err != nil {
			return nil, false, fmt.Errorf("%s_ref: want a string", name)
		}
		b, ok := q.refs[ref]
		if !ok {
			return nil, false, fmt.Errorf("%s_ref: nothing saved as %q", name, ref)
		}
		return b, true, nil
	}
	if v, ok := q.fields[name+"_text"]; ok {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, false, fmt.Errorf("%s_text: want a string", name)
		}
		return []byte(s), true, nil
	}
	v, ok := q.fields[name]
	if !ok {
		return nil, false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, false, fmt.Errorf("%s: want a hex string", name)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, false, fmt.Errorf("%s: not hex: %w", name, err)
	}
	return b, true, nil
}

// Bytes returns a required byte input.
func (q *Request) Bytes(name string) ([]byte, error) {
	b, ok, err := q.BytesOK(name)
	if err == nil && !ok {
		err = fmt.Errorf("missing %s", name)
	}
	return b, err
}

// TextOK returns a text input (name, or name_hex) and whether it was given.
func (q *Request) TextOK(name string) (string, bool, error) {
	if v, ok := q.fields[name+"_hex"]; ok {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false, fmt.Errorf("%s_hex: want a hex string", name)
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return "", false, fmt.Errorf("%s_hex: not hex: %w", name, err)
		}
		return string(b), true, nil
	}
	v, ok := q.fields[name]
	if !ok {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, fmt.Errorf("%s: want a string", name)
	}
	return s, true, nil
}

// Text returns a required text input.
func (q *Request) Text(name string) (string, error) {
	s, ok, err := q.TextOK(name)
	if err == nil && !ok {
		err = fmt.Errorf("missing %s", name)
	}
	return s, err
}

// IntOK returns an integer input and whether it was given (null counts as
// not given).
func (q *Request) IntOK(name string) (int64, bool, error) {
	v, ok := q.fields[name]
	if !ok || q.IsNull(name) {
		return 0, false, nil
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		return 0, false, fmt.Errorf("%s: want an integer", name)
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s: want an integer: %w", name, err)
	}
	return i, true, nil
}

// Int returns an integer input, or def when it is not given.
func (q *Request) Int(name string, def int64) (int64, error) {
	i, ok, err := q.IntOK(name)
	if !ok {
		return def, err
	}
	return i, err
}

// BoolOK returns a boolean input and whether it was given (null counts as
// not given).
func (q *Request) BoolOK(name string) (bool, bool, error) {
	v, ok := q.fields[name]
	if !ok || q.IsNull(name) {
		return false, false, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return false, false, fmt.Errorf("%s: want true or false", name)
	}
	return b, true, nil
}

// Bool returns a boolean input, or def when it is not given.
func (q *Request) Bool(name string, def bool) (bool, error) {
	b, ok, err := q.BoolOK(name)
	if !ok {
		return def, err
	}
	return b, err
}

// Object returns a nested JSON object as a Request sharing this command's
// saved variables, randomness and clock.
func (q *Request) Object(name string) (*Request, bool, error) {
	v, ok := q.fields[name]
	if !ok || q.IsNull(name) {
		return nil, false, nil
	}
	sub, err := q.sub(v)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", name, err)
	}
	return sub, true, nil
}

// List returns a JSON array of objects as Requests.
func (q *Request) List(name string) ([]*Request, error) {
	v, ok := q.fields[name]
	if !ok || q.IsNull(name) {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, fmt.Errorf("%s: want a list", name)
	}
	out := make([]*Request, len(items))
	for i, it := range items {
		sub, err := q.sub(it)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", name, i, err)
		}
		out[i] = sub
	}
	return out, nil
}

func (q *Request) sub(v json.RawMessage) (*Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(v, &fields); err != nil {
		return nil, errors.New("want an object")
	}
	return &Request{Cmd: q.Cmd, Rand: q.Rand, Now: q.Now, fields: fields, refs: q.refs, runner: q.runner}, nil
}

// Hex is how byte outputs are written: lower-case hex.
func Hex(b []byte) string { return hex.EncodeToString(b) }
