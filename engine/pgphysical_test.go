package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/state"
)

// physicalFixture is a private PostgreSQL server (a physical backup copies
// the whole cluster) with a table of 3 rows in database app.
func physicalFixture(t *testing.T, h *harness) (*dbtest.Server, state.Connection, state.Database) {
	t.Helper()
	srv := dbtest.PrivatePostgres(t)
	srv.Exec(t, "", "CREATE DATABASE app")
	srv.Exec(t, "app", "CREATE TABLE t1 (id int PRIMARY KEY, v text); INSERT INTO t1 SELECT g, 'row ' || g FROM generate_series(1, 3) g")
	c := h.addConnection("phys", srv, "")
	return srv, c, h.addDatabase(c, "app")
}

func TestPhysicalBaseBackup(t *testing.T) {
	h := newHarness(t)
	p := h.addLocalProvider("local")
	_, c, db := physicalFixture(t, h)
	b := h.start(BackupRequest{ConnectionID: c.ID, DatabaseID: db.ID, BackupType: state.BackupPhysical})
	b = h.waitBackup(b.ID, 2*time.Minute)
	if b.Status != state.StatusSuccess {
		t.Fatalf("physical backup %s: %s\n%s", b.ID, b.Status, b.LogOutput)
	}
	ph := b.Physical
	if ph == nil || !lsnRe.MatchString(ph.StartLSN) || !lsnRe.MatchString(ph.StopLSN) || ph.Timeline != 1 || len(ph.SystemID) < 10 {
		t.Fatalf("physical info = %+v, want LSNs, timeline 1 and a system identifier", ph)
	}
	if !strings.Contains(b.StoragePath, ".base.tar") || b.ServerVersion == "" || b.Tables["public.t1"] != 3 {
		t.Fatalf("record: path %q, server %q, tables %v", b.StoragePath, b.ServerVersion, b.Tables)
	}
	m, err := objfmt.ReadManifest(context.Background(), h.storeFor(p), b.StoragePath+objfmt.ManifestSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if m.Physical == nil || *m.Physical != *ph || m.BackupType != state.BackupPhysical {
		t.Fatalf("manifest physical = %+v, type %q; want %+v", m.Physical, m.BackupType, ph)
	}
	// The offline restore (jagad restore) does not pipe a base tar into a server.
	if _, err := RestoreOffline(context.Background(), OfflineRestoreOptions{Store: h.storeFor(p), Key: b.StoragePath}); err == nil ||
		!strings.Contains(err.Error(), "(pg_basebackup): it restores into a data directory") {
		t.Errorf("offline restore of a base backup: %v", err)
	}
}

// A user without REPLICATION gets a clear error naming what is missing.
func TestPhysicalBackupNeedsReplication(t *testing.T) {
	h := newHarness(t)
	h.addLocalProvider("local")
	srv, _, _ := physicalFixture(t, h)
	srv.Exec(t, "", "CREATE ROLE plain LOGIN PASSWORD 'plainpw'; GRANT pg_read_all_data TO plain")
	c := h.addConnection("plain", srv, "")
	c.Username, c.Password = "plain", state.Secret("plainpw")
	c = put(h, c)
	db := h.addDatabase(c, "app")
	b := h.start(BackupRequest{ConnectionID: c.ID, DatabaseID: db.ID, BackupType: state.BackupPhysical})
	b = h.waitBackup(b.ID, 2*time.Minute)
	if b.Status != state.StatusFailed || !strings.Contains(b.LogOutput, "REPLICATION attribute") {
		t.Fatalf("backup by a user without REPLICATION: %s\n%s", b.Status, b.LogOutput)
	}
}

// Incremental is MariaDB's (mariadb-backup): a PostgreSQL connection is
// refused up front, physical is not.
func TestPhysicalIncrementalRefusedForPostgres(t *testing.T) {
	h := newHarness(t)
	h.addLocalProvider("local")
	_, c, db := physicalFixture(t, h)
	_, err := h.eng.StartBackup(context.Background(), BackupRequest{ConnectionID: c.ID, DatabaseID: db.ID, BackupType: TypeIncremental})
	if err == nil || !strings.Contains(err.Error(), "incremental is for mysql and mariadb") {
		t.Fatalf("incremental backup of postgresql: err = %v", err)
	}
}

var lsnRe = regexp.MustCompile(`^[0-9A-F]+/[0-9A-F]+$`)

// physicalBackup takes a physical backup and fails the test unless it succeeds.
func physicalBackup(t *testing.T, h *harness, c state.Connection, db state.Database) state.Backup {
	t.Helper()
	b := h.start(BackupRequest{ConnectionID: c.ID, DatabaseID: db.ID, BackupType: state.BackupPhysical})
	b = h.waitBackup(b.ID, 2*time.Minute)
	if b.Status != state.StatusSuccess {
		t.Fatalf("physical backup: %s\n%s", b.Status, b.LogOutput)
	}
	return b
}

// TestPhysicalRestoreIntoTargetDir restores an encrypted base backup into a
// new data directory; the throwaway server started on it shows the rows of
// the backup and not what was written after it.
func TestPhysicalRestoreIntoTargetDir(t *testing.T) {
	h := newHarness(t, withKeyring(rsKeyring(t, "k1", map[string]string{"k1": rsNewKey(t)}, nil)))
	h.addLocalProvider("local")
	h.setSetting("compression", "zstd")
	srv, c, db := physicalFixture(t, h)
	b := physicalBackup(t, h, c, db)
	if b.EncryptionAlgo == "" {
		t.Fatalf("backup not encrypted")
	}
	srv.Exec(t, "app", "INSERT INTO t1 VALUES (100, 'after the backup')")

	dir := targetDir(t)
	r := h.restore(b.ID, RestoreRequest{TargetDir: dir, Check: true})
	if r.Status != state.StatusSuccess || r.TargetDir != dir {
		t.Fatalf("physical restore: %s (dir %q)\n%s", r.Status, r.TargetDir, r.LogOutput)
	}
	if !strings.Contains(r.LogOutput, "CHECK: database app answers: 1 tables, 3 rows") {
		t.Fatalf("restore log lacks the check's row count:\n%s", r.LogOutput)
	}
	for _, f := range []string{"PG_VERSION", "global/pg_control", "backup_label.old"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("restored dir: %v", err)
		}
	}
	// A second restore into the now non-empty directory is refused.
	r2 := h.restore(b.ID, RestoreRequest{TargetDir: dir})
	if r2.Status != state.StatusFailed || !strings.Contains(r2.LogOutput, "is not empty") {
		t.Fatalf("restore into a non-empty dir: %s\n%s", r2.Status, r2.LogOutput)
	}
	// A logical-only field is refused up front.
	if _, err := h.eng.Restore(context.Background(), b.ID, RestoreRequest{TargetDir: dir, DropExisting: true}); err == nil {
		t.Fatal("physical restore with drop_existing accepted")
	}
}

// A tampered base backup is refused before target_dir is even created.
func TestPhysicalRestoreTamperedRefused(t *testing.T) {
	h := newHarness(t)
	p := h.addLocalProvider("local")
	h.setSetting("compression", "gzip")
	_, c, db := physicalFixture(t, h)
	b := physicalBackup(t, h, c, db)
	rsDamage(t, objectPath(p, b), "flip")

	dir := filepath.Join(t.TempDir(), "restored")
	r := h.restore(b.ID, RestoreRequest{TargetDir: dir, Check: true})
	if r.Status != state.StatusFailed || !strings.Contains(r.LogOutput, "CHECKSUM ERROR") ||
		!strings.Contains(r.LogOutput, "nothing was written") {
		t.Fatalf("restore of a tampered base: %s\n%s", r.Status, r.LogOutput)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("target_dir after a refused restore: %v (want it not to exist)", err)
	}
}

// targetDir is a path for a restored data directory that the postgres user
// (which the throwaway server runs as when the tests run as root) can reach.
func targetDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(base, "restored")
}

// TestPhysicalDrill: a schedule of physical backups with restore_test runs a
// drill that restores into a temporary data directory, starts a throwaway
// server, counts the rows and removes the directory again.
func TestPhysicalDrill(t *testing.T) {
	h := newHarness(t)
	h.addLocalProvider("local")
	_, c, d := physicalFixture(t, h)
	now := time.Now().UTC()
	sch := put(h, state.Schedule{Meta: state.Meta{ID: state.NewID(state.KindSchedule), CreatedAt: now, UpdatedAt: now},
		ScheduleSpec: state.ScheduleSpec{Name: "phys", ConnectionID: c.ID, DatabaseID: d.ID, BackupType: state.BackupPhysical,
			CronExpr: "0 3 1 1 *", RetentionFull: 7, Enabled: false,
			RestoreTest: &state.RestoreTest{ConnectionID: c.ID, Every: 1}}})
	if err := h.eng.RunSchedule(context.Background(), sch.ID); err != nil {
		t.Fatal(err)
	}
	var drill state.Restore
	var b state.Backup
	rsWaitFor(t, 3*time.Minute, func() bool {
		var list []state.Backup
		_ = h.store.View(func(tx *state.Tx) (err error) {
			list, err = tx.ListBackups(state.BackupQuery{ScheduleID: sch.ID})
			return err
		})
		if len(list) == 0 {
			return false
		}
		b = list[0]
		ds := h.drills(b.ID)
		if len(ds) == 1 && ds[0].Status != state.StatusRunning {
			drill = ds[0]
			return true
		}
		return b.Status == state.StatusFailed
	})
	if b.Status != state.StatusSuccess || drill.Status != state.StatusSuccess {
		t.Fatalf("backup %s, drill %s:\n%s\n%s", b.Status, drill.Status, b.LogOutput, drill.LogOutput)
	}
	for _, want := range []string{"CHECK: database app answers: 1 tables, 3 rows", "row counts match"} {
		if !strings.Contains(drill.LogOutput, want) {
			t.Errorf("drill log lacks %q:\n%s", want, drill.LogOutput)
		}
	}
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), "jagad-drill-*"))
	for _, l := range left {
		if strings.Contains(drill.LogOutput, l) {
			t.Errorf("drill dir %s left behind", l)
		}
	}
}

// Deep verification of a base backup reads the tar through (no pg_restore
// --list) and passes; a damaged one fails.
func TestPhysicalVerify(t *testing.T) {
	h := newHarness(t)
	p := h.addLocalProvider("local")
	_, c, db := physicalFixture(t, h)
	b := physicalBackup(t, h, c, db)
	if err := h.eng.Verify(context.Background(), b.ID, true); err != nil {
		t.Fatal(err)
	}
	v := h.waitVerified(b.ID)
	if v.VerifyStatus != state.VerifyPassed || v.VerifyMode != VerifyDeep || !strings.Contains(v.LogOutput, "backup_label and global/pg_control present") {
		t.Fatalf("deep verify of a base backup: %s/%s\n%s", v.VerifyStatus, v.VerifyMode, v.LogOutput)
	}
	rsDamage(t, objectPath(p, b), "flip")
	if err := h.eng.Verify(context.Background(), b.ID, true); err != nil {
		t.Fatal(err)
	}
	if v = h.waitVerified(b.ID); v.VerifyStatus != state.VerifyFailed {
		t.Fatalf("deep verify of a damaged base backup: %s\n%s", v.VerifyStatus, v.LogOutput)
	}
}
