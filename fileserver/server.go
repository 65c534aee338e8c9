package fileserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sotto.dev/internal/iplimit"
	"sotto.dev/onion"
)

// Config is the file server's configuration.
type Config struct {
	// Dir holds the database and the stored files.
	Dir string
	// Listen is the public address; it serves only the onion request
	// endpoints (/oxen/v4/lsrpc and the deprecated v3 ones).
	Listen string
	// MetricsListen, if set, is a loopback address serving /metrics.
	MetricsListen string
	// MaxFileSize is the largest upload in bytes (DefaultMaxFileSize).
	MaxFileSize int64
	// Quota bounds the bytes of all stored files; 0 means no bound.
	Quota int64
	// FileTTL is how long an upload is kept without an X-FS-TTL header
	// (DefaultFileTTL).
	FileTTL time.Duration
	// MaxTTL is the largest X-FS-TTL accepted on uploads and extensions;
	// 0 ignores the header, as session-file-server does by default.
	MaxTTL time.Duration
	// SweepInterval is how often expired files are deleted (default 1 min).
	SweepInterval time.Duration
	// Limits are the rate limits (zero fields disable a limit).
	Limits Limits
	// MaxConnsPerAddr bounds open connections from one address (default
	// 256; exits carry many clients' requests).
	MaxConnsPerAddr int
	// Releases answer GET /session_version, updated at ReleasesUpdated.
	Releases        []Release
	ReleasesUpdated time.Time
}

// Release is a Session release /session_version reports for a platform
// ("desktop", "android", "ios") and channel ("stable" when empty,
// "prerelease", "alpha").
type Release struct {
	Platform string
	Channel  string
	Version  string
	Name     string
	Notes    string
	Assets   []Asset
}

// Asset is a downloadable file of a release.
type Asset struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// DefaultConfig returns a configuration with Session's defaults.
func DefaultConfig() Config {
	return Config{
		MaxFileSize:   DefaultMaxFileSize,
		FileTTL:       DefaultFileTTL,
		MaxTTL:        DefaultFileTTL,
		SweepInterval: time.Minute,
		Limits:        DefaultLimits(),
	}
}

// Clock tells the time; tests substitute one.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Deps are what the server uses.
type Deps struct {
	Keys   *Keys        // required
	Logger *slog.Logger // nil: discard
	Clock  Clock        // nil: the system clock
	// Registry receives the metrics; nil: a new one (see Server.Registry).
	Registry *prometheus.Registry
	// Listener, if set, is used instead of listening on Config.Listen.
	Listener net.Listener
}

// Server is a file server. New opens its store and listeners; Serve runs
// it until its context ends, then closes everything.
type Server struct {
	cfg     Config
	keys    *Keys
	log     *slog.Logger
	clock   Clock
	reg     *prometheus.Registry
	store   *store
	limit   *limiter
	m       *metrics
	public  http.Handler
	ln      net.Listener
	metrics net.Listener

	closeOnce sync.Once
	closeErr  error
}

// New checks cfg, opens the store in cfg.Dir (removing what a crash left
// half-written) and binds the listeners.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("fileserver: no directory")
	}
	if deps.Keys == nil {
		return nil, errors.New("fileserver: no keys")
	}
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = DefaultMaxFileSize
	}
	if cfg.MaxFileSize > onion.MaxServerRequestSize-1<<20 {
		return nil, fmt.Errorf("fileserver: file size limit %d does not fit an onion request (%d bytes)", cfg.MaxFileSize, onion.MaxServerRequestSize)
	}
	if cfg.FileTTL <= 0 {
		cfg.FileTTL = DefaultFileTTL
	}
	if cfg.MaxTTL < 0 || cfg.Quota < 0 {
		return nil, errors.New("fileserver: negative TTL or quota")
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Minute
	}
	if cfg.MaxConnsPerAddr <= 0 {
		cfg.MaxConnsPerAddr = 256
	}
	for _, per := range []int64{cfg.Limits.UploadBytesPerMinute, cfg.Limits.ExitUploadBytesPerMinute} {
		if per > 0 && per < cfg.MaxFileSize {
			return nil, fmt.Errorf("fileserver: an upload limit of %d bytes a minute is below the file size limit (%d)", per, cfg.MaxFileSize)
		}
	}
	if cfg.MetricsListen != "" {
		if ap, err := netip.ParseAddrPort(cfg.MetricsListen); err != nil || !ap.Addr().IsLoopback() {
			return nil, fmt.Errorf("fileserver: metrics address %q is not a loopback IP and port", cfg.MetricsListen)
		}
	}
	for _, r := range cfg.Releases {
		if !slices.Contains(versionPlatforms, r.Platform) || r.Version == "" {
			return nil, fmt.Errorf("fileserver: release %q for platform %q: want desktop, android or ios and a version", r.Version, r.Platform)
		}
	}
	s := &Server{cfg: cfg, keys: deps.Keys, log: deps.Logger, clock: deps.Clock, reg: deps.Registry, limit: newLimiter(cfg.Limits)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = systemClock{}
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	if s.cfg.ReleasesUpdated.IsZero() {
		s.cfg.ReleasesUpdated = s.clock.Now()
	}
	var err error
	if s.store, err = openStore(context.Background(), cfg.Dir, cfg.Quota, s.log); err != nil {
		return nil, err
	}
	s.m = newMetrics(s.reg, s.store)
	s.public = s.limited(onion.V4Handler(s.onionOnly(s.routes()), deps.Keys.X25519Private()))
	s.ln = deps.Listener
	if s.ln == nil {
		if s.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			s.store.close()
			return nil, fmt.Errorf("fileserver: listen: %w", err)
		}
	}
	conns := iplimit.New(cfg.MaxConnsPerAddr, nil)
	s.ln = iplimit.Listener(s.ln, conns)
	s.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "fileserver_connections_refused_total", Help: "Connections closed because their address had too many open."},
		func() float64 { return float64(conns.Refused()) }))
	if cfg.MetricsListen != "" {
		if s.metrics, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			s.ln.Close()
			s.store.close()
			return nil, fmt.Errorf("fileserver: metrics listen: %w", err)
		}
	}
	return s, nil
}

// Addr is the public listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// MetricsAddr is the metrics listener's address, or nil.
func (s *Server) MetricsAddr() net.Addr {
	if s.metrics == nil {
		return nil
	}
	return s.metrics.Addr()
}

// Registry is the registry holding the server's metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Keys are the server's keys.
func (s *Server) Keys() *Keys { return s.keys }

// Handler is the public handler: rate limits, then the onion endpoints.
func (s *Server) Handler() http.Handler { return s.public }

// Sweep deletes the files expired now and returns how many it deleted.
func (s *Server) Sweep(ctx context.Context) (int, error) {
	n, err := s.store.sweep(ctx, s.clock.Now())
	s.m.expired.Add(float64(n))
	return n, err
}

// Usage returns the bytes and number of stored files.
func (s *Server) Usage() (bytes, files int64) { return s.store.usage() }

// Serve serves until ctx ends, then shuts the listeners down, waits for
// the requests in flight and the sweeper, and closes the store.
func (s *Server) Serve(ctx context.Context) error {
	defer s.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)
	srv := &http.Server{
		Handler:           s.public,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          errLog,
	}
	var msrv *http.Server
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Go(func() {
		if err := srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("fileserver: serve: %w", err)
		}
	})
	if s.metrics != nil {
		msrv = &http.Server{
			Handler:           promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          errLog,
		}
		wg.Go(func() {
			if err := msrv.Serve(s.metrics); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("fileserver: metrics: %w", err)
			}
		})
	}
	wg.Go(func() { s.sweepLoop(ctx) })
	s.log.Info("file server listening", "addr", s.ln.Addr().String(), "keys", s.keys)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	if msrv != nil {
		_ = msrv.Shutdown(sctx)
	}
	wg.Wait()
	return err
}

func (s *Server) sweepLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("expiry sweep", "err", err)
			} else if n > 0 {
				s.log.Debug("expiry sweep", "deleted", n)
			}
		}
	}
}

// Close closes the listeners and the store; Serve calls it when it
// returns. Call it yourself only if Serve never ran.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.ln.Close()
		if s.metrics != nil {
			s.metrics.Close()
		}
		s.closeErr = s.store.close()
	})
	return s.closeErr
}

// exitAddr is the address a request came from: the exit node of its
// onion path (never the client).
func exitAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// limited applies the request rate limits before any decryption.
func (s *Server) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := s.limit.request(exitAddr(r), s.clock.Now()); why != "" {
			s.m.rateLimited.WithLabelValues(why).Inc()
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Too many requests", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// onionOnly serves next only to requests unwrapped from an onion request.
func (s *Server) onionOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !onion.FromOnion(r) {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// routes is session-file-server's API (routes.py), reached through onion
// requests.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h func(http.ResponseWriter, *http.Request) int) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			code := h(w, r)
			s.m.requests.WithLabelValues(pattern, strconv.Itoa(code)).Inc()
		})
	}
	handle("POST /file", s.postFile)
	handle("POST /files", s.postFilesLegacy)
	handle("GET /file/{id}", s.getFile)
	handle("GET /files/{id}", s.getFileLegacy)
	handle("GET /file/{id}/info", s.getInfo)
	handle("POST /file/{id}/extend", s.extend)
	handle("GET /session_version", s.sessionVersion)
	handle("/", func(w http.ResponseWriter, r *http.Request) int { return errorResp(w, http.StatusNotFound) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeMux would redirect an unclean path; there is no such file.
		if p := r.URL.Path; p == "" || path.Clean(p) != p {
			errorResp(w, http.StatusNotFound)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// statusFor maps store errors to HTTP statuses (the one place).
func statusFor(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrQuota), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return http.StatusInsufficientStorage
	case errors.Is(err, ErrCorrupt):
		return http.StatusInternalServerError
	}
	return http.StatusInternalServerError
}

// errorResp answers {"status_code": code} with status code, as
// session-file-server's error_resp does.
func errorResp(w http.ResponseWriter, code int) int {
	return jsonResp(w, code, map[string]int{"status_code": code})
}

func jsonResp(w http.ResponseWriter, code int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"status_code":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
	return code
}

func (s *Server) storeError(w http.ResponseWriter, op string, err error) int {
	code := statusFor(err)
	switch {
	case errors.Is(err, ErrCorrupt):
		s.m.corrupt.Inc()
	case code == http.StatusInternalServerError:
		s.log.Error(op, "err", err)
	}
	return errorResp(w, code)
}

// unixSeconds is a time as session-file-server writes it: float seconds.
func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// readBody reads at most limit bytes of r's body; tooBig reports more.
func readBody(r *http.Request, limit int64) (b []byte, tooBig bool, err error) {
	b, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, false, err
	}
	return b, int64(len(b)) > limit, nil
}

// ttl reads the X-FS-TTL header: the default when absent (or when MaxTTL
// is 0), else whole seconds in [0, MaxTTL]; ok is false for anything else.
func (s *Server) ttl(h http.Header) (time.Duration, bool) {
	v, present := h[http.CanonicalHeaderKey(headerTTL)]
	if !present || s.cfg.MaxTTL == 0 {
		return s.cfg.FileTTL, true
	}
	return parseTTL(v[0], s.cfg.MaxTTL)
}

// parseTTL parses an X-FS-TTL value: a decimal number of seconds from 0 to
// max (Python's int(): optional sign and surrounding spaces).
func parseTTL(v string, max time.Duration) (time.Duration, bool) {
	n, err := strconv.ParseInt(trimSpace(v), 10, 64)
	if err != nil || n < 0 || n > int64(max/time.Second) {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func (s *Server) postFile(w http.ResponseWriter, r *http.Request) int {
	body, tooBig, err := readBody(r, s.cfg.MaxFileSize)
	if err != nil {
		return errorResp(w, http.StatusBadRequest)
	}
	if tooBig || len(body) == 0 {
		return errorResp(w, http.StatusRequestEntityTooLarge)
	}
	ttl, ok := s.ttl(r.Header)
	if !ok {
		return errorResp(w, http.StatusBadRequest)
	}
	return s.store1(w, r, body, ttl, false)
}

// store1 stores an upload after the byte-rate limits, new-style or legacy.
func (s *Server) store1(w http.ResponseWriter, r *http.Request, body []byte, ttl time.Duration, legacy bool) int {
	now := s.clock.Now()
	if why := s.limit.upload(exitAddr(r), int64(len(body)), now); why != "" {
		s.m.rateLimited.WithLabelValues(why).Inc()
		return errorResp(w, http.StatusTooManyRequests)
	}
	var m fileMeta
	var err error
	if legacy {
		m, err = s.store.putLegacy(r.Context(), body, now, ttl)
	} else {
		m, err = s.store.put(r.Context(), ContentID(body), body, now, ttl)
	}
	if err != nil {
		return s.storeError(w, "store upload", err)
	}
	s.m.upBytes.Add(float64(len(body)))
	if legacy {
		s.m.uploads.WithLabelValues("legacy").Inc()
		// Legacy clients need the id as a JSON integer (below 2^53).
		return jsonResp(w, http.StatusOK, map[string]any{"result": m.ID.legacyInt(), "status_code": 200})
	}
	if m.Created {
		s.m.uploads.WithLabelValues("new").Inc()
	} else {
		s.m.uploads.WithLabelValues("dedup").Inc()
	}
	return jsonResp(w, http.StatusOK, map[string]any{"id": string(m.ID), "expires": unixSeconds(m.Expiry)})
}

// legacyUpload is the body of the deprecated POST /files.
type legacyUpload struct {
	File *string `json:"file"`
}

// parseLegacyUpload reads {"file": "<base64>"}; it returns the base64 text
// (tooBig when it is longer than maxB64) or ok false when the body is not
// such an object.
func parseLegacyUpload(body []byte) (b64 string, ok bool) {
	var u legacyUpload
	if json.Unmarshal(body, &u) != nil || u.File == nil {
		return "", false
	}
	return *u.File, true
}

func (s *Server) postFilesLegacy(w http.ResponseWriter, r *http.Request) int {
	maxB64 := base64.StdEncoding.EncodedLen(int(s.cfg.MaxFileSize))
	raw, tooBig, err := readBody(r, int64(maxB64)+4096)
	if err != nil || tooBig {
		return errorResp(w, http.StatusRequestEntityTooLarge)
	}
	b64, ok := parseLegacyUpload(raw)
	if !ok {
		return errorResp(w, http.StatusBadRequest)
	}
	if len(b64) == 0 || len(b64) > maxB64 {
		return errorResp(w, http.StatusRequestEntityTooLarge)
	}
	body, err := decodeBase64Any(b64)
	if err != nil {
		return errorResp(w, http.StatusBadRequest)
	}
	if len(body) == 0 || int64(len(body)) > s.cfg.MaxFileSize {
		return errorResp(w, http.StatusRequestEntityTooLarge)
	}
	ttl, ok := s.ttl(r.Header)
	if !ok {
		return errorResp(w, http.StatusBadRequest)
	}
	return s.store1(w, r, body, ttl, true)
}

// decodeBase64Any decodes standard or URL-safe base64, padded or not.
func decodeBase64Any(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// fileID reads the {id} path value; an id that is not one is simply not
// found (session-file-server looks any string up).
func fileID(r *http.Request) (FileID, bool) {
	id, err := ParseFileID(r.PathValue("id"))
	return id, err == nil
}

func (s *Server) getFile(w http.ResponseWriter, r *http.Request) int {
	id, ok := fileID(r)
	if !ok {
		return errorResp(w, http.StatusNotFound)
	}
	m, data, err := s.store.get(r.Context(), id, s.clock.Now())
	if err != nil {
		return s.storeError(w, "read file", err)
	}
	s.m.downBytes.Add(float64(len(data)))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Expires", m.Expiry.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return http.StatusOK
}

func (s *Server) getFileLegacy(w http.ResponseWriter, r *http.Request) int {
	id, ok := fileID(r)
	if !ok {
		return errorResp(w, http.StatusNotFound)
	}
	_, data, err := s.store.get(r.Context(), id, s.clock.Now())
	if err != nil {
		return s.storeError(w, "read file", err)
	}
	s.m.downBytes.Add(float64(len(data)))
	return jsonResp(w, http.StatusOK, map[string]any{"status_code": 200, "result": base64.StdEncoding.EncodeToString(data)})
}

func infoResp(w http.ResponseWriter, m fileMeta) int {
	return jsonResp(w, http.StatusOK, map[string]any{"size": m.Size, "uploaded": unixSeconds(m.Uploaded), "expires": unixSeconds(m.Expiry)})
}

func (s *Server) getInfo(w http.ResponseWriter, r *http.Request) int {
	id, ok := fileID(r)
	if !ok {
		return errorResp(w, http.StatusNotFound)
	}
	m, err := s.store.info(r.Context(), id, s.clock.Now())
	if err != nil {
		return s.storeError(w, "file info", err)
	}
	return infoResp(w, m)
}

// extend is POST /file/<id>/extend: raise the expiry to now + X-FS-TTL
// (or the default), never lower it. Legacy integer ids cannot be extended
// (an expired one may have been reissued to someone else's file).
func (s *Server) extend(w http.ResponseWriter, r *http.Request) int {
	ttl, ok := s.ttl(r.Header)
	if !ok {
		return errorResp(w, http.StatusBadRequest)
	}
	id, ok := fileID(r)
	if !ok || id.Legacy() {
		return errorResp(w, http.StatusNotFound)
	}
	m, err := s.store.extend(r.Context(), id, s.clock.Now(), ttl)
	if err != nil {
		return s.storeError(w, "extend file", err)
	}
	return infoResp(w, m)
}

// sessionVersion is GET /session_version?platform=…[&release_channel=…],
// answered from Config.Releases. Signed requests (§5.3) are checked and
// counted; the blinded id is not kept.
func (s *Server) sessionVersion(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	platform := q.Get("platform")
	if !slices.Contains(versionPlatforms, platform) {
		return errorResp(w, http.StatusNotFound)
	}
	channel := q.Get("release_channel")
	if channel == "" {
		channel = "stable"
	}
	body, _, err := readBody(r, 64<<10)
	if err != nil {
		return errorResp(w, http.StatusBadRequest)
	}
	_, signed, err := checkVersionAuth(r.Header, r.Method, r.URL.Path, r.URL.RawQuery, body, s.clock.Now())
	if err != nil {
		var ae *authError
		errors.As(err, &ae)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(ae.status)
		_, _ = io.WriteString(w, ae.msg)
		return ae.status
	}
	s.m.versions.WithLabelValues(platform, strconv.FormatBool(signed)).Inc()
	find := func(channel string) *Release {
		for i, rel := range s.cfg.Releases {
			c := rel.Channel
			if c == "" {
				c = "stable"
			}
			if rel.Platform == platform && c == channel {
				return &s.cfg.Releases[i]
			}
		}
		return nil
	}
	rel := find(channel)
	if rel == nil {
		return errorResp(w, http.StatusBadGateway)
	}
	updated := unixSeconds(s.cfg.ReleasesUpdated)
	resp := releaseJSON(rel, updated)
	resp["status_code"] = 200
	if pre := find("prerelease"); pre != nil {
		resp["prerelease"] = releaseJSON(pre, updated)
	}
	return jsonResp(w, http.StatusOK, resp)
}

func releaseJSON(r *Release, updated float64) map[string]any {
	m := map[string]any{"result": r.Version, "updated": updated}
	if r.Name != "" {
		m["name"] = r.Name
	}
	if r.Notes != "" {
		m["notes"] = r.Notes
	}
	if len(r.Assets) > 0 {
		m["assets"] = r.Assets
	}
	return m
}
