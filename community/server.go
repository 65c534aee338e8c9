package community

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sotto.dev/internal/iplimit"
	"sotto.dev/onion"
)

// Config is the community server's configuration.
type Config struct {
	// Dir holds the database.
	Dir string
	// Listen is the public address serving plain HTTP: the API directly,
	// and inside onion v4 requests at /oxen/v4/lsrpc. It may be empty when
	// TLSListen is set.
	Listen string
	// TLSListen, if set, is a second public address serving the same
	// handler over HTTPS with the certificate chain in TLSCertFile and its
	// key in TLSKeyFile (PEM; reloaded when either file changes).
	TLSListen   string
	TLSCertFile string
	TLSKeyFile  string
	// MetricsListen, if set, is a loopback address serving /metrics.
	MetricsListen string
	// RequireBlind refuses unblinded (00) request keys and advertises the
	// "blind" capability (pysogs REQUIRE_BLIND_KEYS). Default true.
	RequireBlind bool
	// MaxBody bounds a request body in bytes (default 15 MiB: a file and
	// its base64 in a batch fit inside an onion request).
	MaxBody int64
	// MaxFileSize bounds a room file (DefaultMaxFileSize).
	MaxFileSize int64
	// PostLimit posts per PostInterval are allowed to one user in one
	// room (pysogs: 5 in 16 s); more get 429. Zero disables the limit.
	PostLimit    int
	PostInterval time.Duration
	// Rate and Burst limit requests per second over all clients;
	// AddrRate and AddrBurst from one source address (for onion requests,
	// the exit node). Zero disables a limit.
	Rate      float64
	Burst     int
	AddrRate  float64
	AddrBurst int
	// MaxNonces bounds the remembered request nonces (default 1<<21).
	MaxNonces int
	// MaxConnsPerAddr bounds open connections from one address (256).
	MaxConnsPerAddr int
}

// DefaultConfig returns pysogs's defaults.
func DefaultConfig() Config {
	return Config{RequireBlind: true, MaxBody: 15 << 20, MaxFileSize: DefaultMaxFileSize, PostLimit: 5, PostInterval: 16 * time.Second,
		Rate: 20000, Burst: 40000, AddrRate: 500, AddrBurst: 1000, MaxNonces: 1 << 21, MaxConnsPerAddr: 256}
}

// msgCacheBytes bounds the messages' JSON kept for polls (msgcache.go).
const msgCacheBytes = 32 << 20

// Clock tells the time; tests substitute one.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Deps are what the server uses.
type Deps struct {
	Keys     *Keys        // required
	Logger   *slog.Logger // nil: discard
	Clock    Clock        // nil: the system clock
	Registry *prometheus.Registry
	// Listener, if set, is used instead of listening on Config.Listen.
	Listener net.Listener
}

// Server is a community server. New opens its store and listener; Serve
// runs it until its context ends, then closes everything.
type Server struct {
	cfg    Config
	keys   *Keys
	pk     [32]byte
	log    *slog.Logger
	clock  Clock
	reg    *prometheus.Registry
	store  *Store
	m      *metrics
	nonces *nonceCache
	posts  *postLimiter
	reqs   *reqLimiter
	slow   *slowMode
	touch  *touchCache
	msgs   *msgCache
	public http.Handler
	ln     net.Listener // nil: no plain HTTP
	tlsLn  net.Listener // nil: no HTTPS
	certs  *certFiles
	metLn  net.Listener

	closeOnce sync.Once
	closeErr  error
}

// New checks cfg, opens the store in cfg.Dir and binds the listeners.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("community: no directory")
	}
	if deps.Keys == nil {
		return nil, errors.New("community: no keys")
	}
	def := DefaultConfig()
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = def.MaxBody
	}
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = def.MaxFileSize
	}
	if cfg.MaxNonces <= 0 {
		cfg.MaxNonces = def.MaxNonces
	}
	if cfg.MaxConnsPerAddr <= 0 {
		cfg.MaxConnsPerAddr = def.MaxConnsPerAddr
	}
	if cfg.MetricsListen != "" {
		if ap, err := netip.ParseAddrPort(cfg.MetricsListen); err != nil || !ap.Addr().IsLoopback() {
			return nil, fmt.Errorf("community: metrics address %q is not a loopback IP and port", cfg.MetricsListen)
		}
	}
	if cfg.PostLimit > 0 && cfg.PostInterval <= 0 {
		return nil, errors.New("community: a post limit needs an interval")
	}
	s := &Server{cfg: cfg, keys: deps.Keys, pk: deps.Keys.Public(), log: deps.Logger, clock: deps.Clock, reg: deps.Registry,
		nonces: newNonceCache(cfg.MaxNonces), posts: newPostLimiter(cfg.PostLimit, cfg.PostInterval), reqs: newReqLimiter(cfg), slow: newSlowMode(), touch: newTouchCache(),
		msgs: newMsgCache(msgCacheBytes)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = systemClock{}
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	var err error
	if s.store, err = OpenStore(context.Background(), cfg.Dir); err != nil {
		return nil, err
	}
	// Nonces of state-changing requests survive a restart.
	now := s.clock.Now()
	known, err := s.store.Nonces(context.Background(), now)
	if err != nil {
		s.store.Close()
		return nil, fmt.Errorf("community: load nonces: %w", err)
	}
	for n, ts := range known {
		s.nonces.use(n, ts, now)
	}
	s.m = newMetrics(s.reg)
	s.public = s.limited(onion.V4Handler(http.HandlerFunc(s.serveAPI), s.keys.onion))
	if err := s.listen(cfg, deps); err != nil {
		s.closeListeners()
		s.store.Close()
		return nil, err
	}
	return s, nil
}

// listen binds the plain HTTP, HTTPS and metrics listeners of cfg; one
// connection limit covers the first two.
func (s *Server) listen(cfg Config, deps Deps) error {
	limit := iplimit.New(cfg.MaxConnsPerAddr, nil)
	s.ln = deps.Listener
	if s.ln == nil && (cfg.Listen != "" || cfg.TLSListen == "") {
		var err error
		if s.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("community: listen: %w", err)
		}
	}
	if s.ln != nil {
		s.ln = iplimit.Listener(s.ln, limit)
	}
	if cfg.TLSListen != "" {
		var err error
		if s.certs, err = loadCertFiles(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return fmt.Errorf("community: %w", err)
		}
		if s.tlsLn, err = net.Listen("tcp", cfg.TLSListen); err != nil {
			return fmt.Errorf("community: TLS listen: %w", err)
		}
		s.tlsLn = iplimit.Listener(s.tlsLn, limit)
	}
	if cfg.MetricsListen != "" {
		var err error
		if s.metLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			return fmt.Errorf("community: metrics listen: %w", err)
		}
	}
	return nil
}

func (s *Server) closeListeners() {
	for _, ln := range []net.Listener{s.ln, s.tlsLn, s.metLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

// Addr is the plain HTTP listener's address (nil: HTTPS only).
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// TLSAddr is the HTTPS listener's address (nil: no HTTPS).
func (s *Server) TLSAddr() net.Addr {
	if s.tlsLn == nil {
		return nil
	}
	return s.tlsLn.Addr()
}

// Handler is the public handler: the API and its onion v4 endpoint.
func (s *Server) Handler() http.Handler { return s.public }

// Store is the server's database (the operator commands use it).
func (s *Server) Store() *Store { return s.store }

// Registry holds the server's metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Serve serves until ctx ends, then shuts the listeners down, waits for
// the requests in flight and closes the store.
func (s *Server) Serve(ctx context.Context) error {
	defer s.Close()
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)
	srv := &http.Server{
		Handler:           s.public,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          errLog,
	}
	if s.tlsLn != nil {
		// Set before either Serve starts (both read it); naming h2 makes
		// HTTP/2 on by whichever starts first.
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.get, NextProtos: []string{"h2", "http/1.1"}}
	}
	var msrv *http.Server
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	if s.ln != nil {
		wg.Go(func() {
			if err := srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("community: serve: %w", err)
			}
		})
		s.log.Info("community server listening", "addr", s.ln.Addr().String(), "keys", s.keys)
	}
	if s.tlsLn != nil {
		wg.Go(func() {
			if err := srv.ServeTLS(s.tlsLn, "", ""); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("community: serve TLS: %w", err)
			}
		})
		s.log.Info("community server listening (HTTPS)", "addr", s.tlsLn.Addr().String(), "keys", s.keys)
	}
	if s.metLn != nil {
		msrv = &http.Server{Handler: promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}
		wg.Go(func() {
			if err := msrv.Serve(s.metLn); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("community: metrics: %w", err)
			}
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if msrv != nil {
		_ = msrv.Shutdown(sctx)
	}
	wg.Wait()
	return err
}

// Close closes the listeners and the store; Serve calls it when it
// returns. Call it yourself only if Serve never ran.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeListeners()
		s.closeErr = s.store.Close()
	})
	return s.closeErr
}

// serveAPI authenticates a request (direct or unwrapped from an onion
// request) and answers it.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		s.write(w, "body", textResp(http.StatusRequestEntityTooLarge, "Request body too large"))
		return
	}
	signed := r.URL.Path
	if r.URL.RawQuery != "" {
		signed += "?" + r.URL.RawQuery
	}
	now := s.clock.Now()
	sg, ok, err := verifyAuth(r.Header, authRequest{method: r.Method, path: signed, body: body}, s.pk, now, s.cfg.RequireBlind, s.nonces)
	if err != nil {
		var ae *authError
		errors.As(err, &ae)
		s.m.authFailed.WithLabelValues(fmt.Sprint(ae.status)).Inc()
		s.write(w, "auth", textResp(ae.status, ae.msg))
		return
	}
	c := &call{ctx: r.Context(), method: r.Method, path: r.URL.Path, query: r.URL.Query(), body: body, now: now,
		headers: map[string]string{"Content-Disposition": r.Header.Get("Content-Disposition")}}
	if ok {
		if c.user, err = s.store.User(r.Context(), sg.id, now, true); err != nil {
			s.log.Error("load user", "err", err)
			s.write(w, "auth", textResp(http.StatusInternalServerError, "Internal error"))
			return
		}
		if c.user.Banned {
			s.write(w, "auth", textResp(http.StatusForbidden, "Banned"))
			return
		}
		// A state-changing request's nonce is recorded durably before it
		// runs, so a replay is refused after a restart too.
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			err := s.store.UseNonce(r.Context(), sg.nonce, time.Unix(sg.ts, 0).Add(authWindow), now)
			if errors.Is(err, ErrNonceUsed) {
				s.write(w, "auth", textResp(http.StatusTooEarly, "Invalid authentication: X-SOGS-Nonce cannot be reused"))
				return
			}
			if err != nil {
				s.log.Error("record nonce", "err", err)
				s.write(w, "auth", textResp(http.StatusInternalServerError, "Internal error"))
				return
			}
		}
	}
	ep, resp := s.dispatch(c, true)
	s.write(w, ep, resp)
}

func (s *Server) write(w http.ResponseWriter, endpoint string, r response) {
	s.m.requests.WithLabelValues(endpoint, fmt.Sprint(r.code)).Inc()
	w.Header().Set("Content-Type", r.contentType)
	if r.disposition != "" {
		w.Header().Set("Content-Disposition", r.disposition)
	}
	w.WriteHeader(r.code)
	_, _ = w.Write(r.body)
}

// limited applies the request rate limits before any decryption or
// signature check.
func (s *Server) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a netip.Addr
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			a = ap.Addr().Unmap()
		}
		if why := s.reqs.allow(a, s.clock.Now()); why != "" {
			s.m.rateLimited.WithLabelValues(why).Inc()
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Too many requests", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}
