package engine

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/reconcile"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// schedEnv is a harness driven by a fake clock, with a local provider and
// a small PostgreSQL database to back up.
type schedEnv struct {
	*harness
	clk  *clockwork.FakeClock
	srv  *dbtest.Server
	conn state.Connection
	db   state.Database
	prov state.Provider
}

func newSchedEnv(t *testing.T, start time.Time, tz string) *schedEnv {
	t.Helper()
	srv := dbtest.Postgres(t)
	clk := clockwork.NewFakeClockAt(start)
	h := newHarness(t, withOptions(func(o *Options) { o.Clock, o.Now = clk, clk.Now }))
	h.setSetting("timezone", tz)
	env := &schedEnv{harness: h, clk: clk, srv: srv}
	env.prov = h.addLocalProvider("local")
	name := srv.CreateDB(t, "sched")
	srv.Exec(t, name, "CREATE TABLE t (id int primary key); INSERT INTO t SELECT generate_series(1, 10);")
	env.conn = h.addConnection("pg", srv, "")
	env.db = h.addDatabase(env.conn, name)
	return env
}

// addSchedule stores an enabled, API-made schedule of the env's database.
func (s *schedEnv) addSchedule(name, cronExpr string, edit func(*state.Schedule)) state.Schedule {
	s.t.Helper()
	now := time.Now().UTC()
	sc := state.Schedule{
		Meta: state.Meta{ID: state.NewID(state.KindSchedule), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ScheduleSpec: state.ScheduleSpec{Name: name, ConnectionID: s.conn.ID, DatabaseID: s.db.ID, BackupType: "full",
			CronExpr: cronExpr, Enabled: true},
	}
	if edit != nil {
		edit(&sc)
	}
	return put(s.harness, sc)
}

// updateSchedule edits a stored schedule.
func (h *harness) updateSchedule(id string, edit func(*state.Schedule)) {
	h.t.Helper()
	err := h.store.Update(func(tx *state.Tx) error {
		sc, err := state.Get[state.Schedule](tx, id)
		if err != nil {
			return err
		}
		edit(&sc)
		return state.Put(tx, sc)
	})
	if err != nil {
		h.t.Fatalf("update schedule: %v", err)
	}
}

// gocronNext is the next run gocron itself has planned for a schedule.
func (h *harness) gocronNext(id string) (time.Time, bool) {
	_, next, ok := h.eng.sched.Job(id)
	return next, ok && !next.IsZero()
}

// jobUUID is the gocron job ID of a registered schedule.
func (h *harness) jobUUID(id string) string {
	j, _, ok := h.eng.sched.Job(id)
	if !ok {
		h.t.Fatalf("schedule %s is not registered", id)
	}
	return j.String()
}

// waitNext waits until the schedule is registered and both gocron and
// ScheduleInfo plan its next run at want.
func (h *harness) waitNext(id string, want time.Time) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, ok := h.gocronNext(id)
		next, _, _ := h.eng.ScheduleInfo(id)
		if ok && g.Equal(want) && next != nil && next.Equal(want) {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("schedule %s: gocron next %s (registered %v), info next %v; want %s", id, g, ok, next, want.UTC())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitUnregistered waits until the schedule has no job and no next run.
func (h *harness) waitUnregistered(id string) {
	h.t.Helper()
	waitFor(h.t, 10*time.Second, func() bool {
		_, ok := h.gocronNext(id)
		next, _, _ := h.eng.ScheduleInfo(id)
		return !ok && next == nil
	})
}

func (s *schedEnv) advanceTo(t time.Time) {
	s.t.Helper()
	if d := t.Sub(s.clk.Now()); d != 0 {
		s.clk.Advance(d)
	}
}

// scheduleBackups lists a schedule's backups, newest first.
func (h *harness) scheduleBackups(id string) []state.Backup {
	h.t.Helper()
	var out []state.Backup
	err := h.store.View(func(tx *state.Tx) error {
		var err error
		out, err = tx.ListBackups(state.BackupQuery{ScheduleID: id})
		return err
	})
	if err != nil {
		h.t.Fatalf("list backups: %v", err)
	}
	return out
}

// waitBackups waits until the schedule has n backups, all finished, and
// no run of it is in progress; then it checks that no further backup
// appears for a moment.
func (h *harness) waitBackups(id string, n int) []state.Backup {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		bs := h.scheduleBackups(id)
		done := len(bs) == n
		for _, b := range bs {
			if b.Status == state.StatusQueued || b.Status == state.StatusRunning {
				done = false
			}
		}
		h.eng.mu.Lock()
		done = done && !h.eng.running[id]
		h.eng.mu.Unlock()
		if done {
			break
		}
		if len(bs) > n || time.Now().After(deadline) {
			h.t.Fatalf("schedule %s: %d backups, want %d; logs:\n%s", id, len(bs), n, h.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond)
	bs := h.scheduleBackups(id)
	if len(bs) != n {
		h.t.Fatalf("schedule %s: %d backups after settling, want %d", id, len(bs), n)
	}
	return bs
}

// waitRunAt waits for the schedule's backup made at the fake time at (a
// tick or a run-now), until it and everything after it (notifications,
// retention) finished.
func (h *harness) waitRunAt(id string, at time.Time) state.Backup {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, b := range h.scheduleBackups(id) {
			if !b.CreatedAt.Equal(at) || b.Status == state.StatusQueued || b.Status == state.StatusRunning {
				continue
			}
			h.eng.mu.Lock()
			running := h.eng.running[id]
			h.eng.mu.Unlock()
			if !running {
				return b
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("schedule %s: no finished run at %s; logs:\n%s", id, at, h.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// slowDumpTool writes a pg_dump wrapper that sleeps before dumping.
func slowDumpTool(tb testing.TB, sleep string) string {
	tb.Helper()
	real, err := exec.LookPath("pg_dump")
	if err != nil {
		tb.Fatalf("pg_dump: %v", err)
	}
	p := filepath.Join(tb.TempDir(), "slow-pg_dump")
	script := "#!/bin/sh\ncase \"$1\" in --version) exec " + real + " \"$@\";; esac\n/bin/sleep " + sleep + "\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestScheduleOverlapIsSkipped(t *testing.T) {
	start := utc("2025-06-01T00:00:30Z")
	env := newSchedEnv(t, start, "UTC")
	env.setSetting("pg_dump_path", slowDumpTool(t, "3"))
	sc := env.addSchedule("every-minute", "* * * * *", nil)
	env.waitNext(sc.ID, utc("2025-06-01T00:01:00Z"))

	env.advanceTo(utc("2025-06-01T00:01:00Z"))
	waitFor(t, 10*time.Second, func() bool {
		bs := env.scheduleBackups(sc.ID)
		return len(bs) == 1 && bs[0].Status == state.StatusRunning
	})
	env.waitNext(sc.ID, utc("2025-06-01T00:02:00Z"))
	env.advanceTo(utc("2025-06-01T00:02:00Z")) // the first run is still dumping
	waitFor(t, 10*time.Second, func() bool {
		return metric(t, env.reg, "jagad_schedule_runs_skipped_total", map[string]string{"schedule": "every-minute"}) == 1
	})
	if err := env.eng.RunSchedule(context.Background(), sc.ID); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("run now during a run: %v, want a conflict", err)
	}
	bs := env.waitBackups(sc.ID, 1)
	if bs[0].Status != state.StatusSuccess {
		t.Fatalf("first run %s:\n%s", bs[0].Status, bs[0].LogOutput)
	}
	if !strings.Contains(env.logs.String(), "schedule run skipped: the previous run is still going") {
		t.Fatalf("the skip was not logged:\n%s", env.logs.String())
	}
	// The next tick after the run finished runs again.
	env.waitNext(sc.ID, utc("2025-06-01T00:03:00Z"))
	env.advanceTo(utc("2025-06-01T00:03:00Z"))
	bs = env.waitBackups(sc.ID, 2)
	if bs[0].Status != state.StatusSuccess {
		t.Fatalf("second run %s:\n%s", bs[0].Status, bs[0].LogOutput)
	}
	if got := metric(t, env.reg, "jagad_schedule_runs_skipped_total", map[string]string{"schedule": "every-minute"}); got != 1 {
		t.Fatalf("skipped = %v, want 1 (an API conflict is not a skipped tick)", got)
	}
}

func TestScheduleTimeoutKillsStuckRun(t *testing.T) {
	env := newSchedEnv(t, utc("2025-06-01T00:00:00Z"), "UTC")
	env.setSetting("pg_dump_path", slowDumpTool(t, "60"))
	sc := env.addSchedule("stuck", "30 0 * * *", func(s *state.Schedule) { s.Timeout = state.Duration(time.Second) })
	env.waitNext(sc.ID, utc("2025-06-01T00:30:00Z"))
	began := time.Now()
	env.advanceTo(utc("2025-06-01T00:30:00Z"))
	bs := env.waitBackups(sc.ID, 1)
	if took := time.Since(began); took > 15*time.Second {
		t.Fatalf("the stuck run took %s to end", took)
	}
	b := bs[0]
	if b.Status != state.StatusFailed || !strings.Contains(b.LogOutput, "timed out") {
		t.Fatalf("status %s, log:\n%s", b.Status, b.LogOutput)
	}
	next, last, status := env.eng.ScheduleInfo(sc.ID)
	if status != state.StatusFailed || last == nil || next == nil || !next.Equal(utc("2025-06-02T00:30:00Z")) {
		t.Fatalf("info: next %v last %v status %q", next, last, status)
	}
}

func TestScheduleDisabledSuspendedAndTimezone(t *testing.T) {
	env := newSchedEnv(t, utc("2025-06-01T00:00:00Z"), "Europe/Berlin")
	off := false
	control := env.addSchedule("control", "30 2 * * *", nil)
	disabled := env.addSchedule("disabled", "30 2 * * *", func(s *state.Schedule) { s.Enabled = false })
	suspended := env.addSchedule("suspended", "30 2 * * *", func(s *state.Schedule) {
		s.ManagedBy = state.ManagedByFile
		s.Override = &state.Override{Enabled: &off}
	})
	slot1 := utc("2025-06-01T00:30:00Z") // 02:30 CEST
	env.waitNext(control.ID, slot1)
	env.waitUnregistered(disabled.ID)
	env.waitUnregistered(suspended.ID)
	if v := metric(t, env.reg, "jagad_schedule_next_run_timestamp_seconds", map[string]string{"schedule": "disabled"}); v != 0 {
		t.Fatalf("next-run metric of a disabled schedule = %v", v)
	}

	env.advanceTo(slot1.Add(time.Minute))
	env.waitBackups(control.ID, 1)
	env.waitBackups(disabled.ID, 0)
	env.waitBackups(suspended.ID, 0)

	// Re-enable and resume: registered again, they fire at the next slot.
	// The untouched schedule keeps its job (level-triggered sync).
	controlJob := env.jobUUID(control.ID)
	env.updateSchedule(disabled.ID, func(s *state.Schedule) { s.Enabled = true })
	env.updateSchedule(suspended.ID, func(s *state.Schedule) { s.Override = nil })
	slot2 := utc("2025-06-02T00:30:00Z")
	for _, id := range []string{control.ID, disabled.ID, suspended.ID} {
		env.waitNext(id, slot2)
	}
	if env.jobUUID(control.ID) != controlJob {
		t.Fatal("an unchanged schedule's job was replaced")
	}
	env.advanceTo(slot2.Add(time.Minute))
	env.waitBackups(disabled.ID, 1)
	env.waitBackups(suspended.ID, 1)
	env.waitBackups(control.ID, 2)

	// A new time zone re-registers every job: 02:30 New York is 06:30 UTC.
	env.setSetting("timezone", "America/New_York")
	ny := utc("2025-06-02T06:30:00Z")
	env.waitNext(control.ID, ny)
	if v := metric(t, env.reg, "jagad_schedule_next_run_timestamp_seconds", map[string]string{"schedule": "control"}); v != float64(ny.Unix()) {
		t.Fatalf("next-run metric = %v, want %d", v, ny.Unix())
	}
	if !strings.Contains(env.logs.String(), "time zone changed") {
		t.Fatal("the time zone change was not logged")
	}
}

// TestScheduleClockJumps: a jump forward over three slots runs once (a
// logged catch-up); after a jump backward a re-registered job neither plans
// nor runs the slot that already ran.
func TestScheduleClockJumps(t *testing.T) {
	env := newSchedEnv(t, utc("2025-06-01T00:00:00Z"), "UTC")
	sc := env.addSchedule("daily", "30 0 * * *", nil)
	env.waitNext(sc.ID, utc("2025-06-01T00:30:00Z"))

	env.advanceTo(utc("2025-06-04T00:00:00Z"))
	env.waitBackups(sc.ID, 1)
	if !strings.Contains(env.logs.String(), "catch-up run for a missed slot") {
		t.Fatalf("the catch-up was not logged:\n%s", env.logs.String())
	}
	env.waitNext(sc.ID, utc("2025-06-04T00:30:00Z"))
	env.advanceTo(utc("2025-06-04T00:30:00Z"))
	env.waitBackups(sc.ID, 2)
	env.waitNext(sc.ID, utc("2025-06-05T00:30:00Z"))

	// Back an hour, then the job is registered again (suspend + resume).
	env.clk.Advance(-time.Hour)
	env.updateSchedule(sc.ID, func(s *state.Schedule) { s.Enabled = false })
	env.waitUnregistered(sc.ID)
	env.updateSchedule(sc.ID, func(s *state.Schedule) { s.Enabled = true })
	env.waitNext(sc.ID, utc("2025-06-05T00:30:00Z"))
	env.advanceTo(utc("2025-06-04T00:31:00Z"))
	env.eng.sched.Tick(sc.ID) // a stray firing for the slot that already ran
	env.waitBackups(sc.ID, 2)
	if !strings.Contains(env.logs.String(), "tick ignored: its slot already ran") {
		t.Fatal("the refused tick was not logged")
	}
	env.advanceTo(utc("2025-06-05T00:30:00Z"))
	env.waitBackups(sc.ID, 3)
}

// TestScheduleFallBackRunsOnce: Europe/Berlin, 26 October 2025: 02:30 comes
// twice (CEST, then CET); the schedule runs at the first one only.
func TestScheduleFallBackRunsOnce(t *testing.T) {
	env := newSchedEnv(t, utc("2025-10-25T23:00:00Z"), "Europe/Berlin")
	sc := env.addSchedule("night", "30 2 * * *", nil)
	env.waitNext(sc.ID, utc("2025-10-26T00:30:00Z"))
	env.advanceTo(utc("2025-10-26T00:30:00Z"))
	env.waitBackups(sc.ID, 1)
	env.waitNext(sc.ID, utc("2025-10-27T01:30:00Z"))
	env.advanceTo(utc("2025-10-26T01:31:00Z")) // 02:31 CET
	env.waitBackups(sc.ID, 1)
}

// TestScheduleSpringForwardRuns: Europe/Berlin, 30 March 2025: 02:30 does
// not exist; the schedule runs once at 03:00 CEST.
func TestScheduleSpringForwardRuns(t *testing.T) {
	env := newSchedEnv(t, utc("2025-03-29T23:00:00Z"), "Europe/Berlin")
	sc := env.addSchedule("night", "30 2 * * *", nil)
	env.waitNext(sc.ID, utc("2025-03-30T01:00:00Z"))
	env.advanceTo(utc("2025-03-30T01:00:00Z"))
	bs := env.waitBackups(sc.ID, 1)
	if want := utc("2025-03-30T01:00:00Z"); !bs[0].CreatedAt.Equal(want) {
		t.Fatalf("ran at %s, want %s", bs[0].CreatedAt, want)
	}
	env.waitNext(sc.ID, utc("2025-03-31T00:30:00Z"))
}

// fileYAML is a jagad.yaml with a local provider, a connection to the test
// server, a webhook and (unless cron is empty) one schedule.
func fileYAML(dir string, srv *dbtest.Server, db, cron string) string {
	y := `version: 1
settings:
  timezone: Europe/Berlin
storage:
  - name: local
    provider_type: local
    path: ` + dir + `
    is_default: true
connections:
  - name: pg
    db_type: postgresql
    host: ` + srv.Host + `
    port: ` + strconv.Itoa(srv.Port) + `
    username: ` + srv.User + `
    password: ${PG_PASSWORD}
    ssl_mode: disable
    databases: [` + db + `]
notifications:
  - name: hook
    type: webhook
    config:
      url: ${HOOK_URL}
`
	if cron != "" {
		y += `schedules:
  - name: nightly
    connection: pg
    database: ` + db + `
    cron_expr: "` + cron + `"
    notifications: [hook]
    notify_on_success: true
    encryption_enabled: false
`
	}
	return y
}

// TestScheduleFromFile: a schedule declared in jagad.yaml runs at its time
// and notifies; a new cron in the file reschedules it without a restart;
// removing it stops it and keeps its backups.
func TestScheduleFromFile(t *testing.T) {
	srv := dbtest.Postgres(t)
	clk := clockwork.NewFakeClockAt(utc("2025-06-01T00:00:00Z")) // 02:00 CEST
	h := newHarness(t, withOptions(func(o *Options) { o.Clock, o.Now = clk, clk.Now }))
	env := &schedEnv{harness: h, clk: clk, srv: srv}
	db := srv.CreateDB(t, "file")
	srv.Exec(t, db, "CREATE TABLE t (id int primary key); INSERT INTO t SELECT generate_series(1, 10);")
	hook := newRecorder(t, http.StatusOK, "ok")
	hookSecret := "hook-secret-7c1d9e"
	vars := map[string]string{"PG_PASSWORD": srv.Password, "HOOK_URL": hook.srv.URL + "/hooks/" + hookSecret}
	storeDir := t.TempDir()
	path := filepath.Join(t.TempDir(), "jagad.yaml")
	rec, err := reconcile.New(reconcile.Options{Path: path, Store: h.store,
		Env: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	apply := func(cron string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(fileYAML(storeDir, srv, db, cron)), 0o600); err != nil {
			t.Fatal(err)
		}
		if res := rec.Reload(context.Background(), "test", false); res.Err != nil || res.Result != "applied" {
			t.Fatalf("reload: %s %v", res.Result, res.Err)
		}
	}
	apply("30 2 * * *")
	var sc state.Schedule
	err = h.store.View(func(tx *state.Tx) error {
		all, err := state.List[state.Schedule](tx)
		if len(all) == 1 {
			sc = all[0]
		}
		return err
	})
	if err != nil || sc.Name != "nightly" || sc.ManagedBy != state.ManagedByFile {
		t.Fatalf("schedule from the file: %+v %v", sc, err)
	}

	h.waitNext(sc.ID, utc("2025-06-01T00:30:00Z"))
	env.advanceTo(utc("2025-06-01T00:30:00Z"))
	bs := h.waitBackups(sc.ID, 1)
	if bs[0].Status != state.StatusSuccess || bs[0].ScheduleName != "nightly" {
		t.Fatalf("backup %s of %q:\n%s", bs[0].Status, bs[0].ScheduleName, bs[0].LogOutput)
	}
	if _, err := os.Stat(filepath.Join(storeDir, bs[0].StoragePath)); err != nil {
		t.Fatalf("object in the file's provider: %v", err)
	}
	got := hook.wait(t, 1)
	if ev := got[0].Body; ev["event"] != "backup.succeeded" || ev["schedule"] != "nightly" || ev["backup_id"] != bs[0].ID {
		t.Fatalf("webhook got %v", ev)
	}
	next, last, status := h.eng.ScheduleInfo(sc.ID)
	if next == nil || !next.Equal(utc("2025-06-02T00:30:00Z")) || last == nil || !last.Equal(*bs[0].StartedAt) || status != state.StatusSuccess {
		t.Fatalf("info: next %v last %v status %q", next, last, status)
	}

	// Later that day the cron changes in the file: 06:00 instead of 02:30.
	env.advanceTo(utc("2025-06-01T18:00:00Z"))
	apply("0 6 * * *")
	h.waitNext(sc.ID, utc("2025-06-02T04:00:00Z"))
	env.advanceTo(utc("2025-06-02T00:31:00Z")) // the old time passes
	h.waitBackups(sc.ID, 1)
	env.advanceTo(utc("2025-06-02T04:00:00Z"))
	h.waitBackups(sc.ID, 2)
	hook.wait(t, 2)

	// Removed from the file: it stops, its backups stay.
	apply("")
	h.waitUnregistered(sc.ID)
	env.advanceTo(utc("2025-06-03T04:01:00Z"))
	bs = h.waitBackups(sc.ID, 2)
	for _, b := range bs {
		if _, err := os.Stat(filepath.Join(storeDir, b.StoragePath)); err != nil {
			t.Fatalf("backup object of a removed schedule: %v", err)
		}
	}
	logs := h.logs.String()
	for _, secret := range []string{hookSecret, srv.Password} {
		if strings.Contains(logs, secret) {
			t.Fatalf("a secret reached the log")
		}
	}
}

// TestScheduleRestartOnClockBehindHistory: a daemon that starts with its
// clock behind the schedule's newest backup (a restart after the clock was
// set back) does not run the slots that backup already covered.
func TestScheduleRestartOnClockBehindHistory(t *testing.T) {
	// The history a previous run of the daemon left: a backup at the
	// 2 June slot, a day ahead of this clock.
	env, sc := scheduleWithHistory(t, utc("2025-06-01T00:00:00Z"), utc("2025-06-02T00:30:00Z"))
	env.waitNext(sc.ID, utc("2025-06-03T00:30:00Z"))
	if !strings.Contains(env.logs.String(), "the clock is behind the schedule's last run") {
		t.Fatalf("not logged:\n%s", env.logs.String())
	}
	env.advanceTo(utc("2025-06-02T00:31:00Z"))
	env.eng.sched.Tick(sc.ID) // the slot of 2 June already ran
	env.waitBackups(sc.ID, 1)
	env.advanceTo(utc("2025-06-03T00:30:00Z"))
	env.waitBackups(sc.ID, 2)
}

// TestOneShotForScheduleCountsAsItsRun: POST /api/backups with a
// schedule_id is a run of that schedule, so it cannot overlap another run.
func TestOneShotForScheduleCountsAsItsRun(t *testing.T) {
	env := newSchedEnv(t, utc("2025-06-01T00:00:00Z"), "UTC")
	sc := env.addSchedule("nightly", "30 0 * * *", nil)
	req := BackupRequest{ConnectionID: env.conn.ID, DatabaseID: env.db.ID, ScheduleID: sc.ID}
	if !env.eng.markRunning(sc.ID) { // a cron run is going
		t.Fatal("schedule already marked running")
	}
	_, err := env.eng.StartBackup(context.Background(), req)
	if fault.CodeOf(err) != fault.CodeConflict || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("backup during a run of its schedule: %v, want a 409", err)
	}
	env.eng.clearRunning(sc.ID)
	b, err := env.eng.StartBackup(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.eng.RunSchedule(context.Background(), sc.ID); fault.CodeOf(err) != fault.CodeConflict {
		t.Errorf("run now while the one-shot runs: %v, want a 409", err)
	}
	env.waitBackups(sc.ID, 1)
	if got := env.backup(b.ID); got.Status != state.StatusSuccess {
		t.Fatalf("one-shot: %s\n%s", got.Status, got.LogOutput)
	}
	if err := env.eng.RunSchedule(context.Background(), sc.ID); err != nil {
		t.Fatalf("run after the one-shot finished: %v", err)
	}
	env.waitBackups(sc.ID, 2)
}

// TestScheduleIgnoresFarFutureHistory: a backup record written under a
// badly wrong clock (a year ahead) does not stop the schedule until then.
func TestScheduleIgnoresFarFutureHistory(t *testing.T) {
	env, sc := scheduleWithHistory(t, utc("2025-06-01T00:00:00Z"), utc("2026-06-01T00:30:00Z"))
	env.waitNext(sc.ID, utc("2025-06-01T00:30:00Z"))
	if !strings.Contains(env.logs.String(), "last run is far in the future; ignoring it") {
		t.Fatalf("not logged:\n%s", env.logs.String())
	}
}

// scheduleWithHistory is a daily 00:30 schedule registered at now whose
// stored history (as a previous daemon left it) ends with a backup at last.
func scheduleWithHistory(t *testing.T, now, last time.Time) (*schedEnv, state.Schedule) {
	t.Helper()
	env := newSchedEnv(t, now, "UTC")
	sc := env.addSchedule("daily", "30 0 * * *", func(s *state.Schedule) { s.Enabled = false })
	put(env.harness, state.Backup{ID: state.NewID(state.KindBackup), ScheduleID: sc.ID, ConnectionID: env.conn.ID,
		DatabaseID: env.db.ID, BackupType: "full", Status: state.StatusSuccess, CreatedAt: last})
	env.updateSchedule(sc.ID, func(s *state.Schedule) { s.Enabled = true }) // registers it
	return env, sc
}
