package storage

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/netguard"
)

// Runtime is what the Stores of one daemon share and what is no part of a
// provider's configuration: where they log, what they count and which
// addresses they may dial. The zero Runtime discards logs, counts nothing
// and dials through netguard's default policy.
type Runtime struct {
	Logger  *slog.Logger
	Metrics *Metrics
	Guard   *netguard.Guard
}

func (rt Runtime) logger() *slog.Logger {
	if rt.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return rt.Logger
}

func (rt Runtime) guard() *netguard.Guard {
	if rt.Guard == nil {
		return netguard.New(netguard.Options{Policy: netguard.DefaultPolicy()})
	}
	return rt.Guard
}

// Metrics counts what happens to incomplete multipart uploads. A nil
// *Metrics counts nothing.
type Metrics struct {
	abortFailures *prometheus.CounterVec
	swept         *prometheus.CounterVec
}

// NewMetrics registers the storage metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		abortFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_storage_multipart_abort_failures_total",
			Help: "Aborts of incomplete S3 multipart uploads that failed (the upload stays until a sweep removes it).",
		}, []string{"provider"}),
		swept: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_storage_multipart_swept_total",
			Help: "Stale incomplete S3 multipart uploads aborted by the sweep.",
		}, []string{"provider"}),
	}
	reg.MustRegister(m.abortFailures, m.swept)
	return m
}

func (m *Metrics) abortFailed(provider string) {
	if m != nil {
		m.abortFailures.WithLabelValues(provider).Inc()
	}
}

func (m *Metrics) sweptOne(provider string) {
	if m != nil {
		m.swept.WithLabelValues(provider).Inc()
	}
}

// AbortFailures is the abort-failure counter of provider (for tests).
func (m *Metrics) AbortFailures(provider string) prometheus.Counter {
	return m.abortFailures.WithLabelValues(provider)
}

// Swept is the swept-uploads counter of provider (for tests).
func (m *Metrics) Swept(provider string) prometheus.Counter {
	return m.swept.WithLabelValues(provider)
}
