package retention

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// checkInvariants asserts what must hold for any input, computing parents
// independently of the implementation.
func checkInvariants(tb testing.TB, scheduleID string, in []Backup, got Result) {
	tb.Helper()
	byID := map[string]Backup{}
	for _, b := range in {
		byID[b.ID] = b
	}
	seen := map[string]bool{}
	for _, d := range append(slices.Clone(got.Keep), got.Delete...) {
		if seen[d.ID] {
			tb.Errorf("%s decided twice (keep and delete must be disjoint)", d.ID)
		}
		seen[d.ID] = true
		if len(d.Reasons) == 0 {
			tb.Errorf("%s has no reason", d.ID)
		}
	}
	if len(seen) != len(byID) || len(got.Keep)+len(got.Delete) != len(in) {
		tb.Errorf("keep ∪ delete has %d decisions for %d backups", len(got.Keep)+len(got.Delete), len(in))
	}
	for _, list := range [][]Decision{got.Keep, got.Delete} {
		for i := 1; i < len(list); i++ {
			if !newerRef(byID[list[i-1].ID], byID[list[i].ID]) {
				tb.Errorf("%s listed before %s: not newest first", list[i-1].ID, list[i].ID)
			}
		}
	}
	deleted := map[string]bool{}
	for _, d := range got.Delete {
		deleted[d.ID] = true
		b := byID[d.ID]
		if d.Keep || b.Status != StatusSuccess || scheduleID == "" || b.ScheduleID != scheduleID {
			tb.Errorf("deleted %+v: only successful backups of %q may go", b, scheduleID)
		}
	}
	if n, ok := newestSuccessRef(scheduleID, in); ok && deleted[n.ID] {
		tb.Errorf("deleted the newest successful backup %s", n.ID)
	}
	for _, b := range in {
		if deleted[b.ID] || b.Type != TypeIncremental || b.Status == StatusFailed {
			continue
		}
		if p, ok := parentRef(b, in); ok && deleted[p.ID] {
			tb.Errorf("deleted %s, needed by kept incremental %s (%s)", p.ID, b.ID, b.Status)
		}
	}
}

func newerRef(a, b Backup) bool {
	return a.CreatedAt.After(b.CreatedAt) || a.CreatedAt.Equal(b.CreatedAt) && a.ID > b.ID
}

func newestSuccessRef(scheduleID string, in []Backup) (Backup, bool) {
	var best Backup
	found := false
	for _, b := range in {
		if b.ScheduleID == scheduleID && scheduleID != "" && b.Status == StatusSuccess &&
			(b.Type == TypeFull || b.Type == TypePhysical || b.Type == TypeIncremental) && (!found || newerRef(b, best)) {
			best, found = b, true
		}
	}
	return best, found
}

// parentRef is the dependency rule restated in the simplest way.
func parentRef(inc Backup, in []Backup) (Backup, bool) {
	if inc.ParentID != "" {
		for _, b := range in {
			if b.ID == inc.ParentID && b.ID != inc.ID {
				return b, true
			}
		}
		return Backup{}, false
	}
	var best Backup
	found := false
	for _, b := range in {
		if b.ScheduleID == inc.ScheduleID && (b.Type == TypeFull || b.Type == TypePhysical) && b.Status == StatusSuccess &&
			newerRef(inc, b) && (!found || newerRef(b, best)) {
			best, found = b, true
		}
	}
	return best, found
}

// gen makes random but plausible inputs: few distinct timestamps (ties),
// several schedules, every status, explicit, derived and dangling parents.
type gen struct{ r *rand.Rand }

var zones = func() []*time.Location {
	out := []*time.Location{nil, time.UTC}
	for _, name := range []string{"Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			panic(err)
		}
		out = append(out, loc)
	}
	return out
}()

func (g gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g gen) backups(now time.Time) []Backup {
	n := 5 + g.r.IntN(40)
	out := make([]Backup, n)
	for i := range out {
		b := Backup{
			ID:         fmt.Sprintf("b%03d", g.r.IntN(1000)*1000+i), // unique, unordered
			ScheduleID: g.pick("s1", "s1", "s1", "s1", "s1", "s2", ""),
			Type: g.pick(TypeFull, TypeFull, TypePhysical, TypeIncremental, TypeIncremental,
				TypeIncremental, TypeIncremental, "weird"),
			Status: g.pick(StatusSuccess, StatusSuccess, StatusSuccess, StatusSuccess, StatusSuccess,
				StatusSuccess, StatusFailed, StatusQueued, StatusRunning, StatusVerifying, "bogus"),
			// hours over ~2 years, snapped so ties happen
			CreatedAt: now.Add(-time.Duration(g.r.IntN(800)*g.r.IntN(24)) * time.Hour),
		}
		if b.Type == TypeIncremental && g.r.IntN(3) == 0 && i > 0 {
			b.ParentID = out[g.r.IntN(i)].ID
		} else if b.Type == TypeIncremental && g.r.IntN(8) == 0 {
			b.ParentID = "gone"
		}
		out[i] = b
	}
	return out
}

func (g gen) policy() Policy {
	// counts are -1..6, so sometimes "no limit"; buckets are mostly unset
	count := func() int { return g.r.IntN(8) - 1 }
	bucket := func() int {
		if g.r.IntN(3) == 0 {
			return g.r.IntN(6)
		}
		return 0
	}
	return Policy{
		RetentionFull: count(), RetentionIncr: count(),
		KeepDaily: bucket(), KeepWeekly: bucket(), KeepMonthly: bucket(), KeepYearly: bucket(),
		KeepWithin: time.Duration(g.r.IntN(2)*g.r.IntN(300)) * time.Hour,
		Location:   zones[g.r.IntN(len(zones))],
	}
}

func TestPropertiesRandom(t *testing.T) {
	const seed, rounds = 20261120, 3000
	g := gen{rand.New(rand.NewPCG(seed, 1))}
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for i := range rounds {
		in, p := g.backups(now), g.policy()
		sched := g.pick("s1", "s1", "s1", "s1", "s1", "s1", "s1", "")
		got := Apply(sched, in, p, now)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkInvariants(t, sched, in, got)
			checkDeterministic(t, g, sched, in, p, now, got)
			checkIdempotent(t, sched, got, in, p, now)
			checkMonotonic(t, g, sched, in, p, now, got)
		})
	}
}

// checkDeterministic: the input order does not matter.
func checkDeterministic(t *testing.T, g gen, sched string, in []Backup, p Policy, now time.Time, got Result) {
	t.Helper()
	shuffled := slices.Clone(in)
	g.r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if again := Apply(sched, shuffled, p, now); fmt.Sprint(again) != fmt.Sprint(got) {
		t.Errorf("result depends on input order:\n%v\n%v", got, again)
	}
}

// checkIdempotent: applying the policy to what it kept deletes nothing more.
func checkIdempotent(t *testing.T, sched string, got Result, in []Backup, p Policy, now time.Time) {
	t.Helper()
	kept := map[string]bool{}
	for _, d := range got.Keep {
		kept[d.ID] = true
	}
	var rest []Backup
	for _, b := range in {
		if kept[b.ID] {
			rest = append(rest, b)
		}
	}
	if again := Apply(sched, rest, p, now); len(again.Delete) != 0 {
		t.Errorf("second pass deletes %v", ids(again.Delete))
	}
}

// checkMonotonic: once both types have a count limit, loosening any rule
// never deletes more (the rules are a union).
func checkMonotonic(t *testing.T, g gen, sched string, in []Backup, p Policy, now time.Time, got Result) {
	t.Helper()
	if p.RetentionFull <= 0 || p.RetentionIncr <= 0 {
		return
	}
	looser := p
	fields := []*int{&looser.RetentionFull, &looser.RetentionIncr, &looser.KeepDaily,
		&looser.KeepWeekly, &looser.KeepMonthly, &looser.KeepYearly}
	f := fields[g.r.IntN(len(fields))]
	*f = max(*f, 0) + 1 + g.r.IntN(3)
	looser.KeepWithin += time.Duration(g.r.IntN(2)) * 24 * time.Hour
	before := map[string]bool{}
	for _, d := range got.Delete {
		before[d.ID] = true
	}
	for _, d := range Apply(sched, in, looser, now).Delete {
		if !before[d.ID] {
			t.Errorf("looser policy %+v deletes %s, which %+v kept", looser, d.ID, p)
		}
	}
}

// TestPropertiesCatchBrokenResult makes sure checkInvariants can fail.
func TestPropertiesCatchBrokenResult(t *testing.T) {
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	in := []Backup{
		{ID: "f1", ScheduleID: "s1", Type: TypeFull, Status: StatusSuccess, CreatedAt: now.Add(-48 * time.Hour)},
		{ID: "i1", ScheduleID: "s1", Type: TypeIncremental, Status: StatusRunning, CreatedAt: now.Add(-time.Hour)},
	}
	broken := []Result{
		{Keep: []Decision{{ID: "i1", Keep: true, Reasons: []string{"running"}}},
			Delete: []Decision{{ID: "f1", Reasons: []string{"x"}}}}, // needed by i1, newest success
		{Keep: []Decision{{ID: "f1", Keep: true, Reasons: []string{"x"}}}}, // i1 missing
		{Keep: []Decision{{ID: "f1", Keep: true}, {ID: "i1", Keep: true, Reasons: []string{"running"}}}},
		{Keep: []Decision{{ID: "f1", Keep: true, Reasons: []string{"x"}}},
			Delete: []Decision{{ID: "i1", Reasons: []string{"x"}}}}, // running deleted
	}
	for i, r := range broken {
		ft := &fakeTB{TB: t}
		checkInvariants(ft, "s1", in, r)
		if !ft.failed {
			t.Errorf("broken result %d passed the invariant check", i)
		}
	}
	ft := &fakeTB{TB: t}
	checkInvariants(ft, "s1", in, Apply("s1", in, Policy{RetentionFull: 1}, now))
	if ft.failed {
		t.Error("a correct result failed the invariant check")
	}
}

type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Errorf(string, ...any) { f.failed = true }
func (f *fakeTB) Helper()               {}
