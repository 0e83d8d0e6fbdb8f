package pipeline

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the pipeline's Prometheus series.
type Metrics struct {
	LinesRead    *prometheus.CounterVec
	Events       *prometheus.CounterVec // by feed and stage (parsed, stored)
	DeadLetters  *prometheus.CounterVec
	Duplicates   *prometheus.CounterVec
	BatchSeconds *prometheus.HistogramVec
	QueueLag     prometheus.Gauge
	// InvalidUTF8Replaced counts bytes read as U+FFFD under a feed's
	// invalid_utf8: replace, so that a repaired feed stays visible.
	InvalidUTF8Replaced *prometheus.CounterVec
}

// NewMetrics creates the series and registers them with reg (nil: not
// registered, for tests and benchmarks).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		LinesRead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_pipeline_lines_read_total", Help: "Input lines read, per feed.",
		}, []string{"feed"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_pipeline_events_total", Help: "Events leaving a stage (parsed, stored), per feed.",
		}, []string{"feed", "stage"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_pipeline_dead_letters_total", Help: "Input sent to the dead-letter store, per feed.",
		}, []string{"feed"}),
		Duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_pipeline_duplicates_total", Help: "Events dropped as duplicates (deduplicator or already stored), per feed.",
		}, []string{"feed"}),
		BatchSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_pipeline_batch_seconds", Help: "Time to enrich and store one batch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"stage"}),
		QueueLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_pipeline_queue_lag_batches", Help: "Batches waiting on the bus or being processed.",
		}),
		InvalidUTF8Replaced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_pipeline_invalid_utf8_replaced_bytes_total", Help: "Input bytes that were not UTF-8 and were read as U+FFFD (invalid_utf8: replace), per feed.",
		}, []string{"feed"}),
	}
	if reg != nil {
		reg.MustRegister(m.LinesRead, m.Events, m.DeadLetters, m.Duplicates, m.BatchSeconds, m.QueueLag, m.InvalidUTF8Replaced)
	}
	return m
}
