package engine

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/state"
)

// TestFaultDumpTool: a dump that is killed, exits non-zero, hangs past its
// timeout, loses its database session, or exits 0 with implausible output
// fails, says why, and leaves no object behind.
func TestFaultDumpTool(t *testing.T) {
	pg, maria := dbtest.Postgres(t), dbtest.MariaDB(t)
	h := newHarness(t)
	p := h.addLocalProvider("local")
	st := h.storeFor(p)
	h.setSetting("compression", "zstd")
	pgConn := h.addConnection("pg", pg, "")
	pgDB := h.addDatabase(pgConn, bulkDB(t, pg, 12))
	myConn := h.addConnection("maria", maria, "")
	myDB := h.addDatabase(myConn, newFixture(t, maria).db)

	run := func(t *testing.T, c state.Connection, d state.Database, body string, want ...string) state.Backup {
		t.Helper()
		key, tool := dumpToolSetting(c.DBType)
		h.setSetting(key, wrapTool(t, tool, body))
		t.Cleanup(func() { h.setSetting(key, "") })
		b := h.runBackup(c, d, nil)
		assertFailed(t, h, st, b, want...)
		return b
	}

	t.Run("killed mid-stream", func(t *testing.T) {
		run(t, pgConn, pgDB, `"$REAL" "$@" | head -c 300000; kill -KILL $$`, "pg_dump killed by signal killed")
	})
	t.Run("mariadb killed mid-stream", func(t *testing.T) {
		run(t, myConn, myDB, `"$REAL" "$@" | head -c 300000; kill -KILL $$`, "mariadb-dump killed by signal killed")
	})
	t.Run("non-zero exit after full output", func(t *testing.T) {
		run(t, pgConn, pgDB, `"$REAL" "$@"; echo 'pg_dump: error: simulated failure' >&2; exit 3`,
			"exited with status 3", "simulated failure")
	})
	t.Run("empty output", func(t *testing.T) {
		run(t, pgConn, pgDB, `exit 0`, "produced no output")
	})
	t.Run("not an archive", func(t *testing.T) {
		run(t, pgConn, pgDB, `echo 'SELECT 1;'`, "no PGDMP header")
	})
	t.Run("mysqldump without completion trailer", func(t *testing.T) {
		run(t, myConn, myDB, `"$REAL" "$@" | head -n -1`, `no "-- Dump completed" trailer`)
	})
	t.Run("database session terminated mid-dump", func(t *testing.T) {
		g := newGate(t)
		h.setSetting("pg_dump_path", wrapTool(t, "pg_dump", g.body()))
		t.Cleanup(func() { h.setSetting("pg_dump_path", "") })
		q := h.start(BackupRequest{ConnectionID: pgConn.ID, DatabaseID: pgDB.ID})
		terminateDump(t, pg, pgDB.DBName)
		g.open(t)
		b := h.waitBackup(q.ID, time.Minute)
		// The server's FATAL may or may not reach pg_dump before the socket closes.
		assertFailed(t, h, st, b, "pg_dump exited with status 1", `Dumping the contents of table "bulk" failed`)
	})
	t.Run("timeout", func(t *testing.T) {
		g := newGate(t) // never opened: the dump hangs
		h.setSetting("pg_dump_path", wrapTool(t, "pg_dump", g.body()))
		t.Cleanup(func() { h.setSetting("pg_dump_path", "") })
		q := h.start(BackupRequest{ConnectionID: pgConn.ID, DatabaseID: pgDB.ID, Timeout: time.Second})
		b := h.waitBackup(q.ID, time.Minute)
		assertFailed(t, h, st, b, "timed out after 1s")
		if d := b.CompletedAt.Sub(*b.StartedAt); d > 10*time.Second {
			t.Errorf("a 1 s timeout took %s", d)
		}
		if !g.groupGone(t) {
			t.Error("the dump's process group outlived the timed-out backup")
		}
	})
	t.Run("engine shutdown cancels a running backup", func(t *testing.T) {
		h2 := newHarness(t)
		p2 := h2.addLocalProvider("local")
		c2 := h2.addConnection("pg", pg, "")
		d2 := h2.addDatabase(c2, pgDB.DBName)
		g := newGate(t)
		h2.setSetting("pg_dump_path", wrapTool(t, "pg_dump", g.body()))
		q := h2.start(BackupRequest{ConnectionID: c2.ID, DatabaseID: d2.ID})
		h2.waitStatus(q.ID, 30*time.Second, func(b state.Backup) bool { return b.Status == state.StatusRunning })
		g.pid(t)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := h2.eng.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("shutdown = %v, want the deadline", err)
		}
		b := h2.backup(q.ID)
		if b.Status != state.StatusFailed || !strings.Contains(b.LogOutput, "context canceled") {
			t.Errorf("after shutdown: status %s; log:\n%s", b.Status, b.LogOutput)
		}
		assertNoLeftovers(t, h2.storeFor(p2), b)
		if !g.groupGone(t) {
			t.Error("the dump's process group outlived the engine")
		}
	})
}

// terminateDump waits for pg_dump's session on db to copy table data and
// terminates it.
func terminateDump(t *testing.T, srv *dbtest.Server, db string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := srv.DB(t, srv.AdminDB).QueryRowContext(testCtx(t), `SELECT count(pg_terminate_backend(pid))
FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pg_dump' AND query LIKE 'COPY %'`, db).Scan(&n)
		if err != nil {
			t.Fatalf("terminate: %v", err)
		}
		if n > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("pg_dump never showed up in pg_stat_activity")
}

func waitFile(t *testing.T, p string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(p); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFaultS3: one UploadPart answered 500 is retried and the backup
// succeeds intact; every part answered 500 fails the backup, aborts the
// multipart upload and leaves the bucket empty. Both run against gofakes3
// and against versitygw behind a fault-injecting proxy.
func TestFaultS3(t *testing.T) {
	pg := dbtest.Postgres(t)
	h := newHarness(t)
	h.setSetting("compression", "none") // ~24 MB stored: three 8 MiB parts
	conn := h.addConnection("pg", pg, "")
	db := h.addDatabase(conn, bulkDB(t, pg, 24))

	for _, srv := range s3test.Servers() {
		t.Run(srv.Name, func(t *testing.T) {
			t.Run("one part fails once", func(t *testing.T) {
				faults := &s3test.Faults{}
				faults.FailPart.Store(2)
				p := h.addS3Provider("flaky-"+srv.Name, srv.Start(t, faults))
				q := h.start(BackupRequest{ConnectionID: conn.ID, DatabaseID: db.ID, StorageProviderID: p.ID})
				b := h.waitBackup(q.ID, time.Minute)
				if b.Status != state.StatusSuccess {
					t.Fatalf("status %s; log:\n%s", b.Status, b.LogOutput)
				}
				if faults.Failed() != 1 || faults.PartRequests() < 4 {
					t.Errorf("injected %d faults over %d part requests, want 1 over at least 4", faults.Failed(), faults.PartRequests())
				}
				stored := download(t, h, b)
				if sha(stored) != b.EncryptedChecksum || sha(stored) != b.Checksum || int64(len(stored)) != b.SizeBytes {
					t.Errorf("stored object (%d bytes, %s) does not match the record (%d, %s)", len(stored), sha(stored), b.SizeBytes, b.Checksum)
				}
				assertReadable(t, b, stored, nil)
				assertManifest(t, h.storeFor(p), b)
			})
			t.Run("every part fails", func(t *testing.T) {
				faults := &s3test.Faults{}
				faults.FailAllParts.Store(true)
				p := h.addS3Provider("broken-"+srv.Name, srv.Start(t, faults))
				q := h.start(BackupRequest{ConnectionID: conn.ID, DatabaseID: db.ID, StorageProviderID: p.ID})
				b := h.waitBackup(q.ID, time.Minute)
				st := h.storeFor(p)
				assertFailed(t, h, st, b, "InternalError")
				if faults.Failed() < 2 {
					t.Errorf("only %d part requests failed: no retry happened", faults.Failed())
				}
				all, err := st.List(testCtx(t), "")
				if err != nil || len(all) != 0 {
					t.Errorf("bucket after a failed backup: %v, %v; want empty", all, err)
				}
			})
		})
	}
}

// TestFaultLocalDiskFull: a local target that runs out of space fails the
// backup with a clear error and no temp file left.
func TestFaultLocalDiskFull(t *testing.T) {
	pg := dbtest.Postgres(t)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		requireOrSkip(t, "mount a 2 MB tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	h := newHarness(t)
	now := time.Now().UTC()
	p := put(h, state.Provider{
		Meta:         state.Meta{ID: state.NewID(state.KindProvider), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ProviderSpec: state.ProviderSpec{Name: "tiny", ProviderType: "local", Path: dir, IsDefault: true},
	})
	h.setSetting("compression", "none")
	conn := h.addConnection("pg", pg, "")
	db := h.addDatabase(conn, bulkDB(t, pg, 4))
	b := h.runBackup(conn, db, nil)
	assertFailed(t, h, h.storeFor(p), b, "BACKUP FAILED: upload: local put", storage.ErrNoSpace.Error())
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left on the full disk: %s", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
