package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/pgwal"
	"github.com/jagad/jagad/engine/retention"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

func TestArchiveFileOfKey(t *testing.T) {
	for rest, want := range map[string]string{
		"000000010000000000000003":                  "000000010000000000000003",
		"000000010000000000000003.zst.jgd":          "000000010000000000000003",
		"000000010000000000000003.gz.manifest.json": "000000010000000000000003",
		"00000002.history.zst":                      "00000002.history",
		"00000002.history.zst.manifest.json":        "00000002.history",
		"000000010000000000000003.partial":          "000000010000000000000003",
		"0000000100000000000000034":                 "",
		"notes.txt":                                 "",
	} {
		if got := walFileOfKey(rest); got != want {
			t.Errorf("walFileOfKey(%q) = %q, want %q", rest, got, want)
		}
	}
	for rest, want := range map[string]string{
		"mysql-bin.000042.zst.jgd":     "mysql-bin.000042",
		"mysql-bin.000042":             "mysql-bin.000042",
		"mysql-bin.000042.binlog.json": "mysql-bin.000042",
		"host.1-bin.000007.gz":         "host.1-bin.000007",
		"mysql-bin.index":              "",
		"x.binlog.json":                "",
	} {
		if got := binlogFileOfKey(rest); got != want {
			t.Errorf("binlogFileOfKey(%q) = %q, want %q", rest, got, want)
		}
	}
}

// walSchedule is a schedule of physical base backups keeping one.
func walSchedule(h *harness, c state.Connection, db state.Database) state.Schedule {
	now := time.Now().UTC()
	return put(h, state.Schedule{
		Meta: state.Meta{ID: state.NewID(state.KindSchedule), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ScheduleSpec: state.ScheduleSpec{Name: "phys-base", ConnectionID: c.ID, DatabaseID: db.ID,
			BackupType: state.BackupPhysical, CronExpr: "@yearly", Enabled: true, RetentionFull: 1},
	})
}

// TestWalArchiveRetention: two scheduled base backups with retention_full 1.
// The second run's retention deletes the first base and, with it, every
// archived segment before the second base's start segment (manifest and
// object); the rest of the archive stays whole (verify finds no gap) and a
// point-in-time restore from the kept base still recovers the latest rows.
func TestWalArchiveRetention(t *testing.T) {
	h, srv, c, db, p := walFixture(t)
	st := h.storeFor(p)
	for range 2 { // WAL archived before any base backup
		waitArchived(t, st, c.Name, switchWAL(t, srv))
	}
	sc := walSchedule(h, c, db)
	b1 := h.runNow(sc)
	if b1.Status != state.StatusSuccess {
		t.Fatalf("base 1: %s\n%s", b1.Status, b1.LogOutput)
	}
	// With one base kept and nothing before its start deleted yet: the
	// WAL archived before it is gone already (it anchors the archive).
	start1 := baseStart(t, b1)
	for n := range walObjects(t, st, c.Name) {
		if s, err := pgwal.ParseSegment(n); err == nil && s.No < start1.No {
			t.Errorf("segment %s before base 1's start %s outlived its retention pass", n, start1.Name())
		}
	}
	srv.Exec(t, "app", "INSERT INTO t1 VALUES (20, 'between the bases')")
	for range 2 {
		waitArchived(t, st, c.Name, switchWAL(t, srv))
	}
	before := walObjects(t, st, c.Name)
	deleted0 := testutil.ToFloat64(h.eng.wal.m.prune.deleted.WithLabelValues(c.Name))

	b2 := h.runNow(sc)
	if b2.Status != state.StatusSuccess {
		t.Fatalf("base 2: %s\n%s", b2.Status, b2.LogOutput)
	}
	if h.hasBackup(b1.ID) || !h.hasBackup(b2.ID) {
		t.Fatalf("retention_full 1: base 1 kept %v, base 2 kept %v", h.hasBackup(b1.ID), h.hasBackup(b2.ID))
	}
	start2 := baseStart(t, b2)
	after := walObjects(t, st, c.Name)
	gone := 0
	for n, m := range before {
		s, err := pgwal.ParseSegment(n)
		if err != nil {
			continue
		}
		_, still := after[n]
		switch {
		case s.No < start2.No && still:
			t.Errorf("segment %s, before base 2's start %s, kept", n, start2.Name())
		case s.No >= start2.No && !still:
			t.Errorf("segment %s, needed by base 2 (start %s), deleted", n, start2.Name())
		case !still:
			gone++
			assertGone(t, st, m.ObjectKey, m.ObjectKey+objfmt.ManifestSuffix)
		}
	}
	if gone == 0 {
		t.Fatalf("no segment deleted; archive before: %d files, base 2 starts at %s", len(before), start2.Name())
	}
	// Counted: those seen gone, and maybe segments archived (and deleted)
	// after the snapshot, but never more than the segment numbers below
	// the cut that the archive could hold (from base 1's start on).
	if got := testutil.ToFloat64(h.eng.wal.m.prune.deleted.WithLabelValues(c.Name)) - deleted0; got < float64(gone) || got > float64(start2.No-start1.No) {
		t.Errorf("jagad_wal_retention_deleted_total grew by %v, want %d to %d", got, gone, start2.No-start1.No)
	}
	for n := range after {
		if s, err := pgwal.ParseSegment(n); err == nil && s.No < start2.No {
			t.Errorf("segment %s, before base 2's start %s, kept", n, start2.Name())
		}
	}
	requireSeries(t, h.reg, "connection", c.Name, "jagad_wal_retention_deleted_total")

	srv.Exec(t, "app", "INSERT INTO t1 VALUES (30, 'after base 2')")
	waitArchived(t, st, c.Name, switchWAL(t, srv))
	rep, err := h.eng.VerifyWAL(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 || rep.First == "" {
		t.Fatalf("WAL archive after retention: %+v", rep)
	}
	if first, _ := pgwal.ParseSegment(rep.First); first.No < start2.No {
		t.Errorf("archive starts at %s, before base 2's start %s", rep.First, start2.Name())
	}
	r := h.restore(b2.ID, RestoreRequest{TargetDir: targetDir(t), Check: true, Latest: true})
	checkRows(t, r, map[string]int64{"public.t1": 5})
}

// baseStart is the segment a base backup's WAL replay starts in.
func baseStart(t *testing.T, b state.Backup) pgwal.Segment {
	t.Helper()
	if b.Physical == nil {
		t.Fatalf("base %s has no physical info", b.ID)
	}
	lsn, err := pgwal.ParseLSN(b.Physical.StartLSN)
	if err != nil {
		t.Fatal(err)
	}
	return pgwal.SegmentOf(uint32(b.Physical.Timeline), lsn)
}

// assertGone fails unless the keys are missing from st.
func assertGone(t *testing.T, st storage.Store, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, err := st.Stat(context.Background(), k); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s still stored (stat: %v)", k, err)
		}
	}
}

// TestBinlogArchiveRetention: two scheduled physical fulls with
// retention_full 1. The second run's retention deletes the first full and
// every archived binary log before the second full's file (descriptor and
// object) but the newest archived one; verify of the kept full finds the archive continuous and a
// point-in-time restore from it replays to a later point.
func TestBinlogArchiveRetention(t *testing.T) {
	e, _ := newBinlogEnv(t)
	st, err := e.h.eng.stores.open(e.prov)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().UTC()
	sc := put(e.h, state.Schedule{
		Meta: state.Meta{ID: state.NewID(state.KindSchedule), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ScheduleSpec: state.ScheduleSpec{Name: "maria-full", ConnectionID: e.conn.ID, DatabaseID: e.shop.ID,
			BackupType: TypePhysical, CronExpr: "@yearly", Enabled: true, RetentionFull: 1},
	})
	e.exec(t, "INSERT INTO items VALUES (1, 'before', 1)", "FLUSH BINARY LOGS", "INSERT INTO items VALUES (2, 'before', 2)", "FLUSH BINARY LOGS")
	p1 := e.h.runNow(sc)
	if p1.Status != state.StatusSuccess || p1.BinlogFile == "" {
		t.Fatalf("full 1: %s, binlog %q\n%s", p1.Status, p1.BinlogFile, p1.LogOutput)
	}
	e.exec(t, "INSERT INTO items VALUES (3, 'between', 3)", "FLUSH BINARY LOGS", "INSERT INTO items VALUES (4, 'between', 4)")
	last := e.currentBinlog(t)
	e.exec(t, "FLUSH BINARY LOGS")
	e.waitArchived(t, last)
	before, err := listBinlogObjects(ctx, st, "binlogs/maria")
	if err != nil {
		t.Fatal(err)
	}
	deleted0 := testutil.ToFloat64(e.h.eng.binlogs.metrics.prune.deleted.WithLabelValues("maria"))

	p2 := e.h.runNow(sc)
	if p2.Status != state.StatusSuccess || p2.BinlogFile == "" {
		t.Fatalf("full 2: %s, binlog %q\n%s", p2.Status, p2.BinlogFile, p2.LogOutput)
	}
	if e.h.hasBackup(p1.ID) || !e.h.hasBackup(p2.ID) {
		t.Fatalf("retention_full 1: full 1 kept %v, full 2 kept %v", e.h.hasBackup(p1.ID), e.h.hasBackup(p2.ID))
	}
	after, err := listBinlogObjects(ctx, st, "binlogs/maria")
	if err != nil {
		t.Fatal(err)
	}
	gone := 0
	newest := before[len(before)-1] // kept: the archiver resumes after it
	for _, n := range before {
		still := slices.Contains(after, n)
		switch {
		case n == newest:
			if !still {
				t.Errorf("the newest archived binary log %s deleted", n)
			}
		case compareBinlogNames(n, p2.BinlogFile) < 0 && still:
			t.Errorf("binary log %s, before full 2's %s, kept (archive %v)", n, p2.BinlogFile, after)
		case compareBinlogNames(n, p2.BinlogFile) >= 0 && !still:
			t.Errorf("binary log %s, needed by full 2 (from %s), deleted", n, p2.BinlogFile)
		case !still:
			gone++
			keys, err := st.List(ctx, "binlogs/maria/"+n+".")
			if err != nil || len(keys) > 0 {
				t.Errorf("%s: keys left after retention: %v (%v)", n, keys, err)
			}
		}
	}
	if gone == 0 {
		t.Fatalf("no binary log deleted; archive before %v, full 2 starts in %s", before, p2.BinlogFile)
	}
	// Counted: those seen gone, and maybe files archived (and deleted)
	// after the snapshot, never more than the numbers below the cut.
	_, lo, _ := binlogSeq(before[0])
	_, hi, _ := binlogSeq(p2.BinlogFile)
	if got := testutil.ToFloat64(e.h.eng.binlogs.metrics.prune.deleted.WithLabelValues("maria")) - deleted0; got < float64(gone) || got > float64(hi-lo) {
		t.Errorf("jagad_binlog_retention_deleted_total grew by %v, want %d to %d", got, gone, hi-lo)
	}
	requireSeries(t, e.h.reg, "connection", "maria", "jagad_binlog_retention_deleted_total")

	// A point after full 2, across binary logs; then a destructive statement.
	e.exec(t, "INSERT INTO items VALUES (5, 'after', 5)", "FLUSH BINARY LOGS", "UPDATE items SET qty = 50 WHERE id = 5")
	want := itemsFingerprint(t, e.db)
	target := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(target.Add(1100 * time.Millisecond)))
	e.exec(t, "DELETE FROM items")
	last = e.currentBinlog(t)
	e.exec(t, "FLUSH BINARY LOGS")
	e.waitArchived(t, last)
	if err := e.h.eng.Verify(ctx, p2.ID, true); err != nil {
		t.Fatal(err)
	}
	if v := e.h.waitVerified(p2.ID); v.VerifyStatus != state.VerifyPassed || !strings.Contains(v.LogOutput, "binary log archive continuous from "+p2.BinlogFile) {
		t.Fatalf("verify of the kept full after archive retention: %s\n%s", v.VerifyStatus, v.LogOutput)
	}
	dir := filepath.Join(openTempDir(t), "datadir")
	if got := e.restoreAt(t, p2.ID, target, dir); got != want {
		t.Fatalf("PITR from the kept full to %s: %s, want %s", target.Format(time.RFC3339), got, want)
	}
}

// failingDeletes is a local store whose Delete fails with err for the
// keys fail picks.
type failingDeletes struct {
	*storage.Local
	fail func(key string) bool
	err  error
}

func (f *failingDeletes) Delete(ctx context.Context, key string) error {
	if f.fail(key) {
		return f.err
	}
	return f.Local.Delete(ctx, key)
}

// A failed deletion is counted and logged, stops the pass there (no later
// file goes before it, so no gap opens) and is finished by the next pass;
// a locked object stops the pass without counting an error.
func TestPruneArchiveFailures(t *testing.T) {
	ctx := context.Background()
	local := storage.NewLocal(t.TempDir())
	var segs []string
	for n := range uint64(4) {
		name := pgwal.Segment{TLI: 1, No: n + 1}.Name()
		segs = append(segs, name)
		for _, k := range []string{name + ".zst", name + ".zst" + objfmt.ManifestSuffix} {
			if _, err := local.Put(ctx, "wal/c/"+k, strings.NewReader("x")); err != nil {
				t.Fatal(err)
			}
		}
	}
	reg := prometheus.NewRegistry()
	m := newArchivePruneMetrics(reg, "wal", "WAL files")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	bases := []retention.WALBase{{ID: "b", Timeline: 1, StartLSN: "0/4000028"}} // segments 1-3 go
	pass := func(st storage.Store) map[string][]string {
		t.Helper()
		keys, err := archiveKeys(ctx, st, "wal/c/", walFileOfKey)
		if err != nil {
			t.Fatal(err)
		}
		pruneArchive(ctx, st, retention.PruneWAL(bases, mapKeys(keys)), keys, m, "c", log)
		left, err := archiveKeys(ctx, st, "wal/c/", walFileOfKey)
		if err != nil {
			t.Fatal(err)
		}
		return left
	}
	// Segment 2's object cannot be deleted: 1 goes, 2 loses its manifest
	// only, 3 stays whole.
	object2 := func(k string) bool { return strings.HasSuffix(k, segs[1]+".zst") }
	left := pass(&failingDeletes{Local: local, fail: object2, err: errors.New("disk says no")})
	if _, ok := left[segs[0]]; ok {
		t.Errorf("segment %s kept", segs[0])
	}
	if k := left[segs[1]]; len(k) != 1 || strings.HasSuffix(k[0], objfmt.ManifestSuffix) {
		t.Errorf("segment %s: keys %v, want its object alone (manifest first)", segs[1], k)
	}
	if len(left[segs[2]]) != 2 || len(left[segs[3]]) != 2 {
		t.Errorf("after a failure at %s: %v", segs[1], left)
	}
	if got := testutil.ToFloat64(m.errors.WithLabelValues("c")); got != 1 {
		t.Errorf("errors counted %v, want 1", got)
	}
	if !strings.Contains(logs.String(), "will retry at the next run") || !strings.Contains(logs.String(), "disk says no") {
		t.Errorf("log:\n%s", logs.String())
	}
	// Locked: stops quietly.
	left = pass(&failingDeletes{Local: local, fail: object2, err: fmt.Errorf("locked: %w", storage.ErrLocked)})
	if got := testutil.ToFloat64(m.errors.WithLabelValues("c")); got != 1 || len(left) != 3 {
		t.Errorf("locked pass: errors %v, left %v", got, left)
	}
	// The next pass finishes the job; the start segment stays.
	left = pass(local)
	if len(left) != 1 || len(left[segs[3]]) != 2 {
		t.Fatalf("after the retry: %v", left)
	}
	if got := testutil.ToFloat64(m.deleted.WithLabelValues("c")); got != 3 {
		t.Errorf("deleted counted %v, want 3", got)
	}
}
