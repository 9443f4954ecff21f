package engine

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/state"

	"github.com/jagad/jagad/state/logbuf"
)

// crashEnv makes TestCrashRecovery run as the crashing daemon (crashChild):
// "<data dir>|<connection id>|<database id>|<provider id>".
const crashEnv = "JAGAD_TEST_CRASH_CHILD"

// crashChild is the daemon of TestCrashRecovery, run in a re-executed test
// binary: it opens the store, starts a backup and waits to be killed.
func crashChild(t *testing.T, spec string) {
	f := strings.Split(spec, "|")
	eng := newHarness(t, withDir(f[0]), withLogTo(os.Stderr)).eng
	b, err := eng.StartBackup(context.Background(), BackupRequest{ConnectionID: f[1], DatabaseID: f[2], StorageProviderID: f[3]})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("STARTED " + b.ID + "\n")
	time.Sleep(2 * time.Minute) // the parent kills us long before
	t.Fatal("not killed")
}

func s3Spec(c storage.Config) state.ProviderSpec {
	return state.ProviderSpec{Name: "s3", ProviderType: c.Type, Endpoint: c.Endpoint, Region: c.Region,
		Bucket: c.Bucket, AccessKey: c.AccessKey, SecretKey: state.Secret(c.SecretKey), PathStyle: c.PathStyle}
}

// TestCrashRecovery kills the daemon with SIGKILL mid-upload (after the
// partial object exists: a local temp file, an S3 multipart upload), restarts
// an engine on the same data dir and proves the backup is marked failed with
// a RECOVERY log line and nothing of it is left in storage.
func TestCrashRecovery(t *testing.T) {
	if spec := os.Getenv(crashEnv); spec != "" {
		crashChild(t, spec)
		return
	}
	pg := dbtest.Postgres(t)
	dbName := bulkDB(t, pg, 12)
	for _, tc := range []struct {
		name string
		spec func(t *testing.T) state.ProviderSpec
	}{
		{"local", func(t *testing.T) state.ProviderSpec {
			return state.ProviderSpec{Name: "local", ProviderType: "local", Path: t.TempDir()}
		}},
		{"s3", func(t *testing.T) state.ProviderSpec { return s3Spec(s3test.StartFake(t)) }},
		{"versitygw", func(t *testing.T) state.ProviderSpec { return s3Spec(s3test.StartVersity(t)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, scratch := t.TempDir(), t.TempDir()
			pidFile, mark := filepath.Join(scratch, "pid"), filepath.Join(scratch, "mark")
			// 10 MB through (more than one 8 MiB part), then stall.
			wrapper := wrapTool(t, "pg_dump", "echo $$ > "+shellQuote(pidFile)+"\n"+
				`"$REAL" "$@" | { head -c 10000000; touch `+shellQuote(mark)+`; sleep 60; cat; }`)
			spec := tc.spec(t)
			ids := seedCrashStore(t, dir, pg, dbName, spec, wrapper)
			st, err := storage.Open(providerConfig(state.Provider{ProviderSpec: spec}))
			if err != nil {
				t.Fatal(err)
			}

			child, id := startCrashProc(t, "TestCrashRecovery", crashEnv, dir, ids, pidFile)
			waitFile(t, mark)
			waitIncomplete(t, st, &child.stderr)
			child.kill(t) // and the dump, which ran in its own process group

			// Another daemon writing to the same storage must keep its
			// upload through our recovery.
			other := startForeignPut(t, spec)
			h := newHarness(t, withDir(dir)) // the daemon restarts
			eng, store := h.eng, h.store
			var b state.Backup
			if err := store.View(func(tx *state.Tx) (err error) { b, err = state.Get[state.Backup](tx, id); return err }); err != nil {
				t.Fatalf("backup record lost in the crash: %v", err)
			}
			if b.Status != state.StatusFailed || !strings.Contains(b.LogOutput, "RECOVERY:") || b.CompletedAt == nil {
				t.Fatalf("after restart: status %s, completed %v; log:\n%s", b.Status, b.CompletedAt, b.LogOutput)
			}
			t.Logf("recovered record log:\n%s", b.LogOutput)
			if !Interrupted(b) {
				t.Error("a backup stopped by the crash is not Interrupted: a cluster's catch-up would not run its slot again")
			}
			if n := testutil.ToFloat64(eng.metrics.backups.WithLabelValues(scheduleLabel(b.ScheduleName), b.DBType, b.BackupType, state.StatusFailed)); n != 1 {
				t.Errorf("jagad_backups_total{status=failed} after recovery = %v, want 1", n)
			}
			if b.StoragePath == "" {
				t.Error("the record never got its object key before the upload started")
			}
			st2, err := eng.stores.open(mustProvider(t, store, ids.provider))
			if err != nil {
				t.Fatal(err)
			}
			other.finish(t)
			assertNoLeftovers(t, st2, b)
			if all, err := st.List(testCtx(t), ""); err != nil || len(all) != 1 || all[0].Key != other.key {
				t.Errorf("storage after recovery: %v, %v; want only %s", all, err, other.key)
			}
		})
	}
}

// crashIDs are the records the crash child backs up.
type crashIDs struct{ conn, db, provider string }

// seedCrashStore writes the provider, connection, database and settings of
// the crash test into a new store in dir and closes it.
func seedCrashStore(t *testing.T, dir string, srv *dbtest.Server, db string, spec state.ProviderSpec, wrapper string) crashIDs {
	t.Helper()
	st, err := state.Open(state.Options{Dir: dir, MasterKey: harnessKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	p := state.Provider{Meta: state.Meta{ID: state.NewID(state.KindProvider), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now}, ProviderSpec: spec}
	c := state.Connection{
		Meta: state.Meta{ID: state.NewID(state.KindConnection), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ConnectionSpec: state.ConnectionSpec{Name: "pg", DBType: srv.DBType, Host: srv.Host, Port: srv.Port,
			Username: srv.User, Password: state.Secret(srv.Password), SSLMode: "disable"},
	}
	d := state.Database{ID: state.DerivedID(state.KindDatabase, c.ID+"/"+db), ConnectionID: c.ID, DBName: db,
		IsSelected: true, ManagedBy: state.ManagedByAPI, CreatedAt: now}
	err = st.Update(func(tx *state.Tx) error {
		if err := state.Put(tx, p); err != nil {
			return err
		}
		if err := state.Put(tx, c); err != nil {
			return err
		}
		if err := state.Put(tx, d); err != nil {
			return err
		}
		s, err := tx.Settings()
		if err != nil {
			return err
		}
		s.Values["compression"] = "none"
		s.Values["pg_dump_path"] = wrapper
		return tx.PutSettings(s)
	})
	if err != nil {
		t.Fatal(err)
	}
	return crashIDs{conn: c.ID, db: d.ID, provider: p.ID}
}

// crashProc is this test binary run again as the daemon a test kills with
// SIGKILL; the tool it runs writes its pid (a process group leader's) to
// pidFile.
type crashProc struct {
	cmd     *exec.Cmd
	stderr  logbuf.Buffer
	pidFile string
	killed  bool
}

// startCrashProc runs test in a child process with env set to
// "<data dir>|<connection>|<database>|<provider>" and returns it with the id
// of the job it printed as started. A child still running at cleanup is
// killed, and so is its tool's process group.
func startCrashProc(t *testing.T, test, env, dir string, ids crashIDs, pidFile string) (*crashProc, string) {
	t.Helper()
	c := &crashProc{pidFile: pidFile}
	c.cmd = exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v")
	c.cmd.Env = append(os.Environ(), env+"="+strings.Join([]string{dir, ids.conn, ids.db, ids.provider}, "|"))
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !c.killed {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
		killGroup(t, pidFile)
	})
	return c, readStarted(t, out, &c.stderr)
}

// kill kills the child with SIGKILL, waits for it, then kills its tool's
// process group.
func (c *crashProc) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
	c.killed = true
	killGroup(t, c.pidFile)
}

// readStarted reads the backup id the child prints.
func readStarted(t *testing.T, out io.Reader, stderr *logbuf.Buffer) string {
	t.Helper()
	ids := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "STARTED "); ok {
				ids <- id
			}
		}
		close(ids)
	}()
	select {
	case id, ok := <-ids:
		if !ok {
			t.Fatalf("child exited without starting a backup:\n%s", stderr.String())
		}
		return id
	case <-time.After(30 * time.Second):
		t.Fatalf("child did not start a backup:\n%s", stderr.String())
	}
	return ""
}

// waitIncomplete waits until st holds an interrupted-upload leftover.
func waitIncomplete(t *testing.T, st storage.Store, stderr *logbuf.Buffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		inc, err := st.(storage.IncompleteLister).Incomplete(testCtx(t), "backups/")
		if err != nil {
			t.Fatal(err)
		}
		if len(inc) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no partial upload appeared in %s; child:\n%s", st, stderr.String())
}

// killGroup kills the process group whose leader's pid is in pidFile.
func killGroup(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

func mustProvider(t *testing.T, store *state.Store, id string) state.Provider {
	t.Helper()
	var p state.Provider
	if err := store.View(func(tx *state.Tx) (err error) { p, err = state.Get[state.Provider](tx, id); return err }); err != nil {
		t.Fatal(err)
	}
	return p
}

// foreignPut is an upload in flight from another process's store.
type foreignPut struct {
	key  string
	pw   *io.PipeWriter
	done chan error
}

// startForeignPut starts a Put through a store of its own, feeds it more
// than one S3 part and leaves it waiting for the rest.
func startForeignPut(t *testing.T, spec state.ProviderSpec) *foreignPut {
	t.Helper()
	st, err := storage.Open(providerConfig(state.Provider{ProviderSpec: spec}))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	f := &foreignPut{key: "backups/other-daemon/db/foreign.sql", pw: pw, done: make(chan error, 1)}
	go func() {
		_, err := st.Put(context.Background(), f.key, pr)
		pr.CloseWithError(err)
		f.done <- err
	}()
	t.Cleanup(func() { pw.CloseWithError(errors.New("test over")) })
	if _, err := pw.Write(make([]byte, 9<<20)); err != nil {
		t.Fatalf("foreign put: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		inc, err := st.(storage.IncompleteLister).Incomplete(testCtx(t), "backups/other-daemon/")
		if err == nil && len(inc) == 1 {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("foreign put not in flight: %v %v", inc, err)
		}
	}
}

// finish completes the foreign upload; it must still succeed.
func (f *foreignPut) finish(t *testing.T) {
	t.Helper()
	if _, err := f.pw.Write([]byte("tail")); err != nil {
		t.Fatalf("foreign upload was cut off by recovery: %v", err)
	}
	f.pw.Close()
	if err := <-f.done; err != nil {
		t.Fatalf("foreign upload failed after recovery: %v", err)
	}
}
