package community

import "github.com/prometheus/client_golang/prometheus"

// metrics are the server's Prometheus series. They count traffic facts
// only: no ids, keys, rooms or addresses.
type metrics struct {
	requests    *prometheus.CounterVec // endpoint, code
	authFailed  *prometheus.CounterVec // code
	rateLimited *prometheus.CounterVec // limit
	posts       prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "community_requests_total", Help: "Requests (batch subrequests too), by endpoint and HTTP status."},
			[]string{"endpoint", "code"}),
		authFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "community_auth_failed_total", Help: "Requests refused by X-SOGS-* authentication, by HTTP status."}, []string{"code"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "community_rate_limited_total", Help: "Requests refused by a rate limit, by limit."}, []string{"limit"}),
		posts: prometheus.NewCounter(prometheus.CounterOpts{Name: "community_posts_total", Help: "Accepted posts."}),
	}
	reg.MustRegister(m.requests, m.authFailed, m.rateLimited, m.posts)
	return m
}
