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
	return h, srv, c, db, p
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
	srv.Exec(t, "app", "INSERT INTO t1 SELECT g, 'more' FROM generate_series(1000 + (random()*1e6)::int, 1005 + (random()*1e6)::int) g ON CONFLICT DO NOTHING")
	if err := srv.DB(t, "app").QueryRow("SELECT pg_walfile_name(pg_switch_wal())").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// waitArchived waits until segment name is in the archive.
func waitArchived(t *testing.T, st storage.Store, conn, name string) map[string]objfmt.Manifest {
	t.Helper()
	var got map[string]objfmt.Manifest
	rsWaitFor(t, 2*time.Minute, func() bool {
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
	if n := testutil.ToFloat64(h.eng.wal.m.segments.WithLabelValues(c.Name)); n < 3 {
		t.Errorf("segments archived metric = %v, want >= 3", n)
	}
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
