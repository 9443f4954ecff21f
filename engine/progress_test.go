package engine

import (
	"context"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/state"
)

// TestBackupProgressLive holds a PostgreSQL dump after its first 64 KiB and
// checks, while it is held, that the backup's live progress says dump with
// those bytes read and stored, carries the size of the previous successful
// backup as its estimate, and that jagad_backup_bytes_total has grown before
// the backup ended. Then the dump goes on, and the progress disappears once
// the record says success.
func TestBackupProgressLive(t *testing.T) {
	pg := dbtest.Postgres(t)
	h := newHarness(t)
	h.addLocalProvider("local")
	h.setSetting("compression", "none")
	conn := h.addConnection("pg", pg, "")
	db := h.addDatabase(conn, bulkDB(t, pg, 2))

	first := h.runBackup(conn, db, nil)
	if first.Status != state.StatusSuccess {
		t.Fatalf("first backup: %s\n%s", first.Status, first.LogOutput)
	}
	series := gatherSeries(t, h.reg)
	before, beforeStored := series[`jagad_backup_bytes_total{stage=dump}`], series[`jagad_backup_bytes_total{stage=stored}`]

	g := newGate(t)
	h.setSetting("pg_dump_path", wrapTool(t, "pg_dump", g.body()))
	changes, stop := h.eng.SubscribeProgress()
	defer stop()
	q := h.start(BackupRequest{ConnectionID: conn.ID, DatabaseID: db.ID})

	var p Progress
	for deadline := time.Now().Add(30 * time.Second); ; {
		var ok bool
		p, ok = h.eng.Progress(q.ID)
		// Stored bytes lag: the pipeline buffers 1 MiB chunks before compressing.
		if ok && p.Phase == PhaseDump && p.BytesRead >= 65536 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dump progress of 64 KiB read: %+v (found %v)", p, ok)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p.Kind != "backup" || p.EstimatedTotalBytes != first.SizeBytes || p.Percent == nil || *p.Percent <= 0 || *p.Percent >= 100 {
		t.Errorf("progress %+v: want kind backup, estimate %d and a percent in (0, 100)", p, first.SizeBytes)
	}
	if p.ElapsedMs < 0 || p.Label != "pg/"+db.DBName {
		t.Errorf("progress %+v: bad elapsed or label", p)
	}
	select {
	case <-changes:
	case <-time.After(2 * time.Second):
		t.Error("no progress signal while bytes moved")
	}
	if b := h.backup(q.ID); b.Status != state.StatusRunning {
		t.Fatalf("backup is %s, want running while the gate is shut", b.Status)
	}
	mid := gatherSeries(t, h.reg)[`jagad_backup_bytes_total{stage=dump}`]
	if mid-before < 65536 {
		t.Errorf("jagad_backup_bytes_total{stage=dump} grew by %g while the backup ran, want >= 65536", mid-before)
	}
	if all := h.eng.RunningProgress(); len(all) != 1 || all[0].ID != q.ID {
		t.Errorf("running progress = %+v, want only %s", all, q.ID)
	}

	g.open(t)
	b := h.waitBackup(q.ID, time.Minute)
	if b.Status != state.StatusSuccess {
		t.Fatalf("backup %s\n%s", b.Status, b.LogOutput)
	}
	waitNoProgress(t, h, q.ID) // removed right after the outcome is recorded
	series = gatherSeries(t, h.reg)
	if got := series[`jagad_backup_bytes_total{stage=dump}`] - before; got != float64(b.SizeBytes) {
		t.Errorf("bytes_total{dump} grew by %g over the backup, want its size %d", got, b.SizeBytes)
	}
	if got := series[`jagad_backup_bytes_total{stage=stored}`] - beforeStored; got != float64(b.StoredSizeBytes) {
		t.Errorf("bytes_total{stored} grew by %g over the backup, want its stored size %d", got, b.StoredSizeBytes)
	}
}

// TestRestoreProgress follows a restore's progress: it moves through verify
// and restore, and is gone when the record says success.
func TestRestoreProgress(t *testing.T) {
	pg := dbtest.Postgres(t)
	h := newHarness(t)
	h.addLocalProvider("local")
	conn := h.addConnection("pg", pg, "")
	db := h.addDatabase(conn, bulkDB(t, pg, 1))
	b := h.runBackup(conn, db, nil)
	if b.Status != state.StatusSuccess {
		t.Fatalf("backup: %s\n%s", b.Status, b.LogOutput)
	}
	rec, err := h.eng.Restore(context.Background(), b.ID, RestoreRequest{TargetDatabase: "progress_copy"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Millisecond) {
		p, ok := h.eng.Progress(rec.ID)
		if ok {
			seen[p.Phase] = true
			if p.EstimatedTotalBytes != b.StoredSizeBytes || p.Kind != "restore" {
				t.Fatalf("restore progress %+v: want kind restore and estimate %d", p, b.StoredSizeBytes)
			}
		} else if len(seen) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restore progress never ended; seen %v", seen)
		}
	}
	if !seen[PhaseRestore] {
		t.Errorf("phases seen %v, want restore among them", seen)
	}
	var r state.Restore
	_ = h.store.View(func(tx *state.Tx) (err error) { r, err = state.Get[state.Restore](tx, rec.ID); return err })
	if r.Status != state.StatusSuccess {
		t.Errorf("restore %s:\n%s", r.Status, r.LogOutput)
	}
}

// TestVerifyProgress: a verification shows as the backup's progress in
// phase verify, with the stored size as its estimate, and ends with it.
func TestVerifyProgress(t *testing.T) {
	pg := dbtest.Postgres(t)
	h := newHarness(t)
	h.addLocalProvider("local")
	conn := h.addConnection("pg", pg, "")
	db := h.addDatabase(conn, bulkDB(t, pg, 1))
	b := h.runBackup(conn, db, nil)
	if b.Status != state.StatusSuccess {
		t.Fatalf("backup: %s\n%s", b.Status, b.LogOutput)
	}
	waitNoProgress(t, h, b.ID) // it goes right after the outcome is recorded
	if err := h.eng.Verify(context.Background(), b.ID, true); err != nil {
		t.Fatal(err)
	}
	var seen *Progress
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		if p, ok := h.eng.Progress(b.ID); ok {
			seen = &p
			if p.Phase != PhaseVerify || p.EstimatedTotalBytes != b.StoredSizeBytes {
				t.Fatalf("verify progress %+v: want phase verify and estimate %d", p, b.StoredSizeBytes)
			}
			continue
		}
		if seen != nil {
			break
		}
		if h.backup(b.ID).VerifyStatus == state.VerifyPassed {
			break // done before a poll saw it
		}
	}
	if seen == nil {
		t.Fatal("no progress seen during verification")
	}
	if v := h.waitBackup(b.ID, time.Minute); v.VerifyStatus != state.VerifyPassed {
		t.Errorf("verify status %s", v.VerifyStatus)
	}
	waitNoProgress(t, h, b.ID)
}

// waitNoProgress waits up to 5 s for a job's progress to go.
func waitNoProgress(t *testing.T, h *harness, id string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		p, ok := h.eng.Progress(id)
		if !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress of %s still there 5 s after it ended: %+v", id, p)
		}
	}
}
