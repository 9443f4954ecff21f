package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jagad/jagad/engine/cluster/etcdtest"
)

// join starts a member of group "test" on srv, closed at the end of the test.
func join(t *testing.T, srv *etcdtest.Server, id string, ttl time.Duration, schedules []string) (*Member, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := Join(Options{Endpoints: []string{srv.Endpoint()}, Group: "test", ID: id, LeaseTTL: ttl,
		Registerer: reg, Schedules: func() []string { return schedules }, CallTimeout: time.Second})
	if err != nil {
		t.Fatalf("join %s: %v", id, err)
	}
	t.Cleanup(func() { m.Close() })
	return m, reg
}

// waitFor waits for cond, failing after a minute (a hang, not a timing
// assertion: the conditions hold within the lease TTL on an idle machine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func seeMembers(ms []*Member, want ...string) func() bool {
	return func() bool {
		for _, m := range ms {
			if strings.Join(m.Members(), ",") != strings.Join(want, ",") {
				return false
			}
		}
		return true
	}
}

func scheduleIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("sch-%04d", i)
	}
	return ids
}

// TestOwnerIsStableRendezvous: the pure hashing spreads schedules evenly
// and a new member takes only the schedules it wins.
func TestOwnerIsStableRendezvous(t *testing.T) {
	ids := scheduleIDs(3000)
	three := []string{"a", "b", "c"}
	count := map[string]int{}
	for _, id := range ids {
		count[Owner(three, id)]++
	}
	for _, m := range three {
		if count[m] < 800 || count[m] > 1200 {
			t.Errorf("member %s owns %d of 3000 schedules, want about 1000 (%v)", m, count[m], count)
		}
	}
	four := []string{"a", "b", "c", "d"}
	moved := 0
	for _, id := range ids {
		before, after := Owner(three, id), Owner(four, id)
		if before != after {
			moved++
			if after != "d" {
				t.Fatalf("schedule %s moved from %s to %s: only moves to the new member are allowed", id, before, after)
			}
		}
	}
	if moved < 600 || moved > 900 {
		t.Errorf("%d of 3000 schedules moved to the 4th member, want about 750", moved)
	}
	if Owner(nil, "x") != "" {
		t.Errorf("no members: owner %q, want none", Owner(nil, "x"))
	}
}

// TestFourthMemberMovesAQuarter: three members in etcd agree on every
// schedule's owner; a fourth joins and only about a quarter move, all of
// them to it; when it leaves they move back.
func TestFourthMemberMovesAQuarter(t *testing.T) {
	srv := etcdtest.Start(t)
	ids := scheduleIDs(1000)
	m1, _ := join(t, srv, "m1", 5*time.Second, ids)
	m2, _ := join(t, srv, "m2", 5*time.Second, ids)
	m3, reg3 := join(t, srv, "m3", 5*time.Second, ids)
	three := []*Member{m1, m2, m3}
	waitFor(t, "three members seen by all", seeMembers(three, "m1", "m2", "m3"))
	before := map[string]string{}
	owned := map[string]int{}
	for _, id := range ids {
		o := m1.Owner(id)
		for _, m := range three[1:] {
			if got := m.Owner(id); got != o {
				t.Fatalf("members disagree on %s: %s vs %s", id, o, got)
			}
		}
		before[id] = o
		owned[o]++
	}
	if got := testutil.ToFloat64(metricGauge(t, reg3, "jagad_cluster_members")); got != 3 {
		t.Errorf("jagad_cluster_members = %g, want 3", got)
	}
	if got := testutil.ToFloat64(metricGauge(t, reg3, "jagad_cluster_schedules_owned")); got != float64(owned["m3"]) {
		t.Errorf("jagad_cluster_schedules_owned = %g, want %d", got, owned["m3"])
	}

	m4, _ := join(t, srv, "m4", 5*time.Second, ids)
	four := append(three, m4)
	waitFor(t, "four members seen by all", seeMembers(four, "m1", "m2", "m3", "m4"))
	moved := 0
	for _, id := range ids {
		o := m4.Owner(id)
		for _, m := range three {
			if got := m.Owner(id); got != o {
				t.Fatalf("members disagree on %s after the join: %s vs %s", id, o, got)
			}
		}
		if o != before[id] {
			moved++
			if o != "m4" {
				t.Fatalf("%s moved from %s to %s", id, before[id], o)
			}
		}
	}
	if moved < 180 || moved > 320 {
		t.Errorf("%d of 1000 schedules moved on the 4th join, want about 250", moved)
	}
	if err := m4.Close(); err != nil {
		t.Fatalf("close m4: %v", err)
	}
	waitFor(t, "m4 gone from every view", seeMembers(three, "m1", "m2", "m3"))
	for _, id := range ids {
		if got := m1.Owner(id); got != before[id] {
			t.Fatalf("after m4 left, %s is owned by %s, want %s again", id, got, before[id])
		}
	}
}

func metricGauge(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	return gathered{reg: reg, name: name}
}

// gathered is a collector of one gathered metric family (for testutil).
type gathered struct {
	reg  *prometheus.Registry
	name string
}

func (g gathered) Describe(chan<- *prometheus.Desc) {}
func (g gathered) Collect(ch chan<- prometheus.Metric) {
	mfs, _ := g.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != g.name {
			continue
		}
		for _, m := range mf.Metric {
			v := m.GetGauge().GetValue()
			if m.Counter != nil {
				v = m.GetCounter().GetValue()
			}
			ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(g.name, "", nil, nil), prometheus.GaugeValue, v)
		}
	}
}

// TestClaimRaceExactlyOneWins: two members race for the same slots;
// exactly one wins each; a finished slot is refused to everyone; a slot
// whose runner left (lease revoked) is free for the other member.
func TestClaimRaceExactlyOneWins(t *testing.T) {
	srv := etcdtest.Start(t)
	a, _ := join(t, srv, "a", 5*time.Second, nil)
	b, regB := join(t, srv, "b", 5*time.Second, nil)
	waitFor(t, "both in the group", seeMembers([]*Member{a, b}, "a", "b"))
	base := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	const slots = 50
	var wins [2]int
	for i := 0; i < slots; i++ {
		slot := base.Add(time.Duration(i) * time.Minute)
		var wg sync.WaitGroup
		rel := make([]func(), 2)
		errs := make([]error, 2)
		for k, m := range []*Member{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rel[k], errs[k] = m.TryClaim("s1", slot)
			}()
		}
		wg.Wait()
		won := 0
		for k := range rel {
			if errs[k] == nil {
				won++
				wins[k]++
			} else if !errors.Is(errs[k], ErrRefused) {
				t.Fatalf("slot %d: claim error %v is not a refusal", i, errs[k])
			}
		}
		if won != 1 {
			t.Fatalf("slot %d: %d members won the claim (%v), want exactly 1", i, won, errs)
		}
		for _, r := range rel {
			if r != nil {
				r()
			}
		}
		for _, m := range []*Member{a, b} {
			if _, err := m.TryClaim("s1", slot); err == nil || !strings.Contains(err.Error(), ReasonFinished) {
				t.Fatalf("slot %d after it finished: claim by %s = %v, want refused as finished", i, m.ID(), err)
			}
		}
	}
	t.Logf("wins: a=%d b=%d", wins[0], wins[1])
	last, err := b.LastFinished(t.Context(), "s1")
	if want := base.Add((slots - 1) * time.Minute); err != nil || !last.Equal(want) {
		t.Errorf("LastFinished = %v, %v; want %v", last, err, want)
	}
	// An older slot than the newest finished one never runs.
	if _, err := a.TryClaim("s1", base); err == nil {
		t.Errorf("a slot older than the newest finished one was claimed")
	}
	// A run cut off with its member: the claim goes with the lease, the
	// slot stays unfinished and another member may run it.
	slot := base.Add(time.Hour)
	if _, err := a.TryClaim("s1", slot); err != nil {
		t.Fatalf("claim by a: %v", err)
	}
	if _, err := b.TryClaim("s1", slot); err == nil || !strings.Contains(err.Error(), ReasonClaimed) {
		t.Fatalf("claim by b of a held slot: %v, want refused as claimed", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("close a: %v", err)
	}
	rel, err := b.TryClaim("s1", slot)
	if err != nil {
		t.Fatalf("claim by b after a left: %v", err)
	}
	rel()
	if got := testutil.ToFloat64(metricGauge(t, regB, "jagad_cluster_claims_total")); got != float64(wins[1]+1) {
		t.Errorf("b's jagad_cluster_claims_total = %g, want %d", got, wins[1]+1)
	}
}

// TestLeaseLossStopsRuns: etcd stopped for longer than the lease TTL: no
// member claims anything, both leave the group (readiness fails); when
// etcd returns they rejoin and the owner claims again.
func TestLeaseLossStopsRuns(t *testing.T) {
	srv := etcdtest.Start(t)
	ids := scheduleIDs(20)
	a, regA := join(t, srv, "a", 2*time.Second, ids)
	b, _ := join(t, srv, "b", 2*time.Second, ids)
	both := []*Member{a, b}
	waitFor(t, "both in the group", seeMembers(both, "a", "b"))
	slot := time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC)

	srv.Stop()
	// While etcd is away no claim can be made, before and after the TTL.
	for _, m := range both {
		if _, err := m.TryClaim("sch-0001", slot); err == nil {
			t.Fatalf("%s claimed a slot while etcd was down", m.ID())
		}
	}
	waitFor(t, "both out of the group after the TTL", func() bool { return !a.InGroup() && !b.InGroup() })
	for _, m := range both {
		if m.Ready() == nil {
			t.Errorf("%s is ready out of the group", m.ID())
		}
		for _, id := range ids {
			if rel, ok := m.Claim(id, slot); ok || rel != nil {
				t.Fatalf("%s may run %s with no lease", m.ID(), id)
			}
		}
	}
	if got := testutil.ToFloat64(metricGauge(t, regA, "jagad_cluster_member_up")); got != 0 {
		t.Errorf("jagad_cluster_member_up = %g out of the group, want 0", got)
	}
	if got := testutil.ToFloat64(metricGauge(t, regA, "jagad_cluster_schedules_owned")); got != 0 {
		t.Errorf("jagad_cluster_schedules_owned = %g out of the group, want 0", got)
	}

	srv.Start()
	waitFor(t, "both back in the group", func() bool { return a.InGroup() && b.InGroup() && seeMembers(both, "a", "b")() })
	ran := 0
	for _, id := range ids {
		for _, m := range both {
			if rel, ok := m.Claim(id, slot); ok {
				ran++
				if m.Owner(id) != m.ID() {
					t.Errorf("%s ran %s owned by %s", m.ID(), id, m.Owner(id))
				}
				rel()
			}
		}
	}
	if ran != len(ids) {
		t.Errorf("after etcd returned, %d of %d slots ran, want each exactly once", ran, len(ids))
	}
	if a.Ready() != nil || b.Ready() != nil {
		t.Errorf("not ready back in the group: %v, %v", a.Ready(), b.Ready())
	}
}

// TestTakeoverCatchesUpTheCutOffSlot: a member dies in the middle of a
// run (its lease goes, and with it the claim): the new owner's catch-up
// pass learns the newest finished slot, and the cut-off slot is free for
// it to run, once. The group's very first slot of a schedule counts too.
func TestTakeoverCatchesUpTheCutOffSlot(t *testing.T) {
	for _, first := range []bool{true, false} {
		t.Run(fmt.Sprintf("first slot %v", first), func(t *testing.T) {
			srv := etcdtest.Start(t)
			var x string
			for _, id := range scheduleIDs(100) {
				if Owner([]string{"a", "b"}, id) == "a" {
					x = id
					break
				}
			}
			a, _ := join(t, srv, "a", 2*time.Second, []string{x})
			b, _ := join(t, srv, "b", 2*time.Second, []string{x})
			waitFor(t, "both in the group", seeMembers([]*Member{a, b}, "a", "b"))
			s1 := time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC)
			cut, finished := s1, s1.Add(-time.Second)
			if !first {
				rel, ok := a.Claim(x, s1)
				if !ok {
					t.Fatalf("the owner could not claim %s", x)
				}
				rel()
				cut, finished = s1.Add(time.Minute), s1
			}
			if _, ok := a.Claim(x, cut); !ok {
				t.Fatalf("the owner could not claim the slot")
			}
			if _, ok := b.Claim(x, cut); ok {
				t.Fatal("a non-owner claimed the slot")
			}
			if _, err := b.TryClaim(x, finished.Add(-time.Minute)); err == nil {
				t.Fatal("a slot older than the group's record was claimed")
			}

			type call struct {
				id       string
				finished time.Time
			}
			calls := make(chan call, 10)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go b.Follow(ctx, time.Second, func(id string, finished, _ time.Time) { calls <- call{id, finished} })
			if err := a.Close(); err != nil { // gone mid-run, no release (a kill -9 loses the lease after the TTL instead)
				t.Fatalf("close a: %v", err)
			}
			var c call
			select {
			case c = <-calls:
			case <-time.After(time.Minute):
				t.Fatal("no catch-up pass on b after a left")
			}
			if c.id != x || !c.finished.Equal(finished) {
				t.Fatalf("catch-up call %v, want %s finished through %v", c, x, finished)
			}
			rel, ok := b.Claim(x, cut)
			if !ok {
				t.Fatal("the new owner could not claim the cut-off slot")
			}
			rel()
			if _, ok := b.Claim(x, cut); ok {
				t.Fatal("the cut-off slot ran twice")
			}
		})
	}
}

// TestFinishSurvivesAnOutage: a run that ends while etcd is down records
// its slot as finished once etcd is back, so the slot is not run again.
func TestFinishSurvivesAnOutage(t *testing.T) {
	srv := etcdtest.Start(t)
	a, _ := join(t, srv, "a", 2*time.Second, nil)
	b, _ := join(t, srv, "b", 2*time.Second, nil)
	waitFor(t, "both in the group", seeMembers([]*Member{a, b}, "a", "b"))
	slot := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	rel, err := a.TryClaim("s", slot)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	srv.Stop()
	rel() // the run ends during the outage
	waitFor(t, "a out of the group", func() bool { return !a.InGroup() })
	srv.Start()
	waitFor(t, "the finished slot recorded after the outage", func() bool {
		last, err := b.LastFinished(t.Context(), "s")
		return err == nil && last.Equal(slot)
	})
	waitFor(t, "b back in the group", b.InGroup)
	if _, err := b.TryClaim("s", slot); err == nil || !strings.Contains(err.Error(), ReasonFinished) {
		t.Fatalf("claim of the slot after the outage: %v, want refused as finished", err)
	}
}

// TestDuplicateMemberIDWaits: a second daemon with a member ID a live one
// holds stays out of the group (it would own the same share) until the
// first leaves.
func TestDuplicateMemberIDWaits(t *testing.T) {
	srv := etcdtest.Start(t)
	first, _ := join(t, srv, "same", 2*time.Second, nil)
	waitFor(t, "the first in the group", first.InGroup)
	second, _ := join(t, srv, "same", 2*time.Second, nil)
	other, _ := join(t, srv, "other", 2*time.Second, nil)
	waitFor(t, "the other member in the group", func() bool { return other.InGroup() && len(other.Members()) == 2 })
	if second.InGroup() {
		t.Fatal("a second daemon with a live member's ID joined the group")
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second in the group once the first left", second.InGroup)
}
