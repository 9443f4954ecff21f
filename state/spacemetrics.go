package state

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// RegisterSpaceMetrics registers the free-space guard's metrics on reg. They
// read the guard's cached reading, so a scrape does not statfs.
func (s *Store) RegisterSpaceMetrics(reg prometheus.Registerer) error {
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jagad_store_free_bytes",
			Help: "Free bytes of the data dir's file system at the last check.",
		}, func() float64 { return float64(s.Space().Free) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jagad_store_free_floor_bytes",
			Help: "Free space of the data dir below which writes are refused (0: no guard).",
		}, func() float64 { return float64(s.Space().Floor) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jagad_store_writes_refused",
			Help: "1 while writes are refused because the data dir is below its free-space floor.",
		}, func() float64 { return b2f(s.Space().Low) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "jagad_store_writes_refused_total",
			Help: "Writes refused because the data dir was below its free-space floor.",
		}, func() float64 { return float64(s.Space().Refused) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register store metrics: %w", err)
		}
	}
	return nil
}
