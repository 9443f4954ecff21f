package engine

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/pgwal"
	"github.com/jagad/jagad/state"
)

// serverNow is the server's clock (the recovery target is compared with
// commit times the server stamped).
func serverNow(t *testing.T, srv *dbtest.Server) time.Time {
	t.Helper()
	var ts time.Time
	if err := srv.DB(t, "app").QueryRow("SELECT clock_timestamp()").Scan(&ts); err != nil {
		t.Fatal(err)
	}
	return ts
}

// pitrScenario: archiving on, a base backup, rows at T1, T2 noted, more rows
// and a dropped table at T3, and the WAL of T3 archived.
func pitrScenario(t *testing.T, opts ...harnessOpt) (*harness, *dbtest.Server, state.Connection, state.Provider, state.Backup, time.Time) {
	t.Helper()
	h, srv, c, db, p := walFixture(t, opts...)
	b := physicalBackup(t, h, c, db)
	srv.Exec(t, "app", "CREATE TABLE t2 (id int); INSERT INTO t2 SELECT generate_series(1, 5); INSERT INTO t1 VALUES (10, 'at T1'), (11, 'at T1')")
	time.Sleep(1100 * time.Millisecond) // commit times are microseconds: keep T2 clear of both sides
	t2 := serverNow(t, srv)
	time.Sleep(1100 * time.Millisecond)
	srv.Exec(t, "app", "INSERT INTO t1 SELECT g, 'at T3' FROM generate_series(100, 199) g; DROP TABLE t2")
	waitArchived(t, h.storeFor(p), c.Name, switchWAL(t, srv))
	return h, srv, c, p, b, t2
}

// checkRows asserts the table counts a restore's check logged.
func checkRows(t *testing.T, r state.Restore, want map[string]int64, absent ...string) {
	t.Helper()
	if r.Status != state.StatusSuccess {
		t.Fatalf("restore %s:\n%s", r.Status, r.LogOutput)
	}
	for tbl, n := range want {
		line := "CHECK: table " + tbl + ": " + strconv.FormatInt(n, 10) + " rows"
		if !strings.Contains(r.LogOutput, line) {
			t.Errorf("restore log lacks %q:\n%s", line, r.LogOutput)
		}
	}
	for _, tbl := range absent {
		if strings.Contains(r.LogOutput, "CHECK: table "+tbl+":") {
			t.Errorf("table %s exists after the restore:\n%s", tbl, r.LogOutput)
		}
	}
}

// TestPITR restores to T2 (the T1 rows, not T3's, and the dropped table
// exists) and to latest (T3's rows, no t2), each into a new data directory
// checked by a throwaway server.
func TestPITR(t *testing.T) {
	h, _, _, _, b, t2 := pitrScenario(t)

	r := h.restore(b.ID, RestoreRequest{TargetDir: targetDir(t), Check: true, TargetTime: &t2})
	checkRows(t, r, map[string]int64{"public.t1": 5, "public.t2": 5})
	if !strings.Contains(r.LogOutput, "recovers to recovery_target_time") || r.BackupID != b.ID ||
		r.PointInTime != t2.UTC().Format(time.RFC3339Nano) || r.TargetTime == nil || !r.TargetTime.Equal(t2) || r.Latest {
		t.Errorf("restore record %s / log:\n%s", r.BackupID, r.LogOutput)
	}

	r = h.restore(b.ID, RestoreRequest{TargetDir: targetDir(t), Check: true, Latest: true})
	checkRows(t, r, map[string]int64{"public.t1": 105}, "public.t2")
	if r.PointInTime != "latest" || !r.Latest || r.TargetTime != nil {
		t.Errorf("point_in_time = %q, want latest", r.PointInTime)
	}

	// A point before the base backup has no base.
	early := b.StartedAt.Add(-time.Hour)
	if _, err := h.eng.Restore(context.Background(), b.ID, RestoreRequest{TargetDir: targetDir(t), TargetTime: &early}); err == nil ||
		!strings.Contains(err.Error(), "no successful physical base backup") {
		t.Errorf("PITR before the first base: %v", err)
	}
}

// TestPITRMissingSegment: a WAL object deleted from storage makes verify
// report the gap naming the segment, and a PITR fail before writing,
// naming it too.
func TestPITRMissingSegment(t *testing.T) {
	h, srv, c, p, b, _ := pitrScenario(t)
	st := h.storeFor(p)
	stop, _ := pgwalSegmentOfStop(b)
	// Archive one more segment after the one to delete, so the hole is a gap.
	victim := switchWAL(t, srv)
	after := switchWAL(t, srv)
	waitArchived(t, st, c.Name, after)
	segs := walObjects(t, st, c.Name)
	m, ok := segs[victim]
	if !ok || victim <= stop {
		t.Fatalf("segment %s not archived (or inside the base %s)", victim, stop)
	}
	if err := st.Delete(context.Background(), m.ObjectKey); err != nil {
		t.Fatal(err)
	}
	rep, err := h.eng.VerifyWAL(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], victim) {
		t.Fatalf("verify report %+v, want one problem naming %s", rep, victim)
	}
	// With its manifest gone too, the hole is a gap in the sequence.
	if err := st.Delete(context.Background(), m.ObjectKey+objfmt.ManifestSuffix); err != nil {
		t.Fatal(err)
	}
	rep, _ = h.eng.VerifyWAL(context.Background(), c.ID)
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "gap: WAL segment "+victim) {
		t.Fatalf("verify report %+v, want the gap at %s", rep, victim)
	}

	dir := targetDir(t)
	r := h.restore(b.ID, RestoreRequest{TargetDir: dir, Check: true, Latest: true})
	if r.Status != state.StatusFailed || !strings.Contains(r.LogOutput, "WAL segment "+victim+" is missing") ||
		!strings.Contains(r.LogOutput, "nothing was written") {
		t.Fatalf("PITR over a gap: %s\n%s", r.Status, r.LogOutput)
	}
}

// pgwalSegmentOfStop is the segment name holding the base's stop LSN.
func pgwalSegmentOfStop(b state.Backup) (string, error) {
	lsn, err := pgwal.ParseLSN(b.Physical.StopLSN)
	return pgwal.SegmentOf(uint32(b.Physical.Timeline), lsn).Name(), err
}
