package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/state"
)

// objectFiles are the paths of a backup's object and manifest in a local
// provider.
func objectFiles(p state.Provider, b state.Backup) []string {
	obj := filepath.Join(p.Path, filepath.FromSlash(b.StoragePath))
	return []string{obj, obj + objfmt.ManifestSuffix}
}

func assertFiles(t *testing.T, exist bool, paths ...string) {
	t.Helper()
	for _, p := range paths {
		_, err := os.Stat(p)
		if exist && err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !exist && !os.IsNotExist(err) {
			t.Fatalf("%s still exists (err %v)", p, err)
		}
	}
}

func (h *harness) hasBackup(id string) bool {
	h.t.Helper()
	_, err := h.eng.getBackup(id)
	return err == nil
}

// TestRetentionAfterScheduledRuns: with retention_full 2 every scheduled run
// deletes what falls out of the policy (object, manifest, then record),
// keeps one-shot backups of the same database, and a deletion that fails is
// logged, counted, noted on the record and finished at the next run once
// its cause is gone.
func TestRetentionAfterScheduledRuns(t *testing.T) {
	env := newSchedEnv(t, utc("2025-06-01T00:00:00Z"), "UTC")
	oneShot := env.runBackup(env.conn, env.db, nil)
	if oneShot.Status != state.StatusSuccess {
		t.Fatalf("one-shot backup %s:\n%s", oneShot.Status, oneShot.LogOutput)
	}
	sc := env.addSchedule("hourly", "0 * * * *", func(s *state.Schedule) { s.RetentionFull = 2 })
	run := func(hour int) state.Backup {
		t.Helper()
		at := utc("2025-06-01T00:00:00Z").Add(time.Duration(hour) * time.Hour)
		env.waitNext(sc.ID, at)
		env.advanceTo(at)
		b := env.waitRunAt(sc.ID, at)
		if b.Status != state.StatusSuccess {
			t.Fatalf("run at %s: %s\n%s", at, b.Status, b.LogOutput)
		}
		return b
	}
	b1, b2 := run(1), run(2)
	if n := len(env.scheduleBackups(sc.ID)); n != 2 {
		t.Fatalf("%d backups after two runs, want 2 (nothing to delete yet)", n)
	}
	b3 := run(3)
	if env.hasBackup(b1.ID) {
		t.Fatal("the oldest backup outlived retention_full 2")
	}
	assertFiles(t, false, objectFiles(env.prov, b1)...)
	assertFiles(t, true, objectFiles(env.prov, b2)...)
	if !strings.Contains(env.logs.String(), "retention: deleted backup") || !strings.Contains(env.logs.String(), b1.ID) {
		t.Fatal("the deletion was not logged with its backup")
	}

	// b2 will fall out at the next run; make its object undeletable: a
	// non-empty directory where the file was (this fails even as root).
	obj := objectFiles(env.prov, b2)[0]
	if err := os.Rename(obj, obj+".aside"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(obj, "pinned"), 0o755); err != nil {
		t.Fatal(err)
	}
	b4 := run(4)
	failed := env.backup(b2.ID)
	if failed.RetentionError == "" {
		t.Fatal("the failed deletion was not noted on the record")
	}
	if got := metric(t, env.reg, "jagad_retention_failures_total", nil); got != 1 {
		t.Fatalf("retention failures = %v, want 1", got)
	}
	if !strings.Contains(env.logs.String(), "retention: delete failed; will retry at the next run") {
		t.Fatal("the failed deletion was not logged")
	}
	assertFiles(t, true, objectFiles(env.prov, b2)[1]) // the manifest goes after the object

	// Fix the cause: the next run retries and finishes the deletion.
	if err := os.RemoveAll(obj); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(obj+".aside", obj); err != nil {
		t.Fatal(err)
	}
	b5 := run(5)
	for _, b := range []state.Backup{b2, b3} {
		if env.hasBackup(b.ID) {
			t.Fatalf("backup %s kept after the retry", b.ID)
		}
		assertFiles(t, false, objectFiles(env.prov, b)...)
	}
	left := env.scheduleBackups(sc.ID)
	if len(left) != 2 || left[0].ID != b5.ID || left[1].ID != b4.ID {
		t.Fatalf("kept %d backups, want the two newest", len(left))
	}
	if got := metric(t, env.reg, "jagad_retention_deleted_total", nil); got != 3 {
		t.Fatalf("retention deleted = %v, want 3", got)
	}
	if got := metric(t, env.reg, "jagad_retention_failures_total", nil); got != 1 {
		t.Fatalf("retention failures = %v, want 1", got)
	}
	// Run now (the API's path) applies the same retention.
	at := utc("2025-06-01T05:30:00Z")
	env.advanceTo(at)
	if err := env.eng.RunSchedule(context.Background(), sc.ID); err != nil {
		t.Fatal(err)
	}
	if b6 := env.waitRunAt(sc.ID, at); b6.Status != state.StatusSuccess {
		t.Fatalf("run now: %s", b6.Status)
	}
	if env.hasBackup(b4.ID) {
		t.Fatal("retention did not run after a run-now")
	}
	if !env.hasBackup(oneShot.ID) {
		t.Fatal("retention deleted a one-shot backup of the same database")
	}
	assertFiles(t, true, objectFiles(env.prov, oneShot)...)
}

// TestRetentionSkipsBusyBackups: a backup being verified or still running
// is never deleted, even when the policy no longer keeps it.
func TestRetentionSkipsBusyBackups(t *testing.T) {
	env := newSchedEnv(t, utc("2025-06-01T00:00:00Z"), "UTC")
	sc := env.addSchedule("manual", "0 0 1 1 *", func(s *state.Schedule) { s.RetentionFull = 1 })
	now := utc("2025-06-01T00:00:00Z")
	mk := func(age time.Duration, status, verify string) state.Backup {
		created := now.Add(-age)
		return put(env.harness, state.Backup{ID: state.NewID(state.KindBackup), ScheduleID: sc.ID, ScheduleName: sc.Name,
			ConnectionID: env.conn.ID, DatabaseID: env.db.ID, BackupType: "full", Status: status,
			VerifyStatus: verify, CreatedAt: created})
	}
	verifying := mk(3*time.Hour, state.StatusSuccess, state.VerifyVerifying)
	running := mk(2*time.Hour, state.StatusRunning, state.VerifyPending)
	old := mk(90*time.Minute, state.StatusSuccess, state.VerifyPassed)
	newest := mk(time.Hour, state.StatusSuccess, state.VerifyPassed)
	env.eng.applyRetention(env.eng.ctx, sc)
	for _, b := range []state.Backup{verifying, running, newest} {
		if !env.hasBackup(b.ID) {
			t.Fatalf("backup %s (%s/%s) was deleted", b.ID, b.Status, b.VerifyStatus)
		}
	}
	if env.hasBackup(old.ID) {
		t.Fatal("an idle backup outside the policy was kept")
	}
}
