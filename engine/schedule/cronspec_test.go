package schedule

import (
	"sync"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"
)

func mustLoc(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func mustSpec(tb testing.TB, expr string, loc *time.Location) *cronSpec {
	tb.Helper()
	c, err := parseCronSpec(expr, loc)
	if err != nil {
		tb.Fatalf("parse %q: %v", expr, err)
	}
	return c
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Europe/Berlin 2025: spring forward 30 March 01:00 UTC (02:00 CET → 03:00
// CEST), fall back 26 October 01:00 UTC (03:00 CEST → 02:00 CET).
func TestCronSpecNext(t *testing.T) {
	tests := []struct {
		name, tz, expr string
		from           string
		want           []string // successive slots, UTC
	}{
		{name: "utc daily", tz: "UTC", expr: "0 2 * * *", from: "2025-01-01T00:00:00Z",
			want: []string{"2025-01-01T02:00:00Z", "2025-01-02T02:00:00Z"}},
		{name: "berlin daily is local time", tz: "Europe/Berlin", expr: "0 2 * * *", from: "2025-01-01T00:00:00Z",
			want: []string{"2025-01-01T01:00:00Z", "2025-01-02T01:00:00Z"}},
		{name: "spring forward: 02:30 runs at the end of the gap, once", tz: "Europe/Berlin", expr: "30 2 * * *",
			from: "2025-03-29T12:00:00Z",
			want: []string{"2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z"}},
		{name: "spring forward from the same day", tz: "Europe/Berlin", expr: "30 2 * * *",
			from: "2025-03-29T23:30:00Z", // 00:30 CET on the 30th
			want: []string{"2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z"}},
		{name: "spring forward: slots in the gap collapse", tz: "Europe/Berlin", expr: "*/15 2 * * *",
			from: "2025-03-30T00:00:00Z",
			want: []string{"2025-03-30T01:00:00Z", "2025-03-31T00:00:00Z", "2025-03-31T00:15:00Z"}},
		{name: "spring forward: hourly", tz: "Europe/Berlin", expr: "@hourly", from: "2025-03-29T23:30:00Z",
			want: []string{"2025-03-30T00:00:00Z", "2025-03-30T01:00:00Z", "2025-03-30T02:00:00Z"}},
		{name: "fall back: 02:30 runs once", tz: "Europe/Berlin", expr: "30 2 * * *", from: "2025-10-25T22:00:00Z",
			want: []string{"2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"}},
		{name: "fall back: the repeated hour runs once", tz: "Europe/Berlin", expr: "0 * * * *",
			from: "2025-10-25T23:30:00Z",
			want: []string{"2025-10-26T00:00:00Z", "2025-10-26T02:00:00Z", "2025-10-26T03:00:00Z"}},
		{name: "new york spring forward", tz: "America/New_York", expr: "30 2 * * *", from: "2025-03-08T12:00:00Z",
			want: []string{"2025-03-09T07:00:00Z", "2025-03-10T06:30:00Z"}},
		{name: "weekly descriptor", tz: "Europe/Berlin", expr: "@weekly", from: "2025-06-04T12:00:00Z",
			want: []string{"2025-06-07T22:00:00Z", "2025-06-14T22:00:00Z"}},
		{name: "monthly descriptor", tz: "Europe/Berlin", expr: "@monthly", from: "2025-06-04T12:00:00Z",
			want: []string{"2025-06-30T22:00:00Z", "2025-07-31T22:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustSpec(t, tt.expr, mustLoc(t, tt.tz))
			at := utc(tt.from)
			for i, w := range tt.want {
				got := c.Next(at)
				if !got.Equal(utc(w)) {
					t.Fatalf("slot %d after %s: got %s, want %s", i, at.UTC().Format(time.RFC3339), got.UTC().Format(time.RFC3339), w)
				}
				at = got
			}
		})
	}
}

func TestCronSpecRejects(t *testing.T) {
	for _, expr := range []string{"", "* * * *", "0 0 * * * *", "@every 1h", "CRON_TZ=UTC 0 2 * * *", "0 0 30 2 *"} {
		if _, err := parseCronSpec(expr, time.UTC); err == nil {
			t.Errorf("parseCronSpec(%q) accepted", expr)
		}
	}
}

// gocronRuns registers expr with our cronSpec on a gocron scheduler with a
// fake clock at start, advances the clock in steps to end and returns the
// fake times at which the task ran. It checks what gocron v2 itself does
// with the spec (timers, rescheduling), without the engine's guard.
func gocronRuns(t *testing.T, tz, expr string, start time.Time, step time.Duration, steps int) []time.Time {
	t.Helper()
	loc := mustLoc(t, tz)
	clk := clockwork.NewFakeClockAt(start)
	s, err := gocron.NewScheduler(gocron.WithLocation(loc), gocron.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Shutdown() }()
	var mu sync.Mutex
	var runs []time.Time
	spec := mustSpec(t, expr, loc)
	j, err := s.NewJob(gocron.CronJob(expr, false), gocron.NewTask(func() {
		mu.Lock()
		defer mu.Unlock()
		runs = append(runs, clk.Now())
	}), gocron.WithCronImplementation(spec))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(runs)
	}
	for range steps {
		before, _ := j.NextRun()
		n := count()
		clk.Advance(step)
		if !before.After(clk.Now()) {
			// The timer fired: wait for the run and for the next plan.
			waitFor(t, 5*time.Second, func() bool {
				next, err := j.NextRun()
				return err == nil && next.After(clk.Now()) && count() > n
			})
		}
	}
	time.Sleep(50 * time.Millisecond) // a stray extra run would show up here
	mu.Lock()
	defer mu.Unlock()
	return append([]time.Time(nil), runs...)
}

func waitFor(tb testing.TB, d time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met within %s", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestGocronWithCronSpecDST(t *testing.T) {
	tests := []struct {
		name, tz, expr string
		start          string
		want           []string
	}{
		{name: "spring forward day runs once at 03:00 CEST", tz: "Europe/Berlin", expr: "30 2 * * *",
			start: "2025-03-29T12:00:00Z", want: []string{"2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z"}},
		{name: "fall back day runs once", tz: "Europe/Berlin", expr: "30 2 * * *",
			start: "2025-10-25T12:00:00Z", want: []string{"2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Two days in 15-minute steps.
			runs := gocronRuns(t, tt.tz, tt.expr, utc(tt.start), 15*time.Minute, 2*24*4)
			if len(runs) != len(tt.want) {
				t.Fatalf("runs %v, want %v", runs, tt.want)
			}
			for i, w := range tt.want {
				if !runs[i].Equal(utc(w)) {
					t.Errorf("run %d at %s, want %s", i, runs[i].UTC().Format(time.RFC3339), w)
				}
			}
		})
	}
}

// TestGocronJumpForwardRunsOnce documents what gocron v2.21.2 does when the
// clock jumps over several slots: its single timer fires once and the next
// run is planned from now, so there is one catch-up, never a burst.
func TestGocronJumpForwardRunsOnce(t *testing.T) {
	runs := gocronRuns(t, "UTC", "0 2 * * *", utc("2025-06-01T00:00:00Z"), 72*time.Hour, 1)
	if len(runs) != 1 {
		t.Fatalf("runs after a 3-day jump: %v, want exactly one", runs)
	}
}
