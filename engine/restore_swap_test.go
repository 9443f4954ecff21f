package engine

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/state"
)

// restoreCrashEnv makes TestRestoreDropExistingKilled run as the daemon that
// is killed (restoreCrashChild): "<data dir>|<connection>|<database>|<provider>".
const restoreCrashEnv = "JAGAD_TEST_RESTORE_CRASH_CHILD"

// restoreCrashChild backs the database up, starts a drop_existing restore
// of it into itself and waits to be killed.
func restoreCrashChild(t *testing.T, spec string) {
	f := strings.Split(spec, "|")
	h := newHarness(t, withDir(f[0]), withLogTo(os.Stderr))
	eng, st := h.eng, h.store
	b, err := eng.StartBackup(context.Background(), BackupRequest{ConnectionID: f[1], DatabaseID: f[2], StorageProviderID: f[3]})
	if err != nil {
		t.Fatal(err)
	}
	for b.Status == state.StatusRunning || b.Status == state.StatusQueued {
		time.Sleep(20 * time.Millisecond)
		if err := st.View(func(tx *state.Tx) (err error) { b, err = state.Get[state.Backup](tx, b.ID); return err }); err != nil {
			t.Fatal(err)
		}
	}
	if b.Status != state.StatusSuccess {
		t.Fatalf("backup %s:\n%s", b.Status, b.LogOutput)
	}
	r, err := eng.Restore(context.Background(), b.ID, RestoreRequest{DropExisting: true})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("STARTED " + r.ID + "\n")
	time.Sleep(2 * time.Minute) // the parent kills us long before
	t.Fatal("not killed")
}

// TestRestoreDropExistingKilled kills the daemon (SIGKILL) while the restore
// tool of a drop_existing restore runs into a target that has rows. The
// target must still have them after the restart, nothing the restore made
// may be left on the server, and a drop_existing restore afterwards must
// replace the target's content (a table the dump lacks is gone).
func TestRestoreDropExistingKilled(t *testing.T) {
	if spec := os.Getenv(restoreCrashEnv); spec != "" {
		restoreCrashChild(t, spec)
		return
	}
	for _, dbType := range []string{dbclient.PostgreSQL, dbclient.MariaDB} {
		t.Run(dbType, func(t *testing.T) {
			srv := rsServer(t, dbType)
			target := rsSmall(t, srv, "killed", 5000)
			if dbType == dbclient.PostgreSQL {
				srv.Exec(t, target, "CREATE VIEW first_items AS SELECT * FROM items WHERE id <= 10")
			} else {
				srv.Exec(t, target, "CREATE VIEW first_items AS SELECT * FROM items WHERE id <= 10;"+
					"CREATE TABLE log (id int AUTO_INCREMENT PRIMARY KEY, item int);"+
					"CREATE TRIGGER items_log AFTER INSERT ON items FOR EACH ROW INSERT INTO log (item) VALUES (NEW.id)")
			}
			want := srv.Checksum(t, target)

			dir, scratch := t.TempDir(), t.TempDir()
			pidFile, mark := filepath.Join(scratch, "pid"), filepath.Join(scratch, "mark")
			ids := seedCrashStore(t, dir, srv, target, state.ProviderSpec{Name: "local", ProviderType: "local", Path: t.TempDir()}, "")
			toolKey, tool := "pg_restore_path", "pg_restore"
			if dbType != dbclient.PostgreSQL {
				toolKey, tool = "mysql_path", "mysql"
			}
			// The tool gets the first bytes of the dump, then its input stalls.
			wrapper := wrapTool(t, tool, "echo $$ > "+shellQuote(pidFile)+"\n"+
				`{ head -c 3000; touch `+shellQuote(mark)+`; sleep 60; cat; } | "$REAL" "$@"`)
			setStoreSetting(t, dir, toolKey, wrapper)

			child := exec.Command(os.Args[0], "-test.run=^TestRestoreDropExistingKilled$", "-test.v")
			child.Env = append(os.Environ(), restoreCrashEnv+"="+strings.Join([]string{dir, ids.conn, ids.db, ids.provider}, "|"))
			var stderr syncBuffer
			child.Stderr = &stderr
			out, err := child.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			t.Cleanup(func() {
				if !killed {
					_ = child.Process.Kill()
					_ = child.Wait()
				}
				killGroup(t, pidFile)
			})
			id := readStarted(t, out, &stderr)
			waitFile(t, mark)
			time.Sleep(200 * time.Millisecond) // the tool works on what it got
			if err := child.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = child.Wait()
			killed = true
			killGroup(t, pidFile)

			setStoreSetting(t, dir, toolKey, "")
			h := newHarness(t, withDir(dir)) // the daemon restarts
			store := h.store
			defer func() {
				if t.Failed() {
					t.Logf("engine log after the restart:\n%s", h.logs.String())
				}
			}()
			var r state.Restore
			if err := store.View(func(tx *state.Tx) (err error) { r, err = state.Get[state.Restore](tx, id); return err }); err != nil {
				t.Fatal(err)
			}
			if r.Status != state.StatusFailed || !strings.Contains(r.LogOutput, "RECOVERY:") {
				t.Fatalf("after restart: restore %s; log:\n%s", r.Status, r.LogOutput)
			}
			rsResetPool(t, srv, target)
			rsSameTables(t, "target after a drop_existing restore was killed", want, srv.Checksum(t, target))
			waitNoLeftovers(t, srv, target)

			// A drop_existing restore that completes replaces the content.
			srv.Exec(t, target, "CREATE TABLE extra (id int)")
			if maps.Equal(want, srv.Checksum(t, target)) {
				t.Fatal("adding a table changed nothing")
			}
			done := h.restore(r.BackupID, RestoreRequest{DropExisting: true})
			if done.Status != state.StatusSuccess || !strings.Contains(done.LogOutput, "swapped the restored database") {
				t.Fatalf("drop_existing restore after the crash: %s; log:\n%s", done.Status, done.LogOutput)
			}
			rsResetPool(t, srv, target)
			rsSameTables(t, "target after a drop_existing restore", want, srv.Checksum(t, target))
			srv.Exec(t, target, "SELECT * FROM first_items")
			if dbType != dbclient.PostgreSQL {
				srv.Exec(t, target, "INSERT INTO items VALUES (100000, 'x')")
				var n int
				if err := srv.DB(t, target).QueryRow("SELECT COUNT(*) FROM log WHERE item = 100000").Scan(&n); err != nil || n != 1 {
					t.Errorf("trigger after the swap: %d rows logged, %v; want 1", n, err)
				}
			}
			waitNoLeftovers(t, srv, target)
		})
	}
}

// setStoreSetting sets one settings value in the (closed) store in dir.
func setStoreSetting(t *testing.T, dir, k, v string) {
	t.Helper()
	st, err := state.Open(state.Options{Dir: dir, MasterKey: harnessKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Update(func(tx *state.Tx) error {
		s, err := tx.Settings()
		if err != nil {
			return err
		}
		s.Values[k] = v
		return tx.PutSettings(s)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitNoLeftovers waits until the server holds no database but target whose
// name starts with target's.
func waitNoLeftovers(t *testing.T, srv *dbtest.Server, target string) {
	t.Helper()
	var extra []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		all, err := dbclient.ListDatabases(testCtx(t), srv.Target(""))
		if err != nil {
			t.Fatal(err)
		}
		extra = extra[:0]
		for _, d := range all {
			if d.Name != target && strings.HasPrefix(d.Name, target) {
				extra = append(extra, d.Name)
			}
		}
		if len(extra) == 0 {
			return
		}
	}
	if srv.DBType != dbclient.PostgreSQL {
		rows, err := srv.DB(t, "").Query("SELECT CONCAT_WS(' | ', id, user, db, command, time, state, info) FROM information_schema.processlist")
		if err == nil {
			for rows.Next() {
				var s string
				_ = rows.Scan(&s)
				t.Logf("process: %s", s)
			}
			rows.Close()
		}
	}
	t.Fatalf("databases left by the restore: %v", extra)
}
