package engine

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/logbuf"
)

// walKillEnv makes TestWalArchiveSurvivesKill9 run as the archiving daemon:
// "<data dir>|<spool dir>".
const walKillEnv = "JAGAD_TEST_WAL_KILL_CHILD"

// TestWalArchiveSurvivesKill9 kills the archiving daemon with SIGKILL while
// segments are being archived, writes WAL while it is down, restarts an
// engine on the same data and spool dirs, and proves the archive has no gap
// (VerifyWAL) and holds the segments written while it was down.
func TestWalArchiveSurvivesKill9(t *testing.T) {
	if spec := os.Getenv(walKillEnv); spec != "" {
		dir, spool, _ := strings.Cut(spec, "|")
		newHarness(t, withDir(dir), withOptions(func(o *Options) { o.SpoolDir = spool }), withLogTo(os.Stderr))
		os.Stdout.WriteString("STARTED\n")
		time.Sleep(3 * time.Minute) // the parent kills us long before
		t.Fatal("not killed")
	}
	srv := dbtest.PrivatePostgres(t)
	srv.Exec(t, "", "CREATE DATABASE app")
	srv.Exec(t, "app", "CREATE TABLE t1 (id int PRIMARY KEY, v text)")
	dir, spool, objects := t.TempDir(), t.TempDir(), t.TempDir()
	connID := seedWalStore(t, dir, objects, srv)

	child := exec.Command(os.Args[0], "-test.run=^TestWalArchiveSurvivesKill9$", "-test.v")
	child.Env = append(os.Environ(), walKillEnv+"="+dir+"|"+spool)
	var stderr logbuf.Buffer
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
	})
	started := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "STARTED" {
				started <- true
			}
		}
		close(started)
	}()
	if ok := <-started; !ok {
		t.Fatalf("child did not start:\n%s", stderr.String())
	}
	st := localStore(t, objects)
	waitStreaming(t, srv)
	var seg string
	for range 2 {
		seg = switchWAL(t, srv)
	}
	waitArchived(t, st, "phys", seg)
	switchWAL(t, srv) // being archived when the kill comes
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	killed = true

	var down []string
	for range 3 { // written while no daemon runs: the slot keeps them
		down = append(down, switchWAL(t, srv))
	}
	h := newHarness(t, withDir(dir), withOptions(func(o *Options) { o.SpoolDir = spool }))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("restarted engine log:\n%s\nchild:\n%s", h.logs.String(), stderr.String())
		}
	})
	waitStreaming(t, srv)
	last := switchWAL(t, srv)
	got := waitArchived(t, st, "phys", last)
	for _, d := range down {
		if _, ok := got[d]; !ok {
			t.Errorf("segment %s, written while the daemon was down, is not archived", d)
		}
	}
	rep, err := h.eng.VerifyWAL(context.Background(), connID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 || rep.Last < last {
		t.Fatalf("archive after kill -9 and restart: %+v", rep)
	}
}

// seedWalStore writes a store with a local provider (objects) and an
// archiving connection to srv, and closes it.
func seedWalStore(t *testing.T, dir, objects string, srv *dbtest.Server) string {
	t.Helper()
	st, err := state.Open(state.Options{Dir: dir, MasterKey: harnessKey()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	c := state.Connection{
		Meta: state.Meta{ID: state.NewID(state.KindConnection), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ConnectionSpec: state.ConnectionSpec{Name: "phys", DBType: srv.DBType, Host: srv.Host, Port: srv.Port,
			Username: srv.User, Password: state.Secret(srv.Password), SSLMode: "disable",
			WalArchive: &state.WalArchive{Enabled: true, Storage: "local"}},
	}
	p := state.Provider{
		Meta:         state.Meta{ID: state.NewID(state.KindProvider), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ProviderSpec: state.ProviderSpec{Name: "local", ProviderType: "local", Path: objects, IsDefault: true},
	}
	err = st.Update(func(tx *state.Tx) error {
		if err := state.Put(tx, p); err != nil {
			return err
		}
		return state.Put(tx, c)
	})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// localStore opens a local storage at path.
func localStore(t *testing.T, path string) storage.Store {
	t.Helper()
	st, err := storage.Open(providerConfig(state.Provider{ProviderSpec: state.ProviderSpec{Name: "local", ProviderType: "local", Path: path}}))
	if err != nil {
		t.Fatal(err)
	}
	return st
}
