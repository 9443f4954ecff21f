package engine

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/mariaphys"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/state"
)

const physPassword = `Ph pw:"x'\#;`

// physEnv is a harness with a throwaway MariaDB whose datadir it can read.
type physEnv struct {
	h    *harness
	srv  *mariaphys.Server
	db   *sql.DB // shop, over the socket
	conn state.Connection
	shop state.Database
	prov state.Provider
}

func openTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "jagad-phys-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // mariadbd runs as mysql under root
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func newPhysEnv(t *testing.T, opts ...harnessOpt) *physEnv {
	t.Helper()
	for _, tool := range []string{"mariadb-backup", "mbstream", "mariadb-install-db"} {
		if _, err := exec.LookPath(tool); err != nil {
			requireOrSkip(t, "%s not installed: %v", tool, err)
		}
	}
	kr, _ := newKeyring(t)
	h := newHarness(t, append([]harnessOpt{withKeyring(kr)}, opts...)...)
	srv, err := mariaphys.StartFresh(context.Background(), openTempDir(t), physPassword, false)
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
			Physical: &state.PhysicalSpec{Datadir: srv.Datadir}},
	})
	e.shop = h.addDatabase(e.conn, "shop")
	return e
}

func (e *physEnv) exec(t *testing.T, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := e.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func (e *physEnv) backup(t *testing.T, typ string) state.Backup {
	t.Helper()
	b := e.h.start(BackupRequest{ConnectionID: e.conn.ID, DatabaseID: e.shop.ID, BackupType: typ})
	return e.h.waitBackup(b.ID, 3*time.Minute)
}

func itemsFingerprint(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query("SELECT id, name, qty FROM items ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	hs := sha256.New()
	n := 0
	for rows.Next() {
		var id, qty int
		var name string
		if err := rows.Scan(&id, &name, &qty); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(hs, "%d|%s|%d\n", id, name, qty)
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d rows %s", n, hex.EncodeToString(hs.Sum(nil))[:16])
}

// restoreTo restores backup id into a new target_dir through Engine.Restore
// and fingerprints the result on a throwaway server.
func (e *physEnv) restoreTo(t *testing.T, id string) string {
	t.Helper()
	target := filepath.Join(openTempDir(t), "datadir")
	rec, err := e.h.eng.Restore(context.Background(), id, RestoreRequest{TargetDir: target})
	if err != nil {
		t.Fatalf("restore %s: %v", id, err)
	}
	rec = waitRestore(t, e.h, rec.ID)
	if rec.Status != state.StatusSuccess {
		t.Fatalf("restore %s: %s\n%s", id, rec.Status, rec.LogOutput)
	}
	srv, err := mariaphys.StartServer(context.Background(), mariaphys.ServerOptions{Datadir: target, SkipGrants: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	db := srv.DB("root", "", "shop")
	defer db.Close()
	return itemsFingerprint(t, db)
}

func waitRestore(t *testing.T, h *harness, id string) state.Restore {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var r state.Restore
		err := h.store.View(func(tx *state.Tx) (err error) { r, err = state.Get[state.Restore](tx, id); return err })
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != state.StatusRunning {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("restore %s still running", id)
		}
	}
}

// Full, rows, incremental, rows, second incremental, through the whole
// pipeline (compressed, encrypted, stored): restoring each point into a
// target_dir gives exactly the rows of that point; records and manifests
// carry the LSNs and the chain.
func TestPhysicalChainThroughEngine(t *testing.T) {
	e := newPhysEnv(t)
	e.exec(t, "INSERT INTO items VALUES (1,'a',1),(2,'b',2),(3,'c',3)")
	full := e.backup(t, TypePhysical)
	want0 := itemsFingerprint(t, e.db)
	e.exec(t, "INSERT INTO items VALUES (4,'d',4)", "UPDATE items SET qty=99 WHERE id=1", "DELETE FROM items WHERE id=2")
	inc1 := e.backup(t, TypeIncremental)
	want1 := itemsFingerprint(t, e.db)
	e.exec(t, "INSERT INTO items SELECT id+100, CONCAT('x',name), qty FROM items")
	inc2 := e.backup(t, TypeIncremental)
	want2 := itemsFingerprint(t, e.db)

	for _, b := range []state.Backup{full, inc1, inc2} {
		if b.Status != state.StatusSuccess {
			t.Fatalf("%s %s: %s\n%s", b.BackupType, b.ID, b.Status, b.LogOutput)
		}
		if strings.Contains(b.LogOutput, physPassword) {
			t.Fatalf("password in the log of %s", b.ID)
		}
		if !strings.HasSuffix(b.StoragePath, ".xbstream"+objfmt.CompressExt(b.Compression)+crypt.Ext) {
			t.Errorf("object key %s: want an encrypted xbstream", b.StoragePath)
		}
	}
	if full.BackupType != TypePhysical || full.ChainID != full.ID || full.ParentID != "" || full.ToLSN == 0 {
		t.Errorf("full: type %s chain %s parent %q to_lsn %d", full.BackupType, full.ChainID, full.ParentID, full.ToLSN)
	}
	if inc1.BackupType != TypeIncremental || inc1.ParentID != full.ID || inc1.ChainID != full.ID || inc1.FromLSN != full.ToLSN {
		t.Errorf("inc1: type %s parent %s chain %s from %d (full to %d)", inc1.BackupType, inc1.ParentID, inc1.ChainID, inc1.FromLSN, full.ToLSN)
	}
	if inc2.ParentID != inc1.ID || inc2.ChainID != full.ID || inc2.FromLSN != inc1.ToLSN {
		t.Errorf("inc2: parent %s chain %s from %d (inc1 to %d)", inc2.ParentID, inc2.ChainID, inc2.FromLSN, inc1.ToLSN)
	}
	m, err := objfmt.ReadManifest(context.Background(), e.h.storeFor(e.prov), inc2.StoragePath+objfmt.ManifestSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if m.ParentID != inc1.ID || m.ChainID != full.ID || m.FromLSN != inc2.FromLSN || m.ToLSN != inc2.ToLSN {
		t.Errorf("manifest of inc2: parent %s chain %s lsn %d-%d", m.ParentID, m.ChainID, m.FromLSN, m.ToLSN)
	}

	// The offline restore (jagad restore) does not pipe an xbstream into a server.
	if _, err := RestoreOffline(context.Background(), OfflineRestoreOptions{Store: e.h.storeFor(e.prov), Key: inc2.StoragePath}); err == nil ||
		!strings.Contains(err.Error(), "restores into a data directory") {
		t.Errorf("offline restore of a physical backup: %v", err)
	}

	for _, c := range []struct {
		b    state.Backup
		want string
	}{{full, want0}, {inc1, want1}, {inc2, want2}} {
		if got := e.restoreTo(t, c.b.ID); got != c.want {
			t.Errorf("restore of %s %s: %s, want %s", c.b.BackupType, c.b.ID, got, c.want)
		}
	}

	// A restore without target_dir, or into a non-empty one, is refused.
	if _, err := e.h.eng.Restore(context.Background(), inc1.ID, RestoreRequest{}); err == nil || !strings.Contains(err.Error(), "target_dir") {
		t.Errorf("restore without target_dir: %v", err)
	}
	busy := openTempDir(t)
	if err := os.WriteFile(filepath.Join(busy, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := e.h.eng.Restore(context.Background(), inc1.ID, RestoreRequest{TargetDir: busy})
	if err != nil {
		t.Fatal(err)
	}
	if rec = waitRestore(t, e.h, rec.ID); rec.Status != state.StatusFailed || !strings.Contains(rec.LogOutput, "is not empty") {
		t.Errorf("restore into a non-empty dir: %s\n%s", rec.Status, rec.LogOutput)
	}

	t.Run("deep verify", func(t *testing.T) {
		log := newJobLog(time.Now)
		if _, _, err := e.h.eng.verifyCopies(context.Background(), inc1, true, log); err != nil {
			t.Fatalf("deep verify: %v\n%s", err, log.String())
		}
		if !strings.Contains(log.String(), "xbstream chunks and checksums OK") {
			t.Errorf("deep verify log:\n%s", log.String())
		}
	})

	t.Run("drill", func(t *testing.T) {
		log := newJobLog(time.Now)
		n, err := e.h.eng.drillPhysical(context.Background(), inc2, log)
		if err != nil {
			t.Fatalf("drill: %v\n%s", err, log.String())
		}
		if !n.counted || n.tables != 1 || n.rows != 6 || !n.match {
			t.Errorf("drill counted %+v, want 1 table, 6 rows, matching\n%s", n, log.String())
		}
	})
}

// An incremental without a parent becomes a full, visibly; kill -9 of
// mariadb-backup during an incremental fails that record, and the next
// incremental builds on the last good link.
func TestPhysicalIncrementalFallbackAndKill(t *testing.T) {
	g := newGate(t)
	var wrapper string
	e := newPhysEnv(t, withOptions(func(o *Options) {
		wrapper = wrapToolFor(t, "mariadb-backup", g.body())
		o.Tools.MariadbBackup = wrapper
	}))
	g.open(t)
	e.exec(t, "INSERT INTO items VALUES (1,'a',1)")
	first := e.backup(t, TypeIncremental)
	if first.Status != state.StatusSuccess || first.BackupType != TypePhysical || first.ChainID != first.ID ||
		!strings.Contains(first.ChainNote, "no earlier successful physical backup") ||
		!strings.Contains(first.LogOutput, "taking a physical full instead") {
		t.Fatalf("first incremental: %s %s chain %s note %q\n%s", first.Status, first.BackupType, first.ChainID, first.ChainNote, first.LogOutput)
	}

	e.exec(t, "INSERT INTO items VALUES (2,'b',2)")
	g.close(t)
	if err := os.Remove(g.pidFile); err != nil { // the first run's
		t.Fatal(err)
	}
	b := e.h.start(BackupRequest{ConnectionID: e.conn.ID, DatabaseID: e.shop.ID, BackupType: TypeIncremental})
	pid := g.pid(t)
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := e.h.waitBackup(b.ID, 3*time.Minute)
	if killed.Status != state.StatusFailed || !strings.Contains(killed.LogOutput, "killed") {
		t.Fatalf("killed incremental: %s\n%s", killed.Status, killed.LogOutput)
	}
	assertNoLeftovers(t, e.h.storeFor(e.prov), killed)

	g.open(t)
	next := e.backup(t, TypeIncremental)
	if next.Status != state.StatusSuccess || next.BackupType != TypeIncremental || next.ParentID != first.ID {
		t.Fatalf("incremental after the kill: %s %s parent %s (want %s)\n%s", next.Status, next.BackupType, next.ParentID, first.ID, next.LogOutput)
	}
	want := itemsFingerprint(t, e.db)
	if got := e.restoreTo(t, next.ID); got != want {
		t.Errorf("restore after the kill: %s, want %s", got, want)
	}
}

// wrapToolFor is wrapTool for a tool the harness is built with (Options
// are set before newHarness returns, so the wrapper is made first).
func wrapToolFor(t *testing.T, tool, body string) string { return wrapTool(t, tool, body) }

// A schedule of incrementals through RunSchedule: its first run is a full,
// a chain ends once it holds retention_incr incrementals (the next run
// starts a new one, visibly), and retention deletes the old chain whole
// only when no kept incremental needs it.
func TestPhysicalScheduleChainsAndRetention(t *testing.T) {
	e := newPhysEnv(t)
	now := time.Now().UTC()
	sc := put(e.h, state.Schedule{
		Meta: state.Meta{ID: state.NewID(state.KindSchedule), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ScheduleSpec: state.ScheduleSpec{Name: "maria-incr", ConnectionID: e.conn.ID, DatabaseID: e.shop.ID,
			BackupType: TypeIncremental, CronExpr: "@yearly", Enabled: true, RetentionFull: 1, RetentionIncr: 2},
	})
	n := 0
	run := func() state.Backup {
		t.Helper()
		n++
		e.exec(t, fmt.Sprintf("INSERT INTO items VALUES (%d,'r%d',%d)", n, n, n))
		if err := e.h.eng.RunSchedule(context.Background(), sc.ID); err != nil {
			t.Fatal(err)
		}
		// The run (backup, retention) holds the schedule until it is done.
		for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
			if e.h.eng.markRunning(sc.ID) {
				e.h.eng.clearRunning(sc.ID)
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("schedule run did not finish")
			}
		}
		all := e.h.scheduleBackups(sc.ID)
		if len(all) == 0 {
			t.Fatalf("run %d: no backup", n)
		}
		b := all[0]
		if b.Status != state.StatusSuccess {
			t.Fatalf("run %d: %s\n%s", n, b.Status, b.LogOutput)
		}
		return b
	}
	p1, i1, i2, p2 := run(), run(), run(), run()
	if p1.BackupType != TypePhysical || i1.ParentID != p1.ID || i2.ParentID != i1.ID {
		t.Fatalf("chain 1: %s, %s parent %s, %s parent %s", p1.BackupType, i1.ID, i1.ParentID, i2.ID, i2.ParentID)
	}
	if p2.BackupType != TypePhysical || !strings.Contains(p2.ChainNote, "already holds 2 incrementals") {
		t.Fatalf("run 4: %s note %q, want a new chain", p2.BackupType, p2.ChainNote)
	}
	i3 := run()
	for _, b := range []state.Backup{p1, i1, i2} {
		if !e.h.hasBackup(b.ID) {
			t.Fatalf("%s deleted while kept incremental %s needs it", b.ID, i2.ID)
		}
	}
	i4 := run()
	if i3.ParentID != p2.ID || i4.ParentID != i3.ID {
		t.Fatalf("chain 2: %s parent %s, %s parent %s", i3.ID, i3.ParentID, i4.ID, i4.ParentID)
	}
	for _, b := range []state.Backup{p1, i1, i2} {
		if e.h.hasBackup(b.ID) {
			t.Errorf("old chain link %s (%s) outlived retention", b.ID, b.BackupType)
		}
		assertFiles(t, false, objectFiles(e.prov, b)...)
	}
	for _, b := range []state.Backup{p2, i3, i4} {
		if !e.h.hasBackup(b.ID) {
			t.Errorf("current chain link %s deleted", b.ID)
		}
	}
	if got, want := e.restoreTo(t, i4.ID), itemsFingerprint(t, e.db); got != want {
		t.Errorf("restore of the newest link: %s, want %s", got, want)
	}
}
