package engine

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jagad/jagad/engine/mariaphys"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/state"
)

// newBinlogEnv is a physEnv whose throwaway server writes binary logs and
// whose connection archives them (spool polled every 50 ms).
func newBinlogEnv(t *testing.T) (*physEnv, string) {
	t.Helper()
	for _, tool := range []string{"mariadb-backup", "mbstream", "mariadb-install-db", "mariadb-binlog", "mariadb"} {
		if _, err := exec.LookPath(tool); err != nil {
			requireOrSkip(t, "%s not installed: %v", tool, err)
		}
	}
	spool := t.TempDir()
	kr, _ := newKeyring(t)
	h := newHarness(t, withKeyring(kr), withOptions(func(o *Options) {
		o.BinlogArchive = BinlogArchiveOptions{SpoolDir: spool, PollEvery: 50 * time.Millisecond, MaxBackoff: time.Second}
	}))
	srv, err := mariaphys.StartFresh(context.Background(), openTempDir(t), physPassword, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	root := srv.DB("root", "", "")
	for _, q := range []string{"CREATE DATABASE shop", "CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(64), qty INT)"} {
		if _, err := root.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	root.Close()
	e := &physEnv{h: h, srv: srv, db: srv.DB("root", "", "shop"), prov: h.addLocalProvider("local")}
	t.Cleanup(func() { e.db.Close() })
	now := time.Now().UTC()
	e.conn = put(h, state.Connection{
		Meta: state.Meta{ID: state.NewID(state.KindConnection), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ConnectionSpec: state.ConnectionSpec{Name: "maria", DBType: "mariadb", Host: "127.0.0.1", Port: srv.Port,
			Username: "root", Password: state.Secret(physPassword), SSLMode: "disable",
			Physical:      &state.PhysicalSpec{Datadir: srv.Datadir},
			BinlogArchive: &state.BinlogArchiveSpec{Enabled: true, Storage: "local"}},
	})
	e.shop = h.addDatabase(e.conn, "shop")
	return e, spool
}

// waitArchived waits until file (a server binary log name) is archived.
func (e *physEnv) waitArchived(t *testing.T, file string) {
	t.Helper()
	st, err := e.h.eng.stores.open(e.prov)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		names, err := listBinlogObjects(context.Background(), st, "binlogs/maria")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if compareBinlogNames(n, file) >= 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not archived; archived: %v\n%s", file, names, e.h.logs.String())
		}
	}
}

// currentBinlog is the file the server writes now.
func (e *physEnv) currentBinlog(t *testing.T) string {
	t.Helper()
	var file string
	var pos int64
	var a, b []byte
	if err := e.db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &a, &b); err != nil {
		t.Fatal(err)
	}
	return file
}

// Completed binary logs reach storage through the pipeline (encrypted,
// checksummed), read back byte for byte equal to the server's files, and
// leave the spool only once stored; the stream survives a reconnect.
func TestBinlogArchiveUploadsCompletedFiles(t *testing.T) {
	e, spool := newBinlogEnv(t)
	e.exec(t, "INSERT INTO items VALUES (1, 'secret-row-value', 1)")
	first := e.currentBinlog(t)
	e.exec(t, "FLUSH BINARY LOGS")
	e.exec(t, "INSERT INTO items VALUES (2, 'b', 2)", "FLUSH BINARY LOGS")
	last := e.currentBinlog(t)
	e.waitArchived(t, "mysql-bin.000002")
	// Kill the stream's server session: the archiver restarts and goes on.
	var id int64
	if err := e.db.QueryRow("SELECT id FROM information_schema.processlist WHERE command LIKE 'Binlog Dump%'").Scan(&id); err != nil {
		t.Fatal(err)
	}
	e.exec(t, "KILL "+strconv.FormatInt(id, 10), "INSERT INTO items VALUES (3, 'c', 3)", "FLUSH BINARY LOGS")
	last = e.currentBinlog(t)
	e.exec(t, "FLUSH BINARY LOGS")
	st, err := e.h.eng.stores.open(e.prov)
	if err != nil {
		t.Fatal(err)
	}
	e.waitArchived(t, last)
	ctx := context.Background()
	names, err := listBinlogObjects(ctx, st, "binlogs/maria")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 3 || names[0] != first {
		t.Fatalf("archived %v, want %s first and at least 3", names, first)
	}
	kr, _ := e.h.eng.opts.Keys()
	for _, n := range names {
		o, err := readBinlogObject(ctx, st, "binlogs/maria", n)
		if err != nil {
			t.Fatal(err)
		}
		if !o.Encrypted || !strings.HasSuffix(o.ObjectKey, ".jgd") {
			t.Fatalf("%s stored unencrypted: %+v", n, o)
		}
		rc, err := st.Get(ctx, o.ObjectKey)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("secret-row-value")) {
			t.Fatalf("%s: plaintext row in the stored object", n)
		}
		d, err := objfmt.OpenDump(ctx, st, o.spec(), objfmt.Keys{Ring: kr})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(d)
		d.Close()
		if err != nil {
			t.Fatalf("%s: read back: %v", n, err)
		}
		want, err := os.ReadFile(filepath.Join(e.srv.Datadir, n))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: archived %d bytes differ from the server's %d", n, len(got), len(want))
		}
		if _, err := os.Stat(filepath.Join(spool, e.conn.ID, n)); !os.IsNotExist(err) {
			t.Fatalf("%s still in the spool after upload (%v)", n, err)
		}
	}
	if v := testutil.ToFloat64(e.h.eng.binlogs.metrics.files.WithLabelValues("maria")); v < float64(len(names)) {
		t.Fatalf("jagad_binlog_archived_files_total = %v, want >= %d", v, len(names))
	}
	if v := testutil.ToFloat64(e.h.eng.binlogs.metrics.lastArchived.WithLabelValues("maria")); v == 0 {
		t.Fatal("jagad_binlog_last_archived_timestamp_seconds not set")
	}
	// The series examples/prometheus/alerts.yml's JagadBinlogArchiveBroken uses.
	requireSeries(t, e.h.reg, "connection", "maria", "jagad_binlog_archive_up",
		"jagad_binlog_archive_lag_seconds", "jagad_binlog_archive_errors_total")
}

func TestNextBinlogName(t *testing.T) {
	for in, want := range map[string]string{"mysql-bin.000041": "mysql-bin.000042", "b.999999": "b.1000000", "x.9": "x.10"} {
		if got, err := nextBinlogName(in); err != nil || got != want {
			t.Errorf("nextBinlogName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := nextBinlogName("nonumber"); err == nil {
		t.Error("nextBinlogName(nonumber): no error")
	}
}

// Binary log point-in-time recovery: a physical backup, rows at T1, a
// destructive statement at T2, the binary logs archived; a restore to just
// before T2 keeps the T1 rows. A deleted binary log object then makes the
// restore refuse before writing, naming the file, and verify names it too.
func TestBinlogPITRRestore(t *testing.T) {
	e, _ := newBinlogEnv(t)
	e.exec(t, "INSERT INTO items VALUES (1, 'base', 1), (2, 'base', 2)")
	b := e.backup(t, TypePhysical)
	if b.Status != state.StatusSuccess || b.BinlogFile == "" {
		t.Fatalf("backup %s: %s, binlog %q:%d", b.ID, b.Status, b.BinlogFile, b.BinlogPos)
	}
	// T1 spans binary logs: the replay crosses files.
	e.exec(t, "FLUSH BINARY LOGS", "INSERT INTO items VALUES (3, 't1', 3), (4, 't1', 4)", "FLUSH BINARY LOGS",
		"UPDATE items SET qty = 10 WHERE id = 1")
	t1 := itemsFingerprint(t, e.db)
	// Binary log timestamps have second resolution: the target is the
	// second after T1's statements, T2 comes a second later still.
	target := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(target.Add(1100 * time.Millisecond)))
	e.exec(t, "DELETE FROM items WHERE id > 1", "UPDATE items SET name = 'oops'")
	if itemsFingerprint(t, e.db) == t1 {
		t.Fatal("the destructive statement changed nothing")
	}
	last := e.currentBinlog(t)
	e.exec(t, "FLUSH BINARY LOGS")
	e.waitArchived(t, last)

	dir := filepath.Join(openTempDir(t), "datadir")
	for _, bad := range []time.Time{time.Now().Add(time.Hour), b.CreatedAt.Add(-time.Hour)} {
		if _, err := e.h.eng.Restore(context.Background(), b.ID, RestoreRequest{TargetDir: dir, TargetTime: &bad}); err == nil {
			t.Fatalf("target_time %s accepted", bad)
		}
	}
	if got := e.restoreAt(t, b.ID, target, dir); got != t1 {
		t.Fatalf("restored to %s: %s, want the T1 rows %s", target.Format(time.RFC3339), got, t1)
	}

	if err := e.h.eng.Verify(context.Background(), b.ID, true); err != nil {
		t.Fatal(err)
	}
	if v := e.h.waitVerified(b.ID); v.VerifyStatus != state.VerifyPassed || !strings.Contains(v.LogOutput, "binary log archive continuous") {
		t.Fatalf("verify with the archive whole: %s\n%s", v.VerifyStatus, v.LogOutput)
	}

	// A missing binary log object: verify and restore name it; the
	// restore refuses before writing.
	st, err := e.h.eng.stores.open(e.prov)
	if err != nil {
		t.Fatal(err)
	}
	names, err := listBinlogObjects(context.Background(), st, "binlogs/maria")
	if err != nil || len(names) < 2 {
		t.Fatalf("archived %v, %v", names, err)
	}
	gone := ""
	for _, n := range names {
		if compareBinlogNames(n, b.BinlogFile) > 0 && n != names[len(names)-1] {
			gone = n
		}
	}
	if gone == "" {
		t.Fatalf("no archived file after %s and before the newest: %v", b.BinlogFile, names)
	}
	o, err := readBinlogObject(context.Background(), st, "binlogs/maria", gone)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(context.Background(), o.ObjectKey); err != nil {
		t.Fatal(err)
	}
	seen := 0 // the record's log accumulates: each run must add the line
	for _, deep := range []bool{false, true} {
		if err := e.h.eng.Verify(context.Background(), b.ID, deep); err != nil {
			t.Fatal(err)
		}
		v := e.h.waitVerified(b.ID)
		n := strings.Count(v.LogOutput, "binary log "+gone+" is missing")
		if v.VerifyStatus != state.VerifyFailed || n <= seen {
			t.Fatalf("verify (deep %v) with %s deleted: %s\n%s", deep, gone, v.VerifyStatus, v.LogOutput)
		}
		seen = n
	}
	dir2 := filepath.Join(openTempDir(t), "datadir")
	rec, err := e.h.eng.Restore(context.Background(), b.ID, RestoreRequest{TargetDir: dir2, TargetTime: &target})
	if err != nil {
		t.Fatal(err)
	}
	rec = waitRestore(t, e.h, rec.ID)
	if rec.Status != state.StatusFailed || !strings.Contains(rec.LogOutput, gone) {
		t.Fatalf("restore with %s deleted: %s\n%s", gone, rec.Status, rec.LogOutput)
	}
	if ents, _ := os.ReadDir(dir2); len(ents) > 0 {
		t.Fatalf("the refused restore wrote %d entries into target_dir", len(ents))
	}
	// Delete its descriptor too: the sequence has a gap, named.
	if err := st.Delete(context.Background(), "binlogs/maria/"+gone+BinlogObjectSuffix); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.h.eng.archivedBinlogs(context.Background(), e.conn.ID, b.BinlogFile); err == nil || !strings.Contains(err.Error(), gone+" is missing") {
		t.Fatalf("continuity with %s gone: %v", gone, err)
	}
	// The failed verifies metered the binary log archive; the archive
	// check on its own lists the gap (archive_verify.go).
	if v := testutil.ToFloat64(e.h.eng.archiveChecks.failed.WithLabelValues("maria", ArchiveBinlog)); v != 1 {
		t.Errorf("jagad_archive_verify_failed{archive=binlog} = %v after a gap, want 1", v)
	}
	rep, err := e.h.eng.VerifyArchive(context.Background(), e.conn.ID)
	if err != nil || rep.OK || rep.Archive != ArchiveBinlog || !slices.Contains(rep.Gaps, gone) {
		t.Fatalf("archive report with %s gone: %+v, %v", gone, rep, err)
	}
}

// restoreAt restores backupID to target into dir and fingerprints it.
func (e *physEnv) restoreAt(t *testing.T, backupID string, target time.Time, dir string) string {
	t.Helper()
	rec, err := e.h.eng.Restore(context.Background(), backupID, RestoreRequest{TargetDir: dir, TargetTime: &target})
	if err != nil {
		t.Fatal(err)
	}
	rec = waitRestore(t, e.h, rec.ID)
	if rec.Status != state.StatusSuccess {
		t.Fatalf("restore: %s\n%s", rec.Status, rec.LogOutput)
	}
	if rec.TargetTime == nil || !rec.TargetTime.Equal(target) || rec.PointInTime == "" {
		t.Errorf("restore record's point: target_time %v, point_in_time %q; asked for %v", rec.TargetTime, rec.PointInTime, target)
	}
	srv, err := mariaphys.StartServer(context.Background(), mariaphys.ServerOptions{Datadir: dir, SkipGrants: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	db := srv.DB("root", "", "shop")
	defer db.Close()
	return itemsFingerprint(t, db)
}
