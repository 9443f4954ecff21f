package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/cluster/k8slease"
	"github.com/jagad/jagad/engine/cluster/k8slease/k8sleasetest"
	"github.com/jagad/jagad/engine/schedule"
	"github.com/jagad/jagad/state"
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

// TestLeaseLastRuns: what a new leader's catch-up starts from. A run cut
// off when its daemon lost the Lease, or stopped by a crash, is an
// interrupted slot to run again (the newest only), not a finished run; a
// run that failed by itself counts as made, as in the etcd mode.
func TestLeaseLastRuns(t *testing.T) {
	store, err := state.Open(state.Options{Dir: t.TempDir(), MasterKey: bytes.Repeat([]byte{7}, 32), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	at := func(hhmm string) time.Time {
		ts, err := time.Parse("2006-01-02 15:04:05", "2026-12-06 "+hhmm)
		if err != nil {
			t.Fatal(err)
		}
		return ts.UTC()
	}
	put := func(id, schedule, status, log string, created time.Time) {
		t.Helper()
		b := state.Backup{ID: id, ScheduleID: schedule, Status: status, LogOutput: log, CreatedAt: created}
		if err := store.Update(func(tx *state.Tx) error { return state.Put(tx, b) }); err != nil {
			t.Fatal(err)
		}
	}
	cut := "BACKUP FAILED: " + schedule.ErrClaimLost.Error() + " (context canceled)\n"
	crash := "RECOVERY: the daemon stopped while this backup was in progress; marked failed at start-up and its partial object removed\n"
	put("a1", "cut", state.StatusSuccess, "", at("03:00:00.1"))
	put("a2", "cut", state.StatusFailed, cut, at("03:01:00.2"))
	put("b1", "crash", state.StatusSuccess, "", at("03:00:00.1"))
	put("b2", "crash", state.StatusFailed, crash, at("03:01:00.3"))
	put("b3", "crash", state.StatusFailed, crash, at("03:02:00.3"))
	put("c1", "failed", state.StatusSuccess, "", at("03:00:00.1"))
	put("c2", "failed", state.StatusFailed, "BACKUP FAILED: pg_dump: connection refused\n", at("03:01:00.2"))
	put("d1", "first", state.StatusFailed, cut, at("03:01:00.2"))
	for _, tc := range []struct {
		schedule              string
		finished, interrupted time.Time
	}{
		{"cut", at("03:00:00.1"), at("03:01:00")},
		{"crash", at("03:00:00.1"), at("03:02:00")},
		{"failed", at("03:01:00.2"), time.Time{}},
		{"first", time.Time{}, at("03:01:00")},
		{"none", time.Time{}, time.Time{}},
	} {
		finished, interrupted := lastRuns(store, tc.schedule)
		if !finished.Equal(tc.finished) || !interrupted.Equal(tc.interrupted) {
			t.Errorf("%s: finished %v interrupted %v, want %v and %v", tc.schedule, finished, interrupted, tc.finished, tc.interrupted)
		}
	}
}
