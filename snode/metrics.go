package snode

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"sotto.dev/snode/store"
	"sotto.dev/storagerpc"
)

// metrics are the node's Prometheus collectors. Labels never carry account
// IDs or client addresses.
type metrics struct {
	requests      *prometheus.CounterVec   // method, status
	duration      *prometheus.HistogramVec // method
	storeBytes    prometheus.Gauge
	messages      prometheus.Gauge
	swarmPeers    prometheus.Gauge
	syncing       prometheus.Gauge
	forwards      *prometheus.CounterVec // result: ok, failed, timeout
	fwdBatch      prometheus.Histogram   // stores per forwarded batch
	replLag       prometheus.Histogram
	aeRounds      *prometheus.CounterVec // result
	aeRepairs     *prometheus.CounterVec // direction: pulled, pushed
	aeRefused     *prometheus.CounterVec // reason: see proof.go
	rateLimited   *prometheus.CounterVec // kind: client, peer, busy
	swept         prometheus.Counter
	tombsDropped  prometheus.Counter
	handoff       *prometheus.CounterVec // what: records, accounts_purged, failures
	storeFailures *prometheus.CounterVec // reason: full, error
	heldRetrieves prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "snode_requests_total", Help: "Storage RPC requests by method and HTTP status.",
		}, []string{"method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "snode_request_duration_seconds", Help: "Storage RPC handling time by method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method"}),
		storeBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "snode_store_bytes", Help: "Bytes used by the message database."}),
		messages:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "snode_messages", Help: "Live messages stored."}),
		swarmPeers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "snode_swarm_peers", Help: "Other members of this node's swarm."}),
		syncing:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "snode_syncing", Help: "1 while the node pulls its swarm's data before serving reads."}),
		forwards: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "snode_forwards_total", Help: "Recursive requests forwarded to swarm peers, by result.",
		}, []string{"result"}),
		fwdBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "snode_forward_batch_stores", Help: "Stores in each batch forwarded to a swarm peer.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		replLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "snode_replication_lag_seconds", Help: "Time from an operation at the entry node to its application here (forwarded copies; anti-entropy repairs to the minute: rows keep coarse times).",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 60, 600, 3600},
		}),
		aeRounds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "snode_antientropy_rounds_total", Help: "Anti-entropy rounds started by this node, by result.",
		}, []string{"result"}),
		aeRepairs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "snode_antientropy_repairs_total", Help: "Rows repaired by anti-entropy, by direction.",
		}, []string{"direction"}),
		aeRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "snode_antientropy_refused_total", Help: "Rows and revocations received by anti-entropy or handoff that could not prove themselves, by reason.",
		}, []string{"reason"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "snode_dropped_requests_total", Help: "Requests refused by rate limits, load shedding or lateness (late_forward), by kind.",
		}, []string{"kind"}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{Name: "snode_swept_total", Help: "Expired rows removed."}),
		tombsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "snode_tombstones_dropped_total", Help: "Tombstones dropped before their expiry because every swarm member held them.",
		}),
		handoff: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "snode_handoff_total", Help: "Data handed to new owners after swarm changes.",
		}, []string{"what"}),
		storeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "snode_store_failures_total", Help: "Local store operations that failed, by reason.",
		}, []string{"reason"}),
		heldRetrieves: prometheus.NewGauge(prometheus.GaugeOpts{Name: "snode_held_retrieves", Help: "Long-poll retrieves waiting for a message."}),
	}
	reg.MustRegister(m.heldRetrieves, m.requests, m.duration, m.storeBytes, m.messages, m.swarmPeers, m.syncing,
		m.forwards, m.fwdBatch, m.replLag, m.aeRounds, m.aeRepairs, m.aeRefused, m.rateLimited, m.swept, m.tombsDropped, m.handoff, m.storeFailures)
	return m
}

// registerStoreMetrics exports the store writer's group-commit counters:
// commits, the operations in them (their ratio is the batch size) and the
// time spent committing (mostly syncing the log).
func registerStoreMetrics(reg prometheus.Registerer, st *store.Store) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "snode_store_commits_total", Help: "Transactions committed by the store writer (one log sync each).",
		}, func() float64 { return float64(st.Stats().Commits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "snode_store_committed_ops_total", Help: "Write operations in those transactions (ops per commit is the group-commit batch size).",
		}, func() float64 { return float64(st.Stats().Ops) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "snode_store_commit_seconds_total", Help: "Time spent in COMMIT, mostly syncing the write-ahead log.",
		}, func() float64 { return st.Stats().CommitTime.Seconds() }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "snode_store_checkpoints_total", Help: "Checkpoints that folded the whole write-ahead log into the database (the log then starts over).",
		}, func() float64 { return float64(st.Stats().Checkpoints) }),
	)
}

// registerSigMetrics exports the request-signature batcher's counters:
// signatures per batch is their ratio.
func registerSigMetrics(reg prometheus.Registerer, sb *storagerpc.SigBatcher) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "snode_sig_batches_total", Help: "Batches of two or more request signatures checked together.",
		}, func() float64 { return float64(sb.Stats().Batches) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "snode_sig_batched_total", Help: "Request signatures checked in those batches.",
		}, func() float64 { return float64(sb.Stats().Signatures) }),
	)
}

// registerSignMetrics exports the answer signer's counters: signatures
// per batch is their ratio.
func registerSignMetrics(reg prometheus.Registerer, sb *signBatcher) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "snode_sign_batches_total", Help: "Batches of two or more answers signed together.",
		}, func() float64 { return float64(sb.batches.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "snode_sign_batched_total", Help: "Answers signed in those batches.",
		}, func() float64 { return float64(sb.batched.Load()) }),
	)
	if pool := sb.nonces; pool != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "snode_sign_pooled_total", Help: "Answers signed with a nonce made while the disk wrote a commit (sync_holds_p).",
		}, func() float64 { return float64(pool.Used()) }))
	}
}

func (m *metrics) request(method string, status int, seconds float64) {
	m.requests.WithLabelValues(method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method).Observe(seconds)
}
