package engine

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// requireSeries fails unless reg exposes every name with the given label
// value. The archive metrics have a series per archiving connection only,
// so the daemon-wide check that the examples' alert rules use existing
// metrics (cmd/jagad: TestDaemonObservability) leaves them to the tests
// that run an archive, which call this.
func requireSeries(t *testing.T, reg prometheus.Gatherer, label, value string, names ...string) {
	t.Helper()
	for _, n := range missingSeries(t, reg, label, value, names...) {
		t.Errorf("no %s{%s=%q} series", n, label, value)
	}
}

// missingSeries returns the names reg has no series of with label=value.
func missingSeries(t *testing.T, reg prometheus.Gatherer, label, value string, names ...string) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					have[mf.GetName()] = true
				}
			}
		}
	}
	var missing []string
	for _, n := range names {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	return missing
}
