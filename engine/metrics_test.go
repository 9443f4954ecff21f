package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/jagad/jagad/config/cron"
	"github.com/jagad/jagad/state"
)

// gatherSeries returns every series of g as "name{k=v,...}" → value; a
// histogram contributes one entry per bucket plus _sum and _count.
func gatherSeries(tb testing.TB, g prometheus.Gatherer) map[string]float64 {
	tb.Helper()
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			id := seriesID(mf.GetName(), m.GetLabel())
			switch {
			case m.Counter != nil:
				out[id] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[id] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				for _, b := range m.GetHistogram().GetBucket() {
					out[fmt.Sprintf("%s_bucket%s le=%g", mf.GetName(), id[len(mf.GetName()):], b.GetUpperBound())] = float64(b.GetCumulativeCount())
				}
				out[mf.GetName()+"_sum"+id[len(mf.GetName()):]] = m.GetHistogram().GetSampleSum()
				out[mf.GetName()+"_count"+id[len(mf.GetName()):]] = float64(m.GetHistogram().GetSampleCount())
			default:
				out[id] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}

func seriesID(name string, labels []*dto.LabelPair) string {
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = l.GetName() + "=" + l.GetValue()
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// scheduleSeries returns the series of g labelled schedule=name.
func scheduleSeries(tb testing.TB, g prometheus.Gatherer, name string) map[string]float64 {
	tb.Helper()
	out := map[string]float64{}
	for id, v := range gatherSeries(tb, g) {
		if strings.Contains(id, "{schedule="+name+",") || strings.Contains(id, "{schedule="+name+"}") ||
			strings.Contains(id, ",schedule="+name+",") || strings.Contains(id, ",schedule="+name+"}") {
			out[id] = v
		}
	}
	return out
}

// waitSeries polls until cond holds on the registry's series.
func waitSeries(tb testing.TB, g prometheus.Gatherer, what string, cond func(map[string]float64) bool) map[string]float64 {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := gatherSeries(tb, g)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s; series:\n%s", what, dumpSeries(s, "jagad_"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dumpSeries(s map[string]float64, prefix string) string {
	var b strings.Builder
	for id, v := range s {
		if strings.HasPrefix(id, prefix) {
			fmt.Fprintf(&b, "  %s %g\n", id, v)
		}
	}
	return b.String()
}

func testSchedule(name, cronExpr string) state.Schedule {
	now := time.Now().UTC()
	return state.Schedule{
		Meta:         state.Meta{ID: state.NewID(state.KindSchedule), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ScheduleSpec: state.ScheduleSpec{Name: name, CronExpr: cronExpr, BackupType: "full", Enabled: true},
	}
}

// TestMetricsCardinality observes 1,000 backup records across 10 schedules:
// the number of series depends on the schedules, never on the backups, and
// no backup ID becomes a label value.
func TestMetricsCardinality(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	statuses := []string{state.StatusSuccess, state.StatusFailed}
	backup := func(i, schedules int) state.Backup {
		done := time.Unix(1_700_000_000+int64(i), 0)
		return state.Backup{
			ID: fmt.Sprintf("bkp-%06d", i), ScheduleName: fmt.Sprintf("sched-%02d", i%schedules),
			DBType: "postgresql", BackupType: "full", Status: statuses[(i/schedules)%2],
			SizeBytes: int64(1000 + i), StoredSizeBytes: int64(500 + i), DurationMs: int64(i * 37), CompletedAt: &done,
		}
	}
	// Warm up: each of the 10 schedules sees a success and a failure.
	for i := range 20 {
		m.observeBackup(backup(i, 10))
	}
	before := gatherSeries(t, reg)
	for i := 20; i < 1020; i++ {
		m.observeBackup(backup(i, 10))
	}
	after := gatherSeries(t, reg)
	if len(after) != len(before) {
		t.Fatalf("series grew with backups: %d before, %d after 1,000 backups", len(before), len(after))
	}
	for id := range after {
		if strings.Contains(id, "bkp-") {
			t.Fatalf("a backup ID is a label value: %s", id)
		}
	}
	if got := after[`jagad_backups_total{backup_type=full,db_type=postgresql,schedule=sched-03,status=success}`]; got != 51 {
		t.Errorf("sched-03 successes = %g, want 51", got)
	}
	if got := after[`jagad_backup_duration_seconds_count{schedule=sched-07}`]; got != 102 {
		t.Errorf("sched-07 duration count = %g, want 102", got)
	}
	// An 11th schedule adds series: the count follows schedules.
	b := backup(1031, 10)
	b.ScheduleName = "sched-new"
	m.observeBackup(b)
	if grown := len(gatherSeries(t, reg)); grown <= len(after) {
		t.Fatalf("a new schedule added no series: %d → %d", len(after), grown)
	}
}

// TestScheduleSeriesFollowStore checks that schedules created, renamed and
// removed after Start get and lose their series.
func TestScheduleSeriesFollowStore(t *testing.T) {
	h := newHarness(t, withOptions(func(o *Options) { o.DefaultTimeout = time.Hour }))
	nightly := testSchedule("nightly", "0 2 * * *")
	nightly.MaxAge = state.Duration(26 * time.Hour)
	put(h, nightly)
	wantNightly := map[string]float64{
		"jagad_backup_last_success_timestamp_seconds{schedule=nightly}": 0,
		"jagad_backup_last_status{schedule=nightly}":                    -1,
		"jagad_schedule_max_age_seconds{schedule=nightly}":              26 * 3600,
		"jagad_schedule_runs_skipped_total{schedule=nightly}":           0,
		"jagad_schedule_created_timestamp_seconds{schedule=nightly}":    float64(nightly.CreatedAt.Unix()),
	}
	// The series appear one after the other: wait for all of them (a
	// gather between two saw last_success without runs_skipped).
	s := waitSeries(t, h.reg, "series of nightly", func(s map[string]float64) bool {
		for id := range wantNightly {
			if _, ok := s[id]; !ok {
				return false
			}
		}
		return true
	})
	for id, want := range wantNightly {
		if got, ok := s[id]; !ok || got != want {
			t.Errorf("%s = %g (present %v), want %g", id, got, ok, want)
		}
	}

	// A schedule with no max_age: 1.5 × its hourly interval + its timeout.
	hourly := testSchedule("hourly", "0 * * * *")
	hourly.Timeout = state.Duration(30 * time.Minute)
	put(h, hourly)
	waitSeries(t, h.reg, "max age of hourly", func(s map[string]float64) bool {
		return s["jagad_schedule_max_age_seconds{schedule=hourly}"] == 2*3600
	})

	// Renamed: the old name's series go, the new name's come.
	h.eng.metrics.observeBackup(state.Backup{ID: "b1", ScheduleName: "hourly", DBType: "postgresql", BackupType: "full", Status: state.StatusFailed})
	hourly.Name = "hourly-renamed"
	put(h, hourly)
	waitSeries(t, h.reg, "rename of hourly", func(s map[string]float64) bool {
		_, ok := s["jagad_backup_last_status{schedule=hourly-renamed}"]
		return ok
	})
	if old := scheduleSeries(t, h.reg, "hourly"); len(old) != 0 {
		t.Errorf("series of the old name remain:\n%s", dumpSeries(old, ""))
	}

	// Removed: every series of the schedule goes.
	if err := h.store.Update(func(tx *state.Tx) error { return state.Delete[state.Schedule](tx, nightly.ID) }); err != nil {
		t.Fatalf("delete schedule: %v", err)
	}
	waitSeries(t, h.reg, "removal of nightly", func(s map[string]float64) bool {
		_, ok := s["jagad_schedule_max_age_seconds{schedule=nightly}"]
		return !ok
	})
	if left := scheduleSeries(t, h.reg, "nightly"); len(left) != 0 {
		t.Errorf("series of the removed schedule remain:\n%s", dumpSeries(left, ""))
	}
	if _, ok := gatherSeries(t, h.reg)["jagad_backup_last_status{schedule=hourly-renamed}"]; !ok {
		t.Error("removing nightly removed hourly-renamed's series too")
	}
}

// TestScheduleSeriesFromHistory checks that a schedule's series start from
// its stored history: last success and last status of its newest backups.
func TestScheduleSeriesFromHistory(t *testing.T) {
	h := newHarness(t)
	s := put(h, testSchedule("with-history", "@daily"))
	ok := time.Unix(1_700_000_000, 0).UTC()
	failed := ok.Add(time.Hour)
	put(h, state.Backup{ID: state.NewID(state.KindBackup), ScheduleID: s.ID, ScheduleName: s.Name, Status: state.StatusSuccess,
		CreatedAt: ok.Add(-time.Minute), CompletedAt: &ok})
	put(h, state.Backup{ID: state.NewID(state.KindBackup), ScheduleID: s.ID, ScheduleName: s.Name, Status: state.StatusFailed,
		CreatedAt: failed.Add(-time.Minute), CompletedAt: &failed})
	// A touch of the schedule after its backups exist: a rename re-reads history.
	s.Name = "with-history-2"
	put(h, s)
	got := waitSeries(t, h.reg, "series of with-history-2", func(m map[string]float64) bool {
		_, ok := m["jagad_backup_last_status{schedule=with-history-2}"]
		return ok
	})
	if v := got["jagad_backup_last_success_timestamp_seconds{schedule=with-history-2}"]; v != float64(ok.Unix()) {
		t.Errorf("last success = %g, want %d", v, ok.Unix())
	}
	if v := got["jagad_backup_last_status{schedule=with-history-2}"]; v != 0 {
		t.Errorf("last status = %g, want 0 (the newest backup failed)", v)
	}
}

func TestScheduleMaxAge(t *testing.T) {
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC) // a Wednesday
	tests := []struct {
		name    string
		cron    string
		maxAge  time.Duration
		timeout time.Duration
		want    time.Duration
	}{
		{name: "max_age wins", cron: "@hourly", maxAge: 26 * time.Hour, want: 26 * time.Hour},
		{name: "daily, default timeout", cron: "@daily", want: 36*time.Hour + 6*time.Hour},
		{name: "every 15 minutes", cron: "*/15 * * * *", timeout: 10 * time.Minute, want: 22*time.Minute + 30*time.Second + 10*time.Minute},
		{name: "weekdays: the weekend gap", cron: "0 2 * * 1-5", timeout: time.Hour, want: 3*24*time.Hour*3/2 + time.Hour},
		{name: "31st of the month: the longest gap", cron: "0 0 31 * *", timeout: time.Hour, want: 61*24*time.Hour*3/2 + time.Hour},
		{name: "invalid cron", cron: "not a cron", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSchedule("x", tt.cron)
			s.MaxAge, s.Timeout = state.Duration(tt.maxAge), state.Duration(tt.timeout)
			if got := scheduleMaxAge(s, time.UTC, 6*time.Hour, now); got != tt.want {
				t.Errorf("max age = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestCronIntervalTwoFirings checks the derived interval against two
// consecutive firings of a regular expression.
func TestCronIntervalTwoFirings(t *testing.T) {
	sched, err := cron.Parse("17 */4 * * *", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first := sched.Next(now)
	if got, want := cronInterval(sched, now), sched.Next(first).Sub(first); got != want {
		t.Fatalf("interval = %s, want %s", got, want)
	}
}
