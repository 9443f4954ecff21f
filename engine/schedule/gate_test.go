package schedule

import (
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/jagad/jagad/state"
)

// fakeGate records the slots asked for and allows those in allow.
type fakeGate struct {
	mu       sync.Mutex
	allow    bool
	asked    []time.Time
	released int
}

func (g *fakeGate) Claim(_ string, slot time.Time) (Claim, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked = append(g.asked, slot)
	if !g.allow {
		return Claim{}, false
	}
	return Claim{Release: func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.released++
	}}, true
}

func (g *fakeGate) state() (asked []time.Time, released int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]time.Time(nil), g.asked...), g.released
}

// TestGateDecidesEachSlot: with a gate, a due slot runs only when the gate
// allows it, the gate is asked for the slot's time, and the run releases
// the claim once.
func TestGateDecidesEachSlot(t *testing.T) {
	clk := clockwork.NewFakeClockAt(utc("2025-06-01T00:00:00Z"))
	rec := newRecorder()
	g := &fakeGate{}
	cfg := rec.config(clk, map[string]string{"a": "alpha"})
	cfg.Gate = g
	s := New(cfg)
	s.Start()
	defer s.Stop()
	s.Sync([]state.Schedule{testSchedule("a", "alpha", "*/5 * * * *", true)}, time.UTC)

	clk.Advance(5 * time.Minute)
	s.Tick("a")
	asked, _ := g.state()
	if len(asked) != 1 || !asked[0].Equal(utc("2025-06-01T00:05:00Z")) {
		t.Fatalf("gate asked for %v, want the 00:05 slot once", asked)
	}
	if n := rec.runCount(); n != 0 {
		t.Fatalf("runs = %d with the gate refusing, want 0", n)
	}

	g.mu.Lock()
	g.allow = true
	g.mu.Unlock()
	clk.Advance(5 * time.Minute)
	s.Tick("a")
	if n := rec.runCount(); n != 1 {
		t.Fatalf("runs = %d with the gate allowing, want 1", n)
	}
	if asked, released := g.state(); len(asked) != 2 || !asked[1].Equal(utc("2025-06-01T00:10:00Z")) || released != 1 {
		t.Fatalf("gate asked %v, released %d; want the 00:10 slot, released once", asked, released)
	}
}

// TestCatchUpRunsTheNewestUnfinishedSlot: a new owner runs the newest slot
// after the group's newest finished one, once, and nothing when the newest
// slot finished or the schedule never ran in the group.
func TestCatchUpRunsTheNewestUnfinishedSlot(t *testing.T) {
	clk := clockwork.NewFakeClockAt(utc("2025-06-01T10:17:00Z"))
	rec := newRecorder()
	g := &fakeGate{allow: true}
	cfg := rec.config(clk, map[string]string{"a": "alpha", "d": "daily"})
	cfg.Gate = g
	s := New(cfg)
	s.Start()
	defer s.Stop()
	s.Sync([]state.Schedule{
		testSchedule("a", "alpha", "*/5 * * * *", true),
		testSchedule("d", "daily", "30 2 * * *", true),
	}, time.UTC)

	if !s.CatchUp("a", utc("2025-06-01T10:02:00Z"), time.Time{}) {
		t.Fatal("no catch-up for slots missed since 10:02")
	}
	asked, _ := g.state()
	if len(asked) != 1 || !asked[0].Equal(utc("2025-06-01T10:15:00Z")) {
		t.Fatalf("catch-up asked for %v, want only the newest slot, 10:15", asked)
	}
	if s.CatchUp("a", utc("2025-06-01T10:15:00Z"), time.Time{}) {
		t.Error("catch-up of a finished slot")
	}
	if s.CatchUp("a", time.Time{}, time.Time{}) {
		t.Error("catch-up of a schedule that never ran in the group")
	}
	if !s.CatchUp("d", utc("2025-05-28T02:30:00Z"), time.Time{}) {
		t.Fatal("no catch-up for a daily schedule missed for days")
	}
	asked, released := g.state()
	if len(asked) != 2 || !asked[1].Equal(utc("2025-06-01T02:30:00Z")) {
		t.Fatalf("daily catch-up asked for %v, want today's 02:30", asked)
	}
	if n := rec.runCount(); n != 2 || released != 2 {
		t.Fatalf("runs = %d, released = %d; want 2 and 2", n, released)
	}
	if s.CatchUp("gone", utc("2025-06-01T10:00:00Z"), time.Time{}) {
		t.Error("catch-up of an unregistered schedule")
	}
}

// TestCatchUpRunsTheCutOffSlotFirst: a slot whose run was cut off runs
// first, even when a newer slot is due, and is asked for exactly; the
// newest due slot after it runs on the next catch-up; a catch-up that
// cannot start because a run of the schedule is going gives its slot up
// (Abandon) rather than counting it as run, while a tick keeps the skip.
func TestCatchUpRunsTheCutOffSlotFirst(t *testing.T) {
	clk := clockwork.NewFakeClockAt(utc("2025-06-01T10:17:00Z"))
	rec := newRecorder()
	g := &fakeGate{allow: true}
	cfg := rec.config(clk, map[string]string{"a": "alpha"})
	cfg.Gate = g
	s := New(cfg)
	s.Start()
	defer s.Stop()
	s.Sync([]state.Schedule{testSchedule("a", "alpha", "*/5 * * * *", true)}, time.UTC)

	if !s.CatchUp("a", utc("2025-06-01T10:05:00Z"), utc("2025-06-01T10:10:00Z")) {
		t.Fatal("no catch-up of the cut-off 10:10 slot")
	}
	if !s.CatchUp("a", utc("2025-06-01T10:10:00Z"), time.Time{}) {
		t.Fatal("no catch-up of the newest slot once the cut-off one finished")
	}
	asked, released := g.state()
	if len(asked) != 2 || !asked[0].Equal(utc("2025-06-01T10:10:00Z")) || !asked[1].Equal(utc("2025-06-01T10:15:00Z")) {
		t.Fatalf("catch-ups asked for %v, want the cut-off 10:10, then 10:15", asked)
	}
	if n := rec.runCount(); n != 2 || released != 2 {
		t.Fatalf("runs = %d, released = %d; want 2 and 2", n, released)
	}
	if s.CatchUp("a", utc("2025-06-01T10:15:00Z"), utc("2025-06-01T10:20:00Z")) {
		t.Error("catch-up of a cut-off slot in the future")
	}
	if s.CatchUp("gone", time.Time{}, utc("2025-06-01T10:10:00Z")) {
		t.Error("catch-up of a cut-off slot of an unregistered schedule")
	}

	// The gate's Abandon reaches the run only for a catch-up.
	var abandons []bool
	ag := abandonGate{}
	cfg.Gate = ag
	cfg.Run = func(_ string, c Claim) string {
		abandons = append(abandons, c.Abandon != nil)
		c.Release()
		return "alpha"
	}
	s2 := New(cfg)
	s2.Start()
	defer s2.Stop()
	s2.Sync([]state.Schedule{testSchedule("a", "alpha", "*/5 * * * *", true)}, time.UTC)
	s2.CatchUp("a", utc("2025-06-01T10:05:00Z"), utc("2025-06-01T10:10:00Z"))
	clk.Advance(3 * time.Minute)
	s2.Tick("a")
	if len(abandons) != 2 || !abandons[0] || abandons[1] {
		t.Fatalf("Abandon passed to the run: %v, want [catch-up: yes, tick: no]", abandons)
	}
}

// abandonGate allows every slot with an Abandon.
type abandonGate struct{}

func (abandonGate) Claim(string, time.Time) (Claim, bool) {
	return Claim{Release: func() {}, Abandon: func() {}}, true
}
