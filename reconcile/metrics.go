package reconcile

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the reconciler's Prometheus series.
type Metrics struct {
	reloads     *prometheus.CounterVec
	lastSuccess prometheus.Gauge
	successful  prometheus.Gauge
	generation  prometheus.Gauge
}

// NewMetrics registers the reconciler's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_config_reloads_total",
			Help: "Reloads of jagad.yaml by result (applied, unchanged, failed, held).",
		}, []string{"result"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jagad_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last reload that accepted jagad.yaml.",
		}),
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jagad_config_last_reload_successful",
			Help: "1 when the last reload of jagad.yaml succeeded, 0 when it failed or is held.",
		}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jagad_config_generation",
			Help: "Number of config changes applied to the store.",
		}),
	}
	for _, o := range []Outcome{OutcomeApplied, OutcomeUnchanged, OutcomeFailed, OutcomeHeld} {
		m.reloads.WithLabelValues(string(o))
	}
	reg.MustRegister(m.reloads, m.lastSuccess, m.successful, m.generation)
	return m
}

func (m *Metrics) observe(res Result, generation int64, now time.Time) {
	if m == nil {
		return
	}
	m.reloads.WithLabelValues(string(res.Result)).Inc()
	m.generation.Set(float64(generation))
	if res.Err == nil {
		m.successful.Set(1)
		m.lastSuccess.Set(float64(now.Unix()))
	} else {
		m.successful.Set(0)
	}
}
