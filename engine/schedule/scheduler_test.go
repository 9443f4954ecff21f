package schedule

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/jagad/jagad/state"
)

// recorder is a Config whose callbacks record what the scheduler did.
type recorder struct {
	mu      sync.Mutex
	runs    []string
	next    map[string]time.Time
	forgot  []string
	lastRun map[string]time.Time
}

func newRecorder() *recorder {
	return &recorder{next: map[string]time.Time{}, lastRun: map[string]time.Time{}}
}

func (r *recorder) config(clk clockwork.Clock, names map[string]string) Config {
	return Config{
		Clock: clk,
		Run: func(id string, claim Claim) string {
			defer claim.Release()
			r.mu.Lock()
			defer r.mu.Unlock()
			r.runs = append(r.runs, id)
			return names[id]
		},
		LastRun: func(id string) time.Time {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.lastRun[id]
		},
		NextRun: func(name string, next time.Time) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.next[name] = next
		},
		ForgetNextRun: func(name string) {
			r.mu.Lock()
			defer r.mu.Unlock()
			delete(r.next, name)
			r.forgot = append(r.forgot, name)
		},
	}
}

func (r *recorder) published(name string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.next[name]
	return t, ok
}

func (r *recorder) runCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.runs)
}

func testSchedule(id, name, expr string, enabled bool) state.Schedule {
	return state.Schedule{Meta: state.Meta{ID: id},
		ScheduleSpec: state.ScheduleSpec{Name: name, CronExpr: expr, BackupType: "full", Enabled: enabled}}
}

func jobID(t *testing.T, s *Scheduler, id string) uuid.UUID {
	t.Helper()
	j, _, ok := s.Job(id)
	if !ok {
		t.Fatalf("schedule %s has no job", id)
	}
	return j
}

// TestSyncTouchesOnlyChangedJobs: Sync is level-triggered and replaces
// only the jobs whose cron or name changed; a new zone replaces them all.
func TestSyncTouchesOnlyChangedJobs(t *testing.T) {
	clk := clockwork.NewFakeClockAt(utc("2025-06-01T00:00:00Z"))
	rec := newRecorder()
	s := New(rec.config(clk, nil))
	a := testSchedule("a", "alpha", "30 0 * * *", true)
	b := testSchedule("b", "beta", "0 1 * * *", true)
	c := testSchedule("c", "gamma", "0 1 * * *", false)

	s.Sync([]state.Schedule{a, b, c}, time.UTC)
	if _, _, ok := s.Job("a"); ok {
		t.Fatal("Sync before Start registered a job")
	}
	s.Start()
	defer s.Stop()
	s.Sync([]state.Schedule{a, b, c}, time.UTC)
	if _, _, ok := s.Job("c"); ok {
		t.Fatal("a disabled schedule has a job")
	}
	for name, want := range map[string]time.Time{"alpha": utc("2025-06-01T00:30:00Z"), "beta": utc("2025-06-01T01:00:00Z"), "gamma": {}} {
		if got, ok := rec.published(name); !ok || !got.Equal(want) {
			t.Errorf("published next run of %s = %v (%v), want %v", name, got, ok, want)
		}
	}
	jobA, jobB := jobID(t, s, "a"), jobID(t, s, "b")

	b.CronExpr = "0 2 * * *"
	s.Sync([]state.Schedule{a, b}, time.UTC) // b changed, c removed
	if jobID(t, s, "a") != jobA {
		t.Error("an unchanged schedule's job was replaced")
	}
	if jobID(t, s, "b") == jobB {
		t.Error("a changed schedule kept its job")
	}
	if got, _ := rec.published("beta"); !got.Equal(utc("2025-06-01T02:00:00Z")) {
		t.Errorf("beta's next run = %v after its cron changed", got)
	}
	if _, ok := rec.published("gamma"); ok {
		t.Error("the next run of a removed schedule is still published")
	}

	s.Sync([]state.Schedule{a, b}, nil) // zone unknown: keep UTC and the jobs
	if jobID(t, s, "a") != jobA {
		t.Error("a nil zone replaced the jobs")
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	s.Sync([]state.Schedule{a, b}, berlin)
	if jobID(t, s, "a") == jobA {
		t.Error("a new time zone kept the old job")
	}
	if got := s.NextRun("a"); !got.Equal(utc("2025-06-01T22:30:00Z")) { // 00:30 CEST on 2 June
		t.Errorf("next run in Berlin = %v", got)
	}

	s.Stop()
	s.Sync([]state.Schedule{a, b}, berlin)
	if _, _, ok := s.Job("a"); ok || !s.NextRun("a").IsZero() {
		t.Error("a stopped scheduler still has jobs")
	}
}

// TestTickRunsADueSlotOnce: gocron's firing calls Run once and publishes
// the next slot; a second firing for the same slot is refused.
func TestTickRunsADueSlotOnce(t *testing.T) {
	clk := clockwork.NewFakeClockAt(utc("2025-06-01T00:00:00Z"))
	rec := newRecorder()
	s := New(rec.config(clk, map[string]string{"a": "alpha"}))
	s.Start()
	defer s.Stop()
	s.Sync([]state.Schedule{testSchedule("a", "alpha", "30 0 * * *", true)}, time.UTC)
	waitFor(t, 5*time.Second, func() bool {
		_, planned, ok := s.Job("a")
		return ok && planned.Equal(utc("2025-06-01T00:30:00Z"))
	})

	clk.Advance(30 * time.Minute)
	waitFor(t, 5*time.Second, func() bool { return rec.runCount() == 1 })
	waitFor(t, 5*time.Second, func() bool {
		next, _ := rec.published("alpha")
		return next.Equal(utc("2025-06-02T00:30:00Z"))
	})
	s.Tick("a") // a stray firing for the slot that ran
	if n := rec.runCount(); n != 1 {
		t.Fatalf("runs = %d after a stray tick, want 1", n)
	}
}

// TestRegistrationHonoursHistory: a schedule whose newest backup is ahead
// of the clock (the clock went back across a restart) does not plan the
// slots that backup covered.
func TestRegistrationHonoursHistory(t *testing.T) {
	clk := clockwork.NewFakeClockAt(utc("2025-06-01T00:00:00Z"))
	rec := newRecorder()
	rec.lastRun["a"] = utc("2025-06-02T00:30:00Z")
	s := New(rec.config(clk, nil))
	s.Start()
	defer s.Stop()
	s.Sync([]state.Schedule{testSchedule("a", "alpha", "30 0 * * *", true)}, time.UTC)
	if got := s.NextRun("a"); !got.Equal(utc("2025-06-03T00:30:00Z")) {
		t.Fatalf("next run = %v, want the slot after the last backup", got)
	}
}
