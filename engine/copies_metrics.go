package engine

import (
	"github.com/prometheus/client_golang/prometheus"
	"sync"

	"github.com/jagad/jagad/state"
)

// copyMetrics are the series of several destinations per backup. Labels
// are provider names and statuses: no IDs.
type copyMetrics struct {
	// uploads counts uploads of copies (the fan-out, repairs, backfills).
	uploads *prometheus.CounterVec
	// current is how many copies of successful backups each provider holds
	// now, by status: what the store says, never more.
	current *prometheus.GaugeVec
	// refresh serialises refreshCopies from the read to the last Set, so a
	// refresh that read the store earlier never publishes after a later one.
	refresh sync.Mutex
}

func newCopyMetrics(reg prometheus.Registerer) *copyMetrics {
	m := &copyMetrics{
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_backup_copy_uploads_total",
			Help: "Uploads of backup copies to destinations other than the primary (copies_to, repair, backfill), by provider and result.",
		}, []string{"provider", "result"}),
		current: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jagad_backup_copies",
			Help: "Copies of successful backups per storage provider (the primary included) by status: success, failed (not stored; repair retries it), pending.",
		}, []string{"provider", "status"}),
	}
	reg.MustRegister(m.uploads, m.current)
	return m
}

func (m *copyMetrics) upload(provider string, ok bool) {
	result := "success"
	if !ok {
		result = "failed"
	}
	m.uploads.WithLabelValues(provider, result).Inc()
}

// refreshCopies sets jagad_backup_copies from the store: every copy of every
// successful backup, by provider name and status. Every provider has its
// success and failed series, at 0 when it holds none.
func (e *Engine) refreshCopies() {
	e.metrics.copies.refresh.Lock()
	defer e.metrics.copies.refresh.Unlock()
	counts := map[[2]string]float64{}
	err := e.store.View(func(tx *state.Tx) error {
		provs, err := state.List[state.Provider](tx)
		if err != nil {
			return err
		}
		names := map[string]string{}
		for _, p := range provs {
			names[p.ID] = p.Name
			counts[[2]string{p.Name, state.ReplicaSuccess}] += 0
			counts[[2]string{p.Name, state.ReplicaFailed}] += 0
		}
		all, err := tx.ListBackups(state.BackupQuery{Status: state.StatusSuccess})
		if err != nil {
			return err
		}
		for _, b := range all {
			for _, r := range b.Copies() {
				name := names[r.ProviderID]
				if name == "" {
					name = replicaName(r)
				}
				counts[[2]string{name, r.Status}]++
			}
		}
		return nil
	})
	if err != nil {
		e.log.Error("refresh copy metrics", "err", err)
		return
	}
	e.metrics.copies.current.Reset()
	for k, v := range counts {
		e.metrics.copies.current.WithLabelValues(k[0], k[1]).Set(v)
	}
}
