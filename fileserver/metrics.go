package fileserver

import "github.com/prometheus/client_golang/prometheus"

// metrics are the server's Prometheus series, on the server's own
// registry. They count traffic facts only: no ids, keys or addresses.
type metrics struct {
	requests    *prometheus.CounterVec // endpoint, code
	rateLimited *prometheus.CounterVec // limit
	uploads     *prometheus.CounterVec // result: new, dedup, legacy
	upBytes     prometheus.Counter
	downBytes   prometheus.Counter
	expired     prometheus.Counter
	corrupt     prometheus.Counter
	versions    *prometheus.CounterVec // platform, auth
}

func newMetrics(reg prometheus.Registerer, s *store) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fileserver_requests_total", Help: "Requests through onion requests, by endpoint and HTTP status."},
			[]string{"endpoint", "code"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fileserver_rate_limited_total", Help: "Requests refused by a rate limit, by limit."}, []string{"limit"}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fileserver_uploads_total", Help: "Accepted uploads: new files, deduplicated ones, legacy ids."}, []string{"result"}),
		upBytes:   prometheus.NewCounter(prometheus.CounterOpts{Name: "fileserver_upload_bytes_total", Help: "Bytes of accepted uploads."}),
		downBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "fileserver_download_bytes_total", Help: "Bytes of files served."}),
		expired:   prometheus.NewCounter(prometheus.CounterOpts{Name: "fileserver_expired_total", Help: "Files deleted by the expiry sweep."}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fileserver_corrupt_total", Help: "Stored files found not to match their size or SHA-256, and dropped."}),
		versions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fileserver_version_checks_total", Help: "Answered /session_version requests, by platform and whether they were signed."},
			[]string{"platform", "auth"}),
	}
	reg.MustRegister(m.requests, m.rateLimited, m.uploads, m.upBytes, m.downBytes, m.expired, m.corrupt, m.versions,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fileserver_stored_bytes", Help: "Bytes of stored files."},
			func() float64 { b, _ := s.usage(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fileserver_stored_files", Help: "Stored files."},
			func() float64 { _, n := s.usage(); return float64(n) }),
	)
	return m
}
