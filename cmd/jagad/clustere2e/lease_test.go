package clustere2e

import (
	"fmt"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/cluster/k8slease/k8sleasetest"
)

const (
	leaseNamespace = "backups"
	leaseName      = "jagad" // the default name
	leaseJobs      = 3       // schedules, every minute
	leaseDuration  = 4 * time.Second
)

// TestLeaseFailover runs the Kubernetes Lease mode as real processes: two
// jagad daemons on one jagad.yaml and one storage directory, electing a
// leader on k8sleasetest's Lease API (the API server of `make test`). The
// leader runs every schedule's slot A; the standby runs none and lists
// them, learned from the manifests in storage. The leader is then killed
// with SIGKILL: the standby takes the Lease over once it has not seen it
// change for lease_duration, and runs slot B of every schedule, once.
// Counted over the daemons' GET /api/backups: every schedule has exactly
// one successful backup of each slot, made by the leader of the time, and
// none has two of any slot.
func TestLeaseFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two daemons for about two minutes")
	}
	t.Parallel() // beside TestGroupRunsEachSlotOnce's minutes
	pgDump := requirePostgres(t)
	srv := k8sleasetest.New(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jagad.yaml")
	var jobs []job
	for i := range leaseJobs {
		jobs = append(jobs, job{name: fmt.Sprintf("lease-every-minute-%d", i), database: "postgres"})
	}
	writeFile(t, cfg, jagadYAML(dir, pgDump, jobs))
	env := map[string]string{
		"JAGAD_CONFIG":                     cfg,
		"JAGAD_CLUSTER_K8S_KUBECONFIG":     srv.Kubeconfig(t, leaseNamespace),
		"JAGAD_CLUSTER_K8S_LEASE_DURATION": leaseDuration.String(),
		"JAGAD_CLUSTER_K8S_RENEW_DEADLINE": "2s",
		"JAGAD_CLUSTER_K8S_RETRY_PERIOD":   "500ms",
	}
	ds := map[string]*daemon{}
	for _, name := range []string{"lease-0", "lease-1"} {
		e := maps.Clone(env)
		e["JAGAD_DATA_DIR"] = filepath.Join(dir, name)
		ds[name] = startDaemon(t, name, e)
	}
	holder := func() string {
		h, _ := srv.Holder(leaseNamespace, leaseName)
		return h
	}

	// Slot A: the first after the leader's gate opened.
	var leader, standby *daemon
	waitUntil(t, time.Minute, "a daemon leading", func() bool {
		leader = ds[holder()]
		return leader != nil && leader.metric("jagad_cluster_leader") == "1"
	})
	for _, d := range ds {
		if d != leader {
			standby = d
		}
	}
	slotA := nextSlot(time.Now())
	t.Logf("%s leads; slot A is %s", leader.name, hhmm(slotA))
	if v := standby.metric("jagad_cluster_leader"); v != "0" {
		t.Fatalf("the standby %s: jagad_cluster_leader %q, want 0", standby.name, v)
	}
	ids := scheduleIDs(t, leader, leaseJobs)
	waitSlotDone(t, leader, ids, slotA)
	runs := waitSameView(t, []*daemon{leader, standby}, "")
	for name, id := range ids {
		ok := runs.success(id, slotA)
		if len(ok) != 1 || ok[0].by != leader.name {
			t.Errorf("%s's %s slot (A): successful backups %v, want 1 by the leader %s", name, hhmm(slotA), ok, leader.name)
		}
	}
	for _, b := range standby.backups() {
		if !b.learned() {
			t.Errorf("the standby %s ran %s's backup %s (%s, %s)", standby.name, b.ScheduleName, b.ID, b.Status, b.CreatedAt.UTC().Format(time.TimeOnly))
		}
	}

	// One term so far: a leadership lost under load (renewals later than
	// renew_deadline) would show here first.
	for d, want := range map[*daemon]string{leader: "1", standby: "0"} {
		if v := d.metric("jagad_cluster_leadership_changes_total"); v != want {
			t.Fatalf("%s before the kill: jagad_cluster_leadership_changes_total %q, want %s", d.name, v, want)
		}
	}

	// Failover, once slot A is known to both (the standby's catch-up
	// starts from its newest backup).
	leader.kill()
	killed := time.Now()
	waitUntil(t, time.Minute, "another holder of the Lease than the killed "+leader.name, func() bool {
		return holder() != leader.name
	})
	tookOver := time.Since(killed)
	if h := holder(); h != standby.name {
		t.Fatalf("after %s was killed the Lease is held by %q, want %s", leader.name, h, standby.name)
	}
	waitUntil(t, time.Minute, standby.name+"'s gate open (jagad_cluster_leader 1)", func() bool {
		return standby.metric("jagad_cluster_leader") == "1"
	})
	leading := time.Now()
	t.Logf("killed %s (kill -9) at %s; %s holds the Lease %s later, its gate opened %s after the kill (lease_duration %s)",
		leader.name, killed.UTC().Format("15:04:05.000"), standby.name, tookOver.Round(10*time.Millisecond),
		leading.Sub(killed).Round(10*time.Millisecond), leaseDuration)

	// Slot B: the survivor's first as the leader.
	slotB := nextSlot(leading)
	waitSlotDone(t, standby, ids, slotB)
	runs = waitSameView(t, []*daemon{standby}, leader.name)
	for name, id := range ids {
		ok := runs.success(id, slotB)
		if len(ok) != 1 || ok[0].by != standby.name {
			t.Errorf("%s's %s slot (B): successful backups %v, want 1 by the new leader %s", name, hhmm(slotB), ok, standby.name)
		}
		if ok := runs.success(id, slotA); len(ok) != 1 || ok[0].by != leader.name {
			t.Errorf("%s's %s slot (A) as the survivor lists it: %v, want 1 by %s", name, hhmm(slotA), ok, leader.name)
		}
	}
	for key, n := range runs.doubled() {
		t.Errorf("slot %s has %d successful backups", key, n)
	}
	if v := standby.metric("jagad_cluster_leadership_changes_total"); v != "1" {
		t.Errorf("%s: jagad_cluster_leadership_changes_total %q, want 1", standby.name, v)
	}
	for _, reason := range []string{"unconfirmed", "lost", "left"} {
		series := fmt.Sprintf("jagad_cluster_runs_cut_off_total{reason=%q}", reason)
		if v := standby.metric(series); v != "0" {
			t.Errorf("%s: %s %q, want 0", standby.name, series, v)
		}
	}
	t.Logf("slots %s (%s) and %s (%s) of %d schedules; failed runs: %v", hhmm(slotA), leader.name, hhmm(slotB), standby.name,
		leaseJobs, runs.failed())
}

// waitSlotDone waits, for up to two minutes after slot, until d lists a
// finished backup of slot for every schedule in ids, and no unfinished one.
func waitSlotDone(t *testing.T, d *daemon, ids map[string]string, slot time.Time) {
	t.Helper()
	waitUntil(t, time.Until(slot)+2*time.Minute, d.name+" listing every schedule's "+hhmm(slot)+" run finished", func() bool {
		done := map[string]bool{}
		for _, b := range d.backups() {
			if !slotOf(b).Equal(slot) {
				continue
			}
			switch b.Status {
			case "success", "failed":
				done[b.ScheduleID] = true
			default:
				return false
			}
		}
		for _, id := range ids {
			if !done[id] {
				return false
			}
		}
		return true
	})
}
