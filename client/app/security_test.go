package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sotto.dev/client"
	"sotto.dev/identity"
)

// testKDF keeps identity-file encryption cheap in tests.
var testKDF = identity.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// offlineApp starts an app with no network on a fresh home directory.
func offlineApp(t *testing.T) *Server {
	t.Helper()
	home := t.TempDir()
	return startApp(t, Config{
		IdentityFile: filepath.Join(home, "identity.json"),
		Client:       client.Config{Home: home},
		KDF:          testKDF,
	})
}

func startApp(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

// noRedirect is an HTTP client that shows redirects instead of following
// them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type reqOpt func(*http.Request)

func withCookie(c *http.Cookie) reqOpt { return func(r *http.Request) { r.AddCookie(c) } }
func withHost(h string) reqOpt         { return func(r *http.Request) { r.Host = h } }
func withOrigin(o string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Origin", o) }
}
func withType(ct string) reqOpt { return func(r *http.Request) { r.Header.Set("Content-Type", ct) } }

func do(t *testing.T, s *Server, method, path, body string, opts ...reqOpt) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.Origin()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(req)
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// login redeems the app's token and returns the session cookie.
func login(t *testing.T, s *Server) *http.Cookie {
	t.Helper()
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	res, _ := do(t, s, "GET", "/?"+u.RawQuery, "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("token: status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	for _, c := range res.Cookies() {
		if c.Name == s.cname {
			return c
		}
	}
	t.Fatal("token: no session cookie")
	return nil
}

func TestTokenIsOneTimeAndBecomesStrictCookie(t *testing.T) {
	s := offlineApp(t)
	u, _ := url.Parse(s.URL())
	tok := u.Query().Get("token")
	if len(tok) != 64 {
		t.Fatalf("token %q: want 64 hex characters", tok)
	}
	if res, _ := do(t, s, "GET", "/?token="+strings.Repeat("0", 64), ""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d, want 401", res.StatusCode)
	}
	res, _ := do(t, s, "GET", "/?token="+tok, "")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("token: status %d, want 303", res.StatusCode)
	}
	sc := res.Header.Get("Set-Cookie")
	for _, want := range []string{s.cname + "=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, tok) {
		t.Error("the cookie is the token: a token left in the browser history would stay valid")
	}
	cookie := res.Cookies()[0]
	if res, _ := do(t, s, "GET", "/?token="+tok, ""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("token used twice: status %d, want 401", res.StatusCode)
	}
	if res, _ := do(t, s, "GET", "/api/state", "", withCookie(cookie)); res.StatusCode != http.StatusOK {
		t.Errorf("with the cookie: status %d, want 200", res.StatusCode)
	}
}

func TestNoCookieIs401(t *testing.T) {
	s := offlineApp(t)
	login(t, s) // a session exists; requests below do not carry it
	forged := &http.Cookie{Name: s.cname, Value: strings.Repeat("ab", 32)}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/static/app.js"}, {"GET", "/api/state"}, {"GET", "/api/conversations"},
		{"GET", "/api/events"}, {"POST", "/api/onboard/new"}, {"POST", "/api/profile"},
	} {
		for _, opts := range [][]reqOpt{nil, {withCookie(forged)}} {
			opts = append(opts, withOrigin(s.Origin()), withType("application/json"))
			res, _ := do(t, s, tc.method, tc.path, "{}", opts...)
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s (%d cookies): status %d, want 401", tc.method, tc.path, len(opts)-2, res.StatusCode)
			}
		}
	}
}

func TestHostHeaderChecked(t *testing.T) {
	s := offlineApp(t)
	c := login(t, s)
	_, port, _ := strings.Cut(s.Addr(), ":")
	for _, tc := range []struct {
		host string
		want int
	}{
		{s.Addr(), http.StatusOK},
		{"localhost:" + port, http.StatusOK},
		// DNS rebinding: the attacker's name now resolves to 127.0.0.1.
		{"evil.example:" + port, http.StatusMisdirectedRequest},
		{"evil.example", http.StatusMisdirectedRequest},
		{"127.0.0.1", http.StatusMisdirectedRequest},
		{"127.0.0.1:1", http.StatusMisdirectedRequest},
	} {
		res, _ := do(t, s, "GET", "/api/state", "", withHost(tc.host), withCookie(c))
		if res.StatusCode != tc.want {
			t.Errorf("Host %q: status %d, want %d", tc.host, res.StatusCode, tc.want)
		}
	}
	// Without a cookie, a rebinding page learns nothing either.
	if res, _ := do(t, s, "GET", "/?token=x", "", withHost("evil.example:"+port)); res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("rebinding with a token: status %d, want 421", res.StatusCode)
	}
}

func TestOriginCheckedOnStateChanges(t *testing.T) {
	s := offlineApp(t)
	c := login(t, s)
	body := `{"name":"x"}`
	for _, tc := range []struct {
		name string
		opts []reqOpt
		want int
	}{
		{"no Origin", []reqOpt{withType("application/json")}, http.StatusForbidden},
		{"other site", []reqOpt{withOrigin("http://evil.example"), withType("application/json")}, http.StatusForbidden},
		{"null origin (sandboxed frame)", []reqOpt{withOrigin("null"), withType("application/json")}, http.StatusForbidden},
		{"other port", []reqOpt{withOrigin("http://127.0.0.1:1"), withType("application/json")}, http.StatusForbidden},
		// A cross-site HTML form can only send these types.
		{"form post", []reqOpt{withOrigin(s.Origin()), withType("application/x-www-form-urlencoded")}, http.StatusUnsupportedMediaType},
		{"text/plain", []reqOpt{withOrigin(s.Origin()), withType("text/plain")}, http.StatusUnsupportedMediaType},
		// The app's own page: reaches the handler (no account yet: 409).
		{"own origin", []reqOpt{withOrigin(s.Origin()), withType("application/json")}, http.StatusConflict},
	} {
		res, _ := do(t, s, "POST", "/api/profile", body, append(tc.opts, withCookie(c))...)
		if res.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, res.StatusCode, tc.want)
		}
	}
	// Raw bytes only where files are uploaded, and files only as raw bytes.
	up := "/api/conversations/05" + strings.Repeat("ab", 32) + "/attachments"
	for _, tc := range []struct {
		path, ct string
		want     int
	}{
		{"/api/profile", "application/octet-stream", http.StatusUnsupportedMediaType},
		{up, "application/json", http.StatusUnsupportedMediaType},
		{up, "multipart/form-data; boundary=x", http.StatusUnsupportedMediaType},
		{up, "application/octet-stream", http.StatusConflict}, // reaches the handler: no account
		{"/api/profile/picture", "application/json", http.StatusUnsupportedMediaType},
		{"/api/profile/picture", "application/octet-stream", http.StatusConflict},
		{"/api/profile/picture/remove", "application/octet-stream", http.StatusUnsupportedMediaType},
		{"/api/groups", "application/octet-stream", http.StatusUnsupportedMediaType},
	} {
		res, _ := do(t, s, "POST", tc.path, "x", withCookie(c), withOrigin(s.Origin()), withType(tc.ct))
		if res.StatusCode != tc.want {
			t.Errorf("POST %s as %s: status %d, want %d", tc.path, tc.ct, res.StatusCode, tc.want)
		}
	}
	if res, _ := do(t, s, "POST", up, "x", withCookie(c), withOrigin("http://evil.example"), withType("application/octet-stream")); res.StatusCode != http.StatusForbidden {
		t.Errorf("upload from another origin: status %d, want 403", res.StatusCode)
	}
}

var (
	scriptTag   = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	inlineEvent = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	styleAttr   = regexp.MustCompile(`(?i)\sstyle\s*=|<style\b`)
)

func TestStrictCSPAndNoInlineCode(t *testing.T) {
	s := offlineApp(t)
	c := login(t, s)
	res, page := do(t, s, "GET", "/", "", withCookie(c))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("index: status %d", res.StatusCode)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("CSP %q allows unsafe sources", csp)
	}
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if res.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	scripts := scriptTag.FindAllStringSubmatch(page, -1)
	if len(scripts) == 0 {
		t.Error("the page loads no script")
	}
	for _, m := range scripts {
		if !strings.Contains(m[1], `src="/static/`) || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script: %q", m[0])
		}
	}
	if m := inlineEvent.FindString(page); m != "" {
		t.Errorf("inline event handler %q", m)
	}
	if m := styleAttr.FindString(page); m != "" {
		t.Errorf("inline style %q", m)
	}
	// Errors and static files carry the policy too.
	for _, p := range []string{"/static/app.js", "/nope", "/api/conversations"} {
		res, _ := do(t, s, "GET", p, "", withCookie(c))
		if res.Header.Get("Content-Security-Policy") != ContentSecurityPolicy {
			t.Errorf("%s (status %d): no CSP", p, res.StatusCode)
		}
	}
	res, _ = do(t, s, "GET", "/static/app.js", "", withCookie(c))
	if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("app.js served as %q", ct)
	}
}

func TestListenOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:0"} {
		s, err := New(Config{Listen: addr, IdentityFile: filepath.Join(t.TempDir(), "identity.json")})
		if err == nil {
			s.ln.Close()
			t.Errorf("listen %q: no error", addr)
		}
	}
}

func TestNoNetworkSaysHowToStartOne(t *testing.T) {
	s := offlineApp(t)
	c := login(t, s)
	_, page := do(t, s, "GET", "/", "", withCookie(c))
	for _, want := range []string{"No network configured", "sottod devnet", "--network"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not say %q", want)
		}
	}
	_, body := do(t, s, "GET", "/api/state", "", withCookie(c))
	var st struct {
		Network bool   `json:"network"`
		Hint    string `json:"network_hint"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Network || !strings.Contains(st.Hint, "sottod devnet") {
		t.Errorf("state %s: want network false and a devnet hint", body)
	}
}

// post sends a JSON request as the app's page does.
func post(t *testing.T, s *Server, c *http.Cookie, path string, v any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	res, body := do(t, s, "POST", path, string(b), withCookie(c), withOrigin(s.Origin()), withType("application/json"))
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("%s: %q: %v", path, body, err)
	}
	return res.StatusCode, out
}

func TestOnboardingChecksThePhrase(t *testing.T) {
	s := offlineApp(t)
	c := login(t, s)
	st, out := post(t, s, c, "/api/onboard/new", struct{}{})
	if st != http.StatusOK {
		t.Fatalf("new: %d %v", st, out)
	}
	var phrase []string
	for _, w := range out["phrase"].([]any) {
		phrase = append(phrase, w.(string))
	}
	check := out["check"].([]any)
	i, j := int(check[0].(float64))-1, int(check[1].(float64))-1
	if len(phrase) != 13 || i == j {
		t.Fatalf("phrase %v, check %v", phrase, check)
	}
	if st, _ := post(t, s, c, "/api/onboard/create", map[string]any{"words": []string{phrase[j], phrase[i]}, "name": "Ann"}); st != http.StatusBadRequest {
		t.Errorf("wrong words: status %d, want 400", st)
	}
	if s.Client() != nil {
		t.Fatal("an account was opened before its phrase was confirmed")
	}
	st, out = post(t, s, c, "/api/onboard/create", map[string]any{"words": []string{strings.ToUpper(phrase[i]), phrase[j]}, "name": "Ann", "passphrase": "pw"})
	if st != http.StatusOK || out["state"] != "ready" || out["name"] != "Ann" || out["session_id"] == "" {
		t.Fatalf("create: %d %v", st, out)
	}
	// The file is encrypted with the passphrase, and holds the shown phrase.
	kf, err := identity.LoadKeyFile(s.cfg.IdentityFile, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := kf.Keys.RecoveryPhrase()
	if strings.Join(got, " ") != strings.Join(phrase, " ") {
		t.Error("the saved account is not the one whose phrase was shown")
	}
	if st, _ := post(t, s, c, "/api/onboard/new", struct{}{}); st != http.StatusConflict {
		t.Errorf("a second account: status %d, want 409", st)
	}
	if st, _ := post(t, s, c, "/api/onboard/restore", map[string]any{"phrase": strings.Join(phrase, " ")}); st != http.StatusConflict {
		t.Errorf("restore over an account: status %d, want 409", st)
	}
}

func TestRestoreAndUnlock(t *testing.T) {
	k, seed, err := identity.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	clear(seed)
	phrase, _ := k.RecoveryPhrase()
	home := t.TempDir()
	cfg := Config{IdentityFile: filepath.Join(home, "identity.json"), Client: client.Config{Home: home}, KDF: testKDF}
	func() {
		ctx, cancel := context.WithCancel(context.Background())
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx) }()
		defer func() { cancel(); <-done }()
		c := login(t, s)
		if st, _ := post(t, s, c, "/api/onboard/restore", map[string]any{"phrase": "not a phrase"}); st != http.StatusBadRequest {
			t.Errorf("bad phrase: status %d, want 400", st)
		}
		st, out := post(t, s, c, "/api/onboard/restore", map[string]any{"phrase": strings.Join(phrase, "  "), "passphrase": "secret"})
		if st != http.StatusOK || out["session_id"] != k.SessionID().String() {
			t.Fatalf("restore: %d %v, want %s", st, out, k.SessionID())
		}
	}()
	// Started again: the identity is encrypted, the page asks.
	s := startApp(t, cfg)
	c := login(t, s)
	_, body := do(t, s, "GET", "/api/state", "", withCookie(c))
	if !strings.Contains(body, `"state":"locked"`) {
		t.Fatalf("state %s: want locked", body)
	}
	if st, _ := post(t, s, c, "/api/unlock", map[string]string{"passphrase": "wrong"}); st != http.StatusForbidden {
		t.Errorf("wrong passphrase: status %d, want 403", st)
	}
	st, out := post(t, s, c, "/api/unlock", map[string]string{"passphrase": "secret"})
	if st != http.StatusOK || out["state"] != "ready" || out["session_id"] != k.SessionID().String() {
		t.Fatalf("unlock: %d %v", st, out)
	}
}
