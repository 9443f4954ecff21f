package cluster

import "github.com/prometheus/client_golang/prometheus"

// metrics are the jagad_cluster_* series of one member.
type metrics struct {
	claims           prometheus.Counter
	refused          *prometheus.CounterVec
	ownershipChanges prometheus.Counter
	cutOff           *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, m *Member) *metrics {
	met := &metrics{
		claims: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jagad_cluster_claims_total",
			Help: "Slots this member claimed in etcd and ran.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_cluster_claims_refused_total",
			Help: "Due slots this member did not run although it owned them, by reason: not_in_group (no live lease), claimed (another member holds the slot), finished (the slot already ran), etcd_error.",
		}, []string{"reason"}),
		ownershipChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jagad_cluster_ownership_changes_total",
			Help: "Schedules this member gained or lost on a change of the group's members.",
		}),
		cutOff: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jagad_cluster_runs_cut_off_total",
			Help: "Scheduled runs that ended after the lease they were claimed under was lost (their slot runs again on its owner), by reason: unconfirmed (the lease guard gave up because etcd had not confirmed the lease in time: etcd slow or unreachable, or this host too busy; the lease may still have been alive), lost (etcd said the lease or member key was gone), left (the member left the group).",
		}, []string{"reason"}),
	}
	for _, r := range []string{CutUnconfirmed, CutLost, CutLeft} {
		met.cutOff.WithLabelValues(r)
	}
	for _, r := range []string{ReasonNotInGroup, ReasonClaimed, ReasonFinished, ReasonEtcd} {
		met.refused.WithLabelValues(r)
	}
	reg.MustRegister(met.claims, met.refused, met.ownershipChanges, met.cutOff,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jagad_cluster_member_up",
			Help: "1 while this member holds a live lease in its group, else 0 (it starts no scheduled run).",
		}, func() float64 {
			if m.InGroup() {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jagad_cluster_members",
			Help: "Live members of the group as this member sees them (0 while it is out of the group).",
		}, func() float64 { return float64(len(m.Members())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jagad_cluster_schedules_owned",
			Help: "Schedules this member owns now.",
		}, func() float64 { return float64(m.ownedNow()) }),
	)
	return met
}
