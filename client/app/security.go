package app

import (
	"crypto/subtle"
	"mime"
	"net/http"
	"strings"

	"sotto.dev/client"
)

// ContentSecurityPolicy is sent with every response: scripts, styles and
// connections only from the app's own origin, no inline code, no frames.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"media-src 'self' blob:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP checks every request before it reaches a handler: the Host
// header, the session cookie (or the one-time token, which it trades for
// the cookie) and, on requests that change state, the Origin header and
// the JSON content type.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")

	// DNS rebinding: a page of evil.example whose name now resolves to
	// 127.0.0.1 sends "Host: evil.example".
	if !s.hosts[r.Host] {
		http.Error(w, "wrong host: open the app at "+s.orig, http.StatusMisdirectedRequest)
		return
	}
	if tok := r.URL.Query().Get("token"); tok != "" && r.Method == http.MethodGet && r.URL.Path == "/" {
		s.redeem(w, r, tok)
		return
	}
	if !s.authorized(r) {
		http.Error(w, "not authorized: open the URL that 'sotto app' printed (it carries a one-time token)", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// A cross-site form or fetch carries the attacker's Origin (or
		// "null"); browsers send Origin on every non-GET request.
		if r.Header.Get("Origin") != s.orig {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		// Neither type can be sent cross-site without a CORS preflight,
		// which the app never grants.
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		upload := strings.HasSuffix(r.URL.Path, "/attachments") || r.URL.Path == "/api/profile/picture"
		switch {
		case mt == "application/json" && !upload:
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		case mt == "application/octet-stream" && upload:
			r.Body = http.MaxBytesReader(w, r.Body, client.MaxFileSize)
		default:
			http.Error(w, "requests that change state send JSON (files: application/octet-stream)", http.StatusUnsupportedMediaType)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// maxBody bounds a request body.
const maxBody = 1 << 20

// redeem trades the one-time token for a session cookie and sends the
// browser to the app without the token in its address bar.
func (s *Server) redeem(w http.ResponseWriter, r *http.Request, tok string) {
	s.mu.Lock()
	ok := s.token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) == 1
	var cookie string
	if ok {
		s.token = ""
		cookie = randomHex(32)
		s.cookies[cookie] = true
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "this link was already used or is wrong: restart 'sotto app' for a new one", http.StatusUnauthorized)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.cname, Value: cookie, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// authorized reports whether r carries a session cookie the app issued.
func (s *Server) authorized(r *http.Request) bool {
	c, err := r.Cookie(s.cname)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cookies[c.Value]
}
