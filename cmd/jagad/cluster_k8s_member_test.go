package main

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/cluster/k8slease"
	"github.com/jagad/jagad/engine/cluster/k8slease/k8sleasetest"
)

// TestLeaseMemberCutsOffOnLostLeadership: a run claimed in the Lease mode
// gets a Lost channel that closes once the daemon no longer leads (here it
// hands the Lease back by closing), so the scheduler cuts the run off as
// in the etcd mode. The API server is k8sleasetest's: no Kubernetes API
// server can run on a test machine (see engine/cluster/k8slease).
func TestLeaseMemberCutsOffOnLostLeadership(t *testing.T) {
	api := k8sleasetest.New(t)
	cli, _, err := k8slease.NewClient(api.Kubeconfig(t, "backups"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	e, err := k8slease.Start(k8slease.Options{Client: cli, Namespace: "backups", Name: "jagad", Registerer: reg,
		ID: "jagad-0", LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m := leaseMember{Elector: e, group: "backups/jagad"}
	slot := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	deadline := time.Now().Add(time.Minute)
	for !m.Leading() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the only candidate to lead")
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, ok := m.ClaimSlot("a", slot)
	if !ok || c.Lost == nil || c.Release == nil {
		t.Fatalf("the leader's claim: ok=%v lost=%v", ok, c.Lost != nil)
	}
	select {
	case <-c.Lost:
		t.Fatal("Lost closed while the daemon leads")
	case <-time.After(3 * leaseCheckEvery):
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Lost:
	case <-time.After(time.Minute):
		t.Fatal("Lost did not close after the daemon stopped leading")
	}
	c.Release() // once the run has ended; a second end is harmless
	c.Abandon()
	// The run outlived the gate: counted once, with the reason it closed.
	why := e.CutOffReason()
	if why != k8slease.CutLeft && why != k8slease.CutUnconfirmed {
		t.Errorf("a closed daemon's gate closed for %q", why)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	cut := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == "jagad_cluster_runs_cut_off_total" {
			for _, m := range mf.GetMetric() {
				cut[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	if cut[why] != 1 || cut[k8slease.CutLeft]+cut[k8slease.CutLost]+cut[k8slease.CutUnconfirmed] != 1 {
		t.Errorf("runs cut off: %v, want one %q", cut, why)
	}
	if _, ok := m.ClaimSlot("a", slot.Add(time.Minute)); ok {
		t.Fatal("a closed daemon claimed a slot")
	}
	if m.Group() != "backups/jagad" {
		t.Fatalf("group %q", m.Group())
	}
}
