package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// walFixture is a private server whose connection archives its WAL to the
// provider local; the engine's spool is in the test's temp dir.
func walFixture(t *testing.T, opts ...harnessOpt) (*harness, *dbtest.Server, state.Connection, state.Database, state.Provider) {
	t.Helper()
	spool := t.TempDir()
	h := newHarness(t, append(opts, withOptions(func(o *Options) { o.SpoolDir = spool }))...)
	p := h.addLocalProvider("local")
	srv, c, db := physicalFixture(t, h)
	c.WalArchive = &state.WalArchive{Enabled: true, Storage: "local", SpoolMaxBytes: 8 << 24}
	c = put(h, c)
	waitStreaming(t, srv)
	return h, srv, c, db, p
}

// waitStreaming waits until pg_receivewal streams on the slot jagad_phys:
// WAL written before that is not in the archive.
func waitStreaming(t *testing.T, srv *dbtest.Server) {
	t.Helper()
	rsWaitFor(t, time.Minute, func() bool {
		var active bool
		err := srv.DB(t, "app").QueryRow("SELECT active FROM pg_replication_slots WHERE slot_name = 'jagad_phys'").Scan(&active)
		return err == nil && active
	})
}

// walObjects lists the archived WAL files of a connection (by file name).
func walObjects(t *testing.T, st storage.Store, conn string) map[string]objfmt.Manifest {
	t.Helper()
	infos, err := st.List(context.Background(), walPrefix(conn))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]objfmt.Manifest{}
	for _, in := range infos {
		if !strings.HasSuffix(in.Key, objfmt.ManifestSuffix) {
			continue
		}
		m, err := objfmt.ReadManifest(context.Background(), st, in.Key)
		if err != nil {
			t.Fatal(err)
		}
		out[m.DatabaseName] = m
	}
	return out
}

// switchWAL writes a little and closes the current segment; it returns the
// name of the segment it closed.
func switchWAL(t *testing.T, srv *dbtest.Server) string {
	t.Helper()
	var name string
	srv.Exec(t, "app", "CREATE TABLE IF NOT EXISTS wal_filler (v text); INSERT INTO wal_filler VALUES ('x')")
	if err := srv.DB(t, "app").QueryRow("SELECT pg_walfile_name(pg_switch_wal())").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// waitArchived waits until segment name is in the archive.
func waitArchived(t *testing.T, st storage.Store, conn, name string) map[string]objfmt.Manifest {
	t.Helper()
	return waitArchivedWithin(t, st, conn, name, 2*time.Minute)
}

func waitArchivedWithin(t *testing.T, st storage.Store, conn, name string, timeout time.Duration) map[string]objfmt.Manifest {
	t.Helper()
	var got map[string]objfmt.Manifest
	rsWaitFor(t, timeout, func() bool {
		got = walObjects(t, st, conn)
		_, ok := got[name]
		return ok
	})
	return got
}

// TestWalArchiving: wal_archive on a connection creates the slot, archives
// every completed segment (compressed, checksummed, with a manifest),
// removes the local copies, meters it, and drops the slot when turned off.
func TestWalArchiving(t *testing.T) {
	h, srv, c, _, p := walFixture(t)
	st := h.storeFor(p)
	var seg string
	for range 3 {
		seg = switchWAL(t, srv)
	}
	got := waitArchived(t, st, c.Name, seg)
	m := got[seg]
	if m.BackupType != "wal" || m.SizeBytes != 16<<20 || m.Checksum == "" || !strings.HasPrefix(m.ObjectKey, "wal/phys/"+seg) {
		t.Fatalf("manifest of %s: %+v", seg, m)
	}
	if _, err := objfmt.CheckObject(context.Background(), st, objfmt.SpecOfManifest(m), objfmt.Keys{}, true); err != nil {
		t.Fatalf("archived segment does not check: %v", err)
	}
	var slots int
	if err := srv.DB(t, "app").QueryRow("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'jagad_phys'").Scan(&slots); err != nil || slots != 1 {
		t.Fatalf("replication slot jagad_phys: %d, %v", slots, err)
	}
	// The metric counts a file once its local copy is gone, just after its manifest appears.
	rsWaitFor(t, time.Minute, func() bool { return testutil.ToFloat64(h.eng.wal.m.segments.WithLabelValues(c.Name)) >= 3 })
	// The series examples/prometheus/alerts.yml's JagadWalArchiveLagging uses
	// (the lag is measured periodically).
	rsWaitFor(t, time.Minute, func() bool {
		return len(missingSeries(t, h.reg, "connection", c.Name, "jagad_wal_archive_lag_seconds", "jagad_wal_archive_lag_bytes")) == 0
	})
	rsWaitFor(t, time.Minute, func() bool { // the local copy goes once its upload is confirmed
		_, err := os.Stat(filepath.Join(h.eng.spoolDir(c.ID), seg))
		return os.IsNotExist(err)
	})

	c.WalArchive = nil
	put(h, c)
	rsWaitFor(t, time.Minute, func() bool {
		_ = srv.DB(t, "app").QueryRow("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'jagad_phys'").Scan(&slots)
		return slots == 0
	})
}

// TestWalArchiveNetworkBreak cuts the archiver's replication connection
// again and again while WAL is written: the errors are counted, the lag
// metric grows, and once the connection is left alone archiving catches
// up with no gap.
func TestWalArchiveNetworkBreak(t *testing.T) {
	h, srv, c, _, p := walFixture(t)
	st := h.storeFor(p)
	waitArchived(t, st, c.Name, switchWAL(t, srv))
	lag := h.eng.wal.m.lagBytes.WithLabelValues(c.Name)
	errs := h.eng.wal.m.errors.WithLabelValues(c.Name)
	cut := func() {
		srv.Exec(t, "app", "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'jagad_phys' AND active_pid IS NOT NULL")
	}
	var last string
	grew := false
	deadline := time.Now().Add(90 * time.Second)
	for !grew && time.Now().Before(deadline) {
		cut()
		last = switchWAL(t, srv)
		for range 5 {
			cut()
			time.Sleep(100 * time.Millisecond)
		}
		grew = testutil.ToFloat64(lag) >= 2*16<<20
	}
	if !grew {
		t.Fatalf("lag metric stayed at %v bytes while the archiver was cut off", testutil.ToFloat64(lag))
	}
	if testutil.ToFloat64(errs) < 1 {
		t.Error("no archive error counted for the broken connections")
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("engine log:\n%s", h.logs.String())
		}
	})
	// Catches up once left alone (after at most one backoff of 1 min).
	waitArchivedWithin(t, st, c.Name, last, 5*time.Minute)
	rsWaitFor(t, time.Minute, func() bool { return testutil.ToFloat64(lag) < 16<<20 })
	rep, err := h.eng.VerifyWAL(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 || rep.Last < last {
		t.Fatalf("archive after the breaks: %+v", rep)
	}
}
