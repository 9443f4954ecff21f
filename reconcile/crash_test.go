package reconcile

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

const (
	crashDirEnv  = "JAGAD_RECONCILE_TEST_DIR"
	crashFileEnv = "JAGAD_RECONCILE_TEST_FILE"
	crashRecords = 1000
)

// runChild is the subprocess side of the tests: it reloads a file into a
// store and then waits to be killed.
func runChild(role string) int {
	if role != "reload" {
		fmt.Fprintf(os.Stderr, "unknown child role %q\n", role)
		return 2
	}
	s, err := state.Open(state.Options{Dir: os.Getenv(crashDirEnv), MasterKey: testKey(), GCInterval: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The file is written before the child starts: the settle wait for a
	// pruning plan need not be the real 1 s.
	r, err := New(Options{Path: os.Getenv(crashFileEnv), Store: s, Env: testEnv, SettleWindow: 20 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("reloading")
	start := time.Now()
	res := r.Reload(context.Background(), "start", false)
	fmt.Printf("done %s %v %d\n", res.Result, res.Err, time.Since(start).Microseconds())
	time.Sleep(time.Minute) // the parent kills us
	return 0
}

// recordSet is the names of the connections and schedules, the number of
// databases and the generation of the stored config status.
func recordSet(tb testing.TB, dir string) (conns, schedules []string, dbs int, gen int64) {
	tb.Helper()
	s := dirStore(tb, dir)
	defer s.Close()
	sn := snap(tb, s)
	_ = s.View(func(tx *state.Tx) error {
		st, err := tx.ConfigStatus()
		gen = st.Generation
		return err
	})
	conns = names(sn.Connections, connName)
	schedules = names(sn.Schedules, schedName)
	slices.Sort(conns)
	slices.Sort(schedules)
	return conns, schedules, len(sn.Databases), gen
}

// wantSet is the sorted names bigYAML(crashRecords, tag) declares.
func wantSet(tag string) (conns, schedules []string) {
	for i := range crashRecords {
		conns = append(conns, fmt.Sprintf("c%04d-%s", i, tag))
		schedules = append(schedules, fmt.Sprintf("s%04d-%s", i, tag))
	}
	return conns, schedules
}

// copyDir copies the regular files of src into dst (a closed Badger dir).
func copyDir(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		tb.Fatalf("copy %s: %v", src, err)
	}
}

// TestKillDuringReload kills a process mid-reload (SIGKILL) and checks that
// the store then holds exactly the old or exactly the new records.
func TestKillDuringReload(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	// The old state: 1,000 connections and schedules tagged "old".
	base := t.TempDir()
	oldDir := filepath.Join(base, "old")
	s := dirStore(t, oldDir)
	f := newFixture(t, s, bigYAML(crashRecords, "old"))
	f.reload(t, "applied")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	newFile := filepath.Join(base, "new.yaml")
	writeFile(t, newFile, bigYAML(crashRecords, "new"))
	oldConns, oldScheds := wantSet("old")
	newConns, newScheds := wantSet("new")

	// A first run is killed once its reload is done and measures how long
	// it takes; the others are killed at random moments inside that time.
	var took time.Duration
	delays := []time.Duration{untilDone, 0}
	sawOld, sawNew := false, false
	for i := 0; i < len(delays); i++ {
		delay := delays[i]
		dir := filepath.Join(base, fmt.Sprintf("run%d", i))
		copyDir(t, oldDir, dir)
		finished, d := killChild(t, dir, newFile, delay)
		if i == 0 {
			if !finished {
				t.Fatal("the reload did not finish")
			}
			took = d
			for range 5 {
				delays = append(delays, time.Duration(rand.Int64N(int64(took)*11/10)))
			}
		}

		conns, scheds, dbs, gen := recordSet(t, dir)
		state := "new"
		// The generation commits with the records it describes.
		wantGen := int64(2)
		if slices.Equal(conns, oldConns) {
			wantGen = 1
		}
		if gen != wantGen {
			t.Errorf("run %d: stored generation %d with the %s records, want %d", i, gen, map[int64]string{1: "old", 2: "new"}[wantGen], wantGen)
		}
		switch {
		case slices.Equal(conns, oldConns) && slices.Equal(scheds, oldScheds) && dbs == crashRecords:
			sawOld, state = true, "old"
			if finished {
				t.Errorf("run %d: the reload reported done, but the store holds the old records", i)
			}
		case slices.Equal(conns, newConns) && slices.Equal(scheds, newScheds) && dbs == crashRecords:
			sawNew = true
		default:
			t.Fatalf("run %d (kill after %v): a mix of old and new: %d connections, %d schedules, %d databases (first %q, last %q)",
				i, delay, len(conns), len(scheds), dbs, first(conns), last(conns))
		}
		t.Logf("run %d: killed %v after the reload began (it takes %v; finished: %v): store holds the %s records", i, delay, took, finished, state)
	}
	if !sawNew {
		t.Error("no run reached the new state: the reload never completed")
	}
	if !sawOld {
		t.Error("no run was killed before its commit: the test proves nothing")
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// untilDone as killChild's delay kills the child only once its reload is done.
const untilDone = time.Duration(-1)

// killChild runs the reload child on dir and kills it delay after it
// started reloading. It reports whether the reload had finished, and how
// long it took.
func killChild(tb testing.TB, dir, file string, delay time.Duration) (bool, time.Duration) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=reload", crashDirEnv+"="+dir, crashFileEnv+"="+file)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	lines := make(chan string, 4)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	select {
	case l, ok := <-lines:
		if !ok || l != "reloading" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			tb.Fatalf("child did not start reloading (%q): %s", l, stderr.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		tb.Fatalf("child did not start: %s", stderr.String())
	}
	var early []string // lines read while waiting for the end of the reload
	if delay == untilDone {
		timeout := time.After(2 * time.Minute)
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break wait
				}
				early = append(early, l)
				if strings.HasPrefix(l, "done") {
					break wait
				}
			case <-timeout:
				break wait
			}
		}
	} else {
		time.Sleep(delay)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		tb.Fatal(err)
	}
	_ = cmd.Wait()
	finished, took := false, time.Duration(0)
	for l := range lines {
		early = append(early, l)
	}
	for _, l := range early {
		if rest, ok := strings.CutPrefix(l, "done applied <nil> "); ok {
			finished = true
			us, err := strconv.ParseInt(rest, 10, 64)
			if err != nil {
				tb.Errorf("child: %q", l)
			}
			took = time.Duration(us) * time.Microsecond
		} else if strings.HasPrefix(l, "done") {
			tb.Errorf("child reload: %s", l)
		}
	}
	return finished, took
}
