package k8slease

import "github.com/prometheus/client_golang/prometheus"

// reasonNotInGroup is the etcd mode's label for a refusal for want of a
// live lease; here: the leader's renewal is overdue.
const reasonNotInGroup = "not_in_group"

// metrics are the jagad_cluster_* series of one candidate: the etcd mode's
// names where they mean the same, and two for leadership.
type metrics struct {
	claims           prometheus.Counter
	refused          *prometheus.CounterVec
	ownershipChanges prometheus.Counter
	transitions      prometheus.Counter
	cutOff           *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, e *Elector) *metrics {
	met := &metrics{
		claims: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jagad_cluster_claims_total",
			Help: "Slots this member claimed and ran (Kubernetes Lease mode: slots it ran as the leader).",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_cluster_claims_refused_total",
			Help: "Due slots this member did not run although it owned them, by reason (Kubernetes Lease mode: not_in_group, the leader's renewal of the Lease was overdue).",
		}, []string{"reason"}),
		ownershipChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jagad_cluster_ownership_changes_total",
			Help: "Schedules this member gained or lost on a change of the group's members (Kubernetes Lease mode: of leadership).",
		}),
		transitions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jagad_cluster_leadership_changes_total",
			Help: "Times this member started or stopped leading (Kubernetes Lease mode).",
		}),
	}
	met.cutOff = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "jagad_cluster_runs_cut_off_total",
		Help: "Scheduled runs that ended after the lease they were claimed under was lost, by reason (Kubernetes Lease mode: unconfirmed, the leader's last renewal of the Lease was more than renew_deadline old; lost, the Lease was seen held by another, released or deleted; left, the daemon shut down). Their slot runs again on the next leader.",
	}, []string{"reason"})
	for _, r := range []string{CutUnconfirmed, CutLost, CutLeft} {
		met.cutOff.WithLabelValues(r)
	}
	met.refused.WithLabelValues(reasonNotInGroup)
	reg.MustRegister(met.claims, met.refused, met.ownershipChanges, met.transitions, met.cutOff,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jagad_cluster_member_up",
			Help: "1 while this member is in its group (Kubernetes Lease mode: it reached the API server within the lease duration), else 0.",
		}, func() float64 { return b2f(e.InGroup()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jagad_cluster_leader",
			Help: "1 while this member leads and may start scheduled runs (Kubernetes Lease mode), else 0.",
		}, func() float64 { return b2f(e.Leading()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jagad_cluster_schedules_owned",
			Help: "Schedules this member owns now (Kubernetes Lease mode: all while it leads, else none).",
		}, func() float64 {
			if !e.Leading() {
				return 0
			}
			return float64(len(e.opts.Schedules()))
		}),
	)
	return met
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
