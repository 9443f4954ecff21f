package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/state"
)

// BenchmarkRestorePostgres compares, on the same PostgreSQL database:
//   - pg_restore of a local uncompressed custom-format file (the baseline,
//     CREATE DATABASE included);
//   - a Jagad restore through the API path (zstd, encrypted, local storage,
//     verify pass + restore pass);
//   - the same restore in a single pass (no verification pass), to show what
//     the verification pass costs;
//   - the verification pass alone, as restores run it (checksums and
//     decryption) and with decompression as well.
//
// Rows of the realistic "events" table: JAGAD_BENCH_ROWS (default 300000,
// about a 45 MB dump). Run: go test -run '^$' -bench RestorePostgres -benchtime 1x ./engine/
func BenchmarkRestorePostgres(b *testing.B) {
	srv := dbtest.Postgres(b)
	rows := 300000
	if v, err := strconv.Atoi(os.Getenv("JAGAD_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	bb := newBenchEngine(b)
	src := srv.CreateDB(b, "bench")
	srv.Exec(b, src, fmt.Sprintf(benchDataset, rows))
	srv.Exec(b, src, "VACUUM ANALYZE events")
	conn := bb.add(b, srv)
	bb.setCompression(b, "zstd")
	bk := bb.backup(b, conn, src)
	plain := filepath.Join(b.TempDir(), "dump.pgdump")
	bb.writePlain(b, bk, plain)
	b.Logf("dataset: %d rows, dump %d bytes, stored %d bytes (zstd, encrypted)", rows, bk.SizeBytes, bk.StoredSizeBytes)

	var base, twoPass, onePass, direct, check, checkFull time.Duration
	for i := 0; b.Loop(); i++ {
		db := fmt.Sprintf("%s_b%d", src, i)
		base += benchTime(b, srv, db+"_pg", func(t dbclient.Target) error { return benchPgRestore(srv, t.Database, plain) })
		twoPass += benchTime(b, srv, db+"_2p", func(t dbclient.Target) error { return bb.restoreAPI(b, bk, conn, t.Database) })
		onePass += benchTime(b, srv, db+"_1p", func(t dbclient.Target) error { return bb.restoreSinglePass(b, bk, conn, t, false) })
		direct += benchTime(b, srv, db+"_d2", func(t dbclient.Target) error { return bb.restoreSinglePass(b, bk, conn, t, true) })
		start := time.Now()
		bb.check(b, bk, false)
		check += time.Since(start)
		start = time.Now()
		bb.check(b, bk, true)
		checkFull += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(base.Seconds()/n, "pg_restore-s")
	b.ReportMetric(twoPass.Seconds()/n, "jagad-s")
	b.ReportMetric(onePass.Seconds()/n, "jagad-single-pass-s")
	b.ReportMetric(direct.Seconds()/n, "jagad-two-pass-no-api-s")
	b.ReportMetric(check.Seconds()/n, "verify-pass-s")
	b.ReportMetric(checkFull.Seconds()/n, "verify-pass-decompressing-s")
	b.ReportMetric(twoPass.Seconds()/base.Seconds(), "jagad/pg_restore")
	b.ReportMetric(onePass.Seconds()/base.Seconds(), "single-pass/pg_restore")
}

const benchDataset = `CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, qty int NOT NULL,
  digest text NOT NULL, amount numeric(12,2) NOT NULL, status text NOT NULL, note text NOT NULL);
INSERT INTO events SELECT g, timestamptz '2024-01-01 00:00:00+00' + random() * interval '365 days',
  (random() * 100000)::int, md5(g::text || random()::text), round((random() * 100000)::numeric, 2),
  (ARRAY['new','pending','paid','shipped','cancelled','refunded'])[1 + floor(random() * 6)::int],
  array_to_string(ARRAY(SELECT w.words[1 + floor(random() * array_length(w.words, 1))::int]
    FROM generate_series(1, 3 + (g %% 9))), ' ')
FROM generate_series(1, %d) AS g,
  (SELECT ARRAY['alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel','india','juliet','kilo','lima',
    'mike','november','oscar','papa','quebec','romeo','sierra','tango','uniform','victor','whiskey','xray',
    'yankee','zulu','order','invoice','customer','shipment','warehouse','payment','refund','account','ledger',
    'balance','transfer','report','pending','approved','rejected','urgent','routine','north','south','east',
    'west','central','backup','restore'] AS words) AS w;`

// benchTime times fn restoring into database db, which is dropped after.
func benchTime(b *testing.B, srv *dbtest.Server, db string, fn func(dbclient.Target) error) time.Duration {
	b.Helper()
	t := srv.Target(db)
	start := time.Now()
	if err := fn(t); err != nil {
		b.Fatalf("restore into %s: %v", db, err)
	}
	d := time.Since(start)
	b.StopTimer()
	if err := dbclient.DropDatabase(context.Background(), srv.Target(""), db); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	return d
}

// benchPgRestore creates db and runs pg_restore on a local file with the
// flags Jagad uses.
func benchPgRestore(srv *dbtest.Server, db, file string) error {
	ctx := context.Background()
	if err := dbclient.CreateDatabase(ctx, srv.Target(""), db); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
		"-h", srv.Host, "-p", strconv.Itoa(srv.Port), "-U", srv.User, "-d", db, file)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+srv.Password)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// benchEngine is an engine on a temp store for benchmarks (the harness
// needs a *testing.T).
type benchEngine struct {
	eng   *Engine
	store *state.Store
	prov  state.Provider
}

func newBenchEngine(b *testing.B) *benchEngine {
	b.Helper()
	st, err := state.Open(state.Options{Dir: b.TempDir(), MasterKey: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	k, _ := crypt.GenerateKey()
	kr, err := crypt.NewKeyring("k1", map[string]string{"k1": k}, "")
	if err != nil {
		b.Fatal(err)
	}
	eng, err := New(Options{Store: st, Keys: func() (*crypt.Keyring, error) { return kr, nil }})
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	bb := &benchEngine{eng: eng, store: st}
	b.Cleanup(func() {
		_ = eng.Shutdown(context.Background())
		_ = st.Close()
	})
	bb.prov = state.Provider{Meta: state.Meta{ID: state.NewID(state.KindProvider), CreatedAt: time.Now()},
		ProviderSpec: state.ProviderSpec{Name: "local", ProviderType: "local", Path: b.TempDir(), IsDefault: true}}
	bb.put(b, func(tx *state.Tx) error { return state.Put(tx, bb.prov) })
	return bb
}

func (bb *benchEngine) put(b *testing.B, fn func(*state.Tx) error) {
	b.Helper()
	if err := bb.store.Update(fn); err != nil {
		b.Fatal(err)
	}
}

func (bb *benchEngine) add(b *testing.B, srv *dbtest.Server) state.Connection {
	c := state.Connection{Meta: state.Meta{ID: state.NewID(state.KindConnection), CreatedAt: time.Now()},
		ConnectionSpec: state.ConnectionSpec{Name: "pg", DBType: srv.DBType, Host: srv.Host, Port: srv.Port,
			Username: srv.User, Password: state.Secret(srv.Password), SSLMode: "disable"}}
	bb.put(b, func(tx *state.Tx) error { return state.Put(tx, c) })
	return c
}

func (bb *benchEngine) setCompression(b *testing.B, comp string) {
	bb.put(b, func(tx *state.Tx) error {
		s, err := tx.Settings()
		if err != nil {
			return err
		}
		s.Values["compression"] = comp
		return tx.PutSettings(s)
	})
}

func (bb *benchEngine) backup(b *testing.B, c state.Connection, db string) state.Backup {
	d := state.Database{ID: state.DerivedID(state.KindDatabase, c.ID+"/"+db), ConnectionID: c.ID, DBName: db, IsSelected: true}
	bb.put(b, func(tx *state.Tx) error { return state.Put(tx, d) })
	enc := true
	bk, err := bb.eng.StartBackup(context.Background(), BackupRequest{ConnectionID: c.ID, DatabaseID: d.ID, Encrypt: &enc})
	if err != nil {
		b.Fatal(err)
	}
	for bk.Status != state.StatusSuccess {
		if bk.Status == state.StatusFailed {
			b.Fatalf("backup failed:\n%s", bk.LogOutput)
		}
		time.Sleep(50 * time.Millisecond)
		if bk, err = bb.eng.getBackup(bk.ID); err != nil {
			b.Fatal(err)
		}
	}
	return bk
}

// writePlain writes the backup's raw dump to a local file.
func (bb *benchEngine) writePlain(b *testing.B, bk state.Backup, path string) {
	kr, _ := bb.eng.opts.Keys()
	st, _ := bb.eng.stores.open(bb.prov)
	d, err := objfmt.OpenDump(context.Background(), st, objfmt.SpecOf(bk), objfmt.Keys{Ring: kr})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, d); err != nil {
		b.Fatal(err)
	}
}

// check is the verification pass alone (decompressing or not).
func (bb *benchEngine) check(b *testing.B, bk state.Backup, decompress bool) {
	kr, _ := bb.eng.opts.Keys()
	st, _ := bb.eng.stores.open(bb.prov)
	if _, err := objfmt.CheckObject(context.Background(), st, objfmt.SpecOf(bk), objfmt.Keys{Ring: kr}, decompress); err != nil {
		b.Fatal(err)
	}
}

func (bb *benchEngine) restoreAPI(b *testing.B, bk state.Backup, c state.Connection, db string) error {
	r, err := bb.eng.Restore(context.Background(), bk.ID, RestoreRequest{TargetConnection: c.ID, TargetDatabase: db})
	if err != nil {
		return err
	}
	for r.Status == state.StatusRunning {
		time.Sleep(10 * time.Millisecond)
		if err := bb.store.View(func(tx *state.Tx) (err error) { r, err = state.Get[state.Restore](tx, r.ID); return err }); err != nil {
			return err
		}
	}
	if r.Status != state.StatusSuccess {
		return fmt.Errorf("restore %s:\n%s", r.Status, r.LogOutput)
	}
	b.Logf("API restore: %d ms recorded; %s", r.DurationMs, firstLine(r.LogOutput, "VERIFY: object intact"))
	return nil
}

func firstLine(log, prefix string) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func (bb *benchEngine) restoreSinglePass(b *testing.B, bk state.Backup, c state.Connection, t dbclient.Target, verifyFirst bool) error {
	kr, _ := bb.eng.opts.Keys()
	st, _ := bb.eng.stores.open(bb.prov)
	return restoreStream(context.Background(), streamRestore{st: st, spec: objfmt.SpecOf(bk), keys: objfmt.Keys{Ring: kr},
		target: connTarget(c, t.Database), verifyFirst: verifyFirst, log: &lineLog{w: io.Discard}})
}
