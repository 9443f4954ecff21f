package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/engine/mariaphys"
	"github.com/jagad/jagad/engine/pgphys"
	"github.com/jagad/jagad/engine/pgwal"
	"github.com/jagad/jagad/state"
)

// offlineSite is a daemon's engine writing backups into a local storage
// dir; lose() is the disaster: the engine stops and its data dir is gone,
// leaving the storage alone.
type offlineSite struct {
	t       *testing.T
	storage string
	key     string
	keyFile string
	dataDir string
	store   *state.Store
	eng     *engine.Engine
	prov    state.Provider
}

func newOfflineSite(t *testing.T, opts func(*engine.Options)) *offlineSite {
	t.Helper()
	s := &offlineSite{t: t, storage: t.TempDir(), dataDir: t.TempDir()}
	var err error
	if s.key, err = crypt.GenerateKey(); err != nil {
		t.Fatal(err)
	}
	s.keyFile = filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(s.keyFile, []byte(s.key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.store, err = state.Open(state.Options{Dir: s.dataDir, MasterKey: bytes.Repeat([]byte{7}, 32)}); err != nil {
		t.Fatal(err)
	}
	kr, err := crypt.NewKeyring("k1", map[string]string{"k1": s.key}, "")
	if err != nil {
		t.Fatal(err)
	}
	o := engine.Options{Store: s.store, Keys: func() (*crypt.Keyring, error) { return kr, nil }, SpoolDir: t.TempDir()}
	if opts != nil {
		opts(&o)
	}
	if s.eng, err = engine.New(o); err != nil {
		t.Fatal(err)
	}
	if err := s.eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.lose)
	now := time.Now().UTC()
	s.prov = state.Provider{Meta: state.Meta{ID: "prov_local", CreatedAt: now, UpdatedAt: now},
		ProviderSpec: state.ProviderSpec{Name: "local", ProviderType: "local", Path: s.storage, IsDefault: true}}
	drPut(t, s.store, s.prov)
	return s
}

// lose stops the engine and removes its data dir (idempotent).
func (s *offlineSite) lose() {
	if s.eng == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.eng.Shutdown(ctx)
	if err := s.store.Close(); err != nil {
		s.t.Errorf("close store: %v", err)
	}
	if err := os.RemoveAll(s.dataDir); err != nil {
		s.t.Error(err)
	}
	s.eng = nil
}

func (s *offlineSite) connection(c state.ConnectionSpec, dbs ...string) (state.Connection, map[string]state.Database) {
	s.t.Helper()
	now := time.Now().UTC()
	conn := state.Connection{Meta: state.Meta{ID: state.NewID(state.KindConnection), CreatedAt: now, UpdatedAt: now}, ConnectionSpec: c}
	drPut(s.t, s.store, conn)
	out := map[string]state.Database{}
	for _, db := range dbs {
		d := state.Database{ID: state.DerivedID(state.KindDatabase, conn.ID+"/"+db), ConnectionID: conn.ID, DBName: db, IsSelected: true, CreatedAt: now}
		drPut(s.t, s.store, d)
		out[db] = d
	}
	return conn, out
}

// backup runs one backup to its end; it must succeed.
func (s *offlineSite) backup(c state.Connection, d state.Database, typ string) state.Backup {
	s.t.Helper()
	b, err := s.eng.StartBackup(context.Background(), engine.BackupRequest{ConnectionID: c.ID, DatabaseID: d.ID, BackupType: typ})
	if err != nil {
		s.t.Fatal(err)
	}
	for deadline := time.Now().Add(3 * time.Minute); b.Status != state.StatusSuccess; time.Sleep(50 * time.Millisecond) {
		if b.Status == state.StatusFailed || time.Now().After(deadline) {
			s.t.Fatalf("%s backup %s:\n%s", typ, b.Status, b.LogOutput)
		}
		if err := s.store.View(func(tx *state.Tx) (err error) { b, err = state.Get[state.Backup](tx, b.ID); return err }); err != nil {
			s.t.Fatal(err)
		}
	}
	return b
}

// restore runs `jagad restore` offline on the site's storage.
func (s *offlineSite) restore(args ...string) (code int, stdout, stderr string) {
	s.t.Helper()
	all := append([]string{"restore", "--storage-type", "local", "--path", s.storage, "--key-file", s.keyFile}, args...)
	return runCLI(s.t, nil, all...)
}

// newTargetDir is a path for a new data directory whose parents the
// database server's user can traverse.
func newTargetDir(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "jagad-offline-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	return filepath.Join(base, "data")
}

// pgFingerprint is the content of the test's tables: t1's rows, and
// whether t2 exists with its row count.
func pgFingerprint(ctx context.Context, t *testing.T, target dbclient.Target) string {
	t.Helper()
	cfg, err := dbclient.PgConfig(target, "app")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows string
	var t2 int64 = -1
	var hasT2 bool
	err = conn.QueryRow(ctx, `SELECT coalesce(string_agg(id || ':' || v, ',' ORDER BY id), ''), to_regclass('public.t2') IS NOT NULL FROM t1`).Scan(&rows, &hasT2)
	if err == nil && hasT2 {
		err = conn.QueryRow(ctx, "SELECT count(*) FROM t2").Scan(&t2)
	}
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("t1[%s] t2=%d", rows, t2)
}

// livePG is the fingerprint of the server's database now.
func livePG(t *testing.T, srv *dbtest.Server) string {
	t.Helper()
	return pgFingerprint(context.Background(), t, srv.Target("app"))
}

// restoredPG starts a throwaway postgres on a restored data directory,
// waits until it is out of recovery and fingerprints it.
func restoredPG(t *testing.T, dir string) string {
	t.Helper()
	ctx := context.Background()
	bin, err := dump.PgTool(ctx, dump.Tools{}, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	owner, err := pgphys.OwnerFor()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := pgphys.Start(bin, dir, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	target := dbclient.Target{DBType: dbclient.PostgreSQL, Host: srv.SocketDir, Port: srv.Port, User: "postgres", SSLMode: "disable", Database: "app"}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := srv.WaitReady(wctx, func(ctx context.Context) error { return pgphys.Promoted(ctx, target) }); err != nil {
		t.Fatalf("postgres on %s: %v\n%s", dir, err, srv.LogTail(20))
	}
	return pgFingerprint(ctx, t, target)
}

// TestOfflineRestorePGPhysical: with the daemon's data dir gone, `jagad
// restore --target-dir` restores an encrypted base backup alone, and to a
// point in time (--to-time, --to-lsn, --latest) from the archived WAL, with
// the content of that point; the errors name what is wrong and write
// nothing.
func TestOfflineRestorePGPhysical(t *testing.T) {
	srv := dbtest.PrivatePostgres(t)
	srv.Exec(t, "", "CREATE DATABASE app")
	srv.Exec(t, "app", "CREATE TABLE t1 (id int PRIMARY KEY, v text); INSERT INTO t1 SELECT g, 'row ' || g FROM generate_series(1, 3) g")
	site := newOfflineSite(t, nil)
	c, dbs := site.connection(state.ConnectionSpec{Name: "phys", DBType: srv.DBType, Host: srv.Host, Port: srv.Port,
		Username: srv.User, Password: state.Secret(srv.Password), SSLMode: "disable",
		WalArchive: &state.WalArchive{Enabled: true, Storage: "local", SpoolMaxBytes: 8 << 24}}, "app")
	waitFor(t, 2*time.Minute, "pg_receivewal on slot jagad_phys", func() bool {
		var active bool
		err := srv.DB(t, "app").QueryRow("SELECT active FROM pg_replication_slots WHERE slot_name = 'jagad_phys'").Scan(&active)
		return err == nil && active
	})
	logical := site.backup(c, dbs["app"], "")
	base := site.backup(c, dbs["app"], state.BackupPhysical)
	if base.EncryptionAlgo == "" || base.Physical == nil {
		t.Fatalf("base backup: encryption %q, physical %+v", base.EncryptionAlgo, base.Physical)
	}
	atBase := livePG(t, srv)
	srv.Exec(t, "app", "CREATE TABLE t2 (id int); INSERT INTO t2 SELECT generate_series(1, 5); INSERT INTO t1 VALUES (10, 'at T1'), (11, 'at T1')")
	time.Sleep(1100 * time.Millisecond) // commit times are microseconds: keep T2 clear of both sides
	var t2 time.Time
	var lsn string
	if err := srv.DB(t, "app").QueryRow("SELECT clock_timestamp(), pg_current_wal_lsn()::text").Scan(&t2, &lsn); err != nil {
		t.Fatal(err)
	}
	atT2 := livePG(t, srv)
	time.Sleep(1100 * time.Millisecond)
	srv.Exec(t, "app", "INSERT INTO t1 SELECT g, 'at T3' FROM generate_series(100, 199) g; DROP TABLE t2")
	atT3 := livePG(t, srv)
	var seg string
	srv.Exec(t, "app", "CREATE TABLE wal_filler (v text); INSERT INTO wal_filler VALUES ('x')")
	if err := srv.DB(t, "app").QueryRow("SELECT pg_walfile_name(pg_switch_wal())").Scan(&seg); err != nil {
		t.Fatal(err)
	}
	walDir := filepath.Join(site.storage, "wal", "phys")
	waitFor(t, 2*time.Minute, "WAL segment "+seg+" archived", func() bool {
		m, _ := filepath.Glob(filepath.Join(walDir, seg+"*.manifest.json"))
		return len(m) == 1
	})
	if atBase == atT2 || atT2 == atT3 {
		t.Fatalf("the points do not differ: %s / %s / %s", atBase, atT2, atT3)
	}
	site.lose() // the disaster: only the storage is left

	manifest := base.StoragePath + ".manifest.json"
	t.Run("base alone, checked", func(t *testing.T) {
		dir := newTargetDir(t)
		code, out, errOut := site.restore(manifest, "--target-dir", dir, "--check")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		if !strings.Contains(out, "restored physical backup "+base.ID) || !strings.Contains(out, "check: database app answers: 1 tables, 3 rows") ||
			!strings.Contains(errOut, "VERIFY: base backup intact") || strings.Contains(errOut, site.key) {
			t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
		}
		if got := restoredPG(t, dir); got != atBase {
			t.Errorf("restored %s, want the base's %s", got, atBase)
		}
		// A base backup given --to: pointed at --target-dir.
		code, _, errOut = site.restore(manifest, "--to", dbURL("postgres", srv, "app"))
		if code != 1 || !strings.Contains(errOut, "use --target-dir DIR instead of --to") {
			t.Errorf("a base backup with --to: exit %d\n%s", code, errOut)
		}
		// The same directory again: refused before anything is read.
		code, _, errOut = site.restore(manifest, "--target-dir", dir)
		if code != 1 || !strings.Contains(errOut, "target dir "+dir+" is not empty") {
			t.Errorf("into a non-empty dir: exit %d\n%s", code, errOut)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"to-time", []string{"--to-time", t2.UTC().Format(time.RFC3339Nano)}, atT2},
		{"to-lsn", []string{"--to-lsn", lsn}, atT2},
		{"latest", []string{"--latest", "--check"}, atT3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newTargetDir(t)
			code, out, errOut := site.restore(append([]string{logical.StoragePath, "--target-dir", dir}, tc.args...)...)
			if code != 1 || !strings.Contains(errOut, "is a logical dump") {
				t.Fatalf("a logical dump with --target-dir: exit %d\n%s", code, errOut)
			}
			code, out, errOut = site.restore(append([]string{manifest, "--target-dir", dir}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, errOut)
			}
			if !strings.Contains(errOut, "archived WAL segments intact") || !strings.Contains(out, "restored physical backup "+base.ID) {
				t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
			}
			if got := restoredPG(t, dir); got != tc.want {
				t.Errorf("restored %s, want %s", got, tc.want)
			}
		})
	}

	t.Run("archive on another storage", func(t *testing.T) {
		other := t.TempDir()
		if err := os.Rename(filepath.Join(site.storage, "wal"), filepath.Join(other, "wal")); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := os.Rename(filepath.Join(other, "wal"), filepath.Join(site.storage, "wal")); err != nil {
				t.Fatal(err)
			}
		}()
		dir := newTargetDir(t)
		code, _, errOut := site.restore(manifest, "--target-dir", dir, "--latest")
		if code != 1 || !strings.Contains(errOut, "no archived WAL under wal/phys/") {
			t.Errorf("without the archive: exit %d\n%s", code, errOut)
		}
		code, _, errOut = site.restore(manifest, "--target-dir", dir, "--latest", "--archive-storage", "local:"+other)
		if code != 0 {
			t.Fatalf("with --archive-storage: exit %d\n%s", code, errOut)
		}
		if got := restoredPG(t, dir); got != atT3 {
			t.Errorf("restored %s, want %s", got, atT3)
		}
	})

	t.Run("no base before the point", func(t *testing.T) {
		dir := newTargetDir(t)
		before := base.CreatedAt.Add(-time.Hour).UTC().Format(time.RFC3339)
		code, _, errOut := site.restore(manifest, "--target-dir", dir, "--to-time", before)
		if code != 1 || !strings.Contains(errOut, "no physical base backup of connection phys") {
			t.Errorf("exit %d\n%s", code, errOut)
		}
	})

	t.Run("missing WAL segment", func(t *testing.T) {
		segs, err := filepath.Glob(filepath.Join(walDir, "*.manifest.json"))
		if err != nil || len(segs) < 3 {
			t.Fatalf("archived WAL: %v, %v", segs, err)
		}
		// A segment the restore needs (from the base's start on), not the last.
		start, err := pgwal.ParseLSN(base.Physical.StartLSN)
		if err != nil {
			t.Fatal(err)
		}
		first := pgwal.SegmentOf(uint32(base.Physical.Timeline), start).Name()
		var gone string
		for _, m := range segs {
			if name := strings.SplitN(filepath.Base(m), ".", 2)[0]; name >= first && name < seg {
				gone = name
			}
		}
		if gone == "" {
			t.Fatalf("no archived segment between %s and %s: %v", first, seg, segs)
		}
		objs, _ := filepath.Glob(filepath.Join(walDir, gone+"*"))
		for _, o := range objs {
			if !strings.HasSuffix(o, ".manifest.json") {
				if err := os.Remove(o); err != nil {
					t.Fatal(err)
				}
			}
		}
		dir := newTargetDir(t)
		code, _, errOut := site.restore(manifest, "--target-dir", dir, "--latest")
		if code != 1 || !strings.Contains(errOut, "WAL segment "+gone) {
			t.Errorf("with %s's object deleted: exit %d\n%s", gone, code, errOut)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("the refused restore created %s: %v", dir, err)
		}
	})
}

// requireTools fails under CI=true and skips otherwise when a tool is missing.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed (CI=true, so this fails): %v", tool, err)
			}
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
}

// itemsFingerprint is the content of shop.items on a MariaDB server.
func itemsFingerprint(t *testing.T, db *sql.DB) string {
	t.Helper()
	var s sql.NullString
	if err := db.QueryRow("SELECT GROUP_CONCAT(CONCAT_WS(':', id, name, qty) ORDER BY id SEPARATOR ',') FROM items").Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s.String
}

// restoredMaria starts a throwaway mariadbd on a restored data directory
// and fingerprints shop.items.
func restoredMaria(t *testing.T, dir string) string {
	t.Helper()
	srv, err := mariaphys.StartServer(context.Background(), mariaphys.ServerOptions{Datadir: dir, SkipGrants: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	db := srv.DB("root", "", "shop")
	defer db.Close()
	return itemsFingerprint(t, db)
}

// TestOfflineRestoreMariaChain: with the daemon's data dir gone, `jagad
// restore --target-dir` restores each point of a full + 2 incrementals
// chain (found through the manifests), and a point in time from the
// archived binary logs; a missing link is named and nothing is written.
func TestOfflineRestoreMariaChain(t *testing.T) {
	requireTools(t, "mariadb-backup", "mbstream", "mariadb-install-db", "mariadb-binlog", "mariadb")
	const pw = `Off pw:"x'#;`
	base, err := os.MkdirTemp("", "jagad-offline-maria-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil { // mariadbd runs as mysql under root
		t.Fatal(err)
	}
	srv, err := mariaphys.StartFresh(context.Background(), base, pw, true)
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
	db := srv.DB("root", "", "shop")
	defer db.Close()
	run := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}

	site := newOfflineSite(t, func(o *engine.Options) {
		o.BinlogArchive = engine.BinlogArchiveOptions{SpoolDir: t.TempDir(), PollEvery: 50 * time.Millisecond, MaxBackoff: time.Second}
	})
	c, dbs := site.connection(state.ConnectionSpec{Name: "maria", DBType: "mariadb", Host: "127.0.0.1", Port: srv.Port,
		Username: "root", Password: state.Secret(pw), SSLMode: "disable",
		Physical:      &state.PhysicalSpec{Datadir: srv.Datadir},
		BinlogArchive: &state.BinlogArchiveSpec{Enabled: true, Storage: "local"}}, "shop")
	shop := dbs["shop"]
	current := func() string {
		var file string
		var pos int64
		var a, b []byte
		if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &a, &b); err != nil {
			t.Fatal(err)
		}
		return file
	}

	run("INSERT INTO items VALUES (1, 'full', 1), (2, 'full', 2)")
	full := site.backup(c, shop, engine.TypePhysical)
	fp0 := itemsFingerprint(t, db)
	run("INSERT INTO items VALUES (3, 'incr1', 3)", "UPDATE items SET qty = 20 WHERE id = 2")
	incr1 := site.backup(c, shop, engine.TypeIncremental)
	fp1 := itemsFingerprint(t, db)
	run("DELETE FROM items WHERE id = 1", "INSERT INTO items VALUES (4, 'incr2', 4)")
	incr2 := site.backup(c, shop, engine.TypeIncremental)
	fp2 := itemsFingerprint(t, db)
	if incr1.ParentID != full.ID || incr2.ParentID != incr1.ID || full.BinlogFile == "" || incr2.EncryptionAlgo == "" {
		t.Fatalf("chain: %s <- %s (parent %s) <- %s (parent %s), binlog %q, encryption %q",
			full.ID, incr1.ID, incr1.ParentID, incr2.ID, incr2.ParentID, full.BinlogFile, incr2.EncryptionAlgo)
	}
	// T1 spans binary logs; the target is the second after it, T2 (destructive) a second later.
	run("FLUSH BINARY LOGS", "INSERT INTO items VALUES (5, 't1', 5)", "FLUSH BINARY LOGS", "UPDATE items SET qty = 99 WHERE id = 3")
	fpT1 := itemsFingerprint(t, db)
	target := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(target.Add(1100 * time.Millisecond)))
	run("DELETE FROM items WHERE id > 2", "UPDATE items SET name = 'oops'")
	last := current()
	run("FLUSH BINARY LOGS")
	waitFor(t, 2*time.Minute, "binary log "+last+" archived", func() bool {
		_, err := os.Stat(filepath.Join(site.storage, "binlogs", "maria", last+engine.BinlogObjectSuffix))
		return err == nil
	})
	for i, fp := range []string{fp0, fp1, fp2, fpT1} {
		for _, other := range []string{fp0, fp1, fp2, fpT1}[i+1:] {
			if fp == other {
				t.Fatalf("two points have the same content: %s", fp)
			}
		}
	}
	site.lose() // the disaster: only the storage is left

	for _, tc := range []struct {
		b    state.Backup
		want string
	}{{full, fp0}, {incr1, fp1}, {incr2, fp2}} {
		dir := newTargetDir(t)
		code, out, errOut := site.restore(tc.b.StoragePath, "--target-dir", dir)
		if code != 0 {
			t.Fatalf("restore %s: exit %d\n%s", tc.b.ID, code, errOut)
		}
		if !strings.Contains(errOut, "CHAIN: restored") || !strings.Contains(out, tc.b.ID) {
			t.Errorf("restore %s: stdout:\n%s\nstderr:\n%s", tc.b.ID, out, errOut)
		}
		if got := restoredMaria(t, dir); got != tc.want {
			t.Errorf("restore of %s: %s, want %s", tc.b.ID, got, tc.want)
		}
	}

	t.Run("point in time, checked", func(t *testing.T) {
		dir := newTargetDir(t)
		code, out, errOut := site.restore(full.StoragePath+".manifest.json", "--target-dir", dir,
			"--to-time", target.UTC().Format(time.RFC3339), "--check")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		if !strings.Contains(out, "(3 links: "+full.ID+", "+incr1.ID+", "+incr2.ID+")") ||
			!strings.Contains(out, "check: database shop answers: 1 tables, 4 rows") || !strings.Contains(errOut, "PITR: ") {
			t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
		}
		if got := restoredMaria(t, dir); got != fpT1 {
			t.Errorf("restored to %s: %s, want the T1 rows %s", target.Format(time.RFC3339), got, fpT1)
		}
	})

	t.Run("refused", func(t *testing.T) {
		dir := newTargetDir(t)
		code, _, errOut := site.restore(incr2.StoragePath, "--target-dir", dir, "--to-lsn", "0/1")
		if code != 1 || !strings.Contains(errOut, "--to-lsn and --latest are for PostgreSQL") {
			t.Errorf("--to-lsn: exit %d\n%s", code, errOut)
		}
		if code, _, errOut = site.restore(incr2.StoragePath, "--target-dir", dir, "--to-time", full.CreatedAt.Add(-time.Hour).Format(time.RFC3339)); code != 1 ||
			!strings.Contains(errOut, "no physical backup of connection maria with binary log coordinates") {
			t.Errorf("--to-time before the full: exit %d\n%s", code, errOut)
		}
		if code, _, errOut = site.restore(incr2.StoragePath, "--target-dir", dir, "--to", "mysql://root@127.0.0.1/shop"); code != 2 {
			t.Errorf("--to with --target-dir: exit %d\n%s", code, errOut)
		}
		// The middle link's object is gone: named, nothing written.
		if err := os.Remove(filepath.Join(site.storage, incr1.StoragePath)); err != nil {
			t.Fatal(err)
		}
		code, _, errOut = site.restore(incr2.StoragePath, "--target-dir", dir)
		if code != 1 || !strings.Contains(errOut, "link 2 (incremental "+incr1.ID+") failed its check, nothing was written") {
			t.Errorf("with the object of %s gone: exit %d\n%s", incr1.ID, code, errOut)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("the refused restore created %s: %v", dir, err)
		}
		// Its manifest too: the chain cannot be followed.
		if err := os.Remove(filepath.Join(site.storage, incr1.StoragePath+".manifest.json")); err != nil {
			t.Fatal(err)
		}
		code, _, errOut = site.restore(incr2.StoragePath, "--target-dir", dir)
		if code != 1 || !strings.Contains(errOut, "parent "+incr1.ID+" of "+incr2.ID+" is missing") {
			t.Errorf("with %s gone: exit %d\n%s", incr1.ID, code, errOut)
		}
	})
}

// The flag combinations `jagad restore` refuses as usage errors (exit 2)
// before opening anything.
func TestOfflineRestoreUsage(t *testing.T) {
	dir := t.TempDir()
	local := []string{"restore", "--storage-type", "local", "--path", dir, "key"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "give --to URL (a logical dump) or --target-dir DIR"},
		{[]string{"--to", "postgres://u@h/db", "--target-dir", "/x"}, "exclude each other"},
		{[]string{"--to", "postgres://u@h/db", "--latest"}, "are for physical backups"},
		{[]string{"--target-dir", "/x", "--latest", "--to-lsn", "0/1"}, "at most one of"},
		{[]string{"--target-dir", "/x", "--single-pass"}, "are for logical dumps"},
		{[]string{"--target-dir", "/x", "--fallback-storage", "local:" + dir}, "are for logical dumps"},
		{[]string{"--target-dir", "/x", "--to-time", "yesterday"}, "--to-time"},
	} {
		code, _, errOut := runCLI(t, nil, append(local, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q (want %q)", tc.args, code, errOut, tc.want)
		}
	}
	// A relative --target-dir is refused before the storage is read.
	code, _, errOut := runCLI(t, nil, append(local, "--target-dir", "rel")...)
	if code != 1 || !strings.Contains(errOut, "--target-dir must be an absolute path") {
		t.Errorf("relative --target-dir: exit %d, stderr %q", code, errOut)
	}
}
